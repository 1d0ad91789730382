/* rthunk-store.h — the tiers below the memory caches: SQLite, Redis.  Private.
 *
 * The result cache and the definition store keep what a server knows in
 * memory, within its budget; a store keeps the same entries (as bytes, by
 * kind and 32-byte key) where they outlive the process or are shared by
 * every server that names it. Writes go to a bounded queue that a thread
 * empties in batches; a read waits at most the store's timeout.
 */
#pragma once

#include <glib.h>

#include "rthunk-hash.h"
#include "rthunk-redis-private.h"

G_BEGIN_DECLS

/* What an entry is: the first byte of its key in every backend. */
typedef enum {
  RTHUNK_STORE_RESULT = 'r',
  RTHUNK_STORE_DEFINITION = 'd'
} RthunkStoreKind;

/* An entry on its way to a backend. */
typedef struct
{
  RthunkStoreKind kind;
  guint8 key[RTHUNK_HASH_LEN];
  GBytes *value;
} RthunkStoreItem;

typedef struct _RthunkStoreBackend RthunkStoreBackend;

/* Reads in flight at once: each has a connection of its own. */
#define RTHUNK_STORE_READERS 4

/* What a backend does; a read comes with its reader's number (below
 * RTHUNK_STORE_READERS, used by one thread at a time), writes come from
 * the writer thread. */
typedef struct
{
  const char *scheme;
  /* the value under @kind and @key, NULL when absent; FALSE (with @error)
   * when the backend could not answer, which is a miss too */
  gboolean (*get) (RthunkStoreBackend  *backend,
                   guint                reader,
                   RthunkStoreKind      kind,
                   const guint8        *key,
                   GBytes             **value,
                   GError             **error);
  /* writes every RthunkStoreItem of @items, each to expire @ttl_s seconds
   * from now, in one transaction or pipeline */
  gboolean (*put_batch) (RthunkStoreBackend  *backend,
                         GPtrArray           *items,
                         guint                ttl_s,
                         GError             **error);
  void (*free) (RthunkStoreBackend *backend);
} RthunkStoreBackendClass;

struct _RthunkStoreBackend
{
  const RthunkStoreBackendClass *klass;
};

RthunkStoreBackend *rthunk_store_sqlite_open (const char  *path,
                                              guint        timeout_ms,
                                              GError     **error);
RthunkStoreBackend *rthunk_store_redis_open  (const char                *uri,
                                              const RthunkRedisOptions  *options,
                                              guint                      timeout_ms,
                                              GError                   **error);

typedef struct _RthunkStore RthunkStore;

char        *rthunk_store_default_uri (const char   *state_dir,
                                       const char   *name);
RthunkStore *rthunk_store_open      (const char   *uri,
                                     const RthunkRedisOptions *redis,
                                     guint         timeout_ms,
                                     guint         ttl_s,
                                     GError      **error);
void         rthunk_store_free      (RthunkStore  *store);
GBytes      *rthunk_store_get       (RthunkStore  *store,
                                     RthunkStoreKind kind,
                                     const guint8 *key);
void         rthunk_store_put       (RthunkStore  *store,
                                     RthunkStoreKind kind,
                                     const guint8 *key,
                                     GBytes       *value);
void         rthunk_store_warn_corrupt (RthunkStore *store,
                                        RthunkStoreKind kind,
                                        const char  *why);

G_END_DECLS
