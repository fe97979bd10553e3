#!/bin/bash
# A Slurm batch job that outlives its time limit: 120 s before the limit
# Slurm sends SIGUSR2, ckpt writes an image and stops with status 85, Slurm
# requeues the job on that status (RequeueExit=85 in slurm.conf), and the
# requeued job resumes from the image. Submit with the program to run:
#
#   sbatch slurm-job.sh ./simulation --steps 1000000
#
# --signal=B:USR2@120  B: signals the batch shell alone, which `exec` below
#                      makes the program itself (without B: only job steps
#                      started with srun are signalled, and there are none).
# --requeue            the job may be requeued (on by default with JobRequeue=1).
# --open-mode=append   a requeue must not empty the output file: the restarted
#                      program continues writing where it stopped.
#SBATCH --time=01:00:00
#SBATCH --signal=B:USR2@120
#SBATCH --requeue
#SBATCH --open-mode=append

# One line per start in the output, on stderr like ckpt's own messages.
echo "job $SLURM_JOB_ID: start $((${SLURM_RESTART_COUNT:-0} + 1)) (restart count ${SLURM_RESTART_COUNT:-0}) on $SLURMD_NODENAME" >&2

# exec, not a child: bash runs a trap only after its foreground child ends,
# so the signal must reach the program directly. The job id survives
# requeues, so each job has one image; delete it once the job has completed.
exec ckpt run-or-restart --image "ckpt-$SLURM_JOB_ID.dat" "$@"
