#!/bin/sh
# Writes po/POTFILES.in: every source file that marks a message with _().
# Run from the top of the tree after adding or moving a source file;
# tests/check-includes.sh fails while POTFILES.in is out of date.
set -eu
cd "$(dirname "$0")/.."
{
  echo "# Sources with user-facing messages marked with _() (po/update-potfiles.sh)"
  find client services src -name '*.c' ! -path '*/gen-c_glib/*' |
    xargs grep -lE '(^|[^A-Za-z0-9_])N?_ ?\("' | LC_ALL=C sort
} > po/POTFILES.in
