#!/bin/sh
# A fleet's store in Redis reached over TLS, and in a Redis Cluster, end to
# end: two rthunkd share a result through a real redis-server that speaks
# only TLS (rediss://, the CA and a client certificate from
# tests/make-tls-certs.sh); one that trusts another CA is refused with a
# clear error and answers from its local tier; a shell follows a registry
# on that Redis (--registry-tls-ca, --registry-tls-cert/-key) to a server
# registered there over rediss://, and without the CA says which flag it
# misses and still runs local forms; two rthunkd share results
# and definitions through a real 3-node cluster (redis-cli --cluster
# create), and follow its ASK and MOVED redirects while a slot migrates.
# Prints TAP.
set -u
. "$(dirname "$0")/servers.sh"

if [ ! -x "${REDIS_SERVER:-}" ] || [ ! -x "${REDIS_CLI:-}" ]; then
  for k in 1 2 3 4 5 6 7 8; do n=$((n + 1)); echo "ok $n # SKIP redis-server or redis-cli not found"; done
  echo "1..$n"
  exit 0
fi
. "$(dirname "$0")/redis.sh"

rthunk() { "$RTHUNK" --server "127.0.0.1:$1" -e "$2" 2>>"$tmp/client.err"; }
info() { "$SERVER_INFO" "127.0.0.1:$1" "$2"; }
# a pure expression worth caching, made different by $1
costly() { echo "(await (remote (reduce + $1 (range 0 300000))))"; }
sum() { echo $((44999850000 + $1)); }

# ---- TLS ------------------------------------------------------------------
certs="$tmp/certs"
sh "$(dirname "$0")/make-tls-certs.sh" "$certs"
redis_port_flag=--tls-port
redis_cli_tls="--tls --cacert $certs/ca.pem --cert $certs/client.pem --key $certs/client.key"
start_redis --port 0 --tls-cert-file "$certs/server.pem" --tls-key-file "$certs/server.key" \
  --tls-ca-cert-file "$certs/ca.pem"
tls_url="rediss://127.0.0.1:$rport"
client_cert="--store-tls-cert $certs/client.pem --store-tls-key $certs/client.key"

# a result computed on alpha is a hit on beta, through Redis over TLS
start alpha "$RTHUNKD" --store "$tls_url" --store-tls-ca "$certs/ca.pem" $client_cert --store-timeout-ms 10000
start beta "$RTHUNKD" --store "$tls_url" --store-tls-ca "$certs/ca.pem" $client_cert --store-timeout-ms 10000
got=$(rthunk "$port_alpha" "$(costly 1)")
wait_entry r >/dev/null
got_beta=$(rthunk "$port_beta" "$(costly 1)")
shared=$(info "$port_beta" cache-hits-shared)
if [ "$got" = "$(sum 1)" ] && [ "$got_beta" = "$(sum 1)" ] && [ "$shared" = 1 ]; then
  ok "a result computed on alpha is a shared hit on beta over rediss://"
else
  not_ok "a result computed on alpha is a shared hit on beta over rediss://" \
    "alpha $got, beta $got_beta, beta's shared hits $shared" "$(cat "$tmp/alpha.err" "$tmp/beta.err")"
fi

# a server that trusts another CA refuses the Redis, says why once, and
# answers from its local tier: the repeat is a local hit
start gamma "$RTHUNKD" --store "$tls_url" --store-tls-ca "$certs/other-ca.pem" $client_cert --store-timeout-ms 10000
got=$(rthunk "$port_gamma" "$(costly 1)")
again=$(rthunk "$port_gamma" "$(costly 1)")
shared=$(info "$port_gamma" cache-hits-shared)
local_hits=$(info "$port_gamma" cache-hits-local)
if [ "$got" = "$(sum 1)" ] && [ "$again" = "$(sum 1)" ] && [ "$shared" = 0 ] && [ "$local_hits" = 1 ] &&
   grep -q "certificate of server 127.0.0.1:$rport is refused: it is not signed by a trusted certificate authority (see --store-tls-ca)" "$tmp/gamma.err" &&
   [ "$(grep -c 'working on the local tiers' "$tmp/gamma.err")" = 1 ]; then
  ok "a Redis whose certificate another CA signed is refused, clearly; the server answers locally"
else
  not_ok "a Redis whose certificate another CA signed is refused, clearly; the server answers locally" \
    "got $got then $again, shared $shared, local $local_hits" "$(cat "$tmp/gamma.err")"
fi

# a shell follows the registry on that Redis: it finds epsilon, which
# registered over rediss://, and epsilon computes its remote form
# (each command may wait long for Redis: a TLS handshake under the
# sanitizers on a busy machine takes more than the default 500 ms)
start epsilon "$RTHUNKD" --registry "$tls_url" --store-tls-ca "$certs/ca.pem" $client_cert --registry-timeout-ms 10000
for _ in $(seq 1 200); do
  [ "$(redis sismember 'rthunk:{members}:all' "127.0.0.1:$port_epsilon")" = 1 ] && break
  sleep 0.05
done
registry_tls="--registry-tls-ca $certs/ca.pem --registry-tls-cert $certs/client.pem --registry-tls-key $certs/client.key"
# shellcheck disable=SC2086
got=$("$RTHUNK" --registry "$tls_url" $registry_tls --registry-timeout-ms 10000 -e '(await (remote (* 6 7)))' 2>"$tmp/shell-tls.err")
completed=$(info "$port_epsilon" completed)
if [ "$got" = 42 ] && [ "$completed" = 1 ]; then
  ok "a shell with --registry rediss://… and --registry-tls-ca/-cert/-key gets a value computed on a registered server"
else
  not_ok "a shell with --registry rediss://… and --registry-tls-ca/-cert/-key gets a value computed on a registered server" \
    "got $got, epsilon completed $completed" "$(cat "$tmp/shell-tls.err" "$tmp/epsilon.err")"
fi

# without the CA the Redis is refused: the shell names the flag it misses
# and still runs local forms
got=$("$RTHUNK" --registry "$tls_url" -e '(+ 1 2)' 2>"$tmp/shell-noca.err")
if [ "$got" = 3 ] &&
   grep -q "registry rediss://127.0.0.1:$rport: .*certificate of server 127.0.0.1:$rport is refused: it is not signed by a trusted certificate authority (see --registry-tls-ca)" "$tmp/shell-noca.err"; then
  ok "a shell without --registry-tls-ca says the registry's certificate is refused, naming the flag, and runs local forms"
else
  not_ok "a shell without --registry-tls-ca says the registry's certificate is refused, naming the flag, and runs local forms" \
    "got $got" "$(cat "$tmp/shell-noca.err")"
fi
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
stop "$pid_alpha"; stop "$pid_beta"; stop "$pid_gamma"; stop "$pid_epsilon"; stop "$rpid"

# ---- a Redis Cluster -------------------------------------------------------
redis_port_flag=--port
redis_cli_tls=
nodes=
for k in 1 2 3; do
  start_redis --cluster-enabled yes --cluster-config-file "nodes-$k.conf" --cluster-node-timeout 5000
  eval "cport$k=$rport"
  nodes="$nodes 127.0.0.1:$rport"
done
# shellcheck disable=SC2086
"$REDIS_CLI" --cluster create $nodes --cluster-replicas 0 --cluster-yes >"$tmp/cluster-create.log" 2>&1
# on ( PORT COMMAND… ): redis-cli on one node of the cluster
on() { p=$1; shift; "$REDIS_CLI" -h 127.0.0.1 -p "$p" "$@"; }
for p in $cport1 $cport2 $cport3; do
  for _ in $(seq 1 200); do
    on "$p" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.05
  done
done
# every key of kind $1 in the cluster, one "PORT KEY" a line
cluster_keys() {
  for p in $cport1 $cport2 $cport3; do
    on "$p" --scan --pattern "rthunk:$1:*" | sed "s/^/$p /"
  done
}
# how often NODE answered COMMAND with a redirect, and was asked ASKING
rejected() { on "$1" info commandstats | sed -n "s/^cmdstat_$2:.*rejected_calls=\([0-9]*\).*/\1/p"; }
asking() { on "$1" info commandstats | sed -n 's/^cmdstat_asking:calls=\([0-9]*\).*/\1/p'; }
# the GETs and SETs the cluster redirected
redirected() {
  total=0
  for p in $cport1 $cport2 $cport3; do
    for c in get set; do r=$(rejected "$p" $c); total=$((total + ${r:-0})); done
  done
  echo "$total"
}
wait_cluster_keys() {  # KIND COUNT
  for _ in $(seq 1 200); do
    [ "$(cluster_keys "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# alpha names one node, beta a dead one and then another: the first node
# that answers tells each the slot map, and each entry goes straight to
# the node of its slot (none redirected)
dead=$(free_port)
start alpha "$RTHUNKD" --store "redis://127.0.0.1:$cport1" --store-timeout-ms 2000
start beta "$RTHUNKD" --store "redis://127.0.0.1:$dead,127.0.0.1:$cport2" --store-timeout-ms 2000
for k in 11 12 13 14 15 16; do rthunk "$port_alpha" "$(costly $k)" >/dev/null; done
wait_cluster_keys r 6
answers=
for k in 11 12 13 14 15 16; do answers="$answers $(rthunk "$port_beta" "$(costly $k)")"; done
shared=$(info "$port_beta" cache-hits-shared)
holders=$(cluster_keys r | cut -d' ' -f1 | sort -u | wc -l)
expected=
for k in 11 12 13 14 15 16; do expected="$expected $(sum $k)"; done
redirects=$(redirected)
if [ "$answers" = "$expected" ] && [ "$shared" = 6 ] && [ "$holders" -ge 2 ] && [ "$redirects" = 0 ]; then
  ok "results computed on alpha are shared hits on beta through a 3-node Redis Cluster"
else
  not_ok "results computed on alpha are shared hits on beta through a 3-node Redis Cluster" \
    "beta:$answers, shared hits $shared, entries on $holders nodes, $redirects redirected" "$(cat "$tmp/alpha.err" "$tmp/beta.err")"
fi

prog='(defn add-two [x] (+ x 2)) (await (remote (add-two 40)))'
got=$(rthunk "$port_alpha" "$prog")
wait_cluster_keys d 1
got_beta=$(rthunk "$port_beta" "$prog")
loaded=$(info "$port_beta" definitions-loaded)
if [ "$got" = 42 ] && [ "$got_beta" = 42 ] && [ "$loaded" = 1 ]; then
  ok "a definition sent to alpha is known to beta through the cluster"
else
  not_ok "a definition sent to alpha is known to beta through the cluster" "alpha $got, beta $got_beta, loaded $loaded"
fi

# a slot migrates under the servers' feet. delta learns the map first.
start delta "$RTHUNKD" --store "redis://127.0.0.1:$cport3" --store-timeout-ms 2000
rthunk "$port_delta" "$(costly 20)" >/dev/null
for _ in $(seq 1 200); do
  [ "$(info "$port_delta" completed)" = 1 ] && break
  sleep 0.05
done
cluster_keys r | sort >"$tmp/before"
rthunk "$port_alpha" "$(costly 21)" >/dev/null
for _ in $(seq 1 200); do
  entry=$(cluster_keys r | sort | comm -13 "$tmp/before" - | head -n 1)
  [ -n "$entry" ] && break
  sleep 0.05
done
src=${entry%% *}
key=${entry#* }
slot=$(on "$src" cluster keyslot "$key")
for p in $cport1 $cport2 $cport3; do [ "$p" != "$src" ] && dst=$p; done
src_id=$(on "$src" cluster myid)
dst_id=$(on "$dst" cluster myid)

# ASK: the slot is migrating and the entry has moved to its new node
on "$dst" cluster setslot "$slot" importing "$src_id" >/dev/null
on "$src" cluster setslot "$slot" migrating "$dst_id" >/dev/null
on "$src" migrate 127.0.0.1 "$dst" "$key" 0 5000 >/dev/null
rejected_before=$(rejected "$src" get)
got_beta=$(rthunk "$port_beta" "$(costly 21)")
shared=$(info "$port_beta" cache-hits-shared)
rejected_after=$(rejected "$src" get)
asked=$(asking "$dst")
if [ "$got_beta" = "$(sum 21)" ] && [ "$shared" = 7 ] && [ "${rejected_after:-0}" -gt "${rejected_before:-0}" ] &&
   [ "${asked:-0}" -ge 1 ]; then
  ok "an ASK redirect of a migrating slot is followed (ASKING on the new node)"
else
  not_ok "an ASK redirect of a migrating slot is followed (ASKING on the new node)" \
    "beta $got_beta, shared $shared, GETs redirected by $src: $rejected_before then $rejected_after, ASKING on $dst: $asked" \
    "$(cat "$tmp/beta.err")"
fi

# MOVED: the migration is done; delta's map still names the old node
for p in $cport1 $cport2 $cport3; do on "$p" cluster setslot "$slot" node "$dst_id" >/dev/null; done
rejected_before=$(rejected "$src" get)
got_delta=$(rthunk "$port_delta" "$(costly 21)")
shared=$(info "$port_delta" cache-hits-shared)
rejected_after=$(rejected "$src" get)
if [ "$got_delta" = "$(sum 21)" ] && [ "$shared" = 1 ] && [ "${rejected_after:-0}" -gt "${rejected_before:-0}" ]; then
  ok "a MOVED redirect after the migration is followed"
else
  not_ok "a MOVED redirect after the migration is followed" \
    "delta $got_delta, shared $shared, GETs redirected by $src: $rejected_before then $rejected_after" \
    "$(cat "$tmp/delta.err")"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
