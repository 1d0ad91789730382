/* rthunk-http-soup.c — what every rthunk HTTP front shares, on libsoup:
 * the module rthunk-http-soup.so (see rthunk-http-soup.h)
 *
 * A libsoup server in the calling thread's main context, for rthunkd
 * --http (rthunk-http.c) and the shell's --http (rthunk-session-http.c),
 * made through rthunk-http-front.c, which loads this module.
 * Every route but the style (the same for everyone: a stylesheet link
 * sends no token) asks for a token, as `Authorization: Bearer TOKEN` or
 * `?token=TOKEN` (an EventSource cannot send headers), and answers 401
 * without it. It serves itself:
 *
 *   /             the front's page (a resource of src/server/dashboard/)
 *   /style.css    the style every page shares
 *   /api/NAME     the front's document NAME, as JSON
 *   /api/events   server-sent events: each of the front's documents as the
 *                 event of its name, now and then every EVENTS_INTERVAL_S
 *                 seconds
 *
 * and hands every other GET to the front's route, if it has one.
 */
#include "config.h"

#include <gmodule.h>
#include <libsoup/soup.h>

#include "rthunk-http-soup.h"

#define EVENTS_INTERVAL_S 1
#define STYLE_RESOURCE "/org/rthunk/dashboard/style.css"

struct _RthunkHttpFront
{
  RthunkHttpRoutes routes;
  GMainContext *context;        /* the thread-default one it was made in: it serves there */
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
              const char        *text)
{
  respond (msg, SOUP_STATUS_OK, "application/json", text, strlen (text));
}

static void
serve_resource (RthunkHttpFront   *front,
                SoupServerMessage *msg,
                const char        *path,
                const char        *type)
{
  g_autoptr(GBytes) bytes = g_resource_lookup_data (front->routes.resource, path,
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  respond (msg, SOUP_STATUS_OK, type, data, length);
}

/* ---- /api/events ------------------------------------------------------------ */

/* Appends one server-sent event, `event: EVENT` with @json as its data. */
static void
append_event (GString    *out,
              const char *event,
              const char *json)
{
  g_string_append_printf (out, "event: %s\ndata: %s\n\n", event, json);
}

/* The events of this moment: every document of the front's, in order. */
static GString *
documents_as_events (RthunkHttpFront *front)
{
  GString *out = g_string_new (NULL);

  for (const RthunkHttpDocument *doc = front->routes.documents; doc->name != NULL; doc++)
    {
      g_autofree char *json = doc->json (front->routes.data);

      append_event (out, doc->name, json);
    }
  return out;
}

static void
append_events (SoupServerMessage *msg,
               GString           *events)
{
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            events->str, events->len);
}

static gboolean
push_events (gpointer data)
{
  RthunkHttpFront *front = data;
  g_autoptr(GString) events = documents_as_events (front);

  for (GSList *l = front->streams; l != NULL; l = l->next)
    {
      append_events (l->data, events);
      soup_server_message_unpause (l->data);
    }
  return G_SOURCE_CONTINUE;
}

static void
stop_tick (RthunkHttpFront *front)
{
  if (front->tick != 0)
    g_source_destroy (g_main_context_find_source_by_id (front->context, front->tick));
  front->tick = 0;
}

static void
stream_finished (SoupServerMessage *msg,
                 gpointer           data)
{
  RthunkHttpFront *front = data;

  front->streams = g_slist_remove (front->streams, msg);
  if (front->streams == NULL)
    stop_tick (front);
}

/* Keeps the response open and appends the front's events to it now and
 * then every EVENTS_INTERVAL_S seconds. */
static void
serve_events (RthunkHttpFront   *front,
              SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GString) events = documents_as_events (front);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  append_events (msg, events);
  g_signal_connect (msg, "finished", G_CALLBACK (stream_finished), front);
  front->streams = g_slist_prepend (front->streams, msg);
  if (front->tick == 0)
    {
      g_autoptr(GSource) source = g_timeout_source_new_seconds (EVENTS_INTERVAL_S);

      g_source_set_callback (source, push_events, front, NULL);
      front->tick = g_source_attach (source, front->context);
    }
}

/* ---- routes --------------------------------------------------------------- */

static void
refuse (RthunkHttpFront   *front,
        SoupServerMessage *msg)
{
  g_autofree char *realm = g_strdup_printf ("Bearer realm=\"%s\"", front->routes.product);

  front->routes.refused (front->routes.product, soup_server_message_get_remote_host (msg));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate", realm);
  respond_text (msg, SOUP_STATUS_UNAUTHORIZED, "this server needs a valid token\n");
}

/* The document served at @path (/api/NAME), or NULL. */
static const RthunkHttpDocument *
document_at (RthunkHttpFront *front,
             const char      *path)
{
  if (!g_str_has_prefix (path, "/api/"))
    return NULL;
  for (const RthunkHttpDocument *doc = front->routes.documents; doc->name != NULL; doc++)
    if (g_str_equal (path + strlen ("/api/"), doc->name))
      return doc;
  return NULL;
}

static void
serve_document (RthunkHttpFront          *front,
                const RthunkHttpDocument *doc,
                SoupServerMessage        *msg)
{
  g_autofree char *json = doc->json (front->routes.data);

  respond_json (msg, json);
}

/* Answers with the front's own route, if it has one for @path. */
static gboolean
serve_route (RthunkHttpFront   *front,
             SoupServerMessage *msg,
             const char        *path)
{
  RthunkHttpReply reply = { SOUP_STATUS_OK, NULL, NULL };
  g_autoptr(GBytes) body = NULL;
  gsize length;
  const char *data;

  if (front->routes.route == NULL || !front->routes.route (path, &reply, front->routes.data))
    return FALSE;
  body = reply.body;
  data = g_bytes_get_data (body, &length);
  respond (msg, reply.status, reply.type, data, length);
  return TRUE;
}

static void
handle (SoupServer        *soup,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           data)
{
  RthunkHttpFront *front = data;
  const char *method = soup_server_message_get_method (msg);
  const RthunkHttpDocument *doc;

  if (g_strcmp0 (method, SOUP_METHOD_GET) != 0 && g_strcmp0 (method, SOUP_METHOD_HEAD) != 0)
    respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "GET only\n");
  else if (g_str_equal (path, "/style.css"))
    serve_resource (front, msg, STYLE_RESOURCE, "text/css; charset=utf-8");
  else if (!front->routes.authorize (token_of (msg, query), front->routes.data))
    refuse (front, msg);
  else if (g_str_equal (path, "/"))
    serve_resource (front, msg, front->routes.page, "text/html; charset=utf-8");
  else if (g_str_equal (path, "/api/events"))
    serve_events (front, msg);
  else if ((doc = document_at (front, path)) != NULL)
    serve_document (front, doc, msg);
  else if (!serve_route (front, msg, path))
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "not found\n");
}

static RthunkHttpFront *
front_new (const RthunkHttpRoutes *routes,
           GTlsCertificate        *certificate)
{
  RthunkHttpFront *front = g_new0 (RthunkHttpFront, 1);

  front->routes = *routes;
  front->context = g_main_context_ref_thread_default ();
  front->tls = certificate != NULL;
  front->soup = soup_server_new ("server-header", routes->product, "tls-certificate", certificate, NULL);
  soup_server_add_handler (front->soup, NULL, handle, front, NULL);
  return front;
}

static gboolean
front_listen (RthunkHttpFront  *front,
              GSocketAddress   *address,
              GError          **error)
{
  return soup_server_listen (front->soup, address, front->tls ? SOUP_SERVER_LISTEN_HTTPS : 0, error);
}

static char *
front_get_url (RthunkHttpFront *front)
{
  GSList *uris = soup_server_get_uris (front->soup);
  char *url = uris != NULL ? g_uri_to_string (uris->data) : g_strdup ("-");

  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return url;
}

static void
front_free (RthunkHttpFront *front)
{
  stop_tick (front);
  soup_server_disconnect (front->soup);
  g_slist_free (front->streams);
  g_object_unref (front->soup);
  g_main_context_unref (front->context);
  g_free (front);
}

static const RthunkHttpSoupModule module = {
  RTHUNK_HTTP_SOUP_ABI, front_new, front_listen, front_get_url, front_free,
};

/* The module's one exported symbol (RTHUNK_HTTP_SOUP_ENTRY). */
G_MODULE_EXPORT const RthunkHttpSoupModule *rthunk_http_soup_module (void);

G_MODULE_EXPORT const RthunkHttpSoupModule *
rthunk_http_soup_module (void)
{
  return &module;
}
