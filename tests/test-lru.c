/* test-lru.c — the bounded store by hash that the definition store and
 * the result cache share */
#include "config.h"

#include <string.h>

#include <glib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "rthunk-budget.h"
#include "rthunk-lru.h"

/* An item that counts its references, so a test sees what the store holds. */
typedef struct
{
  gint refs;
} Item;

static gpointer
item_ref (gpointer item)
{
  ((Item *) item)->refs++;
  return item;
}

static void
item_unref (gpointer item)
{
  ((Item *) item)->refs--;
}

static void
key_of (guint8 key[RTHUNK_HASH_LEN],
        guint  n)
{
  memset (key, 0, RTHUNK_HASH_LEN);
  memcpy (key, &n, sizeof n);
  key[RTHUNK_HASH_LEN - 1] = 0xa5;
}

static gboolean
has (RthunkLru *lru,
     guint      n)
{
  guint8 key[RTHUNK_HASH_LEN];
  Item *item;

  key_of (key, n);
  item = rthunk_lru_lookup (lru, key);
  if (item != NULL)
    item_unref (item);
  return item != NULL;
}

static void
insert (RthunkLru *lru,
        Item      *item,
        guint      n,
        gsize      bytes)
{
  guint8 key[RTHUNK_HASH_LEN];

  key_of (key, n);
  g_assert_cmpint (rthunk_lru_insert (lru, key, item, bytes), ==, RTHUNK_LRU_ADDED);
}

/* The count bound drops the least recently used: a lookup refreshes. */
static void
test_count (void)
{
  Item items[4] = { { 0 } };
  RthunkLru *lru = rthunk_lru_new (3, G_MAXSIZE, 0, item_ref, item_unref);
  guint8 key[RTHUNK_HASH_LEN];

  for (guint k = 0; k < 3; k++)
    insert (lru, &items[k], k, 10);
  g_assert_true (has (lru, 0));          /* 0 is now the most recent */
  insert (lru, &items[3], 3, 10);        /* 1 goes */
  g_assert_cmpuint (rthunk_lru_size (lru), ==, 3);
  g_assert_false (has (lru, 1));
  g_assert_true (has (lru, 0));
  g_assert_cmpint (items[1].refs, ==, 0);
  g_assert_cmpint (items[0].refs, ==, 1);
  key_of (key, 0);
  g_assert_cmpint (rthunk_lru_insert (lru, key, &items[0], 10), ==, RTHUNK_LRU_PRESENT);   /* already there */
  g_assert_cmpint (items[0].refs, ==, 1);
  rthunk_lru_free (lru);
  for (guint k = 0; k < 4; k++)
    g_assert_cmpint (items[k].refs, ==, 0);
}

/* The byte bound counts what each item costs; @min_kept entries stay. */
static void
test_bytes (void)
{
  Item items[3] = { { 0 } };
  RthunkLru *lru = rthunk_lru_new (100, 5000, 0, item_ref, item_unref);
  RthunkLru *keeps = rthunk_lru_new (100, 4096, 1, item_ref, item_unref);

  insert (lru, &items[0], 0, 2000);
  insert (lru, &items[1], 1, 2000);
  insert (lru, &items[2], 2, 2000);      /* over 5000 with the entries: 0 goes */
  g_assert_false (has (lru, 0));
  g_assert_true (has (lru, 1));
  g_assert_true (has (lru, 2));
  rthunk_lru_free (lru);

  insert (keeps, &items[0], 0, 10);
  insert (keeps, &items[1], 1, 10000);   /* alone over the bound, yet kept */
  g_assert_false (has (keeps, 0));
  g_assert_true (has (keeps, 1));
  g_assert_cmpuint (rthunk_lru_size (keeps), ==, 1);
  rthunk_lru_free (keeps);
  for (guint k = 0; k < 3; k++)
    g_assert_cmpint (items[k].refs, ==, 0);
}

/* An item that could never stay is refused, and what the store holds
 * stays: one alone over the byte bound where none need be kept, and
 * anything in a store of no entries. */
static void
test_refuses_what_cannot_stay (void)
{
  Item items[2] = { { 0 } };
  RthunkLru *lru = rthunk_lru_new (100, 5000, 0, item_ref, item_unref);
  RthunkLru *none = rthunk_lru_new (0, 5000, 0, item_ref, item_unref);
  guint8 key[RTHUNK_HASH_LEN];

  insert (lru, &items[0], 0, 2000);
  key_of (key, 1);
  g_assert_cmpint (rthunk_lru_insert (lru, key, &items[1], 6000), ==, RTHUNK_LRU_REFUSED);
  g_assert_true (has (lru, 0));
  g_assert_false (has (lru, 1));
  g_assert_cmpuint (rthunk_lru_size (lru), ==, 1);
  /* under the bound by itself, over it with its entry's own bytes */
  g_assert_cmpint (rthunk_lru_insert (lru, key, &items[1], 5000 - RTHUNK_LRU_ENTRY_BYTES / 2), ==, RTHUNK_LRU_REFUSED);
  g_assert_true (has (lru, 0));
  g_assert_cmpuint (rthunk_lru_size (lru), ==, 1);
  rthunk_lru_free (lru);

  g_assert_cmpint (rthunk_lru_insert (none, key, &items[1], 10), ==, RTHUNK_LRU_REFUSED);
  g_assert_cmpuint (rthunk_lru_size (none), ==, 0);
  rthunk_lru_free (none);
  for (guint k = 0; k < 2; k++)
    g_assert_cmpint (items[k].refs, ==, 0);
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
/* Bytes malloc has handed out, headers included. */
static gsize
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

/* What the store charged its budget, against what the heap grew by. */
static void
assert_charge_covers (RthunkBudget *budget,
                      gsize         heap_before,
                      guint         count)
{
  gsize now = heap_in_use ();
  gsize grown = now > heap_before ? now - heap_before : 0;

  g_test_message ("%u entries: %" G_GSIZE_FORMAT " bytes of heap, %" G_GUINT64_FORMAT " charged",
                  count, grown, rthunk_budget_get_used (budget));
  g_assert_cmpuint (rthunk_budget_get_used (budget), >=, grown);
}
#endif

#define BUDGET_LIMIT (64u << 20)

/* The budget is charged at least what an entry really takes in memory,
 * its allocation and its share of the index, as malloc counts them
 * (the items themselves cost nothing here: one static item). Checked as
 * the store fills, and after the budget evicted most of it. */
static void
test_charge_covers_memory (void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  Item item = { 0 };
  RthunkBudget *budget = rthunk_budget_new (BUDGET_LIMIT);
  gsize before = heap_in_use ();
  RthunkLru *lru = rthunk_lru_new (G_MAXUINT, G_MAXSIZE, 0, item_ref, item_unref);
  guint64 wanted;
  guint n = 0;
  char *probe = g_malloc0 (1 << 16);
  gboolean counted = heap_in_use () != before;

  g_free (probe);
  /* under the sanitizers or valgrind malloc is replaced and mallinfo2()
   * counts nothing: there is nothing to compare, say so */
  if (!counted)
    {
      rthunk_lru_free (lru);
      rthunk_budget_free (budget);
      g_test_skip ("malloc is replaced (sanitizers, valgrind): mallinfo2() counts nothing");
      return;
    }
  rthunk_lru_set_budget (lru, budget);
  for (guint target = 10; target <= 100000; target *= 10)
    {
      for (; n < target; n++)
        insert (lru, &item, n, 0);
      assert_charge_covers (budget, before, n);
    }
  /* a charge that fits only once nine tenths of the entries went: the
   * index shrinks with them */
  wanted = BUDGET_LIMIT - rthunk_budget_get_used (budget) / 10;
  g_assert_true (rthunk_budget_charge (budget, wanted));
  rthunk_budget_release (budget, wanted);
  g_assert_cmpuint (rthunk_lru_size (lru), <=, n / 10 + 1);
  assert_charge_covers (budget, before, rthunk_lru_size (lru));
  rthunk_lru_free (lru);
  g_assert_cmpuint (rthunk_budget_get_used (budget), ==, 0);
  g_assert_cmpint (item.refs, ==, 0);
  rthunk_budget_free (budget);
#else
  g_test_skip ("malloc's own count (mallinfo2) is glibc's");
#endif
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lru/count", test_count);
  g_test_add_func ("/lru/bytes", test_bytes);
  g_test_add_func ("/lru/refuses-what-cannot-stay", test_refuses_what_cannot_stay);
  g_test_add_func ("/lru/charge-covers-memory", test_charge_covers_memory);
  return g_test_run ();
}
