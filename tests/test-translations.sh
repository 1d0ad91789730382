#!/bin/sh
# The German and French catalogs, end to end: each program, run under
# LANGUAGE=de and LANGUAGE=fr in a UTF-8 locale, says a known error in that
# language (but for the line that says where it listens, which programs
# read); the catalogs are the ones make built from po/ (found through
# RTHUNK_LOCALEDIR, laid out as under share/locale), and each translates
# every message of po/rthunk.pot. Prints TAP.
set -u
n=0
failed=0
top=${RTHUNK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${RTHUNK_TOP_BUILDDIR:-$top/_build}
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# gettext's po/Makefile builds LANG.gmo in the source tree's po/ (a
# tarball ships them there too); the build tree's po/ is looked at first
catalog_of() {
  for d in "$build/po" "$top/po"; do
    [ -f "$d/$1.gmo" ] && { echo "$d/$1.gmo"; return 0; }
  done
  return 1
}

for lang in de fr; do
  mkdir -p "$tmp/locale/$lang/LC_MESSAGES"
  if gmo=$(catalog_of "$lang"); then cp "$gmo" "$tmp/locale/$lang/LC_MESSAGES/rthunk.mo"; fi
done

# translated NAME LANG LINE PROGRAM ARGS… : fails, and LINE is a whole line
# of its stderr, when run under LANGUAGE=LANG
translated() {
  name=$1; lang=$2; want=$3; shift 3
  RTHUNK_LOCALEDIR="$tmp/locale" LANGUAGE=$lang LC_ALL=C.UTF-8 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
  if [ "$rc" -ne 0 ] && grep -qFx -- "$want" "$tmp/err"; then ok "$name"
  else not_ok "$name" "exit $rc" "want: $want" "stderr: $(cat "$tmp/err")"; fi
}

division='(/ 1 0)'
translated "rthunk: an evaluation error in German" de "<expr>:1:1: Fehler: Division durch null" "$RTHUNK" --local -e "$division"
translated "rthunk: an evaluation error in French" fr "<expr>:1:1 : erreur : division par zéro" "$RTHUNK" --local -e "$division"
# the checker translates the words naming the place of a mismatch only
# when there is one
element='[1 "a"]'
translated "rthunk: a list element's type error in German" de "<expr>:1:4: Fehler: Listenelement: int erwartet, str gefunden" \
  "$RTHUNK" --local -e "$element"
translated "rthunk: a list element's type error in French" fr "<expr>:1:4 : erreur : élément de liste : int attendu, str trouvé" \
  "$RTHUNK" --local -e "$element"
translated "rthunkd: a bad size in German" de \
  "rthunkd: --max-frame-bytes: „abc“ ist keine Größe (eine ganze Zahl, mit einer Einheit wie KiB, MiB oder GiB)" \
  "$RTHUNKD" --port 0 --max-frame-bytes abc
translated "rthunkd: a bad size in French" fr \
  "rthunkd: --max-frame-bytes : « abc » n'est pas une taille (un nombre entier, avec une unité comme KiB, MiB ou GiB)" \
  "$RTHUNKD" --port 0 --max-frame-bytes abc
translated "rthunkd-sqlite: a bad memory size in German" de \
  "rthunkd-sqlite: --sql-max-memory: „abc“ ist keine Größe (Bytes oder eine Zahl mit K, M oder G)" \
  "$RTHUNKD_SQLITE" --port 0 --db "$tmp/db" --sql-max-memory abc
translated "rthunkd-sqlite: a bad memory size in French" fr \
  "rthunkd-sqlite: --sql-max-memory : « abc » n'est pas une taille (octets, ou un nombre suivi de K, M ou G)" \
  "$RTHUNKD_SQLITE" --port 0 --db "$tmp/db" --sql-max-memory abc
translated "without LANGUAGE the messages stay English" "" "<expr>:1:1: error: division by zero" \
  "$RTHUNK" --local -e "$division"

# the line scripts wait for stays English in every language
RTHUNK_LOCALEDIR="$tmp/locale" LANGUAGE=de LC_ALL=C.UTF-8 "$RTHUNKD" --port 0 --name de >"$tmp/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/server.out" ] && break
  sleep 0.05
done
if grep -Eqx 'rthunkd de listening on 127\.0\.0\.1:[0-9]+' "$tmp/server.out"; then
  ok "rthunkd announces \"listening on\" in English under LANGUAGE=de"
else not_ok "rthunkd announces \"listening on\" in English under LANGUAGE=de" "$(cat "$tmp/server.out")"; fi
kill "$server_pid" && wait "$server_pid"
server_pid=

# msgcmp: every msgid of the template has a translation, neither fuzzy
# nor empty
for lang in de fr; do
  if msgcmp "$top/po/$lang.po" "$top/po/rthunk.pot" 2>"$tmp/msgcmp"; then ok "po/$lang.po translates every message"
  else not_ok "po/$lang.po translates every message" "$(head -5 "$tmp/msgcmp")"; fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
