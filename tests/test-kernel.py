#!/usr/bin/python3
"""test-kernel.py — the Jupyter kernel, driven as a notebook drives it.

Usage: test-kernel.py   (run by tests/test-kernel.sh; needs RTHUNKD, the
build's Rthunk-1.0.typelib on GI_TYPELIB_PATH and kernel/ on PYTHONPATH)

Starts a real rthunkd on a free loopback port, registers the kernel spec
with `python3 -m rthunk_kernel install --prefix TMP --server ADDRESS`,
starts the kernel through jupyter_client and executes cells: a remote
value is displayed pending at once, then updated in place when it arrives,
and so are the cells that read it; a type error shows LINE:COL. Waits are
on iopub messages, each bounded. Prints TAP (the runner of test-gi.py).
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("test_gi", os.path.join(HERE, "test-gi.py"))
gi_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gi_test)
check, check_equal, Failure = gi_test.check, gi_test.check_equal, gi_test.Failure
_spec = importlib.util.spec_from_file_location("test_registry", os.path.join(HERE, "test-registry.py"))
registry_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(registry_test)
REDIS_SERVER = os.environ.get("REDIS_SERVER")

TIMEOUT_S = 60.0           # a kernel start, a reply, an arrival: each at most
REMOTE_DELAY_MS = 3000     # long enough for the next cell to see x pending


class Context(gi_test.Context):
    tmp = None
    kernel = None          # (KernelManager, client) of the kernel with --server
    embedded = None        # (KernelManager, client) of the kernel without servers
    registry = None        # (KernelManager, client) of the kernel with RTHUNK_REGISTRY
    displays = None        # display id of each cell name, from the kernel's displays


# ---- a kernel ---------------------------------------------------------------

def install_spec(ctx, prefix, *args):
    """`python3 -m rthunk_kernel install --prefix PREFIX ARGS`; the kernel.json."""
    process = subprocess.run([sys.executable, "-m", "rthunk_kernel", "install", "--prefix", prefix]
                             + list(args), capture_output=True, text=True, timeout=TIMEOUT_S)
    check_equal(process.returncode, 0, "exit status of rthunk-kernel install (stderr: %s)"
                % process.stderr)
    directory = os.path.join(prefix, "share", "jupyter", "kernels", "rthunk")
    check(os.path.exists(os.path.join(directory, "kernel.json")), "no kernel.json in %s" % directory)
    return directory


def start_kernel(prefix):
    """The rthunk kernel of the spec under @prefix, started, ready."""
    specs = KernelSpecManager(kernel_dirs=[os.path.join(prefix, "share", "jupyter", "kernels")])
    manager = KernelManager(kernel_name="rthunk", kernel_spec_manager=specs)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=TIMEOUT_S)
    except RuntimeError as e:
        raise Failure("the kernel did not become ready: %s" % e)
    return manager, client


def stop_kernel(pair):
    if pair is not None:
        manager, client = pair
        client.stop_channels()
        manager.shutdown_kernel(now=False)


def next_message(client, what):
    try:
        return client.get_iopub_msg(timeout=TIMEOUT_S)
    except Exception:
        raise Failure("no iopub message within %.0f s while waiting for %s" % (TIMEOUT_S, what))


def execute(client, code):
    """Executes @code; (the execute_reply, the iopub messages it caused
    until its status went idle, and the display updates meanwhile)."""
    msg_id = client.execute(code)
    messages = []
    while True:
        msg = next_message(client, "the output of %r" % code)
        # an update's parent is the request that made the display
        if msg["parent_header"].get("msg_id") != msg_id and msg["msg_type"] != "update_display_data":
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        messages.append(msg)
    # replies to wait_for_ready's kernel_info requests may come first
    reply = client.get_shell_msg(timeout=TIMEOUT_S)
    while reply["parent_header"].get("msg_id") != msg_id:
        check_equal(reply["msg_type"], "kernel_info_reply", "a reply to another request")
        reply = client.get_shell_msg(timeout=TIMEOUT_S)
    return reply, messages


def displays_of(messages, msg_type):
    """(display id, text) of each @msg_type message."""
    return [(m["content"].get("transient", {}).get("display_id"), m["content"]["data"]["text/plain"])
            for m in messages if m["msg_type"] == msg_type]


def wait_updates(client, wanted, already=()):
    """Waits until an update_display_data message has come for every display
    id of @wanted (display id -> regex its text must match once), in the
    messages @already received or in those that come next."""
    left = dict(wanted)
    seen = []
    already = list(already)
    while left:
        msg = already.pop(0) if already else next_message(
            client, "updates of %s (seen %r)" % (sorted(left), seen))
        if msg["msg_type"] != "update_display_data":
            continue
        display_id = msg["content"]["transient"]["display_id"]
        text = msg["content"]["data"]["text/plain"]
        seen.append((display_id, text))
        if display_id in left and re.match(left[display_id], text):
            del left[display_id]
    return seen


def check_pending_display(messages, name, after):
    """The one display of cell @name in @messages, pending on the server or
    the cell @after; its display id."""
    shown = [(i, t) for i, t in displays_of(messages, "display_data") if t.startswith(name + " ")]
    check_equal(len(shown), 1, "displays of %s in %r" % (name, messages))
    display_id, text = shown[0]
    check(display_id, "the display of %s has no display_id" % name)
    check(re.match(r"^%s : int = <pending\b.* %s>$" % (name, after), text),
          "%s is not shown pending on %s: %r" % (name, after, text))
    return display_id


# ---- the cases ----------------------------------------------------------------

def case_install(ctx):
    gi_test.need_server(ctx)
    ctx.tmp = tempfile.mkdtemp(prefix="rthunk-kernel-")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(ctx.tmp, "runtime")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(ctx.tmp, "config")   # no cluster.conf
    os.environ.pop("RTHUNK_SERVERS", None)
    directory = install_spec(ctx, os.path.join(ctx.tmp, "remote"), "--server", ctx.server.address)
    with open(os.path.join(directory, "kernel.json")) as f:
        spec = f.read()
    for part in ('"-m"', '"rthunk_kernel"', '"{connection_file}"', '"--server"',
                 '"%s"' % ctx.server.address, '"GI_TYPELIB_PATH"'):
        check(part in spec, "kernel.json has no %s: %s" % (part, spec))


def case_start(ctx):
    check(ctx.tmp is not None, "no kernel spec")
    ctx.kernel = start_kernel(os.path.join(ctx.tmp, "remote"))
    info = ctx.kernel[1].kernel_info(reply=True, timeout=TIMEOUT_S)
    check_equal(info["content"]["language_info"]["name"], "rthunk", "language_info.name")


def case_pending_then_update(ctx):
    check(ctx.kernel is not None, "no kernel")
    client = ctx.kernel[1]
    reply, messages = execute(client, "(def x (remote (delay %d 41)))" % REMOTE_DELAY_MS)
    check_equal(reply["content"]["status"], "ok", "status of the execute_reply")
    x_id = check_pending_display(messages, "x", "@gitest")
    check(not displays_of(messages, "update_display_data"),
          "x was updated before its cell finished: %r" % messages)
    reply, messages = execute(client, "(def y (+ x 1))")
    y_id = check_pending_display(messages, "y", "after x")
    ctx.displays = {"x": x_id, "y": y_id}
    wait_updates(client, {x_id: r"^x : int = 41$", y_id: r"^y : int = 42$"})


def case_redefine(ctx):
    check(ctx.displays is not None, "no displays of x and y")
    client = ctx.kernel[1]
    reply, messages = execute(client, "(def x 10)")
    check_equal(reply["content"]["status"], "ok", "status of the execute_reply")
    wait_updates(client, {ctx.displays["y"]: r"^y : int = 11$"}, messages)
    check(("x : int = 10") in [t for _, t in displays_of(messages, "display_data")],
          "the new x is not displayed: %r" % messages)


def case_remote_failure(ctx):
    check(ctx.kernel is not None, "no kernel")
    client = ctx.kernel[1]
    reply, messages = execute(client, "(def f (remote (delay 300 (/ 1 0))))\n(def g (+ f 1))")
    check_equal(reply["content"]["status"], "ok", "status of the execute_reply")
    f_id = check_pending_display(messages, "f", "@gitest")
    g_id = check_pending_display(messages, "g", "after f")
    wait_updates(client, {f_id: r"^f failed: .*\bdivision by zero\b",
                          g_id: r"^g failed: .*\bf\b"}, messages)


def case_pending_expression(ctx):
    check(ctx.kernel is not None, "no kernel")
    client = ctx.kernel[1]
    reply, messages = execute(client, "(remote (delay 500 (* 6 7)))")
    shown = displays_of(messages, "display_data")
    check_equal(len(shown), 1, "displays of a pending expression in %r" % messages)
    display_id, text = shown[0]
    check(display_id and text.startswith("<pending"), "not a pending display: %r" % (shown,))
    wait_updates(client, {display_id: r"^42$"})


def case_immediate_expression(ctx):
    reply, messages = execute(ctx.kernel[1], "(+ 1 2)")
    results = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "execute_result"]
    check_equal(results, ["3"], "execute_result of (+ 1 2)")


def case_type_error(ctx):
    check(ctx.kernel is not None, "no kernel")
    reply, messages = execute(ctx.kernel[1], '(def z 1)\n  (+ z "x")')
    check_equal(reply["content"]["status"], "error", "status of the execute_reply")
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    check_equal(len(errors), 1, "error messages in %r" % messages)
    check_equal(errors[0]["ename"], "type_mismatch", "ename")
    text = "\n".join(errors[0]["traceback"])
    check(re.match(r"^<cell \d+>:2:\d+: error: ", text) and re.search(r"\bint\b", text) and
          re.search(r"\bstr\b", text),
          "the error does not show <cell N>:2:COL: error: and the types: %r" % text)


def case_complete(ctx):
    check(ctx.kernel is not None, "no kernel")
    client = ctx.kernel[1]
    msg_id = client.complete("(+ y", 4)
    reply = client.get_shell_msg(timeout=TIMEOUT_S)
    check_equal(reply["parent_header"].get("msg_id"), msg_id, "the parent of the complete_reply")
    check("y" in reply["content"]["matches"], "y is not completed: %r" % reply["content"])
    check_equal(reply["content"]["cursor_start"], 3, "cursor_start")


def case_embedded(ctx):
    check(ctx.tmp is not None, "no temporary directory")
    missing = os.path.join(ctx.tmp, "missing.conf")
    install_spec(ctx, os.path.join(ctx.tmp, "embedded"), "--cluster", missing)
    ctx.embedded = start_kernel(os.path.join(ctx.tmp, "embedded"))
    client = ctx.embedded[1]
    reply, messages = execute(client, "(def w (remote (delay 200 (* 6 7))))")
    check_equal(reply["content"]["status"], "ok", "status (messages %r)" % messages)
    errors = [m["content"]["text"] for m in messages
              if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"]
    check(len(errors) == 1 and errors[0].startswith("rthunk: error: %s: " % missing),
          "the unreadable cluster file is not reported on the first cell: %r" % errors)
    w_id = check_pending_display(messages, "w", "@embedded")
    wait_updates(client, {w_id: r"^w : int = 42$"})


def case_registry(ctx):
    """RTHUNK_REGISTRY in the kernel's environment: the session follows
    that registry and runs remote forms on the server registered there."""
    check(ctx.tmp is not None, "no temporary directory")
    redis = registry_test.Redis(ctx.tmp)
    server = None
    os.environ["RTHUNK_REGISTRY"] = redis.url
    try:
        server = gi_test.Server(os.environ["RTHUNKD"], "--registry", redis.url)
        check(registry_test.wait_until(
            lambda: redis.cli("sismember", "rthunk:{members}:all", server.address) == "1", 10),
            "rthunkd did not register (stderr: %s)" % server.errors())
        install_spec(ctx, os.path.join(ctx.tmp, "registry"))
        ctx.registry = start_kernel(os.path.join(ctx.tmp, "registry"))
        reply, messages = execute(ctx.registry[1], "(def r (remote (delay 200 (* 6 7))))")
        check_equal(reply["content"]["status"], "ok", "status (messages %r)" % messages)
        r_id = check_pending_display(messages, "r", "@gitest")
        wait_updates(ctx.registry[1], {r_id: r"^r : int = 42$"})
    finally:
        os.environ.pop("RTHUNK_REGISTRY", None)
        stop_kernel(ctx.registry)
        ctx.registry = None
        if server is not None:
            server.stop()
        redis.stop()


def case_shutdown(ctx):
    for attribute in ("kernel", "embedded"):
        stop_kernel(getattr(ctx, attribute))
        setattr(ctx, attribute, None)
    gi_test.case_server_stop(ctx)


CASES = [
    ("a real rthunkd starts on a free port", gi_test.case_server),
    ("rthunk-kernel install --prefix TMP --server ADDRESS writes kernel.json", case_install),
    ("jupyter_client starts the kernel from that spec; language_info is rthunk", case_start),
    ("(def x (remote (delay …))) is displayed pending, and (def y (+ x 1)) too; "
     "both displays are updated in place when x arrives", case_pending_then_update),
    ("redefining x updates the display of y in place", case_redefine),
    ("a remote failure updates the displays of the cell and of its dependent to \"failed\"",
     case_remote_failure),
    ("a pending expression is displayed, then updated with its value", case_pending_expression),
    ("(+ 1 2) is an execute_result 3", case_immediate_expression),
    ("a type error on line 2 shows <cell N>:2:COL: error:", case_type_error),
    ("complete_request: (+ y completes the cell y", case_complete),
    ("an unreadable --cluster file is reported on the first cell; without servers "
     "the kernel uses the embedded provider", case_embedded),
    ("the kernels shut down; rthunkd exits 0 on SIGTERM", case_shutdown),
]
if REDIS_SERVER and os.access(REDIS_SERVER, os.X_OK):
    CASES.insert(-1, ("RTHUNK_REGISTRY: the kernel's session follows the registry and runs a "
                      "remote form on the server registered there", case_registry))


def main():
    ctx = Context()
    try:
        return gi_test.main(CASES, ctx)
    finally:
        for pair in (ctx.kernel, ctx.embedded):
            try:
                stop_kernel(pair)
            except Exception:
                pass
        if ctx.tmp is not None:
            shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
