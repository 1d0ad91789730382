/* rthunk-http.c — rthunkd --http: the dashboard, /metrics and /api
 *
 * A libsoup server in the main thread's main context (the provider's main
 * loop). Every route asks for the Thrift port's token, as
 * `Authorization: Bearer TOKEN` or `?token=TOKEN` (an EventSource cannot
 * send headers), and answers 401 without it; when the Thrift port speaks
 * TLS, so does this one, with the same certificate. The handlers only
 * read: atomic counters, and the thunk table under its lock for the
 * instant of a copy (rthunk_thunk_table_list()).
 *
 *   /             the dashboard page (src/server/dashboard/index.html,
 *                 compiled in as a GResource)
 *   /metrics      Prometheus text format (rthunk-metrics.c)
 *   /api/status   JSON (rthunk-http-json.c, docs/protocol.md)
 *   /api/thunks   JSON
 *   /api/events   server-sent events: `status` and `thunks` every second
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>

#include "rthunk-error.h"
#include "rthunk-handler.h"
#include "rthunk-http.h"
#include "rthunk-log.h"
#include "rthunk-metrics.h"
#include "rthunk-server-private.h"
#include "rthunk-server.h"

#define EVENTS_INTERVAL_S 1
#define PAGE_RESOURCE "/org/rthunk/dashboard/index.html"

struct _RthunkHttp
{
  RthunkServer *server;
  SoupServer *soup;
  GSList *streams;              /* SoupServerMessage of /api/events */
  guint tick;                   /* the events' timer */
  gboolean tls;
};

/* The token of @msg: its Bearer header, else its ?token=. */
static const char *
token_of (SoupServerMessage *msg,
          GHashTable        *query)
{
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");

  if (auth != NULL && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    return auth + 7;
  return query != NULL ? g_hash_table_lookup (query, "token") : NULL;
}

static void
respond (SoupServerMessage *msg,
         guint              status,
         const char        *type,
         const char        *body,
         gsize              length)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control", "no-store");
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, length);
}

static void
respond_text (SoupServerMessage *msg,
              guint              status,
              const char        *text)
{
  respond (msg, status, "text/plain; charset=utf-8", text, strlen (text));
}

static void
respond_json (SoupServerMessage *msg,
              JsonNode          *root)
{
  g_autofree char *text = json_to_string (root, FALSE);

  respond (msg, SOUP_STATUS_OK, "application/json", text, strlen (text));
}

static void
get_stats (RthunkHttp        *http,
           RthunkServerStats *stats)
{
  rthunk_server_get_stats (http->server, stats);
}

static JsonNode *
status_json (RthunkHttp *http)
{
  RthunkServerStats stats;

  get_stats (http, &stats);
  return rthunk_http_status_json (rthunk_server_get_name (http->server), &stats);
}

static JsonNode *
thunks_json (RthunkHttp *http)
{
  RthunkThunkTable *table = rthunk_server_state_get_table (rthunk_server_get_state (http->server));

  return rthunk_http_thunks_json (table, RTHUNK_HTTP_RECENT_THUNKS);
}

static void
serve_metrics (RthunkHttp        *http,
               SoupServerMessage *msg)
{
  RthunkServerStats stats;
  g_autoptr(GString) text = NULL;

  get_stats (http, &stats);
  text = rthunk_metrics_render (&stats);
  respond (msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text->str, text->len);
}

static void
serve_page (SoupServerMessage *msg)
{
  g_autoptr(GBytes) page = g_resource_lookup_data (rthunk_dashboard_get_resource (), PAGE_RESOURCE,
                                                   G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  gsize length;
  const char *data = g_bytes_get_data (page, &length);

  respond (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", data, length);
}

/* ---- /api/events ------------------------------------------------------------ */

static void
append_event (SoupServerMessage *msg,
              const char        *event,
              JsonNode          *data)
{
  g_autofree char *json = json_to_string (data, FALSE);
  g_autofree char *text = g_strdup_printf ("event: %s\ndata: %s\n\n", event, json);

  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY, text, strlen (text));
}

static gboolean
push_events (gpointer data)
{
  RthunkHttp *http = data;
  g_autoptr(JsonNode) status = status_json (http);
  g_autoptr(JsonNode) thunks = thunks_json (http);

  for (GSList *l = http->streams; l != NULL; l = l->next)
    {
      append_event (l->data, "status", status);
      append_event (l->data, "thunks", thunks);
      soup_server_message_unpause (l->data);
    }
  return G_SOURCE_CONTINUE;
}

static void
stream_finished (SoupServerMessage *msg,
                 gpointer           data)
{
  RthunkHttp *http = data;

  http->streams = g_slist_remove (http->streams, msg);
  if (http->streams == NULL && http->tick != 0)
    g_clear_handle_id (&http->tick, g_source_remove);
}

/* Keeps the response open and appends the status and the thunks to it
 * now and then every EVENTS_INTERVAL_S seconds. */
static void
serve_events (RthunkHttp        *http,
              SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(JsonNode) status = status_json (http);
  g_autoptr(JsonNode) thunks = thunks_json (http);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  append_event (msg, "status", status);
  append_event (msg, "thunks", thunks);
  g_signal_connect (msg, "finished", G_CALLBACK (stream_finished), http);
  http->streams = g_slist_prepend (http->streams, msg);
  if (http->tick == 0)
    http->tick = g_timeout_add_seconds (EVENTS_INTERVAL_S, push_events, http);
}

/* ---- routes --------------------------------------------------------------- */

static void
handle (SoupServer        *soup,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           data)
{
  RthunkHttp *http = data;
  RthunkServerState *state = rthunk_server_get_state (http->server);
  const char *method = soup_server_message_get_method (msg);

  if (!rthunk_server_state_check_token (state, token_of (msg, query)))
    {
      g_autoptr(GError) reason = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED,
                                                      _("this server needs a valid token"));

      rthunk_log_refused_from (soup_server_message_get_remote_host (msg), "HTTP request", reason);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                    "Bearer realm=\"rthunkd\"");
      respond_text (msg, SOUP_STATUS_UNAUTHORIZED, "this server needs a valid token\n");
      return;
    }
  if (g_strcmp0 (method, SOUP_METHOD_GET) != 0 && g_strcmp0 (method, SOUP_METHOD_HEAD) != 0)
    respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
  else if (g_str_equal (path, "/"))
    serve_page (msg);
  else if (g_str_equal (path, "/metrics"))
    serve_metrics (http, msg);
  else if (g_str_equal (path, "/api/status"))
    {
      g_autoptr(JsonNode) root = status_json (http);

      respond_json (msg, root);
    }
  else if (g_str_equal (path, "/api/thunks"))
    {
      g_autoptr(JsonNode) root = thunks_json (http);

      respond_json (msg, root);
    }
  else if (g_str_equal (path, "/api/events"))
    serve_events (http, msg);
  else
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "not found\n");
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
  GTlsCertificate *certificate = rthunk_server_get_tls_certificate (server);

  http->server = g_object_ref (server);
  http->tls = certificate != NULL;
  http->soup = soup_server_new ("server-header", "rthunkd", "tls-certificate", certificate, NULL);
  soup_server_add_handler (http->soup, NULL, handle, http, NULL);
  return http;
}

/* HOST:PORT or [IPV6]:PORT as a socket address. */
static GSocketAddress *
parse_address (const char  *host_port,
               GError     **error)
{
  g_autoptr(GSocketConnectable) parsed = g_network_address_parse (host_port, 0, error);
  g_autoptr(GInetAddress) inet = NULL;
  const char *host;

  if (parsed == NULL)
    return NULL;
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  inet = g_str_equal (host, "localhost") ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                         : g_inet_address_new_from_string (host);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("--http needs a numeric address (or localhost) and a port: “%s”"), host_port);
      return NULL;
    }
  return g_inet_socket_address_new (inet, g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
}

/**
 * rthunk_http_listen: (skip)
 * @http: an HTTP front
 * @host_port: where to listen, as `HOST:PORT` (port 0: any free port)
 * @error: return location for a #GError
 *
 * Returns: whether it listens
 */
gboolean
rthunk_http_listen (RthunkHttp  *http,
                    const char  *host_port,
                    GError     **error)
{
  g_autoptr(GSocketAddress) address = parse_address (host_port, error);

  if (address == NULL)
    return FALSE;
  return soup_server_listen (http->soup, address, http->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
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
  GSList *uris = soup_server_get_uris (http->soup);
  char *url = uris != NULL ? g_uri_to_string (uris->data) : g_strdup ("-");

  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return url;
}

void
rthunk_http_free (RthunkHttp *http)
{
  g_clear_handle_id (&http->tick, g_source_remove);
  soup_server_disconnect (http->soup);
  g_slist_free (http->streams);
  g_object_unref (http->soup);
  g_object_unref (http->server);
  g_free (http);
}
