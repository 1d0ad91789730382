#!/bin/sh
# GObject Introspection: tests/test-gi.py drives librthunk from Python
# (PyGObject) through the Rthunk-1.0.typelib of the build tree, against a
# real rthunkd. Prints TAP. Skipped when the build has no introspection
# (configure --disable-introspection, or gobject-introspection missing).
set -u
: "${RTHUNKD:?}" "${PYTHON3:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"

if [ ! -f "$RTHUNK_TOP_BUILDDIR/Rthunk-1.0.typelib" ]; then
  echo "1..0 # SKIP no Rthunk-1.0.typelib: built without introspection"
  exit 0
fi
if ! "$PYTHON3" -c 'import gi' >/dev/null 2>&1; then
  echo "1..1"
  echo "not ok 1 - PyGObject is importable by $PYTHON3 (install python3-gi)"
  exit 1
fi
# built with --enable-sanitizers: Python loads the library only with the
# ASan runtime first; its own allocations are not checked for leaks
if [ -n "${RTHUNK_ASAN_RUNTIME:-}" ]; then
  exec env LD_PRELOAD="$RTHUNK_ASAN_RUNTIME" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-gi.py"
fi
exec "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-gi.py"
