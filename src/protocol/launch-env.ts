/**
 * The environment a program runs with under ckpt: libckpt preloaded, and
 * its settings passed as CKPT_* variables (the library reads them at load
 * time; the program itself never has to know).
 */
import {
	CKPT_ENV_COMPRESS, CKPT_ENV_CONTINUE, CKPT_ENV_DROP_FDS, CKPT_ENV_FLAG_ON, CKPT_ENV_IMAGE, CKPT_ENV_PID, CKPT_ENV_SECCOMP, CKPT_ENV_NAMESPACES, CKPT_ENV_SIGNAL, CKPT_ENV_STATUS,
	CKPT_PID_DIGITS, CKPT_STATUS_LEN, CKPT_STATUS_PAD,
} from "./protocol.ts";


/** CKPT_PID's value for `pid`. @example pidText(4242) // "0000004242" */
export function pidText(pid: number): string {
	return String(pid).padStart(CKPT_PID_DIGITS, "0");
}

export interface LaunchSettings {
	lib: string; // absolute path of the extracted libckpt.so
	image: string; // absolute image path
	signal: number;
	pid: number; // the launched process's: only it takes checkpoints, whatever it execs
	keepRunning: boolean; // --continue
	dropUnsupportedFds: boolean;
	compress: boolean; // --compress
}

/**
 * `base` plus ckpt's variables. libckpt goes first in LD_PRELOAD: the
 * first object in the loader's search order wins symbol lookups, so any
 * function libckpt wraps is its version even if another preload wraps it too.
 */
export function launchEnv(base: Record<string, string | undefined>, s: LaunchSettings): Record<string, string | undefined> {
	const env = { ...base };
	env.LD_PRELOAD = base.LD_PRELOAD ? `${s.lib}:${base.LD_PRELOAD}` : s.lib;
	env[CKPT_ENV_IMAGE] = s.image;
	env[CKPT_ENV_SIGNAL] = String(s.signal);
	env[CKPT_ENV_STATUS] = CKPT_STATUS_PAD.repeat(CKPT_STATUS_LEN);
	env[CKPT_ENV_PID] = pidText(s.pid);
	// Flags are set or removed, never inherited from an outer ckpt's environment.
	if (s.keepRunning) env[CKPT_ENV_CONTINUE] = CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_CONTINUE];
	if (s.dropUnsupportedFds) env[CKPT_ENV_DROP_FDS] = CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_DROP_FDS];
	if (s.compress) env[CKPT_ENV_COMPRESS] = CKPT_ENV_FLAG_ON;
	else delete env[CKPT_ENV_COMPRESS];
	// The launched program's libckpt counts the filters and notes the namespaces it starts under: never an outer ckpt's.
	delete env[CKPT_ENV_SECCOMP];
	delete env[CKPT_ENV_NAMESPACES];
	return env;
}
