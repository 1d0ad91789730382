#!/bin/sh
# librthunk-1.0.so exports exactly its documented API: every function a
# public header marks RTHUNK_AVAILABLE_IN_* is in `nm -D`, and nothing else
# is (the library is built with -fvisibility=hidden). Prints TAP.
set -u
top=${RTHUNK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${RTHUNK_TOP_BUILDDIR:-$top/_build}
lib="$build/src/.libs/librthunk-1.0.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "1..3"
if [ ! -f "$lib" ]; then
  echo "not ok 1 - $lib is built"; echo "not ok 2 # no library"; echo "not ok 3 # no library"
  exit 1
fi
echo "ok 1 - $lib is built"

# the names the public headers mark: the first rthunk_ name after each mark
# (a G_DECLARE_* marks the type's get_type function)
for h in $(sed -n '/^rthunk_public_headers = /,/NULL/p' "$top/Makefile.am" | grep -o 'src/[^ ]*\.h'); do
  awk '
    /RTHUNK_AVAILABLE_IN_/ { marked = 1; next }
    marked && /G_DECLARE_[A-Z]*_TYPE/ {
      sub(/.*G_DECLARE_[A-Z]*_TYPE *\(/, ""); split($0, a, /[ ,]+/)
      print a[2] "_get_type"; marked = 0; next
    }
    marked && match($0, /rthunk_[a-z0-9_]+ *\(/) {
      name = substr($0, RSTART, RLENGTH); sub(/ *\($/, "", name); print name; marked = 0
    }' "$top/$h"
done | LC_ALL=C sort -u > "$tmp/declared"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ { print $3 }' | LC_ALL=C sort -u > "$tmp/exported"

missing=$(LC_ALL=C comm -23 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
extra=$(LC_ALL=C comm -13 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
status=0
if [ -z "$missing" ]; then
  echo "ok 2 - all $(wc -l < "$tmp/declared") marked functions are exported"
else
  echo "not ok 2 - marked but not exported: $missing"; status=1
fi
if [ -z "$extra" ]; then
  echo "ok 3 - nothing else is exported"
else
  echo "not ok 3 - exported but not in a public header: $extra"; status=1
fi
exit $status
