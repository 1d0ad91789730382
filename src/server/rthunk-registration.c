/* rthunk-registration.c — a server in the fleet's registry
 *
 * rthunkd --registry redis://… keeps a record of itself in Redis (the keys
 * are rthunk-registry-private.h's): a hash with its name, advertised
 * address, capabilities, catalog hash, number of functions and load,
 * written with a TTL and written again at a third of it from a thread of
 * its own, so a request never waits on Redis. The first write, and the
 * first after Redis came back, says `join ADDRESS` on the channel. When
 * Redis does not answer the server serves on, warns once, and tries again
 * (the link's backoff, then every refresh). Stopping (SIGTERM) deletes the
 * record and says `leave ADDRESS` at once, before the server drains.
 */
#include "config.h"

#include <string.h>

#include "rthunk-registration.h"
#include "rthunk-catalog.h"
#include "rthunk-metrics.h"
#include "rthunk-redis-private.h"
#include "rthunk-registry-private.h"
#include "rthunk-server-private.h"
#include "rthunk-type.h"

struct _RthunkRegistration
{
  RthunkServer *server;
  RthunkRedis *redis;
  char *shown_uri;              /* without its password */
  char *address;
  char *key;
  char *catalog_hash;
  char *capabilities;
  guint n_functions;
  guint ttl_s;
  GThread *thread;
  GMutex lock;
  GCond wake;
  gboolean stopping;
  gboolean registered;          /* the last write worked: no join to say */
  gboolean failing;             /* warned that Redis does not answer */
};

static gint
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The SHA-256 of the catalog's functions (name, type and flags, sorted):
 * servers that serve the same functions have the same hash. */
static char *
catalog_hash (RthunkCatalog *catalog,
              guint         *n_functions)
{
  g_autoptr(GPtrArray) defs = rthunk_catalog_list (catalog);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint k = 0; k < defs->len; k++)
    {
      RthunkFuncDef *def = g_ptr_array_index (defs, k);
      g_autofree char *type = rthunk_type_to_string (rthunk_func_def_get_type_term (def));

      g_ptr_array_add (lines, g_strdup_printf ("%s\t%s\t%u\n", rthunk_func_def_get_name (def), type,
                                               (guint) rthunk_func_def_get_flags (def)));
    }
  g_ptr_array_sort (lines, compare_lines);
  for (guint k = 0; k < lines->len; k++)
    g_checksum_update (sum, g_ptr_array_index (lines, k), -1);
  *n_functions = defs->len;
  return g_strdup (g_checksum_get_string (sum));
}

/* Writes the record with its TTL and the address in the set; says join
 * when the last write had failed (or there was none). */
static gboolean
write_record (RthunkRegistration  *self,
              GError             **error)
{
  RthunkServerStats stats;
  g_autofree char *ttl = g_strdup_printf ("%u", self->ttl_s);
  g_autofree char *load = NULL;
  g_autofree char *functions = g_strdup_printf ("%u", self->n_functions);
  g_autofree char *join = g_strconcat ("join ", self->address, NULL);

  rthunk_server_get_stats (self->server, &stats);
  load = g_strdup_printf ("%" G_GINT64_FORMAT, stats.running + stats.queued);
  if (!rthunk_registry_run (self->redis, error, "HSET", self->key,
                            "name", rthunk_server_get_name (self->server), "address", self->address,
                            "capabilities", self->capabilities, "catalog", self->catalog_hash,
                            "functions", functions, "load", load, "ttl", ttl, "version", RTHUNK_VERSION_S, NULL) ||
      !rthunk_registry_run (self->redis, error, "EXPIRE", self->key, ttl, NULL) ||
      !rthunk_registry_run (self->redis, error, "SADD", RTHUNK_REGISTRY_SET, self->address, NULL))
    return FALSE;
  if (!self->registered &&
      !rthunk_registry_run (self->redis, error, "PUBLISH", RTHUNK_REGISTRY_CHANNEL, join, NULL))
    return FALSE;
  return TRUE;
}

/* One refresh: a failure is warned about once, until a write works again. */
static void
refresh (RthunkRegistration *self)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = write_record (self, &error);

  if (ok && self->failing)
    g_message ("registry %s: registered again as %s", self->shown_uri, self->address);
  else if (!ok && !self->failing)
    g_warning ("registry %s: %s; serving on, and registering again when it answers",
               self->shown_uri, error->message);
  self->failing = !ok;
  self->registered = ok;
}

static gpointer
refresh_loop (gpointer data)
{
  RthunkRegistration *self = data;
  gint64 period = MAX (self->ttl_s * G_USEC_PER_SEC / 3, 100 * 1000);

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      g_mutex_unlock (&self->lock);
      refresh (self);
      g_mutex_lock (&self->lock);
      g_cond_wait_until (&self->wake, &self->lock, g_get_monotonic_time () + period);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* Registers @server in the Redis @options->uri names, now and from a
 * thread that refreshes the record; a Redis that does not answer is
 * warned about, not an error. NULL with @error only for a URI it cannot
 * read. */
RthunkRegistration *
rthunk_registration_start (RthunkServer                     *server,
                           const RthunkRegistrationOptions  *options,
                           GError                          **error)
{
  RthunkRegistration *self;
  RthunkRedis *redis = rthunk_redis_open (options->uri, &options->redis, error);
  RthunkCatalog *catalog = rthunk_server_get_catalog (server);

  if (redis == NULL)
    return NULL;
  self = g_new0 (RthunkRegistration, 1);
  self->server = g_object_ref (server);
  self->redis = redis;
  self->shown_uri = rthunk_redis_redacted_uri (options->uri);
  self->address = g_strdup (options->address);
  self->key = rthunk_registry_member_key (options->address);
  self->catalog_hash = catalog_hash (catalog, &self->n_functions);
  self->capabilities = g_strjoinv (",", (char **) rthunk_catalog_get_capabilities (catalog));
  self->ttl_s = MAX (options->ttl_s, 1);
  g_mutex_init (&self->lock);
  g_cond_init (&self->wake);
  self->thread = g_thread_new ("rthunk-registry", refresh_loop, self);
  return self;
}

/* Stops refreshing, deletes the record and says leave (each bounded by
 * the link's timeout), and frees @registration. */
void
rthunk_registration_stop (RthunkRegistration *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *leave = g_strconcat ("leave ", self->address, NULL);

  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->wake);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->thread);
  if (!rthunk_registry_run (self->redis, &error, "DEL", self->key, NULL) ||
      !rthunk_registry_run (self->redis, &error, "SREM", RTHUNK_REGISTRY_SET, self->address, NULL) ||
      !rthunk_registry_run (self->redis, &error, "PUBLISH", RTHUNK_REGISTRY_CHANNEL, leave, NULL))
    g_warning ("registry %s: could not deregister %s (%s): its record expires by itself",
               self->shown_uri, self->address, error->message);
  else
    g_message ("registry %s: deregistered %s", self->shown_uri, self->address);
  rthunk_redis_close (self->redis);
  g_object_unref (self->server);
  g_free (self->shown_uri);
  g_free (self->address);
  g_free (self->key);
  g_free (self->catalog_hash);
  g_free (self->capabilities);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->wake);
  g_free (self);
}
