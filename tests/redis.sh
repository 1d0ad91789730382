# redis.sh — sourced after servers.sh by the test scripts that start real
# redis-server processes: a free loopback port, a redis-server on it
# answering PING, redis-cli talking to it, and waiting for an entry.

free_port() { "$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# the TLS flags of redis-cli, when the Redis it talks to is TLS only
redis_cli_tls=
# redis ARGS…: redis-cli on $rport
redis() { "$REDIS_CLI" -h 127.0.0.1 -p "$rport" $redis_cli_tls "$@"; }
# the flag start_redis gives the port it picks (--tls-port: TLS only, with
# --port 0 among the arguments)
redis_port_flag=--port
# start_redis ARGS…: a redis-server on a free loopback port, answering
# PING; sets $rport and $rpid
start_redis() {
  for _ in 1 2 3 4 5; do
    rport=$(free_port)
    "$REDIS_SERVER" "$redis_port_flag" "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" "$@" \
      >"$tmp/redis-$rport.log" 2>&1 &
    rpid=$!
    pids="$pids $rpid"
    for _ in $(seq 1 100); do
      redis ping 2>/dev/null | grep -q 'PONG\|NOAUTH' && return 0
      kill -0 "$rpid" 2>/dev/null || break
      sleep 0.05
    done
  done
  return 1
}
# waits until Redis holds an entry of the kind $1 (r or d); prints its key
wait_entry() {
  for _ in $(seq 1 200); do
    key=$(redis --scan --pattern "rthunk:$1:*" | head -n 1)
    [ -n "$key" ] && { echo "$key"; return 0; }
    sleep 0.05
  done
  return 1
}
