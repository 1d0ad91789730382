# servers.sh — sourced by the test scripts that start real servers: TAP
# output, and servers started on free loopback ports, killed at exit.
# Sets $tmp, a directory removed at exit.
tmp=$(mktemp -d)
pids=
n=0
failed=0
cleanup() {
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# check_examples FILE ARGS… : runs the examples FILE holds — a form on one
# line, then "=> VALUE" (the exact output) or "!! TEXT" (a part of the
# error) — each with `$RTHUNK ARGS… -e FORM`, and prints a TAP line each;
# a line "@ WORDS" makes WORDS the ARGS of the examples after it
check_examples() {
  examples=$1; shift
  args="$*"
  expr=
  while IFS= read -r line; do
    case "$line" in
      "@"*) args=${line#@} ;;
      "=> "*|"!! "*)
        want=${line#=> }
        want=${want#!! }
        # shellcheck disable=SC2086 # ARGS are words
        got=$(RTHUNK_SERVERS= XDG_CONFIG_HOME="$tmp" "$RTHUNK" $args -e "$expr" 2>"$tmp/err"); rc=$?
        case "$line" in
          "=> "*) [ "$rc" -eq 0 ] && [ "$got" = "$want" ] ;;
          *) [ "$rc" -ne 0 ] && grep -qF -- "$want" "$tmp/err" ;;
        esac
        if [ $? -eq 0 ]; then ok "$expr"
        else not_ok "$expr" "expected: $line" "got (exit $rc): $got $(cat "$tmp/err")"; fi
        expr= ;;
      *) expr=$line ;;
    esac
  done < "$examples"
}

# start NAME PROGRAM ARGS… : sets $port_NAME and $pid_NAME
start() {
  name=$1; shift
  # emptied first: a server started again under the same name must not be
  # taken for listening on the port its predecessor printed
  : >"$tmp/$name.out"
  "$@" --port 0 --name "$name" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids="$pids $pid"
  for _ in $(seq 1 200); do
    grep -q 'listening on [^ ]*:[0-9]' "$tmp/$name.out" 2>/dev/null && break
    sleep 0.05
  done
  eval "port_$name=\$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)\$/\1/p' \"\$tmp/\$name.out\")"
  eval "pid_$name=$pid"
}
