#!/bin/sh
# run-placement.sh — a mixed workload placed all here, all remote, and by
# (auto …)
#
# Starts one rthunkd (two worker threads, no result cache) on a free
# loopback port and runs one script with `rthunk --server A SCRIPT`, in
# three versions, REPS times each, alternating:
#
#   local   every form as written: runs in the shell's own evaluator
#   remote  every form inside (remote …)
#   auto    every form inside (auto …): the session chooses
#
# The workload: TINY small arithmetic expressions (different ones: none
# is measured before it runs), HEAVY costly loops (10^7 steps each) bound
# to cells, and IO calls of server-name, a function with the io flag only
# servers provide — so "local" sends those to the server too: they
# cannot run anywhere else. The last form adds up the heavy cells. All
# three versions must print the same. Prints, on stdout,
#   result placement.local_s MEDIAN
#   result placement.remote_s MEDIAN
#   result placement.auto_s MEDIAN
#   result placement.best_s the smaller of local and remote
# and progress on stderr.
#
# Environment: RTHUNK, RTHUNKD (default: the build tree's), REPS (5),
# PLACEMENT_TINY (4000), PLACEMENT_HEAVY (4), PLACEMENT_IO (20).
set -u

rthunk=${RTHUNK:-client/rthunk}
rthunkd=${RTHUNKD:-services/std/rthunkd}
reps=${REPS:-5}
tiny=${PLACEMENT_TINY:-4000}
heavy=${PLACEMENT_HEAVY:-4}
io=${PLACEMENT_IO:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench-lib.sh"

setup placement || exit 2
# the program behind libtool's wrapper: the wrapper's tens of
# milliseconds of shell would add the same to every version
unwrap_rthunk

start place-a --workers 2 || exit 2
a=$addr

# script MODE: the workload, each form wrapped as MODE says
script() {
  awk -v mode="$1" -v tiny="$tiny" -v heavy="$heavy" -v io="$io" '
    function wrap(form) { return mode == "local" ? form : "(" mode " " form ")" }
    BEGIN {
      step = int(tiny / (heavy + 1)) + 1
      h = 0
      for (i = 1; i <= tiny; i++) {
        print wrap("(* (+ " i " 1) " (i % 7 + 2) ")")
        if (i % step == 0 && h < heavy) {
          h++
          print "(def h" h " " wrap("(loop [k 0 acc 0] (if (< k " (10000000 + h) ") (recur (+ k 1) (+ acc (mod k 7))) acc))") ")"
        }
        if (io > 0 && i % int(tiny / io) == 0)
          print (mode == "local" ? "(remote (server-name))" : wrap("(server-name)"))
      }
      while (h < heavy) { h++; print "(def h" h " 0)" }
      sum = "0"
      for (k = heavy; k >= 1; k--) sum = "(+ h" k " " sum ")"
      print sum
    }'
}

for mode in local remote auto; do
  script $mode > "$work/$mode.rth"
  : > "$work/$mode.times"
done
for rep in $(seq "$reps"); do
  line="placement rep $rep:"
  for mode in local remote auto; do
    t=$(timed "$work/$mode.out" --server "$a" "$work/$mode.rth") || exit 1
    echo "$t" >> "$work/$mode.times"
    line="$line $mode $t s,"
  done
  for mode in remote auto; do
    if ! cmp -s "$work/local.out" "$work/$mode.out"; then
      say "MISMATCH: $mode printed otherwise than local: $(diff "$work/local.out" "$work/$mode.out" | head -n 3)"
      exit 1
    fi
  done
  say "${line%,}"
done
l=$(median < "$work/local.times"); r=$(median < "$work/remote.times"); u=$(median < "$work/auto.times")
echo "result placement.local_s $l"
echo "result placement.remote_s $r"
echo "result placement.auto_s $u"
awk -v a="$l" -v b="$r" 'BEGIN { printf "result placement.best_s %.3f\n", a < b ? a : b }'
