/**
 * The ckpt protocol, mirrored from c/ckpt_protocol.h (the source of truth):
 * launch variables, the status line grammar, request values, the stub's
 * arguments and exit statuses. test/unit/protocol-mirror.test.ts compiles
 * the header and compares every definition with these, so the two cannot
 * drift; change both in the same commit. Constants only: the launch path
 * loads this module, and every start pays for what it runs.
 */

export const CKPT_ENV_PREFIX = "CKPT_";
export const CKPT_ENV_IMAGE = "CKPT_IMAGE";
export const CKPT_ENV_SIGNAL = "CKPT_SIGNAL";
export const CKPT_ENV_CONTINUE = "CKPT_CONTINUE";
export const CKPT_ENV_DROP_FDS = "CKPT_DROP_FDS";
/** Flag: --compress (libckpt at launch; the stub at a restart hands it on). */
export const CKPT_ENV_COMPRESS = "CKPT_COMPRESS";
export const CKPT_ENV_STATUS = "CKPT_STATUS";
export const CKPT_ENV_PID = "CKPT_PID";
/** The seccomp filters of the launch, set and read by libckpt only (it hands it on through execs). */
export const CKPT_ENV_SECCOMP = "CKPT_SECCOMP";
/** The namespaces and root directory of the launch, set and read by libckpt only, like CKPT_SECCOMP. */
export const CKPT_ENV_NAMESPACES = "CKPT_NAMESPACES";
export const CKPT_ENV_SIGNAL_BLOCKED = "CKPT_SIGNAL_BLOCKED";
export const CKPT_ENV_FLAG_ON = "1";

export const CKPT_PID_DIGITS = 10;
export const CKPT_DEFAULT_SIGNAL = 12; // SIGUSR2
export const CKPT_SIGNAL_MAX = 64;
export const CKPT_LIB_FILE = "libckpt.so";
export const CKPT_LIB_MUSL_FILE = "libckpt-musl.so";
export const CKPT_STUB_FILE = "ckpt-restore";

export const CKPT_STATUS_LEN = 4608;
export const CKPT_STATUS_SEQ = "seq=";
export const CKPT_STATUS_STATE = " state=";
export const CKPT_STATUS_COUNT = " count=";
export const CKPT_STATUS_IMAGE = " image=";
export const CKPT_STATUS_MESSAGE = "\nmessage=";
export const CKPT_STATUS_END = "\nend=";
export const CKPT_STATUS_PAD = " ";
export const CKPT_STATUS_ESCAPE = "%";

export const CKPT_STATE_RUNNING = "running";
export const CKPT_STATE_WRITING = "writing";
export const CKPT_STATE_WRITTEN = "written";
export const CKPT_STATE_STOPPED = "stopped";
export const CKPT_STATE_FAILED = "failed";

export const CKPT_STATUS_WRITER = "writer ";
export const CKPT_STATUS_WARNING = "warning: ";

export const CKPT_REQUEST_SIGVAL = 0x636b7074;
export const CKPT_REQUEST_CONTINUE_SIGVAL = 0x636b7063;
export const CKPT_REQUEST_KEEP_SHIFT = 32;
export const CKPT_KEEP_MAX = 99;
export const CKPT_TREE_SIGVAL = 0x636b7472;
export const CKPT_TREE_FD_SHIFT = 32;
export const CKPT_TREE_SLOT_SHIFT = 48;
export const CKPT_MEMBER_FILE_SEPARATOR = ".";

export const CKPT_STUB_ARG_IMAGE = 1;
export const CKPT_STUB_ARG_NEXT_IMAGE = 2;
export const CKPT_STUB_ARG_NOTE = 3;
export const CKPT_ENV_NAMESPACE = "CKPT_RESTART_NAMESPACE";
export const CKPT_NAMESPACE_OFF = "off";
export const CKPT_NAMESPACE_TEST_UNAVAILABLE = "test-unavailable";
export const CKPT_ENV_LAZY = "CKPT_LAZY";
/** Flag for the stub: `restart --ignore-affinity`, every thread on the restart's CPUs. */
export const CKPT_ENV_IGNORE_AFFINITY = "CKPT_IGNORE_AFFINITY";
export const CKPT_LAZY_TEST_UNAVAILABLE = "test-unavailable";
export const CKPT_PAGE_SERVER_NAME = "ckpt-pages";
export const CKPT_PAGE_WATCH_NAME = "ckpt-pages-wait";
export const CKPT_SUPERVISOR_NAME = "ckpt-supervisor";
export const CKPT_STUB_CHECK = "--check";
export const CKPT_STUB_VERIFY = "--verify";
export const CKPT_STUB_WATCH = "--watch";
export const CKPT_WATCH_ARG_PID = 2;
export const CKPT_WATCH_ARG_PERIOD_MS = 3;
export const CKPT_WATCH_ARG_KEEP = 4;
export const CKPT_WATCH_ARG_SIGNAL = 5;

export const CKPT_EXIT_CHECKPOINTED = 85;
export const CKPT_EXIT_RESTART_REFUSED = 1;

/** Every #define above, by its C name, for the mirror test. */
export const PROTOCOL_CONSTANTS: Readonly<Record<string, string | number>> = {
	CKPT_ENV_PREFIX, CKPT_ENV_IMAGE, CKPT_ENV_SIGNAL, CKPT_ENV_CONTINUE, CKPT_ENV_DROP_FDS, CKPT_ENV_COMPRESS,
	CKPT_ENV_STATUS, CKPT_ENV_PID, CKPT_ENV_SECCOMP, CKPT_ENV_NAMESPACES, CKPT_ENV_SIGNAL_BLOCKED, CKPT_ENV_FLAG_ON,
	CKPT_PID_DIGITS, CKPT_DEFAULT_SIGNAL, CKPT_SIGNAL_MAX, CKPT_LIB_FILE, CKPT_LIB_MUSL_FILE, CKPT_STUB_FILE,
	CKPT_STATUS_LEN, CKPT_STATUS_SEQ, CKPT_STATUS_STATE, CKPT_STATUS_COUNT, CKPT_STATUS_IMAGE,
	CKPT_STATUS_MESSAGE, CKPT_STATUS_END, CKPT_STATUS_PAD, CKPT_STATUS_ESCAPE,
	CKPT_STATE_RUNNING, CKPT_STATE_WRITING, CKPT_STATE_WRITTEN, CKPT_STATE_STOPPED, CKPT_STATE_FAILED,
	CKPT_STATUS_WRITER, CKPT_STATUS_WARNING,
	CKPT_REQUEST_SIGVAL, CKPT_REQUEST_CONTINUE_SIGVAL, CKPT_REQUEST_KEEP_SHIFT, CKPT_KEEP_MAX,
	CKPT_TREE_SIGVAL, CKPT_TREE_FD_SHIFT, CKPT_TREE_SLOT_SHIFT, CKPT_MEMBER_FILE_SEPARATOR,
	CKPT_STUB_ARG_IMAGE, CKPT_STUB_ARG_NEXT_IMAGE, CKPT_STUB_ARG_NOTE, CKPT_STUB_CHECK, CKPT_STUB_VERIFY,
	CKPT_ENV_NAMESPACE, CKPT_NAMESPACE_OFF, CKPT_NAMESPACE_TEST_UNAVAILABLE, CKPT_SUPERVISOR_NAME,
	CKPT_ENV_LAZY, CKPT_LAZY_TEST_UNAVAILABLE, CKPT_ENV_IGNORE_AFFINITY, CKPT_PAGE_SERVER_NAME, CKPT_PAGE_WATCH_NAME,
	CKPT_STUB_WATCH, CKPT_WATCH_ARG_PID, CKPT_WATCH_ARG_PERIOD_MS, CKPT_WATCH_ARG_KEEP, CKPT_WATCH_ARG_SIGNAL,
	CKPT_EXIT_CHECKPOINTED, CKPT_EXIT_RESTART_REFUSED,
};
