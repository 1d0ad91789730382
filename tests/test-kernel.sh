#!/bin/sh
# The Jupyter kernel (kernel/rthunk_kernel): tests/test-kernel.py starts it
# through jupyter_client from a kernel spec installed in a temporary prefix,
# with the build tree's Rthunk-1.0.typelib and library, against a real
# rthunkd. Prints TAP.
set -u
: "${RTHUNKD:?}" "${PYTHON3:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"

if [ ! -f "$RTHUNK_TOP_BUILDDIR/Rthunk-1.0.typelib" ]; then
  echo "1..0 # SKIP no Rthunk-1.0.typelib: built without introspection"
  exit 0
fi
for module in gi ipykernel jupyter_client; do
  if ! "$PYTHON3" -c "import $module" >/dev/null 2>&1; then
    echo "1..1"
    echo "not ok 1 - $module is importable by $PYTHON3 (install python3-gi python3-ipykernel python3-jupyter-client)"
    exit 1
  fi
done
PYTHONPATH="$RTHUNK_TOP_SRCDIR/kernel${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
if [ -n "${RTHUNK_ASAN_RUNTIME:-}" ]; then
  export LD_PRELOAD="$RTHUNK_ASAN_RUNTIME" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
fi
exec "$PYTHON3" "$RTHUNK_TOP_SRCDIR/tests/test-kernel.py"
