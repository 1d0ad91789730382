#!/bin/sh
# Many servers through the rthunk shell: three real rthunkd processes and
# an rthunkd-sqlite on loopback ports. Routing by function, by capability,
# pinning, pmap/psum/preduce equal to local results, promise pipelining,
# and failover of thunks without side effects when a server is killed -9.
# Prints TAP.
set -u
. "$RTHUNK_TOP_SRCDIR/tests/servers.sh"

sqlite3_db() {
  "$PYTHON3" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("create table items (name text, qty integer)")
c.executemany("insert into items values (?, ?)", [("apple", 3), ("pear", 5)])
c.commit()' "$1"
}

# num NAME KEY : a number from the getServerInfo of the server NAME
# (running, queued, or a counter: submitted, pipelined, fetched, …)
num() {
  eval "num_port=\$port_$1"
  "$SERVER_INFO" "127.0.0.1:$num_port" "$2"
}

# wait_for NAME KEY MIN : until that number is at least MIN (30 s at most)
wait_for() {
  for _ in $(seq 1 600); do
    v=$(num "$1" "$2" 2>/dev/null) && [ "$v" -ge "$3" ] && return 0
    sleep 0.05
  done
  return 1
}

# expect NAME EXPECTED ARGS… : exit 0 and exactly that on stdout
expect() {
  name=$1; want=$2; shift 2
  got=$("$RTHUNK" $servers "$@" 2>"$tmp/err"); rc=$?
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"
  else not_ok "$name" "exit $rc" "stdout: $got" "stderr: $(cat "$tmp/err")"; fi
}

echo "1..28"

sqlite3_db "$tmp/items.db"
start alpha "$RTHUNKD"
start beta "$RTHUNKD"
start gamma "$RTHUNKD"
start store "$RTHUNKD_SQLITE" --db "$tmp/items.db"
servers="--server 127.0.0.1:$port_alpha --server 127.0.0.1:$port_beta --server 127.0.0.1:$port_gamma --server 127.0.0.1:$port_store"

expect "a function only one server provides goes there, typed by the statement" \
  '[{:name "apple" :qty 3} {:name "pear" :qty 5}]' \
  -e '(await (remote (sql-query "SELECT name, qty FROM items ORDER BY name" {})))'
expect "dynamic SQL goes there too, as rows of strings" '[["apple" "3"] ["pear" "5"]]' \
  -e '(await (remote (sql-query-text (concat "SELECT name, qty FROM items " "ORDER BY name"))))'
expect ":needs routes by capability" '"store"' -e '(await (remote :needs "db" (server-name)))'
expect ":on pins to a server" '"beta"' -e '(await (remote :on "beta" (server-name)))'
got=$("$RTHUNK" $servers -e '(remote :on "zeta" 1)' 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$got" | grep -q 'no server named “zeta”'; then ok "an unknown server is an error"
else not_ok "an unknown server is an error" "exit $rc: $got"; fi

local_pmap=$("$RTHUNK" --local -e '(map (fn [x] (* x x)) (range 0 100))')
expect "pmap equals map" "$local_pmap" -e '(pmap (fn [x] (* x x)) (range 0 100))'
expect "pmap spreads the chunks over every eligible server" '["alpha" "beta" "gamma" "store"]' \
  -e '(let [names (pmap (fn [x] (server-name)) [1 2 3 4])] names)'
local_sum=$("$RTHUNK" --local -e '(sum (map (fn [i] (* i i)) (range 0 100000)))')
expect "psum equals the local sum" "$local_sum" -e '(psum (fn [i] (* i i)) 0 100000)'
expect "preduce with max equals the local reduce" \
  "$("$RTHUNK" --local -e '(reduce max 0 (map (fn [i] (mod (* i 7919) 1000)) (range 0 5000)))')" \
  -e '(preduce max 0 (fn [i] (mod (* i 7919) 1000)) 0 5000)'
expect "user functions travel to every server" 385 -e '(defn sq [n] (* n n)) (psum sq 0 11)'

# a chunk of psum is generated and summed in constant memory on its server:
# on one whose evaluations may build at most 1 MB, a million elements fit
start tiny "$RTHUNKD" --max-eval-bytes 1000000
got=$("$RTHUNK" --server "127.0.0.1:$port_tiny" -e '(psum (fn [i] (mod i 3)) 0 1000000)' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = 999999 ]; then ok "psum does not build the range's list on the server"
else not_ok "psum does not build the range's list on the server" "exit $rc: $got"; fi

# pipelining: b names a, still running on the same server, as its input;
# alpha counts one pipelined submission (a fetched value would count none)
pipelined=$(num alpha pipelined)
expect "a pending value used on its own server travels as a reference" 420 \
  -e '(let [a (remote :on "alpha" (delay 500 41)) b (remote :on "alpha" (+ a 1))] (* 10 (await b)))'
got=$(num alpha pipelined)
if [ "$got" -eq $((pipelined + 1)) ]; then ok "the server counts the submission as pipelined"
else not_ok "the server counts the submission as pipelined" "pipelined went from $pipelined to $got"; fi

# across servers: one allowed to fetch from the other gets the value itself
start near env G_MESSAGES_DEBUG=rthunk "$RTHUNKD" --fetch-from '127.0.0.1:*'
start far env G_MESSAGES_DEBUG=rthunk "$RTHUNKD" --fetch-from '127.0.0.1:*'
pair="--server 127.0.0.1:$port_near --server 127.0.0.1:$port_far"
fetched=$(num far fetched)
got=$("$RTHUNK" $pair -e '(let [a (remote :on "near" (delay 300 41)) b (remote :on "far" (+ a 1))] (await b))' 2>&1); rc=$?
fetched_after=$(num far fetched)
if [ "$rc" -eq 0 ] && [ "$got" = 42 ] && grep -q "fetched an input from 127.0.0.1:$port_near" "$tmp/far.err" &&
   [ "$fetched_after" -eq $((fetched + 1)) ]; then
  ok "a server fetches a pending input from the server that holds it"
else not_ok "a server fetches a pending input from the server that holds it" "exit $rc: $got" \
  "far's fetched counter went from $fetched to $fetched_after" "$(grep fetch "$tmp/far.err")"; fi
got=$("$RTHUNK" $pair -e '(let [a (remote :on "near" (delay 100 (/ 1 0))) b (remote :on "far" (+ a 1))] (await b))' 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$got" | grep -q 'division by zero'; then ok "a failed input fetched across servers fails its dependent, with the cause"
else not_ok "a failed input fetched across servers fails its dependent, with the cause" "exit $rc: $got"; fi
# a server that fetches from nowhere (the default) gets the value from the client
fetched=$(num alpha fetched)
got=$("$RTHUNK" --server "127.0.0.1:$port_near" --server "127.0.0.1:$port_alpha" \
      -e '(let [a (remote :on "near" (delay 100 [1 2 3])) b (remote :on "alpha" (len a))] (await b))' 2>&1); rc=$?
fetched_after=$(num alpha fetched)
if [ "$rc" -eq 0 ] && [ "$got" = 3 ] && [ "$fetched_after" -eq "$fetched" ]; then
  ok "without --fetch-from the client carries the value across"
else not_ok "without --fetch-from the client carries the value across" "exit $rc: $got" \
  "alpha's fetched counter went from $fetched to $fetched_after"; fi

# remote references: 2 million numbers stay on their server (fetched, they
# come in chunks: they would not fit in a frame); a later remote expression goes there and uses
# them in place; printing a small one fetches it
expect "a remote reference is used in place on its server" 2000000 \
  -e '(def big (remote :ref (range 0 2000000))) (await (remote (len big)))'
expect "printing a remote reference fetches its value" '[0 1 2 3 4]' -e '(def s (remote :ref (range 0 5))) s'
got=$("$RTHUNK" $servers -e '(def big (remote :ref (range 0 2000000))) (len big)' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = 2000000 ]; then
  ok "a value too large for a frame is fetched in chunks"
else not_ok "a value too large for a frame is fetched in chunks" "exit $rc: $got"; fi

# verification against a server that adds wrongly
start liar "$WRONG_PROVIDER"
got=$("$RTHUNK" --server "127.0.0.1:$port_alpha" --server "127.0.0.1:$port_liar" --server "127.0.0.1:$port_beta" \
      -e '(await (remote :verify 3 (+ 1 2)))' 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$got" | grep -q 'verification failed' && echo "$got" | grep -q 'liar'; then
  ok "a server that disagrees fails verification, named"
else not_ok "a server that disagrees fails verification, named" "exit $rc: $got"; fi
# with only the liar and one honest server, both are asked and nobody can
# break the tie
got=$("$RTHUNK" --server "127.0.0.1:$port_liar" --server "127.0.0.1:$port_alpha" \
      -e '(await (remote :verify 2 (+ 40 2)))' 2>&1); rc=$?
if [ "$rc" -ne 0 ] && echo "$got" | grep -q 'verification failed' && echo "$got" | grep -q 'liar' &&
   echo "$got" | grep -q 'no third server could break the tie'; then
  ok "two servers that disagree, with no third, fail verification"
else not_ok "two servers that disagree, with no third, fail verification" "exit $rc: $got"; fi
# two honest servers agree
expect_two="--server 127.0.0.1:$port_alpha --server 127.0.0.1:$port_beta"
got=$("$RTHUNK" $expect_two -e '(await (remote :verify 2 (+ 40 2)))' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = 42 ]; then ok "verification passes when the two servers agree"
else not_ok "verification passes when the two servers agree" "exit $rc: $got"; fi
# two of three: which two the client picks depends on their latency, so the
# servers' submitted counters say which ran it, and the outcome must be the
# one for that pair: the liar and an honest one disagree, and the third
# (asked too) breaks the tie against the liar; or the two honest ones agree
# and the liar is not asked at all
s_liar=$(num liar submitted); s_alpha=$(num alpha submitted); s_beta=$(num beta submitted)
got=$("$RTHUNK" --server "127.0.0.1:$port_liar" --server "127.0.0.1:$port_alpha" --server "127.0.0.1:$port_beta" \
      -e '(await (remote :verify 2 (+ 40 2)))' 2>&1); rc=$?
d_liar=$(($(num liar submitted) - s_liar)); d_alpha=$(($(num alpha submitted) - s_alpha))
d_beta=$(($(num beta submitted) - s_beta))
asked="liar +$d_liar, alpha +$d_alpha, beta +$d_beta"
if [ "$d_liar" -eq 1 ] && [ "$d_alpha" -eq 1 ] && [ "$d_beta" -eq 1 ] && [ "$rc" -ne 0 ] &&
   echo "$got" | grep -q 'verification failed' &&
   echo "$got" | grep -q "agrees with the other, so liar's reputation is lowered"; then
  ok "two of three: a third server breaks the tie against the liar ($asked)"
elif [ "$d_liar" -eq 0 ] && [ "$d_alpha" -eq 1 ] && [ "$d_beta" -eq 1 ] && [ "$rc" -eq 0 ] && [ "$got" = 42 ]; then
  ok "two of three: the two honest servers chosen agree ($asked)"
else not_ok "two of three: the outcome is the one for the servers asked" "asked: $asked" "exit $rc: $got"; fi

# audits (--audit RATE): every pure thunk also runs on a second server; the
# liar is caught, every value is right all the same, and the user is told
# once that it is quarantined
want=$("$RTHUNK" --local -e '(map (fn [i] (+ i 1)) (range 0 30))')
got=$("$RTHUNK" --audit 1 --server "127.0.0.1:$port_liar" --server "127.0.0.1:$port_alpha" --server "127.0.0.1:$port_beta" \
      -e '(map (fn [i] (await (remote (+ i 1)))) (range 0 30))' 2>"$tmp/audit.err"); rc=$?
if [ "$rc" -eq 0 ] && [ "$got" = "$want" ] && [ "$(grep -c 'server liar is quarantined' "$tmp/audit.err")" -eq 1 ]; then
  ok "--audit 1: the liar is quarantined, said once, and no wrong value reaches the user"
else not_ok "--audit 1: the liar is quarantined, said once, and no wrong value reaches the user" "exit $rc: $got" \
  "$(cat "$tmp/audit.err")"; fi
got=$("$RTHUNK" --audit 1.5 --local -e 1 2>&1); rc=$?
if [ "$rc" -eq 2 ] && echo "$got" | grep -q 'audit takes a fraction from 0 to 1'; then ok "--audit out of range is refused"
else not_ok "--audit out of range is refused" "exit $rc: $got"; fi

# failover: kill -9 the servers running two slow thunks (whichever the
# client chose); they finish on the one left
"$RTHUNK" --server "127.0.0.1:$port_alpha" --server "127.0.0.1:$port_beta" --server "127.0.0.1:$port_gamma" \
  -e '(let [a (remote (delay 1500 40)) b (remote (delay 1500 2))] (+ (await a) (await b)))' \
  >"$tmp/failover.out" 2>"$tmp/failover.err" &
client=$!
# once both are running, kill every server that runs one
for _ in $(seq 1 600); do
  r_alpha=$(num alpha running); r_beta=$(num beta running); r_gamma=$(num gamma running)
  [ $((r_alpha + r_beta + r_gamma)) -ge 2 ] && break
  sleep 0.05
done
victims=; dead_port=
[ "$r_gamma" -gt 0 ] && victims="$victims $pid_gamma" && dead_port=$port_gamma
[ "$r_beta" -gt 0 ] && victims="$victims $pid_beta" && dead_port=$port_beta
[ "$r_alpha" -gt 0 ] && victims="$victims $pid_alpha" && dead_port=$port_alpha
# shellcheck disable=SC2086
[ -n "$victims" ] && kill -9 $victims
if [ $((r_alpha + r_beta + r_gamma)) -eq 2 ] && wait "$client" && [ "$(cat "$tmp/failover.out")" = 42 ]; then
  ok "thunks of a killed server complete on another"
else not_ok "thunks of a killed server complete on another" "running: alpha $r_alpha, beta $r_beta, gamma $r_gamma" \
  "stdout: $(cat "$tmp/failover.out")" "stderr: $(cat "$tmp/failover.err")"; fi

got=$("$RTHUNK" --server "127.0.0.1:$dead_port" -e '(+ 1 1)' 2>&1); rc=$?
if [ "$rc" -eq 0 ] && echo "$got" | grep -q 'is down' && echo "$got" | grep -q '^2$'; then
  ok "with its only server down the shell starts, says so, and evaluates locally"
else not_ok "with its only server down the shell starts, says so, and evaluates locally" "exit $rc: $got"; fi

# an io thunk whose server dies is not retried
"$RTHUNK" --server "127.0.0.1:$port_near" --server "127.0.0.1:$port_store" \
  -e '(await (remote :needs "db" (do (delay 1500 1) (sql-exec "INSERT INTO items VALUES (\"fig\", 1)"))))' \
  >"$tmp/io.out" 2>"$tmp/io.err" &
client=$!
wait_for store running 1 || echo "# the io thunk never ran on store"
kill -9 "$pid_store"
if ! wait "$client" && grep -q 'side effects' "$tmp/io.err"; then ok "an io thunk of a killed server fails with a clear error"
else not_ok "an io thunk of a killed server fails with a clear error" "stdout: $(cat "$tmp/io.out")" "stderr: $(cat "$tmp/io.err")"; fi

[ "$failed" -eq 0 ]
