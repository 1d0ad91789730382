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
/* Answers GET @path (any but /, /style.css, /api/events and the
 * documents' paths); FALSE: no such page. */
typedef gboolean (*RthunkHttpRoute)     (SoupServerMessage *msg,
                                         const char        *path,
                                         gpointer           data);

/* A JSON document of the front's, as it is now: served at /api/NAME, and
 * sent as the event NAME on /api/events, now and every second. */
typedef struct
{
  const char *name;
  JsonNode *(*json) (gpointer data);      /* (transfer full) */
} RthunkHttpDocument;

typedef struct
{
  const char *product;            /* the Server header */
  const char *page;               /* the resource that / serves */
  RthunkHttpAuthorize authorize;
  const RthunkHttpDocument *documents; /* never NULL: up to one named NULL; the events in this order */
  RthunkHttpRoute route;          /* (nullable) any other page */
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
