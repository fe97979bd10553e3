import { expect, test } from "bun:test";
import { splitWords } from "../../src/cli/shell-words.ts";

test("words as a shell splits them, without any expansion", () => {
	expect(splitWords("")).toEqual([]);
	expect(splitWords("   ")).toEqual([]);
	expect(splitWords("-n 3  x.py\tlast")).toEqual(["-n", "3", "x.py", "last"]);
	expect(splitWords(`"a b" 'c d' e\\ f`)).toEqual(["a b", "c d", "e f"]);
	expect(splitWords(`'' ""`)).toEqual(["", ""]);
	expect(splitWords(`pre'fix'"ed"`)).toEqual(["prefixed"]);
	expect(splitWords(`"say \\"hi\\" \\\\ \\n" 'it\\s'`)).toEqual([`say "hi" \\ \\n`, "it\\s"]);
	expect(splitWords("$HOME *.c ~")).toEqual(["$HOME", "*.c", "~"]);
});

test("unbalanced input is an error, not a guess", () => {
	expect(splitWords(`'open`)).toBeInstanceOf(Error);
	expect(splitWords(`"open`)).toBeInstanceOf(Error);
	expect(splitWords(`trailing\\`)).toBeInstanceOf(Error);
	expect((splitWords(`"a \\"`) as Error).message).toBe("unterminated double quote");
});
