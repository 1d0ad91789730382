/* rthunk-session-http.c — the shell's dashboard: the whole cluster as this
 * session sees it
 *
 * rthunk_session_serve_http() starts an HTTP front (rthunk-http-front.c)
 * in the session's main context, the one its cells change in, so the
 * handlers read the cells there without a lock (the evaluations'
 * submitted thunks under theirs, as rthunk_session_get_progress() does).
 * Its pages ask for a token drawn at random when it starts; the URL it
 * returns carries it (`?token=`).
 *
 *   /             the page (src/server/dashboard/session.html)
 *   /api/session  JSON: servers, cells with their reads, pending thunks
 *                 (docs/protocol.md)
 *   /api/events   server-sent events: `session` every second
 */
#include "config.h"

#include "rthunk-cluster-private.h"
#include "rthunk-handler-private.h"
#include "rthunk-http-front.h"
#include "rthunk-session-private.h"

#define PAGE_RESOURCE "/org/rthunk/dashboard/session.html"
#define SHORT_VALUE_CHARS 120       /* of a value or an error the page shows */
#define SHORT_LIST_ITEMS 10
#define TOKEN_BYTES 16

/* ---- the JSON of /api/session ---------------------------------------------------------- */

static const char *
state_word (CellState state)
{
  static const char *const words[] = { "waiting", "running", "settling", "done", "failed" };

  return words[state];
}

/* @text cut to SHORT_VALUE_CHARS characters, with `…` when cut. */
static char *
shortened (const char *text)
{
  if (g_utf8_strlen (text, -1) <= SHORT_VALUE_CHARS)
    return g_strdup (text);
  return g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (text, SHORT_VALUE_CHARS) - text), text);
}

/* @value printed (its first SHORT_LIST_ITEMS items), shortened; NULL for none. */
static char *
short_value (RthunkValue *value)
{
  g_autoptr(GString) printed = g_string_new (NULL);

  if (value == NULL)
    return NULL;
  rthunk_value_print_abridged (value, SHORT_LIST_ITEMS, printed);
  return shortened (printed->str);
}

static void
add_servers (JsonBuilder   *builder,
             RthunkSession *self)
{
  g_autoptr(GArray) members = rthunk_cluster_list_members (self->cluster);

  json_builder_set_member_name (builder, "servers");
  json_builder_begin_array (builder);
  for (guint k = 0; k < members->len; k++)
    {
      RthunkMemberInfo *m = &g_array_index (members, RthunkMemberInfo, k);

      json_builder_begin_object (builder);
      rthunk_http_add_string (builder, "name", m->name);
      rthunk_http_add_string (builder, "address", m->address);
      rthunk_http_add_string (builder, "state", m->state);
      rthunk_http_add_int (builder, "agreed", m->agreements);
      rthunk_http_add_int (builder, "disagreed", m->disagreements);
      rthunk_http_add_int (builder, "load", m->load);
      rthunk_http_add_double (builder, "latencyMs", m->latency_ms);
      rthunk_http_add_string (builder, "error", m->last_error);
      rthunk_http_add_string (builder, "from", m->origin);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static void
add_cell (JsonBuilder   *builder,
          Cell          *cell)
{
  gboolean settled = cell->state == CELL_DONE || cell->state == CELL_FAILED;
  gint64 elapsed = (settled ? cell->settled_us : g_get_monotonic_time ()) - cell->started_us;
  gboolean failed = cell->state == CELL_FAILED && cell->error != NULL;
  g_autofree char *value = failed ? NULL : short_value (cell->value);
  g_autofree char *error = failed ? shortened (cell->error->message) : NULL;

  json_builder_begin_object (builder);
  rthunk_http_add_string (builder, "name", cell->name);
  rthunk_http_add_string (builder, "state", state_word (cell->state));
  rthunk_http_add_boolean (builder, "pending", !settled);
  rthunk_http_add_string (builder, "value", value);
  rthunk_http_add_string (builder, "error", error);
  rthunk_http_add_int (builder, "elapsedMs", MAX (elapsed, 0) / 1000);
  json_builder_set_member_name (builder, "reads");
  json_builder_begin_array (builder);
  for (guint k = 0; cell->reads != NULL && k < cell->reads->len; k++)
    json_builder_add_string_value (builder, g_ptr_array_index (cell->reads, k));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

typedef struct
{
  JsonBuilder *builder;
  const char *cell;
} PendingRow;

/* One row of `pending` for the unfinished remote thunk @data. */
static void
add_pending_thunk (gpointer data,
                   gpointer user_data)
{
  RthunkThunk *thunk = data;
  PendingRow *row = user_data;

  if (rthunk_thunk_is_finished (thunk))
    return;
  json_builder_begin_object (row->builder);
  rthunk_http_add_string (row->builder, "cell", row->cell);
  rthunk_http_add_string (row->builder, "label", rthunk_thunk_get_label (thunk));
  rthunk_http_add_string (row->builder, "server", rthunk_thunk_get_server (thunk));
  rthunk_http_add_int (row->builder, "elapsedMs", rthunk_thunk_get_elapsed (thunk) / 1000);
  json_builder_end_object (row->builder);
}

static void
add_pending (JsonBuilder   *builder,
             RthunkSession *self)
{
  json_builder_set_member_name (builder, "pending");
  json_builder_begin_array (builder);
  for (guint k = 0; k < self->order->len; k++)
    {
      Cell *cell = g_ptr_array_index (self->order, k);
      PendingRow row = { builder, cell->name };

      rthunk_session_cell_foreach_submitted (cell, add_pending_thunk, &row);
    }
  for (guint k = 0; k < self->anonymous->len; k++)
    {
      PendingRow row = { builder, NULL };

      rthunk_session_cell_foreach_submitted (g_ptr_array_index (self->anonymous, k), add_pending_thunk, &row);
    }
  json_builder_end_array (builder);
}

/* The body of /api/session: servers, cells (named, in order of first
 * definition) and the remote thunks not finished. */
static char *
session_json (gpointer data)
{
  RthunkSession *self = data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  add_servers (builder, self);
  json_builder_set_member_name (builder, "cells");
  json_builder_begin_array (builder);
  for (guint k = 0; k < self->order->len; k++)
    add_cell (builder, g_ptr_array_index (self->order, k));
  json_builder_end_array (builder);
  add_pending (builder, self);
  json_builder_end_object (builder);
  return rthunk_http_json_text (json_builder_get_root (builder));
}

/* ---- the front ------------------------------------------------------------------------ */

static gboolean
authorize (const char *token,
           gpointer    data)
{
  RthunkSession *self = data;

  return token != NULL && rthunk_handler_tokens_equal (token, self->http_token);
}

/* /api/session, and the event of that name. */
static const RthunkHttpDocument documents[] = {
  { "session", session_json },
  { NULL, NULL }
};

static char *
random_token (void)
{
  GString *token = g_string_new (NULL);

  for (guint k = 0; k < TOKEN_BYTES; k++)
    g_string_append_printf (token, "%02x", g_random_int_range (0, 256));
  return g_string_free (token, FALSE);
}

static char *
url_with_token (RthunkSession *self)
{
  g_autofree char *url = rthunk_http_front_get_url (self->http);

  return g_strdup_printf ("%s?token=%s", url, self->http_token);
}

/**
 * rthunk_session_serve_http:
 * @session: a session
 * @host_port: where to listen, as `HOST:PORT` (port 0: any free port)
 * @error: return location for a #GError
 *
 * Serves a live page of the session over HTTP, in the session's main
 * context: every server of its cluster with its state, reputation, load
 * and latency; every cell with its state, value or error and the cells it
 * reads, drawn as a graph; every remote thunk not finished. `/api/session`
 * is the same as JSON, `/api/events` as server-sent events (see
 * docs/protocol.md). Every path asks for a token drawn at random, which
 * the returned URL carries. Call it in the thread of the session's main
 * context; the page is served while that context runs. When the session serves already, @host_port
 * is ignored and the same URL is returned. Closing the session stops it.
 *
 * Returns: (transfer full) (nullable): the page's URL, with its token, or
 *   %NULL with @error set when it cannot listen there
 *
 * Since: 0.1
 */
char *
rthunk_session_serve_http (RthunkSession  *session,
                           const char     *host_port,
                           GError        **error)
{
  RthunkHttpRoutes routes = { "rthunk", PAGE_RESOURCE, authorize, documents, NULL, session, NULL, NULL };
  g_autoptr(RthunkHttpFront) front = NULL;
  gboolean listening;

  g_return_val_if_fail (RTHUNK_IS_SESSION (session), NULL);
  g_return_val_if_fail (host_port != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (session->http != NULL)
    return url_with_token (session);
  g_main_context_push_thread_default (session->context);
  front = rthunk_http_front_new (&routes, NULL, error);
  listening = front != NULL && rthunk_http_front_listen (front, host_port, error);
  g_main_context_pop_thread_default (session->context);
  if (!listening)
    return NULL;
  session->http = g_steal_pointer (&front);
  session->http_token = random_token ();
  return url_with_token (session);
}

/* Stops serving, if it did. */
void
rthunk_session_http_stop (RthunkSession *self)
{
  g_clear_pointer (&self->http, rthunk_http_front_free);
  g_clear_pointer (&self->http_token, g_free);
}
