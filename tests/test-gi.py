#!/usr/bin/python3
"""test-gi.py — librthunk from Python, through GObject Introspection.

Usage: test-gi.py   (run by tests/test-gi.sh; needs RTHUNKD in the
environment and Rthunk-1.0.typelib on GI_TYPELIB_PATH)

Starts a real rthunkd on a free loopback port, drives the library the way
a Python program would (PyGObject, `gi.require_version('Rthunk', '1.0')`)
and prints TAP. Each case is a function in CASES; a case fails by raising.
"""

import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback

WAIT_MS = 10000
START_TIMEOUT_S = 10.0


def bail(message):
    print("Bail out! %s" % message)
    sys.exit(1)


try:
    import gi
    gi.require_version("GLib", "2.0")
    gi.require_version("GObject", "2.0")
    gi.require_version("Rthunk", "1.0")
    from gi.repository import GLib, GObject, Rthunk
except (ImportError, ValueError) as e:
    bail("cannot load Rthunk-1.0 through PyGObject (%s); GI_TYPELIB_PATH=%s"
         % (e, os.environ.get("GI_TYPELIB_PATH", "")))


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_equal(found, expected, what):
    check(found == expected, "%s: expected %r, found %r" % (what, expected, found))


def read_one(text):
    forms = Rthunk.reader_read_all("<test>", text, -1)
    check_equal(len(forms), 1, "number of forms in %r" % text)
    return forms[0]


def check_type_error(error, where):
    """A type error of (+ 1 "x"): GLib.Error in the rthunk domain."""
    check(isinstance(error, GLib.Error), "%s: not a GLib.Error: %r" % (where, error))
    check_equal(error.domain, GLib.quark_to_string(Rthunk.error_quark()),
                "%s: error domain" % where)
    check(error.matches(Rthunk.error_quark(), Rthunk.Error.TYPE_MISMATCH),
          "%s: expected code TYPE_MISMATCH (%d), found %d"
          % (where, int(Rthunk.Error.TYPE_MISMATCH), error.code))
    check(re.search(r"\bint\b", error.message) and re.search(r"\bstr\b", error.message),
          "%s: the message does not name int and str: %r" % (where, error.message))
    check(re.match(r"^<[a-z]+>:1:\d+: error: ", error.message),
          "%s: the message does not start with SOURCE:LINE:COL: error: %r"
          % (where, error.message))


# ---- the server -------------------------------------------------------------

class Server(object):
    """A real rthunkd on a free port of the loopback interface."""

    def __init__(self, program, *args):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [program, "--port", "0", "--name", "gitest"] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        self.line = self._read_line()
        m = re.match(r"^rthunkd gitest listening on 127\.0\.0\.1:(\d+)$", self.line)
        self.port = int(m.group(1)) if m else 0
        self.address = "127.0.0.1:%d" % self.port

    def _read_line(self):
        fd = self.process.stdout.fileno()
        data = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace").strip()

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


# ---- the cases ----------------------------------------------------------------

class Context(object):
    server = None
    session = None


def case_catalog(ctx):
    catalog = Rthunk.stdlib_new_catalog()
    check(isinstance(catalog, Rthunk.Catalog), "not a Rthunk.Catalog: %r" % catalog)
    check(catalog.get_size() > 10, "the standard library has %d functions" % catalog.get_size())
    plus = catalog.lookup("+")
    check(plus is not None, "no + in the standard library")
    check("->" in plus.get_signature(), "signature of +: %r" % plus.get_signature())
    names = [d.get_name() for d in catalog.list()]
    check_equal(len(names), catalog.get_size(), "length of Catalog.list()")
    check("delay" in names and "map" in names, "delay and map are listed: %r" % names)


def case_checker(ctx):
    catalog = Rthunk.stdlib_new_catalog()
    checker = Rthunk.Checker.new(catalog)
    type_ = checker.check(read_one("(+ 1 2)"))
    check_equal(type_.to_string(), "int", "type of (+ 1 2)")


def case_evaluator(ctx):
    catalog = Rthunk.stdlib_new_catalog()
    form = read_one("(+ 1 2)")
    Rthunk.Checker.new(catalog).check(form)
    value = Rthunk.Evaluator.new(catalog).eval(form)
    check(isinstance(value, Rthunk.Value), "not a Rthunk.Value: %r" % value)
    check_equal(value.get_kind(), Rthunk.ValueKind.INT, "kind of (+ 1 2)")
    check_equal(value.get_int(), 3, "(+ 1 2).get_int()")
    check_equal(value.to_string(), "3", "(+ 1 2).to_string()")
    check(not value.is_pending(), "(+ 1 2) is pending")


def case_value_printing(ctx):
    catalog = Rthunk.stdlib_new_catalog()
    checker = Rthunk.Checker.new(catalog)
    evaluator = Rthunk.Evaluator.new(catalog)
    for text, printed in (('(concat "a" "b")', '"ab"'),
                          ("(map (fn [i] (* i i)) [1 2 3])", "[1 4 9]"),
                          ("(/ 1.0 4.0)", "0.25"),
                          ("(< 1 2)", "true")):
        form = read_one(text)
        checker.check(form)
        check_equal(evaluator.eval(form).to_string(), printed, "printed %s" % text)
    check_equal(Rthunk.Value.new_int(7).to_string(), "7", "Value.new_int(7)")
    check_equal(Rthunk.Value.new_str("x\n").to_string(), '"x\\n"', "Value.new_str")


def case_checker_type_error(ctx):
    checker = Rthunk.Checker.new(Rthunk.stdlib_new_catalog())
    try:
        checker.check(read_one('(+ 1 "x")'))
    except GLib.Error as e:
        check_type_error(e, "Checker.check")
    else:
        raise Failure('Checker.check((+ 1 "x")) did not raise')


def case_reader_syntax_error(ctx):
    try:
        Rthunk.reader_read_all("<test>", "(+ 1", -1)
    except GLib.Error as e:
        check(e.matches(Rthunk.error_quark(), Rthunk.Error.SYNTAX),
              "expected SYNTAX, found %s %d" % (e.domain, e.code))
        check(e.message.startswith("<test>:1:1: error: "), "message: %r" % e.message)
    else:
        raise Failure("reading (+ 1 did not raise")


def case_server(ctx):
    ctx.server = Server(os.environ["RTHUNKD"])
    check(ctx.server.port > 0,
          "rthunkd does not announce \"rthunkd gitest listening on 127.0.0.1:PORT\": %r; stderr: %s"
          % (ctx.server.line, ctx.server.errors()))


def need_server(ctx):
    check(ctx.server is not None and ctx.server.port > 0, "no server")


def case_session_new(ctx):
    need_server(ctx)
    session = Rthunk.Session.new()
    check(isinstance(session, Rthunk.Session), "not a Rthunk.Session: %r" % session)
    session.add_server(ctx.server.address)
    ctx.session = session


def need_session(ctx):
    check(ctx.session is not None, "no session")


def case_session_pending(ctx):
    need_session(ctx)
    x = ctx.session.eval("(def x (remote (delay 300 41)))")
    check(x is not None and x.is_pending(),
          "x is not pending right after its definition: %s" % (x and x.to_string()))
    y = ctx.session.eval("(def y (+ x 1))")
    check(y is not None and y.is_pending(),
          "the value of (def y (+ x 1)) is not pending: %s" % (y and y.to_string()))
    looked_up = ctx.session.lookup("y")
    check(looked_up is not None, "lookup(\"y\") is None")
    check(looked_up.is_pending(), "lookup(\"y\") is not pending: %s" % looked_up.to_string())


def case_session_wait(ctx):
    need_session(ctx)
    started = time.monotonic()
    y = ctx.session.wait(ctx.session.lookup("y"), WAIT_MS)
    check(y is not None, "wait returned None")
    check(not y.is_pending(), "wait returned a pending value")
    check_equal(y.get_int(), 42, "y.get_int()")
    check_equal(y.to_string(), "42", "y.to_string()")
    check(time.monotonic() - started < WAIT_MS / 1000.0, "wait took too long")
    y = ctx.session.lookup("y")
    check(not y.is_pending(), "lookup(\"y\") is still pending after the wait")
    check_equal(y.get_int(), 42, "lookup(\"y\").get_int()")
    x = ctx.session.lookup("x")
    check(not x.is_pending(), "x is still pending after y arrived")
    check_equal(x.to_string(), "41", "lookup(\"x\").to_string()")


def case_session_type_error(ctx):
    need_session(ctx)
    try:
        ctx.session.eval('(+ 1 "x")')
    except GLib.Error as e:
        check_type_error(e, "Session.eval")
    else:
        raise Failure('Session.eval((+ 1 "x")) did not raise')


def run_async(start, finish):
    """Starts an _async call, runs a GLib.MainLoop until its callback, and
    returns what its _finish gives (or raises)."""
    loop = GLib.MainLoop()
    outcome = {}

    def done(source, result):
        try:
            outcome["value"] = finish(result)
        except GLib.Error as e:
            outcome["error"] = e
        loop.quit()

    start(done)
    GLib.timeout_add(WAIT_MS, loop.quit)
    loop.run()
    check(outcome, "the callback did not come within %d ms" % WAIT_MS)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def case_client_async(ctx):
    need_server(ctx)
    client = Rthunk.Client.new(ctx.server.address)
    check_equal(client.props.max_connections, 4, "the max-connections property")
    check(run_async(lambda cb: client.connect_async(None, cb), client.connect_finish) is True,
          "connect_finish did not return True")
    check_equal(client.get_server_name(), "gitest", "the server name after connect_async")
    value = run_async(lambda cb: client.submit_async(read_one("(+ 40 2)"), None, None, None, cb),
                      client.submit_finish)
    check(isinstance(value, Rthunk.Value), "submit_finish gave no Rthunk.Value: %r" % value)
    check_equal(value.to_string(), "42", "the value submit_async gave")
    check(client.get_connections_opened() >= 1, "the client opened no connection")


def case_cluster_origin_registry(ctx):
    need_server(ctx)
    cluster = Rthunk.Cluster.new()
    cluster.add_server_from(ctx.server.address, "python")
    check("from=python" in cluster.describe(), "describe() lacks from=python: %r" % cluster.describe())
    try:
        cluster.follow_registry("http://127.0.0.1:1", None, 0)
    except GLib.Error as e:
        check("redis://" in e.message, "the error does not say what a registry URI is: %s" % e.message)
    else:
        raise Failure("follow_registry accepted http://")
    try:
        cluster.follow_registry_tls("redis://127.0.0.1:1", None, 0, "ca.pem", None, None)
    except GLib.Error as e:
        check("rediss://" in e.message, "the error does not say TLS needs rediss://: %s" % e.message)
    else:
        raise Failure("follow_registry_tls accepted TLS files for redis://")


def resolve_in(context, thunk, answer):
    """Finishes @thunk with @answer and runs @context, the thread default
    one it was made in, until its "resolved" (bounded by WAIT_MS); gives
    how many "resolved" and "notify::state" it emitted there."""
    seen = {"resolved": 0, "state": 0, "late": False}

    def late():
        seen["late"] = True
        return False

    thunk.connect("resolved", lambda t: seen.__setitem__("resolved", seen["resolved"] + 1))
    thunk.connect("notify::state", lambda t, p: seen.__setitem__("state", seen["state"] + 1))
    thunk.return_value(Rthunk.Value.new_int(answer))
    timeout = GLib.timeout_source_new(WAIT_MS)
    timeout.set_callback(lambda *args: late())
    timeout.attach(context)
    while seen["resolved"] == 0 and not seen["late"]:
        context.iteration(True)
    timeout.destroy()
    return seen


def case_thunk_new(ctx):
    for how in ("GObject.new", "Thunk.new"):
        context = GLib.MainContext()
        context.push_thread_default()
        try:
            if how == "GObject.new":
                thunk = GObject.new(Rthunk.Thunk, label="#py")
            else:
                thunk = Rthunk.Thunk.new("#py")
            check_equal(thunk.props.label, "#py", "%s: the label property" % how)
            check_equal(thunk.get_label(), "#py", "%s: get_label()" % how)
            check(thunk.props.server is None and thunk.get_id() is None,
                  "%s: a local future has a server or an id" % how)
            check_equal(thunk.props.state, Rthunk.ThunkState.PENDING, "%s: the state" % how)
            seen = resolve_in(context, thunk, 42)
        finally:
            context.pop_thread_default()
        check_equal((seen["resolved"], seen["state"]), (1, 1),
                    "%s: resolved and notify::state emitted in its context" % how)
        check_equal(thunk.props.state, Rthunk.ThunkState.DONE, "%s: the state after" % how)
        check_equal(thunk.wait(0).get_int(), 42, "%s: its value" % how)
    check_equal(GObject.new(Rthunk.Thunk).props.label, "?", "GObject.new without a label")


def case_server_stop(ctx):
    need_server(ctx)
    if ctx.session is not None:
        ctx.session.close()
        ctx.session = None
    status = ctx.server.stop()
    check_equal(status, 0, "rthunkd's exit status on SIGTERM (stderr: %s)" % ctx.server.errors())
    ctx.server = None


CASES = [
    ("the standard catalog: Rthunk.stdlib_new_catalog(), lookup, list", case_catalog),
    ("Rthunk.Checker infers int for (+ 1 2)", case_checker),
    ("Rthunk.Evaluator: (+ 1 2) is a Rthunk.Value, get_int() 3, to_string() \"3\"", case_evaluator),
    ("Rthunk.Value.to_string() prints str, list, float and bool values", case_value_printing),
    ("Checker: (+ 1 \"x\") raises GLib.Error (rthunk domain, TYPE_MISMATCH, int and str)",
     case_checker_type_error),
    ("reader: an unclosed form raises GLib.Error SYNTAX with SOURCE:LINE:COL", case_reader_syntax_error),
    ("a real rthunkd starts on a free port", case_server),
    ("Rthunk.Session.new() and add_server(\"127.0.0.1:PORT\")", case_session_new),
    ("a remote cell x (delay 300 41) and its dependent y (+ x 1) are pending at once",
     case_session_pending),
    ("session.wait(lookup(\"y\"), 10000): get_int() 42, to_string() \"42\"", case_session_wait),
    ("session.eval('(+ 1 \"x\")') raises GLib.Error (rthunk domain, names int and str)",
     case_session_type_error),
    ("Rthunk.Client connect_async and submit_async through a GLib.MainLoop: (+ 40 2) is 42",
     case_client_async),
    ("Rthunk.Cluster.add_server_from() shows its origin; follow_registry() refuses a URI that is no Redis's, follow_registry_tls() TLS files for redis://",
     case_cluster_origin_registry),
    ("Rthunk.Thunk from GObject.new(label=...) and Thunk.new(): properties, resolved and notify::state in the context it was made in",
     case_thunk_new),
    ("rthunkd exits 0 on SIGTERM", case_server_stop),
]


def main(cases=CASES, ctx=None):
    """Runs @cases (pairs of a title and a function of @ctx) as TAP; stops
    ctx.server at the end. Other drivers (test-kernel.py) call it too."""
    ctx = Context() if ctx is None else ctx
    failed = 0
    print("1..%d" % len(cases))
    sys.stdout.flush()
    try:
        for number, (title, case) in enumerate(cases, 1):
            try:
                case(ctx)
                print("ok %d - %s" % (number, title))
            except Exception as e:
                failed += 1
                print("not ok %d - %s" % (number, title))
                if isinstance(e, Failure):
                    detail = str(e)
                else:
                    detail = traceback.format_exc()
                for line in detail.rstrip().splitlines():
                    print("# %s" % line)
            sys.stdout.flush()
    finally:
        if ctx.server is not None:
            ctx.server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
