#!/usr/bin/python3
"""interop.py — a Python Thrift client against a real rthunkd.

Usage: interop.py PORT GENDIR

GENDIR holds the code `thrift --gen py` generated from idl/rthunk.thrift.
Talks framed transport + binary protocol to 127.0.0.1:PORT, builds every
AST by hand as the IDL describes it (a flat node list, children before
parents, root last) and prints TAP.
"""

import os
import sys
import time
import traceback

TESTS = 11


def bail(message):
    print("1..1")
    print("not ok 1 - %s" % message)
    sys.exit(1)


if len(sys.argv) != 3:
    bail("usage: interop.py PORT GENDIR")

PORT = int(sys.argv[1])
sys.path.insert(0, sys.argv[2])

try:
    from thrift.transport import TSocket, TTransport
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TException
except ImportError as e:
    bail("python3-thrift is not installed for %s (%s); install python3-thrift"
         % (sys.executable, e))

try:
    from rthunk_wire import RemoteExecutionService, constants
    from rthunk_wire.ttypes import (
        Ast, AstNode, NodeKind, Auth, Binding, Value, ValueNode, ValueKind,
        EvalRequest, EvalOptions, RemoteThunk, ThunkState, TypeKind,
        FuncFlag, TypeFailure, InvalidRequest, ErrorCode)
except ImportError as e:
    bail("cannot import the generated rthunk_wire package from %s (%s)"
         % (sys.argv[2], e))

AUTH = Auth()
AWAIT_LIMIT_S = 30.0


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# ---- connection -----------------------------------------------------------

class Connection(object):
    def __init__(self, port):
        sock = TSocket.TSocket("127.0.0.1", port)
        sock.setTimeout(20000)
        self.transport = TTransport.TFramedTransport(sock)
        protocol = TBinaryProtocol.TBinaryProtocol(self.transport)
        self.client = RemoteExecutionService.Client(protocol)
        self.transport.open()

    def close(self):
        try:
            self.transport.close()
        except Exception:
            pass


conn = None


def client():
    global conn
    if conn is None:
        conn = Connection(PORT)
    return conn.client


def reconnect():
    """After a transport failure, so later cases still run."""
    global conn
    if conn is not None:
        conn.close()
    conn = None


# ---- TAP ------------------------------------------------------------------

number = 0
failures = 0


def run(name, case):
    global number, failures
    number += 1
    try:
        case()
        print("ok %d - %s" % (number, name))
    except Failure as e:
        failures += 1
        print("not ok %d - %s" % (number, name))
        for line in str(e).splitlines():
            print("# %s" % line)
    except Exception as e:
        failures += 1
        print("not ok %d - %s" % (number, name))
        print("# unexpected %s: %s" % (type(e).__name__, e))
        for line in traceback.format_exc().splitlines():
            print("# %s" % line)
        if not isinstance(e, TException) or type(e).__module__.startswith("thrift."):
            reconnect()
    sys.stdout.flush()


# ---- building ASTs by hand --------------------------------------------------

class AstBuilder(object):
    """Appends nodes to a flat list; every constructor returns the new
    node's index, so a parent can only name nodes built before it."""

    def __init__(self, source="interop.py"):
        self.nodes = []
        self.source = source

    def _add(self, node, line, col):
        node.line = line
        node.col = col
        self.nodes.append(node)
        return len(self.nodes) - 1

    def int(self, v, line=1, col=1):
        return self._add(AstNode(kind=NodeKind.INT, intValue=v), line, col)

    def str(self, text, line=1, col=1):
        return self._add(AstNode(kind=NodeKind.STR, text=text), line, col)

    def sym(self, name, line=1, col=1):
        return self._add(AstNode(kind=NodeKind.SYMBOL, text=name), line, col)

    def call(self, children, line=1, col=1):
        for c in children:
            assert 0 <= c < len(self.nodes), "children before parents"
        return self._add(AstNode(kind=NodeKind.LIST, children=list(children)),
                         line, col)

    def ast(self):
        return Ast(nodes=self.nodes, types=[], source=self.source)


def square_ast(n):
    """(* n n) — n given as an int literal, or as a symbol if a str."""
    b = AstBuilder()
    if isinstance(n, str):
        x1 = b.sym(n, 1, 4)
        x2 = b.sym(n, 1, 6)
    else:
        x1 = b.int(n, 1, 4)
        x2 = b.int(n, 1, 4 + len(repr(n)) + 1)
    op = b.sym("*", 1, 2)
    b.call([op, x1, x2], 1, 1)
    return b.ast()


def int_value(v):
    return Value(nodes=[ValueNode(kind=ValueKind.INT, intValue=v)])


def decode_value(value):
    """A wire Value (root last) as a Python value."""
    check(value is not None and value.nodes, "the value has no nodes")
    nodes = value.nodes

    def node(k):
        n = nodes[k]
        if n.kind == ValueKind.NIL:
            return None
        if n.kind == ValueKind.BOOL:
            return n.boolValue
        if n.kind == ValueKind.INT:
            return n.intValue
        if n.kind == ValueKind.FLOAT:
            return n.floatValue
        if n.kind == ValueKind.STR:
            return n.text
        if n.kind == ValueKind.LIST:
            for c in n.items or []:
                check(0 <= c < k, "value node %d names a later child %d" % (k, c))
            return [node(c) for c in n.items or []]
        raise Failure("value node %d has kind %s" % (k, ValueKind._VALUES_TO_NAMES.get(n.kind, n.kind)))

    return node(len(nodes) - 1)


def state_name(state):
    return ThunkState._VALUES_TO_NAMES.get(state, repr(state))


def finished(thunk):
    return thunk.state in (ThunkState.DONE, ThunkState.FAILED, ThunkState.CANCELLED)


def result_of(thunks):
    """The values of RemoteThunks, inline or by thunkAwait, in order."""
    results = [None] * len(thunks)
    waiting = {}
    for k, t in enumerate(thunks):
        check(t.id is not None and len(t.id) == 16,
              "thunk %d: id %r is not 16 bytes" % (k, t.id))
        if finished(t):
            results[k] = t
        else:
            check(t.state in (ThunkState.PENDING, ThunkState.RUNNING, None),
                  "thunk %d: state %s" % (k, state_name(t.state)))
            waiting[bytes(t.id)] = k
    deadline = time.monotonic() + AWAIT_LIMIT_S
    while waiting:
        check(time.monotonic() < deadline,
              "%d thunks still unfinished after %.0f s" % (len(waiting), AWAIT_LIMIT_S))
        done = client().thunkAwait([RemoteThunk(id=i) for i in waiting], 5000, AUTH)
        for cont in done:
            check(finished(cont), "thunkAwait returned state %s" % state_name(cont.state))
            k = waiting.pop(bytes(cont.id), None)
            check(k is not None, "thunkAwait returned an id that was not asked for")
            results[k] = cont
    values = []
    for k, r in enumerate(results):
        check(r.state == ThunkState.DONE,
              "thunk %d: state %s, error %s" % (k, state_name(r.state), r.error))
        values.append(decode_value(r.value))
    return values


# ---- the cases ------------------------------------------------------------

def check_func_def(d):
    check(d.signature and "->" in d.signature,
          "%s: signature %r" % (d.name, d.signature))
    check(d.type is not None and d.type.nodes,
          "%s: no type term" % d.name)
    root = d.type.nodes[-1]
    check(root.kind == TypeKind.FUNC,
          "%s: the root of the type term (last node) is %s, not FUNC"
          % (d.name, TypeKind._VALUES_TO_NAMES.get(root.kind, root.kind)))
    for k, n in enumerate(d.type.nodes):
        for c in n.children or []:
            check(0 <= c < k, "%s: type node %d names child %d" % (d.name, k, c))
    check(len(root.children or []) == d.arity + 1,
          "%s: FUNC node has %d children for arity %d"
          % (d.name, len(root.children or []), d.arity))


def case_catalog():
    defs = client().getFuncDefs([], AUTH)
    by_name = dict((d.name, d) for d in defs)
    check(len(by_name) == len(defs), "a name appears twice in the catalog")
    for op in ("+", "-", "*", "/"):
        check(op in by_name, "%r is missing from a catalog of %d functions: %s"
              % (op, len(defs), sorted(by_name)))
        check(by_name[op].arity == 2, "%r has arity %d" % (op, by_name[op].arity))
        check_func_def(by_name[op])
    check(by_name["+"].flags & FuncFlag.PURE,
          "the PURE bit is not set for +: flags %r" % by_name["+"].flags)
    check(not by_name["+"].flags & FuncFlag.IO,
          "the IO bit is set for +: flags %r" % by_name["+"].flags)
    for d in defs:
        check(d.signature, "%s has no signature" % d.name)
        check(d.type is not None and d.type.nodes, "%s has no type term" % d.name)


def case_one_func_def():
    defs = client().getFuncDefs(["+"], AUTH)
    check(len(defs) == 1, "%d definitions returned for [\"+\"]" % len(defs))
    d = defs[0]
    check(d.name == "+", "name %r" % d.name)
    check(d.arity == 2, "arity %r" % d.arity)
    check_func_def(d)


def case_server_info():
    info = client().getServerInfo(AUTH)
    check(info.name == "pyinterop", "name %r" % info.name)
    check(info.protocolVersion == 1 == constants.PROTOCOL_VERSION,
          "protocolVersion %r (IDL: %r)" % (info.protocolVersion, constants.PROTOCOL_VERSION))
    check(info.instanceId is not None and len(info.instanceId) == 16,
          "instanceId %r" % info.instanceId)


last_thunk = []


def case_hand_built_ast():
    # (+ 1 (/ 4 2))
    # 1234567890123
    b = AstBuilder()
    four = b.int(4, 1, 9)
    two = b.int(2, 1, 11)
    div = b.sym("/", 1, 7)
    inner = b.call([div, four, two], 1, 6)
    one = b.int(1, 1, 4)
    plus = b.sym("+", 1, 2)
    b.call([plus, one, inner], 1, 1)
    check([n.kind for n in b.nodes] ==
          [NodeKind.INT, NodeKind.INT, NodeKind.SYMBOL, NodeKind.LIST,
           NodeKind.INT, NodeKind.SYMBOL, NodeKind.LIST], "builder order")
    thunk = client().submitEvalRequest(EvalRequest(ast=b.ast()), AUTH)
    check(thunk.server == "pyinterop", "server %r" % thunk.server)
    values = result_of([thunk])
    check(values == [3], "value %r, not 3 (state %s)" % (values, state_name(thunk.state)))
    last_thunk.append(thunk.id)


def case_thunk_get_done():
    check(last_thunk, "no thunk from the previous case")
    cont = client().thunkGet(RemoteThunk(id=last_thunk[0]), AUTH)
    check(cont.id == last_thunk[0], "id %r" % cont.id)
    check(cont.state == ThunkState.DONE, "state %s" % state_name(cont.state))
    check(decode_value(cont.value) == 3, "value %r" % decode_value(cont.value))
    check(cont.type is not None and cont.type.nodes and
          cont.type.nodes[-1].kind == TypeKind.INT, "type %r" % cont.type)


def case_binding():
    request = EvalRequest(ast=square_ast("x"),
                          bindings=[Binding(name="x", value=int_value(12))],
                          options=EvalOptions(useCache=False))
    values = result_of([client().submitEvalRequest(request, AUTH)])
    check(values == [144], "(* x x) with x = 12 gave %r" % values)


def case_type_error():
    # (+ 1 "x")
    b = AstBuilder()
    plus = b.sym("+", 1, 2)
    one = b.int(1, 1, 4)
    x = b.str("x", 1, 6)
    b.call([plus, one, x], 1, 1)
    try:
        thunk = client().submitEvalRequest(EvalRequest(ast=b.ast()), AUTH)
    except TypeFailure as e:
        check(e.code == ErrorCode.TYPE_MISMATCH, "code %r, message %r" % (e.code, e.message))
        check(e.message and "int" in e.message and "str" in e.message,
              "message %r does not name int and str" % e.message)
        return
    raise Failure("no TypeFailure; got a thunk in state %s" % state_name(thunk.state))


malformed_conn = []


def case_malformed():
    # node 0 names node 1, which comes after it
    client()
    malformed_conn.append(conn)
    nodes = [AstNode(kind=NodeKind.LIST, children=[1], line=1, col=1),
             AstNode(kind=NodeKind.INT, intValue=1, line=1, col=2)]
    try:
        thunk = client().submitEvalRequest(EvalRequest(ast=Ast(nodes=nodes, types=[])), AUTH)
    except InvalidRequest as e:
        check(e.code == ErrorCode.INVALID_REQUEST, "code %r, message %r" % (e.code, e.message))
        check(e.message, "the InvalidRequest has no message")
        return
    raise Failure("no InvalidRequest; got a thunk in state %s" % state_name(thunk.state))


def case_same_connection():
    check(malformed_conn and conn is malformed_conn[0],
          "the connection of the previous case was dropped")
    info = client().getServerInfo(AUTH)
    check(info.name == "pyinterop", "name %r" % info.name)


def case_unknown_thunk():
    try:
        cont = client().thunkGet(RemoteThunk(id=os.urandom(16)), AUTH)
    except InvalidRequest as e:
        check(e.code == ErrorCode.UNKNOWN_THUNK, "code %r, message %r" % (e.code, e.message))
        return
    raise Failure("no InvalidRequest; got state %s" % state_name(cont.state))


def case_batch():
    requests = [EvalRequest(ast=square_ast(i)) for i in range(50)]
    thunks = client().submitBatch(requests, AUTH)
    check(len(thunks) == 50, "%d thunks for 50 requests" % len(thunks))
    check(len(set(bytes(t.id) for t in thunks)) == 50, "thunk ids are not unique")
    values = result_of(thunks)
    want = [i * i for i in range(50)]
    check(values == want, "got %r" % values)
    # every one is finished now, so a long poll returns all of them at once
    conts = client().thunkAwait([RemoteThunk(id=t.id) for t in thunks], 5000, AUTH)
    check(len(conts) == 50, "thunkAwait of 50 finished thunks returned %d" % len(conts))
    by_id = dict((bytes(c.id), c) for c in conts)
    check(all(by_id.get(bytes(t.id)) is not None and by_id[bytes(t.id)].state == ThunkState.DONE
              and decode_value(by_id[bytes(t.id)].value) == i * i
              for i, t in enumerate(thunks)),
          "thunkAwait disagrees with the batch results")


CASES = [
    ("getFuncDefs([]) returns the whole catalog with signatures, types and flags",
     case_catalog),
    ("getFuncDefs([\"+\"]) returns exactly + with arity 2 and a FUNC type, root last",
     case_one_func_def),
    ("getServerInfo names the server and protocol version 1", case_server_info),
    ("a hand-built AST (+ 1 (/ 4 2)) evaluates to 3", case_hand_built_ast),
    ("thunkGet of that thunk reports DONE, 3 and type int", case_thunk_get_done),
    ("a binding x = 12 makes (* x x) evaluate to 144", case_binding),
    ("(+ 1 \"x\") raises TypeFailure naming int and str", case_type_error),
    ("an AST whose child index names a later node raises InvalidRequest",
     case_malformed),
    ("the same connection still answers getServerInfo", case_same_connection),
    ("thunkGet of a random 16-byte id raises InvalidRequest", case_unknown_thunk),
    ("submitBatch of 50 hand-built (* i i) returns the 50 squares (and thunkAwait agrees)",
     case_batch),
]
assert len(CASES) == TESTS

print("1..%d" % len(CASES))
sys.stdout.flush()
for name, case in CASES:
    run(name, case)
if conn is not None:
    conn.close()
sys.exit(1 if failures else 0)
