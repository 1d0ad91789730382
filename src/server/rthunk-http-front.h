/* rthunk-http-front.h — what every rthunk HTTP front shares: a libsoup
 * server, the token, the page, its style and server-sent events.  Private. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _RthunkHttpFront RthunkHttpFront;

/* Whether @token (NULL: none given) may see the pages. */
typedef gboolean (*RthunkHttpAuthorize) (const char *token,
                                         gpointer    data);
/* Answers GET @path (any but /, /style.css and /api/events); FALSE: no such page. */
typedef gboolean (*RthunkHttpRoute)     (SoupServerMessage *msg,
                                         const char        *path,
                                         gpointer           data);
/* The events of this moment, made with rthunk_http_append_event(). */
typedef GString *(*RthunkHttpEvents)    (gpointer data);

typedef struct
{
  const char *product;            /* the Server header */
  const char *page;               /* the resource that / serves */
  RthunkHttpAuthorize authorize;
  RthunkHttpRoute route;
  RthunkHttpEvents events;        /* sent on /api/events, now and every second */
  gpointer data;
} RthunkHttpRoutes;

RthunkHttpFront *rthunk_http_front_new    (const RthunkHttpRoutes *routes,
                                           GTlsCertificate        *certificate);
gboolean         rthunk_http_front_listen (RthunkHttpFront        *front,
                                           const char             *host_port,
                                           GError                **error);
char            *rthunk_http_front_get_url (RthunkHttpFront       *front) G_GNUC_WARN_UNUSED_RESULT;
void             rthunk_http_front_free   (RthunkHttpFront        *front);

void             rthunk_http_respond      (SoupServerMessage      *msg,
                                           guint                   status,
                                           const char             *type,
                                           const char             *body,
                                           gsize                   length);
void             rthunk_http_respond_json (SoupServerMessage      *msg,
                                           JsonNode               *root);
void             rthunk_http_append_event (GString                *out,
                                           const char             *event,
                                           JsonNode               *data);

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
