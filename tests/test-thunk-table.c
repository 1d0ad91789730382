/* test-thunk-table.c — the server's thunks by id, cut into shards
 *
 * What --max-thunks means (an exact bound below 2 × 1024; above, each
 * shard keeps its share and forgets its own oldest), that a lookup never
 * finds a thunk past --thunk-ttl-ms, that a waiter on thunks of several
 * shards is woken by any of them, that the budget evicts the oldest
 * values across the shards, and many threads adding and finishing at
 * once with every thunk still found by its id.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "rthunk-budget.h"
#include "rthunk-node.h"
#include "rthunk-thunk-table.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define LONG_TTL_MS (3600 * 1000)
#define WAIT_CAP_US (10 * G_USEC_PER_SEC)

/* A new PENDING thunk of @table (the caller's reference). */
static RthunkThunkEntry *
add (RthunkThunkTable *table)
{
  g_autoptr(RthunkNode) expr = rthunk_node_new_int (1);
  RthunkThunkEntry *entry = rthunk_thunk_table_add (table, expr, NULL, NULL, NULL, NULL);

  g_assert_nonnull (entry);
  return entry;
}

/* Runs @entry to DONE with the int @i. */
static void
finish_int (RthunkThunkTable *table,
            RthunkThunkEntry *entry,
            gint64            i)
{
  g_autoptr(RthunkValue) value = rthunk_value_new_int (i);

  g_assert_true (rthunk_thunk_table_start (table, entry));
  rthunk_thunk_table_finish (table, entry, value, NULL);
}

/* Whether @table still holds @entry, DONE with the int @i. */
static gboolean
holds (RthunkThunkTable *table,
       RthunkThunkEntry *entry,
       gint64            i)
{
  g_autoptr(RthunkThunkEntry) found = rthunk_thunk_table_lookup (table, entry->id, RTHUNK_THUNK_ID_LEN);
  g_autoptr(RthunkValue) value = NULL;

  if (found == NULL)
    return FALSE;
  g_assert_true (found == entry);
  g_assert_cmpint (rthunk_thunk_table_get_outcome (table, found, &value), ==, RTHUNK_THUNK_DONE);
  g_assert_cmpint (rthunk_value_get_int (value), ==, i);
  return TRUE;
}

/* @n thunks added and finished one after the other, the k-th with k. */
static GPtrArray *
finish_many (RthunkThunkTable *table,
             guint             n)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);

  for (guint k = 0; k < n; k++)
    {
      RthunkThunkEntry *entry = add (table);

      finish_int (table, entry, k);
      g_ptr_array_add (entries, entry);
    }
  return entries;
}

typedef struct
{
  guint max_thunks;
  guint n_shards;
} ShardCount;

/* A table is sharded only while each shard keeps at least 1024. */
static const ShardCount shard_counts[] = {
  { 1, 1 },
  { 2047, 1 },
  { 2048, 2 },
  { 4096, 4 },
  { 65535, 32 },
  { 65536, 64 },
  { 200000, 64 },               /* the default */
  { G_MAXUINT, 64 },
};

static void
test_shard_count (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (shard_counts); k++)
    {
      RthunkThunkTable *table = rthunk_thunk_table_new (shard_counts[k].max_thunks, LONG_TTL_MS);

      g_assert_cmpuint (rthunk_thunk_table_n_shards (table), ==, shard_counts[k].n_shards);
      rthunk_thunk_table_free (table);
    }
}

/* One shard: exactly the latest --max-thunks are kept. */
static void
test_small_bound_exact (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (5, LONG_TTL_MS);
  g_autoptr(GPtrArray) entries = finish_many (table, 20);

  g_assert_cmpuint (rthunk_thunk_table_count_finished (table), ==, 5);
  for (guint k = 0; k < entries->len; k++)
    g_assert_true (holds (table, g_ptr_array_index (entries, k), k) == (k >= 15));
  rthunk_thunk_table_free (table);
}

/* Sharded: at most --max-thunks in all, and each shard keeps its own
 * latest max/n (every shard is full here: 12000 thunks over 4 shards). */
static void
test_shares (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (4096, LONG_TTL_MS);
  g_autoptr(GPtrArray) entries = finish_many (table, 12000);
  guint later[4] = { 0, };

  g_assert_cmpuint (rthunk_thunk_table_n_shards (table), ==, 4);
  g_assert_cmpuint (rthunk_thunk_table_count_finished (table), ==, 4096);
  /* newest first: a thunk is kept while fewer than 1024 of its shard
   * finished after it */
  for (guint k = entries->len; k > 0; k--)
    {
      RthunkThunkEntry *entry = g_ptr_array_index (entries, k - 1);
      guint shard = rthunk_thunk_table_shard_index (table, entry->id);

      g_assert_cmpuint (shard, <, 4);
      g_assert_true (holds (table, entry, k - 1) == (later[shard] < 1024));
      later[shard]++;
    }
  rthunk_thunk_table_free (table);
}

/* Ids a client proposes, made alike where a hash of a part of the id
 * would look (bytes 0 to 3, 8 to 11 and the low bits of 12 all zero), go
 * to every shard all the same: the shard is a keyed hash of all of the id,
 * so a client cannot pile its thunks into one shard, whose share of
 * --max-thunks would then be all that is kept. */
static void
test_chosen_ids_spread (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (4096, LONG_TTL_MS);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  guint count[4] = { 0, };

  g_assert_cmpuint (rthunk_thunk_table_n_shards (table), ==, 4);
  for (guint32 k = 0; k < 4096; k++)
    {
      g_autoptr(RthunkNode) expr = rthunk_node_new_int (1);
      guint8 id[RTHUNK_THUNK_ID_LEN] = { 0, };
      RthunkThunkEntry *entry;

      memcpy (id + 4, &k, sizeof k);
      id[13] = (guint8) k;
      id[14] = (guint8) (k >> 8);
      entry = rthunk_thunk_table_add (table, expr, NULL, NULL, id, NULL);
      g_assert_nonnull (entry);
      finish_int (table, entry, k);
      count[rthunk_thunk_table_shard_index (table, id)]++;
      g_ptr_array_add (entries, entry);
    }
  /* 1024 each on average; a few dozen more or less by chance */
  for (guint s = 0; s < 4; s++)
    g_assert_cmpuint (count[s], <, 1400);
  g_assert_cmpuint (rthunk_thunk_table_count_finished (table), >, 3500);
  rthunk_thunk_table_free (table);
}

/* A thunk past its time to live is not found, though no thunk of its
 * shard finished since. */
static void
test_ttl_lookup (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (200000, 50);
  g_autoptr(GPtrArray) entries = finish_many (table, 1);
  RthunkThunkEntry *entry = g_ptr_array_index (entries, 0);
  gint64 cap = g_get_monotonic_time () + WAIT_CAP_US;

  g_assert_true (holds (table, entry, 0));
  while (holds (table, entry, 0))
    g_assert_cmpint (g_get_monotonic_time (), <, cap);
  g_assert_cmpuint (rthunk_thunk_table_count_finished (table), ==, 0);
  rthunk_thunk_table_free (table);
}

/* One id per shard of @table, the first thunk added there. */
static GPtrArray *
one_per_shard (RthunkThunkTable *table)
{
  guint n = rthunk_thunk_table_n_shards (table);
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  g_autofree gboolean *seen = g_new0 (gboolean, n);

  while (entries->len < n)
    {
      RthunkThunkEntry *entry = add (table);
      guint shard = rthunk_thunk_table_shard_index (table, entry->id);

      g_ptr_array_add (seen[shard] ? others : entries, entry);
      seen[shard] = TRUE;
    }
  for (guint k = 0; k < others->len; k++)
    finish_int (table, g_ptr_array_index (others, k), 0);
  return entries;
}

typedef struct
{
  RthunkThunkTable *table;
  RthunkThunkEntry *entry;
} Finisher;

/* Finishes its thunk once the waiter is registered on every shard. */
static gpointer
finisher_run (gpointer data)
{
  Finisher *f = data;
  gint64 cap = g_get_monotonic_time () + WAIT_CAP_US;

  while (rthunk_thunk_table_count_waiters (f->table) < rthunk_thunk_table_n_shards (f->table))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, cap);
      g_thread_yield ();
    }
  finish_int (f->table, f->entry, 7);
  return NULL;
}

/* A wait on one thunk of each of 64 shards is woken by the last shard's
 * thunk finishing, and leaves no registration behind. */
static void
test_wait_any_across_shards (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (200000, LONG_TTL_MS);
  g_autoptr(GPtrArray) entries = one_per_shard (table);
  Finisher f = { table, g_ptr_array_index (entries, entries->len - 1) };
  GThread *thread;
  guint n;

  g_assert_cmpuint (entries->len, ==, 64);
  thread = g_thread_new ("finisher", finisher_run, &f);
  n = rthunk_thunk_table_wait_any (table, (RthunkThunkEntry **) entries->pdata, entries->len,
                                   g_get_monotonic_time () + WAIT_CAP_US, NULL);
  g_thread_join (thread);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (rthunk_thunk_table_count_waiters (table), ==, 0);
  g_assert_cmpint (rthunk_thunk_table_get_state (table, f.entry), ==, RTHUNK_THUNK_DONE);
  /* and the deadline still ends a wait on unfinished ones */
  n = rthunk_thunk_table_wait_any (table, (RthunkThunkEntry **) entries->pdata, entries->len - 1,
                                   g_get_monotonic_time () + 1000, NULL);
  g_assert_cmpuint (n, ==, 0);
  g_assert_cmpuint (rthunk_thunk_table_count_waiters (table), ==, 0);
  for (guint k = 0; k + 1 < entries->len; k++)
    finish_int (table, g_ptr_array_index (entries, k), 0);
  g_assert_cmpuint (rthunk_thunk_table_count_unfinished (table), ==, 0);
  rthunk_thunk_table_free (table);
}

/* With values over the budget, the oldest values go first whatever their
 * shard: those evicted are the first ones finished. */
static void
test_budget_oldest_across_shards (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (200000, LONG_TTL_MS);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  g_autoptr(RthunkValue) probe = rthunk_value_new_int_list_take (g_new0 (gint64, 1000), 1000);
  gsize bytes = rthunk_value_measure (probe);
  RthunkBudget *budget = rthunk_budget_new (bytes * 100 + bytes / 2);
  gboolean expired = TRUE;

  rthunk_thunk_table_set_budget (table, budget);
  for (guint k = 0; k < 300; k++)
    {
      RthunkThunkEntry *entry = add (table);
      g_autoptr(RthunkValue) value = rthunk_value_new_int_list_take (g_new0 (gint64, 1000), 1000);

      g_assert_true (rthunk_thunk_table_start (table, entry));
      rthunk_thunk_table_finish (table, entry, value, NULL);
      g_ptr_array_add (entries, entry);
    }
  g_assert_cmpuint (rthunk_budget_get_used (budget), <=, bytes * 100 + bytes / 2);
  /* FAILED (expired) up to some thunk, DONE from there on */
  for (guint k = 0; k < entries->len; k++)
    {
      RthunkThunkState state = rthunk_thunk_table_get_state (table, g_ptr_array_index (entries, k));

      if (state == RTHUNK_THUNK_DONE)
        expired = FALSE;
      else
        {
          g_assert_true (expired);
          g_assert_cmpint (state, ==, RTHUNK_THUNK_FAILED);
        }
    }
  g_assert_true (rthunk_thunk_table_get_state (table, g_ptr_array_index (entries, 0)) == RTHUNK_THUNK_FAILED);
  g_assert_true (rthunk_thunk_table_get_state (table, g_ptr_array_index (entries, 299)) == RTHUNK_THUNK_DONE);
  g_clear_pointer (&entries, g_ptr_array_unref);
  rthunk_thunk_table_free (table);
  rthunk_budget_free (budget);
}

#define N_THREADS 16
#define N_PER_THREAD 5000

typedef struct
{
  RthunkThunkTable *table;
  guint index;
  GPtrArray *entries;
} Submitter;

/* Adds and finishes its thunks, each waited for as a submission with an
 * inline budget waits, while the other threads do the same. */
static gpointer
submitter_run (gpointer data)
{
  Submitter *s = data;

  s->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_thunk_entry_unref);
  for (guint k = 0; k < N_PER_THREAD; k++)
    {
      RthunkThunkEntry *entry = add (s->table);

      finish_int (s->table, entry, s->index * N_PER_THREAD + k);
      g_assert_cmpuint (rthunk_thunk_table_wait_any (s->table, &entry, 1, g_get_monotonic_time () + WAIT_CAP_US, NULL),
                        ==, 1);
      g_ptr_array_add (s->entries, entry);
    }
  return NULL;
}

/* 16 threads × 5000 at once: every thunk finished, found by its id, with
 * its own value; no id given twice. */
static void
test_concurrent (void)
{
  RthunkThunkTable *table = rthunk_thunk_table_new (200000, LONG_TTL_MS);
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  Submitter submitters[N_THREADS];
  GThread *threads[N_THREADS];

  for (guint t = 0; t < N_THREADS; t++)
    {
      submitters[t] = (Submitter) { table, t, NULL };
      threads[t] = g_thread_new ("submitter", submitter_run, &submitters[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  g_assert_cmpuint (rthunk_thunk_table_count_unfinished (table), ==, 0);
  g_assert_cmpuint (rthunk_thunk_table_count_finished (table), ==, N_THREADS * N_PER_THREAD);
  for (guint t = 0; t < N_THREADS; t++)
    {
      for (guint k = 0; k < N_PER_THREAD; k++)
        {
          RthunkThunkEntry *entry = g_ptr_array_index (submitters[t].entries, k);

          g_assert_true (holds (table, entry, t * N_PER_THREAD + k));
          g_assert_true (g_hash_table_add (ids, g_bytes_new_static (entry->id, RTHUNK_THUNK_ID_LEN)));
        }
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_ptr_array_unref (submitters[t].entries);
  rthunk_thunk_table_free (table);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/thunk-table/shards/count", test_shard_count);
  g_test_add_func ("/thunk-table/shards/small-bound-exact", test_small_bound_exact);
  g_test_add_func ("/thunk-table/shards/shares", test_shares);
  g_test_add_func ("/thunk-table/shards/chosen-ids-spread", test_chosen_ids_spread);
  g_test_add_func ("/thunk-table/ttl/lookup", test_ttl_lookup);
  g_test_add_func ("/thunk-table/wait-any/across-shards", test_wait_any_across_shards);
  g_test_add_func ("/thunk-table/budget/oldest-across-shards", test_budget_oldest_across_shards);
  g_test_add_func ("/thunk-table/concurrent", test_concurrent);

  return g_test_run ();
}
