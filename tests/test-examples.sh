#!/bin/sh
# Runs the examples of docs/examples.md against real servers holding the
# data the document shows: its ```sql NAME blocks make SQLite databases,
# its ```csv NAME blocks files of a --data-dir. An rthunkd-sqlite serves
# the database, an rthunkd --data-dir the folder, and each example of an
# ```example-servers block runs with `rthunk --server … --server … -e`:
# "=> VALUE" is the exact output, "!! TEXT" a part of the error. The
# client runs in a folder of its own: it never sees the data. Prints TAP.
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"
doc="$RTHUNK_TOP_SRCDIR/docs/examples.md"

mkdir -p "$tmp/data" "$tmp/db" "$tmp/client"
# the data: each block's lines into the file its opening line names
awk -v dir="$tmp" '
  /^```csv / { out = dir "/data/" $2; printf "" > out; next }
  /^```sql / { out = dir "/db/" $2 ".sql"; printf "" > out; next }
  /^```/ { out = ""; next }
  out != "" { print >> out }' "$doc"
for sql in "$tmp"/db/*.sql; do
  "$PYTHON3" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript(open(sys.argv[2]).read())
c.commit()' "${sql%.sql}" "$sql"
done

start db "$RTHUNKD_SQLITE" --db "$tmp/db/people.db" --read-only
start files "$RTHUNKD" --data-dir "$tmp/data"
servers="--server 127.0.0.1:$port_db --server 127.0.0.1:$port_files"
cd "$tmp/client" || exit 1

awk '/^```example-servers$/ { inside = 1; next } /^```$/ { inside = 0; next } inside' "$doc" > "$tmp/examples"
# shellcheck disable=SC2086 # the --server options are words
check_examples "$tmp/examples" $servers

echo "1..$n"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
