"""attack.py — attacks a live rthunkd as a hostile client would, and
reports what each costs the server and its other clients.

Usage: attack.py PORT PID GENDIR

For each attack it prints the server's VmRSS and the median latency of a
normal client (a 1 ms thunk that goes through the worker pool, submitted
and awaited on its own connection) while the attack holds. GENDIR holds
the code `thrift --gen py` generated from idl/rthunk.thrift.
"""

import socket
import statistics
import struct
import sys
import time

PORT, PID = int(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])

from thrift.transport import TSocket, TTransport  # noqa: E402
from thrift.protocol import TBinaryProtocol  # noqa: E402
from rthunk_wire import RemoteExecutionService  # noqa: E402
from rthunk_wire.ttypes import (Ast, AstNode, NodeKind, Auth,  # noqa: E402
                                EvalRequest, ThunkState)

AUTH = Auth()
SAMPLES = 15


def connect(timeout_ms=60000):
    sock = TSocket.TSocket("127.0.0.1", PORT)
    sock.setTimeout(timeout_ms)
    transport = TTransport.TFramedTransport(sock)
    transport.open()
    client = RemoteExecutionService.Client(TBinaryProtocol.TBinaryProtocol(transport))
    client.transport = transport
    return client


def parse(text):
    """A tiny reader: ints, "strings", symbols and lists, to the IDL's
    flat node list (children before parents, root last)."""
    nodes = []
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()

    def node(i):
        t = tokens[i]
        if t == "(":
            children, i = [], i + 1
            while tokens[i] != ")":
                c, i = node(i)
                children.append(c)
            nodes.append(AstNode(kind=NodeKind.LIST, children=children, line=1, col=1))
            return len(nodes) - 1, i + 1
        if t.startswith('"'):
            nodes.append(AstNode(kind=NodeKind.STR, text=t.strip('"'), line=1, col=1))
        elif t.lstrip("-").isdigit():
            nodes.append(AstNode(kind=NodeKind.INT, intValue=int(t), line=1, col=1))
        else:
            nodes.append(AstNode(kind=NodeKind.SYMBOL, text=t, line=1, col=1))
        return len(nodes) - 1, i + 1

    node(0)
    return Ast(nodes=nodes, types=[], source="attack.py")


def request(text):
    return EvalRequest(ast=parse(text))


def rss_kb():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def normal_latency():
    """Median seconds of a 1 ms thunk, submitted and awaited, or None
    when the server refused or did not answer within 30 s."""
    times = []
    for _ in range(SAMPLES):
        t0 = time.monotonic()
        try:
            c = connect(30000)
            thunk = c.submitEvalRequest(request("(delay 1 7)"), AUTH)
            while thunk.state is not None and thunk.state <= ThunkState.RUNNING and time.monotonic() - t0 < 30:
                done = c.thunkAwait([thunk], 1000, AUTH)
                if done:
                    break
            c.transport.close()
            times.append(time.monotonic() - t0)
        except Exception:
            times.append(float("inf"))
    return statistics.median(times)


def report(name, held=None):
    lat = normal_latency()
    print("%-34s RSS %7.1f MiB   normal client median %s" %
          (name, rss_kb() / 1024.0, "refused/timeout" if lat == float("inf") else "%.1f ms" % (lat * 1000)))
    sys.stdout.flush()
    for c in held or []:
        try:
            (c.transport if hasattr(c, "transport") else c).close()
        except Exception:
            pass


def submit_many(c, text, n, reasons=None):
    """Submits @text @n times on @c: the thunks, and how many were
    refused (their messages, each once, added to @reasons)."""
    ids, refused = [], 0
    for _ in range(n):
        try:
            ids.append(c.submitEvalRequest(request(text), AUTH))
        except Exception as e:
            refused += 1
            if reasons is not None:
                reasons.add(str(getattr(e, "message", None) or e))
    return ids, refused


def queued():
    """The thunks the server has queued now (getServerInfo)."""
    c = connect()
    try:
        return c.getServerInfo(AUTH).queued
    finally:
        c.transport.close()


def cancel(c, thunks):
    for t in thunks:
        try:
            c.thunkCancel(t, AUTH)
        except Exception:
            pass


def main():
    report("baseline")

    c = connect()
    submit_many(c, "(range 0 2000000)", 40)
    report("large results: 40 x (range 0 2e6)", [c])

    socks, refused = [], 0
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", PORT))
        try:
            s.sendall(struct.pack(">i", 8 * 1024 * 1024) + b"\x80\x01\x00\x01" + b"\0" * (1024 * 1024))
        except OSError:
            refused += 1        # the frame did not fit the budget: closed
        socks.append(s)
    report("100 half-sent 8 MiB frames (%d closed)" % refused, socks)

    c = connect()
    reasons = set()
    ids, refused = submit_many(c, "(delay 30000 1)", 30000, reasons)
    held = queued()
    report("30k queued thunks, one client (%d refused, %d queued)" % (refused, held))
    for reason in sorted(reasons):
        print("    refused: %s" % reason)
    cancel(c, ids)
    c.transport.close()

    longs = [connect() for _ in range(8)]
    long_ids = [submit_many(x, "(delay 20000 1)", 4)[0] for x in longs]
    report("32 long thunks from 8 clients")
    for x, i in zip(longs, long_ids):
        cancel(x, i)
        x.transport.close()

    socks = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(200)]
    report("200 idle connections", socks)

    owner = connect()
    target = submit_many(owner, "(delay 60000 1)", 1)[0]
    waiters = []
    for _ in range(200):
        w = connect()
        w.send_thunkAwait(target * 4096, 60000, AUTH)
        waiters.append(w)
    report("200 thunkAwait x 4096 ids")
    for w in waiters:
        w.transport.close()
    report("after the waiters hung up")
    cancel(owner, target)
    owner.transport.close()

    c = connect()
    big = "x" * 60000
    submit_many(c, '(print "%s")' % big, 200)
    report("print flood: 200 x 60 KB", [c])


main()
