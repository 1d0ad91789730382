# bench-lib.sh — what the shell benchmarks share (sourced, with $rthunk,
# $rthunkd and $reps set): progress, a work directory, starting an
# rthunkd, the clock, medians, the program behind libtool's wrapper.

say() { printf 'bench: %s\n' "$*" >&2; }

# setup NAME: checks $rthunk, $rthunkd and $reps, makes $work (removed
# at exit, with the rthunkd in $pids stopped)
setup() {
  for prog in "$rthunk" "$rthunkd"; do
    if [ ! -x "$prog" ]; then
      say "$prog was not found: build first (make), or set RTHUNK / RTHUNKD"
      return 2
    fi
  done
  case $reps in
    ''|*[!0-9]*|0) say "REPS must be a positive integer (got '$reps')"; return 2 ;;
  esac
  work=$(mktemp -d "${TMPDIR:-/tmp}/rthunk-$1.XXXXXX") || return 2
  pids=
  trap cleanup EXIT INT TERM
}

cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}

# start NAME [ARGS…]: an rthunkd on a free port with one worker, no cache
# and no fuel or deadline limit, and ARGS; sets $addr to its HOST:PORT
# (not in a subshell: the cleanup must know its pid, kept in $pids)
start() {
  name=$1; shift
  "$rthunkd" --port 0 --name "$name" --workers 1 --fuel 100000000000 --deadline-ms 0 --cache-entries 0 "$@" \
    > "$work/$name.out" 2> "$work/$name.err" &
  pids="$pids $!"
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([^ ]*\)$/\1/p' "$work/$name.out")
    if [ -n "$addr" ]; then return 0; fi
    sleep 0.05
  done
  say "rthunkd $name did not start: $(cat "$work/$name.err")"
  return 1
}

now_ns() { date +%s%N; }

# timed OUTFILE ARGS…: seconds one `$rthunk ARGS…` took (with
# $rthunk_env, after unwrap_rthunk); its output in OUTFILE
timed() {
  out=$1; shift
  t0=$(now_ns)
  if ! env ${rthunk_env:+"$rthunk_env"} "$rthunk" "$@" > "$out" 2> "$out.err"; then
    say "rthunk $* failed: $(head -n 1 "$out.err")"
    return 1
  fi
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

# median: of the numbers on stdin, one a line
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# unwrap_rthunk: in a build tree $rthunk is libtool's wrapper script, which
# costs tens of milliseconds of shell on every run: makes $rthunk the
# program it wraps, as installed, and $rthunk_env the library path the
# wrapper would have set (empty when $rthunk is no wrapper)
unwrap_rthunk() {
  rthunk_env=
  if [ -f "$rthunk" ] && grep -q 'libtool wrapper' "$rthunk" 2>/dev/null; then
    libtool_sh=$(dirname "$rthunk")/../libtool
    if [ -x "$libtool_sh" ] &&
       wrapped=$("$libtool_sh" --mode=execute sh -c 'printf "%s\n%s\n" "$1" "${LD_LIBRARY_PATH:-}"' sh "$rthunk") &&
       [ -x "$(printf '%s\n' "$wrapped" | sed -n 1p)" ]; then
      rthunk_env="LD_LIBRARY_PATH=$(printf '%s\n' "$wrapped" | sed -n 2p)"
      rthunk=$(printf '%s\n' "$wrapped" | sed -n 1p)
    fi
  fi
}
