/* bench-rpc.c — rthunk's RPC path against a bare Thrift call, in one run
 *
 * Starts its own peers: one rthunkd (--rthunkd PATH, or $RTHUNKD) and the
 * bare Thrift server of bench/bare-server.c (--bare-server PATH, or
 * $BARE_SERVER), both on free loopback ports, both speaking Thrift's framed
 * transport with the binary protocol. Then runs these benchmarks, each
 * described again where it is written:
 *
 *   latency      10^4 sequential `(+ 1 2)` through rthunk_client_submit()
 *                vs 10^4 sequential bare add(1, 2): median µs per call
 *   throughput   10^5 independent `(+ i 1)` thunks from one RthunkClient,
 *                rthunk_client_submit_batch() of --batch at a time on two
 *                threads: thunks/s
 *   concurrency  16 threads × 2000 calls, one connection each, rthunk vs
 *                bare: calls/s
 *   callers8     the same with 8 threads (set against the RPC peers'
 *                8 concurrent callers by bench/run.sh)
 *   chain        1000 dependent `(+ x 1)`, each awaited before the next
 *                (through rthunk_client_submit); and the same chain
 *                pipelined: one submitBatch frame, link k naming link
 *                k − 1 by the thunk id the client chose for it (and
 *                the pipelined chains once more one after another, the
 *                figure set against Cap'n Proto's); then the same two
 *                through an RthunkSession, written as loops
 *   shell        through an RthunkSession (bench-shell.c): a loop of
 *                awaited (remote (+ i 1)) per form vs bare add(i, 1); the
 *                fan-out of 20000 (remote (+ i 1)) in a map: thunks/s
 *   mix          2000 distinct awaited remote forms (bench-shell.c) vs one
 *                repeated (+ i 1), per form: C API and session
 *   cache        a repeated pure expression answered by the result cache
 *                vs a trivial `(+ 1 2)` with useCache=false: median µs;
 *                and through the C API with an input (n of the pure
 *                expression, i of a trivial `(+ i 1)`)
 *   shared       a result answered from a shared Redis (--redis) by a server
 *                that never computed it, against a local hit and computing
 *   memory       rthunkd's VmRSS holding 10^5 finished thunks, after 10^6,
 *                and its growth from the second to the third 10^5 batch;
 *                then with its result cache full (10^5 results), and its
 *                growth while 10^5 more replace them
 *   pending, cells, startup
 *                cost as the work grows (bench-scale.c): 10^5 pending
 *                values in a session, a chain of 10^4 cells recomputed,
 *                `rthunk -e 1` started
 *
 * Each timed benchmark runs --reps times, the rthunk and the bare side
 * interleaved, and reports the median of the repetitions. The machine is
 * shared: only ratios of figures measured here, in the same run, mean
 * anything.
 *
 * Output: progress on stderr; on stdout one line per figure,
 *   result KEY VALUE
 * which bench/run.sh turns into the table. --scale F multiplies every count
 * (0.1 for a quick look); the counts above are those of --scale 1.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/transport/thrift_framed_transport.h>
#include <thrift/c_glib/transport/thrift_socket.h>

#include "rthunk.h"
#include "rthunk-client-private.h"
#include "rthunk-frame.h"
#include "rthunk-wire.h"
#include "bench_bare.h"
#include "bench-time.h"
#include "bench-rpc.h"

#define SOCKET_TIMEOUT_MS 120000
#define AWAIT_SLICE_MS 10000
#define MAX_BATCH 4096              /* the server's limit per submitBatch */

int opt_reps = 5;
double opt_scale = 1.0;
static int opt_batch = 1000;
static char *opt_rthunkd;
char *opt_rthunk;
static char *opt_bare_server;
static char *opt_only;
static char *opt_redis;

/* ---- small helpers ----------------------------------------------------- */

guint
scaled (guint n)
{
  return MAX (1, (guint) lround (n * opt_scale));
}

void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  fputs ("bench-rpc: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
}

void
result (const char *key,
        double      value)
{
  printf ("result %s %.6g\n", key, value);
  fflush (stdout);
}

/* result() of the figure GROUP.KEY */
static void
result_in (const char *group,
           const char *key,
           double      value)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", group, key);

  result (name, value);
}

gboolean
wanted (const char *name)
{
  g_auto(GStrv) names = NULL;

  if (opt_only == NULL || *opt_only == '\0')
    return TRUE;
  names = g_strsplit (opt_only, ",", -1);
  return g_strv_contains ((const char *const *) names, name);
}

RthunkNode *
parse_one (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<bench>", text, -1, &error);

  if (forms == NULL || forms->len != 1)
    g_error ("cannot read %s: %s", text, error != NULL ? error->message : "not one form");
  return rthunk_node_ref (g_ptr_array_index (forms, 0));
}

/* `(OP A B)` with int literals, built without the reader. */
static RthunkNode *
call2 (const char *op,
       gint64      a,
       gint64      b)
{
  g_autoptr(RthunkNode) head = rthunk_node_new_text (RTHUNK_NODE_SYMBOL, op);
  g_autoptr(RthunkNode) x = rthunk_node_new_int (a);
  g_autoptr(RthunkNode) y = rthunk_node_new_int (b);
  RthunkNode *items[3] = { head, x, y };

  return rthunk_node_new_seq (RTHUNK_NODE_LIST, items, 3);
}

/* ---- peers: processes that print "… listening on HOST:PORT" ------------ */

static Peer *running_peers[4];

static void
kill_peers (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (running_peers); k++)
    if (running_peers[k] != NULL)
      g_subprocess_force_exit (running_peers[k]->process);
}

static void
on_fatal_signal (int sig)
{
  kill_peers ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static Peer *
peer_start (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  Peer *peer = g_new0 (Peer, 1);
  const char *colon;

  peer->process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  if (peer->process == NULL)
    g_error ("cannot start %s: %s", argv[0], error->message);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL || strstr (line, "listening on") == NULL || (colon = strrchr (line, ':')) == NULL)
    g_error ("%s did not say it was listening (%s)", argv[0],
             error != NULL ? error->message : line != NULL ? line : "end of output");
  peer->port = (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
  peer->address = g_strdup_printf ("127.0.0.1:%u", peer->port);
  for (guint k = 0; k < G_N_ELEMENTS (running_peers); k++)
    if (running_peers[k] == NULL)
      {
        running_peers[k] = peer;
        break;
      }
  return peer;
}

Peer *
start_rthunkd (const char *const *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, opt_rthunkd);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, (gpointer) "0");
  g_ptr_array_add (argv, (gpointer) "--name");
  g_ptr_array_add (argv, (gpointer) "bench");
  /* nothing below memory (and nothing written to $HOME), unless @extra
   * names a store: the last --store given wins */
  g_ptr_array_add (argv, (gpointer) "--store");
  g_ptr_array_add (argv, (gpointer) "memory");
  for (guint k = 0; extra != NULL && extra[k] != NULL; k++)
    g_ptr_array_add (argv, (gpointer) extra[k]);
  g_ptr_array_add (argv, NULL);
  return peer_start ((const char *const *) argv->pdata);
}

static Peer *
start_bare (void)
{
  const char *argv[] = { opt_bare_server, "--port", "0", NULL };

  return peer_start (argv);
}

void
peer_stop (Peer *peer)
{
  for (guint k = 0; k < G_N_ELEMENTS (running_peers); k++)
    if (running_peers[k] == peer)
      running_peers[k] = NULL;
  g_subprocess_send_signal (peer->process, SIGTERM);
  g_subprocess_wait (peer->process, NULL, NULL);
  g_object_unref (peer->process);
  g_free (peer->address);
  g_free (peer);
}

/* VmRSS of a peer, in KiB. */
static gsize
peer_rss_kb (Peer *peer)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (peer->process));
  g_autofree char *status = NULL;
  const char *rss;

  if (!g_file_get_contents (path, &status, NULL, NULL) || (rss = strstr (status, "VmRSS:")) == NULL)
    g_error ("cannot read %s", path);
  return g_ascii_strtoull (rss + strlen ("VmRSS:"), NULL, 10);
}

static int
connect_loopback (guint16 port)
{
  struct sockaddr_in addr = { 0, };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    g_error ("cannot connect to port %u: %s", port, g_strerror (errno));
  return fd;
}

/* ---- the bare Thrift client ------------------------------------------------ */

Bare *
bare_open (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  Bare *b = g_new0 (Bare, 1);
  int nodelay = 1;

  b->socket = g_object_new (THRIFT_TYPE_SOCKET, "hostname", "127.0.0.1", "port", (guint) peer->port, NULL);
  b->transport = g_object_new (THRIFT_TYPE_FRAMED_TRANSPORT, "transport", b->socket, NULL);
  b->protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", b->transport, NULL);
  b->client = g_object_new (BENCH_TYPE_BARE_CLIENT, "input_protocol", b->protocol,
                            "output_protocol", b->protocol, NULL);
  if (!thrift_transport_open (b->transport, &error))
    g_error ("cannot connect to the bare server: %s", error->message);
  /* TCP_NODELAY on both ends, as rthunk's client and server set it */
  setsockopt (THRIFT_SOCKET (b->socket)->sd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
  return b;
}

void
bare_close (Bare *b)
{
  thrift_transport_close (b->transport, NULL);
  g_object_unref (b->client);
  g_object_unref (b->protocol);
  g_object_unref (b->transport);
  g_object_unref (b->socket);
  g_free (b);
}

gint64
bare_add (Bare   *b,
          gint64  x,
          gint64  y)
{
  g_autoptr(GError) error = NULL;
  gint64 sum = 0;

  if (!bench_bare_if_add (b->client, &sum, x, y, &error))
    g_error ("bare add failed: %s", error != NULL ? error->message : "?");
  return sum;
}

/* ---- rthunk through its C client API ---------------------------------- */

RthunkClient *
rthunk_open (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  RthunkClient *client = rthunk_client_new (peer->address);

  if (!rthunk_client_connect (client, &error))
    g_error ("cannot connect to rthunkd: %s", error->message);
  return client;
}

/* Submits @expr and returns its int value, waiting if it came back pending. */
static gint64
rthunk_int (RthunkClient *client,
            RthunkNode   *expr,
            GHashTable   *inputs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_client_submit (client, expr, inputs, &error);

  if (value != NULL && rthunk_value_is_pending (value))
    {
      RthunkValue *forced = rthunk_value_force (value, &error);

      rthunk_value_unref (value);
      value = forced;
    }
  if (value == NULL)
    g_error ("remote evaluation failed: %s", error->message);
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_INT)
    g_error ("remote evaluation did not give an int");
  return rthunk_value_get_int (value);
}

/* ---- rthunk through the generated client (what RthunkClient wraps) ------ */

/* The generated Thrift client over RthunkFrameTransport, exactly as
 * rthunk-client.c builds it, for the IDL calls RthunkClient does not offer
 * (submitBatch, thunkAwait on many, EvalOptions). */
typedef struct
{
  RthunkFrameTransport *transport;
  ThriftProtocol *protocol;
  RthunkWireRemoteExecutionServiceIf *stub;
  RthunkWireAuth *auth;
} Wire;

static Wire *
wire_open (Peer *peer)
{
  Wire *w = g_new0 (Wire, 1);
  int fd = connect_loopback (peer->port);

  rthunk_frame_set_timeouts (fd, SOCKET_TIMEOUT_MS, NULL);
  w->transport = rthunk_frame_transport_new (fd, 64 * 1024 * 1024);
  w->protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", w->transport, NULL);
  w->stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                          "input_protocol", w->protocol, "output_protocol", w->protocol, NULL);
  w->auth = g_object_new (RTHUNK_WIRE_TYPE_AUTH, NULL);
  return w;
}

static void
wire_close (Wire *w)
{
  g_object_unref (w->stub);
  g_object_unref (w->protocol);
  thrift_transport_close (THRIFT_TRANSPORT (w->transport), NULL);
  g_object_unref (w->transport);
  g_object_unref (w->auth);
  g_free (w);
}

/* A request for @expr, checked by the server only (like the tests'):
 * @use_cache and @inline_budget_ms < 0 keep the server's defaults. */
static RthunkWireEvalRequest *
wire_request (RthunkNode *expr,
              gint        use_cache,
              gint        inline_budget_ms)
{
  RthunkWireEvalRequest *request = g_object_new (RTHUNK_WIRE_TYPE_EVAL_REQUEST, NULL);

  rthunk_wire_fill_ast (request->ast, expr, NULL);
  if (use_cache >= 0)
    {
      request->options->useCache = use_cache != 0;
      request->options->__isset_useCache = TRUE;
      request->__isset_options = TRUE;
    }
  if (inline_budget_ms >= 0)
    {
      request->options->inlineBudgetMs = inline_budget_ms;
      request->options->__isset_inlineBudgetMs = TRUE;
      request->__isset_options = TRUE;
    }
  return request;
}

static void
wire_failed (const char *call,
             GError     *error,
             GObject   **exceptions,
             guint       n)
{
  for (guint k = 0; k < n; k++)
    if (exceptions[k] != NULL)
      {
        g_autofree char *message = NULL;

        g_object_get (exceptions[k], "message", &message, NULL);
        g_error ("%s: %s: %s", call, G_OBJECT_TYPE_NAME (exceptions[k]), message);
      }
  g_error ("%s: %s", call, error != NULL ? error->message : "failed");
}

static GPtrArray *
wire_batch (Wire      *w,
            GPtrArray *requests)
{
  GPtrArray *thunks = g_ptr_array_new_with_free_func (g_object_unref);
  GObject *exc[3] = { NULL, };
  GError *error = NULL;

  if (!rthunk_wire_remote_execution_service_if_submit_batch (
        w->stub, &thunks, requests, w->auth, (RthunkWireInvalidRequest **) &exc[0],
        (RthunkWireOverloaded **) &exc[1], (RthunkWireNotAuthorized **) &exc[2], &error))
    wire_failed ("submitBatch", error, exc, G_N_ELEMENTS (exc));
  return thunks;
}

/* thunkAwait on @thunks (RthunkWireRemoteThunk, only the id is read). */
static guint n_awaits;

static GPtrArray *
wire_await (Wire      *w,
            GPtrArray *thunks)
{
  GPtrArray *done = g_ptr_array_new_with_free_func (g_object_unref);
  GObject *exc[2] = { NULL, };
  GError *error = NULL;

  n_awaits++;
  if (!rthunk_wire_remote_execution_service_if_thunk_await (
        w->stub, &done, thunks, AWAIT_SLICE_MS, w->auth, (RthunkWireInvalidRequest **) &exc[0],
        (RthunkWireNotAuthorized **) &exc[1], &error))
    wire_failed ("thunkAwait", error, exc, G_N_ELEMENTS (exc));
  return done;
}

static gint64
wire_value_int (RthunkWireValue *wire)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_wire_read_value (wire, &error);

  if (value == NULL || rthunk_value_get_kind (value) != RTHUNK_VALUE_INT)
    g_error ("a thunk did not give an int: %s", error != NULL ? error->message : "other kind");
  return rthunk_value_get_int (value);
}

static RthunkWireRemoteThunk *
thunk_ref (const GByteArray *id)
{
  RthunkWireRemoteThunk *thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);

  rthunk_wire_set_bytes (&thunk->id, id->data, id->len);
  return thunk;
}

/* Waits for every thunk of @thunks that is not finished yet and returns
 * the sum of all their int values: thunkAwait on the last unfinished one,
 * then on all the unfinished ones until none is left (thunkAwait returns
 * as soon as any one of its thunks is finished). */
static gint64
wire_collect (Wire      *w,
              GPtrArray *thunks)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func (g_object_unref);
  gboolean last_awaited = FALSE;
  gint64 sum = 0;

  for (guint k = 0; k < thunks->len; k++)
    {
      RthunkWireRemoteThunk *thunk = g_ptr_array_index (thunks, k);

      if (thunk->__isset_state && thunk->state == RTHUNK_WIRE_THUNK_STATE_DONE && thunk->__isset_value)
        sum += wire_value_int (thunk->value);
      else if (thunk->__isset_state && thunk->state > RTHUNK_WIRE_THUNK_STATE_DONE)
        g_error ("a thunk failed: %s", thunk->__isset_error ? thunk->error->message : "?");
      else
        g_ptr_array_add (pending, thunk_ref (thunk->id));
    }
  while (pending->len > 0)
    {
      /* the worker pool runs thunks in the order they came: wait for the
       * last one first (one id), then collect everything that finished,
       * rather than wake on the first of many ids */
      g_autoptr(GPtrArray) last = g_ptr_array_new ();
      g_autoptr(GPtrArray) done = NULL;

      if (pending->len > 1 && !last_awaited)
        {
          g_ptr_array_add (last, g_ptr_array_index (pending, pending->len - 1));
          g_ptr_array_unref (wire_await (w, last));
          last_awaited = TRUE;
        }
      done = wire_await (w, pending);
      g_autoptr(GHashTable) finished = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                              (GDestroyNotify) g_bytes_unref, NULL);

      for (guint k = 0; k < done->len; k++)
        {
          RthunkWireVarCont *cont = g_ptr_array_index (done, k);

          if (cont->state != RTHUNK_WIRE_THUNK_STATE_DONE || !cont->__isset_value)
            g_error ("a thunk failed: %s", cont->__isset_error ? cont->error->message : "?");
          sum += wire_value_int (cont->value);
          g_hash_table_add (finished, g_bytes_new (cont->id->data, cont->id->len));
        }
      for (guint k = pending->len; k-- > 0;)
        {
          RthunkWireRemoteThunk *thunk = g_ptr_array_index (pending, k);
          g_autoptr(GBytes) id = g_bytes_new (thunk->id->data, thunk->id->len);

          if (g_hash_table_contains (finished, id))
            g_ptr_array_remove_index_fast (pending, k);
        }
    }
  return sum;
}

/* A pure expression costly enough for the result cache (100 steps of
 * reduce: the cache keeps results of 64 steps or more), distinct for
 * every i; its value is i + CACHEABLE_SUM. */
#define CACHEABLE_EXPR "(reduce + %" G_GINT64_FORMAT " (range 0 100))"
#define CACHEABLE_SUM 4950

/* What is timed: submitting @count independent thunks `(+ i 1)` (or, with
 * @cacheable, CACHEABLE_EXPR) for
 * i = @first … @first + @count − 1, with default options, in submitBatch
 * frames of --batch requests (each request built from its AST inside the
 * timed loop), keeping two batches in flight: after sending batch k the
 * client collects every value of batch k − 1 (thunkAwait until all are
 * done), then the last batch's. Every value is checked (their sum).
 * Returns the seconds from the first submitBatch to the last value. */
static double
wire_run_batches_of (Wire     *w,
                     guint64   first,
                     guint     count,
                     gboolean  cacheable)
{
  g_autoptr(GPtrArray) previous = NULL;
  gint64 sum = 0, expected = 0;
  double start = now_s ();

  for (guint done = 0; done < count;)
    {
      guint n = MIN ((guint) opt_batch, count - done);
      g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
      GPtrArray *thunks;

      for (guint k = 0; k < n; k++)
        {
          gint64 i = (gint64) (first + done + k);
          g_autofree char *text = cacheable ? g_strdup_printf (CACHEABLE_EXPR, i) : NULL;
          g_autoptr(RthunkNode) expr = cacheable ? parse_one (text) : call2 ("+", i, 1);

          g_ptr_array_add (requests, wire_request (expr, -1, -1));
          expected += cacheable ? i + CACHEABLE_SUM : i + 1;
        }
      thunks = wire_batch (w, requests);
      if (thunks->len != n)
        g_error ("submitBatch answered %u thunks for %u requests", thunks->len, n);
      if (previous != NULL)
        sum += wire_collect (w, previous);
      g_clear_pointer (&previous, g_ptr_array_unref);
      previous = thunks;
      done += n;
    }
  if (previous != NULL)
    sum += wire_collect (w, previous);
  if (sum != expected)
    g_error ("the thunks' values are wrong: sum %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,
             sum, expected);
  return now_s () - start;
}

static double
wire_run_batches (Wire   *w,
                  guint64 first,
                  guint   count)
{
  return wire_run_batches_of (w, first, count, FALSE);
}

/* ---- (a) latency -------------------------------------------------------- */

/* What is timed: each of N sequential calls on one connection, alone
 * (clock read before and after the call):
 *   rthunk: rthunk_client_submit() of the AST of `(+ 1 2)` (read once,
 *           before timing) — client-side type check, encoding,
 *           submitEvalRequest, server check and evaluation (or its result
 *           cache), the value back inline — plus forcing it if it came back
 *           pending, and reading the int;
 *   bare:   one add(1, 2) through the generated c_glib client.
 * Reported: per repetition the median of the N per-call times; then the
 * median over repetitions. rthunk and bare alternate repetitions. */
static void
bench_latency (Peer *rthunkd,
               Peer *bare)
{
  guint n = scaled (10000), warm = MIN (n, 500u);
  g_autoptr(RthunkNode) expr = parse_one ("(+ 1 2)");
  g_autoptr(RthunkClient) client = rthunk_open (rthunkd);
  Bare *b = bare_open (bare);
  g_autofree double *calls = g_new (double, n);
  g_autofree double *rt = g_new (double, opt_reps);
  g_autofree double *bt = g_new (double, opt_reps);
  double r, p;

  for (guint k = 0; k < warm; k++)
    {
      rthunk_int (client, expr, NULL);
      bare_add (b, 1, 2);
    }
  for (int rep = 0; rep < opt_reps; rep++)
    {
      for (guint k = 0; k < n; k++)
        {
          double t0 = now_s ();

          if (rthunk_int (client, expr, NULL) != 3)
            g_error ("(+ 1 2) is not 3");
          calls[k] = now_s () - t0;
        }
      rt[rep] = median (calls, n) * 1e6;
      for (guint k = 0; k < n; k++)
        {
          double t0 = now_s ();

          if (bare_add (b, 1, 2) != 3)
            g_error ("add(1, 2) is not 3");
          calls[k] = now_s () - t0;
        }
      bt[rep] = median (calls, n) * 1e6;
      say ("latency rep %d: rthunk %.1f µs, bare %.1f µs per call (medians of %u calls)",
           rep + 1, rt[rep], bt[rep], n);
    }
  r = median (rt, opt_reps);
  p = median (bt, opt_reps);
  result ("latency.calls", n);
  result ("latency.rthunk_us", r);
  result ("latency.bare_us", p);
  result ("latency.ratio", r / p);
  bare_close (b);
}

/* ---- (b) throughput ----------------------------------------------------- */

/* One lane of the throughput benchmark: batches lane, lane + LANES, … of
 * the N thunks, one after another on the lane's own connection. */
#define LANES 2

typedef struct
{
  RthunkClient *client;
  guint64 first;                /* the value of i of thunk 0 */
  guint count;
  guint lane;
  gint64 sum;
} Lane;

static gpointer
lane_run (gpointer data)
{
  Lane *lane = data;

  for (guint done = lane->lane * opt_batch; done < lane->count; done += LANES * opt_batch)
    {
      guint n = MIN ((guint) opt_batch, lane->count - done);
      g_autoptr(GPtrArray) exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
      g_autoptr(GPtrArray) values = NULL;
      g_autoptr(GError) error = NULL;

      for (guint k = 0; k < n; k++)
        g_ptr_array_add (exprs, call2 ("+", (gint64) (lane->first + done + k), 1));
      if ((values = rthunk_client_submit_batch (lane->client, exprs, NULL, &error)) == NULL)
        g_error ("submit_batch: %s", error->message);
      for (guint k = 0; k < values->len; k++)
        {
          g_autoptr(RthunkValue) value = rthunk_value_ref (g_ptr_array_index (values, k));

          if (rthunk_value_is_pending (value))
            {
              RthunkValue *forced = rthunk_value_force (value, &error);

              if (forced == NULL)
                g_error ("a thunk failed: %s", error->message);
              rthunk_value_unref (value);
              value = forced;
            }
          lane->sum += rthunk_value_get_int (value);
        }
    }
  return NULL;
}

/* What is timed: N = 10^5 distinct thunks `(+ i 1)` for i = @first …
 * through one RthunkClient, as an application submits a burst:
 * rthunk_client_submit_batch() of --batch expressions at a time (each
 * built, type-checked and encoded inside the timed loop), on two threads
 * so that one batch is on the wire or in the server while the client
 * prepares the next (the client's pool gives each its own connection);
 * values that come back pending are forced. Every value is checked (their
 * sum). Returns the seconds from the first submission to the last value. */
static double
client_run_batches (RthunkClient *client,
                    guint64       first,
                    guint         count)
{
  Lane lanes[LANES];
  GThread *threads[LANES];
  gint64 sum = 0, expected = 0;
  double start;

  for (guint k = 0; k < count; k++)
    expected += (gint64) (first + k) + 1;
  start = now_s ();
  for (guint l = 0; l < LANES; l++)
    {
      lanes[l] = (Lane) { client, first, count, l, 0 };
      threads[l] = g_thread_new ("bench-lane", lane_run, &lanes[l]);
    }
  for (guint l = 0; l < LANES; l++)
    {
      g_thread_join (threads[l]);
      sum += lanes[l].sum;
    }
  if (sum != expected)
    g_error ("the thunks' values are wrong: sum %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,
             sum, expected);
  return now_s () - start;
}

/* thunks/s = N / client_run_batches() seconds, against a fresh rthunkd. */
static void
bench_throughput (void)
{
  guint n = scaled (100000);
  g_autofree double *rate = g_new (double, opt_reps);
  const char *extra[] = { "--max-thunks", "1000000", "--max-queued", "1000000", NULL };
  Peer *rthunkd = start_rthunkd (extra);
  g_autoptr(RthunkClient) client = rthunk_open (rthunkd);
  double r;

  client_run_batches (client, 1u << 30, MIN (n, 4000u));   /* warm-up */
  for (int rep = 0; rep < opt_reps; rep++)
    {
      double seconds = client_run_batches (client, (guint64) rep * n, n);

      rate[rep] = n / seconds;
      say ("throughput rep %d: %u thunks in %.3f s = %.0f thunks/s (batches of %d, %d lanes)",
           rep + 1, n, seconds, rate[rep], opt_batch, LANES);
    }
  r = median (rate, opt_reps);
  result ("throughput.thunks", n);
  result ("throughput.batch", opt_batch);
  result ("throughput.rthunk_per_s", r);
  peer_stop (rthunkd);
}

/* ---- (c) concurrency ---------------------------------------------------- */

typedef struct
{
  Peer *peer;
  gboolean bare;
  guint index;
  guint calls;
  GPtrArray *exprs;             /* rthunk: the pre-built `(+ index k)` */
  RthunkClient *client;
  Bare *b;
  gint *ready;
  gint *go;
  double finished;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *wk = data;

  g_atomic_int_inc (wk->ready);
  while (!g_atomic_int_get (wk->go))
    g_usleep (100);
  for (guint k = 0; k < wk->calls; k++)
    {
      gint64 got = wk->bare ? bare_add (wk->b, wk->index, k)
                            : rthunk_int (wk->client, g_ptr_array_index (wk->exprs, k), NULL);

      if (got != (gint64) (wk->index + k))
        g_error ("thread %u call %u: wrong value", wk->index, k);
    }
  wk->finished = now_s ();
  return NULL;
}

/* One round: T threads, each with its own open connection and its calls
 * prepared beforehand, start together; returns calls/s = T × C / (the
 * last thread's end − the start). */
static double
concurrency_round (Peer     *peer,
                   gboolean  bare,
                   guint     n_threads,
                   guint     calls)
{
  g_autofree Worker *workers = g_new0 (Worker, n_threads);
  g_autofree GThread **threads = g_new0 (GThread *, n_threads);
  gint ready = 0, go = 0;
  double start, end = 0;

  for (guint t = 0; t < n_threads; t++)
    {
      Worker *wk = &workers[t];

      wk->peer = peer;
      wk->bare = bare;
      wk->index = t;
      wk->calls = calls;
      wk->ready = &ready;
      wk->go = &go;
      if (bare)
        wk->b = bare_open (peer);
      else
        {
          wk->client = rthunk_open (peer);
          wk->exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
          for (guint k = 0; k < calls; k++)
            g_ptr_array_add (wk->exprs, call2 ("+", t, k));
        }
      threads[t] = g_thread_new ("bench-worker", worker_run, wk);
    }
  while (g_atomic_int_get (&ready) < (gint) n_threads)
    g_usleep (1000);
  start = now_s ();
  g_atomic_int_set (&go, 1);
  for (guint t = 0; t < n_threads; t++)
    {
      g_thread_join (threads[t]);
      end = MAX (end, workers[t].finished);
      if (bare)
        bare_close (workers[t].b);
      else
        {
          g_object_unref (workers[t].client);
          g_ptr_array_unref (workers[t].exprs);
        }
    }
  return n_threads * (double) calls / (end - start);
}

/* What is timed: @threads threads × 2000 sequential calls, each thread on
 * its own connection, all started together; calls/s over the whole round.
 *   rthunk: rthunk_client_submit() of `(+ t k)` (distinct expressions, so
 *           the result cache answers none; the ASTs are built before the
 *           clock starts) and reading the int value;
 *   bare:   add(t, k).
 * Connections are opened (and rthunk's catalog fetched) before the clock
 * starts. Rounds alternate; medians over repetitions, printed under
 * @name: "concurrency" (16 threads, against the bare server) and
 * "callers8" (8 threads, the figure bench/run.sh sets against the 8
 * concurrent callers of the gRPC and Cap'n Proto peers). */
static void
bench_concurrency (Peer       *rthunkd,
                   Peer       *bare,
                   const char *name,
                   guint       threads)
{
  guint calls = scaled (2000);
  g_autofree double *rr = g_new (double, opt_reps);
  g_autofree double *br = g_new (double, opt_reps);
  double r, p;

  for (int rep = 0; rep < opt_reps; rep++)
    {
      rr[rep] = concurrency_round (rthunkd, FALSE, threads, calls);
      br[rep] = concurrency_round (bare, TRUE, threads, calls);
      say ("%s rep %d: rthunk %.0f calls/s, bare %.0f calls/s (%u threads × %u)",
           name, rep + 1, rr[rep], br[rep], threads, calls);
    }
  r = median (rr, opt_reps);
  p = median (br, opt_reps);
  result_in (name, "threads", threads);
  result_in (name, "calls", calls);
  result_in (name, "rthunk_per_s", r);
  result_in (name, "bare_per_s", p);
  result_in (name, "ratio", r / p);
}

/* ---- (d) dependent chain ------------------------------------------------ */

/* Awaited: the whole chain of N = 1000 links, timed end to end: link k is
 * rthunk_client_submit() of `(+ x 1)` with x bound to the value link k − 1
 * gave (0 for the first), and its value is received (inline, or forced)
 * before link k + 1 is submitted. The result must be N. */
static double
chain_awaited (RthunkClient *client,
               RthunkNode   *expr,
               guint         n)
{
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  gint64 x = 0;
  double start = now_s ();

  for (guint k = 0; k < n; k++)
    {
      g_hash_table_insert (inputs, (gpointer) "x", rthunk_value_new_int (x));
      x = rthunk_int (client, expr, inputs);
    }
  if (x != (gint64) n)
    g_error ("the awaited chain gave %" G_GINT64_FORMAT ", not %u", x, n);
  return now_s () - start;
}

/* Pipelined: the whole chain through the client's queue (what a session
 * does with a burst of remote calls):
 * rthunk_client_enqueue() type-checks each link and gives its pending value
 * at once, under a thunk id the client chose (EvalRequest.thunkId), so
 * link k's input x is a reference to link k − 1's thunk (a THUNK value
 * node: the server's promise pipelining) before any link was answered.
 * The queue sends a submitBatch frame each time RTHUNK_CLIENT_SEND_AT (64)
 * links are queued, without waiting for the reply: the server evaluates
 * the first links while the client makes the next.
 * rthunk_client_flush() sends the rest and reads every reply, and the
 * last link's value is forced. Timed end to end, from the first link
 * queued to the last value. */
static double
chain_pipelined (RthunkClient *client,
                 RthunkNode   *expr,
                 guint         n)
{
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autoptr(RthunkValue) last = NULL;
  g_autoptr(GError) error = NULL;
  double start = now_s ();
  RthunkValue *x = rthunk_value_new_int (0);

  for (guint k = 0; k < n; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      g_hash_table_replace (inputs, (gpointer) "x", x);
      rthunk_client_random_id (id);
      if (!rthunk_client_enqueue (client, expr, inputs, id, NULL, NULL, NULL, &x, &error))
        g_error ("link %u: %s", k, error->message);
    }
  g_hash_table_replace (inputs, (gpointer) "x", x);
  if (!rthunk_client_flush (client, &error) || (last = rthunk_value_force (x, &error)) == NULL)
    g_error ("the pipelined chain failed: %s", error->message);
  if (rthunk_value_get_int (last) != (gint64) n)
    g_error ("the pipelined chain gave %" G_GINT64_FORMAT ", not %u", rthunk_value_get_int (last), n);
  return now_s () - start;
}

static void
bench_chain (Peer *rthunkd)
{
  guint n = scaled (1000);
  g_autoptr(RthunkNode) expr = parse_one ("(+ x 1)");
  g_autoptr(RthunkClient) client = rthunk_open (rthunkd);
  g_autofree double *at = g_new (double, opt_reps);
  g_autofree double *pt = g_new (double, opt_reps);
  g_autofree double *rt = g_new (double, opt_reps);
  double a, p;

  chain_awaited (client, expr, MIN (n, 100u));     /* warm-up */
  chain_pipelined (client, expr, MIN (n, 100u));
  for (int rep = 0; rep < opt_reps; rep++)
    {
      at[rep] = chain_awaited (client, expr, n) * 1e3;
      pt[rep] = chain_pipelined (client, expr, n) * 1e3;
      say ("chain rep %d: awaited %.1f ms, pipelined %.1f ms (%u links)",
           rep + 1, at[rep], pt[rep], n);
    }
  a = median (at, opt_reps);
  p = median (pt, opt_reps);
  /* The pipelined chains again, one after another, as bench/peer-capnp.cc
   * times its own chains against which run.sh sets them: in the rounds
   * above each follows an awaited chain, whose thousand idle waits leave
   * the next burst to start on cold CPUs (2.1 ms against 2.9 ms for the
   * same 1000 links here, round seven of bench/README.md). */
  for (int rep = 0; rep < opt_reps; rep++)
    {
      rt[rep] = chain_pipelined (client, expr, n) * 1e3;
      say ("chain in a row %d: pipelined %.1f ms (%u links)", rep + 1, rt[rep], n);
    }
  result ("chain.links", n);
  result ("chain.awaited_ms", a);
  result ("chain.pipelined_ms", p);
  result ("chain.ratio", p / a);
  result ("chain.pipelined_in_a_row_ms", median (rt, opt_reps));
}

/* ---- (e) result cache --------------------------------------------------- */

#define CACHED_EXPR "(reduce + 0 (map (fn [i] (* i i)) (range 0 2000)))"
/* the shared store's pair: ten times the work, so that computing costs
 * more than a round trip to Redis */
#define SHARED_N 20000
#define SHARED_EXPR "(reduce + 0 (map (fn [i] (* i i)) (range 0 20000)))"
#define SHARED_EXPR_2 "(reduce + 0 (map (fn [i] (* i i)) (range 0 20001)))"

/* The submitEvalRequest message for @request, as the generated client
 * writes it (a memory transport keeps what it would send). */
static GBytes *
wire_encode_submit (Wire                  *w,
                    RthunkWireEvalRequest *request)
{
  g_autoptr(RthunkFrameTransport) memory = rthunk_frame_transport_new (-1, 0);
  g_autoptr(ThriftProtocol) protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", memory, NULL);
  g_autoptr(GObject) stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                                          "input_protocol", protocol, "output_protocol", protocol, NULL);
  GError *error = NULL;

  if (!rthunk_wire_remote_execution_service_client_send_submit_eval_request (
        RTHUNK_WIRE_REMOTE_EXECUTION_SERVICE_IF (stub), request, w->auth, &error))
    g_error ("cannot encode a request: %s", error->message);
  return rthunk_frame_transport_take_output (memory);
}

/* N sequential submitEvalRequest calls of @request on one connection;
 * each timed alone, from sending the request to reading the int value it
 * carries inline. The request is encoded once, before timing, so both
 * sides of the cache benchmark cost the client the same (a frame written,
 * a frame read and decoded): what differs is the server's work. Returns
 * the median µs. */
static double
wire_latency_turns (Wire                   *w,
                    RthunkWireEvalRequest **requests,
                    const gint64           *expected_values,
                    guint                   n_requests,
                    guint                   n)
{
  g_autofree double *calls = g_new (double, n);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  int fd = rthunk_frame_transport_get_fd (w->transport);

  for (guint r = 0; r < n_requests; r++)
    g_ptr_array_add (messages, wire_encode_submit (w, requests[r]));
  for (guint k = 0; k < n; k++)
    {
      GBytes *message = g_ptr_array_index (messages, k % n_requests);
      gint64 expected = expected_values[k % n_requests];
      double t0 = now_s ();
      g_autoptr(RthunkWireRemoteThunk) thunk = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_THUNK, NULL);
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      g_autoptr(GBytes) reply = NULL;
      GObject *exc[5] = { NULL, };
      GError *error = NULL;
      gint64 got;

      if (!rthunk_frame_write (fd, g_bytes_get_data (message, NULL), g_bytes_get_size (message), &error) ||
          (reply = rthunk_frame_read (fd, 0, &error)) == NULL)
        g_error ("submitEvalRequest: %s", error->message);
      rthunk_frame_transport_set_input (w->transport, reply);
      if (!rthunk_wire_remote_execution_service_client_recv_submit_eval_request (
            w->stub, &thunk, (RthunkWireInvalidRequest **) &exc[0], (RthunkWireTypeFailure **) &exc[1],
            (RthunkWireMissingDefinitions **) &exc[2], (RthunkWireOverloaded **) &exc[3],
            (RthunkWireNotAuthorized **) &exc[4], &error))
        wire_failed ("submitEvalRequest", error, exc, G_N_ELEMENTS (exc));
      g_ptr_array_add (one, thunk);
      got = wire_collect (w, one);
      calls[k] = now_s () - t0;
      if (got != expected)
        g_error ("a cache benchmark call gave %" G_GINT64_FORMAT, got);
    }
  return median (calls, n) * 1e6;
}

/* The same, for one request repeated. */
static double
wire_latency (Wire                  *w,
              RthunkWireEvalRequest *request,
              guint                  n,
              gint64                 expected)
{
  return wire_latency_turns (w, &request, &expected, 1, n);
}

/* What is timed: per call, as in wire_latency(), N sequential calls each:
 *   cached:   CACHED_EXPR (a pure expression of a few thousand evaluation
 *             steps) with default options, repeated: after the first call
 *             the server answers from its result cache;
 *   uncached: `(+ 1 2)` with useCache = false: checked and evaluated on
 *             every call.
 * Both go through the generated client (RthunkClient sets no options), on
 * one connection. Also reported, for scale: CACHED_EXPR with useCache =
 * false (what a miss costs), over N / 10 calls. */
static void
bench_cache (Peer *rthunkd)
{
  guint n = scaled (10000);
  g_autoptr(RthunkNode) heavy = parse_one (CACHED_EXPR);
  g_autoptr(RthunkNode) trivial = parse_one ("(+ 1 2)");
  g_autoptr(RthunkWireEvalRequest) cached = wire_request (heavy, -1, -1);
  g_autoptr(RthunkWireEvalRequest) heavy_uncached = wire_request (heavy, 0, -1);
  g_autoptr(RthunkWireEvalRequest) uncached = wire_request (trivial, 0, -1);
  gint64 heavy_value = 0;
  Wire *w = wire_open (rthunkd);
  g_autofree double *ct = g_new (double, opt_reps);
  g_autofree double *ut = g_new (double, opt_reps);
  g_autofree double *mt = g_new (double, opt_reps);
  double c, u, m;

  for (gint64 i = 0; i < 2000; i++)
    heavy_value += i * i;
  wire_latency (w, cached, MIN (n, 500u), heavy_value);       /* warm-up; fills the cache */
  wire_latency (w, uncached, MIN (n, 500u), 3);
  for (int rep = 0; rep < opt_reps; rep++)
    {
      ct[rep] = wire_latency (w, cached, n, heavy_value);
      ut[rep] = wire_latency (w, uncached, n, 3);
      mt[rep] = wire_latency (w, heavy_uncached, MAX (n / 10, 1u), heavy_value);
      say ("cache rep %d: cached %.1f µs, trivial uncached %.1f µs, the pure expression uncached %.1f µs",
           rep + 1, ct[rep], ut[rep], mt[rep]);
    }
  c = median (ct, opt_reps);
  u = median (ut, opt_reps);
  m = median (mt, opt_reps);
  result ("cache.calls", n);
  result ("cache.cached_us", c);
  result ("cache.uncached_trivial_us", u);
  result ("cache.uncached_pure_us", m);
  result ("cache.ratio", c / u);
  wire_close (w);
}

/* ---- (e2) the shared store ----------------------------------------------- */

/* A counter of @peer's getServerInfo. */
static gint64
peer_counter (Peer       *peer,
              const char *name)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (peer->address);
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GVariant) counters = NULL;
  g_autoptr(GError) error = NULL;
  gint64 value = 0;

  if ((info = rthunk_client_get_server_info (client, &error)) == NULL)
    g_error ("getServerInfo: %s", error->message);
  counters = g_variant_lookup_value (info, "counters", G_VARIANT_TYPE ("a{sx}"));
  if (counters == NULL || !g_variant_lookup (counters, name, "x", &value))
    g_error ("getServerInfo has no counter %s", name);
  return value;
}

/* What is timed: per call, as in wire_latency(), N sequential calls each,
 * with two rthunkd (alpha, beta) on the one Redis of --redis:
 *   local:   SHARED_EXPR repeated on alpha: a hit in its memory;
 *   shared:  it and SHARED_EXPR_2 in turn on beta, which keeps one result
 *            in memory (--cache-entries 1): each call misses in memory
 *            and is answered from Redis (beta's cacheHitsShared is checked
 *            to have risen by N);
 *   compute: SHARED_EXPR with useCache = false on alpha, over N / 10 calls.
 * Before timing, both expressions are computed on alpha and beta is
 * asked until Redis answers it (the writes are asynchronous). */
static void
bench_shared (void)
{
  guint n = scaled (5000);
  /* the store's timeout (20 ms by default) turns a late reply into a
   * miss; on a loaded machine Redis can be that late, and a miss would
   * be computed instead: what is timed is a hit, so wait for it */
  const char *alpha_args[] = { "--store", opt_redis, "--store-timeout-ms", "5000", NULL };
  const char *beta_args[] = { "--store", opt_redis, "--store-timeout-ms", "5000",
                              "--cache-entries", "1", NULL };
  Peer *alpha = start_rthunkd (alpha_args);
  Peer *beta = start_rthunkd (beta_args);
  g_autoptr(RthunkNode) expr_a = parse_one (SHARED_EXPR);
  g_autoptr(RthunkNode) expr_b = parse_one (SHARED_EXPR_2);
  RthunkWireEvalRequest *pair[2] = { wire_request (expr_a, -1, -1), wire_request (expr_b, -1, -1) };
  g_autoptr(RthunkWireEvalRequest) compute = wire_request (expr_a, 0, -1);
  gint64 values[2] = { 0, 0 };
  Wire *wa = wire_open (alpha);
  Wire *wb = wire_open (beta);
  g_autofree double *lt = g_new (double, opt_reps);
  g_autofree double *st = g_new (double, opt_reps);
  g_autofree double *ct = g_new (double, opt_reps);
  gint64 before;
  double l, s, c;

  for (gint64 i = 0; i < SHARED_N; i++)
    values[0] += i * i;
  values[1] = values[0] + (gint64) SHARED_N * SHARED_N;
  wire_latency_turns (wa, pair, values, 2, 2);
  for (guint k = 0; k < 1000 && peer_counter (beta, "cache-hits-shared") < 2; k++)
    wire_latency_turns (wb, pair, values, 2, 2);
  wire_latency_turns (wb, pair, values, 2, MIN (n, 500u));      /* warm-up */
  for (int rep = 0; rep < opt_reps; rep++)
    {
      lt[rep] = wire_latency (wa, pair[0], n, values[0]);
      before = peer_counter (beta, "cache-hits-shared");
      st[rep] = wire_latency_turns (wb, pair, values, 2, n);
      if (peer_counter (beta, "cache-hits-shared") - before != n)
        g_error ("not every call on beta was answered from Redis");
      ct[rep] = wire_latency (wa, compute, MAX (n / 10, 1u), values[0]);
      say ("shared rep %d: local hit %.1f µs, shared hit %.1f µs, computed %.1f µs",
           rep + 1, lt[rep], st[rep], ct[rep]);
    }
  l = median (lt, opt_reps);
  s = median (st, opt_reps);
  c = median (ct, opt_reps);
  result ("shared.calls", n);
  result ("shared.local_us", l);
  result ("shared.shared_us", s);
  result ("shared.computed_us", c);
  result ("shared.ratio", s / l);
  g_object_unref (pair[0]);
  g_object_unref (pair[1]);
  wire_close (wa);
  wire_close (wb);
  peer_stop (alpha);
  peer_stop (beta);
}

/* ---- (f) memory --------------------------------------------------------- */

/* Not timed. A fresh rthunkd started with --max-thunks 150000 (above the
 * 10^5 it must hold) receives 10 batches of 10^5 distinct thunks
 * `(+ i 1)` through wire_run_batches() (every value collected); its VmRSS
 * is read from /proc/PID/status after each batch. Reported: the RSS after
 * the first batch (10^5 finished thunks held), after the tenth (10^6
 * calls), and the growth between the second and the third batch (once
 * the thunk table and the result cache are full, nothing should grow). */
static void
bench_memory (void)
{
  guint batch = scaled (100000), batches = 10;
  g_autofree char *max_thunks = g_strdup_printf ("%u", batch + batch / 2);
  g_autofree char *cache_entries = g_strdup_printf ("%u", batch);
  const char *extra[] = { "--max-thunks", max_thunks, "--cache-entries", cache_entries, NULL };
  Peer *rthunkd = start_rthunkd (extra);
  Wire *w = wire_open (rthunkd);
  g_autofree gsize *rss = g_new0 (gsize, batches + 1);
  guint again = MIN (batch, 1000u);
  gsize cache_full, cache_evicting;
  gint64 hits;

  rss[0] = peer_rss_kb (rthunkd);
  say ("memory: rthunkd --max-thunks %s starts at %.1f MiB", max_thunks, rss[0] / 1024.0);
  for (guint k = 1; k <= batches; k++)
    {
      double seconds = wire_run_batches (w, (guint64) (k - 1) * batch, batch);

      rss[k] = peer_rss_kb (rthunkd);
      say ("memory: after %u calls: %.1f MiB (this batch: %.1f s)", k * batch, rss[k] / 1024.0, seconds);
    }
  result ("memory.batch", batch);
  result ("memory.max_thunks", batch + batch / 2);
  result ("memory.start_mib", rss[0] / 1024.0);
  result ("memory.held_mib", rss[1] / 1024.0);
  result ("memory.after_all_mib", rss[batches] / 1024.0);
  result ("memory.calls", (double) batch * batches);
  result ("memory.growth_2_3_mib", ((double) rss[3] - (double) rss[2]) / 1024.0);

  /* the result cache full (--cache-entries = one batch): a batch of
   * distinct cacheable results fills it, a second replaces them all; the
   * last of them asked again must be hits */
  wire_run_batches_of (w, 0, batch, TRUE);
  cache_full = peer_rss_kb (rthunkd);
  wire_run_batches_of (w, batch, batch, TRUE);
  cache_evicting = peer_rss_kb (rthunkd);
  hits = peer_counter (rthunkd, "cache-hits");
  wire_run_batches_of (w, 2 * (guint64) batch - again, again, TRUE);
  if (peer_counter (rthunkd, "cache-hits") - hits != again)
    g_error ("the result cache did not hold the last %u results", again);
  say ("memory: result cache full (%u results): %.1f MiB; after %u more: %.1f MiB",
       batch, cache_full / 1024.0, batch, cache_evicting / 1024.0);
  result ("memory.cache_full_mib", cache_full / 1024.0);
  result ("memory.cache_growth_mib", ((double) cache_evicting - (double) cache_full) / 1024.0);
  wire_close (w);
  peer_stop (rthunkd);
}

/* A request with an input, through the C API: N sequential calls each,
 * each timed alone, the input a new value object every call:
 *   cached:  `(reduce + 0 (map (fn [i] (* i i)) (range 0 n)))`, n = 2000
 *            an input, repeated: the server answers from its result cache
 *            (the key covers the tree and the input's value);
 *   trivial: `(+ i 1)`, i = k an input: too cheap for the cache, checked
 *            and evaluated on every call.
 * Reported: the median call of each, median over repetitions. */
static double
inputs_latency (RthunkClient *client,
                RthunkNode   *expr,
                guint         n,
                gboolean      vary)
{
  g_autoptr(GHashTable) inputs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) rthunk_value_unref);
  g_autofree double *calls = g_new (double, n);
  gint64 heavy_value = 0;

  for (gint64 i = 0; i < 2000; i++)
    heavy_value += i * i;
  for (guint k = 0; k < n; k++)
    {
      const char *name = vary ? "i" : "n";
      gint64 x = vary ? k : 2000, expected = vary ? (gint64) k + 1 : heavy_value;
      double t0 = now_s ();

      g_hash_table_replace (inputs, (gpointer) name, rthunk_value_new_int (x));
      if (rthunk_int (client, expr, inputs) != expected)
        g_error ("a cache benchmark call with an input gave a wrong value");
      calls[k] = now_s () - t0;
    }
  return median (calls, n) * 1e6;
}

static void
bench_cache_inputs (Peer *rthunkd)
{
  guint n = scaled (10000);
  g_autoptr(RthunkNode) heavy = parse_one ("(reduce + 0 (map (fn [i] (* i i)) (range 0 n)))");
  g_autoptr(RthunkNode) trivial = parse_one ("(+ i 1)");
  g_autoptr(RthunkClient) client = rthunk_open (rthunkd);
  g_autofree double *ct = g_new (double, opt_reps);
  g_autofree double *ut = g_new (double, opt_reps);
  double c, u;

  inputs_latency (client, heavy, MIN (n, 500u), FALSE);       /* warm-up; fills the cache */
  inputs_latency (client, trivial, MIN (n, 500u), TRUE);
  for (int rep = 0; rep < opt_reps; rep++)
    {
      ct[rep] = inputs_latency (client, heavy, n, FALSE);
      ut[rep] = inputs_latency (client, trivial, n, TRUE);
      say ("cache with an input rep %d: cached %.1f µs, trivial %.1f µs", rep + 1, ct[rep], ut[rep]);
    }
  c = median (ct, opt_reps);
  u = median (ut, opt_reps);
  result ("cache.inputs_cached_us", c);
  result ("cache.inputs_trivial_us", u);
  result ("cache.inputs_ratio", c / u);
}

/* ---- main ---------------------------------------------------------------- */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = g_option_context_new ("— rthunk's RPC path against a bare Thrift call");
  GOptionEntry entries[] = {
    { "rthunkd", 0, 0, G_OPTION_ARG_FILENAME, &opt_rthunkd, "The rthunkd to measure (default $RTHUNKD)", "PATH" },
    { "rthunk", 0, 0, G_OPTION_ARG_FILENAME, &opt_rthunk, "The rthunk program of the startup benchmark, not libtool's wrapper (default $RTHUNK)", "PATH" },
    { "bare-server", 0, 0, G_OPTION_ARG_FILENAME, &opt_bare_server, "The bare Thrift server (default $BARE_SERVER)", "PATH" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "Repetitions of each timed benchmark (default 5)", "N" },
    { "scale", 's', 0, G_OPTION_ARG_DOUBLE, &opt_scale, "Multiply every count (default 1)", "F" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "Requests per submitBatch frame (default 1000)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "Run only these, comma-separated: latency,throughput,concurrency,callers8,chain,cache,shell,mix,shared,memory,pending,cells,startup", "LIST" },
    { "redis", 0, 0, G_OPTION_ARG_STRING, &opt_redis, "The Redis of the shared-store benchmark (redis://HOST:PORT; without it, shared is skipped)", "URI" },
    { NULL }
  };
  Peer *rthunkd = NULL, *bare = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-rpc: %s\n", error->message);
      return 2;
    }
  if (opt_rthunkd == NULL)
    opt_rthunkd = g_strdup (g_getenv ("RTHUNKD"));
  if (opt_bare_server == NULL)
    opt_bare_server = g_strdup (g_getenv ("BARE_SERVER"));
  if (opt_rthunk == NULL)
    opt_rthunk = g_strdup (g_getenv ("RTHUNK"));
  if (opt_rthunkd == NULL || opt_bare_server == NULL || opt_reps < 1 || opt_scale <= 0 ||
      opt_batch < 1 || opt_batch > MAX_BATCH)
    {
      fprintf (stderr, "bench-rpc: needs --rthunkd and --bare-server (or $RTHUNKD, $BARE_SERVER), "
               "--reps ≥ 1, --scale > 0 and 1 ≤ --batch ≤ %d\n", MAX_BATCH);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  signal (SIGABRT, on_fatal_signal);
  signal (SIGINT, on_fatal_signal);
  signal (SIGTERM, on_fatal_signal);
  signal (SIGTRAP, on_fatal_signal);

  /* every generated type once, before any thread */
  rthunk_wire_ensure_types ();
  g_type_ensure (bench_bare_add_args_get_type ());
  g_type_ensure (bench_bare_add_result_get_type ());
  g_type_ensure (BENCH_TYPE_BARE_CLIENT);
  g_type_ensure (THRIFT_TYPE_SOCKET);
  g_type_ensure (THRIFT_TYPE_FRAMED_TRANSPORT);
  g_type_ensure (THRIFT_TYPE_BINARY_PROTOCOL);
  g_type_ensure (RTHUNK_TYPE_CLIENT);

  result ("reps", opt_reps);
  result ("scale", opt_scale);
  if (wanted ("latency") || wanted ("concurrency") || wanted ("callers8") || wanted ("chain") ||
      wanted ("cache") || wanted ("shell") || wanted ("mix"))
    {
      rthunkd = start_rthunkd (NULL);
      bare = start_bare ();
    }
  if (wanted ("latency"))
    bench_latency (rthunkd, bare);
  if (wanted ("concurrency"))
    bench_concurrency (rthunkd, bare, "concurrency", 16);
  if (wanted ("callers8"))
    bench_concurrency (rthunkd, bare, "callers8", 8);
  if (wanted ("chain"))
    {
      bench_chain (rthunkd);
      bench_chain_session (rthunkd);
    }
  if (wanted ("cache"))
    {
      bench_cache (rthunkd);
      bench_cache_inputs (rthunkd);
    }
  if (wanted ("shell"))
    bench_shell (rthunkd, bare);
  if (wanted ("mix"))
    bench_mix (rthunkd);
  if (rthunkd != NULL)
    {
      peer_stop (rthunkd);
      peer_stop (bare);
    }
  if (wanted ("shared") && opt_redis != NULL)
    bench_shared ();
  if (wanted ("throughput"))
    bench_throughput ();
  if (wanted ("memory"))
    bench_memory ();
  if (wanted ("pending"))
    bench_pending ();
  if (wanted ("cells"))
    bench_cells ();
  if (wanted ("startup"))
    bench_startup ();
  g_free (opt_rthunkd);
  g_free (opt_rthunk);
  g_free (opt_bare_server);
  g_free (opt_only);
  g_free (opt_redis);
  return 0;
}
