/* rthunk-store-sqlite.c — the store in an SQLite file (`sqlite:PATH`)
 *
 * One table of entries by kind and key, each with the time it expires.
 * A connection for each reader of the store and one for the writer
 * thread, so reads never wait for a batch (WAL mode). Each
 * batch is one transaction, which also forgets what has expired.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <sqlite3.h>

#include "rthunk-error.h"
#include "rthunk-store.h"

typedef struct
{
  sqlite3 *db;
  sqlite3_stmt *select;
} Reader;

typedef struct
{
  RthunkStoreBackend parent;
  Reader readers[RTHUNK_STORE_READERS];
  sqlite3 *writer;
  sqlite3_stmt *insert;
  sqlite3_stmt *purge;
} SqliteBackend;

#define SCHEMA \
  "PRAGMA journal_mode=WAL;" \
  "PRAGMA synchronous=NORMAL;" \
  "CREATE TABLE IF NOT EXISTS entries (" \
  "  kind INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL," \
  "  expires INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;"

static gboolean
sqlite_failed (sqlite3  *db,
               GError  **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL, "sqlite: %s", sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
sqlite_get (RthunkStoreBackend  *backend,
            guint                reader,
            RthunkStoreKind      kind,
            const guint8        *key,
            GBytes             **value,
            GError             **error)
{
  SqliteBackend *self = (SqliteBackend *) backend;
  sqlite3_stmt *st = self->readers[reader].select;
  int rc;

  sqlite3_reset (st);
  sqlite3_bind_int (st, 1, kind);
  sqlite3_bind_blob (st, 2, key, RTHUNK_HASH_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 3, g_get_real_time () / G_USEC_PER_SEC);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    *value = g_bytes_new (sqlite3_column_blob (st, 0), sqlite3_column_bytes (st, 0));
  sqlite3_reset (st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE || sqlite_failed (self->readers[reader].db, error);
}

static gboolean
insert_item (SqliteBackend   *self,
             RthunkStoreItem *item,
             gint64           expires)
{
  sqlite3_stmt *st = self->insert;
  gsize len;
  const void *data = g_bytes_get_data (item->value, &len);
  int rc;

  sqlite3_reset (st);
  sqlite3_bind_int (st, 1, item->kind);
  sqlite3_bind_blob (st, 2, item->key, RTHUNK_HASH_LEN, SQLITE_STATIC);
  sqlite3_bind_blob64 (st, 3, data, len, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, expires);
  rc = sqlite3_step (st);
  sqlite3_reset (st);
  return rc == SQLITE_DONE;
}

static gboolean
sqlite_put_batch (RthunkStoreBackend  *backend,
                  GPtrArray           *items,
                  guint                ttl_s,
                  GError             **error)
{
  SqliteBackend *self = (SqliteBackend *) backend;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean ok = TRUE;

  if (sqlite3_exec (self->writer, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return sqlite_failed (self->writer, error);
  for (guint k = 0; k < items->len && ok; k++)
    ok = insert_item (self, g_ptr_array_index (items, k), now + ttl_s);
  if (ok)
    {
      sqlite3_reset (self->purge);
      sqlite3_bind_int64 (self->purge, 1, now);
      ok = sqlite3_step (self->purge) == SQLITE_DONE;
      sqlite3_reset (self->purge);
    }
  if (!ok)
    {
      sqlite_failed (self->writer, error);
      sqlite3_exec (self->writer, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return sqlite3_exec (self->writer, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ||
         sqlite_failed (self->writer, error);
}

static void
sqlite_free (RthunkStoreBackend *backend)
{
  SqliteBackend *self = (SqliteBackend *) backend;

  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    {
      sqlite3_finalize (self->readers[k].select);
      sqlite3_close (self->readers[k].db);
    }
  sqlite3_finalize (self->insert);
  sqlite3_finalize (self->purge);
  sqlite3_close (self->writer);
  g_free (self);
}

static const RthunkStoreBackendClass sqlite_class = {
  "sqlite", sqlite_get, sqlite_put_batch, sqlite_free
};

static gboolean
open_connection (const char  *path,
                 guint        timeout_ms,
                 sqlite3    **db,
                 GError     **error)
{
  if (sqlite3_open_v2 (path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    return sqlite_failed (*db, error);
  sqlite3_busy_timeout (*db, (int) MAX (timeout_ms, 1));
  return TRUE;
}

static gboolean
open_readers (SqliteBackend  *self,
              const char     *path,
              guint           timeout_ms,
              GError        **error)
{
  for (guint k = 0; k < RTHUNK_STORE_READERS; k++)
    {
      Reader *r = &self->readers[k];

      if (!open_connection (path, timeout_ms, &r->db, error))
        return FALSE;
      if (sqlite3_prepare_v2 (r->db, "SELECT value FROM entries WHERE kind = ?1 AND key = ?2 AND expires > ?3",
                              -1, &r->select, NULL) != SQLITE_OK)
        return sqlite_failed (r->db, error);
    }
  return TRUE;
}

/* The store in the SQLite file @path (made, with its folder, if need be);
 * a read waits at most @timeout_ms for a writer's lock. */
RthunkStoreBackend *
rthunk_store_sqlite_open (const char  *path,
                          guint        timeout_ms,
                          GError     **error)
{
  SqliteBackend *self = g_new0 (SqliteBackend, 1);
  g_autofree char *dir = g_path_get_dirname (path);

  self->parent.klass = &sqlite_class;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INTERNAL,
                   _("cannot make the folder %s: %s"), dir, g_strerror (errno));
      g_free (self);
      return NULL;
    }
  if (!open_connection (path, 5000, &self->writer, error) ||
      sqlite3_exec (self->writer, SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
      !open_readers (self, path, timeout_ms, error) ||
      sqlite3_prepare_v2 (self->writer, "INSERT OR REPLACE INTO entries VALUES (?1, ?2, ?3, ?4)",
                          -1, &self->insert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2 (self->writer, "DELETE FROM entries WHERE expires <= ?1",
                          -1, &self->purge, NULL) != SQLITE_OK)
    {
      if (error != NULL && *error == NULL)
        sqlite_failed (self->writer, error);
      g_prefix_error (error, "%s: ", path);
      sqlite_free (&self->parent);
      return NULL;
    }
  return &self->parent;
}
