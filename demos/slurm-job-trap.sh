#!/bin/bash
# The same job as slurm-job.sh for clusters without RequeueExit=85: the
# batch shell stays, forwards the signal to ckpt, and requeues the job itself
# with scontrol once the program has stopped after its checkpoint.
#
#   sbatch slurm-job-trap.sh ./simulation --steps 1000000
#SBATCH --time=01:00:00
#SBATCH --signal=B:USR2@120
#SBATCH --requeue
#SBATCH --open-mode=append

echo "job $SLURM_JOB_ID: start $((${SLURM_RESTART_COUNT:-0} + 1)) (restart count ${SLURM_RESTART_COUNT:-0}) on $SLURMD_NODENAME" >&2

# In the background, because bash runs a trap only after its foreground child
# ends, but interrupts `wait` for one at once.
ckpt run-or-restart --image "ckpt-$SLURM_JOB_ID.dat" "$@" &
pid=$!
trap 'kill -USR2 $pid' USR2

# The trap interrupts `wait` (status 128+12) while the program still runs:
# wait again until it has really ended.
wait "$pid"; status=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; status=$?; done

# 85: checkpointed and stopped. scontrol requeue also makes Slurm stop this
# shell (the output may then say "CANCELLED ... DUE TO JOB REQUEUE"); if it
# ends first, it ends with 0, so RequeueExit=85, where set, plays no part.
if [ "$status" = 85 ] && scontrol requeue "$SLURM_JOB_ID"; then exit 0; fi
exit "$status"
