// Reading what a tree's checkpoint wrote, for the tests of its checkpoint
// side: the root image's member table and header fields, straight from the
// bytes by the offsets src/image/format.ts mirrors (`ckpt info` shows
// trees once it reads them).
import { readdirSync, readFileSync } from "node:fs";
import { FD, HEADER, MEMBER } from "../../src/image/format.ts";

export function headerField(bytes: Buffer, name: keyof typeof HEADER.fields): number | bigint {
  const f = HEADER.fields[name];
  return f.type === "u64" ? bytes.readBigUInt64LE(f.off) : f.type === "i32" ? bytes.readInt32LE(f.off) : bytes.readUInt32LE(f.off);
}

/** The root image's member table, in tree order. */
export function memberTable(path: string) {
  const b = readFileSync(path);
  const tables = Number(headerField(b, "tables_offset"));
  const strings = tables + Number(headerField(b, "strings_off"));
  const at = tables + Number(headerField(b, "members_off"));
  const str = (off: number) => b.toString("latin1", strings + off, b.indexOf(0, strings + off));
  const F = MEMBER.fields;
  return Array.from({ length: Number(headerField(b, "nmembers")) }, (_, i) => {
    const m = at + i * MEMBER.size;
    return {
      pid: b.readInt32LE(m + F.pid.off), ppid: b.readInt32LE(m + F.ppid.off), kind: b.readUInt32LE(m + F.kind.off),
      waitStatus: b.readInt32LE(m + F.wait_status.off), file: str(b.readUInt32LE(m + F.file_str.off)),
      imageId: b.readBigUInt64LE(m + F.image_id.off), size: Number(b.readBigUInt64LE(m + F.file_size.off)),
    };
  });
}

/** The member image files beside `image` (a file name) in `dir`, sorted. */
export function memberFiles(dir: string, image = "myckpt.dat"): string[] {
  const esc = image.replace(/[.]/g, "\\.");
  return readdirSync(dir).filter((n) => new RegExp(`^${esc}\\.[0-9a-f]{16}\\.\\d+$`).test(n)).sort();
}

/** The state letter of /proc/PID/stat ("R", "S", "T", "Z"…), or "gone". */
export function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /s, "")[0] ?? "gone";
  } catch {
    return "gone";
  }
}

/** Whether `pid` still runs: not gone, nor a zombie waiting for its reaper. */
export function stillRuns(pid: number): boolean {
  return !["gone", "Z", "X"].includes(processState(pid));
}

/** How many processes descend from `pid` now. */
export function descendants(pid: number): number {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {}
  return kids.reduce((n, k) => n + 1 + descendants(k), 0);
}

/** The descriptor table of an image: fd, kind, and its first holder in the tree. */
export function fdTable(path: string) {
  const b = readFileSync(path);
  const at = Number(headerField(b, "tables_offset")) + Number(headerField(b, "fds_off"));
  const F = FD.fields;
  return Array.from({ length: Number(headerField(b, "nfds")) }, (_, i) => {
    const r = at + i * FD.size;
    return {
      fd: b.readInt32LE(r + F.fd.off), kind: b.readUInt32LE(r + F.kind.off),
      sharePid: b.readInt32LE(r + F.share_pid.off), shareFd: b.readInt32LE(r + F.share_fd.off),
    };
  });
}
