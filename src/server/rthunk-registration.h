/* rthunk-registration.h — a server in the fleet's registry (rthunkd
 * --registry): registered, refreshed, removed.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-redis-private.h"
#include "rthunk-server.h"

G_BEGIN_DECLS

typedef struct _RthunkRegistration RthunkRegistration;

/* What a registration says and how it talks to Redis. */
typedef struct
{
  const char *uri;              /* redis://… or rediss://… */
  RthunkRedisOptions redis;     /* how to connect: password, timeout of a command, TLS files */
  const char *address;          /* HOST:PORT, as clients should reach it */
  guint ttl_s;                  /* the record's time to live; refreshed at a third of it */
} RthunkRegistrationOptions;

RthunkRegistration *rthunk_registration_start (RthunkServer                     *server,
                                               const RthunkRegistrationOptions  *options,
                                               GError                          **error) G_GNUC_WARN_UNUSED_RESULT;
void                rthunk_registration_stop  (RthunkRegistration               *registration);

G_END_DECLS
