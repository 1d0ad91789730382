#!/bin/sh
# Runs every example of docs/language.md with `rthunk --local -e` (those
# of ```example-remote blocks with `rthunk -e`, on its embedded server)
# and checks what it prints: "=> VALUE" is the exact output, "!! TEXT" a
# part of the error. Prints TAP.
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"
doc="$RTHUNK_TOP_SRCDIR/docs/language.md"

# one example per pair of lines inside ```example blocks; a line "@ ARGS"
# starts the examples of a block, run with those arguments
awk '/^```example$/ { inside = 1; print "@ --local"; next }
     /^```example-remote$/ { inside = 1; print "@"; next }
     /^```$/ { inside = 0; next } inside' "$doc" > "$tmp/examples"
check_examples "$tmp/examples"
echo "1..$n"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
