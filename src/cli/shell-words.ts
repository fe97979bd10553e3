/**
 * Splitting a typed argument line into words the way a POSIX shell would,
 * for the interactive "run" prompt: blanks separate words; 'single quotes'
 * keep everything; "double quotes" keep everything but \" \\ \$ \`; a
 * backslash outside quotes keeps the next character. No expansion of any
 * kind ($VAR, globs, ~) is done: what is typed is what the program gets.
 */

/**
 * The words of `line`, or an Error saying what is unbalanced.
 *
 * @example splitWords(`-n 3 "a b" 'c d' e\\ f`) // ["-n", "3", "a b", "c d", "e f"]
 */
export function splitWords(line: string): string[] | Error {
	const words: string[] = [];
	let word = "";
	let inWord = false;
	for (let i = 0; i < line.length; i++) {
		const c = line[i]!;
		if (c === " " || c === "\t") {
			if (inWord) words.push(word);
			word = "";
			inWord = false;
			continue;
		}
		inWord = true;
		if (c === "\\") {
			if (i + 1 >= line.length) return new Error("a backslash at the end of the line escapes nothing");
			word += line[++i];
		} else if (c === "'") {
			const end = line.indexOf("'", i + 1);
			if (end < 0) return new Error("unterminated single quote");
			word += line.slice(i + 1, end);
			i = end;
		} else if (c === '"') {
			let j = i + 1;
			for (; j < line.length && line[j] !== '"'; j++) {
				if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
				word += line[j];
			}
			if (j >= line.length) return new Error("unterminated double quote");
			i = j;
		} else {
			word += c;
		}
	}
	if (inWord) words.push(word);
	return words;
}
