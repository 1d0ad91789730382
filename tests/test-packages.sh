#!/bin/sh
# The Debian packages end to end: builds them from this source tree with
# `dpkg-buildpackage -us -uc -b` (in a copy, so that nothing lands next to
# the tree), runs lintian on them, unpacks them with `dpkg -x` into a clean
# directory tree (no root, nothing installed on the machine) and runs the
# unpacked rthunk -e against the unpacked rthunkd, and Python against the
# unpacked typelib. Not part of `make check` (it builds the whole project
# once more): `make check-packages`, and ./quickstart test. Prints TAP.
#
#   RTHUNK_TOP_SRCDIR  the source tree (a git checkout)
#   JOBS               parallel jobs of the build (default 2)
set -u
top=${RTHUNK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top/tests/servers.sh"
jobs=${JOBS:-2}
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
root=$tmp/root
packages="librthunk-1.0-0 librthunk-1.0-dev gir1.2-rthunk-1.0 rthunk rthunkd"

echo "1..9"

# the files git knows (tracked, or new and not ignored), as they are now
mkdir "$tmp/src"
if ! (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$tmp/src"; then
  not_ok "the source tree is copied" "needs a git checkout"
  exit 1
fi

if (cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" \
      dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1); then
  ok "dpkg-buildpackage -us -uc -b"
else
  not_ok "dpkg-buildpackage -us -uc -b" "$(tail -40 "$tmp/build.log")"
  exit 1
fi

missing=
for p in $packages; do
  set -- "$tmp"/${p}_*.deb
  [ -f "$1" ] || missing="$missing $p"
done
if [ -z "$missing" ]; then ok "every package is built: $packages"
else not_ok "every package is built" "missing:$missing" "$(ls "$tmp")"; fi

changes=$(ls "$tmp"/rthunk_*.changes)
if lintian --fail-on error --display-level ">=info" "$changes" >"$tmp/lintian.log" 2>&1; then
  ok "lintian finds no error ($(grep -c '^[WI]:' "$tmp/lintian.log") warnings and notes)"
  grep '^[WI]:' "$tmp/lintian.log" | sed 's/^/# /'
else
  not_ok "lintian finds no error" "$(grep '^E:' "$tmp/lintian.log")" "$(tail -5 "$tmp/lintian.log")"
fi

mkdir "$root"
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$root"; done
export LD_LIBRARY_PATH="$root/usr/lib/$arch"
export GI_TYPELIB_PATH="$root/usr/lib/$arch/girepository-1.0"
export RTHUNK_MODULE_DIR="$root/usr/lib/$arch/rthunk-1.0"
rthunk=$root/usr/bin/rthunk

# the unpacked programs load the unpacked library, not the build's
if ldd "$rthunk" | grep -q "=> $root/usr/lib/$arch/librthunk-1.0.so.0"; then
  ok "the unpacked rthunk loads the unpacked librthunk-1.0.so.0"
else
  not_ok "the unpacked rthunk loads the unpacked librthunk-1.0.so.0" "$(ldd "$rthunk")"
fi

start packaged "$root/usr/bin/rthunkd"
got=$("$rthunk" --server "127.0.0.1:$port_packaged" -e '(await (remote :on "packaged" (* 6 7)))' 2>&1)
if [ "$got" = 42 ]; then ok "the unpacked rthunk -e runs on the unpacked rthunkd"
else not_ok "the unpacked rthunk -e runs on the unpacked rthunkd" "$got" "$(cat "$tmp/packaged.err")"; fi

start sql "$root/usr/bin/rthunkd-sqlite" --db "$tmp/shop.db" --create
got=$("$rthunk" --server "127.0.0.1:$port_sql" -e '(await (remote :needs "db" (sql-exec "create table t (x int)")))' 2>&1)
if [ "$got" = 0 ]; then ok "the unpacked rthunkd-sqlite serves a database"
else not_ok "the unpacked rthunkd-sqlite serves a database" "$got" "$(cat "$tmp/sql.err")"; fi

# the HTTP module: the library looks for it where the package puts it
# (RTHUNK_MODULE_DIR, exported above, points below $root instead)
if ! grep -aq "/usr/lib/$arch/rthunk-1.0" "$root/usr/lib/$arch/librthunk-1.0.so.0"; then
  not_ok "the unpacked rthunkd --http serves with the unpacked HTTP module" \
    "librthunk-1.0.so.0 does not look for its module in /usr/lib/$arch/rthunk-1.0"
else
  start web "$root/usr/bin/rthunkd" --http 127.0.0.1:0
  if grep -q '^rthunkd web http on http://' "$tmp/web.out" &&
     grep -q "$root/usr/lib/$arch/rthunk-1.0/rthunk-http-soup.so" "/proc/$pid_web/maps"; then
    ok "the unpacked rthunkd --http serves with the unpacked HTTP module"
  else
    not_ok "the unpacked rthunkd --http serves with the unpacked HTTP module" "$(cat "$tmp/web.out" "$tmp/web.err")"
  fi
fi

got=$("${PYTHON3:-/usr/bin/python3}" -c '
import gi
gi.require_version("Rthunk", "1.0")
from gi.repository import Rthunk
print(Rthunk.Session.new().eval("(* 6 7)", "<gi>").to_string())' 2>&1)
if [ "$got" = 42 ]; then ok "Python evaluates through the unpacked typelib"
else not_ok "Python evaluates through the unpacked typelib" "$got"; fi

missing=
for f in usr/share/man/man1/rthunk.1.gz usr/share/man/man8/rthunkd.8.gz usr/share/man/man8/rthunkd-sqlite.8.gz \
         usr/share/bash-completion/completions/rthunk usr/share/bash-completion/completions/rthunkd \
         lib/systemd/system/rthunkd.service lib/systemd/system/rthunkd@.service etc/rthunk/rthunkd.conf \
         usr/include/rthunk-1.0/rthunk/rthunk.h "usr/lib/$arch/pkgconfig/rthunk-1.0.pc" usr/share/gir-1.0/Rthunk-1.0.gir \
         "usr/lib/$arch/rthunk-1.0/rthunk-http-soup.so"; do
  [ -e "$root/$f" ] || missing="$missing $f"
done
grep -qx 'ExecStart=/usr/bin/rthunkd --config /etc/rthunk/%i.conf --name %i' "$root/lib/systemd/system/rthunkd@.service" ||
  missing="$missing ExecStart=/usr/bin/rthunkd"
if [ -z "$missing" ]; then ok "man pages, completions, units, configuration and development files are packaged"
else not_ok "man pages, completions, units, configuration and development files are packaged" "missing:$missing"; fi
[ "$failed" -eq 0 ]
