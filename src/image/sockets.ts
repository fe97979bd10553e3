/**
 * Sockets (CKPT_FD_UNIX_SOCKET, c/kinds/fd_unix_socket.c; CKPT_FD_INET_SOCKET,
 * fd_inet_socket.c): what their records hold, as `ckpt info` and `--json`
 * show it, and the record checks the stub makes of them
 * (fd_*_socket_record_problem), which the reader must make too
 * (test/e2e/verify-agreement.test.ts).
 */
import {
	CKPT_SOCK_CONNECTED, CKPT_SOCK_KEEPALIVE, CKPT_SOCK_LISTEN, CKPT_SOCK_NODELAY, CKPT_SOCK_PAIR, CKPT_SOCK_PASSCRED,
	CKPT_SOCK_NAME_FILE, CKPT_SOCK_PEER_CLOSED, CKPT_SOCK_REUSEADDR, CKPT_SOCK_REUSEPORT, CKPT_SOCK_STATE_MAX, CKPT_SOCK_UNBOUND, CKPT_SOCK_V6ONLY,
} from "./format.ts";
import { bytes } from "../cli/text.ts";
import type { Fd } from "./types.ts";

const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
const TYPES: Record<number, string> = { [SOCK_STREAM]: "stream", [SOCK_DGRAM]: "dgram", [SOCK_SEQPACKET]: "seqpacket" };
const STATES = ["", "unbound", "bound", "listening", "pair", "peer-closed", "connected"] as const;

export function unixSocketProblem(f: Fd): string | undefined {
	const s = f.socket!;
	const dgram = s.type === SOCK_DGRAM || s.type === SOCK_SEQPACKET;
	const queue = s.state === CKPT_SOCK_PAIR || s.state === CKPT_SOCK_PEER_CLOSED;
	if ((!dgram && s.type !== SOCK_STREAM) || s.state < CKPT_SOCK_UNBOUND || s.state > CKPT_SOCK_STATE_MAX || s.shutdown > 3 ||
		(s.flags & ~(3 | CKPT_SOCK_NAME_FILE)) !== 0 || s.family !== 1 || (s.state === CKPT_SOCK_CONNECTED && (!dgram || s.peerStr === 0)) ||
		(s.state === CKPT_SOCK_LISTEN && s.type === SOCK_DGRAM) || (f.pipeLen > 0 && !queue) ||
		s.rcvtimeoUsec < 0n || s.sndtimeoUsec < 0n || s.peekOff < -1)
		return "socket state out of range";
	if (s.state === CKPT_SOCK_PAIR && (f.path !== "" || s.peer !== "") && ((f.path !== "" && s.peer !== "") || s.type === SOCK_DGRAM))
		return "a socket pair named at both ends, or a named datagram pair";
	return undefined;
}

const AF_INET = 2, AF_INET6 = 10;
const INET_FLAGS = CKPT_SOCK_REUSEADDR | CKPT_SOCK_REUSEPORT | CKPT_SOCK_V6ONLY | CKPT_SOCK_NODELAY | CKPT_SOCK_KEEPALIVE;

export function inetSocketProblem(f: Fd): string | undefined {
	const s = f.socket!;
	const tcp = s.type === SOCK_STREAM;
	if ((s.family !== AF_INET && s.family !== AF_INET6) || (!tcp && s.type !== SOCK_DGRAM) || s.state < CKPT_SOCK_UNBOUND ||
		s.state > CKPT_SOCK_STATE_MAX || s.state === CKPT_SOCK_PAIR || (s.state === CKPT_SOCK_PEER_CLOSED && (!tcp || s.peerStr === 0)) ||
		(s.state === CKPT_SOCK_LISTEN && !tcp) || (s.state === CKPT_SOCK_CONNECTED && (tcp || s.peerStr === 0)) ||
		(s.state !== CKPT_SOCK_UNBOUND && f.pathStr === 0) || (s.flags & ~INET_FLAGS) !== 0 || s.shutdown > 3 ||
		(s.shutdown !== 0 && s.state !== CKPT_SOCK_PEER_CLOSED) || (f.pipeLen > 0 && s.state !== CKPT_SOCK_PEER_CLOSED) ||
		s.rcvtimeoUsec < 0n || s.sndtimeoUsec < 0n || s.peekOff < -1)
		return "socket state out of range";
	return undefined;
}

/** Whether several processes of a tree may hold one such socket (fd_*_socket_shared_in_tree):
 * any state but a connection that comes back closed by its peer. */
export const socketSharedInTree = (f: Fd): boolean => f.socket?.state !== CKPT_SOCK_PEER_CLOSED;

/** "[0:0:0:0:0:0:0:1]:80" as people write it, "[::1]:80". */
export function inetAddressText(a: string): string {
	const m = a.match(/^\[([0-9a-f:]+)\]:(\d+)$/);
	if (!m) return a;
	const groups = m[1]!.split(":");
	let best = [-1, 0];
	for (let i = 0; i < groups.length; i++) {
		let j = i;
		while (j < groups.length && groups[j] === "0") j++;
		if (j - i > best[1]! && j - i > 1) best = [i, j - i];
	}
	const g = best[0]! < 0 ? groups.join(":") : `${groups.slice(0, best[0]).join(":")}::${groups.slice(best[0]! + best[1]!).join(":")}`;
	return `[${g}]:${m[2]}`;
}

/** The socket's facts for --json (docs/info-json.md, `socket`). */
export function socketFacts(f: Fd) {
	const s = f.socket!;
	const inet = s.family === AF_INET || s.family === AF_INET6;
	return {
		family: s.family === AF_INET ? "ipv4" : s.family === AF_INET6 ? "ipv6" : "unix",
		type: inet ? (s.type === SOCK_STREAM ? "tcp" : "udp") : TYPES[s.type] ?? String(s.type),
		state: STATES[s.state] ?? String(s.state),
		address: inet ? inetAddressText(f.path) : f.path,
		// a Unix connection to another process keeps its peer's path; one whose peer had closed has none
		peer: s.state === CKPT_SOCK_CONNECTED || ((s.state === CKPT_SOCK_PEER_CLOSED || s.state === CKPT_SOCK_PAIR) && s.peer !== "") ? (inet ? inetAddressText(s.peer) : s.peer) : null,
		backlog: s.state === CKPT_SOCK_LISTEN ? s.backlog : null,
		shutdown: [...(s.shutdown & 1 ? ["read"] : []), ...(s.shutdown & 2 ? ["write"] : [])],
		rcvbuf: s.rcvbuf,
		sndbuf: s.sndbuf,
		passcred: (s.flags & CKPT_SOCK_PASSCRED) !== 0,
		reuseaddr: (s.flags & CKPT_SOCK_REUSEADDR) !== 0,
		reuseport: (s.flags & CKPT_SOCK_REUSEPORT) !== 0,
		v6only: (s.flags & CKPT_SOCK_V6ONLY) !== 0,
		nodelay: (s.flags & CKPT_SOCK_NODELAY) !== 0,
		keepalive: (s.flags & CKPT_SOCK_KEEPALIVE) !== 0,
	};
}

/** The PATH column for TCP and UDP: "tcp listening at 127.0.0.1:8080 (backlog 5)". */
export function inetSocketText(f: Fd): string {
	const s = f.socket!;
	const name = s.type === SOCK_STREAM ? "tcp" : "udp";
	const at = inetAddressText(f.path);
	switch (s.state) {
		case CKPT_SOCK_LISTEN: return `${name} listening at ${at} (backlog ${s.backlog})`;
		case CKPT_SOCK_CONNECTED: return `${name}${f.path ? ` at ${at}` : ""} connected to ${inetAddressText(s.peer)}`;
		case CKPT_SOCK_PEER_CLOSED: {
			const unread = f.pipeLen > 0 ? `, ${bytes(f.pipeLen)} unread` : "";
			return `${name} ${at} to ${inetAddressText(s.peer)}, closed by the peer at restart${unread}`;
		}
		default: return f.path ? `${name} bound to ${at}` : `${name} unbound`;
	}
}

/** The PATH column of `ckpt info`: "unix stream pair (3 B unread)", "unix stream listening at /run/x.sock (backlog 5)". */
export function unixSocketText(f: Fd): string {
	const s = f.socket!;
	const type = `unix ${TYPES[s.type] ?? s.type}`;
	const unread = f.pipeLen > 0 ? ` (${bytes(f.pipeLen)} unread)` : "";
	const shut = s.shutdown ? `, shut ${s.shutdown === 3 ? "both ways" : s.shutdown === 1 ? "for reading" : "for writing"}` : "";
	switch (s.state) {
		case CKPT_SOCK_PAIR: {
			const named = f.path ? ` accepted at ${f.path}` : s.peer ? ` connected to ${s.peer}` : "";
			return `${type} pair${named}${shut}${unread}`;
		}
		case CKPT_SOCK_PEER_CLOSED: {
			const at = f.path ? ` at ${f.path}` : ""; // its own name: accepted from a listener, or bound
			return s.peer ? `${type}${at} to ${s.peer}, closed by the peer at restart${unread}` : `${type}${at}, closed by its peer${unread}`;
		}
		case CKPT_SOCK_LISTEN: return `${type} listening at ${f.path} (backlog ${s.backlog})`;
		case CKPT_SOCK_CONNECTED: return `${type}${f.path ? ` at ${f.path}` : ""} connected to ${s.peer}`;
		default: return f.path ? `${type} bound to ${f.path}${shut}` : `${type} unbound`;
	}
}
