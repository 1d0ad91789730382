#!/bin/sh
# What the installed library links (README.md, "Building by hand"): with
# Thrift's runtime inside librthunk-1.0.so (configure's default), neither
# the library nor a server that runs on it needs or maps libthrift_c_glib,
# libssl or libcrypto, and that runtime still serves a request; configured
# with --disable-static-thrift, the library needs the shared Thrift. Prints TAP.
set -u
top=${RTHUNK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${RTHUNK_TOP_BUILDDIR:-$top/_build}
. "$top/tests/servers.sh"
lib="$build/src/.libs/librthunk-1.0.so"
static=${RTHUNK_STATIC_THRIFT:-yes}

echo "1..4"
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ "$static" = yes ]; then
  case "$needed" in
    *libthrift_c_glib*|*libssl*|*libcrypto*)
      not_ok "librthunk-1.0.so needs no Thrift, libssl or libcrypto" "it needs: $needed" ;;
    *) ok "librthunk-1.0.so needs no Thrift, libssl or libcrypto" ;;
  esac
else
  case "$needed" in
    *libthrift_c_glib*) ok "librthunk-1.0.so needs the shared Thrift (--disable-static-thrift)" ;;
    *) not_ok "librthunk-1.0.so needs the shared Thrift (--disable-static-thrift)" "it needs: $needed" ;;
  esac
fi

start plain "$RTHUNKD"
if [ -n "$port_plain" ]; then ok "rthunkd listens on port $port_plain"
else not_ok "rthunkd listens" "$(cat "$tmp/plain.err")"; fi

maps=$(cat "/proc/$pid_plain/maps" 2>/dev/null)
mapped=$(printf '%s\n' "$maps" | grep -oE 'lib(thrift_c_glib|ssl|crypto)\.so[.0-9]*' | sort -u | tr '\n' ' ')
if [ "$static" = yes ]; then
  if [ -n "$maps" ] && [ -z "$mapped" ]; then ok "rthunkd maps no libthrift_c_glib, libssl or libcrypto"
  else not_ok "rthunkd maps no libthrift_c_glib, libssl or libcrypto" "it maps: $mapped"; fi
else
  case "$mapped" in
    *libthrift_c_glib*) ok "rthunkd maps the shared Thrift" ;;
    *) not_ok "rthunkd maps the shared Thrift" "it maps: $mapped" ;;
  esac
fi

got=$(RTHUNK_SERVERS= XDG_CONFIG_HOME="$tmp" "$RTHUNK" -s "127.0.0.1:$port_plain" -e '(await (remote (+ 40 2)))' 2>"$tmp/err")
if [ "$got" = 42 ]; then ok "the shell and rthunkd talk through the Thrift inside the library"
else not_ok "the shell and rthunkd talk through the Thrift inside the library" "got: $got $(cat "$tmp/err")"; fi

[ "$failed" -eq 0 ]
