#!/usr/bin/python3
"""define_and_call.py — define a function on an rthunk server and call it.

Usage: define_and_call.py HOST:PORT GENDIR

GENDIR holds the Python code Thrift generates from idl/rthunk.thrift:

    thrift --gen py -out GENDIR idl/rthunk.thrift

Written from docs/protocol.md alone: it reads rthunk text into the wire's
flat node lists, computes the content address of each defn itself (the
canonical encoding, version 1), submits a call, answers
MissingDefinitions with putDefinitions, submits again and prints the
result. It needs Debian's python3-thrift and nothing else.
"""

import hashlib
import re
import struct
import sys
import time

DEFINITIONS = [
    "(defn sq [n] (* n n))",
    "(defn sumsq [a b] (+ (sq a) (sq b)))",
]
CALL = "(sumsq 3 4)"


# ---- reading rthunk text ----------------------------------------------------

class Sym(str):
    """A symbol; a plain str is a string literal."""


class Keyword(str):
    """A keyword, without its colon."""


class Vector(list):
    """[ … ]; a plain list is ( … )."""


TOKEN = re.compile(r'\s+|;[^\n]*|"(?:[^"\\]|\\.)*"|[()\[\]]|[^\s()\[\]";]+')


def read(text):
    """The one form in @text: ints, floats, strings, symbols, keywords,
    true, false, nil, lists and vectors."""
    stack = [[]]
    for m in TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0].isspace() or tok[0] == ";":
            continue
        if tok in ("(", "["):
            stack.append(Vector() if tok == "[" else [])
        elif tok in (")", "]"):
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(atom(tok))
    (form,) = stack[0]
    return form


def atom(tok):
    if tok[0] == '"':
        escapes = {"n": "\n", "t": "\t"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), tok[1:-1])
    if tok in ("true", "false"):
        return tok == "true"
    if tok == "nil":
        return None
    if tok[0] == ":":
        return Keyword(tok[1:])
    for number in (int, float):
        try:
            return number(tok)
        except ValueError:
            pass
    return Sym(tok)


def kind_of(f):
    """The AST node kind (docs/protocol.md, NodeKind) of a form read()
    returned."""
    for python_type, kind in ((bool, "BOOL"), (int, "INT"), (float, "FLOAT"),
                              (Keyword, "KEYWORD"), (Sym, "SYMBOL"), (str, "STR"),
                              (Vector, "VECTOR"), (list, "LIST")):
        if isinstance(f, python_type):
            return kind
    return "NIL"


# ---- the canonical encoding and the address (docs/protocol.md) --------------

SPECIAL_HEADS = ("if", "do", "and", "or", "recur", "remote", "await")


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)


def text_bytes(tag, text):
    raw = text.encode("utf-8")
    return bytes([tag]) + u64(len(raw)) + raw


class Encoder:
    def __init__(self, self_name, known):
        self.self_name = self_name      # the defn's own name
        self.known = known              # name -> address of user definitions
        self.locals = []                # bound names, innermost last
        self.out = bytearray(b"rth\x01")

    def name(self, name):
        if name in self.locals:
            index = len(self.locals) - 1 - max(
                k for k, n in enumerate(self.locals) if n == name)
            self.out += b"\x08" + u32(index)
        elif name == self.self_name:
            self.out += b"\x09"
        elif name in self.known:
            self.out += b"\x0a" + self.known[name]
        else:
            self.out += text_bytes(0x07, name)

    def lambda_(self, params, body):
        self.out += b"\x0d" + u32(len(params)) + u32(len(body))
        mark = len(self.locals)
        self.locals.extend(params)
        for form in body:
            self.expr(form)
        del self.locals[mark:]

    def bindings(self, tag, pairs, body):
        self.out += bytes([tag]) + u32(len(pairs) // 2)
        mark = len(self.locals)
        for k in range(0, len(pairs), 2):
            self.expr(pairs[k + 1])
            self.locals.append(pairs[k])
        self.out += u32(len(body))
        for form in body:
            self.expr(form)
        del self.locals[mark:]

    def expr(self, f):
        kind = kind_of(f)
        if kind == "INT":
            self.out += b"\x01" + u64(f)
        elif kind == "FLOAT":
            bits = 0x7FF8000000000000 if f != f else struct.unpack(">Q", struct.pack(">d", f))[0]
            self.out += b"\x02" + u64(bits)
        elif kind in ("STR", "KEYWORD"):
            self.out += text_bytes(0x03 if kind == "STR" else 0x06, f)
        elif kind == "BOOL":
            self.out += b"\x04" + bytes([1 if f else 0])
        elif kind == "NIL":
            self.out += b"\x05"
        elif kind == "SYMBOL":
            self.name(f)
        elif kind == "VECTOR":
            self.out += b"\x0c" + u32(len(f))
            for item in f:
                self.expr(item)
        else:
            self.list_form(f)

    def list_form(self, f):
        head = f[0] if f and isinstance(f[0], Sym) else None
        if head == "fn":
            self.lambda_(f[1], f[2:])
        elif head in ("let", "loop"):
            self.bindings(0x0e if head == "let" else 0x0f, f[1], f[2:])
        else:
            self.out += b"\x0b" + u32(len(f))
            for k, item in enumerate(f):
                if k == 0 and head in SPECIAL_HEADS:
                    self.out += text_bytes(0x07, head)
                else:
                    self.expr(item)


def address(defn, known):
    """SHA-256 of the canonical encoding of (defn NAME [PARAMS] BODY…)."""
    encoder = Encoder(defn[1], known)
    encoder.lambda_(defn[2], defn[3:])
    return hashlib.sha256(bytes(encoder.out)).digest()


def uses_of(form, known, bound=()):
    """The user definitions @form names, each once, in order."""
    found = []
    if isinstance(form, Sym) and form in known and form not in bound:
        found.append(form)
    elif isinstance(form, list):
        for item in form:
            found += [n for n in uses_of(item, known, bound) if n not in found]
    return found


def transitively(names, needs):
    """@names and every definition they use, each once."""
    found = []
    for name in names:
        found += [n for n in needs[name] + [name] if n not in found]
    return found


# ---- the wire: flat node lists, children first, root last -------------------

ATOM_FIELD = {"INT": "intValue", "FLOAT": "floatValue", "BOOL": "boolValue",
              "STR": "text", "SYMBOL": "text", "KEYWORD": "text"}


def to_ast(form, source):
    from rthunk_wire.ttypes import Ast, AstNode, NodeKind
    nodes = []

    def add(f):
        kind = kind_of(f)
        if kind in ("LIST", "VECTOR"):
            children = [add(item) for item in f]
            node = AstNode(kind=getattr(NodeKind, kind), children=children)
        elif kind == "NIL":
            node = AstNode(kind=NodeKind.NIL)
        else:
            node = AstNode(kind=getattr(NodeKind, kind), **{ATOM_FIELD[kind]: f})
        nodes.append(node)
        return len(nodes) - 1

    add(form)
    return Ast(nodes=nodes, types=[], source=source)


def from_value(value):
    """A wire Value as Python: the root is the last node."""
    from rthunk_wire.ttypes import ValueKind
    nodes = value.nodes

    def node(k):
        n = nodes[k]
        if n.kind == ValueKind.LIST:
            return [node(i) for i in n.items or []]
        return {ValueKind.NIL: None, ValueKind.BOOL: n.boolValue,
                ValueKind.INT: n.intValue, ValueKind.FLOAT: n.floatValue,
                ValueKind.STR: n.text}.get(n.kind, n.text)
    return node(len(nodes) - 1)


# ---- the conversation --------------------------------------------------------

def main(argv):
    if len(argv) != 3:
        sys.exit("usage: define_and_call.py HOST:PORT GENDIR")
    host, port = argv[1].rsplit(":", 1)
    sys.path.insert(0, argv[2])
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport
    from rthunk_wire import RemoteExecutionService
    from rthunk_wire.ttypes import (Auth, DefRef, Definition, EvalRequest,
                                    MissingDefinitions, ThunkState)

    # the addresses, dependencies first; needs: what each uses, transitively
    known, needs, definitions = {}, {}, []
    for text in DEFINITIONS:
        form = read(text)
        uses = uses_of(form[3:], known, form[2])
        hash_ = address(form, known)
        definitions.append(Definition(hash=hash_, form=to_ast(form, "define_and_call.py"),
                                      uses=[DefRef(name=n, hash=known[n]) for n in uses]))
        known[form[1]] = hash_
        needs[form[1]] = [m for n in uses for m in needs[n] + [n]]
        print("%s %s" % (form[1], hash_.hex()))

    socket = TSocket.TSocket(host, int(port))
    socket.setTimeout(30000)
    transport = TTransport.TFramedTransport(socket)
    client = RemoteExecutionService.Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    auth = Auth()
    call = read(CALL)
    request = EvalRequest(ast=to_ast(call, "define_and_call.py"),
                          definitions=[DefRef(name=n, hash=known[n])
                                       for n in transitively(uses_of(call, known), needs)])
    try:
        thunk = client.submitEvalRequest(request, auth)
    except MissingDefinitions as missing:
        print("missing %d definitions; sending them" % len(missing.hashes))
        client.putDefinitions(definitions, auth)
        thunk = client.submitEvalRequest(request, auth)

    # finished inline, or wait for it: thunkAwait returns when it is final
    result = thunk
    deadline = time.monotonic() + 30
    while result.state not in (ThunkState.DONE, ThunkState.FAILED, ThunkState.CANCELLED):
        if time.monotonic() > deadline:
            sys.exit("no answer within 30 s")
        finished = client.thunkAwait([thunk], 1000, auth)
        result = finished[0] if finished else result
    transport.close()
    if result.state != ThunkState.DONE:
        sys.exit("%s failed: %s" % (CALL, result.error.message))
    print("%s => %r" % (CALL, from_value(result.value)))


if __name__ == "__main__":
    main(sys.argv)
