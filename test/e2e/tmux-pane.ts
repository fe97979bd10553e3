// A tmux pane of fixed size running a plain bash, driven as a user would:
// typed lines and keys in, the screen read back (capture-pane) in bounded
// polling loops, never fixed sleeps. Used by the tests of full-screen and
// interactive programs.
import { join } from "node:path";
import { runToEnd } from "./harness.ts";

export class Pane {
  readonly sock: string;
  constructor(readonly cwd: string) {
    this.sock = join(cwd, "tmux.sock");
  }
  tmux(args: string[]) {
    return runToEnd(["tmux", "-S", this.sock, ...args], { cwd: this.cwd });
  }
  async open() {
    const r = await this.tmux(["new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", this.cwd,
      "env PS1='$ ' TERM=screen bash --norc --noprofile"]);
    if (r.code !== 0) throw new Error(`tmux: ${r.stderr}`);
    await this.until((s) => s.includes("$"), "a shell prompt");
  }
  async type(text: string) {
    await this.tmux(["send-keys", "-t", "t", "-l", text]);
    await this.tmux(["send-keys", "-t", "t", "Enter"]);
  }
  async keys(...k: string[]) {
    await this.tmux(["send-keys", "-t", "t", ...k]);
  }
  async screen(): Promise<string> {
    return (await this.tmux(["capture-pane", "-p", "-t", "t"])).stdout;
  }
  /** The screen once `ok` holds; fails with the screen after a bounded wait. */
  async until(ok: (screen: string) => boolean, what: string): Promise<string> {
    let s = "";
    for (let i = 0; i < 1000; i++) {
      s = await this.screen();
      if (ok(s)) return s;
      await Bun.sleep(20);
    }
    throw new Error(`never saw ${what}; the screen:\n${s}`);
  }
  /** The program the pane's shell runs (ckpt execs it in place: same pid). */
  async program(): Promise<number> {
    const shell = (await this.tmux(["display", "-p", "-t", "t", "#{pane_pid}"])).stdout.trim();
    for (let i = 0; i < 500; i++) {
      const kid = (await runToEnd(["pgrep", "-P", shell], { cwd: this.cwd })).stdout.trim();
      if (kid) return Number(kid.split("\n")[0]);
      await Bun.sleep(20);
    }
    throw new Error("the pane runs no program");
  }
  /** The name of the pane's foreground process (the shell's, or its job's). */
  async foreground(): Promise<string> {
    return (await this.tmux(["display", "-p", "-t", "t", "#{pane_current_command}"])).stdout.trim();
  }
  /** Once the pane's foreground process is `name` again (a restarted program took the terminal back). */
  async untilForeground(name: string) {
    for (let i = 0; i < 1000; i++) {
      if ((await this.foreground()) === name) return;
      await Bun.sleep(20);
    }
    throw new Error(`the pane's foreground never became ${name}; the screen:\n${await this.screen()}`);
  }
  async close() {
    await this.tmux(["kill-server"]);
  }
}
