#!/bin/sh
# Runs the real rthunkd (the libtool-built binary) under valgrind memcheck,
# for `make check-valgrind`: each run writes $VALGRIND_LOG_DIR/rthunkd-PID.log.
# Leaks count only when definitely or indirectly lost; tests/valgrind.supp
# lists what is suppressed and why.
top_builddir=${RTHUNK_TOP_BUILDDIR:?}
exec env LD_LIBRARY_PATH="$top_builddir/src/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  valgrind --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --num-callers=30 \
  --suppressions="$RTHUNK_TOP_SRCDIR/tests/valgrind.supp" \
  --log-file="${VALGRIND_LOG_DIR:?}/rthunkd-%p.log" \
  "$top_builddir/services/std/.libs/rthunkd" "$@"
