#!/bin/sh
# rthunk --http and :dashboard: the shell's page of its servers, cells and
# pending thunks, against a real rthunkd, the real shell (on a pipe and on
# a pty) and headless Chromium. The cases live in
# tests/test-shell-dashboard.py, which reuses tests/test-dashboard.py's
# rthunkd and DevTools driver and tests/test-repl.py's pty. Prints TAP.
set -u
: "${RTHUNKD:?}" "${RTHUNK:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"
if ! /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null; then
  echo "not ok 1 - python3-prometheus-client is importable (install it: ./quickstart)"
  echo "1..1"
  exit 1
fi
exec /usr/bin/python3 "$RTHUNK_TOP_SRCDIR/tests/test-shell-dashboard.py"
