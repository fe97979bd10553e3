/**
 * Starting the watcher of periodic checkpoints (--interval): the restore
 * stub's --watch mode (c/stub/watch.c), run just before ckpt execs the
 * program or the restore in its own place. It detaches itself and exits,
 * so the wait here is short and its watcher is never a child of the
 * program; from then on it sends this pid a periodic request every period
 * until the process ends. ARCHITECTURE.md, "Periodic checkpoints", has
 * the reasons.
 */
import { ShownError } from "../cli/errors.ts";
import type { PeriodicSettings } from "../cli/periodic.ts";
import { extractAsset, STUB_NAME } from "./assets.ts";
import {
	CKPT_STUB_WATCH, CKPT_WATCH_ARG_KEEP, CKPT_WATCH_ARG_PERIOD_MS, CKPT_WATCH_ARG_PID, CKPT_WATCH_ARG_SIGNAL,
} from "../protocol/protocol.ts";

/**
 * Starts the watcher of this process. `signal`: the trigger, or 0 when it
 * is not known here (a restart: the watcher reads the first run's from the
 * restored environment block). A watcher that cannot start has said why
 * on stderr; then nothing runs.
 */
export async function startWatcher(settings: PeriodicSettings, signal: number): Promise<void> {
	const stub = await extractAsset(STUB_NAME);
	const argv = [stub];
	argv[1] = CKPT_STUB_WATCH;
	argv[CKPT_WATCH_ARG_PID] = String(process.pid);
	argv[CKPT_WATCH_ARG_PERIOD_MS] = String(settings.periodMs);
	argv[CKPT_WATCH_ARG_KEEP] = String(settings.keep);
	argv[CKPT_WATCH_ARG_SIGNAL] = String(signal);
	const done = Bun.spawnSync(argv, { env: {}, stdin: "ignore", stdout: "ignore", stderr: "inherit" });
	if (done.exitCode !== 0) throw new ShownError("the watcher of periodic checkpoints did not start", { cause: new Error() });
}
