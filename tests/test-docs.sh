#!/bin/sh
# Runs every example of docs/language.md with `rthunk --local -e` (those
# of ```example-remote blocks with `rthunk -e`, on its embedded server)
# and checks what it prints: "=> VALUE" is the exact output, "!! TEXT" a
# part of the error. Prints TAP.
set -u
doc="$RTHUNK_TOP_SRCDIR/docs/language.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one example per pair of lines inside ```example blocks
# (a line "@remote" starts the examples of an example-remote block)
awk '/^```example$/ { inside = 1; print "@local"; next }
     /^```example-remote$/ { inside = 1; print "@remote"; next }
     /^```$/ { inside = 0; next } inside' "$doc" > "$tmp/examples"
n=0
failed=0
expr=
where=--local
while IFS= read -r line; do
  case "$line" in
    "@local") where=--local ;;
    "@remote") where= ;;
    "=> "*|"!! "*)
      n=$((n + 1))
      want=${line#=> }
      want=${want#!! }
      got=$(RTHUNK_SERVERS= XDG_CONFIG_HOME="$tmp" "$RTHUNK" $where -e "$expr" 2>"$tmp/err"); rc=$?
      case "$line" in
        "=> "*) if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok=1; else ok=0; fi ;;
        *) if [ "$rc" -ne 0 ] && grep -qF -- "$want" "$tmp/err"; then ok=1; else ok=0; fi ;;
      esac
      if [ "$ok" -eq 1 ]; then
        printf 'ok %d - %s\n' "$n" "$expr"
      else
        failed=$((failed + 1))
        printf 'not ok %d - %s\n# expected: %s\n# got (exit %d): %s %s\n' \
          "$n" "$expr" "$line" "$rc" "$got" "$(cat "$tmp/err")"
      fi
      expr= ;;
    *) expr=$line ;;
  esac
done < "$tmp/examples"
echo "1..$n"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
