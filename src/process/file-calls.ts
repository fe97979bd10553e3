/**
 * The file calls `ckpt PROGRAM` and `ckpt restart` make before their
 * execve (stat, access, reading an ELF header and the asset cache, listing
 * /proc/self/fd), through libc: the first use of node:fs costs about a
 * millisecond of every start, while these go through the libc that
 * libc.ts opens for execve anyway.
 */
import { ptr } from "bun:ffi";
import { check, cstr, libc } from "./libc.ts";

/**
 * The numbered entries of a directory (/proc/self/fd, /proc/PID/task), its
 * own descriptor left out, through getdents64(2): struct linux_dirent64 is
 * d_ino (8), d_off (8), d_reclen (2), d_type (1), then the name.
 */
export function numberedEntries(path: string): number[] {
	const dir = openRead(path, true);
	const found: number[] = [];
	try {
		const buf = new Uint8Array(16384);
		const view = new DataView(buf.buffer);
		for (let n: number; (n = check(libc().getdents64(dir, ptr(buf), BigInt(buf.length)), `read ${path}`)) > 0; ) {
			for (let at = 0; at < n; at += view.getUint16(at + 16, true)) {
				let v = 0;
				let i = at + 19;
				for (; buf[i]! >= 48 && buf[i]! <= 57; i++) v = v * 10 + buf[i]! - 48;
				if (i > at + 19 && buf[i] === 0 && v !== dir) found.push(v);
			}
		}
	} finally {
		closeFd(dir);
	}
	return found;
}

/** readlink(2) of `path`, or null. */
export function readLink(path: string): string | null {
	const name = cstr(path);
	const buf = new Uint8Array(4096);
	const n = Number(libc().readlink(ptr(name), ptr(buf), BigInt(buf.length)));
	return n < 0 ? null : new TextDecoder().decode(buf.subarray(0, n));
}

/** What ckpt needs of a struct stat. */
export interface FileStat {
	mode: number; // type and permission bits
	uid: number;
	size: number;
	ino: bigint;
	mtimeNs: bigint;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
export const isRegular = (st: FileStat) => (st.mode & S_IFMT) === S_IFREG;
export const isDirectory = (st: FileStat) => (st.mode & S_IFMT) === S_IFDIR;

const SYS_newfstatat = 262;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/**
 * stat(2), or lstat(2) with `follow: false`; null if the path cannot be
 * stat'ed. Through syscall(2): glibc exports stat/lstat as functions only
 * since 2.33. syscall is variadic, but takes integers only, so the callee
 * never reads vector registers whatever %al holds. Offsets are x86-64's
 * struct stat: st_ino 8, st_mode 24, st_uid 28, st_size 48, st_mtim 88.
 */
export function statPath(path: string, follow = true): FileStat | null {
	const raw = new Uint8Array(144);
	const name = cstr(path);
	if (Number(libc().syscall(BigInt(SYS_newfstatat), AT_FDCWD, ptr(name), ptr(raw), follow ? 0 : AT_SYMLINK_NOFOLLOW)) !== 0) return null;
	const buf = new DataView(raw.buffer);
	return {
		ino: buf.getBigUint64(8, true),
		mode: buf.getUint32(24, true),
		uid: buf.getUint32(28, true),
		size: Number(buf.getBigInt64(48, true)),
		mtimeNs: buf.getBigInt64(88, true) * 1_000_000_000n + buf.getBigInt64(96, true),
	};
}

/**
 * Whether `path` carries file capabilities (a `security.capability`
 * attribute, as setcap writes): for a caller without them the loader runs
 * it in secure mode and ignores LD_PRELOAD, as for a setuid program. The
 * rule libckpt applies to the programs a program execs
 * (c/lib/exec_target.c): the attribute's presence.
 */
export function hasFileCapabilities(path: string): boolean {
	return Number(libc().getxattr(ptr(cstr(path)), ptr(cstr("security.capability")), null, 0n)) > 0;
}

export const X_OK = 1;

/** access(2): whether the real user may `mode` the file. */
export function accessible(path: string, mode: number): boolean {
	const name = cstr(path);
	return libc().access(ptr(name), mode) === 0;
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
/** Opens `path` read-only (close-on-exec); throws SysError. */
export function openRead(path: string, directory = false): number {
	const name = cstr(path);
	return check(libc().open(ptr(name), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0), 0), `open ${path}`);
}

/** pread(2) into `buf` at `offset`: bytes read, 0 at end of file; throws SysError. */
export function preadInto(fd: number, buf: Uint8Array, offset: number): number {
	return check(libc().pread(fd, ptr(buf), BigInt(buf.length), BigInt(offset)), "read");
}

export function closeFd(fd: number): void {
	libc().close(fd);
}

/** Up to `len` bytes at `offset` of `path` (fewer at its end); null if unreadable. */
export function readRange(path: string, offset: number, len: number): Uint8Array | null {
	let fd: number;
	try {
		fd = openRead(path);
	} catch {
		return null;
	}
	try {
		const buf = new Uint8Array(len);
		let done = 0;
		for (let n = 1; done < len && n > 0; done += n) n = preadInto(fd, buf.subarray(done), offset + done);
		return buf.subarray(0, done);
	} catch {
		return null;
	} finally {
		closeFd(fd);
	}
}

/** A new file holding `bytes`, made durable, then given `mode`; throws SysError (EEXIST if it exists). */
export function writeNewFile(path: string, bytes: Uint8Array, mode: number): void {
	const name = cstr(path);
	const fd = check(libc().open(ptr(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600), `create ${path}`);
	try {
		for (let done = 0; done < bytes.length; )
			done += check(libc().write(fd, ptr(bytes.subarray(done)), BigInt(bytes.length - done)), `write ${path}`);
		check(libc().fsync(fd), `fsync ${path}`);
		check(libc().fchmod(fd, mode), `chmod ${path}`);
	} finally {
		closeFd(fd);
	}
}

/** fsync(2) a directory, so a rename in it is durable; throws SysError. */
export function syncDirectory(path: string): void {
	const fd = openRead(path, true);
	try {
		check(libc().fsync(fd), `fsync ${path}`);
	} finally {
		closeFd(fd);
	}
}

/** mkdir(2); throws SysError (EEXIST included). */
export function makeDirectory(path: string, mode: number): void {
	const name = cstr(path);
	check(libc().mkdir(ptr(name), mode), `mkdir ${path}`);
}

export function renamePath(from: string, to: string): void {
	const [a, b] = [cstr(from), cstr(to)];
	check(libc().rename(ptr(a), ptr(b)), `rename ${from}`);
}

/** unlink(2), ignoring failure (cleanup of our own temporary files). */
export function removeFile(path: string): void {
	const name = cstr(path);
	libc().unlink(ptr(name));
}
