#!/bin/sh
# The API reference (--enable-docs): gi-docgen checks that every public
# symbol of the Rthunk-1.0.gir of this build is described and builds the
# reference from it with warnings as errors; every class has a
# description of its own; the project page links the content pages; the
# gi-docgen links of the descriptions resolve; and the Python code of the
# tutorial "Driving a session from Python" runs against a real rthunkd and
# prints what the page says. Prints TAP.
set -u
: "${GI_DOCGEN:?}" "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"
ref="$RTHUNK_TOP_SRCDIR/docs/reference"
html="$tmp/html"

if "$GI_DOCGEN" check --quiet --fatal-warnings --config="$RTHUNK_TOP_BUILDDIR/docs/reference/rthunk.toml" \
     --add-include-path="$RTHUNK_TOP_BUILDDIR" "$RTHUNK_TOP_BUILDDIR/Rthunk-1.0.gir" >"$tmp/check.out" 2>&1 &&
   [ ! -s "$tmp/check.out" ]; then
  ok "gi-docgen check: every public symbol has a description"
else
  not_ok "gi-docgen check: every public symbol has a description" "$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/check.out" | head -20)"
fi

if "$GI_DOCGEN" generate --quiet --fatal-warnings \
     --config="$RTHUNK_TOP_BUILDDIR/docs/reference/rthunk.toml" --content-dir="$ref" \
     --add-include-path="$RTHUNK_TOP_BUILDDIR" --output-dir="$html" --no-namespace-dir \
     "$RTHUNK_TOP_BUILDDIR/Rthunk-1.0.gir" >"$tmp/docgen.out" 2>&1 &&
   [ ! -s "$tmp/docgen.out" ]; then
  ok "gi-docgen generate --fatal-warnings builds the reference without a warning"
else
  not_ok "gi-docgen generate --fatal-warnings builds the reference without a warning" "$(cat "$tmp/docgen.out")"
fi

# the six classes that had none have a description (its first words)
for pair in "Client:A client of one rthunk server" "Cluster:Many rthunk servers used as one" \
            "Server:The server every rthunk provider runs" "Catalog:The typed functions an expression may call" \
            "Checker:The type checker" "Evaluator:Runs checked rthunk forms" \
            "Session:A reactive environment of named cells"; do
  class=${pair%%:*}
  words=${pair#*:}
  if grep -q "$words" "$html/class.$class.html" 2>/dev/null; then ok "class.$class.html describes the class"
  else not_ok "class.$class.html describes the class: \"$words\""; fi
done

for page in overview first-provider python-session; do
  title=$(sed -n 's/^Title: //p' "$ref/$page.md")
  if [ -f "$html/$page.html" ] && grep -q "href=\"$page.html\"" "$html/index.html" &&
     grep -q "$title" "$html/$page.html"; then
    ok "content page \"$title\" is built and linked from the project page"
  else
    not_ok "content page \"$title\" is built and linked from the project page"
  fi
done

# [class@Rthunk.Session] in a description becomes a link to its page
if grep -q 'href="class.Session.html"' "$html/class.Client.html" &&
   grep -q 'href="method.Client.submit.html"' "$html/class.Client.html" &&
   grep -q 'href="class.Session.html"' "$html/python-session.html"; then
  ok "gi-docgen links ([class@…], [method@…]) resolve to their pages"
else
  not_ok "gi-docgen links ([class@…], [method@…]) resolve to their pages"
fi
if grep -q '\[[a-z]*@Rthunk\.' "$html"/*.html; then
  not_ok "no gi-docgen link is left unresolved" "$(grep -o '\[[a-z]*@Rthunk\.[^]]*\]' "$html"/*.html | head -5)"
else
  ok "no gi-docgen link is left unresolved"
fi

# the tutorial's Python, as printed on the page, against a real rthunkd
awk '/^```python$/ { inside = 1; next } /^```$/ { inside = 0; next } inside' \
  "$ref/python-session.md" >"$tmp/tutorial.py"
start tut "$RTHUNKD"
/usr/bin/python3 "$tmp/tutorial.py" "127.0.0.1:$port_tut" >"$tmp/tutorial.out" 2>"$tmp/tutorial.err"
rc=$?
printf '%s\n' 'total = 5050' 'squares = [1 4 9]' 'total = 55' \
  'tutorial:1:15: error: argument 2 of +: expected int, found str' >"$tmp/tutorial.want"
if [ "$rc" -eq 0 ] && cmp -s "$tmp/tutorial.out" "$tmp/tutorial.want"; then
  ok "the Python of \"Driving a session from Python\" runs and prints what the page says"
else
  not_ok "the Python of \"Driving a session from Python\" runs and prints what the page says" \
    "exit $rc" "stdout: $(cat "$tmp/tutorial.out")" "stderr: $(cat "$tmp/tutorial.err")"
fi
for comment in '5050' '\[1 4 9\]' 'tutorial:1:15: error: argument 2 of +: expected int, found str'; do
  grep -q "$comment" "$ref/python-session.md" ||
    not_ok "python-session.md shows the output \"$comment\""
done

echo "1..$n"
[ "$failed" -eq 0 ]
