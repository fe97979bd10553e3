/** Small text formatting helpers for human-readable output. */

/**
 * Rows padded into aligned columns; `right` lists the columns aligned right
 * (numbers). Trailing spaces are trimmed.
 *
 * @example table([["FD", "PATH"], ["3", "/tmp/x"]]) // "FD  PATH\n3   /tmp/x"
 */
export function table(rows: string[][], right: number[] = [], indent = "  "): string {
	const widths: number[] = [];
	for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
	return rows
		.map((row) => indent + row.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd())
		.join("\n");
}

/** 1536 -> "1.5 KiB"; exact bytes below 1 KiB. */
export function bytes(n: number | bigint): string {
	let v = Number(n);
	if (v < 1024) return `${v} B`;
	for (const unit of ["KiB", "MiB", "GiB", "TiB"]) {
		v /= 1024;
		if (v < 1024 || unit === "TiB") return `${v.toFixed(1)} ${unit}`;
	}
	return `${v}`;
}

export function hex(v: bigint | number): string {
	return `0x${v.toString(16)}`;
}

/** A nanosecond duration as "850 µs", "12.3 ms", "4.56 s". */
export function duration(ns: bigint): string {
	const n = Number(ns);
	if (n < 1e6) return `${(n / 1e3).toFixed(0)} µs`;
	if (n < 1e9) return `${(n / 1e6).toFixed(1)} ms`;
	return `${(n / 1e9).toFixed(2)} s`;
}

/** "just now", "5 minutes ago", "3 days ago". */
export function age(thenMs: number, nowMs: number): string {
	const s = Math.round((nowMs - thenMs) / 1000);
	if (s < -60) return "in the future (clock skew?)";
	if (s < 60) return "just now";
	const steps: [number, string][] = [[60, "minute"], [3600, "hour"], [86400, "day"], [86400 * 365, "year"]];
	let unit = steps[0]!;
	for (const step of steps) if (s >= step[0]) unit = step;
	const n = Math.floor(s / unit[0]);
	return `${n} ${unit[1]}${n === 1 ? "" : "s"} ago`;
}

/** Local time as "2024-05-01 14:03:07 +02:00". */
export function localTime(ms: number): string {
	const d = new Date(ms);
	const p = (n: number) => String(n).padStart(2, "0");
	const off = -d.getTimezoneOffset();
	const sign = off < 0 ? "-" : "+";
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ` +
		`${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
}

/** An argument as a POSIX shell would need it typed. */
export function shellQuote(arg: string): string {
	return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A running time as "42 s", "5 min", "2 h 5 min", "3 d 4 h". */
export function uptime(seconds: number): string {
	const s = Math.floor(seconds);
	if (s < 60) return `${s} s`;
	if (s < 3600) return `${Math.floor(s / 60)} min`;
	if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
	return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
