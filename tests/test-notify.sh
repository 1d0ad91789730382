#!/bin/sh
# sd_notify readiness: the cases live in tests/test-notify.py. Prints TAP.
: "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}"
PYTHON3=${PYTHON3:-/usr/bin/python3}
exec "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-notify.py"
