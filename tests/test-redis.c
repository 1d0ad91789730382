/* test-redis.c — what a Redis link computes by itself: the cluster slot
 * of a key (the examples of Redis's cluster specification, hash tags
 * included), the MOVED and ASK replies read, and the URIs it accepts;
 * and, on a real redis-server ($REDIS_SERVER) on a free loopback port,
 * a message published on a channel that another link subscribed to. The
 * store on real redis-servers (single, TLS, cluster) is
 * tests/test-store.sh and tests/test-store-fleet.sh.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>

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

/* A port nothing listens on now. */
static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Runs @argv (NULL-terminated) on @redis; its reply. */
static redisReply *
run (RthunkRedis  *redis,
     const char  **argv,
     GError      **error)
{
  RthunkRedisCommand command = { (int) g_strv_length ((char **) argv), argv, NULL };

  return rthunk_redis_command (redis, &command, error);
}

/* Cancels @data (a GCancellable) a little later, from another thread:
 * the wait is cancelled while it waits, or is cancelled already when it
 * starts; either way it must end then. */
static gpointer
cancel_soon (gpointer data)
{
  g_usleep (50 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_live_subscribe (void)
{
  const char *server = g_getenv ("REDIS_SERVER");
  g_autofree char *port = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) redis_server = NULL;
  g_autoptr(RthunkRedis) listener = NULL;
  g_autoptr(RthunkRedis) speaker = NULL;
  g_autoptr(GError) error = NULL;
  const char *ping[] = { "PING", NULL };
  const char *subscribe[] = { "SUBSCRIBE", "rthunk-test", NULL };
  const char *publish[] = { "PUBLISH", "rthunk-test", "hello", NULL };
  redisReply *reply = NULL;
  g_autoptr(GCancellable) stop = NULL;
  GThread *canceller;
  gint64 started;

  if (server == NULL || *server == '\0')
    {
      g_test_skip ("no redis-server");
      return;
    }
  port = g_strdup_printf ("%u", free_port ());
  uri = g_strdup_printf ("redis://127.0.0.1:%s", port);
  redis_server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, server, "--port", port,
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", NULL);
  g_assert_no_error (error);
  listener = rthunk_redis_open (uri, NULL, NULL);
  speaker = rthunk_redis_open (uri, NULL, NULL);
  /* until the server answers (the link's backoff paces the tries) */
  for (guint k = 0; k < 200 && (reply = run (speaker, ping, NULL)) == NULL; k++)
    g_usleep (50 * 1000);
  g_assert_nonnull (reply);
  freeReplyObject (reply);

  reply = run (listener, subscribe, &error);
  g_assert_no_error (error);
  freeReplyObject (reply);
  /* nothing published: none comes, and that is no error */
  started = g_get_monotonic_time ();
  g_assert_null (rthunk_redis_wait_message (listener, 100, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 90 * 1000);

  /* a long wait that another thread cancels ends then, and is no error */
  stop = g_cancellable_new ();
  canceller = g_thread_new ("canceller", cancel_soon, stop);
  started = g_get_monotonic_time ();
  g_assert_null (rthunk_redis_wait_message (listener, 60000, stop, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 30 * G_USEC_PER_SEC);
  g_thread_join (canceller);

  reply = run (speaker, publish, &error);
  g_assert_no_error (error);
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_INTEGER);
  g_assert_cmpint (reply->integer, ==, 1);
  freeReplyObject (reply);
  reply = rthunk_redis_wait_message (listener, 5000, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->type, ==, REDIS_REPLY_ARRAY);
  g_assert_cmpuint (reply->elements, ==, 3);
  g_assert_cmpstr (reply->element[0]->str, ==, "message");
  g_assert_cmpstr (reply->element[2]->str, ==, "hello");
  freeReplyObject (reply);

  /* the server gone: an error, not a wait */
  g_subprocess_send_signal (redis_server, SIGKILL);
  g_subprocess_wait (redis_server, NULL, NULL);
  g_assert_null (rthunk_redis_wait_message (listener, 5000, NULL, &error));
  g_assert_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION);
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
  g_test_add_func ("/redis/live/subscribe", test_live_subscribe);
  return g_test_run ();
}
