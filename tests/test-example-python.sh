#!/bin/sh
# examples/python/define_and_call.py, the client written from
# docs/protocol.md alone, against a real rthunkd: run with Debian's
# /usr/bin/python3 and python3-thrift on code `thrift --gen py` generates
# here (never committed), it computes the addresses of two defns itself —
# the one docs/protocol.md gives as a test vector must match — ships them
# on MissingDefinitions, and prints the call's answer. Prints TAP.
set -u
: "${RTHUNKD:?}" "${THRIFT:?}" "${SERVER_INFO:?}" "${RTHUNK_TOP_SRCDIR:?}"
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"
python=/usr/bin/python3
example="$RTHUNK_TOP_SRCDIR/examples/python/define_and_call.py"

mkdir "$tmp/gen"
if "$THRIFT" --gen py -out "$tmp/gen" "$RTHUNK_TOP_SRCDIR/idl/rthunk.thrift" >"$tmp/thrift.err" 2>&1; then
  ok "thrift --gen py generates rthunk_wire from idl/rthunk.thrift"
else
  not_ok "thrift --gen py generates rthunk_wire from idl/rthunk.thrift" "$(cat "$tmp/thrift.err")"
fi

start ex "$RTHUNKD"
if [ -n "$port_ex" ]; then ok "rthunkd listens on 127.0.0.1:$port_ex"
else not_ok "rthunkd listens on a loopback port" "$(cat "$tmp/ex.err")"; echo "1..$n"; exit 1; fi

# run N : the example's stdout in $tmp/runN.out
run() {
  "$python" "$example" "127.0.0.1:$port_ex" "$tmp/gen" >"$tmp/run$1.out" 2>"$tmp/run$1.err"
}

if run 1 && grep -qx '(sumsq 3 4) => 25' "$tmp/run1.out" &&
   grep -qx 'missing 2 definitions; sending them' "$tmp/run1.out"; then
  ok "a fresh server lacks both definitions; the example sends them and prints (sumsq 3 4) => 25"
else
  not_ok "the example defines sq and sumsq and prints (sumsq 3 4) => 25" \
    "stdout: $(cat "$tmp/run1.out")" "stderr: $(cat "$tmp/run1.err")" "server: $(cat "$tmp/ex.err")"
fi

# the address of (defn sq [n] (* n n)) in the test vectors of the doc
doc_sq=$(awk '$0 == "form:   (defn sq [n] (* n n))" { found = 1 }
              found && /^sha256: / { print $2; exit }' "$RTHUNK_TOP_SRCDIR/docs/protocol.md")
if [ -n "$doc_sq" ] && grep -qx "sq $doc_sq" "$tmp/run1.out"; then
  ok "the example's address of sq is the test vector of docs/protocol.md"
else
  not_ok "the example's address of sq is the test vector of docs/protocol.md" \
    "doc: ${doc_sq:-none}" "example: $(grep '^sq ' "$tmp/run1.out")"
fi

stored=$("$SERVER_INFO" "127.0.0.1:$port_ex" definitions-stored 2>&1)
if [ "$stored" = 2 ]; then ok "the server stored the 2 definitions under the example's addresses"
else not_ok "the server stored 2 definitions" "definitions-stored: $stored"; fi

if run 2 && grep -qx '(sumsq 3 4) => 25' "$tmp/run2.out" && ! grep -q '^missing' "$tmp/run2.out"; then
  ok "a second run finds the definitions stored and ships none"
else
  not_ok "a second run finds the definitions stored and ships none" \
    "stdout: $(cat "$tmp/run2.out")" "stderr: $(cat "$tmp/run2.err")"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
