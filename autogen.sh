#!/bin/sh
# Regenerates the build system: configure, Makefile.in, the gettext files.
set -e
srcdir=$(dirname "$0")
test -n "$srcdir" || srcdir=.
cd "$srcdir"
autoreconf --force --install --verbose
cd - >/dev/null
if test -z "$NOCONFIGURE"; then
  echo "Now run ./configure (or: NOCONFIGURE=1 $0 to stop here)."
fi
