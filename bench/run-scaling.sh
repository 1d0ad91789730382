#!/bin/sh
# run-scaling.sh — psum over 10^7 on one server, then split across two
#
# Starts two rthunkd on free loopback ports, each with one worker thread
# (so each server is one core's worth of evaluation), then times
#
#   rthunk --server A -e EXPR                 (one chunk, on A)
#   rthunk --server A --server B -e EXPR      (psum cuts [0, 10^7) in two)
#
# REPS times each, alternating, where EXPR is a psum of a compute-heavy
# function (ten loop steps per element). Only the bounds and the function
# travel: each server generates and reduces its own slice. The servers
# have no result cache (every repetition computes). Both must print
# the same sum. Prints, on stdout,
#   result scaling.n N
#   result scaling.one_s MEDIAN
#   result scaling.two_s MEDIAN
#   result scaling.speedup ONE/TWO
# and progress on stderr. On a machine with fewer than two free cores the
# speed-up is bounded by what the cores give, not by rthunk.
#
# Environment: RTHUNK, RTHUNKD (default: the build tree's), REPS (3),
# SCALING_N (10000000).
set -u

rthunk=${RTHUNK:-client/rthunk}
rthunkd=${RTHUNKD:-services/std/rthunkd}
reps=${REPS:-3}
n=${SCALING_N:-10000000}
expr="(psum (fn [i] (loop [k 0 acc 0] (if (< k 10) (recur (+ k 1) (+ acc (mod (* i k) 7))) acc))) 0 $n)"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"

setup scaling || exit 2

start scale-a || exit 2
a=$addr
start scale-b || exit 2
b=$addr

: > "$work/one"; : > "$work/two"
for rep in $(seq "$reps"); do
  t1=$(timed "$work/r1" --server "$a" -e "$expr") || exit 1
  t2=$(timed "$work/r2" --server "$a" --server "$b" -e "$expr") || exit 1
  if ! cmp -s "$work/r1" "$work/r2"; then
    say "MISMATCH: one server gave $(cat "$work/r1"), two gave $(cat "$work/r2")"
    exit 1
  fi
  say "scaling rep $rep: one server $t1 s, two servers $t2 s (sum $(cat "$work/r1"))"
  echo "$t1" >> "$work/one"; echo "$t2" >> "$work/two"
done
one=$(median < "$work/one"); two=$(median < "$work/two")
echo "result scaling.n $n"
echo "result scaling.one_s $one"
echo "result scaling.two_s $two"
awk -v a="$one" -v b="$two" 'BEGIN { printf "result scaling.speedup %.3f\n", a / b }'
