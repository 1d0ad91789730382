/* rthunk-http-soup.h — what the HTTP module (rthunk-http-soup.so) and the
 * library that loads it agree on.  Private.
 *
 * libsoup and the fourteen libraries behind it (Kerberos, brotli, psl,
 * nghttp2, …) take longer to map and link than the rest of rthunk
 * together, and only --http needs them. So the one file that speaks to
 * libsoup (rthunk-http-soup.c) is built as a module of its own, loaded the
 * first time a front is made (rthunk-http-front.c), and everything it
 * needs of rthunk reaches it through RthunkHttpRoutes: the module calls
 * nothing of librthunk's, so the shared library and the tests' static
 * copy of it load the same module. Plain GLib types only, in this header
 * too.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Raised when a field is added to, moved in or dropped from any struct or
 * function below: a module of another version is refused, not called. */
#define RTHUNK_HTTP_SOUP_ABI 1

/* The symbol the module exports: returns its RthunkHttpSoupModule. */
#define RTHUNK_HTTP_SOUP_ENTRY "rthunk_http_soup_module"

typedef struct _RthunkHttpFront RthunkHttpFront;

/* What a route answers: @body (transfer full) as @type with @status. */
typedef struct
{
  guint status;
  const char *type;             /* a static string */
  GBytes *body;
} RthunkHttpReply;

/* Whether @token (NULL: none given) may see the pages. */
typedef gboolean (*RthunkHttpAuthorize) (const char *token,
                                         gpointer    data);
/* Answers GET @path (any but /, /style.css, /api/events and the
 * documents' paths) in @reply; FALSE: no such page. */
typedef gboolean (*RthunkHttpRoute)     (const char      *path,
                                         RthunkHttpReply *reply,
                                         gpointer         data);
/* A request from @remote_host was refused for want of a token. */
typedef void     (*RthunkHttpRefused)   (const char *product,
                                         const char *remote_host);

/* A JSON document of the front's, as it is now: served at /api/NAME, and
 * sent as the event NAME on /api/events, now and every second. */
typedef struct
{
  const char *name;
  char *(*json) (gpointer data);        /* (transfer full): the JSON text */
} RthunkHttpDocument;

typedef struct
{
  const char *product;            /* the Server header */
  const char *page;               /* the path in @resource that / serves */
  RthunkHttpAuthorize authorize;
  const RthunkHttpDocument *documents; /* never NULL: up to one named NULL; the events in this order */
  RthunkHttpRoute route;          /* (nullable) any other page */
  gpointer data;
  /* set by rthunk_http_front_new(), not by its callers: */
  GResource *resource;            /* the pages and /style.css */
  RthunkHttpRefused refused;
} RthunkHttpRoutes;

/* The module's functions (rthunk-http-front.h says what each does). */
typedef struct
{
  guint abi;                      /* RTHUNK_HTTP_SOUP_ABI */
  RthunkHttpFront *(*front_new)    (const RthunkHttpRoutes *routes,
                                    GTlsCertificate        *certificate);
  gboolean         (*front_listen) (RthunkHttpFront        *front,
                                    GSocketAddress         *address,
                                    GError                **error);
  char            *(*front_get_url) (RthunkHttpFront       *front);
  void             (*front_free)   (RthunkHttpFront        *front);
} RthunkHttpSoupModule;

typedef const RthunkHttpSoupModule *(*RthunkHttpSoupEntry) (void);

G_END_DECLS
