#!/bin/sh
# The REPL through a pseudo-terminal: the cases live in tests/test-repl.py
# (Python's pty module drives the real shell). Prints TAP.
: "${RTHUNK:?}" "${RTHUNK_TOP_SRCDIR:?}"
PYTHON3=${PYTHON3:-/usr/bin/python3}
exec "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-repl.py"
