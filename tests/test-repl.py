#!/usr/bin/python3
"""The rthunk REPL end to end, through a pseudo-terminal.

Starts the real shell (with its embedded provider) on a pty, defines a
slow remote cell and a cell that reads it, keeps typing, and checks that
both values arrive printed above the prompt with the half-typed line
redrawn under them; then multi-line input, completion, the commands,
Ctrl-C (stop waiting, then cancel), the history file and Ctrl-D.

Timeouts are generous and nothing depends on how fast the machine is: the
slow thunk only has to be slower than typing a line. Prints TAP.
"""

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time

RTHUNK = os.environ.get("RTHUNK")
TIMEOUT = 120.0

def slow(n):
    """A remote body that counts to @n: 60000000 is about two seconds of
    work on an idle machine, far more than typing a line takes. Each bound
    is used once: the server caches pure results."""
    return "(loop [i 0] (if (< i %d) (recur (+ i 1)) i))" % n


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in detail.splitlines()[-40:]:
            print("# " + line)
    sys.stdout.flush()


class Repl:
    def __init__(self, home, args=(), extra_env=None):
        env = dict(os.environ)
        env.update({"TERM": "xterm", "NO_COLOR": "1", "HOME": home,
                    "XDG_DATA_HOME": os.path.join(home, "data"),
                    "INPUTRC": "/dev/null", "LC_ALL": "C.UTF-8"})
        for name, value in (extra_env or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(RTHUNK, [RTHUNK] + list(args), env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        self.raw = ""
        self.mark = 0

    def read_some(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.raw += data.decode("utf-8", "replace")
        return True

    def text(self):
        return ANSI.sub("", self.raw).replace("\r", "")

    def skip(self):
        """Forgets what arrived so far."""
        self.mark = len(self.text())

    def expect(self, pattern, timeout=TIMEOUT):
        """Waits for @pattern in what arrived since the last match (the
        text without escape sequences and carriage returns)."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.text(), self.mark)
            if m:
                self.mark = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self.read_some(min(left, 1.0)) and self.exited():
                return None

    def exited(self):
        pid, _ = os.waitpid(self.pid, os.WNOHANG)
        if pid != 0:
            self.pid = None
        return self.pid is None

    def send(self, text):
        os.write(self.fd, text.encode())

    def close(self):
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def check(repl, ok, name):
    tap(ok is not None and ok is not False, name, repl.text()[-3000:])
    return ok


def main():
    if not RTHUNK:
        print("1..0 # SKIP RTHUNK is not set")
        return 0
    home = tempfile.mkdtemp(prefix="rthunk-repl.")
    repl = Repl(home)
    try:
        run(repl, home)
    finally:
        repl.close()
        shutil.rmtree(home, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


def run(repl, home):
    check(repl, repl.expect(r"rthunk> "), "the prompt appears")

    repl.send("(def x (remote %s))\r" % slow(60000000))
    m = check(repl, repl.expect(r"x : int = <pending (#[0-9a-f]+ @embedded)>"),
              "a remote cell is pending, with its thunk and server")
    label = m.group(1) if m else "#"

    repl.send("(def y (+ x 1))\r")
    check(repl, repl.expect(r"y : int = <pending [^>]*>"), "a cell that reads it is pending too")

    # keep typing: half a line, no Enter
    repl.send("(+ 1")
    start = len(repl.text())
    check(repl, repl.expect(r"x = 60000000  \(%s, [0-9.]+ s\)" % re.escape(label)),
          "the remote value arrives while the user types")
    check(repl, repl.expect(r"y = 60000001  \(#[0-9a-f]+ @embedded, [0-9.]+ s\)"),
          "the dependent cell computes when its input arrives")
    # both printed above the prompt, the half-typed line redrawn under them
    check(repl, repl.expect(r"rthunk> \(\+ 1"), "the prompt is redrawn with the typed text")
    after = repl.text()[start:]
    last_x = after.rfind("x = 60000000")
    last_y = after.rfind("y = 60000001")
    tap(0 <= last_x < last_y and after.find("rthunk> (+ 1", last_y) > last_y,
        "the values are printed above the prompt, which keeps the typed text", after)
    repl.skip()
    repl.send(" 2)\r")
    check(repl, repl.expect(r"\n3\n"), "the line typed meanwhile is still whole")

    repl.send("(def x 10)\r")
    check(repl, repl.expect(r"x : int = 10\n(.*\n)*y = 11"), "redefining a cell recomputes its reader")

    repl.send("(* y\r")
    check(repl, repl.expect(r"\.\.\.\.\.\. "), "an unbalanced form continues on the next line")
    repl.send("2)\r")
    check(repl, repl.expect(r"\n22\n"), "and is evaluated when it is complete")

    repl.send("(ran\t")
    check(repl, repl.expect(r"\(range "), "tab completes catalog names")
    repl.send("0 3)\r")
    check(repl, repl.expect(r"\[0 1 2\]"), "the completed line evaluates")

    repl.send("(+ 1 \"a\")\r")
    check(repl, repl.expect(r"<repl>:1:\d+: error: .*"), "a type error is reported with its position")

    repl.send(":type (map (fn [i] (* i 2)) [1 2])\r")
    check(repl, repl.expect(r"\n\[int\]\n"), ":type prints a type")
    repl.send(":pending\r")
    check(repl, repl.expect(r"nothing is pending"), ":pending")
    repl.send(":defs\r")
    check(repl, repl.expect(r"x : int = 10\ny : int = 11"), ":defs lists the cells")
    repl.send(":servers\r")
    check(repl, repl.expect(r"embedded +127\.0\.0\.1:\d+ +functions=\d+"), ":servers")

    # :doc, :load, :time and "did you mean"
    repl.send(":doc map\r")
    check(repl, repl.expect(r"map : \(\(a -> b\) \[a\] -> \[b\]\)\n  a function applied to every element\n"),
          ":doc prints a function's signature and documentation line")
    repl.send(":doc mapp\r")
    check(repl, repl.expect(r"error: “mapp” is not defined; did you mean “map”\?"),
          ":doc of an unknown name says the nearest known one")
    repl.send("(mapp (fn [i] i) [1])\r")
    check(repl, repl.expect(r"<repl>:1:2: error: “mapp” is not defined; did you mean “map”\?"),
          "an unknown name in a form says the nearest known one")
    script = os.path.join(home, "cells.rth")
    with open(script, "w") as f:
        f.write("(def base 40)\n(defn add2 [n] (+ n 2))\n(add2 base)\n")
    repl.send(":load %s\r" % script)
    check(repl, repl.expect(r"base : int = 40\n(.*\n)*42\n"), ":load evaluates the forms of a file")
    repl.send("(add2 base)\r")
    check(repl, repl.expect(r"\n42\n"), "what :load defined stays in the session")
    bad = os.path.join(home, "bad.rth")
    with open(bad, "w") as f:
        f.write("(def ok 1)\n(+ ok \"x\")\n")
    repl.send(":load %s\r" % bad)
    check(repl, repl.expect(re.escape(bad) + r":2:\d+: error: "), ":load reports errors with the file's name and line")
    repl.send(":time (sum (range 0 1000))\r")
    check(repl, repl.expect(r"\n499500\ntime: \d+\.\d{3} s\n"), ":time prints the value, then the time it took")
    repl.send(":time (remote (+ 40 3))\r")
    check(repl, repl.expect(r"\n43\ntime: \d+\.\d{3} s\n"), ":time of a remote value times its arrival")

    # an expression the REPL waits for; Ctrl-C stops waiting. Typed at the
    # prompt, the line is echoed by readline, whose line handler evaluates
    # it and starts waiting in the same main-loop dispatch that echoed the
    # newline; SIGINT is dispatched by that loop after it, so once the echo
    # is seen Ctrl-C finds the REPL waiting.
    check(repl, repl.expect(r"rthunk> "), "the prompt is back after :servers")
    repl.send("(remote %s)\r" % slow(60000002))
    check(repl, repl.expect(r"\(remote .*\)\n"), "the REPL waits for an expression")
    repl.send("\x03")
    check(repl, repl.expect(r"stopped waiting"), "Ctrl-C stops waiting")
    check(repl, repl.expect(r"=> 60000002  \(#[0-9a-f]+ @embedded, [0-9.]+ s\)"),
          "the value is printed when it arrives")

    # a second Ctrl-C, at an empty prompt, cancels the thunk
    check(repl, repl.expect(r"rthunk> "), "the prompt is back after the value")
    repl.send("(remote %s)\r" % slow(2000000000))
    check(repl, repl.expect(r"\(remote .*\)\n"), "waiting again")
    repl.send("\x03")
    check(repl, repl.expect(r"stopped waiting"), "Ctrl-C stops waiting again")
    check(repl, repl.expect(r"rthunk> "), "the prompt is back")
    repl.send("\x03")
    # the server's confirmation and the value's end come in either order
    first = repl.expect(r"cancelled \(embedded confirmed\)|=> failed: [^\n]*cancelled")
    check(repl, first, "a second Ctrl-C cancels")
    if first and "confirmed" in first.group(0):
        check(repl, repl.expect(r"=> failed: [^\n]*cancelled"), "the thunk ends cancelled")
    else:
        check(repl, repl.expect(r"cancelled \(embedded confirmed\)"), "the thunk ends cancelled")

    repl.send("\x04")
    deadline = time.monotonic() + TIMEOUT
    while not repl.exited() and time.monotonic() < deadline:
        repl.read_some(0.2)
    tap(repl.pid is None, "Ctrl-D quits")

    history = os.path.join(home, "data", "rthunk", "history")
    try:
        with open(history) as f:
            lines = f.read()
    except OSError as e:
        lines = str(e)
    tap("(def y (+ x 1))" in lines and ":pending" in lines, "the history is kept under XDG_DATA_HOME", lines)


if __name__ == "__main__":
    sys.exit(main())
