#!/bin/sh
# rthunkd --http: /metrics, /api and the dashboard page, against real
# servers, a real shell, prometheus_client's parser and headless Chromium.
# The cases live in tests/test-dashboard.py (/usr/bin/python3, which has
# Debian's python3-prometheus-client). Prints TAP.
set -u
: "${RTHUNKD:?}" "${RTHUNK:?}" "${SERVER_INFO:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"
if ! /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null; then
  echo "not ok 1 - python3-prometheus-client is importable (install it: ./quickstart)"
  echo "1..1"
  exit 1
fi
exec /usr/bin/python3 "$RTHUNK_TOP_SRCDIR/tests/test-dashboard.py"
