import { expect, test } from "bun:test";
import { parseMaxOpenFilesSoft, runtimeFds } from "../../src/process/exec.ts";
import { launchEnv } from "../../src/protocol/launch-env.ts";
import { CKPT_STATUS_LEN } from "../../src/protocol/protocol.ts";

const settings = { lib: "/c/libckpt.so", image: "/w/i.dat", signal: 10, pid: 4242, keepRunning: false, dropUnsupportedFds: false, compress: false };

test("ckpt's variables are added, everything else kept", () => {
	const env = launchEnv({ PATH: "/bin", HOME: "/h" }, settings);
	expect(env).toEqual({
		PATH: "/bin", HOME: "/h", LD_PRELOAD: "/c/libckpt.so", CKPT_IMAGE: "/w/i.dat", CKPT_SIGNAL: "10",
		CKPT_STATUS: " ".repeat(CKPT_STATUS_LEN), // room for libckpt's status line
		CKPT_PID: "0000004242", // fixed width: rewritten in place after a restart
	});
});

test("libckpt is prepended to an existing LD_PRELOAD", () => {
	expect(launchEnv({ LD_PRELOAD: "/x/a.so" }, settings).LD_PRELOAD).toBe("/c/libckpt.so:/x/a.so");
});

test("flags are set from options, never inherited", () => {
	const inherited = launchEnv({ CKPT_CONTINUE: "1", CKPT_DROP_FDS: "1", CKPT_COMPRESS: "1" }, settings);
	expect("CKPT_CONTINUE" in inherited).toBe(false);
	expect("CKPT_DROP_FDS" in inherited).toBe(false);
	expect("CKPT_COMPRESS" in inherited).toBe(false);
	const on = launchEnv({}, { ...settings, keepRunning: true, dropUnsupportedFds: true, compress: true });
	expect(on.CKPT_CONTINUE).toBe("1");
	expect(on.CKPT_DROP_FDS).toBe("1");
	expect(on.CKPT_COMPRESS).toBe("1");
});

test("the soft open-files limit from /proc/PID/limits", () => {
	const limits = [
		"Limit                     Soft Limit           Hard Limit           Units",
		"Max processes             63545                63545                processes",
		"Max open files            1024                 524288               files",
		"Max locked memory         8388608              8388608              bytes",
	].join("\n");
	expect(parseMaxOpenFilesSoft(limits)).toBe(1024n);
	expect(parseMaxOpenFilesSoft("Max open files            unlimited            unlimited            files\n")).toBe(0xffffffffffffffffn);
	expect(parseMaxOpenFilesSoft("garbage")).toBeNull();
});

test("status fields decode what libckpt encodes: '%' and control characters", async () => {
	const { decodeField, parseStatus } = await import("../../src/protocol/status.ts");
	expect(decodeField("/tmp/a%0Ab%25.dat")).toBe("/tmp/a\nb%.dat");
	expect(decodeField("plain é")).toBe("plain é");
	expect(parseStatus("seq=2 state=failed count=1 image=/x%0Ay.dat\nmessage=fd 3 (/a%0Ab)   \nend=2")).toEqual({
		seq: 2, state: "failed", count: 1, image: "/x\ny.dat", message: "fd 3 (/a\nb)",
	});
});

test("Bun's own descriptors: an epoll and the eventfd registered in it; everything else was passed", () => {
	const link = { 3: "anon_inode:[eventpoll]", 4: "/tmp/a", 5: "anon_inode:[eventfd]", 6: "anon_inode:[eventfd]", 7: "anon_inode:[eventpoll]" };
	const fdinfo = { 3: "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:                5  pos:0 ino:1057 sdev:f\n", 7: "pos:\t0\n" };
	// 6 (an eventfd) and 7 (an epoll watching nothing) were passed by the caller.
	expect(runtimeFds([3, 4, 5, 6, 7], link, fdinfo)).toEqual([3, 5]);
	expect(runtimeFds([4, 6], link, fdinfo)).toEqual([]);
});
