/*
 * rthunk.thrift — the one contract between every rthunk client and server.
 *
 * Rules (see docs/protocol.md):
 *  - Trees (ASTs, types, values) travel as flat lists of nodes; a node names
 *    its children by index into the same list, children come before their
 *    parents, and the root is the last node.  Nothing here is self-recursive.
 *  - Thrift unions are not used: a node has a kind and optional fields, of
 *    which exactly the ones its kind needs are set.
 *  - Every error is a typed exception with a code, a message and, where it
 *    has one, a source position.
 *  - Every method takes an Auth as its last argument; a server started with
 *    a token refuses calls whose token does not match.
 */

namespace c_glib RthunkWire
namespace py rthunk_wire

const i32 PROTOCOL_VERSION = 1

/* ---- positions and errors -------------------------------------------- */

struct SourcePos {
  1: string source,
  2: i32 line,
  3: i32 col,
}

/* Error codes shared by every exception; they match the GError codes of
 * the C library (RthunkError). */
enum ErrorCode {
  INTERNAL = 1,
  INVALID_REQUEST = 2,
  TYPE_MISMATCH = 3,
  UNKNOWN_FUNCTION = 4,
  UNBOUND_NAME = 5,
  SYNTAX = 6,
  EVAL_FAILED = 7,
  DIVISION_BY_ZERO = 8,
  OVERFLOW = 9,
  FUEL_EXHAUSTED = 10,
  DEADLINE_EXCEEDED = 11,
  CANCELLED = 12,
  OVERLOADED = 13,
  NOT_AUTHORIZED = 14,
  UNKNOWN_THUNK = 15,
  MISSING_DEFINITIONS = 16,
  LIMIT_EXCEEDED = 17,
  INDEX_OUT_OF_RANGE = 18,
  EMPTY_LIST = 19,
  VALUE_TOO_LARGE = 20,   /* a finished value that does not fit in one frame:
                             the thunk is DONE; fetch it with thunkGetChunk */
}

/* The AST is well formed but does not type-check against the catalog. */
exception TypeFailure {
  1: i32 code,
  2: string message,
  3: optional SourcePos pos,
  4: optional string expected,
  5: optional string found,
}

/* The request names definitions (by hash) that the server does not hold. */
exception MissingDefinitions {
  1: i32 code,
  2: string message,
  3: list<binary> hashes,
}

/* Evaluation failed synchronously (used when a result is delivered inline). */
exception EvalFailure {
  1: i32 code,
  2: string message,
  3: optional SourcePos pos,
}

/* Too many queued thunks; retry later. */
exception Overloaded {
  1: i32 code,
  2: string message,
  3: optional i32 retryAfterMs,
}

/* The request is malformed: a bad index, size, count or identifier. */
exception InvalidRequest {
  1: i32 code,
  2: string message,
  3: optional SourcePos pos,
}

exception NotAuthorized {
  1: i32 code,
  2: string message,
}

/* The error of a failed thunk, as data rather than as an exception. */
struct ErrorInfo {
  1: i32 code,
  2: string message,
  3: optional SourcePos pos,
}

struct Auth {
  1: optional string token,
}

/* ---- types ------------------------------------------------------------ */

enum TypeKind {
  VAR = 1,
  INT = 2,
  FLOAT = 3,
  BOOL = 4,
  STR = 5,
  NIL = 6,
  LIST = 7,      /* children: [element] */
  FUNC = 8,      /* children: parameters..., result (last) */
  RECORD = 9,    /* children: the fields' types in the order of fieldNames,
                    then the row variable when the record is open */
  MAYBE = 10,    /* children: [the type of the value when present] */
}

/* Constraint on a type variable. */
enum TypeClass {
  ANY = 0,
  NUM = 1,       /* int or float */
  EQ = 2,        /* comparable with = (no functions inside) */
  ORD = 3,       /* ordered: int, float, str */
}

struct TypeNode {
  1: required TypeKind kind,
  2: optional i32 varId,            /* VAR: variable number, local to the term */
  3: optional TypeClass constraint, /* VAR */
  4: optional list<i32> children,   /* LIST, FUNC, RECORD: indices of earlier nodes */
  5: optional list<string> fieldNames, /* RECORD: the field names, sorted and
                                      distinct, one per child but the row */
}

/* A type: its nodes, root last. */
struct TypeTerm {
  1: list<TypeNode> nodes,
}

/* ---- values ----------------------------------------------------------- */

enum ValueKind {
  NIL = 1,
  BOOL = 2,
  INT = 3,
  FLOAT = 4,
  STR = 5,
  LIST = 6,      /* items: indices of earlier nodes */
  FUNC = 7,      /* a function value: text is its name (printing only) */
  THUNK = 8,     /* a reference to a thunk held by a server (pipelining) */
  RECORD = 9,    /* items: the field values, in the order of fieldNames */
}

struct ValueNode {
  1: required ValueKind kind,
  2: optional bool boolValue,
  3: optional i64 intValue,
  4: optional double floatValue,
  5: optional string text,
  6: optional list<i32> items,
  7: optional binary thunkId,
  8: optional string holder,       /* THUNK: "HOST:PORT" of the server that holds
                                      it, when it is not the receiving one: that
                                      server fetches the value (see fetchesFrom);
                                      the binding's type is then required */
  9: optional list<string> fieldNames, /* RECORD: the field names, sorted and
                                      distinct, one per item */
}

/* A value: its nodes, root last. */
struct Value {
  1: list<ValueNode> nodes,
}

/* ---- ASTs ------------------------------------------------------------- */

/* The AST is the read s-expression: special forms (if, let, fn, …) are
 * calls whose head is a symbol, exactly as the text was written. */
enum NodeKind {
  INT = 1,
  FLOAT = 2,
  STR = 3,
  BOOL = 4,
  NIL = 5,
  SYMBOL = 6,
  KEYWORD = 7,
  LIST = 8,       /* ( … ) — a call or a special form */
  VECTOR = 9,     /* [ … ] — a list literal, a parameter or binding list */
}

struct AstNode {
  1: required NodeKind kind,
  2: optional i64 intValue,
  3: optional double floatValue,
  4: optional bool boolValue,
  5: optional string text,          /* STR, SYMBOL, KEYWORD */
  6: optional list<i32> children,   /* LIST, VECTOR: indices of earlier nodes */
  7: optional i32 line,
  8: optional i32 col,
  9: optional i32 typeIndex,        /* index into Ast.types: the inferred type */
}

struct Ast {
  1: list<AstNode> nodes,           /* root last */
  2: list<TypeTerm> types,          /* the types the client inferred */
  3: optional string source,        /* name of the source text, for messages */
}

/* ---- catalog ---------------------------------------------------------- */

typedef string FuncId

/* Bits of FuncDef.flags. */
enum FuncFlag {
  PURE = 1,      /* same inputs, same output: cacheable, retryable, movable */
  IO = 2,        /* side effects: never cached, never retried */
  ASSOC = 4,     /* associative binary operation */
  STATE = 8,     /* reads or updates a state cell of the server (with IO) */
  PROVIDED = 16, /* its type for a call depends on its first argument, a
                    string literal: the client asks provideType for it */
}

struct FuncDef {
  1: FuncId name,
  2: string signature,              /* e.g. "(int int -> int)" */
  3: TypeTerm type,
  4: i32 flags,
  5: string doc,
  6: i32 arity,
}

/* ---- requests and thunks ---------------------------------------------- */

enum ThunkState {
  PENDING = 1,
  RUNNING = 2,
  DONE = 3,
  FAILED = 4,
  CANCELLED = 5,
}

/* A value the expression reads by name (a session cell, say). */
struct Binding {
  1: string name,
  2: Value value,
  3: optional TypeTerm type,
}

struct EvalOptions {
  1: optional bool useCache = true,
  2: optional i64 fuel,             /* at most the server's limit */
  3: optional i32 deadlineMs,       /* at most the server's limit */
  4: optional i32 inlineBudgetMs,   /* wait this long for an inline value */
  5: optional bool byReference,     /* keep the value on the server: only
                                       thunkGet returns it (a remote reference) */
}

/* A name the expression (or a definition) uses for a content-addressed
 * definition: names are only aliases, the hash is the identity. */
struct DefRef {
  1: string name,
  2: binary hash,                   /* SHA-256, 32 bytes */
}

/* A definition: the (defn NAME [params] body…) form, and the definitions
 * it uses.  The server recomputes the hash and refuses a mismatch. */
struct Definition {
  1: binary hash,
  2: Ast form,
  3: list<DefRef> uses,
}

struct EvalRequest {
  1: required Ast ast,
  2: optional list<Binding> bindings,
  3: optional list<DefRef> definitions,  /* every definition the expression needs, transitively */
  4: optional EvalOptions options,
  5: optional binary thunkId,       /* the id the client chose for the thunk
                                       (16 random bytes), so that requests sent
                                       before this one is answered can name it;
                                       refused if another thunk has it */
}

/* The handle of a thunk; when evaluation finished within the inline budget
 * the state is DONE or FAILED and the value or error is already here. */
struct RemoteThunk {
  1: required binary id,
  2: optional string server,
  3: optional ThunkState state,
  4: optional Value value,
  5: optional ErrorInfo error,
}

/* What thunkGet and thunkAwait report about one thunk. */
struct VarCont {
  1: required binary id,
  2: ThunkState state,
  3: optional Value value,
  4: optional TypeTerm type,
  5: optional ErrorInfo error,
  6: optional i64 elapsedUs,
}

/* A slice of a finished list or string value too large for one frame:
 * items [offset, offset + n) of a list, and the length of the whole list;
 * or bytes [offset, offset + n) of a string's UTF-8 text, and the length
 * of the whole text in bytes (a slice may end inside a character: the
 * assembled text is checked whole).  A slice of ints comes as ints (8
 * bytes an item); any other list slice as a list Value of n items; a
 * string's as text.  Exactly one of the three is set. */
struct ValueChunk {
  1: i64 total,
  2: i64 offset,
  3: optional Value items,
  4: optional list<i64> ints,
  5: optional binary text,
}

/* ---- server description ----------------------------------------------- */

struct Limits {
  1: i64 maxFrameBytes,
  2: i32 maxDepth,
  3: i32 maxAstNodes,
  4: i64 fuel,
  5: i32 deadlineMs,
  6: i32 maxQueued,
  7: i32 maxConnections,
  8: i64 maxEvalBytes,
}

struct Counters {
  1: i64 submitted,
  2: i64 completed,
  3: i64 failed,
  4: i64 cancelled,
  5: i64 cacheHits,
  6: i64 definitionsStored,
  7: i64 pipelined,                 /* submissions that named an unfinished thunk as an input */
  8: i64 fetched,                   /* inputs fetched from other servers */
  9: i64 batches,                   /* submitBatch frames */
  10: i64 memoHits,                 /* submissions checked by the memo: a tree of the
                                       same shape, with inputs of the same types,
                                       checked before */
  11: i64 longThunks,               /* thunks that ran past --long-thunk-ms and
                                       gave their worker up */
  12: i64 waiters,                  /* a gauge: thunks awaited right now by thunkAwait
                                       calls and inline submissions, once per call */
  13: i64 cacheHitsLocal,           /* cache hits answered from memory */
  14: i64 cacheHitsShared,          /* cache hits answered from the store below
                                       memory (SQLite, Redis): cacheHits is both */
  15: i64 definitionsLoaded,        /* definitions taken from the store below memory */
  16: i64 stateCells,               /* a gauge: the state cells the server holds */
  17: i64 stateUpdates,             /* state-swap! and state-cas! calls that changed a cell */
  18: i64 typesProvided,            /* provideType calls answered with a type */
}

struct ServerInfo {
  1: string name,
  2: string version,
  3: i32 protocolVersion,
  4: list<string> capabilities,
  5: Limits limits,
  6: i32 running,
  7: i32 queued,
  8: i32 workers,
  9: Counters counters,
  10: binary instanceId,            /* random per start */
  11: list<string> fetchesFrom,     /* the servers it fetches inputs from:
                                       "HOST:PORT", "HOST:*" or "*" */
  12: optional map<string,string> stateCellTypes,
                                    /* each state cell's name and type, e.g.
                                       "hits" → "int" (servers with capability state) */
}

service RemoteExecutionService {
  /* Signatures and flags of the named functions; an empty list means the
   * whole catalog.  Unknown names are an InvalidRequest. */
  list<FuncDef> getFuncDefs(1: list<FuncId> names, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),

  ServerInfo getServerInfo(1: Auth auth)
    throws (1: NotAuthorized denied),

  /* Re-checks the AST, queues it and returns at once; the value is inline
   * when evaluation finished within the inline budget. */
  RemoteThunk submitEvalRequest(1: EvalRequest request, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: TypeFailure failure,
            3: MissingDefinitions missing, 4: Overloaded overloaded,
            5: NotAuthorized denied),

  /* Many submissions in one frame: one RemoteThunk per request, in order;
   * a request that fails its checks comes back FAILED with its error. */
  list<RemoteThunk> submitBatch(1: list<EvalRequest> requests, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: Overloaded overloaded,
            3: NotAuthorized denied),

  /* Non-blocking: the state, and the value or error when finished. */
  VarCont thunkGet(1: RemoteThunk thunk, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),

  /* Long poll: returns as soon as at least one of the thunks is finished
   * (all the finished ones), or at the timeout (then the list is empty). */
  list<VarCont> thunkAwait(1: list<RemoteThunk> thunks, 2: i32 timeoutMs,
                           3: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),

  /* A slice of a finished thunk's list or string value, for a value the
   * other calls reported as VALUE_TOO_LARGE: at most maxItems items (of a
   * string: bytes) from offset (fewer when they would not fit in a frame;
   * none past the end).  A value that is neither a list nor a string, or a
   * thunk not DONE, is an InvalidRequest. */
  ValueChunk thunkGetChunk(1: RemoteThunk thunk, 2: i64 offset, 3: i32 maxItems,
                           4: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),

  /* Cancels a pending or running thunk; true if it was still unfinished. */
  bool thunkCancel(1: RemoteThunk thunk, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),

  /* The type of one call of a PROVIDED function whose leading arguments
   * are the literals literalArgs (today exactly one, a string): a function
   * type, its parameters and result as the data source says (the columns
   * of an SQL statement, the header of a file).  A literal the source
   * refuses (SQL that does not prepare, a file that is not there) is a
   * TypeFailure whose message says why; a function that is not PROVIDED
   * is an InvalidRequest. */
  TypeTerm provideType(1: FuncId fn, 2: list<Value> literalArgs, 3: Auth auth)
    throws (1: InvalidRequest invalid, 2: TypeFailure failure,
            3: NotAuthorized denied),

  /* Stores content-addressed definitions (dependencies before the
   * definitions that use them); returns how many were new. */
  i32 putDefinitions(1: list<Definition> definitions, 2: Auth auth)
    throws (1: InvalidRequest invalid, 2: NotAuthorized denied),
}
