#!/bin/sh
# The stores below a server's memory, end to end: rthunkd with
# --store sqlite:PATH answers a repeat from the file after a restart (and
# the default store is such a file under the state folder); two rthunkd on
# one real redis-server share results and definitions, a damaged entry is
# a miss and recomputed, and a Redis that dies leaves the servers working
# with one warning. Prints TAP.
set -u
. "$(dirname "$0")/servers.sh"

rthunk() { "$RTHUNK" --server "127.0.0.1:$1" -e "$2" 2>>"$tmp/client.err"; }
info() { "$SERVER_INFO" "127.0.0.1:$1" "$2"; }
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# a pure expression worth caching, made different by $1
costly() { echo "(await (remote (reduce + $1 (range 0 300000))))"; }
sum() { echo $((44999850000 + $1)); }

# ---- sqlite -------------------------------------------------------------
db="$tmp/alpha.db"
start alpha "$RTHUNKD" --store "sqlite:$db"
got=$(rthunk "$port_alpha" "$(costly 1)")
stop "$pid_alpha"              # the writer empties its queue before exit
start alpha "$RTHUNKD" --store "sqlite:$db"
again=$(rthunk "$port_alpha" "$(costly 1)")
hits=$(info "$port_alpha" cache-hits-shared)
if [ "$got" = "$(sum 1)" ] && [ "$again" = "$(sum 1)" ] && [ "$hits" = 1 ]; then
  ok "a restarted rthunkd answers a repeat from its sqlite store"
else
  not_ok "a restarted rthunkd answers a repeat from its sqlite store" \
    "first $got, after the restart $again, shared hits $hits" "$(cat "$tmp/alpha.err")"
fi
stop "$pid_alpha"

# entries expire: --store-ttl-s 1 writes an expiry a second ahead; once
# the clock has passed it the entry is a miss, and the next batch purges it
if command -v sqlite3 >/dev/null; then
  ttl_db="$tmp/ttl.db"
  start kappa "$RTHUNKD" --store "sqlite:$ttl_db" --store-ttl-s 1
  rthunk "$port_kappa" "$(costly 12)" >/dev/null
  stop "$pid_kappa"
  expires=$(sqlite3 "$ttl_db" "SELECT max(expires) FROM entries")
  for _ in $(seq 1 100); do
    [ "$(date +%s)" -gt "$expires" ] && break
    sleep 0.05
  done
  start kappa "$RTHUNKD" --store "sqlite:$ttl_db" --store-ttl-s 1
  got=$(rthunk "$port_kappa" "$(costly 12)")
  hits=$(info "$port_kappa" cache-hits-shared)
  rthunk "$port_kappa" "$(costly 13)" >/dev/null
  stop "$pid_kappa"
  stale=$(sqlite3 "$ttl_db" "SELECT count(*) FROM entries WHERE expires <= $expires")
  if [ "$got" = "$(sum 12)" ] && [ "$hits" = 0 ] && [ "$stale" = 0 ]; then
    ok "an expired sqlite entry is a miss and is purged"
  else
    not_ok "an expired sqlite entry is a miss and is purged" "got $got, shared hits $hits, $stale stale rows"
  fi
else
  n=$((n + 1)); echo "ok $n # SKIP sqlite3 not found"
fi

start gamma "$RTHUNKD" --state-dir "$tmp/state"
rthunk "$port_gamma" "$(costly 2)" >/dev/null
stop "$pid_gamma"
start delta env XDG_STATE_HOME="$tmp/xdg" "$RTHUNKD"
stop "$pid_delta"
if [ -s "$tmp/state/gamma.db" ] && [ -s "$tmp/xdg/rthunk/delta.db" ]; then
  ok "the default store is NAME.db under --state-dir or \$XDG_STATE_HOME/rthunk"
else
  not_ok "the default store is NAME.db under --state-dir or \$XDG_STATE_HOME/rthunk" "$(ls -R "$tmp")"
fi

# ---- redis --------------------------------------------------------------
if [ ! -x "${REDIS_SERVER:-}" ] || [ ! -x "${REDIS_CLI:-}" ]; then
  for k in 1 2 3 4 5 6 7 8; do n=$((n + 1)); echo "ok $n # SKIP redis-server or redis-cli not found"; done
  echo "1..$n"
  exit 0
fi

. "$(dirname "$0")/redis.sh"
start_redis

url="redis://127.0.0.1:$rport"
# a generous timeout: under a loaded `make check` a 20 ms read may be late,
# which is a miss by design, and these tests count hits
start alpha "$RTHUNKD" --store "$url" --store-timeout-ms 2000
start beta "$RTHUNKD" --store "$url" --store-timeout-ms 2000

# a result computed on alpha is a hit on beta
got=$(rthunk "$port_alpha" "$(costly 3)")
wait_entry r >/dev/null
got_beta=$(rthunk "$port_beta" "$(costly 3)")
shared=$(info "$port_beta" cache-hits-shared)
completed=$(info "$port_beta" completed)
if [ "$got" = "$(sum 3)" ] && [ "$got_beta" = "$(sum 3)" ] && [ "$shared" = 1 ] && [ "$completed" = 1 ]; then
  ok "a result computed on alpha is a shared hit on beta"
else
  not_ok "a result computed on alpha is a shared hit on beta" \
    "alpha $got, beta $got_beta, beta's shared hits $shared, completed $completed"
fi

# a definition sent to alpha is known to beta without a MissingDefinitions
# round trip: beta takes it from Redis while it resolves the request
redis flushall >/dev/null
prog='(defn add-one [x] (+ x 1)) (await (remote (add-one 41)))'
got=$(rthunk "$port_alpha" "$prog")
wait_entry d >/dev/null
got_beta=$(rthunk "$port_beta" "$prog")
loaded=$(info "$port_beta" definitions-loaded)
if [ "$got" = 42 ] && [ "$got_beta" = 42 ] && [ "$loaded" = 1 ]; then
  ok "a definition sent to alpha is known to beta"
else
  not_ok "a definition sent to alpha is known to beta" "alpha $got, beta $got_beta, loaded $loaded"
fi

# a damaged entry is a miss: recomputed, the right answer, a warning. The
# record ends with the result's Value: an i64 and two STOPs, so the byte
# 3 from the end is the low byte of the number.
redis flushall >/dev/null
rthunk "$port_alpha" "$(costly 4)" >/dev/null
key=$(wait_entry r)
len=$(redis strlen "$key")
redis setrange "$key" $((len - 3)) 'Z' >/dev/null
shared_before=$(info "$port_beta" cache-hits-shared)
got_beta=$(rthunk "$port_beta" "$(costly 4)")
shared_after=$(info "$port_beta" cache-hits-shared)
if [ "$got_beta" = "$(sum 4)" ] && [ "$shared_after" = "$shared_before" ] &&
   grep -q 'failed its check' "$tmp/beta.err"; then
  ok "a damaged Redis entry is a miss, recomputed"
else
  not_ok "a damaged Redis entry is a miss, recomputed" \
    "beta $got_beta, shared hits $shared_before then $shared_after" "$(cat "$tmp/beta.err")"
fi

# beta writes what it recomputed over the damaged entry, in the background:
# wait for that write (each look is a redis-cli of its own), or it may
# land after the flushall below and be taken for one of the next test's
# entries
for _ in $(seq 1 2000); do
  [ "$(redis getrange "$key" $((len - 3)) $((len - 3)))" != Z ] && break
done

# a foreign entry (another result's record under this key) is a miss too
redis flushall >/dev/null
rthunk "$port_alpha" "$(costly 8)" >/dev/null
other=$(wait_entry r)
rthunk "$port_alpha" "$(costly 9)" >/dev/null
for _ in $(seq 1 200); do
  key=$(redis --scan --pattern 'rthunk:r:*' | grep -v "$other" | head -n 1)
  [ -n "$key" ] && break
  sleep 0.05
done
redis copy "$other" "$key" replace >/dev/null
shared_before=$(info "$port_beta" cache-hits-shared)
got_beta=$(rthunk "$port_beta" "$(costly 9)")
shared_after=$(info "$port_beta" cache-hits-shared)
if [ "$got_beta" = "$(sum 9)" ] && [ "$shared_after" = "$shared_before" ]; then
  ok "another result's record under a key is a miss, recomputed"
else
  not_ok "another result's record under a key is a miss, recomputed" \
    "beta $got_beta, shared hits $shared_before then $shared_after"
fi

# a Redis that stops answering (SIGSTOP: connections stay open, replies
# never come) holds a request up for --store-timeout-ms at most
start lambda "$RTHUNKD" --store "$url" --store-timeout-ms 50
rthunk "$port_lambda" "$(costly 14)" >/dev/null
kill -STOP "$rpid"
t0=$(date +%s%N)
got=$(timeout 20 "$RTHUNK" --server "127.0.0.1:$port_lambda" -e "$(costly 15)" 2>>"$tmp/client.err")
t1=$(date +%s%N)
kill -CONT "$rpid"
ms=$(( (t1 - t0) / 1000000 ))
if [ "$got" = "$(sum 15)" ] && [ "$ms" -lt 1500 ]; then
  ok "a Redis that does not answer delays a request by the store timeout at most"
else
  not_ok "a Redis that does not answer delays a request by the store timeout at most" "got $got after $ms ms"
fi

# a Redis that answers, then is late again (as under load): the second
# failure, within a minute of the first warning, is counted, not warned
k=100
while [ "$k" -lt 160 ] && ! grep -q 'answering again' "$tmp/lambda.err"; do
  rthunk "$port_lambda" "$(costly "$k")" >/dev/null
  k=$((k + 1))
done
kill -STOP "$rpid"
late=$(rthunk "$port_lambda" "$(costly 200)")
kill -CONT "$rpid"
k=201
while [ "$k" -lt 260 ] && [ "$(grep -c 'answering again' "$tmp/lambda.err")" -lt 1 ]; do
  rthunk "$port_lambda" "$(costly "$k")" >/dev/null
  k=$((k + 1))
done
warnings=$(grep -c 'working on the local tiers' "$tmp/lambda.err")
again=$(grep -c 'answering again' "$tmp/lambda.err")
if [ "$late" = "$(sum 200)" ] && [ "$warnings" = 1 ] && [ "$again" = 1 ]; then
  ok "a store that fails again soon after answering is not warned about twice"
else
  not_ok "a store that fails again soon after answering is not warned about twice" \
    "answer $late, $warnings warnings, $again recoveries" "$(cat "$tmp/lambda.err")"
fi
stop "$pid_lambda"

# Redis killed mid-run: requests still answered, one warning
stop "$rpid"
a=$(rthunk "$port_beta" "$(costly 5)")
b=$(rthunk "$port_beta" "$(costly 6)")
c=$(rthunk "$port_beta" "$prog")
warnings=$(grep -c 'working on the local tiers' "$tmp/beta.err")
if [ "$a" = "$(sum 5)" ] && [ "$b" = "$(sum 6)" ] && [ "$c" = 42 ] && [ "$warnings" = 1 ]; then
  ok "with Redis gone, requests are answered and it is warned about once"
else
  not_ok "with Redis gone, requests are answered and it is warned about once" \
    "answers $a $b $c, $warnings warnings" "$(cat "$tmp/beta.err")"
fi

# and a server that starts while Redis is down starts, and serves
start epsilon "$RTHUNKD" --store "$url"
got=$(rthunk "$port_epsilon" "$(costly 7)")
if [ "$got" = "$(sum 7)" ]; then
  ok "a server starts and serves while its Redis is down"
else
  not_ok "a server starts and serves while its Redis is down" "got $got" "$(cat "$tmp/epsilon.err")"
fi

# a Redis with a password: from --store-password-file (the ACL user in
# the URI) or in the URI; never in the log. Without it: answers, a warning.
start_redis --requirepass 's3cret-pw'
printf 's3cret-pw\n' >"$tmp/password"
url="redis://127.0.0.1:$rport"
start zeta "$RTHUNKD" --store "redis://default@127.0.0.1:$rport" --store-password-file "$tmp/password" \
  --store-timeout-ms 2000
got=$(rthunk "$port_zeta" "$(costly 10)")
REDISCLI_AUTH=s3cret-pw wait_entry r >/dev/null
start eta "$RTHUNKD" --store "redis://:s3cret-pw@127.0.0.1:$rport" --store-timeout-ms 2000
got_eta=$(rthunk "$port_eta" "$(costly 10)")
shared_eta=$(info "$port_eta" cache-hits-shared)
start iota "$RTHUNKD" --store "$url" --store-timeout-ms 2000
got_iota=$(rthunk "$port_iota" "$(costly 10)")
shared_iota=$(info "$port_iota" cache-hits-shared)
stop "$rpid"
rthunk "$port_eta" "$(costly 11)" >/dev/null
if [ "$got" = "$(sum 10)" ] && [ "$got_eta" = "$(sum 10)" ] && [ "$shared_eta" = 1 ] &&
   [ "$got_iota" = "$(sum 10)" ] && [ "$shared_iota" = 0 ] && grep -q 'NOAUTH\|Authentication' "$tmp/iota.err" &&
   grep -q 'redis://:\*\*\*@' "$tmp/eta.err" && ! grep -q 's3cret' "$tmp"/*.err; then
  ok "a Redis with a password: from a file or the URI, never logged; without it, a warning"
else
  not_ok "a Redis with a password: from a file or the URI, never logged; without it, a warning" \
    "zeta $got, eta $got_eta ($shared_eta shared), iota $got_iota ($shared_iota shared)" \
    "$(cat "$tmp/zeta.err" "$tmp/eta.err" "$tmp/iota.err")"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
