// Programs nobody here wrote, from Debian's packages: each prints in a loop,
// is checkpointed mid-run, restarted, and must print exactly what an
// uninterrupted run prints and exit cleanly. Some sleep in syscalls, some
// are interrupted in pure computation.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { checkpointRun, CKPT, eachTestInTempDir, EXIT_CHECKPOINTED, runToEnd } from "./harness.ts";

let dir: string;
eachTestInTempDir((d) => (dir = d));

const programs: [string, string[]][] = [
  ["python3 (sleeps in select)", ["/usr/bin/python3", "-c",
    "import time\nfor i in range(12):\n    print('py', i, sum(range(i * 1000)), flush=True)\n    time.sleep(0.15)\nprint('done')"]],
  ["perl (sleeps in select)", ["/usr/bin/perl", "-e",
    '$|=1; my %h; for my $i (0..11) { $h{$i} = $i * $i; print "perl $i $h{$i}\\n"; select(undef, undef, undef, 0.15) } print "done\\n"']],
  ["mawk (busy computing)", ["/usr/bin/mawk",
    'BEGIN { for (i = 0; i < 12; i++) { s = 0; for (j = 0; j < 300000; j++) s += j % 7; print "awk", i, s; fflush() } print "done" }']],
  ["bash (busy computing)", ["/usr/bin/bash", "-c",
    'for ((i = 0; i < 12; i++)); do s=0; for ((j = 0; j < 15000; j++)); do s=$((s + j % 5)); done; echo "bash $i $s"; done; echo done']],
];

for (const [name, program] of programs)
  test(name, async () => {
    if (!existsSync(program[0]!)) throw new Error(`${program[0]} is not installed (.ci/run installs it)`);
    const reference = await runToEnd(program, { cwd: dir });
    expect(reference.code).toBe(0);
    const first = await checkpointRun(program, { cwd: dir, afterLines: 4 });
    expect(first.code).toBe(EXIT_CHECKPOINTED);
    const second = await runToEnd([CKPT, "restart"], { cwd: dir });
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    expect(first.stdout + second.stdout).toBe(reference.stdout);
  }, 60000);
