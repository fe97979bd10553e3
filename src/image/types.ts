/**
 * The decoded, validated contents of an image (see format.ts for the bytes).
 * Addresses, inodes, times and kernel values are bigint, exactly as stored;
 * offsets and lengths inside the image file are numbers (checked to be
 * within the file, hence safe integers).
 */

export interface Mm {
	startCode: bigint; endCode: bigint; startData: bigint; endData: bigint;
	startBrk: bigint; brk: bigint; startStack: bigint;
	argStart: bigint; argEnd: bigint; envStart: bigint; envEnd: bigint;
}

export interface Sigaction { handler: bigint; flags: bigint; restorer: bigint; mask: bigint }
export interface Timeval { sec: bigint; usec: bigint }
export interface Itimer { interval: Timeval; value: Timeval }
export interface Rlimit { cur: bigint; max: bigint }
export interface Termios {
	iflag: number; oflag: number; cflag: number; lflag: number;
	line: number; cc: number[]; valid: boolean;
}

/** Process-wide settings (struct ckpt_process_state); null where the kernel would not say. */
export interface ProcessState {
	umask: number;
	thpDisable: number; // PR_GET_THP_DISABLE: bit 0 disabled, bit 1 except where advised
	noNewPrivs: boolean;
	childSubreaper: boolean;
	oomScoreAdj: number;
	membarrier: number | null; // MEMBARRIER_CMD_REGISTER_* bits
	loginuid: number | null; // null: unset
	ngroups: number;
	groupsStr: number;
	cgroupStr: number;
	ntimers: number; // POSIX timers
	timersOff: number;
	nsignals: number; // pending signals
	signalsOff: number;
}

/** Where one of the kernel's special mappings was; start = end = 0 if absent. */
export interface Special { name: string; start: bigint; end: bigint }

export interface Header {
	version: number;
	headerSize: number;
	arch: number;
	pageSize: number;
	fileSize: number;
	createdNs: bigint;
	captureNs: bigint;
	pid: number;
	ppid: number; // the parent as the program saw it (version 5)
	nthreads: number;
	nregions: number;
	nextents: number;
	nfds: number;
	stringsSize: number;
	tablesOffset: number;
	tablesSize: number;
	dataOffset: number;
	threadsOff: number;
	regionsOff: number;
	extentsOff: number;
	fdsOff: number;
	stringsOff: number;
	locksOff: number;
	nlocks: number;
	personality: number; // personality(2): ADDR_NO_RANDOMIZE (setarch -R), READ_IMPLIES_EXEC...
	mdwe: number; // PR_GET_MDWE: 1 refuse exec gain, | 2 not inherited; 0 off
	coredumpFilter: number; // version 11: /proc/PID/coredump_filter, bit n memory type n (core(5))
	dumpable: number; // version 11: PR_GET_DUMPABLE: 0 not dumpable (nor traceable by its user), 1 yes, 2 suidsafe
	watchesOff: number; // the epoll watch table
	nwatches: number;
	inotifyOff: number; // the inotify watch table (version 4)
	ninotify: number;
	tablesCrc: number;
	flags: number;
	hostname: string;
	kernelRelease: string;
	xcr0: bigint;
	xsaveSize: number;
	exitStatusOnStop: number;
	exeStr: number;
	cwdStr: number;
	argvStr: number;
	argvLen: number;
	comm: string;
	mm: Mm;
	auxv: bigint[]; // the auxv_words words in use
	triggerSignal: number;
	specials: Special[]; // [vvar], [vvar_vclock], [vdso], in enum ckpt_special order
	vdsoCrc: number;
	sigactions: Sigaction[]; // [n-1] is signal n
	itimers: Itimer[]; // REAL, VIRTUAL, PROF
	rlimits: Rlimit[];
	termios: Termios[]; // fds 0-2
	process: ProcessState;
	restartInfoAddr: bigint;
	libc: number; // enum ckpt_libc, named by LIBC_NAMES
	codec: number; // enum ckpt_codec (version 5), named by CODEC_NAMES
	imageId: bigint; // version 5: what an incremental image names this one by
	tracking: number; // enum ckpt_tracking: how its pages were chosen
	links: ChainLink[]; // the older images its PARENT extents read from, parent first
	// version 6, process trees (tree.ts)
	pgid: number;
	sid: number;
	treeRootPid: number; // the tree's root (== pid in the root image); a single process: its own pid or 0
	ttyPgrp: number; // root image: the terminal's foreground group when a group of the tree; else 0
	nmembers: number; // root image: the tree's other processes
	treeId: bigint; // the root image's imageId, in it and in each member image; 0: no tree
	membersOff: number;
	headerCrc: number;
}

export interface ResumeCtx {
	rbx: bigint; rbp: bigint; r12: bigint; r13: bigint; r14: bigint; r15: bigint;
	rsp: bigint; rip: bigint; mxcsr: number; fpuCw: number;
}

export interface Thread {
	tid: number;
	flags: number;
	fsBase: bigint;
	clearChildTid: bigint;
	robustList: bigint;
	robustLen: bigint;
	rseqAddr: bigint;
	rseqLen: number;
	rseqSig: number;
	handlerSigmask: bigint;
	altstackSp: bigint;
	altstackSize: bigint;
	altstackFlags: number;
	pdeathSignal: number; // PR_SET_PDEATHSIG: sent when the parent ends; 0 for none
	nice: number;
	schedPolicy: number; // SCHED_* | CKPT_SCHED_RESET_ON_FORK
	schedPriority: number;
	ioprio: number; // class << 13 | level
	timerSlackNs: bigint;
	userRip: bigint;
	userRsp: bigint;
	resume: ResumeCtx;
	cpus: number[]; // version 8: the CPUs sched_getaffinity showed it, ascending
	creds: Creds; // version 11
	name: string; // version 11: the thread's own name (PR_GET_NAME, pthread_setname_np)
	nameTerminated: boolean; // its 16 bytes hold a NUL, as they must
	mempolicy: number; // version 11: NUMA policy, get_mempolicy's mode | CKPT_MEMPOLICY_FLAGS; 0 the default
	padMempolicy: number;
	mempolicyNodes: bigint; // bit n: node n
	tscMode: number; // version 13: CKPT_TSC_ENABLE, or CKPT_TSC_SIGSEGV (rdtsc faults)
	mceKill: number; // version 13: PR_MCE_KILL_GET, CKPT_MCE_KILL_LATE (0), EARLY (1) or DEFAULT (2)
}

/** A thread's credentials: ids real, effective, saved, filesystem; capability sets as bit masks. */
export interface Creds {
	uids: number[];
	gids: number[];
	effective: bigint; permitted: bigint; inheritable: bigint; bounding: bigint; ambient: bigint;
	securebits: number; // PR_GET_SECUREBITS
	pad: number;
}

export interface Extent {
	start: bigint;
	len: number;
	kind: number; // CKPT_EXTENT_*
	crc: number;
	dataOffset: number; // DATA: in this image; PARENT: in links[link] (in a block: the block's); 0 otherwise
	/**
	 * DATA: bytes in the image; < len: an LZ4 block (0: zeros, nothing stored).
	 * PARENT: len for bytes as they are; in a block (blockPages > 0): the
	 * whole block's stored bytes, shared by every extent of that block.
	 */
	storedLen: number;
	link: number; // PARENT only: index in the header's links
	// Version 9, PARENT only (0 otherwise): inside a compressed block of links[link],
	// which inflates to blockPages pages; this extent is len bytes of them from page blockPage.
	blockPages: number; // 0: not in a block
	blockPage: number;
	blockCrc: number; // CRC32C of the block's stored bytes (crc: of this extent's inflated ones)
}

/** An older image an incremental one reads from, named by content. */
export interface ChainLink {
	imageId: bigint;
	fileSize: bigint;
	headerCrc: number;
}

export interface Region {
	start: bigint;
	end: bigint;
	kind: number; // CKPT_REGION_*
	prot: number; // PROT_* bits
	flags: number; // CKPT_REGION_HEAP | CKPT_REGION_UNREAD | CKPT_REGION_THREAD_STACK
	path: string; // "" when none
	fileOffset: bigint;
	dev: bigint;
	ino: bigint;
	fileSize: bigint;
	mtimeSec: bigint;
	mtimeNsec: bigint;
	extents: Extent[]; // exactly tiling [start, end), in order
	vmFlags: number; // CKPT_VM_* bits: madvise/mlock/mseal state, may-write of shared files
	mempolicy: number; // version 11: its own NUMA policy (mbind), as Thread's; 0 for none
	mempolicyNodes: bigint;
}

export interface Fd {
	fd: number;
	kind: number; // CKPT_FD_*
	openFlags: number;
	fdFlags: number;
	offset: bigint;
	size: bigint;
	path: string;
	pathStr: number; // its offset in the strings: 0 when it has none
	pipeLen: number;
	pipeId: bigint;
	pipeDataOffset: number;
	pipeCrc: number;
	termios: Termios; // CKPT_FD_TTY: its modes (valid false otherwise)
	sharesWith: number | null; // a lower fd on the same open file (dup, 2>&1), restored as one
	reopens: number | null; // version 8, deleted file or memfd: another open file description of the file on this fd (of firstHolder's process when set)
	watches: EpollWatch[]; // CKPT_FD_EPOLL: its interest list (empty otherwise)
	inotifyWatches: InotifyWatch[]; // CKPT_FD_INOTIFY (not a dup): its watches, by wd (empty otherwise)
	contentLen: number; // deleted file or memfd: its bytes stored in the image
	contentOffset: number;
	contentCrc: number;
	seals: number; // memfd: F_GET_SEALS
	mode: number; // deleted file or memfd: permission bits
	// The event-loop kinds (event-fds.ts); zero for the others.
	count: bigint; // eventfd: its counter; timerfd: expirations not yet read; inotify: the last wd handed out
	sigmask: bigint; // signalfd: bit n-1 for signal n
	clock: number; // timerfd: its clockid
	kindFlags: number; // eventfd: EFD_SEMAPHORE; timerfd: TFD_TIMER_ABSTIME
	intervalSec: bigint;
	intervalNsec: bigint;
	remainingSec: bigint; // timerfd: time to the next expiry (absolute CLOCK_REALTIME: its time)
	remainingNsec: bigint;
	socket: UnixSocket | null; // CKPT_FD_UNIX_SOCKET (sockets.ts); null for the others
	// version 6: the same open file description as this earlier process of the tree's fd; null: held by none before it
	firstHolder: { pid: number; fd: number } | null;
	/** Version 14, O_ASYNC: whom its signal goes to (CKPT_ASYNC_*) and which signal (0: SIGIO); null without. */
	async: { owner: number; signal: number } | null;
}

/** A Unix socket's state (struct ckpt_fd, version 4); its address is the fd's path. */
export interface UnixSocket {
	id: bigint; // its inode
	peerId: bigint; // pair: the peer's inode
	type: number; // SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5
	state: number; // CKPT_SOCK_*
	backlog: number;
	shutdown: number; // 1 reads, 2 writes
	rcvbuf: number;
	sndbuf: number;
	flags: number; // CKPT_SOCK_PASSCRED | CKPT_SOCK_REUSEADDR
	peekOff: number;
	rcvtimeoUsec: bigint;
	sndtimeoUsec: bigint;
	peerStr: number;
	peer: string; // connected: the peer's address
	family: number; // AF_UNIX 1, AF_INET 2, AF_INET6 10
}

/** A POSIX timer (timer_create), restored with its id. */
export interface Timer {
	id: number;
	clock: number; // clockid; CPU clocks in their pid/tid-0 form (process -6, thread -2)
	clockThread: number; // a thread's CPU clock (clock & 4): that thread's index
	notify: number; // SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2, SIGEV_SIGNAL|SIGEV_THREAD_ID 4
	signo: number;
	value: bigint; // sigev_value
	targetTid: number; // SIGEV_THREAD_ID only
	targetThread: number;
	intervalNs: bigint;
	remainingNs: bigint; // 0: disarmed
	overrun: number;
}

/** A signal pending at checkpoint, queued again at restart with its siginfo. */
export interface PendingSignal {
	signo: number;
	thread: number | null; // index in the thread table; null: pending for the process
	tid: number; // that thread's tid at checkpoint; 0 for the process
	code: number; // si_code
	pid: number; // si_pid (si_timerid for SI_TIMER)
	uid: number; // si_uid (si_overrun for SI_TIMER)
	value: bigint; // si_value
}

/** A lock the program held, taken again at restart. */
export interface Lock {
	fd: number; // an fd on the open file that holds (or set) it
	kind: number; // CKPT_LOCK_*
	write: boolean; // else read
	start: bigint;
	len: bigint; // 0: to the end of the file
}

/** One entry of an epoll's interest list, registered again at restart. */
export interface EpollWatch {
	epfd: number; // the epoll (never a dup of one)
	fd: number; // the fd it watches, an fd of the table
	events: number; // EPOLLIN…, EPOLLET, EPOLLONESHOT…, as the kernel holds them
	data: bigint; // epoll_data as the program set it
}

/** One watch of an inotify instance, added again by path under its wd at restart. */
export interface InotifyWatch {
	fd: number; // the instance (never a dup of one)
	wd: number; // the watch descriptor the program holds
	mask: number; // IN_* events, IN_ONESHOT, IN_EXCL_UNLINK, as the kernel holds them
	addFlags: number; // IN_DONT_FOLLOW, IN_ONLYDIR as the program passed them
	ino: bigint; // the watched inode at checkpoint
	dev: bigint; // its device, kernel encoding (major << 20 | minor)
	path: string; // absolute
}

/** Another process of a tree, as the root image's member table names it (tree.ts). */
export interface Member {
	pid: number;
	ppid: number; // the root's or an earlier member's pid
	pgid: number;
	sid: number;
	kind: number; // CKPT_MEMBER_*
	waitStatus: number; // a zombie: what wait4 will report to its parent
	imageId: bigint; // a live member: its image's id, size and header checksum
	fileSize: bigint;
	headerCrc: number;
	file: string; // a live member: its image's file name, beside the root image ("" for a zombie)
	comm: string;
	nthreads: number;
}

/** What the tables decode to. */
export interface Tables {
	exe: string;
	cwd: string;
	argv: string[];
	groups: number[]; // supplementary groups
	cgroup: string; // /proc/PID/cgroup, verbatim
	threads: Thread[];
	regions: Region[];
	fds: Fd[];
	timers: Timer[];
	locks: Lock[];
	signals: PendingSignal[];
	watches: EpollWatch[]; // sorted by epoll, then watched fd
	inotify: InotifyWatch[]; // sorted by fd, then wd
	members: Member[]; // a tree's root image: every other process, parents first; else empty
}

export interface Image extends Tables {
	path: string; // as given to readImage
	fileSize: number;
	header: Header;
}
