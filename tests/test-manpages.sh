#!/bin/sh
# The man pages document every option the programs have, and no other:
# the long options of `PROGRAM --help-all` (but the --help family) against
# the tags (the line after each .TP) of the page's OPTIONS section.
# rthunkd-sqlite's page documents its own options; the ones every provider
# shares are rthunkd(8)'s. Prints TAP.
: "${RTHUNK:?}" "${RTHUNKD:?}" "${RTHUNKD_SQLITE:?}" "${RTHUNK_TOP_SRCDIR:?}"
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"

# the long options PROGRAM lists, sorted, without --help*
help_options() {
  "$1" --help-all | sed -n 's/^ *\(-[A-Za-z], \)\{0,1\}\(--[A-Za-z0-9-]*\).*/\2/p' |
    grep -v '^--help' | sort -u
}

# the long options the tags of PAGE's OPTIONS section name, sorted
page_options() {
  awk '/^\.SH / { inside = ($0 ~ /^\.SH OPTIONS/) } inside && tag { print } { tag = inside && /^\.TP/ }' "$1" |
    sed 's/\\-/-/g' | grep -o -- '--[A-Za-z0-9-]*' | grep -v '^--help' | sort -u
}

# same NAME WANT GOT : the two files list the same options
same() {
  if [ -s "$2" ] && cmp -s "$2" "$3"; then
    ok "$1"
  else
    not_ok "$1" "< only in --help-all, > only in the man page:" "$(diff "$2" "$3" | grep '^[<>]')"
  fi
}

echo "1..3"
help_options "$RTHUNK" > "$tmp/rthunk.help"
page_options "$RTHUNK_TOP_SRCDIR/docs/rthunk.1" > "$tmp/rthunk.page"
same "rthunk(1) documents every option of rthunk --help-all" "$tmp/rthunk.help" "$tmp/rthunk.page"

help_options "$RTHUNKD" > "$tmp/rthunkd.help"
page_options "$RTHUNK_TOP_SRCDIR/docs/rthunkd.8" > "$tmp/rthunkd.page"
same "rthunkd(8) documents every option of rthunkd --help-all" "$tmp/rthunkd.help" "$tmp/rthunkd.page"

help_options "$RTHUNKD_SQLITE" | comm -23 - "$tmp/rthunkd.help" > "$tmp/sqlite.help"
page_options "$RTHUNK_TOP_SRCDIR/docs/rthunkd-sqlite.8" > "$tmp/sqlite.page"
same "rthunkd-sqlite(8) documents the options rthunkd-sqlite adds" "$tmp/sqlite.help" "$tmp/sqlite.page"
[ "$failed" -eq 0 ]
