// Timing helpers the benchmark and its peers share.
import { existsSync, readFileSync } from "node:fs";

export const now = () => performance.now();
export const seconds = (ms: number) => ms / 1000;

/**
 * Runs `cmd` to its end and returns its wall time in seconds. If it fails,
 * throws with what went wrong, from `log` when the tool writes one, else
 * from its stderr.
 */
export async function timed(cmd: string[], opts: { cwd?: string; what?: string; log?: string } = {}): Promise<number> {
  const t = now();
  const p = Bun.spawn(cmd, { cwd: opts.cwd, stdout: "ignore", stderr: "pipe" });
  // Read only on failure: a timed run does no work of ours while it runs.
  if ((await p.exited) !== 0) {
    const said = opts.log && existsSync(opts.log) ? readFileSync(opts.log, "utf8") : await new Response(p.stderr).text();
    throw new Error(`${opts.what ?? cmd.join(" ")} failed: ${firstErrors(said)}`);
  }
  return seconds(now() - t);
}

/**
 * What a tool's log says went wrong: its first two errors (CRIU logs the
 * cause first, then each caller giving up), else its last line.
 */
function firstErrors(log: string): string {
  const lines = log.trim().split("\n");
  const errors = lines
    .filter((l) => /error/i.test(l))
    .map((l) => l.replace(/^.*?Error \([^)]*\):\s*/, "").trim())
    .filter((l) => !/^exited, status=/.test(l)); // a helper's exit, not the cause
  return errors.length ? errors.slice(0, 2).join("; ") : (lines.at(-1) ?? "no output").trim();
}
