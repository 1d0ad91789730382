#!/usr/bin/python3
"""provider.py — rthunkd as a provider, through a Python Thrift client.

Usage: provider.py PORT AUTH_PORT TOKEN GENDIR

PORT is an rthunkd named "pyprov"; AUTH_PORT one started with
--token-file holding TOKEN. GENDIR holds the code `thrift --gen py`
generated from idl/rthunk.thrift. Framed transport + binary protocol, ASTs
built by hand (a flat node list, children before parents, root last), and
content addresses computed here, in Python, from the canonical encoding
that src/rthunk-hash.c documents, so that nothing of the C library is
needed to speak content-addressed code. Prints TAP.
"""

import hashlib
import os
import struct
import sys
import time
import traceback

# The address of (defn sq [n] (* n n)): the known answer of tests/test-hash.c.
SQ_HEX = "c13ddad8ea1af50d694711bb2e5e267452cb98fafa196c4982d75fdc234a1103"
AWAIT_LIMIT_S = 120.0


def bail(message):
    print("1..1")
    print("not ok 1 - %s" % message)
    sys.exit(1)


if len(sys.argv) != 5:
    bail("usage: provider.py PORT AUTH_PORT TOKEN GENDIR")

PORT = int(sys.argv[1])
AUTH_PORT = int(sys.argv[2])
TOKEN = sys.argv[3]
sys.path.insert(0, sys.argv[4])

try:
    from thrift.transport import TSocket, TTransport
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TException
except ImportError as e:
    bail("python3-thrift is not installed for %s (%s); install python3-thrift"
         % (sys.executable, e))

try:
    from rthunk_wire import RemoteExecutionService
    from rthunk_wire.ttypes import (
        Ast, AstNode, NodeKind, Auth, Binding, Value, ValueNode, ValueKind,
        EvalRequest, EvalOptions, RemoteThunk, ThunkState, FuncFlag,
        DefRef, Definition, MissingDefinitions, InvalidRequest,
        NotAuthorized, ErrorCode)
except ImportError as e:
    bail("cannot import the generated rthunk_wire package from %s (%s)"
         % (sys.argv[4], e))

NO_AUTH = Auth()


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# ---- connections -------------------------------------------------------------

class Connection(object):
    def __init__(self, port):
        sock = TSocket.TSocket("127.0.0.1", port)
        sock.setTimeout(90000)
        self.transport = TTransport.TFramedTransport(sock)
        protocol = TBinaryProtocol.TBinaryProtocol(self.transport)
        self.client = RemoteExecutionService.Client(protocol)
        self.transport.open()

    def close(self):
        try:
            self.transport.close()
        except Exception:
            pass


connections = {}


def client(port=PORT):
    if port not in connections:
        connections[port] = Connection(port)
    return connections[port].client


def reconnect():
    """After a transport failure, so later cases still run."""
    for c in connections.values():
        c.close()
    connections.clear()


# ---- TAP ---------------------------------------------------------------------

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


# ---- forms: symbols are str, calls tuples, vectors lists, ints int -------------

def ast_of(form, source="provider.py"):
    """The wire Ast of a form: children before parents, root last."""
    nodes = []

    def add(f):
        if isinstance(f, bool):
            raise ValueError("no bools here")
        if isinstance(f, int):
            nodes.append(AstNode(kind=NodeKind.INT, intValue=f, line=1, col=len(nodes) + 1))
        elif isinstance(f, str):
            nodes.append(AstNode(kind=NodeKind.SYMBOL, text=f, line=1, col=len(nodes) + 1))
        else:
            children = [add(c) for c in f]
            kind = NodeKind.VECTOR if isinstance(f, list) else NodeKind.LIST
            nodes.append(AstNode(kind=kind, children=children, line=1, col=len(nodes) + 1))
        return len(nodes) - 1

    add(form)
    return Ast(nodes=nodes, types=[], source=source)


SPECIAL_HEADS = ("if", "do", "and", "or", "recur", "remote", "await")


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)


def encode_definition(form, hashes):
    """The canonical bytes of a (defn NAME [PARAMS] BODY…) form, version 1
    (src/rthunk-hash.c): locals by de Bruijn index, the defn's own name as
    SELF, another definition (a name in @hashes) as its address, anything
    else as a free name. Only what the cases here use: ints, names, calls."""
    check(form[0] == "defn", "not a defn")
    name, params, body = form[1], form[2], form[3:]
    out = bytearray(b"rth\x01")

    def name_bytes(text):
        raw = text.encode("utf-8")
        return u64(len(raw)) + raw

    def expr(f, scope, head=False):
        if isinstance(f, int):
            out.extend(b"\x01" + u64(f))
        elif isinstance(f, str):
            if head and f in SPECIAL_HEADS:
                out.extend(b"\x07" + name_bytes(f))
            elif f in scope:
                out.extend(b"\x08" + u32(len(scope) - 1 - max(i for i, s in enumerate(scope) if s == f)))
            elif f == name:
                out.extend(b"\x09")
            elif f in hashes:
                out.extend(b"\x0a" + hashes[f])
            else:
                out.extend(b"\x07" + name_bytes(f))
        elif isinstance(f, list):
            out.extend(b"\x0c" + u32(len(f)))
            for item in f:
                expr(item, scope)
        else:
            out.extend(b"\x0b" + u32(len(f)))
            for k, item in enumerate(f):
                expr(item, scope, head=(k == 0))

    out.extend(b"\x0d" + u32(len(params)) + u32(len(body)))
    for b in body:
        expr(b, list(params))
    return bytes(out)


def address(form, hashes=None):
    return hashlib.sha256(encode_definition(form, hashes or {})).digest()


SQ = ("defn", "sq", ["n"], ("*", "n", "n"))
SUMSQ = ("defn", "sumsq", ["a", "b"], ("+", ("sq", "a"), ("sq", "b")))
H_SQ = address(SQ)
H_SUMSQ = address(SUMSQ, {"sq": H_SQ})


def definition(form, hash_, uses=()):
    return Definition(hash=hash_, form=ast_of(form),
                      uses=[DefRef(name=n, hash=h) for n, h in uses])


# ---- values and thunks -----------------------------------------------------------

def int_value(v):
    return Value(nodes=[ValueNode(kind=ValueKind.INT, intValue=v)])


def decode_value(value):
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
            return [node(c) for c in n.items or []]
        raise Failure("value node %d has kind %r" % (k, n.kind))

    return node(len(nodes) - 1)


def state_name(state):
    return ThunkState._VALUES_TO_NAMES.get(state, repr(state))


def finished(thunk):
    return thunk.state in (ThunkState.DONE, ThunkState.FAILED, ThunkState.CANCELLED)


def wait(thunk, port=PORT, auth=NO_AUTH):
    """The VarCont of a submitted thunk once it finished."""
    check(thunk.id is not None and len(thunk.id) == 16, "thunk id %r" % thunk.id)
    deadline = time.monotonic() + AWAIT_LIMIT_S
    while True:
        check(time.monotonic() < deadline, "the thunk is unfinished after %.0f s" % AWAIT_LIMIT_S)
        done = client(port).thunkAwait([RemoteThunk(id=thunk.id)], 10000, auth)
        if done:
            check(len(done) == 1 and done[0].id == thunk.id, "thunkAwait returned %r" % done)
            return done[0]


def value_of(thunk, port=PORT, auth=NO_AUTH):
    cont = wait(thunk, port, auth)
    check(cont.state == ThunkState.DONE,
          "state %s, error %r" % (state_name(cont.state), cont.error))
    return decode_value(cont.value)


def request(form, defs=(), no_cache=False, inline_ms=None, fuel=None, bindings=()):
    options = EvalOptions()
    if no_cache:
        options.useCache = False
    if inline_ms is not None:
        options.inlineBudgetMs = inline_ms
    if fuel is not None:
        options.fuel = fuel
    return EvalRequest(ast=ast_of(form),
                       bindings=[Binding(name=n, value=int_value(v)) for n, v in bindings],
                       definitions=[DefRef(name=n, hash=h) for n, h in defs],
                       options=options)


def info(port=PORT, auth=NO_AUTH):
    return client(port).getServerInfo(auth)


def expect(exception_type, code, call, *args):
    try:
        result = call(*args)
    except exception_type as e:
        check(e.code == code, "%s code %r, not %r: %s"
              % (exception_type.__name__, e.code, code, e.message))
        check(e.message, "%s without a message" % exception_type.__name__)
        return e
    raise Failure("no %s; the call returned %r" % (exception_type.__name__, result))


# ---- content-addressed code ------------------------------------------------------

def case_known_answer():
    got = H_SQ.hex()
    check(got == SQ_HEX, "Python's address of (defn sq [n] (* n n)) is %s, not %s" % (got, SQ_HEX))
    check(address(("defn", "square", ["k"], ("*", "k", "k"))) == H_SQ,
          "renaming the function or its parameter changed the address")
    check(H_SUMSQ != H_SQ, "sumsq and sq share an address")


def case_missing_exact():
    before = info()
    e = expect(MissingDefinitions, ErrorCode.MISSING_DEFINITIONS, client().submitEvalRequest,
               request(("sq", 7), defs=[("sq", H_SQ)]), NO_AUTH)
    check(list(e.hashes) == [H_SQ], "hashes %r, not [sq's]" % [bytes(h).hex() for h in e.hashes])
    check(info().counters.submitted == before.counters.submitted, "a thunk was queued anyway")


def case_put_wrong_hash():
    wrong = bytearray(H_SQ)
    wrong[0] ^= 1
    expect(InvalidRequest, ErrorCode.INVALID_REQUEST, client().putDefinitions,
           [definition(SQ, bytes(wrong))], NO_AUTH)
    expect(InvalidRequest, ErrorCode.INVALID_REQUEST, client().putDefinitions,
           [definition(SQ, H_SQ[:31])], NO_AUTH)
    check(info().counters.definitionsStored == 0, "a refused definition was stored")


def case_put_use_missing():
    e = expect(InvalidRequest, ErrorCode.MISSING_DEFINITIONS, client().putDefinitions,
               [definition(SUMSQ, H_SUMSQ, [("sq", H_SQ)])], NO_AUTH)
    check("sq" in e.message, "the message %r does not name sq" % e.message)


def case_put_not_defn():
    expect(InvalidRequest, ErrorCode.INVALID_REQUEST, client().putDefinitions,
           [Definition(hash=H_SQ, form=ast_of(("*", 2, 2)), uses=[])], NO_AUTH)


def case_put_then_run():
    added = client().putDefinitions([definition(SQ, H_SQ)], NO_AUTH)
    check(added == 1, "putDefinitions added %r, not 1" % added)
    added = client().putDefinitions([definition(SQ, H_SQ)], NO_AUTH)
    check(added == 0, "the second putDefinitions added %r, not 0" % added)
    thunk = client().submitEvalRequest(request(("sq", 7), defs=[("sq", H_SQ)]), NO_AUTH)
    check(value_of(thunk) == 49, "(sq 7) is not 49")


def case_recursive():
    req = request(("sumsq", 3, 4), defs=[("sumsq", H_SUMSQ), ("sq", H_SQ)])
    e = expect(MissingDefinitions, ErrorCode.MISSING_DEFINITIONS, client().submitEvalRequest,
               req, NO_AUTH)
    check(list(e.hashes) == [H_SUMSQ], "hashes %r: only sumsq should be missing"
          % [bytes(h).hex() for h in e.hashes])
    added = client().putDefinitions([definition(SUMSQ, H_SUMSQ, [("sq", H_SQ)])], NO_AUTH)
    check(added == 1, "putDefinitions added %r" % added)
    check(value_of(client().submitEvalRequest(req, NO_AUTH)) == 25, "(sumsq 3 4) is not 25")
    check(info().counters.definitionsStored == 2,
          "definitionsStored %r, not 2" % info().counters.definitionsStored)


def case_other_names():
    # the same code by other names: nothing missing, nothing shipped
    req = request(("+", ("square", 5), ("sum-of-squares", 1, 2)),
                  defs=[("square", H_SQ), ("sum-of-squares", H_SUMSQ)])
    check(value_of(client().submitEvalRequest(req, NO_AUTH)) == 30, "not 25 + 5")
    check(info().counters.definitionsStored == 2, "a definition was added")


# ---- the cache ---------------------------------------------------------------------

# Sums 0 … 99 in 100 loop steps: a result costly enough to cache (a server
# computes again whatever takes fewer than 64 steps).
SUM_100 = ("loop", ["i", 0, "acc", 0],
           ("if", ("<", "i", 100), ("recur", ("+", "i", 1), ("+", "acc", "i")), "acc"))
# Adds x 100 times: as costly, and reading an input.
X_TIMES_100 = ("loop", ["i", 0, "acc", 0],
               ("if", ("<", "i", 100), ("recur", ("+", "i", 1), ("+", "acc", "x")), "acc"))
# The cases that must not hit the cache use these costly forms too, so that
# only the reason they name keeps them out: were they cached, cacheHits would
# rise.


def case_cache_hit():
    form = SUM_100
    first = client().submitEvalRequest(request(form, inline_ms=0), NO_AUTH)
    check(value_of(first) == 4950, "the sum to 100 is not 4950")
    before = info().counters
    second = client().submitEvalRequest(request(form, inline_ms=0), NO_AUTH)
    check(second.state == ThunkState.DONE, "a cache hit is not DONE inline (state %s)"
          % state_name(second.state))
    check(decode_value(second.value) == 4950, "the cached value is not 4950")
    after = info().counters
    check(after.cacheHits - before.cacheHits == 1, "cacheHits rose by %d"
          % (after.cacheHits - before.cacheHits))
    check(after.completed - before.completed == 1, "completed rose by %d"
          % (after.completed - before.completed))


def case_cache_inputs():
    form = X_TIMES_100
    check(value_of(client().submitEvalRequest(request(form, bindings=[("x", 5)]), NO_AUTH)) == 500,
          "x = 5")
    before = info().counters
    check(value_of(client().submitEvalRequest(request(form, bindings=[("x", 5)]), NO_AUTH)) == 500,
          "x = 5 again")
    check(info().counters.cacheHits - before.cacheHits == 1, "the same input missed the cache")
    before = info().counters
    check(value_of(client().submitEvalRequest(request(form, bindings=[("x", 6)]), NO_AUTH)) == 600,
          "x = 6")
    check(info().counters.cacheHits == before.cacheHits, "other inputs hit the cache")


def case_cache_off():
    form = ("-", SUM_100, 8)
    value_of(client().submitEvalRequest(request(form), NO_AUTH))
    before = info().counters
    check(value_of(client().submitEvalRequest(request(form, no_cache=True), NO_AUTH)) == 4942,
          "not 4942")
    check(info().counters.cacheHits == before.cacheHits, "useCache=false hit the cache")


def case_delay_never_cached():
    form = ("+", ("delay", 1, 5), SUM_100)
    value_of(client().submitEvalRequest(request(form), NO_AUTH))
    before = info().counters
    check(value_of(client().submitEvalRequest(request(form), NO_AUTH)) == 4955, "not 4955")
    check(info().counters.cacheHits == before.cacheHits, "delay hit the cache")


# ---- cancel and await --------------------------------------------------------------

def case_cancel():
    thunk = client().submitEvalRequest(request(("delay", 30000, 1), inline_ms=0), NO_AUTH)
    check(not finished(thunk), "a 30 s delay finished inline")
    check(client().thunkCancel(RemoteThunk(id=thunk.id), NO_AUTH) is True,
          "thunkCancel of an unfinished thunk did not return true")
    cont = wait(thunk)
    check(cont.state == ThunkState.CANCELLED, "state %s" % state_name(cont.state))
    check(cont.error is not None and cont.error.code == ErrorCode.CANCELLED, "error %r" % cont.error)
    check(client().thunkCancel(RemoteThunk(id=thunk.id), NO_AUTH) is False,
          "thunkCancel of a finished thunk did not return false")


def case_cancel_unknown():
    expect(InvalidRequest, ErrorCode.UNKNOWN_THUNK, client().thunkCancel,
           RemoteThunk(id=os.urandom(16)), NO_AUTH)


def case_await_timeout():
    thunk = client().submitEvalRequest(request(("delay", 60000, 1), inline_ms=0), NO_AUTH)
    started = time.monotonic()
    done = client().thunkAwait([RemoteThunk(id=thunk.id)], 200, NO_AUTH)
    elapsed = time.monotonic() - started
    check(done == [], "thunkAwait returned %r" % done)
    check(elapsed >= 0.2, "it returned after %.3f s, before its timeout" % elapsed)
    check(client().thunkCancel(RemoteThunk(id=thunk.id), NO_AUTH) is True, "cancel")
    check(wait(thunk).state == ThunkState.CANCELLED, "not cancelled")


# ---- batch, limits, the server functions ---------------------------------------

def case_batch():
    requests = [
        request(("+", 1, 2)),
        request(("+", 1, "nope")),                          # unbound name
        request(("mystery", 1), defs=[("mystery", b"\x07" * 32)]),
        request(("*", "x", "x"), bindings=[("x", 9)]),
    ]
    thunks = client().submitBatch(requests, NO_AUTH)
    check(len(thunks) == 4, "%d thunks for 4 requests" % len(thunks))
    check(value_of(thunks[0]) == 3, "(+ 1 2)")
    check(thunks[1].state == ThunkState.FAILED, "state %s" % state_name(thunks[1].state))
    check(thunks[2].state == ThunkState.FAILED and
          thunks[2].error.code == ErrorCode.MISSING_DEFINITIONS, "error %r" % thunks[2].error)
    check(value_of(thunks[3]) == 81, "(* x x)")


def case_fuel_lower():
    loop = ("loop", ["i", 0], ("if", ("<", "i", 100000), ("recur", ("+", "i", 1)), "i"))
    cont = wait(client().submitEvalRequest(request(loop, fuel=100, no_cache=True), NO_AUTH))
    check(cont.state == ThunkState.FAILED and cont.error.code == ErrorCode.FUEL_EXHAUSTED,
          "state %s, error %r" % (state_name(cont.state), cont.error))


def case_server_functions():
    defs = dict((d.name, d) for d in client().getFuncDefs(["delay", "server-name"], NO_AUTH))
    check(not defs["delay"].flags & FuncFlag.PURE, "delay is marked pure")
    check(defs["server-name"].flags & FuncFlag.IO, "server-name is not io")
    check(value_of(client().submitEvalRequest(request(("server-name",)), NO_AUTH)) == "pyprov",
          "(server-name) is not the --name")
    started = time.monotonic()
    check(value_of(client().submitEvalRequest(request(("delay", 250, 11)), NO_AUTH)) == 11,
          "(delay 250 11) is not 11")
    check(time.monotonic() - started >= 0.25, "delay returned early")


# ---- auth ------------------------------------------------------------------------

auth_target = []


def target():
    """A running thunk on the auth server, for thunkGet/Await/Cancel."""
    if not auth_target:
        t = client(AUTH_PORT).submitEvalRequest(request(("delay", 600000, 1), inline_ms=0),
                                                Auth(token=TOKEN))
        auth_target.append(t.id)
    return auth_target[0]


AUTH_METHODS = [
    ("getFuncDefs", lambda c, a: c.getFuncDefs([], a)),
    ("getServerInfo", lambda c, a: c.getServerInfo(a)),
    ("submitEvalRequest", lambda c, a: c.submitEvalRequest(request(("+", 1, 2), no_cache=True), a)),
    ("submitBatch", lambda c, a: c.submitBatch([request(("+", 1, 2), no_cache=True)], a)),
    ("thunkGet", lambda c, a: c.thunkGet(RemoteThunk(id=target()), a)),
    ("thunkAwait", lambda c, a: c.thunkAwait([RemoteThunk(id=target())], 0, a)),
    ("thunkCancel", lambda c, a: c.thunkCancel(RemoteThunk(id=target()), a)),
    ("putDefinitions", lambda c, a: c.putDefinitions([definition(SQ, H_SQ)], a)),
]


def denied_case(call, auth):
    def case():
        right = Auth(token=TOKEN)
        target()
        before = info(AUTH_PORT, right).counters
        expect(NotAuthorized, ErrorCode.NOT_AUTHORIZED, call, client(AUTH_PORT), auth)
        after = info(AUTH_PORT, right).counters
        check(after.submitted == before.submitted, "something was submitted")
        check(after.cancelled == before.cancelled, "something was cancelled")
        check(after.definitionsStored == before.definitionsStored, "a definition was stored")
        cont = client(AUTH_PORT).thunkGet(RemoteThunk(id=target()), right)
        check(not finished(cont), "the target thunk is %s" % state_name(cont.state))
    return case


def case_auth_allowed():
    right = Auth(token=TOKEN)
    for name, call in AUTH_METHODS:
        try:
            call(client(AUTH_PORT), right)
        except TException as e:
            raise Failure("%s with the right token: %r" % (name, e))
    cont = wait(RemoteThunk(id=target()), AUTH_PORT, right)
    check(cont.state == ThunkState.CANCELLED, "the cancelled target is %s" % state_name(cont.state))
    thunk = client(AUTH_PORT).submitEvalRequest(request(("sq", 12), defs=[("sq", H_SQ)]), right)
    check(value_of(thunk, AUTH_PORT, right) == 144, "(sq 12) with the token")


CASES = [
    ("Python's canonical encoding gives (defn sq [n] (* n n)) the C library's known address",
     case_known_answer),
    ("submitEvalRequest naming a hash the server lacks raises MissingDefinitions with exactly it",
     case_missing_exact),
    ("putDefinitions with a wrong or short hash raises InvalidRequest and stores nothing",
     case_put_wrong_hash),
    ("putDefinitions of sumsq before sq raises InvalidRequest naming sq",
     case_put_use_missing),
    ("putDefinitions of a form that is not a defn raises InvalidRequest", case_put_not_defn),
    ("putDefinitions of sq adds 1 (then 0), and (sq 7) is 49", case_put_then_run),
    ("(sumsq 3 4): only sumsq is missing, after putDefinitions it is 25; 2 stored",
     case_recursive),
    ("the same code under other names needs no definitions", case_other_names),
    ("the sum to 100 twice: the second is DONE inline from the cache, cacheHits + 1",
     case_cache_hit),
    ("other input values do not hit the cache", case_cache_inputs),
    ("useCache=false does not hit the cache", case_cache_off),
    ("delay is never cached", case_delay_never_cached),
    ("thunkCancel of (delay 30000 1): true, CANCELLED, then false", case_cancel),
    ("thunkCancel of an unknown id raises InvalidRequest UNKNOWN_THUNK", case_cancel_unknown),
    ("thunkAwait of a running thunk returns [] at its 200 ms timeout", case_await_timeout),
    ("submitBatch answers each request in its place, failures as FAILED", case_batch),
    ("options.fuel lower than the server's is honoured", case_fuel_lower),
    ("delay is not pure, server-name is io and returns the --name, delay waits",
     case_server_functions),
]
for method, call in AUTH_METHODS:
    CASES.append(("%s without a token raises NotAuthorized and nothing runs" % method,
                  denied_case(call, NO_AUTH)))
    CASES.append(("%s with a wrong token raises NotAuthorized and nothing runs" % method,
                  denied_case(call, Auth(token=TOKEN + "-wrong"))))
CASES.append(("with the right token every method works", case_auth_allowed))

print("1..%d" % len(CASES))
sys.stdout.flush()
for name, case in CASES:
    run(name, case)
for t in auth_target:
    try:
        client(AUTH_PORT).thunkCancel(RemoteThunk(id=t), Auth(token=TOKEN))
    except Exception:
        pass
reconnect()
sys.exit(1 if failures else 0)
