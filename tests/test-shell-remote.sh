#!/bin/sh
# The shell against real rthunkd servers: the cases live in
# tests/test-shell-remote.py (the real shell, through -e and a
# pseudo-terminal; the servers' counters through PyGObject), or in the
# script $SHELL_REMOTE_CASES names (tests/test-registry.sh's). Prints TAP.
: "${RTHUNK:?}" "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"
PYTHON3=${PYTHON3:-/usr/bin/python3}
cases="$RTHUNK_TOP_SRCDIR/tests/${SHELL_REMOTE_CASES:-test-shell-remote.py}"
if [ ! -f "$RTHUNK_TOP_BUILDDIR/Rthunk-1.0.typelib" ]; then
  echo "1..1"
  echo "not ok 1 - Rthunk-1.0.typelib is built (the counters are read through it): configure with introspection"
  exit 1
fi
# built with --enable-sanitizers: Python loads the library only with the
# ASan runtime first (the shells it starts are checked as usual)
if [ -n "${RTHUNK_ASAN_RUNTIME:-}" ]; then
  exec env LD_PRELOAD="$RTHUNK_ASAN_RUNTIME" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    "$PYTHON3" "$cases"
fi
exec "$PYTHON3" "$cases"
