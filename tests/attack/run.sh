#!/bin/sh
# run.sh — starts rthunkd on a free 127.0.0.1 port and runs the attacks
# of tests/attack/attack.py against it: memory (large results, half-sent
# frames), fairness (queued thunks from one client, long thunks, idle
# connections, thunkAwait waiters) and a print flood, printing the
# server's RSS and a normal client's median latency during each.
# Not part of `make check`: run `make attack` (minutes, and loud).
set -eu
: "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}"
PYTHON3=${PYTHON3:-/usr/bin/python3}
THRIFT=${THRIFT:-thrift}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rthunk-attack.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

"$THRIFT" --gen py -out "$tmp" "$RTHUNK_TOP_SRCDIR/idl/rthunk.thrift"
# stdout a pipe nobody reads: what print does then
mkfifo "$tmp/stdout"
exec 3<>"$tmp/stdout"
# --deadline-ms: a thunk's deadline runs from its submission, and a queued
# thunk past it is failed as soon as a worker takes it. With the default
# 60 s, the 30k row's first thunks expired while the script was still
# submitting (some 440 a second here, fewer on a loaded machine), so the
# connection never held 25k (its quota) and nothing was refused.
port=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$RTHUNKD" --port "$port" --name attack --max-memory "${ATTACK_MAX_MEMORY:-512MiB}" \
  --deadline-ms 600000 >&3 2>"$tmp/log" &
server_pid=$!
up=
for _ in $(seq 1 500); do
  if "$PYTHON3" -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null; then
    up=1; break
  fi
  sleep 0.02
done
[ -n "$up" ] || { cat "$tmp/log"; exit 1; }
real_pid=$(pgrep -P "$server_pid" rthunkd || echo "$server_pid")
"$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/attack/attack.py" "$port" "$real_pid" "$tmp"
