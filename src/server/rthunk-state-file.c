/* rthunk-state-file.c — the state cells of a server, saved in a file
 *
 * The file is MAGIC, the SHA-256 of the body, then the body: the number
 * of cells, and each cell's name (a string), type (a TypeTerm struct) and
 * value (a Value struct) in the wire's binary codec. A file whose
 * checksum does not match is refused, never half read.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <string.h>

#include "rthunk-state-store.h"
#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-hash.h"

#define MAGIC "RTHKSTA1"
#define MAGIC_LEN 8
/* A cell's value may be as large as the wire allows. */
#define MAX_VALUE_BYTES ((gsize) G_MAXINT32)

void
rthunk_state_entry_clear (RthunkStateEntry *entry)
{
  g_clear_pointer (&entry->name, g_free);
  g_clear_pointer (&entry->type, rthunk_type_unref);
  g_clear_pointer (&entry->value, rthunk_value_unref);
}

static void
checksum (const guint8 *data,
          gsize         len,
          guint8        digest[RTHUNK_HASH_LEN])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize digest_len = RTHUNK_HASH_LEN;

  g_checksum_update (sum, data, len);
  g_checksum_get_digest (sum, digest, &digest_len);
}

gboolean
rthunk_state_file_save (const char  *path,
                        GArray      *entries,
                        GError     **error)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(GByteArray) file = g_byte_array_new ();
  guint8 digest[RTHUNK_HASH_LEN];

  rthunk_codec_put_i32 (body, (gint32) entries->len);
  for (guint k = 0; k < entries->len; k++)
    {
      RthunkStateEntry *entry = &g_array_index (entries, RthunkStateEntry, k);

      rthunk_codec_put_string (body, entry->name);
      rthunk_codec_put_type (body, entry->type);
      if (!rthunk_codec_put_value (body, entry->value, MAX_VALUE_BYTES, error))
        {
          g_prefix_error (error, _("state cell “%s”: "), entry->name);
          return FALSE;
        }
    }
  checksum (body->data, body->len, digest);
  g_byte_array_append (file, (const guint8 *) MAGIC, MAGIC_LEN);
  g_byte_array_append (file, digest, sizeof digest);
  g_byte_array_append (file, body->data, body->len);
  /* a temporary file renamed over the old one: never half written */
  return g_file_set_contents_full (path, (const char *) file->data, file->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* The cells of @body, @n of them. */
static gboolean
read_entries (RthunkCodecIn  *in,
              GArray         *entries,
              GError        **error)
{
  gint32 n;

  if (!rthunk_codec_get_i32 (in, &n) || n < 0)
    return FALSE;
  for (gint32 k = 0; k < n; k++)
    {
      RthunkStateEntry entry = { NULL, NULL, NULL };
      const guint8 *name;
      guint32 len;

      if (!rthunk_codec_get_binary (in, &name, &len) || memchr (name, '\0', len) != NULL)
        return FALSE;
      entry.name = g_strndup ((const char *) name, len);
      g_array_append_val (entries, entry);
      if ((g_array_index (entries, RthunkStateEntry, k).type = rthunk_codec_get_type (in, error)) == NULL ||
          (g_array_index (entries, RthunkStateEntry, k).value = rthunk_codec_get_value (in, error)) == NULL)
        return FALSE;
    }
  return in->pos == in->end;
}

GArray *
rthunk_state_file_load (const char  *path,
                        GError     **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (RthunkStateEntry));
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  guint8 digest[RTHUNK_HASH_LEN];
  RthunkCodecIn in;
  gsize len;

  g_array_set_clear_func (entries, (GDestroyNotify) rthunk_state_entry_clear);
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&entries);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (len < MAGIC_LEN + RTHUNK_HASH_LEN || memcmp (data, MAGIC, MAGIC_LEN) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("%s is not a state file of rthunkd"), path);
      return NULL;
    }
  checksum ((const guint8 *) data + MAGIC_LEN + RTHUNK_HASH_LEN, len - MAGIC_LEN - RTHUNK_HASH_LEN, digest);
  if (memcmp (digest, data + MAGIC_LEN, RTHUNK_HASH_LEN) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the state file %s is corrupt (its checksum does not match); "
                     "refusing to start with it: restore it or move it away"), path);
      return NULL;
    }
  rthunk_codec_in_init (&in, (const guint8 *) data + MAGIC_LEN + RTHUNK_HASH_LEN,
                        len - MAGIC_LEN - RTHUNK_HASH_LEN);
  if (!read_entries (&in, entries, &local_error))
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                   _("the state file %s cannot be read: %s"), path,
                   local_error != NULL ? local_error->message : _("it is truncated"));
      return NULL;
    }
  return g_steal_pointer (&entries);
}
