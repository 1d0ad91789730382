#!/usr/bin/python3
"""The shell against real rthunkd servers: what a user sees of remote work.

Starts rthunkd processes on loopback ports and drives the real shell, with
-e and through a pseudo-terminal (the Repl class of tests/test-repl.py);
reads the servers' counters (getServerInfo) through the library's
introspection (PyGObject), and waits on them, never on a bare sleep.
Prints TAP.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Rthunk", "1.0")
from gi.repository import Rthunk  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("test_repl", os.path.join(HERE, "test-repl.py"))
repl_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(repl_mod)
Repl, tap, results, TIMEOUT = repl_mod.Repl, repl_mod.tap, repl_mod.results, repl_mod.TIMEOUT

RTHUNK = os.environ.get("RTHUNK")
RTHUNKD = os.environ.get("RTHUNKD")


class Server:
    """A real rthunkd (or another provider: @program) on a free loopback
    port; its standard output and error go to NAME.out."""

    def __init__(self, name, tmp, *args, program=None):
        self.name = name
        self.out = open(os.path.join(tmp, name + ".out"), "w+")
        self.proc = subprocess.Popen([program or RTHUNKD, "--port", "0", "--name", name] + list(args),
                                     stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        self.address = None
        while self.address is None and time.monotonic() < deadline:
            self.out.seek(0)
            m = re.search(r"listening on (\S+:\d+)", self.out.read())
            if m:
                self.address = m.group(1)
            else:
                time.sleep(0.05)
        assert self.address, "%s did not start" % name
        self.client = Rthunk.Client.new(self.address)
        self.client.connect()

    def counter(self, name):
        return self.client.get_server_info().unpack()["counters"][name]

    def wait_counter(self, name, at_least, timeout=TIMEOUT):
        """Waits until counter @name reaches @at_least; its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.counter(name)
            if value >= at_least or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def log(self):
        """What it wrote so far."""
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.out.close()


def shell(servers, *args):
    """Runs the shell with @servers and @args: (exit code, stdout, stderr)."""
    argv = [RTHUNK]
    for s in servers:
        argv += ["--server", s.address]
    p = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def expect_shell(servers, name, want_rc, want_out, *args, err=None):
    rc, out, errtext = shell(servers, *args)
    ok = (rc == 0) == (want_rc == 0) and (want_out is None or out.strip() == want_out)
    ok = ok and (err is None or re.search(err, errtext) is not None)
    tap(ok, name, "exit %d\nstdout: %s\nstderr: %s" % (rc, out, errtext))


def info(server):
    return server.client.get_server_info().unpack()


def wait_info(server, ok, timeout=TIMEOUT):
    """Waits until @ok holds of @server's getServerInfo; the last one read."""
    deadline = time.monotonic() + timeout
    while True:
        last = info(server)
        if ok(last) or time.monotonic() > deadline:
            return last
        time.sleep(0.05)


# ---- 5: pipelining between cells ---------------------------------------------------------

def check_pipelined(alpha, before, what):
    """q2 (reading q1) reached alpha as a pipelined thunk while q1 ran (or
    waited for a worker: on a loaded machine a worker may not have taken q1
    yet, so both are counted, running or queued, and none completed)."""
    seen = wait_info(alpha, lambda i: i["counters"]["pipelined"] >= before["counters"]["pipelined"] + 1)
    counters = seen["counters"]
    tap(counters["pipelined"] == before["counters"]["pipelined"] + 1,
        "%s: the reader reaches alpha pipelined, naming the running cell's thunk" % what,
        "pipelined %d, then %d" % (before["counters"]["pipelined"], counters["pipelined"]))
    tap(counters["submitted"] >= before["counters"]["submitted"] + 2 and
        counters["completed"] == before["counters"]["completed"] and
        seen["running"] + seen["queued"] >= 2,
        "%s: both are submitted while the first still runs" % what, repr(seen))


def case_pipelined_cells(alpha, home):
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        before = info(alpha)
        repl.send('(def q1 (remote :on "alpha" (delay 4000 10)))\r')
        repl.expect(r"q1 : int = <pending")
        repl.send('(def q2 (remote :on "alpha" (+ q1 1)))\r')
        m = repl.expect(r"q2 : int = <pending ([^>]*)>")
        tap(m is not None and not m.group(1).startswith("after"),
            "a cell reading a running remote cell is submitted, not waiting", repl.text()[-2000:])
        check_pipelined(alpha, before, "cells")
        tap(repl.expect(r"q2 = 11  \(") is not None, "the pipelined cell's value arrives", repl.text()[-2000:])
    finally:
        repl.close()
    script = os.path.join(home, "chain.rth")
    with open(script, "w") as f:
        f.write('(def q1 (remote :on "alpha" (delay 4000 20)))\n'
                '(def q2 (remote :on "alpha" (+ q1 1)))\n'
                '(def ok (if (= q2 21) 0 (/ 1 0)))\n')
    before = info(alpha)
    proc = subprocess.Popen([RTHUNK, "--server", alpha.address, script],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        check_pipelined(alpha, before, "a script")
        out, _ = proc.communicate(timeout=TIMEOUT)
        tap(proc.returncode == 0, "the script's pipelined cell has the right value", out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---- 1: a pipelined chain is cancelled on its server -------------------------------------

def case_chain_cancel(alpha, home):
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        before = info(alpha)
        repl.send("(def chain (let [a (remote (delay 50000 1)) b (remote (+ a 1))] (remote (+ b 1))))\r")
        repl.expect(r"chain : int = <pending")
        seen = wait_info(alpha, lambda i: i["counters"]["pipelined"] >= before["counters"]["pipelined"] + 2)
        tap(seen["running"] + seen["queued"] >= 1 and
            seen["counters"]["pipelined"] == before["counters"]["pipelined"] + 2 and
            seen["counters"]["completed"] == before["counters"]["completed"],
            "a chain of three links runs on alpha, two of them pipelined", repr(seen))
        repl.send(":cancel chain\r")
        m = repl.expect(r"cancelled \(alpha confirmed\)|cancel sent to")
        tap(m is not None and m.group(0).startswith("cancelled"), ":cancel says alpha confirmed it",
            repl.text()[-2000:])
        # the first link is cancelled; the links behind it fail with it
        after = wait_info(alpha, lambda i: i["running"] == 0 and i["queued"] == 0 and
                          i["counters"]["cancelled"] >= before["counters"]["cancelled"] + 1)
        # every link stops: none of them completes
        stopped = (after["running"] == 0 and after["queued"] == 0 and
                   after["counters"]["cancelled"] >= before["counters"]["cancelled"] + 1 and
                   after["counters"]["completed"] == before["counters"]["completed"])
        tap(stopped, "every link of the chain stops on alpha", "before %r after %r" % (before, after))
        sys.stdout.flush()
    finally:
        repl.close()


# ---- 2: Ctrl-C on local work --------------------------------------------------------------

def case_ctrl_c_local(home):
    repl = Repl(home, ["--local"])
    try:
        repl.expect(r"rthunk> ")
        repl.send("(loop [i 0] (if (< i 900000000) (recur (+ i 1)) i))\r")
        repl.expect(r"\(loop .*\)\n")
        repl.send("\x03")
        tap(repl.expect(r"cancelled \(local evaluation\)") is not None,
            "one Ctrl-C stops the local work", repl.text()[-2000:])
        repl.send("(+ 1 1)\r")
        started = time.monotonic()
        m = repl.expect(r"\n2\n|=> 900000000")
        took = time.monotonic() - started
        tap(m is not None and m.group(0) == "\n2\n" and took < 10,
            "the next input is answered while the long evaluation goes on (%.2f s)" % took,
            repl.text()[-2000:])
    finally:
        repl.close()


# ---- 9: the server's reason for a cancel --------------------------------------------------

def case_drain_reason(home):
    delta = Server("delta", home, "--drain-timeout-ms", "200")
    try:
        proc = subprocess.Popen([RTHUNK, "--server", delta.address, "-e", "(await (remote (delay 50000 1)))"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # the shell's await reaches delta (a waiter there) before delta
            # stops: one that had not connected yet would only be refused
            seen = wait_info(delta, lambda i: i["running"] >= 1 and i["counters"]["waiters"] >= 1)
            delta.proc.terminate()
            out, err = proc.communicate(timeout=TIMEOUT)
            tap(seen["running"] >= 1 and seen["counters"]["waiters"] >= 1 and proc.returncode != 0 and
                "server shut down before the thunk finished" in err and "the thunk was cancelled" not in err,
                "a thunk cancelled by the server's drain says the server shut down",
                "running %d, waiters %d\nstdout: %s\nstderr: %s" % (seen["running"], seen["counters"]["waiters"], out, err))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        delta.stop()


# ---- 7: silent wrong answers and silent typos ------------------------------------------

def case_preduce_assoc(alpha):
    expect_shell([alpha], "preduce refuses an operation that is not associative", 1, None,
                 "-e", "(preduce - 0 (fn [i] i) 0 100)",
                 err="preduce needs an associative operation, and “-” is not")
    expect_shell([alpha], "preduce refuses a lambda not declared associative", 1, None,
                 "-e", "(preduce (fn [a b] (+ a b)) 0 (fn [i] i) 0 100)",
                 err=r"write \(assoc-fn OP\)")
    expect_shell([alpha], "preduce takes a catalog function with the assoc flag", 0, "4950",
                 "-e", "(preduce + 0 (fn [i] i) 0 100)")
    expect_shell([alpha], "preduce takes a user function declared with assoc-fn", 0, "4950",
                 "-e", "(defn plus [a b] (+ a b)) (preduce (assoc-fn plus) 0 (fn [i] i) 0 100)")
    expect_shell([alpha], "a local - that shadows the catalog's is not taken for it", 1, None,
                 "-e", "(let [max -] (preduce max 0 (fn [i] i) 0 100))",
                 err="preduce needs an associative operation")


def case_records(alpha):
    """Records printed as they come back from alpha; a missing field is a
    type error at the client, which names the field and the record's
    fields, and nothing is sent."""
    expect_shell([alpha], "a record built on alpha prints with its fields in order", 0,
                 '{:age 37 :name "ada"}',
                 "-e", '(await (remote :on "alpha" (assoc {:name "ada" :age 36} :age 37)))')
    expect_shell([alpha], "a cell holding a record is sent to alpha", 0, '["age" "name"]',
                 "-e", '(def p {:name "ada" :age 36}) (await (remote (keys p)))')
    expect_shell([alpha], "a record holding a remote value prints once the value arrived", 0,
                 "{:a 3 :b 2}", "-e", '(def r {:a (remote :on "alpha" (+ 1 2)) :b 2}) r')
    expect_shell([alpha], "str of a record waits for the remote values inside it", 0,
                 '"{:a 3 :b [4]}"', "-e", '(str {:a (remote (+ 1 2)) :b [(remote 4)]})')
    expect_shell([alpha], "a list of records comes back", 0, "[{:n 0} {:n 1} {:n 2}]",
                 "-e", "(await (remote (map (fn [i] {:n i}) (range 0 3))))")
    before = alpha.counter("submitted")
    expect_shell([alpha], "a missing field is an error before anything is sent", 1, None,
                 "-e", '(def p {:name "ada" :age 36}) (await (remote (:salary p)))',
                 err="no field “:salary”; its fields: :age :name")
    tap(alpha.counter("submitted") == before, "the expression with the missing field never reached alpha",
        "submitted %d then %d" % (before, alpha.counter("submitted")))
    expect_shell([alpha], "maybe values come back from alpha as nil or the value", 0,
                 '[{:age 36 :name "ada"} {:age nil :name "bob"}]',
                 "-e", '(await (remote (map (fn [row] {:name (head row) :age (parse-int (nth row 1))}) '
                       '[["ada" "36"] ["bob" "?"]])))')
    expect_shell([alpha], "or-else gives the default for an absent value", 0, "36",
                 "-e", '(await (remote (+ (or-else (parse-int "x") 0) (or-else (parse-int "36") 0))))')


def case_timeout(alpha, home):
    expect_shell([alpha], "an unknown remote option says which one was meant", 1, None,
                 "-e", "(remote :timout 100 1)", err="did you mean :timeout")
    expect_shell([alpha], ":timeout within its deadline gives the value", 0, "1",
                 "-e", "(await (remote :timeout 60000 (delay 10 1)))")
    before = alpha.counter("cancelled")
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        repl.send("(await (remote :timeout 300 (delay 600000 1)))\r")
        m = repl.expect(r"did not finish within its :timeout of 300 ms, and was cancelled on alpha")
        tap(m is not None, ":timeout fails the wait with a clear error", repl.text()[-2000:])
        after = alpha.wait_counter("cancelled", before + 1)
        tap(after >= before + 1, ":timeout cancels the thunk on its server",
            "cancelled %d, then %d" % (before, after))
    finally:
        repl.close()


# ---- 6: large values ----------------------------------------------------------------------

BIG = "(range 0 2000000)"
BIG_SUM = str(sum(range(0, 2000000)))
# a string larger than a frame (8 MiB): the printed list, about 14.9 MB
BIG_STR = "(str %s)" % BIG
BIG_STR_TEXT = "[" + " ".join(str(i) for i in range(0, 2000000)) + "]"
# its length, its first 12 and its last 8 bytes, as one string
BIG_STR_PROBE = ('(let [s %s] (concat (str (str-len s)) (concat (substr s 0 12) '
                 '(substr s (- (str-len s) 8) 8))))')
BIG_STR_SEEN = '"%d%s%s"' % (len(BIG_STR_TEXT), BIG_STR_TEXT[:12], BIG_STR_TEXT[-8:])


def expect_ref_printed(alpha, home, form, pattern, name):
    """(def big (remote :ref FORM)), then `big` at the prompt prints @pattern."""
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        repl.send("(def big (remote :ref %s))\r" % form)
        repl.expect(r"rthunk> ")
        repl.skip()
        repl.send("big\r")
        tap(repl.expect(pattern) is not None, name, repl.text()[-2000:])
    finally:
        repl.close()


def case_large_values(alpha, beta, tight, home):
    expect_shell([alpha], "a large sum computed remotely needs no chunks", 0, BIG_SUM,
                 "-e", "(await (remote (sum %s)))" % BIG)
    expect_shell([alpha], "a 2M-item list fetched by value, summed locally", 0, BIG_SUM,
                 "-e", "(sum (await (remote %s)))" % BIG)
    expect_ref_printed(alpha, home, BIG, r"\[0 1 2 3 4 5 6 7 8 9 … 1999999\] \(2000000 items\)",
                       "a large referenced list prints its head and its length")
    before = beta.counter("fetched")
    expect_shell([alpha, beta], "a large list held by alpha is an input of a form on beta", 0, BIG_SUM,
                 "-e", '(def big (remote :on "alpha" :ref %s)) (await (remote :on "beta" (sum big)))' % BIG)
    tap(beta.counter("fetched") >= before + 1, "beta fetched the list from alpha in chunks",
        "fetched %d, then %d" % (before, beta.counter("fetched")))
    expect_shell([alpha, tight], "a fetch beyond the memory budget fails clearly", 1, None,
                 "-e", '(def big (remote :on "alpha" :ref %s)) (await (remote :on "tight" (sum big)))' % BIG,
                 err="server memory budget reached: a list fetched in chunks")
    case_large_string(alpha, beta, tight, home)


def case_large_string(alpha, beta, tight, home):
    expect_shell([alpha], "a string larger than a frame arrives whole and equal", 0, BIG_STR_SEEN,
                 "-e", BIG_STR_PROBE % ("(await (remote %s))" % BIG_STR))
    rc, out, errtext = shell([alpha], "-e", "(await (remote %s))" % BIG_STR)
    tap(rc == 0 and out == '"%s"\n' % BIG_STR_TEXT, "a large string prints whole with -e",
        "exit %d, %d bytes\nstderr: %s" % (rc, len(out), errtext))
    expect_ref_printed(alpha, home, BIG_STR, r'"\[0 1 2 3 4 5 [^"]*"… \(%d characters\)' % len(BIG_STR_TEXT),
                       "a large referenced string prints its head and its length")
    before = beta.counter("fetched")
    expect_shell([alpha, beta], "a large string held by alpha is an input of a form on beta", 0,
                 BIG_STR_SEEN, "-e", '(def big (remote :on "alpha" :ref %s)) (await (remote :on "beta" %s))'
                 % (BIG_STR, BIG_STR_PROBE % "big"))
    tap(beta.counter("fetched") >= before + 1, "beta fetched the string from alpha in chunks",
        "fetched %d, then %d" % (before, beta.counter("fetched")))
    expect_shell([alpha, tight], "a string fetched beyond the memory budget fails clearly", 1, None,
                 "-e", '(def big (remote :on "alpha" :ref %s)) (await (remote :on "tight" (str-len big)))'
                 % BIG_STR, err="server memory budget reached: a string fetched in chunks")


# ---- 8: waiting that a person can see --------------------------------------------------

STATUS = r"waiting for #[0-9a-f]+ @alpha \(running \d+\.\d s\) · 1 pending on alpha, oldest \d+\.\d s · alpha up"


def redrawn_then(drawn, times, erased, *after):
    """The status line in @drawn was drawn @times or more on one line (no
    newline: in place), then @erased, then the texts @after."""
    plain = drawn.replace("\x1b[2m", "").replace("\x1b[0m", "")
    first = plain.find("waiting for")
    end = plain.find(erased, plain.rfind("waiting for"))
    rest = plain[end:] if end >= 0 else ""
    return (0 <= first < end and plain.count("waiting for", first, end) >= times and "\n" not in plain[first:end]
            and all(text in rest for text in after))


def case_status_line(alpha, home):
    repl = Repl(home, ["--server", alpha.address], {"NO_COLOR": None})
    try:
        repl.expect(r"rthunk> ")
        repl.skip()
        start = len(repl.raw)
        repl.send("(remote (delay 3000 42))\r")
        m = repl.expect(STATUS)
        tap(m is not None, "while the REPL waits, a status line says for what, how long, how many, "
            "and the servers", repl.raw[start:][-2000:])
        m = repl.expect(r"42\n")  # the whole line: `$` would match before its end arrives
        drawn = repl.raw[start:]
        tap(m is not None and redrawn_then(drawn, 2, "\r\x1b[K42\r\n"),
            "the status line is redrawn in place and the value replaces it", repr(drawn[-2000:]))
        repl.expect(r"rthunk> ")
        repl.skip()
        start = len(repl.raw)
        repl.send("(remote (delay 600000 7))\r")
        repl.expect(STATUS)
        repl.send("\x03")
        m = repl.expect(r"stopped waiting")
        drawn = repl.raw[start:]
        tap(m is not None and redrawn_then(drawn, 1, "\r\x1b[K", "stopped waiting"),
            "Ctrl-C erases the status line", repr(drawn[-2000:]))
        repl.expect(r"rthunk> ")
        repl.send("\x03")
        repl.expect(r"cancel")
        tap("waiting for" not in repl.raw[repl.raw.index("stopped waiting", start):],
            "no status line once the REPL stopped waiting", repr(repl.raw[start:][-2000:]))
    finally:
        repl.close()
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        start = len(repl.raw)
        repl.send("(remote (delay 1500 43))\r")
        m = repl.expect(r"(?m)43$")
        tap(m is not None and "waiting for" not in repl.raw[start:], "with NO_COLOR no status line",
            repr(repl.raw[start:][-2000:]))
    finally:
        repl.close()
    rc, out, errtext = shell([alpha], "-e", "(await (remote (delay 1500 44)))")
    tap(rc == 0 and out == "44\n" and "waiting for" not in errtext, "piped, -e prints no status line",
        "exit %d\nstdout: %r\nstderr: %r" % (rc, out, errtext))
    p = subprocess.run([RTHUNK, "--server", alpha.address], input="(print (await (remote (delay 1500 45))))\n",
                       capture_output=True, text=True, timeout=TIMEOUT)
    tap(p.returncode == 0 and p.stdout == "45\n" and "waiting for" not in p.stderr,
        "a script on stdin prints no status line", "stdout: %r\nstderr: %r" % (p.stdout, p.stderr))


def case_status_progress(alpha, beta, home):
    """A pmap over two servers: its chunks' progress, as a bar, while the
    REPL waits for the value; the chunks run on both servers."""
    repl = Repl(home, ["--server", alpha.address, "--server", beta.address], {"NO_COLOR": None})
    try:
        repl.expect(r"rthunk> ")
        repl.skip()
        start = len(repl.raw)
        repl.send("(pmap (fn [x] (delay (* x 1000) x)) [1 6])\r")
        m = repl.expect(r"waiting for [^\r]* pending on (alpha|beta), oldest \d+\.\d s · \[#####-----\] 1/2 done")
        tap(m is not None, "a pmap's status line shows its chunks done as a bar, where the rest runs and its age",
            repr(repl.raw[start:][-2000:]))
        m = repl.expect(r"\[1 6\]")
        tap(m is not None, "the pmap's value replaces the bar", repr(repl.raw[start:][-2000:]))
    finally:
        repl.close()


# ---- 9: smaller things -------------------------------------------------------------------

def case_small_things(alpha, home):
    expect_shell([], "the embedded provider serves server-name", 0, '"embedded"',
                 "-e", "(await (remote (server-name)))")
    expect_shell([alpha], "an infinite float prints as the reader reads it", 0, "##Inf",
                 "-e", "(/ 1.0 0.0)")
    expect_shell([alpha], "##Inf and ##NaN read back", 0, "[##Inf ##-Inf ##NaN]",
                 "-e", "[##Inf (- 0.0 ##Inf) (+ ##NaN 1.0)]")
    repl = Repl(home, ["--server", alpha.address])
    try:
        repl.expect(r"rthunk> ")
        for name, want, what in [
                ("pmap", r"\(\(a -> b\) \[a\] -> \[b\]\)", ":type pmap gives its type"),
                ("preduce", r"\(\(b b -> b\) b \(int -> b\) int int -> b\)", ":type preduce gives its type"),
                ("server-name", r"\(-> str\)", ":type of a function only servers provide")]:
            repl.send(":type %s\r" % name)
            tap(repl.expect(want) is not None, what, repl.text()[-2000:])
        repl.send(":help\r")
        tap(repl.expect(r"Special forms:[\s\S]*loop recur[\s\S]*\(pmap F XS\)") is not None,
            ":help lists the special forms", repl.text()[-2000:])
        repl.expect(r"rthunk> ")
        repl.skip()
        repl.send(":servers\r")
        m = repl.expect(r"remote thunks outstanding")
        listing = repl.text()[max(0, repl.mark - 2000) if m else 0:]
        tap(m is not None and len(re.findall(re.escape(alpha.address), listing)) == 1,
            ":servers names each server once", listing)
        repl.skip()
        repl.send("(psu\t")
        tap(repl.expect(r"\(psum") is not None, "psum tab-completes", repl.text()[-2000:])
    finally:
        repl.close()


def case_reply_spin(alpha):
    """RTHUNK_REPLY_SPIN_US: awaited calls that spin for their replies
    (the whole loop, replies caught spinning or not) give the right
    values; a value out of range is ignored, not fatal."""
    loop = "(loop [i 0 s 0] (if (< i 500) (recur (+ i 1) (+ s (await (remote (+ i 1))))) s))"
    for spin, what in [("100000", "awaited calls spinning for their replies give the right sum"),
                       ("lots", "an RTHUNK_REPLY_SPIN_US that is not a number is ignored")]:
        env = dict(os.environ, RTHUNK_REPLY_SPIN_US=spin)
        p = subprocess.run([RTHUNK, "--server", alpha.address, "-e", loop], capture_output=True,
                           text=True, timeout=TIMEOUT, env=env)
        tap(p.returncode == 0 and p.stdout.strip() == "125250", what,
            "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout, p.stderr))


# ---- automatic placement: (auto …), :placement auto, :why -----------------------------------

def auto_step(repl, alpha, form, value, why, what):
    """Evaluates @form in @repl; its value and :why must match; the number
    of thunks it submitted to @alpha."""
    before = alpha.counter("submitted")
    repl.skip()
    repl.send(form + "\r")
    got = repl.expect(value)
    repl.expect(r"rthunk> ")
    repl.skip()
    repl.send(":why\r")
    said = repl.expect(why)
    tap(got is not None and said is not None, what, repl.text()[-2000:])
    return alpha.counter("submitted") - before


def auto_repl(home, servers):
    """A shell using @servers, with :placement auto."""
    repl = Repl(home, sum((["--server", s.address] for s in servers), []))
    repl.expect(r"rthunk> ")
    repl.send(":placement auto\r")
    repl.expect(r"placement: auto")
    return repl


def case_auto_placement(alpha, home):
    loop = "(loop [i 0 acc 0] (if (< i 1000000) (recur (+ i 1) (+ acc i)) acc))"
    repl = auto_repl(home, [alpha])
    try:
        sent = auto_step(repl, alpha, "(* 6 7)", r"\b42\b", r"local: operators on values, no call, loop or io",
                         "auto: a bounded expression runs here unmeasured, in the shell's thread, :why says so")
        cheap = "(let [x 6] (* x 7))"
        sent += auto_step(repl, alpha, cheap, r"\b42\b", r"local: not measured yet",
                          "auto: a first-time cheap expression runs here within a probe, :why says so")
        sent += auto_step(repl, alpha, cheap, r"\b42\b", r"local: measured [0-9.]+ ms ≤ round trip "
                          r"[0-9.]+ ms to alpha", "auto: a cheap measured expression stays local, :why says so")
        tap(sent == 0, "auto: the cheap expressions never reach the server", "submitted %d" % sent)
        sent = auto_step(repl, alpha, loop, r"\b499999500000\b", r"remote: it ran past 100000 steps here \(",
                         "auto: a costly expression runs out of its probe and goes remote, :why says so")
        tap(sent == 1, "auto: the costly expression was submitted once", "submitted %d" % sent)
        sent = auto_step(repl, alpha, loop, r"\b499999500000\b", r"remote: it ran past 100000 steps here before",
                         "auto: measured costly, it goes straight to the server")
        tap(sent == 1, "auto: the measured costly expression is submitted once", "submitted %d" % sent)
        middling = "(loop [i 0 acc 0] (if (< i 60000) (recur (+ i 1) (+ acc i)) acc))"
        sent = auto_step(repl, alpha, middling, r"\b1799970000\b", r"local: not measured yet",
                         "auto: an expression within the probe runs here the first time")
        sent += auto_step(repl, alpha, middling, r"\b1799970000\b",
                          r"remote: [0-9.]+ ms measured locally > [0-9.]+ ms round trip to alpha "
                          r"\(load \d+\) \+ [0-9.]+ KB transfer",
                          "auto: measured slower than a round trip, it goes remote, :why says so")
        tap(sent == 1, "auto: the measured costly expression is submitted the second time only", "submitted %d" % sent)
        sent = auto_step(repl, alpha, "(auto (server-name))", r'"alpha"',
                         r"remote on alpha: io function server-name runs where it is provided",
                         "auto: an io function only servers provide runs there, :why says so")
        tap(sent == 1, "auto: the io form was submitted to alpha", "submitted %d" % sent)
        sent = auto_step(repl, alpha, '(do (print "here") (+ 1 2))', r"here\r?\n3\b",
                         r"local: io function print runs here, where it is provided",
                         "auto: print, an io function of the shell's own, runs here, :why says so")
        tap(sent == 0, "auto: the print form never reaches the server", "submitted %d" % sent)
        repl.send(":placement manual\r")
        repl.expect(r"placement: manual")
    finally:
        repl.close()


def case_auto_spare_worker(duo, home):
    """A costly expression stays here when sending it would take the last
    free worker of a server with two: io forms would wait behind it."""
    loop = "(loop [i 0 acc 0] (if (< i 1000000) (recur (+ i 1) (+ acc i)) acc))"
    repl = auto_repl(home, [duo])
    try:
        before = duo.counter("submitted")
        repl.send("(def slow (remote (delay 20000 1)))\r")
        repl.expect(r"rthunk> ")
        duo.wait_counter("submitted", before + 1)
        sent = auto_step(repl, duo, loop, r"\b499999500000\b",
                         r"local: it is costly, but duo has no worker to spare \(1 of its 2 run this session's thunks\)",
                         "auto: a costly expression stays here when the server has no worker to spare, :why says so")
        tap(sent == 0, "auto: it never reached the server with one worker left", "submitted %d" % sent)
        sent = auto_step(repl, duo, "(auto (server-name))", r'"duo"', r"remote on duo: io function server-name",
                         "auto: the io form runs on the worker kept free")
        tap(sent == 1, "auto: the io form was submitted to duo", "submitted %d" % sent)
    finally:
        repl.close()


def case_auto_pmap(alpha, beta, home):
    """With two servers up, a costly map under :placement auto becomes a pmap."""
    form = "(map (fn [n] (loop [k 0 acc 0] (if (< k 300000) (recur (+ k 1) (+ acc n)) acc))) (range 0 4))"
    repl = auto_repl(home, [alpha, beta])
    try:
        before = (alpha.counter("submitted"), beta.counter("submitted"))
        auto_step(repl, alpha, form, r"\[0 300000 600000 900000\]", r"pmap over 2 servers: a map too costly",
                  "auto: a costly map with two servers up becomes a pmap, :why says so")
        after = (alpha.counter("submitted"), beta.counter("submitted"))
        tap(after[0] > before[0] and after[1] > before[1], "auto: the pmap's chunks ran on both servers",
            "submitted %r, then %r" % (before, after))
    finally:
        repl.close()


def main():
    if not RTHUNK or not RTHUNKD:
        print("1..1\nnot ok 1 - RTHUNK and RTHUNKD are set (run through make check)")
        return 1
    tmp = tempfile.mkdtemp(prefix="rthunk-shell-remote.")
    servers = []
    try:
        alpha = Server("alpha", tmp)
        servers.append(alpha)
        case_preduce_assoc(alpha)
        case_records(alpha)
        case_timeout(alpha, tmp)
        case_status_line(alpha, tmp)
        case_small_things(alpha, tmp)
        case_reply_spin(alpha)
        case_auto_placement(alpha, tmp)
        case_pipelined_cells(alpha, tmp)
        case_chain_cancel(alpha, tmp)
        case_ctrl_c_local(tmp)
        case_drain_reason(tmp)
        beta = Server("beta", tmp, "--fetch-from", alpha.address)
        servers.append(beta)
        tight = Server("tight", tmp, "--fetch-from", alpha.address, "--max-memory", "8M")
        servers.append(tight)
        case_large_values(alpha, beta, tight, tmp)
        case_status_progress(alpha, beta, tmp)
        case_auto_pmap(alpha, beta, tmp)
        duo = Server("duo", tmp, "--workers", "2")
        servers.append(duo)
        case_auto_spare_worker(duo, tmp)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
