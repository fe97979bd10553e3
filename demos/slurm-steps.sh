#!/bin/bash
# A job that is a shell running several steps, checkpointed and requeued as
# one process tree: bash, the step running now, and every process of its
# pipeline. Submit it through slurm-job.sh, which runs it under ckpt:
#
#   sbatch slurm-job.sh bash slurm-steps.sh
#
# Wherever the signal lands (in a step, between two), the requeued job
# resumes there: bash goes on with the same line of this file, a step still
# running finishes, and no line is printed twice or lost. COUNTER (default
# counting-test, a demo that prints its argument and the next 9, one a
# second) stands for a real solver.
set -e
counter=${1:-counting-test}

echo "step 1: count"
"$counter" 1

# A pipeline: three members of the tree, with lines in flight between them
# (cat and sed -u pass each line on at once, so the output shows progress).
echo "step 2: pipeline"
"$counter" 11 | cat -n | sed -u 's/^ *\([0-9]*\)\t/line \1: /'

echo "step 3: done"
