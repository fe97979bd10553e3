#!/usr/bin/env bash
# The main job, end to end: run the counting demo under ckpt, checkpoint it
# mid-run, look at the image, restart it, and watch it finish.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ckpt="$root/dist/ckpt"
work=$(mktemp -d)
cd "$work"
# Into a file (`npm run demo > log`), the counter's stdout would be that
# file, which a restart reopens at the counter's own offset: its lines would
# land over what this script wrote meanwhile. Through a pipe, both keep order.
if [ -f /proc/self/fd/1 ]; then exec > >(cat); fi

echo "\$ ckpt counting-test 1 &      # counts 1..10, one a second"
"$ckpt" "$root/build/demos/counting-test" 1 &
pid=$!
sleep 3.5
echo "\$ kill -USR2 $pid             # checkpoint: the program stops with status 85"
kill -USR2 "$pid"
status=0
wait "$pid" || status=$?
echo "(exit status $status)"
echo "\$ ckpt info | head -12"
"$ckpt" info | head -12
echo "\$ ckpt restart                # carries on where it stopped"
"$ckpt" restart
echo "(exit status $?; image left in $work/myckpt.dat)"
