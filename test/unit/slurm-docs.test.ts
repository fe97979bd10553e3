// The README's Slurm section must stay copy-pasteable: its job scripts are
// the demos that test/e2e/slurm.test.ts submits to a real Slurm, minus the
// comments.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CKPT_EXIT_CHECKPOINTED } from "../../src/protocol/protocol.ts";

const root = join(import.meta.dir, "..", "..");
const readme = readFileSync(join(root, "README.md"), "utf8");
const section = readme.slice(readme.indexOf("## Batch jobs (Slurm)"), readme.indexOf("\n## ", readme.indexOf("## Batch jobs (Slurm)") + 1));
const bashBlocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd().split("\n"));

/** A demo's lines without comments and blank lines; the shebang and #SBATCH lines stay. */
function code(demo: string): string[] {
	return readFileSync(join(root, "demos", demo), "utf8").split("\n")
		.filter((l) => l.trim() !== "" && (!l.startsWith("#") || l.startsWith("#!") || l.startsWith("#SBATCH")));
}

test("the README's job script is demos/slurm-job.sh without its comments", () => {
	expect(bashBlocks[0]).toEqual(code("slurm-job.sh"));
});

test("the README's trap-and-requeue lines are those of demos/slurm-job-trap.sh", () => {
	const demo = code("slurm-job-trap.sh");
	const lines = bashBlocks[1]!;
	const at = demo.indexOf(lines[0]!);
	expect(at).toBeGreaterThan(0);
	expect(demo.slice(at, at + lines.length)).toEqual(lines);
});

test("the README configures RequeueExit with ckpt's checkpointed status", () => {
	expect(section).toContain(`RequeueExit=${CKPT_EXIT_CHECKPOINTED}`);
	expect(section).toContain("sbatch --signal=B:USR2@120 --requeue --open-mode=append job.sh");
});
