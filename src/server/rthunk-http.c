/* rthunk-http.c — rthunkd --http: the dashboard, /metrics and /api
 *
 * An HTTP front (rthunk-http-front.c) in the main thread's main context
 * (the provider's main loop), behind the Thrift port's token; when the
 * Thrift port speaks TLS, so does this one, with the same certificate.
 * The handlers only read: atomic counters, and the thunk table under its
 * lock for the instant of a copy (rthunk_thunk_table_list()).
 *
 *   /             the dashboard page (src/server/dashboard/index.html,
 *                 compiled in as a GResource)
 *   /metrics      Prometheus text format (rthunk-metrics.c)
 *   /api/status   JSON (rthunk-http-json.c, docs/protocol.md)
 *   /api/thunks   JSON
 *   /api/events   server-sent events: `status` and `thunks` every second
 */
#include "config.h"

#include "rthunk-http-front.h"
#include "rthunk-http.h"
#include "rthunk-metrics.h"
#include "rthunk-server-private.h"
#include "rthunk-server.h"

#define PAGE_RESOURCE "/org/rthunk/dashboard/index.html"

struct _RthunkHttp
{
  RthunkServer *server;
  RthunkHttpFront *front;
};

static void
get_stats (RthunkHttp        *http,
           RthunkServerStats *stats)
{
  rthunk_server_get_stats (http->server, stats);
}

static char *
status_json (gpointer data)
{
  RthunkHttp *http = data;
  RthunkServerStats stats;

  get_stats (http, &stats);
  return rthunk_http_json_text (rthunk_http_status_json (rthunk_server_get_name (http->server), &stats));
}

static char *
thunks_json (gpointer data)
{
  RthunkHttp *http = data;
  RthunkThunkTable *table = rthunk_server_state_get_table (rthunk_server_get_state (http->server));

  return rthunk_http_json_text (rthunk_http_thunks_json (table, RTHUNK_HTTP_RECENT_THUNKS));
}

static void
serve_metrics (RthunkHttp      *http,
               RthunkHttpReply *reply)
{
  RthunkServerStats stats;

  get_stats (http, &stats);
  reply->type = "text/plain; version=0.0.4; charset=utf-8";
  reply->body = g_string_free_to_bytes (rthunk_metrics_render (&stats));
}

static gboolean
authorize (const char *token,
           gpointer    data)
{
  RthunkHttp *http = data;

  return rthunk_server_state_check_token (rthunk_server_get_state (http->server), token);
}

/* /api/status and /api/thunks, and the events of the same names. */
static const RthunkHttpDocument documents[] = {
  { "status", status_json },
  { "thunks", thunks_json },
  { NULL, NULL }
};

static gboolean
route (const char      *path,
       RthunkHttpReply *reply,
       gpointer         data)
{
  if (!g_str_equal (path, "/metrics"))
    return FALSE;
  serve_metrics (data, reply);
  return TRUE;
}

/**
 * rthunk_http_new: (skip)
 * @server: the server whose state it shows
 *
 * Returns: (transfer full): an HTTP front for @server, not yet listening
 */
RthunkHttp *
rthunk_http_new (RthunkServer *server)
{
  RthunkHttp *http = g_new0 (RthunkHttp, 1);

  http->server = g_object_ref (server);
  return http;
}

/**
 * rthunk_http_listen: (skip)
 * @http: an HTTP front
 * @host_port: where to listen, as `HOST:PORT` (port 0: any free port)
 * @error: return location for a #GError
 *
 * Listens at @host_port; the first time, makes the front, which loads
 * the HTTP module.
 *
 * Returns: whether it listens
 */
gboolean
rthunk_http_listen (RthunkHttp  *http,
                    const char  *host_port,
                    GError     **error)
{
  RthunkHttpRoutes routes = { "rthunkd", PAGE_RESOURCE, authorize, documents, route, http, NULL, NULL };

  if (http->front == NULL &&
      (http->front = rthunk_http_front_new (&routes, rthunk_server_get_tls_certificate (http->server), error)) == NULL)
    return FALSE;
  return rthunk_http_front_listen (http->front, host_port, error);
}

/**
 * rthunk_http_get_url: (skip)
 * @http: a listening HTTP front
 *
 * Returns: (transfer full): where it listens, as `http[s]://HOST:PORT/`
 */
char *
rthunk_http_get_url (RthunkHttp *http)
{
  return rthunk_http_front_get_url (http->front);
}

void
rthunk_http_free (RthunkHttp *http)
{
  g_clear_pointer (&http->front, rthunk_http_front_free);
  g_object_unref (http->server);
  g_free (http);
}
