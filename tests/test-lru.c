/* test-lru.c — the bounded store by hash that the definition store and
 * the result cache share */
#include "config.h"

#include <string.h>

#include <glib.h>

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

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lru/count", test_count);
  g_test_add_func ("/lru/bytes", test_bytes);
  return g_test_run ();
}
