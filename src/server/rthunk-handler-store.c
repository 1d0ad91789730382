/* rthunk-handler-store.c — results and definitions in the store below memory
 *
 * The memory tiers (the result cache, the definition store) answer first;
 * on a miss the server's store (SQLite, Redis) is asked, and what it
 * gives is checked before it is believed: a result record carries its
 * key, its type and a digest of both with the value; a definition record
 * is its form and uses, hashed and type-checked again as if a client had
 * sent it. What fails is a miss, logged once: never a wrong answer.
 *
 *   result:     "RTR1" key[32] digest[32] binary(type key) Value
 *   definition: "RTD1" hash[32] i32(n) (binary(name) hash[32])×n Ast
 */
#include "config.h"

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-def-store.h"
#include "rthunk-handler-private.h"
#include "rthunk-hash.h"
#include "rthunk-lru.h"
#include "rthunk-result-cache.h"
#include "rthunk-store.h"
#include "rthunk-type-private.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

#define RESULT_MAGIC "RTR1"
#define DEFINITION_MAGIC "RTD1"
#define MAGIC_LEN 4
#define MAX_USE_DEPTH 64        /* definitions loaded for one lookup, nested */

/* ---- definitions -------------------------------------------------------- */

/* The record of @def, whose form is still the one it was hashed with. */
GBytes *
rthunk_handler_definition_record (RthunkDefinition *def)
{
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, (const guint8 *) DEFINITION_MAGIC, MAGIC_LEN);
  g_byte_array_append (out, def->hash, RTHUNK_HASH_LEN);
  rthunk_codec_put_i32 (out, (gint32) def->n_uses);
  for (guint k = 0; k < def->n_uses; k++)
    {
      rthunk_codec_put_string (out, def->uses[k].name);
      g_byte_array_append (out, def->uses[k].hash, RTHUNK_HASH_LEN);
    }
  rthunk_codec_put_ast (out, def->form, NULL);
  return g_byte_array_free_to_bytes (out);
}

static gboolean
read_hash (RthunkCodecIn *in,
           guint8         hash[RTHUNK_HASH_LEN])
{
  if (!rthunk_codec_need (in, RTHUNK_HASH_LEN))
    return FALSE;
  memcpy (hash, in->pos, RTHUNK_HASH_LEN);
  in->pos += RTHUNK_HASH_LEN;
  return TRUE;
}

static gboolean
read_magic (RthunkCodecIn *in,
            const char    *magic)
{
  if (!rthunk_codec_need (in, MAGIC_LEN) || memcmp (in->pos, magic, MAGIC_LEN) != 0)
    return FALSE;
  in->pos += MAGIC_LEN;
  return TRUE;
}

static gboolean
read_record_uses (RthunkCodecIn    *in,
                  RthunkDefinition *def)
{
  gint32 n;

  if (!rthunk_codec_get_i32 (in, &n) || n < 0 || n > 4096)
    return FALSE;
  def->uses = g_new0 (RthunkDefUse, MAX (n, 1));
  for (gint32 k = 0; k < n; k++)
    {
      const guint8 *name;
      guint32 len;

      if (!rthunk_codec_get_binary (in, &name, &len) || memchr (name, '\0', len) != NULL ||
          !read_hash (in, def->uses[k].hash))
        return FALSE;
      def->uses[k].name = g_strndup ((const char *) name, len);
      def->n_uses++;
    }
  return TRUE;
}

/* The definition a record holds, checked as one a client sent; NULL with
 * @error when it is not the definition with @hash. */
static RthunkDefinition *
read_definition_record (RthunkServerState  *state,
                        GBytes             *record,
                        const guint8       *hash,
                        GError            **error)
{
  g_autoptr(RthunkDefinition) def = rthunk_definition_new ();
  RthunkCodecIn in;
  guint8 claimed[RTHUNK_HASH_LEN];
  gsize len;
  const guint8 *data = g_bytes_get_data (record, &len);

  rthunk_codec_in_init (&in, data, len);
  if (!read_magic (&in, DEFINITION_MAGIC) || !read_hash (&in, claimed) ||
      memcmp (claimed, hash, RTHUNK_HASH_LEN) != 0 || !read_record_uses (&in, def))
    return g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                "not a definition record for its key"), NULL;
  if ((def->form = rthunk_codec_get_ast (&in, state->limits.max_ast_nodes, error)) == NULL || in.pos != in.end)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST, "a damaged form");
      return NULL;
    }
  if (!rthunk_handler_check_definition (state, def, hash, NULL, error))
    return NULL;
  return g_steal_pointer (&def);
}

/* How deeply loads nest on this thread: a definition's uses are loaded
 * while it is checked, and a damaged store could name a cycle. */
static _Thread_local guint load_depth;

/* Loads the definition with @hash from the store: its uses are loaded as
 * it is checked (rthunk_handler_find_definition()). */
static RthunkDefinition *
load_definition (RthunkServerState *state,
                 const guint8      *hash)
{
  g_autoptr(GBytes) record = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkDefinition) def = NULL;

  if (load_depth >= MAX_USE_DEPTH ||
      (record = rthunk_store_get (state->store, RTHUNK_STORE_DEFINITION, hash)) == NULL)
    return NULL;
  load_depth++;
  def = read_definition_record (state, record, hash, &error);
  load_depth--;
  if (def == NULL)
    {
      /* a use the store lacks is a miss; anything else is damage */
      if (!g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_MISSING_DEFINITIONS))
        rthunk_store_warn_corrupt (state->store, RTHUNK_STORE_DEFINITION, error->message);
      return NULL;
    }
  if (rthunk_def_store_insert (state->defs, def) == RTHUNK_LRU_REFUSED)
    return NULL;
  COUNT (state->counters.definitions_loaded);
  return g_steal_pointer (&def);
}

/* The definition with @hash (a new reference): from memory, or else from
 * the store (then kept in memory too); NULL if neither holds it. */
RthunkDefinition *
rthunk_handler_find_definition (RthunkServerState *state,
                                const guint8      *hash)
{
  RthunkDefinition *def = rthunk_lru_lookup (state->defs, hash);

  if (def != NULL || state->store == NULL)
    return def;
  return load_definition (state, hash);
}

/* Queues @def's @record for the store. */
void
rthunk_handler_store_definition (RthunkServerState *state,
                                 RthunkDefinition  *def,
                                 GBytes            *record)
{
  if (state->store != NULL && record != NULL)
    rthunk_store_put (state->store, RTHUNK_STORE_DEFINITION, def->hash, record);
}

/* ---- results ------------------------------------------------------------ */

/* The digest that binds a result's key, type and value bytes together. */
static void
result_digest (const guint8 *key,
               const GString *type_key,
               const guint8 *value,
               gsize         value_len,
               guint8        digest[RTHUNK_HASH_LEN])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize len = RTHUNK_HASH_LEN;

  g_checksum_update (sum, key, RTHUNK_HASH_LEN);
  g_checksum_update (sum, (const guchar *) type_key->str, type_key->len);
  g_checksum_update (sum, value, value_len);
  g_checksum_get_digest (sum, digest, &len);
}

static GString *
type_key_of (RthunkType *type)
{
  GString *key = g_string_new (NULL);

  rthunk_type_append_key (type, key);
  return key;
}

/* Queues @value, the result under @key of an expression of @type, for
 * the store. */
void
rthunk_handler_store_result (RthunkServerState *state,
                             const guint8      *key,
                             RthunkType        *type,
                             RthunkValue       *value)
{
  g_autoptr(GString) type_key = NULL;
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(GByteArray) out = NULL;
  guint8 digest[RTHUNK_HASH_LEN];

  if (state->store == NULL)
    return;
  bytes = g_byte_array_new ();
  if (!rthunk_codec_put_value (bytes, value, state->limits.max_frame_bytes, NULL))
    return;                     /* too big to answer with: not worth keeping */
  type_key = type_key_of (type);
  result_digest (key, type_key, bytes->data, bytes->len, digest);
  out = g_byte_array_sized_new (bytes->len + type_key->len + 80);
  g_byte_array_append (out, (const guint8 *) RESULT_MAGIC, MAGIC_LEN);
  g_byte_array_append (out, key, RTHUNK_HASH_LEN);
  g_byte_array_append (out, digest, RTHUNK_HASH_LEN);
  rthunk_codec_put_binary (out, type_key->str, type_key->len);
  g_byte_array_append (out, bytes->data, bytes->len);
  rthunk_store_put (state->store, RTHUNK_STORE_RESULT, key,
                    g_byte_array_free_to_bytes (g_steal_pointer (&out)));
}

/* The value a result record holds if it is the result under @key of an
 * expression of the type @type_key names; NULL with why in @why. */
static RthunkValue *
read_result_record (GBytes        *record,
                    const guint8  *key,
                    const GString *type_key,
                    const char   **why)
{
  RthunkCodecIn in;
  guint8 stored_key[RTHUNK_HASH_LEN], stored_digest[RTHUNK_HASH_LEN], digest[RTHUNK_HASH_LEN];
  const guint8 *stored_type;
  guint32 type_len;
  gsize len;
  const guint8 *data = g_bytes_get_data (record, &len);
  RthunkValue *value;

  rthunk_codec_in_init (&in, data, len);
  if (!read_magic (&in, RESULT_MAGIC) || !read_hash (&in, stored_key) || !read_hash (&in, stored_digest) ||
      !rthunk_codec_get_binary (&in, &stored_type, &type_len))
    return *why = "not a result record", NULL;
  if (memcmp (stored_key, key, RTHUNK_HASH_LEN) != 0)
    return *why = "a result stored under another key", NULL;
  if (type_len != type_key->len || memcmp (stored_type, type_key->str, type_len) != 0)
    return *why = "a result of another type", NULL;
  result_digest (key, type_key, in.pos, in.end - in.pos, digest);
  if (memcmp (digest, stored_digest, RTHUNK_HASH_LEN) != 0)
    return *why = "a result whose bytes do not match their digest", NULL;
  if ((value = rthunk_codec_get_value (&in, NULL)) == NULL || in.pos != in.end)
    {
      g_clear_pointer (&value, rthunk_value_unref);
      return *why = "a result that does not decode", NULL;
    }
  return value;
}

/* The result under @key of an expression of @type, from the store (then
 * kept in the result cache too), or NULL: absent, late or damaged. */
RthunkValue *
rthunk_handler_load_result (RthunkServerState *state,
                            const guint8      *key,
                            RthunkType        *type)
{
  g_autoptr(GBytes) record = NULL;
  g_autoptr(GString) type_key = NULL;
  const char *why = NULL;
  RthunkValue *value;

  if (state->store == NULL || (record = rthunk_store_get (state->store, RTHUNK_STORE_RESULT, key)) == NULL)
    return NULL;
  type_key = type_key_of (type);
  if ((value = read_result_record (record, key, type_key, &why)) == NULL)
    {
      rthunk_store_warn_corrupt (state->store, RTHUNK_STORE_RESULT, why);
      return NULL;
    }
  rthunk_result_cache_insert (state->cache, key, value);
  return value;
}
