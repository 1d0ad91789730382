/* rthunk-http-front.h — what every rthunk HTTP front shares: a libsoup
 * server (in the module rthunk-http-soup.so, loaded on first use), the
 * token, the page, its style and server-sent events; and the JSON its
 * documents are written in.  Private. */
#pragma once

#include <json-glib/json-glib.h>

#include "rthunk-http-soup.h"

G_BEGIN_DECLS

/* An HTTP front that answers with @routes (and speaks TLS with
 * @certificate, if not NULL), not yet listening, or NULL when the HTTP
 * module cannot be loaded; it serves in the thread-default main context
 * of the caller (call listen there too). */
RthunkHttpFront *rthunk_http_front_new    (const RthunkHttpRoutes *routes,
                                           GTlsCertificate        *certificate,
                                           GError                **error);
/* Listens at @host_port (`HOST:PORT`; port 0: any free port). */
gboolean         rthunk_http_front_listen (RthunkHttpFront        *front,
                                           const char             *host_port,
                                           GError                **error);
/* Where it listens, as `http[s]://HOST:PORT/`. */
char            *rthunk_http_front_get_url (RthunkHttpFront       *front) G_GNUC_WARN_UNUSED_RESULT;
void             rthunk_http_front_free   (RthunkHttpFront        *front);

/* @root (transfer full) as JSON text: what a document returns */
char            *rthunk_http_json_text    (JsonNode               *root) G_GNUC_WARN_UNUSED_RESULT;

/* `"member": value` in the object @builder is building */
void             rthunk_http_add_string   (JsonBuilder            *builder,
                                           const char             *member,
                                           const char             *value);
void             rthunk_http_add_int      (JsonBuilder            *builder,
                                           const char             *member,
                                           gint64                  value);
void             rthunk_http_add_double   (JsonBuilder            *builder,
                                           const char             *member,
                                           double                  value);
void             rthunk_http_add_boolean  (JsonBuilder            *builder,
                                           const char             *member,
                                           gboolean                value);

/* rthunk-dashboard-resources.c (generated from src/server/dashboard/) */
GResource       *rthunk_dashboard_get_resource (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkHttpFront, rthunk_http_front_free)

G_END_DECLS
