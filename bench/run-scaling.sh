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

say() { printf 'bench: %s\n' "$*" >&2; }

for prog in "$rthunk" "$rthunkd"; do
  if [ ! -x "$prog" ]; then
    say "$prog was not found: build first (make), or set RTHUNK / RTHUNKD"
    exit 2
  fi
done
case $reps in
  ''|*[!0-9]*|0) say "REPS must be a positive integer (got '$reps')"; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/rthunk-scaling.XXXXXX") || exit 2
pids=
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# start NAME: an rthunkd on a free port; sets $addr to its HOST:PORT (not
# in a subshell: the cleanup must know its pid)
start() {
  "$rthunkd" --port 0 --name "$1" --workers 1 --fuel 100000000000 --deadline-ms 0 --cache-entries 0 \
    > "$work/$1.out" 2> "$work/$1.err" &
  pids="$pids $!"
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([^ ]*\)$/\1/p' "$work/$1.out")
    if [ -n "$addr" ]; then return 0; fi
    sleep 0.05
  done
  say "rthunkd $1 did not start: $(cat "$work/$1.err")"
  return 1
}

start scale-a || exit 2
a=$addr
start scale-b || exit 2
b=$addr

now_ns() { date +%s%N; }
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timed OUTFILE ARGS…: seconds one rthunk run took; its output in OUTFILE
timed() {
  out=$1; shift
  t0=$(now_ns)
  if ! "$rthunk" "$@" -e "$expr" > "$out" 2> "$out.err"; then
    say "rthunk $* failed: $(head -n 1 "$out.err")"
    return 1
  fi
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

: > "$work/one"; : > "$work/two"
for rep in $(seq "$reps"); do
  t1=$(timed "$work/r1" --server "$a") || exit 1
  t2=$(timed "$work/r2" --server "$a" --server "$b") || exit 1
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
