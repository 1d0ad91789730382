#!/bin/sh
# The rthunk shell end to end: local evaluation, a real rthunkd, the
# embedded provider, type errors before anything is sent. Prints TAP.
set -u
n=0
failed=0
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# expect_out NAME EXPECTED-STDOUT ARGS… : exit 0 and exactly that on stdout
expect_out() {
  name=$1; want=$2; shift 2
  got=$("$RTHUNK" "$@" 2>"$tmp/err"); rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $got" "stderr: $(cat "$tmp/err")"; fi
}

# expect_err NAME PATTERN… -- ARGS… : non-zero exit, nothing on stdout,
# stderr matching every pattern (grep -E)
expect_err() {
  name=$1; shift
  patterns=
  while [ "$1" != "--" ]; do patterns="$patterns
$1"; shift; done
  shift
  got=$("$RTHUNK" "$@" 2>"$tmp/err"); rc=$?
  good=1
  [ "$rc" -ne 0 ] || good=0
  [ -z "$got" ] || good=0
  echo "$patterns" | while IFS= read -r p; do
    [ -z "$p" ] && continue
    grep -Eq -- "$p" "$tmp/err" || exit 1
  done || good=0
  if [ "$good" -eq 1 ]; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $got" "stderr: $(cat "$tmp/err")"; fi
}

echo "1..13"

expect_out "local evaluation" 3 --local -e '(+ 1 (/ 4 2))'
expect_err "an unknown name says the nearest known one" \
  '^<expr>:1:2: error: “mapp” is not defined; did you mean “map”\?' -- --local -e '(mapp (fn [i] i) [1])'
expect_out "local evaluation without --local" 3 -e '(+ 1 (/ 4 2))'
expect_out "the last form is printed" 7 --local -e '(def x 3) (+ x 4)'

"$RTHUNKD" --port 0 --name alpha >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$tmp/server.out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")

expect_out "remote on a real rthunkd" 3 --server "127.0.0.1:$port" -e '(await (remote (+ 1 (/ 4 2))))'
expect_out "a pending value prints when used" 42 --server "127.0.0.1:$port" -e '(remote (* 6 7))'
expect_out "local inputs travel with the expression" 25 --server "127.0.0.1:$port" -e '(let [x 5] (await (remote (* x x))))'
expect_out "pinned to the server by name" 9 --server "127.0.0.1:$port" -e '(await (remote :on "alpha" (* 3 3)))'
expect_err "a type error in a remote body is found before sending" \
  '^<expr>:1:14: error: ' 'int' 'str' -- --server "127.0.0.1:$port" -e '(remote (+ 1 "x"))'
expect_err "a runtime error on the server comes back with its position" \
  'division by zero' -- --server "127.0.0.1:$port" -e '(await (remote (/ 1 0)))'
expect_err "an unknown server name is an error" 'beta' -- --server "127.0.0.1:$port" -e '(remote :on "beta" 1)'

expect_out "remote on the embedded provider" 3 -e '(await (remote (+ 1 (/ 4 2))))'

kill -TERM "$server_pid"
if wait "$server_pid"; then ok "rthunkd stops cleanly on SIGTERM"
else not_ok "rthunkd stops cleanly on SIGTERM" "$(cat "$tmp/server.err")"; fi
server_pid=

[ "$failed" -eq 0 ]
