#!/bin/sh
# The shell against real rthunkd servers: the cases live in
# tests/test-shell-remote.py (the real shell, through -e and a
# pseudo-terminal; the servers' counters through PyGObject). Prints TAP.
: "${RTHUNK:?}" "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}"
PYTHON3=${PYTHON3:-/usr/bin/python3}
exec "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-shell-remote.py"
