#!/bin/sh
# rthunkd's limit flags and configuration keys: a bad value is an error at
# start-up (never wrapped at 32 bits or ignored), sizes take units, and an
# unknown key is an error naming the nearest known one. Prints TAP.
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

# refused NAME PATTERN ARGS… : rthunkd exits non-zero before it listens,
# saying PATTERN (grep -E) on stderr
refused() {
  name=$1; pattern=$2; shift 2
  "$RTHUNKD" --port 0 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
  if [ "$rc" -ne 0 ] && ! grep -q 'listening on' "$tmp/out" && grep -Eq -- "$pattern" "$tmp/err"; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $(cat "$tmp/out")" "stderr: $(cat "$tmp/err")"; fi
}

# start ARGS… : rthunkd listening; its address in $address
start() {
  "$RTHUNKD" --port 0 --name flags "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
  address=
  for _ in $(seq 1 3000); do
    if grep -q 'listening on' "$tmp/server.out" 2>/dev/null; then
      address=127.0.0.1:$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.01
  done
  return 1
}

stop() {
  kill "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=
}

refused "a deadline past 32 bits is refused, not wrapped to none" \
  'deadline-ms: 4294967296 is out of range' --deadline-ms 4294967296
refused "a negative worker count is refused, not ignored" \
  'workers: .-1. is not a whole number' --workers -1
refused "zero workers is out of range" 'workers: 0 is out of range' --workers 0
refused "a frame bound over 2 GiB is refused" 'max-frame-bytes: 2GiB is out of range' --max-frame-bytes 2GiB
refused "a size with an unknown unit is refused" 'cache-bytes: .1x. is not a size' --cache-bytes 1x
refused "a number with trailing text is refused" 'fuel: .10k. is not a whole number' --fuel 10k

printf '[server]\nworker = 2\n' > "$tmp/typo.conf"
refused "an unknown config key names the nearest" 'unknown key .worker. in \[server\]; did you mean .workers.' \
  --config "$tmp/typo.conf"
printf '[server]\ndeadline-ms = 99999999999\n' > "$tmp/big.conf"
refused "a config value out of range is refused" 'key deadline-ms: 99999999999 is out of range' --config "$tmp/big.conf"
printf '[server]\nworkers = -3\n' > "$tmp/neg.conf"
refused "a negative config value is refused" 'key workers: .-3. is not a whole number' --config "$tmp/neg.conf"

printf 'secret\000garbage\n' > "$tmp/token"
refused "a token file holding a NUL byte is refused" 'token file .* holds a NUL byte' --token-file "$tmp/token"

# a size with a unit takes effect: 2KiB of evaluation memory is too little
# for a list of 10000, enough for one of 10
if start --max-eval-bytes 2KiB; then
  small=$("$RTHUNK" -s "$address" -e '(await (remote (len (range 0 10))))' 2>"$tmp/err"); rc_small=$?
  "$RTHUNK" -s "$address" -e '(await (remote (len (range 0 10000))))' >/dev/null 2>"$tmp/err-big"; rc_big=$?
  if [ "$rc_small" -eq 0 ] && [ "$small" = 10 ] && [ "$rc_big" -ne 0 ] &&
     grep -q 'more than 2048 bytes' "$tmp/err-big"; then ok "--max-eval-bytes 2KiB is 2048 bytes"
  else not_ok "--max-eval-bytes 2KiB is 2048 bytes" "small: $rc_small $small $(cat "$tmp/err")" "big: $rc_big $(cat "$tmp/err-big")"; fi
  stop
else
  not_ok "--max-eval-bytes 2KiB is 2048 bytes" "rthunkd did not start: $(cat "$tmp/server.err")"
fi

printf '[server]\nmax-eval-bytes = 2KiB\n' > "$tmp/size.conf"
if start --config "$tmp/size.conf"; then
  "$RTHUNK" -s "$address" -e '(await (remote (len (range 0 10000))))' >/dev/null 2>"$tmp/err-big"; rc_big=$?
  if [ "$rc_big" -ne 0 ] && grep -q 'more than 2048 bytes' "$tmp/err-big"; then ok "a size in the config file takes a unit"
  else not_ok "a size in the config file takes a unit" "exit $rc_big: $(cat "$tmp/err-big")"; fi
  stop
else
  not_ok "a size in the config file takes a unit" "rthunkd did not start: $(cat "$tmp/server.err")"
fi

# the log: structured, on standard error. --log-format json writes one JSON
# object per line; a finished thunk's debug line names the thunk, its
# client, its function, how long it took and how it ended
refused "an unknown log format is refused" 'log-format: .xml. is neither' --log-format xml
export G_MESSAGES_DEBUG=rthunk
start --log-format json; started=$?
unset G_MESSAGES_DEBUG
if [ "$started" -eq 0 ]; then
  "$RTHUNK" -s "$address" -e '(await (remote (* 6 7)))' >"$tmp/got" 2>&1
  "$RTHUNK" -s "$address" -e '(await (remote (/ 1 0)))' >/dev/null 2>&1
  if "$PYTHON3" - "$tmp/server.err" <<'PY'
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = [l for l in lines if l.get("FUNCTION") == "*" and l.get("STATE") == "done"]
failed = [l for l in lines if l.get("FUNCTION") == "/" and l.get("STATE") == "failed"]
assert done and failed, lines
for l in done + failed:
    assert re.fullmatch(r"[0-9a-f]{32}", l["THUNK_ID"]), l
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+", l["CLIENT"]), l
    assert int(l["ELAPSED_US"]) >= 0 and l["level"] == "debug" and l["domain"] == "rthunk", l
assert "division by zero" in failed[0]["message"], failed
PY
  then ok "--log-format json: a line per finished thunk, with its fields"
  else not_ok "--log-format json: a line per finished thunk, with its fields" "$(cat "$tmp/got")" "$(cat "$tmp/server.err")"; fi
  if [ "$(grep -c . "$tmp/server.out")" -eq 1 ]; then ok "nothing but the listening line goes to standard output"
  else not_ok "nothing but the listening line goes to standard output" "$(cat "$tmp/server.out")"; fi
  stop
else
  not_ok "--log-format json: a line per finished thunk, with its fields" "rthunkd did not start: $(cat "$tmp/server.err")"
fi

# a refused request is logged at message level, debug output or not, with
# its reason and client; the text format puts the fields after the message
printf 'right\n' > "$tmp/right"
printf 'wrong\n' > "$tmp/wrong"
printf '[server]\nlog-format = text\n' > "$tmp/text.conf"
if start --token-file "$tmp/right" --config "$tmp/text.conf"; then
  "$RTHUNK" -s "$address" --token-file "$tmp/wrong" -e '(await (remote (+ 1 2)))' >"$tmp/got" 2>&1
  if grep -q 'Message: .*request from 127\.0\.0\.1:[0-9]* refused: this server needs a valid token.* CLIENT=127\.0\.0\.1:[0-9]* REASON=' "$tmp/server.err"
  then ok "a refused request is logged with its client and reason"
  else not_ok "a refused request is logged with its client and reason" "$(cat "$tmp/got")" "$(cat "$tmp/server.err")"; fi
  stop
else
  not_ok "a refused request is logged with its client and reason" "rthunkd did not start: $(cat "$tmp/server.err")"
fi

refused "a print buffer under 1 KiB is refused" 'print-buffer-bytes: 10 is out of range' --print-buffer-bytes 10
refused "a print bound with an unknown unit is refused" 'max-print-bytes: .1x. is not a size' --max-print-bytes 1x
printf '[server]\nmax-print-bytes = -1\n' > "$tmp/print.conf"
refused "a negative print bound in the config is refused" 'key max-print-bytes: .-1. is not a size' --config "$tmp/print.conf"

# --max-print-bytes takes effect: a thunk's print is cut at 10 bytes; the
# next thunk's line, written after it by the one print writer, says when
# the first one's output is all out
if start --max-print-bytes 10; then
  "$RTHUNK" -s "$address" -e '(await (remote (print "0123456789ABCDEFGHIJ")))' >/dev/null 2>"$tmp/err"; rc1=$?
  "$RTHUNK" -s "$address" -e '(await (remote (print "END")))' >/dev/null 2>>"$tmp/err"; rc2=$?
  for _ in $(seq 1 1000); do grep -q 'END' "$tmp/server.out" && break; sleep 0.01; done
  if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q '^0123456789END' "$tmp/server.out" &&
     ! grep -q 'ABC' "$tmp/server.out"; then ok "--max-print-bytes 10 cuts a thunk's print at 10 bytes"
  else not_ok "--max-print-bytes 10 cuts a thunk's print at 10 bytes" "exit $rc1 $rc2: $(cat "$tmp/err")" \
    "stdout: $(cat "$tmp/server.out")"; fi
  stop
else
  not_ok "--max-print-bytes 10 cuts a thunk's print at 10 bytes" "rthunkd did not start: $(cat "$tmp/server.err")"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
