/* rthunk-client.h — a client of one server */
#pragma once

#if !defined(__RTHUNK_INSIDE__) && !defined(RTHUNK_COMPILATION)
#error "Only <rthunk/rthunk.h> can be included directly."
#endif

#include <glib-object.h>

#include "rthunk-catalog.h"
#include "rthunk-node.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

#define RTHUNK_TYPE_CLIENT (rthunk_client_get_type ())
G_DECLARE_FINAL_TYPE (RthunkClient, rthunk_client, RTHUNK, CLIENT, GObject)

RthunkClient  *rthunk_client_new             (const char    *address) G_GNUC_WARN_UNUSED_RESULT;
const char    *rthunk_client_get_address     (RthunkClient  *client);
gboolean       rthunk_client_connect         (RthunkClient  *client,
                                              GError       **error);
const char    *rthunk_client_get_server_name (RthunkClient  *client);
RthunkCatalog *rthunk_client_get_catalog     (RthunkClient  *client);
RthunkValue   *rthunk_client_submit          (RthunkClient  *client,
                                              RthunkNode    *expr,
                                              GHashTable    *inputs,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;

RthunkValue   *rthunk_client_submit_full     (RthunkClient  *client,
                                              RthunkNode    *expr,
                                              GHashTable    *inputs,
                                              GHashTable    *definitions,
                                              GError       **error) G_GNUC_WARN_UNUSED_RESULT;
guint          rthunk_client_get_definitions_sent (RthunkClient *client);
void           rthunk_client_set_token       (RthunkClient  *client,
                                              const char    *token);

G_END_DECLS
