/* test-redis.c — what a Redis link computes by itself: the cluster slot
 * of a key (the examples of Redis's cluster specification, hash tags
 * included), the MOVED and ASK replies read, and the URIs it accepts.
 * The link against real redis-servers (single, TLS, cluster) is
 * tests/test-store.sh and tests/test-store-fleet.sh.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "rthunk-error.h"
#include "rthunk-redis-internal.h"

typedef struct
{
  const char *key;
  const char *hashed;           /* the part the slot is the CRC16 of */
} TagCase;

static guint
slot_of (const char *key)
{
  return rthunk_redis_key_slot (key, strlen (key));
}

static void
test_slot_known (void)
{
  /* CRC16/XMODEM("123456789") = 0x31C3, the specification's check value */
  g_assert_cmpuint (slot_of ("123456789"), ==, 0x31C3 % RTHUNK_REDIS_SLOTS);
  g_assert_cmpuint (slot_of ("foo"), ==, 12182);   /* CLUSTER KEYSLOT foo */
  g_assert_cmpuint (slot_of ("bar"), ==, 5061);
  /* an empty tag is no tag: the whole key counts, not "bar" */
  g_assert_cmpuint (slot_of ("foo{}{bar}"), !=, slot_of ("bar"));
}

static void
test_slot_tag (gconstpointer data)
{
  const TagCase *tag = data;

  g_assert_cmpuint (slot_of (tag->key), ==, slot_of (tag->hashed));
}

static const TagCase tag_cases[] = {
  { "{user1000}.following", "user1000" },
  { "{user1000}.followers", "user1000" },
  { "foo{{bar}}zap", "{bar" },          /* from the first { to the next } */
  { "foo{bar}{zap}", "bar" },           /* the first tag only */
  { "{rthunk}:r:00ff", "rthunk" },
  { "no-brace}{", "no-brace}{" },
};

static void
test_redirect (void)
{
  redisReply moved = { .type = REDIS_REPLY_ERROR, .str = (char *) "MOVED 3999 127.0.0.1:6381", .len = 25 };
  redisReply ask = { .type = REDIS_REPLY_ERROR, .str = (char *) "ASK 12 [::1]:7000", .len = 17 };
  redisReply other = { .type = REDIS_REPLY_ERROR, .str = (char *) "ERR unknown command", .len = 19 };
  RthunkRedisRedirect to = { 0, };

  g_assert_true (rthunk_redis_parse_redirect (&moved, &to));
  g_assert_false (to.ask);
  g_assert_cmpuint (to.slot, ==, 3999);
  g_assert_cmpstr (to.host, ==, "127.0.0.1");
  g_assert_cmpuint (to.port, ==, 6381);
  g_clear_pointer (&to.host, g_free);
  g_assert_true (rthunk_redis_parse_redirect (&ask, &to));
  g_assert_true (to.ask);
  g_assert_cmpstr (to.host, ==, "::1");
  g_assert_cmpuint (to.port, ==, 7000);
  g_clear_pointer (&to.host, g_free);
  g_assert_false (rthunk_redis_parse_redirect (&other, &to));
}

static void
test_uri (void)
{
  const char *good[] = {
    "redis://127.0.0.1:6379", "redis://u:p@h:1/2", "redis://h:1,h:2,[::1]:3", "rediss://h:6380",
  };
  const char *bad[] = {
    "redis://h", "redis://h:0", "redis://h:1,", "redis://h:1/x", "http://h:1", "rediss://:1",
  };

  for (guint k = 0; k < G_N_ELEMENTS (good); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkRedis) redis = rthunk_redis_open (good[k], NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (redis);
    }
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkRedis) redis = rthunk_redis_open (bad[k], NULL, &error);

      g_assert_null (redis);
      g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
    }
}

static void
test_tls_options_need_rediss (void)
{
  RthunkRedisOptions options = { .tls_ca_file = "/nonexistent/ca.pem" };
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkRedis) redis = rthunk_redis_open ("redis://h:1", &options, &error);

  g_assert_null (redis);
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/redis/slot/known", test_slot_known);
  for (guint k = 0; k < G_N_ELEMENTS (tag_cases); k++)
    {
      g_autofree char *path = g_strdup_printf ("/redis/slot/tag/%u", k);

      g_test_add_data_func (path, &tag_cases[k], test_slot_tag);
    }
  g_test_add_func ("/redis/redirect", test_redirect);
  g_test_add_func ("/redis/uri", test_uri);
  g_test_add_func ("/redis/uri/tls-options-need-rediss", test_tls_options_need_rediss);
  return g_test_run ();
}
