#!/bin/sh
# State cells on real rthunkd servers, through the real rthunk shell:
# parallel updates are serialised per cell and none is lost, a cell's type
# is fixed by its first use, F must be pure, cells survive a restart with
# --state-file (and a corrupt file is refused), and a cell's name routes
# its forms to one server among those with capability state. Prints TAP.
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"

# num NAME KEY : a number from the getServerInfo of the server NAME
num() {
  eval "num_port=\$port_$1"
  "$SERVER_INFO" "127.0.0.1:$num_port" "$2"
}

# expect NAME EXPECTED ARGS… : the shell exits 0 and prints exactly that
expect() {
  name=$1; want=$2; shift 2
  got=$("$RTHUNK" $servers "$@" 2>"$tmp/err"); rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $got" "stderr: $(cat "$tmp/err")"; fi
}

# refused NAME PATTERN ARGS… : the shell fails and says PATTERN
refused() {
  name=$1; want=$2; shift 2
  got=$("$RTHUNK" $servers "$@" 2>&1); rc=$?
  if [ "$rc" -ne 0 ] && echo "$got" | grep -q "$want"; then ok "$name"
  else not_ok "$name" "exit $rc: $got"; fi
}

# swaps CELL N FILE : a script of N increments of CELL
swaps() {
  : >"$3"
  for _ in $(seq 1 "$2"); do
    echo "(await (remote (state-swap! \"$1\" 0 (fn [n] (+ n 1)))))" >>"$3"
  done
}

# parallel SCRIPT… : runs one shell per script at once; fails if one fails
parallel() {
  shell_pids=
  for s in "$@"; do
    "$RTHUNK" $servers "$s" >/dev/null 2>"$s.err" &
    shell_pids="$shell_pids $!"
  done
  status=0
  for p in $shell_pids; do wait "$p" || status=1; done
  return $status
}

echo "1..21"

start one "$RTHUNKD" --workers 8
servers="--server 127.0.0.1:$port_one"

swaps hits 500 "$tmp/hits.rth"
if parallel "$tmp/hits.rth" "$tmp/hits.rth" "$tmp/hits.rth" "$tmp/hits.rth" \
            "$tmp/hits.rth" "$tmp/hits.rth" "$tmp/hits.rth" "$tmp/hits.rth"; then
  ok "8 shells × 500 swaps all succeed"
else not_ok "8 shells × 500 swaps all succeed" "$(cat "$tmp"/*.err)"; fi
expect "8 × 500 parallel swaps of one cell end at exactly 4000" 4000 -e '(await (remote (state-get "hits" 0)))'
updates=$(num one state-updates); cells=$(num one state-cells)
if [ "$updates" = 4000 ] && [ "$cells" = 1 ]; then ok "getServerInfo counts 1 cell and 4000 updates"
else not_ok "getServerInfo counts 1 cell and 4000 updates" "cells $cells, updates $updates"; fi

swaps a 500 "$tmp/a.rth"
swaps b 500 "$tmp/b.rth"
if parallel "$tmp/a.rth" "$tmp/b.rth" "$tmp/a.rth" "$tmp/b.rth" \
            "$tmp/a.rth" "$tmp/b.rth" "$tmp/a.rth" "$tmp/b.rth"; then
  ok "two cells updated by 4 shells each"
else not_ok "two cells updated by 4 shells each" "$(cat "$tmp"/*.err)"; fi
expect "each of two cells updated in parallel is exact" '[2000 2000]' \
  -e '[(await (remote (state-get "a" 0))) (await (remote (state-get "b" 0)))]'

refused "a value of another type than the cell's is refused" 'state cell “hits” holds int, not str' \
  -e '(await (remote (state-swap! "hits" "zero" (fn [s] s))))'
refused "F returning another type is refused" 'found (int -> str)' \
  -e '(await (remote (state-swap! "hits" 0 (fn [n] (str n)))))'
refused "F with side effects is refused" 'print is not pure' \
  -e '(await (remote (state-swap! "hits" 0 (fn [n] (do (print n) n)))))'
expect "state-cas! from the value the cell holds swaps" true -e '(await (remote (state-cas! "hits" 4000 7)))'
expect "state-cas! from another value does not" false -e '(await (remote (state-cas! "hits" 4000 8)))'
expect "the cell holds what the successful state-cas! put" 7 -e '(await (remote (state-get "hits" 0)))'

# persistence: SIGTERM saves, a restart with the same file loads
start keeper "$RTHUNKD" --state-file "$tmp/cells.state"
servers="--server 127.0.0.1:$port_keeper"
"$RTHUNK" $servers -e '(await (remote (state-swap! "kept" 40 (fn [n] (+ n 2)))))' >/dev/null 2>&1
"$RTHUNK" $servers -e '(await (remote (state-get "names" ["x"])))' >/dev/null 2>&1
kill -TERM "$pid_keeper"; wait "$pid_keeper"
# the same file, named by the configuration key this time
printf '[server]\nstate-file=%s\n' "$tmp/cells.state" >"$tmp/keeper.conf"
start keeper "$RTHUNKD" --config "$tmp/keeper.conf"
servers="--server 127.0.0.1:$port_keeper"
expect "a restarted server with the same state file keeps its cells" '[42 1]' \
  -e '[(await (remote (state-get "kept" 0))) (len (await (remote (state-get "names" ["y" "z"]))))]'
expect "a list cell is kept with its value" '["x"]' -e '(await (remote (state-get "names" ["y"])))'
# a cell that only state-get made, with nothing updated after it; and an
# empty list, whose element type the first element fixes
"$RTHUNK" $servers -e '(await (remote (state-get "made-by-get" 7)))' >/dev/null 2>&1
"$RTHUNK" $servers -e '(await (remote (state-get "empty" [])))' >/dev/null 2>&1
kill -TERM "$pid_keeper"; wait "$pid_keeper"
start keeper "$RTHUNKD" --state-file "$tmp/cells.state"
servers="--server 127.0.0.1:$port_keeper"
expect "a cell state-get made is kept too" 7 -e '(await (remote (state-get "made-by-get" 0)))'
expect "a kept empty list takes its first element" '["x"]' \
  -e '(await (remote (state-swap! "empty" [] (fn [l] (cons "x" l)))))'
refused "then its element type is fixed" 'state cell “empty” holds \[str\], not \[int\]' \
  -e '(await (remote (state-get "empty" [1])))'
kill -TERM "$pid_keeper"; wait "$pid_keeper"
printf 'X' | dd of="$tmp/cells.state" bs=1 seek=50 conv=notrunc 2>/dev/null
if "$RTHUNKD" --port 0 --state-file "$tmp/cells.state" >"$tmp/corrupt.out" 2>&1; then
  not_ok "a corrupt state file is refused" "rthunkd started: $(cat "$tmp/corrupt.out")"
elif grep -q "is corrupt" "$tmp/corrupt.out"; then ok "a corrupt state file is refused"
else not_ok "a corrupt state file is refused" "$(cat "$tmp/corrupt.out")"; fi

# routing: with two servers of capability state, each cell lives on one
start left "$RTHUNKD"
start right "$RTHUNKD"
servers="--server 127.0.0.1:$port_left --server 127.0.0.1:$port_right"
: >"$tmp/route.rth"
for c in $(seq 1 20); do
  echo "(await (remote (state-swap! \"cell$c\" 0 (fn [n] (+ n 1)))))" >>"$tmp/route.rth"
done
parallel "$tmp/route.rth" "$tmp/route.rth" "$tmp/route.rth" || not_ok "routing shells" "$(cat "$tmp"/*.err)"
left=$(num left state-cells); right=$(num right state-cells)
if [ "$((left + right))" = 20 ] && [ "$left" -gt 0 ] && [ "$right" -gt 0 ]; then
  ok "each cell name always goes to the same server ($left and $right cells)"
else not_ok "each cell name always goes to the same server" "left $left, right $right cells (20 names)"; fi
expect "every routed cell saw every update" 60 \
  -e "(sum [$(for c in $(seq 1 20); do printf '(await (remote (state-get "cell%s" 0))) ' "$c"; done)])"
refused "a cell named by an expression needs :on" 'not a string literal' \
  -e '(await (remote (let [c "cell1"] (state-get c 0))))'
holder=$("$RTHUNK" $servers -e '(await (remote (do (state-get "cell1" 0) (server-name))))' 2>/dev/null)
expect ":on says where a cell named by an expression is" 3 \
  -e "(await (remote :on $holder (let [c \"cell1\"] (state-get c 0))))"

exit $((failed > 0))
