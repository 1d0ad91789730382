#!/usr/bin/python3
"""The fleet's registry, end to end: a real redis-server on a free loopback
port (and a 3-node Redis Cluster), rthunkd processes that register there (--registry), and the real
shell that follows it (--registry, RTHUNK_REGISTRY), through -e and a
pseudo-terminal (the Repl class of tests/test-repl.py).

Servers found at start and later, lost (killed: their record expires) and
gone (SIGTERM: their record is deleted at once), Redis killed under a
running shell, and reputation shared between two clients. Every wait is
on something observable (`:servers`, a counter, a key), bounded. Prints
TAP.
"""

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("test_shell_remote", os.path.join(HERE, "test-shell-remote.py"))
remote = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(remote)
Repl, Server, tap, results, TIMEOUT = remote.Repl, remote.Server, remote.tap, remote.results, remote.TIMEOUT

RTHUNK = os.environ.get("RTHUNK")
RTHUNKD = os.environ.get("RTHUNKD")
WRONG_PROVIDER = os.environ.get("WRONG_PROVIDER")
REDIS_SERVER = os.environ.get("REDIS_SERVER")
REDIS_CLI = os.environ.get("REDIS_CLI")
TTL = "2"                       # the registry TTL of the servers that get killed


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(predicate, timeout=TIMEOUT):
    """Polls @predicate until it holds (its value) or @timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


class Redis:
    """A real redis-server on a free loopback port, answering PING."""

    def __init__(self, tmp, *args):
        self.proc = None
        self.argv = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp] + list(args)
        for _ in range(5):
            self.port = free_port()
            if self.start():
                break
        self.url = "redis://127.0.0.1:%d" % self.port

    def start(self):
        """Starts it on its port: whether it answers PING."""
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port)] + self.argv,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return wait_until(lambda: self.cli("ping") == "PONG" or self.proc.poll() is not None, 10) and \
            self.proc.poll() is None

    def cli(self, *args):
        p = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                           capture_output=True, text=True)
        return p.stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class RedisCluster:
    """Three real redis-server nodes made one Redis Cluster
    (redis-cli --cluster create), each on a free loopback port."""

    def __init__(self, tmp):
        self.nodes = []
        for k in range(3):
            folder = os.path.join(tmp, "cluster-%d" % k)
            os.mkdir(folder)
            node = Redis(folder, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
            self.nodes.append(node)
        subprocess.run([REDIS_CLI, "--cluster", "create"] +
                       ["127.0.0.1:%d" % n.port for n in self.nodes] +
                       ["--cluster-replicas", "0", "--cluster-yes"], capture_output=True, timeout=TIMEOUT)
        wait_until(lambda: all("cluster_state:ok" in n.cli("cluster", "info") for n in self.nodes), 30)

    def owner(self, key):
        """The node that holds @key."""
        return next(n for n in self.nodes if n.cli("exists", key) == "1")

    def stop(self):
        for n in self.nodes:
            n.stop()


def registered(tmp, name, redis, *args):
    """An rthunkd named @name that registers in @redis."""
    return Server(name, tmp, "--registry", redis.url, "--store", "memory", *args)


def servers_listing(repl):
    """What `:servers` prints now."""
    repl.skip()
    repl.send(":servers\r")
    m = repl.expect(r"(?s)(.*?)\d+ remote thunks outstanding")
    return m.group(1) if m else ""


def wait_listing(repl, predicate, timeout=TIMEOUT):
    """`:servers` until @predicate holds of it: the listing, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = servers_listing(repl)
        if predicate(listing):
            return listing
        time.sleep(0.1)
    return None


def evaluate(repl, expr):
    """Sends @expr at the prompt; what it printed before the next prompt."""
    repl.expect(r"rthunk> ", 5)
    repl.skip()
    repl.send(expr + "\r")
    m = repl.expect(r"(?s)\n(.*?)rthunk> ")
    return m.group(1) if m else ""


def case_discovery(tmp, redis, alpha, beta):
    """A shell with --registry finds both servers; one started later joins
    and gets work; a killed one leaves once its record expires."""
    repl = Repl(tmp, ["--registry", redis.url])
    try:
        tap(repl.expect(r"rthunk> ") is not None, "the shell starts with --registry")
        listing = servers_listing(repl)
        tap(re.search(r"alpha +%s .*from=registry .*up" % re.escape(alpha.address), listing) is not None and
            re.search(r"beta +%s .*from=registry .*up" % re.escape(beta.address), listing) is not None,
            "the shell finds both registered servers, from the registry", listing)

        gamma = registered(tmp, "gamma", redis, "--registry-ttl-s", TTL)
        listing = wait_listing(repl, lambda l: "gamma" in l)
        tap(listing is not None and re.search(r"gamma +%s .*from=registry" % re.escape(gamma.address), listing),
            "a server started later appears in :servers", str(listing))
        before = gamma.counter("submitted")
        out = evaluate(repl, "(sum (pmap (fn [x] (* x x)) (range 0 3000)))")
        tap(gamma.counter("submitted") > before and "8995500500" in out,
            "work is routed to the server that joined",
            "gamma submitted %d -> %d; %s" % (before, gamma.counter("submitted"), out[-200:]))

        gamma.proc.kill()
        gamma.proc.wait()
        listing = wait_listing(repl, lambda l: "gamma" not in l, 30)
        tap(listing is not None and "alpha" in listing and "beta" in listing,
            "a killed server leaves :servers once its record expires", str(listing))
        gamma.out.close()
    finally:
        repl.close()


def case_sigterm(tmp, redis):
    """SIGTERM deletes the record at once (its TTL is long), and a following
    shell sees the server leave."""
    delta = registered(tmp, "delta", redis, "--registry-ttl-s", "600")
    key = "rthunk:{members}:" + delta.address
    tap(wait_until(lambda: redis.cli("exists", key) == "1", 10) is not None,
        "a registered server's record is in Redis", redis.cli("keys", "*"))
    ttl = int(redis.cli("ttl", key) or "-2")
    fields = redis.cli("hgetall", key).split("\n")
    record = dict(zip(fields[0::2], fields[1::2]))
    tap(0 < ttl <= 600 and record.get("name") == "delta" and record.get("address") == delta.address and
        "state" in record.get("capabilities", "") and len(record.get("catalog", "")) == 64 and
        record.get("load") == "0",
        "the record has a TTL and holds name, address, capabilities, catalog hash and load", str(record))
    repl = Repl(tmp, ["--registry", redis.url])
    try:
        repl.expect(r"rthunk> ")
        tap(wait_listing(repl, lambda l: "delta" in l, 10) is not None, "the shell lists delta")
        delta.proc.send_signal(signal.SIGTERM)
        code = delta.proc.wait(timeout=TIMEOUT)
        tap(code == 0 and redis.cli("exists", key) == "0" and
            delta.address not in redis.cli("smembers", "rthunk:{members}:all"),
            "a clean SIGTERM removes the record at once", "exit %d, exists %s" % (code, redis.cli("exists", key)))
        tap(wait_listing(repl, lambda l: "delta" not in l, 10) is not None,
            "the shell sees delta leave (its leave message), well before a TTL")
        delta.out.close()
    finally:
        repl.close()


def case_env_and_flags(tmp, redis, alpha, beta):
    """RTHUNK_REGISTRY works as --registry; a --server stays a flag's."""
    code, out, err = shell_env(["--server", alpha.address, "-e", "(await (remote :on \"beta\" (server-name)))"],
                               {"RTHUNK_REGISTRY": redis.url})
    tap(code == 0 and out.strip() == '"beta"', "RTHUNK_REGISTRY finds the registered servers", out + err)
    repl = Repl(tmp, ["--server", alpha.address], {"RTHUNK_REGISTRY": redis.url})
    try:
        repl.expect(r"rthunk> ")
        listing = servers_listing(repl)
        tap(re.search(r"alpha .*from=flag", listing) is not None and
            re.search(r"beta .*from=registry", listing) is not None and listing.count("alpha ") == 1,
            ":servers says where each server came from; one named by a flag is listed once", listing)
    finally:
        repl.close()


def shell_env(args, env):
    environ = dict(os.environ)
    environ.update(env)
    p = subprocess.run([RTHUNK] + args, capture_output=True, text=True, timeout=TIMEOUT, env=environ)
    return p.returncode, p.stdout, p.stderr


def case_shared_reputation(tmp, redis):
    """A lying server caught by one client's audits is quarantined for a
    second client, which never audits."""
    liar = Server("liar", tmp, "--registry", redis.url, "--store", "memory", program=WRONG_PROVIDER)
    want = subprocess.run([RTHUNK, "--local", "-e", "(map (fn [i] (+ i 1)) (range 0 30))"],
                          capture_output=True, text=True).stdout
    form = "(map (fn [i] (await (remote (+ i 1)))) (range 0 30))"
    code, out, err = shell_env(["--registry", redis.url, "--audit", "1", "-e", form], {})
    tap(code == 0 and out == want and err.count("server liar is quarantined") == 1,
        "the first client's audits quarantine the liar", "exit %d: %s %s" % (code, out, err))
    key = "rthunk:{members}:reputation:" + liar.address
    fields = redis.cli("hgetall", key).split("\n")
    shared = dict(zip(fields[0::2], fields[1::2]))
    tap(shared.get("quarantined") == "1" and int(shared.get("disagreements", "0")) >= 1,
        "the liar's reputation is in Redis, quarantined", str(shared))
    before = liar.counter("submitted")
    code, out, err = shell_env(["--registry", redis.url, "-e", form], {})
    tap(code == 0 and out == want and "server liar is quarantined: another client" in err and
        liar.counter("submitted") == before,
        "a second client that never audited does not use the liar",
        "exit %d, liar submitted %d -> %d: %s %s" % (code, before, liar.counter("submitted"), out, err))
    liar.stop()


def case_verdicts_kept(tmp, redis):
    """Verdicts the registry refuses are kept and sent at the next sync: a
    running shell's audits catch a liar while its reputation key holds a
    string (Redis answers WRONGTYPE); once the key is gone they arrive."""

    def refused_hincrby():
        """How many HINCRBY Redis has refused (its commandstats)."""
        m = re.search(r"cmdstat_hincrby:.*failed_calls=(\d+)", redis.cli("info", "commandstats"))
        return int(m.group(1)) if m else 0

    liar = Server("liar2", tmp, "--registry", redis.url, "--store", "memory", program=WRONG_PROVIDER)
    key = "rthunk:{members}:reputation:" + liar.address
    redis.cli("set", key, "not a hash")
    refused_before = refused_hincrby()
    repl = Repl(tmp, ["--registry", redis.url, "--audit", "1"])
    try:
        repl.expect(r"rthunk> ")
        tap(wait_listing(repl, lambda l: "liar2" in l, 10) is not None, "the shell lists liar2")
        evaluate(repl, "(map (fn [i] (await (remote (+ i 1)))) (range 0 30))")

        def reputation():
            fields = redis.cli("hgetall", key).split("\n")
            return dict(zip(fields[0::2], fields[1::2]))

        refused = wait_until(lambda: refused_hincrby() > refused_before, 10)
        tap(refused is not None and "server liar2 is quarantined" in repl.text() and
            redis.cli("get", key) == "not a hash",
            "the audits quarantine liar2, and the registry refuses its verdicts", repl.text()[-800:])
        redis.cli("del", key)
        shared = wait_until(lambda: reputation().get("quarantined") == "1", 10)
        counts = reputation()
        tap(shared is not None and int(counts.get("disagreements", "0")) >= 1,
            "the verdicts kept reach the registry once it takes them", "%s\n%s" % (counts, repl.text()[-500:]))
    finally:
        repl.close()
        liar.stop()


def case_redis_killed(tmp, redis, alpha, beta):
    """Redis killed under a running shell: its servers are kept, requests
    answered, and it says so once; the servers warn once and serve on."""
    repl = Repl(tmp, ["--registry", redis.url])
    try:
        repl.expect(r"rthunk> ")
        tap(wait_listing(repl, lambda l: "alpha" in l and "beta" in l, 10) is not None,
            "the shell lists alpha and beta")
        redis.stop()
        m = repl.expect(r"registry redis://127\.0\.0\.1:\d+: .*keeping the \d+ servers known", 10)
        tap(m is not None, "the shell says once that the registry does not answer", repl.text()[-500:])
        answers = [evaluate(repl, "(await (remote :on \"%s\" (server-name)))" % n) for n in ("alpha", "beta")]
        answers.append(evaluate(repl, "(await (remote (+ 40 2)))"))
        listing = servers_listing(repl)
        text = repl.text()
        tap('"alpha"' in answers[0] and '"beta"' in answers[1] and "42" in answers[2] and
            "alpha" in listing and "beta" in listing and len(re.findall(r"keeping the \d+ servers known", text)) == 1,
            "with Redis gone the shell keeps its servers and answers", "%s\n%s" % (answers, text[-800:]))
        warned = wait_until(lambda: alpha.log().count("serving on, and registering again") == 1, 10)
        tap(warned is not None and alpha.counter("submitted") >= 0,
            "rthunkd warns once and serves on", alpha.log()[-500:])

        # Redis back, empty: the shell keeps its servers until they have
        # registered again, and they do
        redis.start()
        back = repl.expect(r"registry redis://127\.0\.0\.1:\d+ answers again", 20)
        listing = servers_listing(repl)
        key = "rthunk:{members}:" + alpha.address
        again = wait_until(lambda: redis.cli("exists", key) == "1", 30)
        later = servers_listing(repl)
        tap(back is not None and "alpha" in listing and "beta" in listing and again is not None and
            "alpha" in later and "beta" in later and "registered again" in alpha.log(),
            "Redis restarted empty: the shell keeps alpha and beta while they register again",
            "%s\n%s\n%s" % (listing, later, alpha.log()[-300:]))
    finally:
        repl.close()


def case_cluster(tmp):
    """The registry in a Redis Cluster: servers register through one node,
    a shell follows through another, and finds them (the registry's keys
    share one slot); one that registers later joins."""
    cluster = RedisCluster(tmp)
    first, second = cluster.nodes[0], cluster.nodes[1]
    servers = []
    try:
        servers.append(registered(tmp, "rho", first))
        servers.append(registered(tmp, "sigma", second))
        holder = wait_until(lambda: cluster.owner("rthunk:{members}:all") if any(
            n.cli("exists", "rthunk:{members}:all") == "1" for n in cluster.nodes) else None, 10)
        keys = [k for k in (holder.cli("keys", "rthunk:*").split("\n") if holder else []) if k]
        tap(holder is not None and len(keys) == 3,
            "in a Redis Cluster the registry's keys live on one node", str(keys))
        repl = Repl(tmp, ["--registry", "redis://127.0.0.1:%d" % cluster.nodes[2].port])
        try:
            repl.expect(r"rthunk> ")
            listing = wait_listing(repl, lambda l: "rho" in l and "sigma" in l, 10)
            tap(listing is not None and listing.count("from=registry") == 2,
                "a shell following the cluster through a third node finds both servers", str(listing))
            servers.append(registered(tmp, "tau", first))
            listing = wait_listing(repl, lambda l: "tau" in l)
            out = evaluate(repl, "(await (remote :on \"tau\" (server-name)))")
            tap(listing is not None and '"tau"' in out, "a server that registers later joins, through the cluster",
                "%s\n%s" % (listing, out))
        finally:
            repl.close()
    finally:
        for s in servers:
            s.stop()
        cluster.stop()


def main():
    if not RTHUNK or not RTHUNKD or not WRONG_PROVIDER:
        print("1..1\nnot ok 1 - RTHUNK, RTHUNKD and WRONG_PROVIDER are set (run through make check)")
        return 1
    if not REDIS_SERVER or not os.access(REDIS_SERVER, os.X_OK) or not REDIS_CLI:
        print("1..0 # SKIP redis-server or redis-cli not found")
        return 0
    tmp = tempfile.mkdtemp(prefix="rthunk-registry.")
    servers = []
    redis = Redis(tmp)
    try:
        alpha = registered(tmp, "alpha", redis)
        servers.append(alpha)
        beta = registered(tmp, "beta", redis)
        servers.append(beta)
        case_discovery(tmp, redis, alpha, beta)
        case_sigterm(tmp, redis)
        case_env_and_flags(tmp, redis, alpha, beta)
        case_shared_reputation(tmp, redis)
        case_verdicts_kept(tmp, redis)
        case_redis_killed(tmp, redis, alpha, beta)
        case_cluster(tmp)
    finally:
        for s in servers:
            s.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
