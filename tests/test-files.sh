#!/bin/sh
# Files where they live: rthunkd --data-dir DIR publishes read-text,
# list-files, csv-read (typed by the file's header and first rows, asked
# by the client before it sends anything) and csv-read-text with
# capability files. Real servers on loopback
# ports over a real folder holding CSV files, a subfolder, symbolic links
# pointing out of it and in it, a FIFO and a file larger than the server's
# memory budget: paths stay inside DIR, a file too large is refused and the
# server serves on, and :needs "files" (or the function alone) routes to
# the server that has the files. Prints TAP.
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"

# expect NAME EXPECTED EXPR : exit 0 and exactly that on stdout
expect() {
  got=$("$RTHUNK" $servers -e "$3" 2>"$tmp/err"); rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$2" ]; then ok "$1"
  else not_ok "$1" "exit $rc" "stdout: $got" "stderr: $(cat "$tmp/err")"; fi
}

# refused NAME PATTERN EXPR : a non-zero exit, PATTERN (grep -E) on stderr
refused() {
  "$RTHUNK" $servers -e "$3" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -ne 0 ] && grep -Eq -- "$2" "$tmp/err"; then ok "$1"
  else not_ok "$1" "exit $rc" "stdout: $(cat "$tmp/out")" "stderr: $(cat "$tmp/err")"; fi
}

# start_refused NAME PATTERN ARGS… : rthunkd exits non-zero before it listens
start_refused() {
  name=$1; pattern=$2; shift 2
  "$@" --port 0 >"$tmp/start.out" 2>"$tmp/start.err" </dev/null; rc=$?
  if [ "$rc" -ne 0 ] && ! grep -q 'listening on' "$tmp/start.out" && grep -Eq -- "$pattern" "$tmp/start.err"; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $(cat "$tmp/start.out")" "stderr: $(cat "$tmp/start.err")"; fi
}

data="$tmp/data"
mkdir -p "$data/sub" "$tmp/outside"
printf 'item,price\npen,2\n"cup, large",35\nink,100\n' > "$data/sales.csv"
printf 'name\r\n"two\r\nlines"\r\n' > "$data/sub/notes.csv"
printf 'a,b\n1,"2\n' > "$data/broken.csv"
printf 'name,score\na,1.5\nb,\n' > "$data/scores.csv"
printf 'unit price,n\n1,2\n' > "$data/spaced.csv"
# 1400 rows of ints (past the sample of 64 KiB), then a cell that is none
awk 'BEGIN { print "n,pad"; for (i = 1; i <= 1400; i++) printf "%d,%050d\n", i, 0; print "x,0" }' > "$data/long.csv"
printf 'hello\n' > "$data/sub/hello.txt"
printf 'top secret\n' > "$tmp/outside/secret.txt"
ln -s ../outside/secret.txt "$data/link-out.txt"
ln -s ../outside "$data/dir-out"
ln -s sales.csv "$data/link-in.csv"
mkfifo "$data/fifo"
printf 'a\000b' > "$data/nul.txt"
printf '\377\376' > "$data/latin.txt"
# 3 MB: more than the 2 MiB budget of the server below
head -c 3000000 /dev/zero | tr '\0' 'x' > "$data/big.txt"

start files "$RTHUNKD" --data-dir "$data" --max-memory 2MiB
start plain "$RTHUNKD"
servers="--server 127.0.0.1:$port_files --server 127.0.0.1:$port_plain"
# the client runs elsewhere: it never sees the files
cd "$tmp/outside" || exit 1

expect ":needs \"files\" routes to the server with --data-dir" '"files"' '(await (remote :needs "files" (server-name)))'
expect "read-text reads a file of a subfolder" '"hello\n"' '(await (remote :needs "files" (read-text "sub/hello.txt")))'
expect "list-files lists the data directory, folders with a slash" \
  '["big.txt" "broken.csv" "dir-out" "fifo" "latin.txt" "link-in.csv" "link-out.txt" "long.csv" "nul.txt" "sales.csv" "scores.csv" "spaced.csv" "sub/"]' \
  '(await (remote :needs "files" (list-files "")))'
expect "list-files lists a subfolder" '["hello.txt" "notes.csv"]' '(await (remote :needs "files" (list-files "sub")))'
expect "csv-read-text reads the rows, header included, quotes undone" \
  '[["item" "price"] ["pen" "2"] ["cup, large" "35"] ["ink" "100"]]' '(await (remote :needs "files" (csv-read-text "sales.csv")))'
expect "a column found by its name in the header row" '["2" "35" "100"]' \
  '(await (remote :needs "files" (let [rows (csv-read-text "sales.csv")] (column (tail rows) (index-of (head rows) "price")))))'
expect "csv-read-text: CRLF and a line break inside quotes" '[["name"] ["two\r\nlines"]]' \
  '(await (remote :needs "files" (csv-read-text "sub/notes.csv")))'
expect "csv-read-text alone is routed to the only server that provides it" '[3 10 3]' \
  '(await (remote (map str-len (column (tail (csv-read-text "sales.csv")) 0))))'
expect "a column's mean, computed where the file lies" '5.333333333333333' \
  '(await (remote :needs "files" (mean (map str-len (column (tail (csv-read-text "sales.csv")) 0)))))'

# csv-read: records typed by the file, before anything is sent
expect "csv-read gives records typed by the header and the first rows" \
  '[{:item "pen" :price 2} {:item "cup, large" :price 35} {:item "ink" :price 100}]' \
  '(await (remote :needs "files" (csv-read "sales.csv")))'
expect "seed 002: the mean of a column, computed on the file's server" '45.666666666666664' \
  '(await (remote :needs "files" (mean (map :price (csv-read "sales.csv")))))'
expect "an empty cell makes the column (maybe T), nil where empty" \
  '[{:name "a" :score 1.5} {:name "b" :score nil}]' '(await (remote :needs "files" (csv-read "scores.csv")))'
expect "csv-read alone is routed to the only server that provides it" '3' \
  '(await (remote (len (csv-read "sales.csv"))))'
submitted=$("$SERVER_INFO" "127.0.0.1:$port_files" submitted)
refused "csv-read: a column used with the wrong type is a type error at the client" 'item: int' \
  '(await (remote :needs "files" (map (fn [r] (+ 1 (:item r))) (csv-read "sales.csv"))))'
refused "csv-read: a misspelt column is a type error naming it" 'prce' \
  '(await (remote :needs "files" (map :prce (csv-read "sales.csv"))))'
refused "csv-read: a missing file is a type error at the string" \
  '<expr>:1:41: error: csv-read: there is no “none\.csv” in the data directory' \
  '(await (remote :needs "files" (csv-read "none.csv")))'
if [ "$("$SERVER_INFO" "127.0.0.1:$port_files" submitted)" = "$submitted" ]; then
  ok "what the client refused never reached the server's submitEvalRequest"
else not_ok "what the client refused never reached the server's submitEvalRequest"; fi
provided=$("$SERVER_INFO" "127.0.0.1:$port_files" types-provided)
expect "the same file in two forms: its type asked once" '[3 3]' \
  '[(len (await (remote (csv-read "sales.csv")))) (len (await (remote (map :item (csv-read "sales.csv")))))]'
got=$(( $("$SERVER_INFO" "127.0.0.1:$port_files" types-provided) - provided ))
if [ "$got" -eq 1 ]; then ok "provideType was asked once for the two forms"
else not_ok "provideType was asked once for the two forms" "asked $got times"; fi
refused "csv-read: a cell past the sample that does not fit its column fails the call" \
  'csv-read: long\.csv: row 1402, column n: “x” is not of the column.s type, int' \
  '(await (remote :needs "files" (len (csv-read "long.csv"))))'
refused "csv-read: a header no field can have" 'column 1 of the header, “unit price”, has no name a record field can have' \
  '(await (remote :needs "files" (csv-read "spaced.csv")))'
refused "csv-read: the file name must be a literal" 'csv-read takes a string literal first' \
  '(await (remote :needs "files" (csv-read (concat "sales" ".csv"))))'
expect "./ and repeated slashes stay inside" '"hello\n"' '(await (remote :needs "files" (read-text "./sub//hello.txt")))'

refused "csv-read: a malformed file names the file and the line" 'csv-read: broken.csv: line 2: a quoted field is never closed' \
  '(await (remote :needs "files" (csv-read "broken.csv")))'
refused "read-text: .. is refused" 'read-text: “\.\./outside/secret\.txt” goes up with “\.\.”; paths stay inside the data directory' \
  '(await (remote :needs "files" (read-text "../outside/secret.txt")))'
refused "read-text: .. in the middle is refused" 'goes up with' \
  '(await (remote :needs "files" (read-text "sub/../../outside/secret.txt")))'
refused "read-text: an absolute path is refused" 'read-text: “/etc/passwd” is an absolute path' \
  '(await (remote :needs "files" (read-text "/etc/passwd")))'
refused "read-text: a symbolic link out of the directory is refused" \
  'read-text: “link-out\.txt” is a symbolic link; links are not followed' \
  '(await (remote :needs "files" (read-text "link-out.txt")))'
refused "read-text: a path through a linked folder is refused" \
  'read-text: “dir-out” is a symbolic link' '(await (remote :needs "files" (read-text "dir-out/secret.txt")))'
refused "list-files: a linked folder is refused" 'list-files: “dir-out” is a symbolic link' \
  '(await (remote :needs "files" (list-files "dir-out")))'
refused "csv-read: a link inside the directory is not followed either" 'csv-read: “link-in\.csv” is a symbolic link' \
  '(await (remote :needs "files" (csv-read "link-in.csv")))'
refused "read-text: a FIFO is no regular file (and does not block)" 'read-text: “fifo” is not a regular file' \
  '(await (remote :needs "files" (read-text "fifo")))'
refused "read-text: a missing file" 'read-text: there is no “sub/none\.txt” in the data directory' \
  '(await (remote :needs "files" (read-text "sub/none.txt")))'
refused "read-text: a NUL byte is no text" 'read-text: “nul\.txt” holds a NUL byte at byte 1' \
  '(await (remote :needs "files" (read-text "nul.txt")))'
refused "read-text: bytes that are not UTF-8" 'read-text: “latin\.txt” is not UTF-8 text \(byte 0\)' \
  '(await (remote :needs "files" (read-text "latin.txt")))'
refused "read-text: a file over the memory budget is refused before it is read" \
  'read-text: “big\.txt” is 3000000 bytes: server memory budget reached' \
  '(await (remote :needs "files" (read-text "big.txt")))'
expect "the server serves on after the refusals" '"hello\n"' '(await (remote :needs "files" (read-text "sub/hello.txt")))'
if kill -0 "$pid_files" 2>/dev/null && [ "$("$SERVER_INFO" "127.0.0.1:$port_files" running)" = 0 ]; then
  ok "the files server is up, nothing left running"
else
  not_ok "the files server is up, nothing left running" "$(cat "$tmp/files.err")"
fi

# the key data-dir in [server], and what start-up refuses
printf '[server]\ndata-dir = %s\n' "$data/sub" > "$tmp/files.conf"
start keyed "$RTHUNKD" --config "$tmp/files.conf"
got=$("$RTHUNK" --server "127.0.0.1:$port_keyed" -e '(await (remote (list-files "")))' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = '["hello.txt" "notes.csv"]' ]; then ok "the config key data-dir serves that folder"
else not_ok "the config key data-dir serves that folder" "exit $rc: $got" "$(cat "$tmp/keyed.err")"; fi
got=$("$RTHUNK" --server "127.0.0.1:$port_plain" -e '(await (remote (read-text "sales.csv")))' 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$got" | grep -q 'read-text'; then ok "a server without --data-dir has no read-text"
else not_ok "a server without --data-dir has no read-text" "exit $rc: $got"; fi
start sql "$RTHUNKD_SQLITE" --db "$tmp/files.db" --create --data-dir "$data/sub"
got=$("$RTHUNK" --server "127.0.0.1:$port_sql" -e '[(len (await (remote :needs "files" (csv-read-text "notes.csv")))) (len (await (remote :needs "files" (csv-read "notes.csv"))))]' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = '[2 1]' ]; then ok "rthunkd-sqlite --data-dir serves files too"
else not_ok "rthunkd-sqlite --data-dir serves files too" "exit $rc: $got" "$(cat "$tmp/sql.err")"; fi
start_refused "--data-dir naming a missing folder is refused at start" "--data-dir $tmp/none: No such file" \
  "$RTHUNKD" --data-dir "$tmp/none"
start_refused "--data-dir naming a file is refused at start" "--data-dir $data/sales.csv: Not a directory" \
  "$RTHUNKD" --data-dir "$data/sales.csv"

echo "1..$n"
[ "$failed" -eq 0 ]
