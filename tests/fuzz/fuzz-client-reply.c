/* fuzz-client-reply.c — libFuzzer target: what a hostile server answers
 *
 * Each input is what a server answers to one call of a real RthunkClient.
 * Its first byte picks the call (the low bits: see calls[] below) and how
 * the answer is sent (bit 7): framed, each part of the rest (parts are cut
 * at FUZZ_SEPARATOR) being the body of the frame that answers the next
 * request the client sends; or raw, the rest as it is, every byte of the
 * stream the fuzzer's (frame headers too), after the first request. After
 * the last part the fake server sends nothing more and hangs up, so every
 * read the client makes ends with the input.
 *
 * The fake server listens on a loopback port (the client dials an
 * address) and is one thread of this process. A call that needs the
 * server's catalog (a submission) first connects a fresh client, whose
 * getServerInfo and getFuncDefs are relayed to a real server of the
 * standard library in this process; only the call's own requests get the
 * fuzzer's bytes. Every input has a fresh client, so nothing of one input
 * reaches the next.
 *
 * The client must return a value (a pending one is forced, and the value
 * printed) or fail with a GError that says why; it must never crash, leak,
 * hang, or log a warning or a critical.
 *
 * A value the client returns for a submission has the type of what it
 * submitted: the client checks what a server sends against that type
 * (rthunk-client-validate.c), and this target checks the client.
 *
 * Seeds are the answers of the real server, recorded by this target
 * (which also records the requests, as seeds of fuzz-connection):
 *
 *   FUZZ_RECORD_SEEDS=DIR tests/fuzz/fuzz-client-reply -runs=0
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-client-reply CRASH-FILE        (replays one input)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rthunk.h"
#include "rthunk-frame.h"
#include "fuzz-log.h"

#define FUZZ_MAX_INPUT_BYTES (256 * 1024)
#define FUZZ_SEPARATOR "@@NEXT@@"
#define FUZZ_RAW 0x80

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

/* ---- the fake server ------------------------------------------------------ */

typedef struct
{
  GMutex lock;
  GCond idle_cond;
  gboolean serving;             /* a connection is accepted and still open */
  gboolean relay;               /* answer from the real server */
  GPtrArray *parts;             /* GBytes: the answers to give, in order */
  guint next_part;
  gboolean raw;                 /* parts[0] is the whole stream */
  GPtrArray *recorded;          /* when recording: what the real server answered, */
  GByteArray *requests;         /* and the frames the client sent */
  int listen_fd;
  char *address;
  GThread *thread;
} FakeServer;

static FakeServer fake;
static RthunkServer *backend;

static void
send_all (int           fd,
          const guint8 *data,
          gsize         len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;                 /* the client hung up */
      data += n;
      len -= (gsize) n;
    }
}

/* One frame of @body, whatever its length (an empty one too). */
static void
send_frame (int     fd,
            GBytes *body)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (body, &len);
  guint32 header = GUINT32_TO_BE ((guint32) len);

  send_all (fd, (const guint8 *) &header, 4);
  send_all (fd, data, len);
}

static int
connect_backend (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (rthunk_server_get_port (backend));
  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  return fd;
}

/* The real server's answer to @request. */
static GBytes *
relay (int    *backend_fd,
       GBytes *request)
{
  g_autoptr(GError) error = NULL;
  GBytes *reply;

  if (*backend_fd < 0)
    *backend_fd = connect_backend ();
  if (!rthunk_frame_write (*backend_fd, g_bytes_get_data (request, NULL), g_bytes_get_size (request), &error) ||
      (reply = rthunk_frame_read (*backend_fd, 0, &error)) == NULL)
    g_error ("the real server did not answer: %s", error->message);
  return reply;
}

/* What answers the request that just came: the real server's answer, the
 * next part, or NULL when there is nothing more to say. */
static GBytes *
next_answer (int      *backend_fd,
             GBytes   *request,
             gboolean *raw,
             gboolean *last)
{
  GBytes *answer = NULL;
  gboolean from_backend;

  g_mutex_lock (&fake.lock);
  if (fake.requests != NULL)
    {
      guint32 header = GUINT32_TO_BE ((guint32) g_bytes_get_size (request));

      g_byte_array_append (fake.requests, (const guint8 *) &header, 4);
      g_byte_array_append (fake.requests, g_bytes_get_data (request, NULL), g_bytes_get_size (request));
    }
  from_backend = fake.relay;
  *raw = fake.raw;
  if (!from_backend && fake.next_part < fake.parts->len)
    answer = g_bytes_ref (g_ptr_array_index (fake.parts, fake.next_part++));
  *last = !from_backend && fake.next_part == fake.parts->len;
  g_mutex_unlock (&fake.lock);
  if (!from_backend)
    return answer;
  answer = relay (backend_fd, request);
  g_mutex_lock (&fake.lock);
  if (fake.recorded != NULL)
    g_ptr_array_add (fake.recorded, g_bytes_ref (answer));
  g_mutex_unlock (&fake.lock);
  return answer;
}

/* Answers the requests of one connection; hangs up after the last part,
 * then reads what the client still sends until it closes its end (so the
 * close sends no reset that could cut the answer short). */
static void
serve_one (int fd)
{
  int backend_fd = -1;
  guint8 buf[4096];

  for (;;)
    {
      g_autoptr(GBytes) request = rthunk_frame_read (fd, 0, NULL);
      g_autoptr(GBytes) answer = NULL;
      gboolean raw, last;

      if (request == NULL || (answer = next_answer (&backend_fd, request, &raw, &last)) == NULL)
        break;
      if (raw)
        send_all (fd, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
      else
        send_frame (fd, answer);
      if (last)
        break;
    }
  shutdown (fd, SHUT_WR);
  while (recv (fd, buf, sizeof buf, 0) > 0)
    ;
  close (fd);
  if (backend_fd >= 0)
    close (backend_fd);
}

static gpointer
fake_server_run (gpointer data)
{
  for (;;)
    {
      int fd = accept4 (fake.listen_fd, NULL, NULL, SOCK_CLOEXEC);

      if (fd < 0 && errno == EINTR)
        continue;
      if (fd < 0)
        return NULL;            /* shut down at exit */
      g_mutex_lock (&fake.lock);
      fake.serving = TRUE;
      g_mutex_unlock (&fake.lock);
      serve_one (fd);
      g_mutex_lock (&fake.lock);
      fake.serving = FALSE;
      g_cond_broadcast (&fake.idle_cond);
      g_mutex_unlock (&fake.lock);
    }
}

static void
fake_server_start (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;

  g_mutex_init (&fake.lock);
  g_cond_init (&fake.idle_cond);
  fake.parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fake.listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fake.listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fake.listen_fd, 16), ==, 0);
  g_assert_cmpint (getsockname (fake.listen_fd, (struct sockaddr *) &addr, &len), ==, 0);
  fake.address = g_strdup_printf ("127.0.0.1:%u", ntohs (addr.sin_port));
  fake.thread = g_thread_new ("fuzz-fake-server", fake_server_run, NULL);
}

/* Sets what the server answers next: the real server's answers (kept in
 * @recorded when not NULL), or the parts of @data. */
static void
fake_server_answer (gboolean      from_backend,
                    GPtrArray    *recorded,
                    const guint8 *data,
                    gsize         size,
                    gboolean      raw)
{
  g_mutex_lock (&fake.lock);
  fake.relay = from_backend;
  fake.recorded = recorded;
  fake.raw = raw;
  g_ptr_array_set_size (fake.parts, 0);
  fake.next_part = 0;
  if (raw)
    g_ptr_array_add (fake.parts, g_bytes_new (data, size));
  while (!raw && data != NULL)
    {
      const guint8 *end = memmem (data, size, FUZZ_SEPARATOR, strlen (FUZZ_SEPARATOR));
      gsize len = end != NULL ? (gsize) (end - data) : size;

      g_ptr_array_add (fake.parts, g_bytes_new (data, len));
      data = end != NULL ? end + strlen (FUZZ_SEPARATOR) : NULL;
      size -= end != NULL ? len + strlen (FUZZ_SEPARATOR) : size;
    }
  g_mutex_unlock (&fake.lock);
}

/* Waits until the server has closed every connection of the input. */
static void
fake_server_wait_idle (void)
{
  g_mutex_lock (&fake.lock);
  while (fake.serving)
    g_cond_wait (&fake.idle_cond, &fake.lock);
  g_mutex_unlock (&fake.lock);
}

static void
fake_server_stop (void)
{
  shutdown (fake.listen_fd, SHUT_RDWR);
  g_thread_join (fake.thread);
  close (fake.listen_fd);
  g_ptr_array_unref (fake.parts);
  g_free (fake.address);
  g_clear_object (&backend);
}

/* ---- the calls -------------------------------------------------------------- */

typedef enum
{
  CALL_SUBMIT,
  CALL_SUBMIT_REFERENCE,
  CALL_SUBMIT_DEFINITIONS,
  CALL_SUBMIT_BATCH,
  CALL_FUNC_DEFS,
  CALL_SERVER_INFO,
  CALL_POLL,
  CALL_AWAIT,
} CallKind;

typedef struct
{
  const char *name;             /* of its seed */
  CallKind kind;
  const char *text;             /* what it submits */
  RthunkValueKind kind_of;      /* what a submission's value must be… */
  RthunkValueKind items_of;     /* …and, for a list, its items (NIL: none checked) */
} Call;

static const Call calls[] = {
  { "submit-int", CALL_SUBMIT, "(+ 1 2)", RTHUNK_VALUE_INT, RTHUNK_VALUE_NIL },
  { "submit-str", CALL_SUBMIT, "(concat \"a\" \"b\")", RTHUNK_VALUE_STR, RTHUNK_VALUE_NIL },
  { "submit-list", CALL_SUBMIT, "(range 0 5)", RTHUNK_VALUE_LIST, RTHUNK_VALUE_INT },
  { "submit-fn", CALL_SUBMIT, "(fn [x] (* x 2))", RTHUNK_VALUE_FUNC, RTHUNK_VALUE_NIL },
  { "submit-pending", CALL_SUBMIT, "(delay 20 [1.5 2.5])", RTHUNK_VALUE_LIST, RTHUNK_VALUE_FLOAT },
  { "submit-reference", CALL_SUBMIT_REFERENCE, "(str 42)", RTHUNK_VALUE_STR, RTHUNK_VALUE_NIL },
  { "submit-definitions", CALL_SUBMIT_DEFINITIONS, "(sq 7)", RTHUNK_VALUE_INT, RTHUNK_VALUE_NIL },
  { "submit-batch", CALL_SUBMIT_BATCH, "(+ 1 2)", RTHUNK_VALUE_INT, RTHUNK_VALUE_NIL },
  { "func-defs-all", CALL_FUNC_DEFS, NULL },
  { "func-defs-some", CALL_FUNC_DEFS, "+" },
  { "server-info", CALL_SERVER_INFO, NULL },
  { "thunk-get", CALL_POLL, NULL },
  { "thunk-await", CALL_AWAIT, NULL },
};

/* the second submission of a batch */
static const Call batch_second = { "", CALL_SUBMIT, "(str 5)", RTHUNK_VALUE_STR, RTHUNK_VALUE_NIL };

static const guint8 some_id[16] = "fuzz-thunk-id-16";

static RthunkNode *
parse (const char *text)
{
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<fuzz>", text, -1, NULL);

  g_assert (forms != NULL && forms->len == 1);
  return rthunk_node_ref (g_ptr_array_index (forms, 0));
}

/* Forces @value and prints it: what a user of the value does first. A
 * submission's value (@call not NULL) must have the kind it asked for:
 * a server's lie is the client's error, never its value. */
static gboolean
use_value (RthunkValue  *value,
           const Call   *call,
           GError      **error)
{
  g_autoptr(RthunkValue) forced = rthunk_value_force (value, error);
  g_autofree char *text = NULL;

  if (forced == NULL)
    return FALSE;
  text = rthunk_value_to_string (forced);
  g_assert (text != NULL);
  if (call != NULL && rthunk_value_get_kind (forced) != call->kind_of)
    g_error ("the client returned %s for %s", text, call->text);
  for (gsize k = 0; call != NULL && call->items_of != RTHUNK_VALUE_NIL &&
                    k < rthunk_value_get_length (forced); k++)
    {
      RthunkValue *item = rthunk_value_get_item (forced, k);

      if (rthunk_value_get_kind (item) != call->items_of)
        g_error ("the client returned %s for %s", text, call->text);
    }
  return TRUE;
}

static void
on_finished (GBytes       *id,
             RthunkValue  *value,
             const GError *error,
             gpointer      user_data)
{
  g_assert ((value == NULL) != (error == NULL));
  if (value != NULL)
    g_free (rthunk_value_to_string (value));
}

static gboolean
submit_batch (RthunkClient  *client,
              const Call    *call,
              GError       **error)
{
  g_autoptr(GPtrArray) exprs = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  g_autoptr(GPtrArray) values = NULL;

  g_ptr_array_add (exprs, parse (call->text));
  g_ptr_array_add (exprs, parse (batch_second.text));
  if ((values = rthunk_client_submit_batch (client, exprs, NULL, error)) == NULL)
    return FALSE;
  if (!use_value (g_ptr_array_index (values, 0), call, error))
    return FALSE;
  for (guint k = 1; k < values->len; k++)
    if (!use_value (g_ptr_array_index (values, k), &batch_second, error))
      return FALSE;
  return TRUE;
}

static gboolean
submit (RthunkClient    *client,
        const Call      *call,
        GError         **error)
{
  g_autoptr(RthunkNode) expr = parse (call->text);
  g_autoptr(GHashTable) defs = NULL;
  g_autoptr(RthunkValue) value = NULL;

  if (call->kind == CALL_SUBMIT_DEFINITIONS)
    {
      defs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) rthunk_node_unref);
      g_hash_table_insert (defs, "sq", parse ("(defn sq [x] (* x x))"));
    }
  if (call->kind == CALL_SUBMIT_REFERENCE)
    value = rthunk_client_submit_reference (client, expr, NULL, NULL, error);
  else
    value = rthunk_client_submit_full (client, expr, NULL, defs, error);
  return value != NULL && use_value (value, call, error);
}

/* Makes @call; FALSE with @error set when it failed. */
static gboolean
run_call (RthunkClient  *client,
          const Call    *call,
          GError       **error)
{
  g_autoptr(GBytes) id = g_bytes_new_static (some_id, sizeof some_id);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  const char *names[] = { call->text, "map", NULL };
  RthunkCatalog *catalog;
  GVariant *info;

  switch (call->kind)
    {
    case CALL_SUBMIT:
    case CALL_SUBMIT_REFERENCE:
    case CALL_SUBMIT_DEFINITIONS:
      return submit (client, call, error);
    case CALL_SUBMIT_BATCH:
      return submit_batch (client, call, error);
    case CALL_FUNC_DEFS:
      catalog = rthunk_client_get_func_defs (client, call->text != NULL ? names : NULL, error);
      if (catalog == NULL)
        return FALSE;
      g_object_unref (catalog);
      return TRUE;
    case CALL_SERVER_INFO:
      if ((info = rthunk_client_get_server_info (client, error)) == NULL)
        return FALSE;
      g_variant_unref (info);
      return TRUE;
    case CALL_POLL:
      {
        g_autoptr(RthunkValue) value = NULL;
        RthunkThunkState state = rthunk_client_poll (client, id, &value, error);

        if (state == RTHUNK_THUNK_DONE)
          return use_value (value, NULL, error);
        g_assert (value == NULL);
        /* still running, or an error: the call's or the thunk's */
        return state == RTHUNK_THUNK_PENDING || state == RTHUNK_THUNK_RUNNING;
      }
    case CALL_AWAIT:
      g_ptr_array_add (ids, id);
      return rthunk_client_await_many (client, ids, 10, on_finished, NULL, error);
    default:
      g_assert_not_reached ();
    }
}

/* One call with a fresh client, which first connects through the real
 * server when the call needs the catalog. */
static void
one_call (const Call   *call,
          const guint8 *answer,
          gsize         size,
          gboolean      raw,
          GPtrArray    *record)
{
  g_autoptr(RthunkClient) client = rthunk_client_new (fake.address);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  rthunk_client_set_max_connections (client, 1);
  if (call->kind <= CALL_SUBMIT_BATCH)
    {
      fake_server_answer (TRUE, NULL, NULL, 0, FALSE);
      if (!rthunk_client_connect (client, &error))
        g_error ("cannot connect through the real server: %s", error->message);
    }
  fake_server_answer (record != NULL, record, answer, size, raw);
  ok = run_call (client, call, &error);
  /* a value, or an error that says why */
  g_assert (ok == (error == NULL));
  g_assert (ok || (error->message != NULL && error->message[0] != '\0'));
  g_clear_object (&client);
  fake_server_wait_idle ();
  fake_server_answer (FALSE, NULL, NULL, 0, FALSE);
}

static void
write_seed (const char *dir,
            const char *target,
            const char *name,
            const char *suffix,
            GByteArray *bytes)
{
  g_autofree char *subdir = g_build_filename (dir, target, NULL);
  g_autofree char *base = g_strconcat (name, suffix, ".bin", NULL);
  g_autofree char *path = g_build_filename (subdir, base, NULL);

  g_mkdir_with_parents (subdir, 0755);
  g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));
}

/* Writes the real server's answers to every call, framed and raw, as the
 * seeds of DIR/client-reply/, and the frames the client sent (the
 * connecting ones too) as the seeds of fuzz-connection in DIR/connection/. */
static void
record_seeds (const char *dir)
{
  for (guint k = 0; k < G_N_ELEMENTS (calls); k++)
    {
      g_autoptr(GByteArray) framed = g_byte_array_new ();
      g_autoptr(GByteArray) raw = g_byte_array_new ();
      g_autoptr(GPtrArray) recorded = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_autoptr(GByteArray) requests = NULL;
      guint8 selector = k;

      fake.requests = g_byte_array_new ();
      one_call (&calls[k], NULL, 0, FALSE, recorded);
      requests = g_steal_pointer (&fake.requests);
      g_byte_array_append (framed, &selector, 1);
      selector |= FUZZ_RAW;
      g_byte_array_append (raw, &selector, 1);
      for (guint n = 0; n < recorded->len; n++)
        {
          gsize len;
          const guint8 *body = g_bytes_get_data (g_ptr_array_index (recorded, n), &len);
          guint32 header = GUINT32_TO_BE ((guint32) len);

          if (n > 0)
            g_byte_array_append (framed, (const guint8 *) FUZZ_SEPARATOR, strlen (FUZZ_SEPARATOR));
          g_byte_array_append (framed, body, len);
          g_byte_array_append (raw, (const guint8 *) &header, 4);
          g_byte_array_append (raw, body, len);
        }
      write_seed (dir, "client-reply", calls[k].name, "", framed);
      write_seed (dir, "client-reply", calls[k].name, "-raw", raw);
      write_seed (dir, "connection", calls[k].name, "", requests);
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(GError) error = NULL;
  RthunkServerLimits limits;

  g_setenv ("G_SLICE", "always-malloc", TRUE);
  signal (SIGPIPE, SIG_IGN);
  fuzz_abort_on_warnings_quietly ();
  catalog = rthunk_stdlib_new_catalog ();
  backend = rthunk_server_new (catalog, "fuzz-backend");
  rthunk_server_limits_init (&limits);
  limits.workers = 1;
  limits.inline_budget_ms = 5;
  rthunk_server_set_limits (backend, &limits);
  if (!rthunk_server_listen (backend, "127.0.0.1", 0, &error))
    g_error ("%s", error->message);
  fake_server_start ();
  atexit (fake_server_stop);
  if (g_getenv ("FUZZ_RECORD_SEEDS") != NULL)
    record_seeds (g_getenv ("FUZZ_RECORD_SEEDS"));
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  if (size == 0 || size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  one_call (&calls[(data[0] & ~FUZZ_RAW) % G_N_ELEMENTS (calls)], data + 1, size - 1,
            (data[0] & FUZZ_RAW) != 0, NULL);
  return 0;
}
