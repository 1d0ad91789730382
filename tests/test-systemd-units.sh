#!/bin/sh
# The systemd units as built: `systemd-analyze verify` accepts them (with
# their ExecStart pointing at the rthunkd of this build), they are
# Type=notify, and they keep the sandbox. Prints TAP.
: "${RTHUNKD:?}" "${RTHUNK_TOP_SRCDIR:?}" "${RTHUNK_TOP_BUILDDIR:?}"
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"

units="rthunkd.service rthunkd@.service"
echo "1..4"
mkdir "$tmp/units"
for u in $units; do
  sed "s|^ExecStart=[^ ]*/rthunkd |ExecStart=$RTHUNKD |" "$RTHUNK_TOP_BUILDDIR/data/systemd/$u" > "$tmp/units/$u"
done

missing=
for u in $units; do
  for key in Type=notify DynamicUser=yes ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes \
             PrivateTmp=yes 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service; do
    grep -qxF "$key" "$tmp/units/$u" || missing="$missing $u:$key"
  done
done
if [ -z "$missing" ]; then ok "the units are Type=notify and sandboxed"; else not_ok "the units are Type=notify and sandboxed" "missing:$missing"; fi

if grep -q '^ExecStart=.*--config /etc/rthunk/%i.conf --name %i$' "$tmp/units/rthunkd@.service"; then
  ok "the template reads /etc/rthunk/NAME.conf"
else
  not_ok "the template reads /etc/rthunk/NAME.conf" "$(grep ExecStart "$tmp/units/rthunkd@.service")"
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  ok "systemd-analyze verify rthunkd.service # SKIP no systemd-analyze"
  ok "systemd-analyze verify rthunkd@alpha.service # SKIP no systemd-analyze"
  [ "$failed" -eq 0 ]; exit
fi
# an instance of the template is verified through a link named after it
ln -s "$tmp/units/rthunkd@.service" "$tmp/units/rthunkd@alpha.service"
for u in rthunkd.service rthunkd@alpha.service; do
  if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/units/$u" >"$tmp/verify" 2>&1 &&
     ! grep -q . "$tmp/verify"; then
    ok "systemd-analyze verify $u"
  else
    not_ok "systemd-analyze verify $u" "$(cat "$tmp/verify")"
  fi
done
[ "$failed" -eq 0 ]
