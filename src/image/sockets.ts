/**
 * Unix sockets (CKPT_FD_UNIX_SOCKET, c/kinds/fd_unix_socket.c): what their
 * records hold, as `ckpt info` and `--json` show it, and the record check
 * the stub makes of them (fd_unix_socket_record_problem), which the reader
 * must make too (test/e2e/verify-agreement.test.ts).
 */
import {
	CKPT_SOCK_CONNECTED, CKPT_SOCK_LISTEN, CKPT_SOCK_PAIR, CKPT_SOCK_PASSCRED, CKPT_SOCK_PEER_CLOSED, CKPT_SOCK_REUSEADDR,
	CKPT_SOCK_STATE_MAX, CKPT_SOCK_UNBOUND,
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
		(s.flags & ~3) !== 0 || s.pad !== 0 || (s.state === CKPT_SOCK_CONNECTED && (!dgram || s.peerStr === 0)) ||
		(s.state === CKPT_SOCK_LISTEN && s.type === SOCK_DGRAM) || (f.pipeLen > 0 && !queue) ||
		s.rcvtimeoUsec < 0n || s.sndtimeoUsec < 0n || s.peekOff < -1)
		return "socket state out of range";
	return undefined;
}

/** The socket's facts for --json (docs/info-json.md, `socket`). */
export function unixSocketFacts(f: Fd) {
	const s = f.socket!;
	return {
		type: TYPES[s.type] ?? String(s.type),
		state: STATES[s.state] ?? String(s.state),
		address: f.path,
		peer: s.state === CKPT_SOCK_CONNECTED ? s.peer : null,
		backlog: s.state === CKPT_SOCK_LISTEN ? s.backlog : null,
		shutdown: [...(s.shutdown & 1 ? ["read"] : []), ...(s.shutdown & 2 ? ["write"] : [])],
		rcvbuf: s.rcvbuf,
		sndbuf: s.sndbuf,
		passcred: (s.flags & CKPT_SOCK_PASSCRED) !== 0,
		reuseaddr: (s.flags & CKPT_SOCK_REUSEADDR) !== 0,
	};
}

/** The PATH column of `ckpt info`: "unix stream pair (3 B unread)", "unix stream listening at /run/x.sock (backlog 5)". */
export function unixSocketText(f: Fd): string {
	const s = f.socket!;
	const type = `unix ${TYPES[s.type] ?? s.type}`;
	const unread = f.pipeLen > 0 ? ` (${bytes(f.pipeLen)} unread)` : "";
	const shut = s.shutdown ? `, shut ${s.shutdown === 3 ? "both ways" : s.shutdown === 1 ? "for reading" : "for writing"}` : "";
	switch (s.state) {
		case CKPT_SOCK_PAIR: return `${type} pair${shut}${unread}`;
		case CKPT_SOCK_PEER_CLOSED: return `${type}, closed by its peer${unread}`;
		case CKPT_SOCK_LISTEN: return `${type} listening at ${f.path} (backlog ${s.backlog})`;
		case CKPT_SOCK_CONNECTED: return `${type}${f.path ? ` at ${f.path}` : ""} connected to ${s.peer}`;
		default: return f.path ? `${type} bound to ${f.path}${shut}` : `${type} unbound`;
	}
}
