#!/bin/sh
# run-interp.sh — the rthunk interpreter against CPython and Lua 5.4
#
# Runs each program of bench/programs in its three versions
#   rthunk --local NAME.rth     /usr/bin/python3 NAME.py     lua5.4 NAME.lua
# REPS times each, checks that all three print the same result, and prints
# a table of median wall-clock seconds, the ratios rthunk/CPython and
# rthunk/Lua, and whether the goals hold (faster than CPython; within 1.5×
# of Lua). The table is also written to $BENCH_RESULTS.
#
# Environment:
#   RTHUNK         the rthunk shell (default: client/rthunk of the build tree)
#   PYTHON3        CPython (default /usr/bin/python3)
#   LUA            Lua 5.4 (default lua5.4)
#   REPS           runs of each program and interpreter (default 5)
#   BENCH_PROGRAMS the directory of the programs (default: next to this script)
#   BENCH_RESULTS  where the table goes (default bench/results-interp.txt)
#   BENCH_TIMEOUT  seconds one run may take (default 600)
#
# Exit status: 0 when every program ran in every interpreter and all agree
# (whether or not the goals hold), 1 when one failed or disagreed, 2 when
# the setup is broken. `make bench` runs this from the build directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
programs_dir=${BENCH_PROGRAMS:-$here/programs}
reps=${REPS:-5}
python=${PYTHON3:-/usr/bin/python3}
lua=${LUA:-lua5.4}
results=${BENCH_RESULTS:-bench/results-interp.txt}
run_timeout=${BENCH_TIMEOUT:-600}
programs="fib sum-loop map-filter-reduce"
goal_lua=1.5

say() { printf 'bench: %s\n' "$*" >&2; }

rthunk=${RTHUNK:-}
if [ -z "$rthunk" ]; then
  for candidate in ./client/rthunk "$here/../client/rthunk"; do
    if [ -x "$candidate" ]; then rthunk=$candidate; break; fi
  done
fi
if [ -z "$rthunk" ] || [ ! -x "$rthunk" ]; then
  say "the rthunk shell was not found: build it (make) or set RTHUNK=/path/to/rthunk"
  exit 2
fi
# time the program behind libtool's wrapper, as installed
. "$here/bench-lib.sh"
unwrap_rthunk
case $reps in
  ''|*[!0-9]*|0) say "REPS must be a positive integer (got '$reps')"; exit 2 ;;
esac
case $(date +%N) in
  ''|*[!0-9]*) say "needs GNU date (date +%N) to time the runs"; exit 2 ;;
esac
have_python=yes
if ! command -v "$python" >/dev/null 2>&1; then
  say "CPython ($python) was not found: install python3 or set PYTHON3; the CPython column is skipped"
  have_python=no
fi
have_lua=yes
if ! command -v "$lua" >/dev/null 2>&1; then
  say "**************************************************************************"
  say "$lua was not found: install the Debian package lua5.4"
  say "  (sudo apt-get install lua5.4; ./quickstart installs it too)"
  say "or set LUA=/path/to/lua5.4. The Lua column is skipped."
  say "**************************************************************************"
  have_lua=no
fi
timeout_cmd=
if command -v timeout >/dev/null 2>&1; then timeout_cmd="timeout $run_timeout"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rthunk-bench.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

now_ns() { date +%s%N; }

# median of the numbers on stdin
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_impl KEY PROGRAM COMMAND...: runs COMMAND $reps times.
# Leaves $work/KEY.time (median seconds), $work/KEY.out (the result) or
# $work/KEY.fail (why it failed).
run_impl() {
  key=$1 prog=$2
  shift 2
  : > "$work/$key.times"
  rm -f "$work/$key.fail" "$work/$key.out"
  i=0
  while [ "$i" -lt "$reps" ]; do
    i=$((i + 1))
    start=$(now_ns)
    # shellcheck disable=SC2086
    $timeout_cmd "$@" > "$work/$key.run.out" 2> "$work/$key.run.err"
    run_status=$?
    end=$(now_ns)
    if [ "$run_status" -ne 0 ]; then
      why=$(grep -v '^[[:space:]]*$' "$work/$key.run.err" | head -n 1)
      [ "$run_status" -eq 124 ] && [ -n "$timeout_cmd" ] && why="timed out after ${run_timeout}s"
      [ -z "$why" ] && why="exit status $run_status"
      printf '%s\n' "$why" > "$work/$key.fail"
      say "  $prog: ${key##*.} failed (run $i): $why"
      return 1
    fi
    if [ "$i" -eq 1 ]; then
      cp "$work/$key.run.out" "$work/$key.out"
    elif ! cmp -s "$work/$key.run.out" "$work/$key.out"; then
      printf 'prints a different result on run %s\n' "$i" > "$work/$key.fail"
      say "  $prog: ${key##*.} printed different results on runs 1 and $i"
      return 1
    fi
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", (e - s) / 1e9 }' >> "$work/$key.times"
  done
  median < "$work/$key.times" > "$work/$key.time"
  say "  $prog: ${key##*.} median $(cat "$work/$key.time") s over $reps runs"
  return 0
}

cell() {   # the median of KEY, or why there is none
  if [ -f "$work/$1.time" ]; then cat "$work/$1.time"
  elif [ -f "$work/$1.skip" ]; then echo missing
  else echo failed
  fi
}

ratio() {  # ratio A B, or "-"
  if [ -f "$work/$1.time" ] && [ -f "$work/$2.time" ]; then
    awk -v a="$(cat "$work/$1.time")" -v b="$(cat "$work/$2.time")" \
      'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'
  else
    echo -
  fi
}

goal() {   # goal RATIO LIMIT: yes when RATIO < LIMIT (or <= for Lua's 1.5)
  case $1 in
    -) echo "-" ;;
    *) awk -v r="$1" -v l="$2" -v op="$3" 'BEGIN {
         ok = (op == "lt") ? (r < l) : (r <= l); print ok ? "yes" : "NO" }' ;;
  esac
}

status=0
rows=
failures=
for prog in $programs; do
  say "$prog"
  for ext in rth py lua; do
    if [ ! -f "$programs_dir/$prog.$ext" ]; then
      say "missing program $programs_dir/$prog.$ext"
      exit 2
    fi
  done
  if [ -n "$rthunk_env" ]; then
    run_impl "$prog.rthunk" "$prog" env "$rthunk_env" "$rthunk" --local "$programs_dir/$prog.rth" || status=1
  else
    run_impl "$prog.rthunk" "$prog" "$rthunk" --local "$programs_dir/$prog.rth" || status=1
  fi
  if [ "$have_python" = yes ]; then
    run_impl "$prog.python" "$prog" "$python" "$programs_dir/$prog.py" || status=1
  else
    touch "$work/$prog.python.skip"
  fi
  if [ "$have_lua" = yes ]; then
    run_impl "$prog.lua" "$prog" "$lua" "$programs_dir/$prog.lua" || status=1
  else
    touch "$work/$prog.lua.skip"
  fi

  # every interpreter that ran must have printed the same thing
  result=
  agree=yes
  for impl in rthunk python lua; do
    [ -f "$work/$prog.$impl.out" ] || continue
    out=$(tr '\n' ' ' < "$work/$prog.$impl.out" | sed 's/ *$//')
    if [ -z "$result" ]; then result=$out
    elif [ "$out" != "$result" ]; then agree=no
    fi
  done
  if [ "$agree" = no ]; then
    status=1
    result=MISMATCH
    for impl in rthunk python lua; do
      [ -f "$work/$prog.$impl.out" ] &&
        failures="$failures
  $prog: $impl printed: $(tr '\n' ' ' < "$work/$prog.$impl.out" | sed 's/ *$//')"
    done
  fi
  for impl in rthunk python lua; do
    [ -f "$work/$prog.$impl.fail" ] &&
      failures="$failures
  $prog: $impl failed: $(cat "$work/$prog.$impl.fail")"
  done
  [ -z "$result" ] && result=-

  r_py=$(ratio "$prog.rthunk" "$prog.python")
  r_lua=$(ratio "$prog.rthunk" "$prog.lua")
  [ "$agree" = no ] && r_py=- && r_lua=-
  rows="$rows$prog|$(cell "$prog.rthunk")|$(cell "$prog.python")|$(cell "$prog.lua")|$r_py|$r_lua|$(goal "$r_py" 1 lt)|$(goal "$r_lua" "$goal_lua" le)|$result
"
done

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
py_version=$([ "$have_python" = yes ] && "$python" --version 2>&1 || echo "not found")
lua_version=$([ "$have_lua" = yes ] && "$lua" -v 2>&1 | head -n 1 || echo "$lua not found (Debian package lua5.4)")

mkdir -p "$(dirname "$results")"
{
  echo "rthunk interpreter benchmark — median wall-clock seconds of $reps runs (process start included)"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')   host: $(uname -srm), ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') CPUs"
  echo "rthunk:  ${rthunk_env:+$rthunk_env }$rthunk --local FILE.rth"
  echo "CPython: $python FILE.py ($py_version)"
  echo "Lua:     $lua FILE.lua ($lua_version)"
  [ "$have_lua" = yes ] || echo "NOTE:    $lua was not found, so nothing was compared with Lua: install the Debian package lua5.4"
  echo "goals:   rthunk faster than CPython (ratio < 1); rthunk within ${goal_lua}x of Lua (ratio <= $goal_lua)"
  echo
  printf '%s' "$rows" | awk -F'|' '
    BEGIN {
      fmt = "%-18s %9s %9s %9s %15s %11s %12s %15s  %s\n"
      printf fmt, "program", "rthunk", "CPython", "Lua", "rthunk/CPython", "rthunk/Lua", "< CPython?", "<= 1.5x Lua?", "result"
      printf fmt, "-------", "------", "-------", "---", "--------------", "----------", "----------", "------------", "------"
    }
    { printf fmt, $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
  if [ -n "$failures" ]; then
    echo
    echo "failed or disagreed:$failures"
  fi
} > "$work/table"

echo
cat "$work/table"
cp "$work/table" "$results"
say "table written to $results"
exit $status
