/**
 * Splitting the command line before cac sees it. cac (like most parsers)
 * takes options from anywhere, but `ckpt python3 -u x.py` must hand `-u` to
 * python: everything from PROGRAM on belongs to the program, verbatim. So we
 * find PROGRAM ourselves and give cac only what comes before it.
 *
 * We also keep the raw text of options that take a value, because cac
 * turns number-like values into numbers (`--image 007` would become 7).
 */

/** Options of ours that take a value; needed to know where PROGRAM starts. */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set(["--image", "--signal", "--interval", "--keep"]);

/** Subcommands recognised in place of PROGRAM (`ckpt run info` runs a program called info). */
export const SUBCOMMANDS: ReadonlySet<string> = new Set(["run", "run-or-restart", "restart", "info", "checkpoint", "list"]);

/** Subcommands that take no PROGRAM: cac parses all of their arguments. */
const PLAIN_COMMANDS: ReadonlySet<string> = new Set(["restart", "info", "checkpoint", "list"]);

export interface Split {
	/** "none": no arguments at all; "default": run without the word `run`. */
	command: "none" | "default" | "run" | "run-or-restart" | "restart" | "info" | "checkpoint" | "list";
	/** What cac should parse. */
	cacArgs: string[];
	/** Raw values of VALUE_OPTIONS, by name without dashes; the last one wins. */
	values: Record<string, string>;
	/** run: PROGRAM exactly as typed, if given. */
	program?: string;
	/** run: PROGRAM's arguments, verbatim. */
	programArgs: string[];
}

/**
 * @example splitArgv(["--continue", "python3", "-u", "x.py"])
 * // { command: "default", cacArgs: ["--continue"], program: "python3", programArgs: ["-u", "x.py"], values: {} }
 */
export function splitArgv(args: readonly string[]): Split {
	const values: Record<string, string> = {};
	if (args.length === 0) return { command: "none", cacArgs: [], values, programArgs: [] };

	let i = skipOptions(args, 0, values);
	const first = args[i];
	if (first !== undefined && PLAIN_COMMANDS.has(first)) {
		// No pass-through here: cac parses everything, options may follow IMAGE.
		for (let k = i + 1; k < args.length && args[k] !== "--"; ) {
			const next = skipOptions(args, k, values);
			k = next === k ? k + 1 : next; // args[k] is a positional: step over it
		}
		return { command: first as Split["command"], cacArgs: [...args], values, programArgs: [] };
	}

	let command: Split["command"] = "default";
	let cacArgs = args.slice(0, i);
	// run-or-restart takes PROGRAM [ARGS...] exactly as run does.
	if (first === "run" || first === "run-or-restart") {
		command = first;
		const j = skipOptions(args, i + 1, values);
		cacArgs = [...cacArgs, first, ...args.slice(i + 1, j)];
		i = j;
	}
	if (args[i] === "--") i++;
	if (i >= args.length) return { command, cacArgs, values, programArgs: [] };
	return { command, cacArgs, values, program: args[i]!, programArgs: args.slice(i + 1) };
}

/** Index of the first non-option argument (or `--`) at or after `from`, noting option values. */
function skipOptions(args: readonly string[], from: number, values: Record<string, string>): number {
	let k = from;
	while (k < args.length) {
		const a = args[k]!;
		if (a === "--" || !a.startsWith("-") || a === "-") return k;
		const eq = a.indexOf("=");
		const name = eq < 0 ? a : a.slice(0, eq);
		if (VALUE_OPTIONS.has(name)) {
			if (eq >= 0) values[name.slice(2)] = a.slice(eq + 1);
			else if (k + 1 < args.length) values[name.slice(2)] = args[++k]!;
		}
		k++;
	}
	return k;
}

/**
 * The subcommand `word` was probably meant as, when it is a near miss (at
 * most two edits, a swap of neighbours counting as one), else undefined.
 *
 * @example nearestCommand("restrat") // "restart"
 * @example nearestCommand("python3") // undefined
 */
export function nearestCommand(word: string): string | undefined {
	if (word.length < 3) return undefined;
	let best: string | undefined;
	let bestDistance = 3;
	for (const name of SUBCOMMANDS) {
		const d = editDistance(word, name);
		if (d > 0 && d < bestDistance) [best, bestDistance] = [name, d];
	}
	return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
	const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
	for (let i = 1; i <= a.length; i++)
		for (let j = 1; j <= b.length; j++) {
			d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
		}
	return d[a.length]![b.length]!;
}
