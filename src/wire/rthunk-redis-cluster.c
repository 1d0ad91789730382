/* rthunk-redis-cluster.c — a Redis Cluster's slots: key slots, the slot map, redirects
 *
 * A cluster cuts the key space into 16384 slots, a key's slot being the
 * CRC16 (XMODEM) of the key modulo 16384 — of only the part between the
 * first `{` and the next `}` when that part is not empty (a hash tag),
 * so keys that must be on one node share a tag. CLUSTER SLOTS gives the
 * map, ranges of slots and their masters; a node that does not own a
 * key's slot answers `MOVED SLOT HOST:PORT` (the map changed) or
 * `ASK SLOT HOST:PORT` (the slot is moving: ask there once, after ASKING).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rthunk-redis-internal.h"

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as Redis's
 * cluster specification defines the key slot. */
static guint16
crc16 (const guint8 *data,
       gsize         len)
{
  guint16 crc = 0;

  for (gsize k = 0; k < len; k++)
    {
      crc ^= (guint16) (data[k] << 8);
      for (int bit = 0; bit < 8; bit++)
        crc = (crc & 0x8000) != 0 ? (guint16) ((crc << 1) ^ 0x1021) : (guint16) (crc << 1);
    }
  return crc;
}

/**
 * rthunk_redis_key_slot:
 * @key: (array length=len): a key
 * @len: its length
 *
 * Returns: the cluster slot of @key, honouring its {hash tag}
 */
guint
rthunk_redis_key_slot (const char *key,
                       gsize       len)
{
  const char *open = memchr (key, '{', len);
  const char *close = open != NULL ? memchr (open + 1, '}', len - (gsize) (open + 1 - key)) : NULL;

  if (close != NULL && close > open + 1)
    {
      key = open + 1;
      len = (gsize) (close - key);
    }
  return crc16 ((const guint8 *) key, len) % RTHUNK_REDIS_SLOTS;
}

/**
 * rthunk_redis_parse_host_port:
 * @text: `HOST:PORT`, the host maybe an IPv6 address (in brackets or not:
 *   the port follows the last colon)
 * @host: (out) (transfer full): the host, without brackets
 * @port: (out): the port
 *
 * Returns: whether @text is such an address
 */
gboolean
rthunk_redis_parse_host_port (const char  *text,
                              char       **host,
                              guint16     *port)
{
  const char *colon = strrchr (text, ':');
  char *end = NULL;
  long value;

  if (colon == NULL || colon == text)
    return FALSE;
  value = strtol (colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || value <= 0 || value > 65535)
    return FALSE;
  if (text[0] == '[' && colon[-1] == ']')
    *host = g_strndup (text + 1, (gsize) (colon - text - 2));
  else
    *host = g_strndup (text, (gsize) (colon - text));
  *port = (guint16) value;
  return TRUE;
}

/**
 * rthunk_redis_parse_redirect:
 * @reply: a reply
 * @redirect: (out caller-allocates): where it sends the command, when it does
 *
 * Returns: whether @reply is a `MOVED` or `ASK` error reply; then
 *   @redirect->host is the caller's to free
 */
gboolean
rthunk_redis_parse_redirect (const redisReply    *reply,
                             RthunkRedisRedirect *redirect)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) words = NULL;
  char *end = NULL;

  if (reply->type != REDIS_REPLY_ERROR)
    return FALSE;
  text = g_strndup (reply->str, reply->len);
  words = g_strsplit (text, " ", 4);
  if (g_strv_length (words) != 3 || (strcmp (words[0], "MOVED") != 0 && strcmp (words[0], "ASK") != 0))
    return FALSE;
  redirect->ask = words[0][0] == 'A';
  redirect->slot = (guint) strtoul (words[1], &end, 10);
  if (*end != '\0' || redirect->slot >= RTHUNK_REDIS_SLOTS)
    return FALSE;
  return rthunk_redis_parse_host_port (words[2], &redirect->host, &redirect->port);
}

void
rthunk_redis_slot_range_free (RthunkRedisSlotRange *range)
{
  g_free (range->host);
  g_free (range);
}

/* One entry of CLUSTER SLOTS: [first, last, [host, port, id…], replicas…] */
static RthunkRedisSlotRange *
parse_range (const redisReply *entry,
             const char       *asked_host)
{
  const redisReply *master;
  RthunkRedisSlotRange *range;

  if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 3 ||
      entry->element[0]->type != REDIS_REPLY_INTEGER || entry->element[1]->type != REDIS_REPLY_INTEGER)
    return NULL;
  master = entry->element[2];
  if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
      master->element[0]->type != REDIS_REPLY_STRING || master->element[1]->type != REDIS_REPLY_INTEGER ||
      entry->element[0]->integer < 0 || entry->element[1]->integer >= RTHUNK_REDIS_SLOTS ||
      entry->element[0]->integer > entry->element[1]->integer ||
      master->element[1]->integer <= 0 || master->element[1]->integer > 65535)
    return NULL;
  range = g_new0 (RthunkRedisSlotRange, 1);
  range->first = (guint) entry->element[0]->integer;
  range->last = (guint) entry->element[1]->integer;
  /* an empty or "?" host: the node asked (cluster-preferred-endpoint-type) */
  range->host = master->element[0]->len == 0 || strcmp (master->element[0]->str, "?") == 0
    ? g_strdup (asked_host) : g_strndup (master->element[0]->str, master->element[0]->len);
  range->port = (guint16) master->element[1]->integer;
  return range;
}

/**
 * rthunk_redis_parse_slots:
 * @reply: the reply to CLUSTER SLOTS
 * @asked_host: the host of the node that gave it
 * @ranges: (element-type RthunkRedisSlotRange): where to add its ranges
 *
 * Returns: whether @reply is a slot map; %FALSE for anything else (an
 *   error reply: a Redis that is not a cluster)
 */
gboolean
rthunk_redis_parse_slots (const redisReply *reply,
                          const char       *asked_host,
                          GPtrArray        *ranges)
{
  if (reply->type != REDIS_REPLY_ARRAY)
    return FALSE;
  for (size_t k = 0; k < reply->elements; k++)
    {
      RthunkRedisSlotRange *range = parse_range (reply->element[k], asked_host);

      if (range == NULL)
        return FALSE;
      g_ptr_array_add (ranges, range);
    }
  return TRUE;
}
