/* rthunk-data-dir.c — the files of a data directory, read where they lie
 *
 * The directory is opened once, at start. A path is taken apart at its
 * slashes and opened one component at a time, each relative to the
 * descriptor of the one before, with O_NOFOLLOW: there is no check and
 * then an open, so a symbolic link put in place meanwhile is refused like
 * any other (ELOOP), and `..` never reaches the system because it is
 * refused in the text first. Only regular files are read and only
 * directories listed (a FIFO is opened without blocking, then refused).
 *
 * A file's size is charged to the evaluation (and through it the server's
 * memory budget, --max-memory) before a byte is allocated; it is read in
 * chunks, checking the thunk's deadline and cancellation between them.
 * Its text must be UTF-8 without NUL bytes, as every string value is.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rthunk-data-dir.h"
#include "rthunk-core-private.h"
#include "rthunk-csv.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-lang-private.h"
#include "rthunk-value.h"

#define ARGS RTHUNK_NATIVE_ARGS

/* what one string or list costs beyond its bytes or pointers */
#define VALUE_OVERHEAD 32
/* bytes read between two checks of the thunk's deadline */
#define READ_CHUNK (1024 * 1024)
/* directory entries listed between two checks */
#define LIST_CHECK_EVERY 1024

struct _RthunkDataDir
{
  int fd;
  char *path;
};

RthunkDataDir *
rthunk_data_dir_open (const char  *path,
                      GError     **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  RthunkDataDir *dir;

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "--data-dir %s: %s",
                   path, g_strerror (saved));
      return NULL;
    }
  dir = g_atomic_rc_box_new0 (RthunkDataDir);
  dir->fd = fd;
  dir->path = g_strdup (path);
  return dir;
}

static void
data_dir_clear (RthunkDataDir *dir)
{
  close (dir->fd);
  g_free (dir->path);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkDataDir, rthunk_data_dir, data_dir_clear)

/* ---- a path, opened beneath the directory --------------------------------- */

static gboolean path_refused (GError     **error,
                              const char  *func,
                              const char  *format,
                              ...) G_GNUC_PRINTF (3, 4);

/* Sets @error to "FUNC: MESSAGE"; always FALSE. */
static gboolean
path_refused (GError     **error,
              const char  *func,
              const char  *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, "%s: %s", func, message);
  return FALSE;
}

/* Refuses, in the text, what would leave the directory. */
static gboolean
check_path (const char  *func,
            const char  *path,
            char      ***parts,
            GError     **error)
{
  if (path[0] == '/')
    return path_refused (error, func, _("“%s” is an absolute path; paths are relative to the data directory"),
                         path);
  *parts = g_strsplit (path, "/", -1);
  for (guint k = 0; (*parts)[k] != NULL; k++)
    if (strcmp ((*parts)[k], "..") == 0)
      {
        g_clear_pointer (parts, g_strfreev);
        return path_refused (error, func, _("“%s” goes up with “..”; paths stay inside the data directory"),
                             path);
      }
  return TRUE;
}

/* Why opening @walked (the path up to the component that failed) failed. */
static int
open_failed (const char  *func,
             const char  *walked,
             int          saved,
             GError     **error)
{
  if (saved == ELOOP)
    path_refused (error, func, _("“%s” is a symbolic link; links are not followed in the data directory"),
                  walked);
  else if (saved == ENOENT)
    path_refused (error, func, _("there is no “%s” in the data directory"), walked);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, "%s: “%s”: %s", func, walked,
                 g_strerror (saved));
  return -1;
}

/* The index of the last component of @parts that names something, or -1. */
static int
last_part (char **parts)
{
  int last = -1;

  for (int k = 0; parts[k] != NULL; k++)
    if (parts[k][0] != '\0' && strcmp (parts[k], ".") != 0)
      last = k;
  return last;
}

/* Whether @fd is what is wanted: a directory or a regular file. */
static gboolean
check_kind (int          fd,
            const char  *func,
            const char  *path,
            gboolean     want_dir,
            GError     **error)
{
  struct stat st;

  if (fstat (fd, &st) != 0)
    return open_failed (func, path, errno, error), FALSE;
  if (want_dir && !S_ISDIR (st.st_mode))
    return path_refused (error, func, _("“%s” is not a directory"), path);
  if (!want_dir && !S_ISREG (st.st_mode))
    return path_refused (error, func, _("“%s” is not a regular file"), path);
  return TRUE;
}

/* A descriptor of @path beneath @dir, or -1 with @error set. */
static int
open_beneath (RthunkDataDir  *dir,
              const char     *func,
              const char     *path,
              gboolean        want_dir,
              GError        **error)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) walked = g_string_new (NULL);
  int fd, last;

  if (!check_path (func, path, &parts, error))
    return -1;
  if ((fd = openat (dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return open_failed (func, ".", errno, error);
  last = last_part (parts);
  for (int k = 0; k <= last; k++)
    {
      int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
      int next;

      if (parts[k][0] == '\0' || strcmp (parts[k], ".") == 0)
        continue;
      g_string_append_printf (walked, "%s%s", walked->len > 0 ? "/" : "", parts[k]);
      flags |= k == last && !want_dir ? O_NONBLOCK : O_DIRECTORY;
      next = openat (fd, parts[k], flags);
      if (next < 0)
        {
          int saved = errno;
          struct stat st;

          /* O_DIRECTORY | O_NOFOLLOW says ENOTDIR of a link: say why */
          if (saved == ENOTDIR && fstatat (fd, parts[k], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
            saved = ELOOP;
          close (fd);
          return open_failed (func, walked->str, saved, error);
        }
      close (fd);
      fd = next;
    }
  if (!check_kind (fd, func, path, want_dir, error))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* ---- reading ---------------------------------------------------------------- */

/* The bytes of the regular file @fd, charged first. */
static char *
read_charged (RthunkCallContext  *context,
              const char         *func,
              const char         *path,
              int                 fd,
              gsize              *length,
              GError            **error)
{
  g_autoptr(GError) refused = NULL;
  g_autofree char *bytes = NULL;
  struct stat st;
  guint64 size, got = 0;
  char extra;

  if (fstat (fd, &st) != 0)
    return open_failed (func, path, errno, error), NULL;
  size = (guint64) st.st_size;
  if (!rthunk_call_context_charge (context, size + VALUE_OVERHEAD + 1, &refused))
    {
      /* after the position the evaluator put in front: "…: error: " */
      const char *why = strstr (refused->message, ": error: ");
      g_autofree char *what = g_strdup_printf (_("%s: “%s” is %" PRIu64 " bytes"), func, path, size);

      why = why != NULL ? why + strlen (": error: ") : refused->message;
      g_set_error (error, refused->domain, refused->code, "%.*s%s: %s",
                   (int) (why - refused->message), refused->message, what, why);
      return NULL;
    }
  bytes = g_malloc (size + 1);
  while (got < size)
    {
      ssize_t n = read (fd, bytes + got, MIN (size - got, READ_CHUNK));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return open_failed (func, path, errno, error), NULL;
      if (n == 0)
        break;                  /* it shrank: what there is */
      got += (guint64) n;
      if (!rthunk_call_context_check (context, error))
        return NULL;
    }
  if (got == size && read (fd, &extra, 1) > 0)
    {
      path_refused (error, func, _("“%s” grew while it was read"), path);
      return NULL;
    }
  bytes[got] = '\0';
  *length = got;
  return g_steal_pointer (&bytes);
}

/* Whether the @length bytes of @text are UTF-8 without NUL; those of a
 * file's first bytes (@cut: the file goes on) may end inside a character,
 * which *@length then leaves out. */
static gboolean
check_text (const char  *func,
            const char  *path,
            const char  *text,
            gsize       *length,
            gboolean     cut,
            GError     **error)
{
  const char *bad = memchr (text, '\0', *length);
  const char *end = NULL;

  if (bad == NULL && g_utf8_validate_len (text, *length, &end))
    return TRUE;
  if (bad == NULL && cut && text + *length - end < 4 &&
      g_utf8_get_char_validated (end, text + *length - end) == (gunichar) -2)
    {
      *length = end - text;     /* a character the cut broke */
      return TRUE;
    }
  if (bad == NULL)
    bad = end;
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED,
               *bad == '\0' ? _("%s: “%s” holds a NUL byte at byte %" PRIu64 ": not text")
                            : _("%s: “%s” is not UTF-8 text (byte %" PRIu64 ")"),
               func, path, (guint64) (bad - text));
  return FALSE;
}

/* The text of the file at @path, UTF-8 without NUL, charged. */
static char *
read_text (RthunkDataDir      *dir,
           RthunkCallContext  *context,
           const char         *func,
           const char         *path,
           gsize              *length,
           GError            **error)
{
  int fd = open_beneath (dir, func, path, FALSE, error);
  g_autofree char *text = NULL;

  if (fd < 0)
    return NULL;
  text = read_charged (context, func, path, fd, length, error);
  close (fd);
  if (text == NULL || !check_text (func, path, text, length, FALSE, error))
    return NULL;
  return g_steal_pointer (&text);
}

/* The first bytes of the file at @path, RTHUNK_CSV_SAMPLE_BYTES at most
 * and whole characters, outside any evaluation (so not charged: they are
 * few); *@cut when the file goes on past them. */
static char *
read_sample (RthunkDataDir  *dir,
             const char     *path,
             gsize          *length,
             gboolean       *cut,
             GError        **error)
{
  int fd = open_beneath (dir, "csv-read", path, FALSE, error);
  g_autofree char *bytes = NULL;
  gsize got = 0;

  if (fd < 0)
    return NULL;
  bytes = g_malloc (RTHUNK_CSV_SAMPLE_BYTES + 2);
  while (got <= RTHUNK_CSV_SAMPLE_BYTES)
    {
      ssize_t n = read (fd, bytes + got, RTHUNK_CSV_SAMPLE_BYTES + 1 - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize) n;
    }
  close (fd);
  *cut = got > RTHUNK_CSV_SAMPLE_BYTES;
  *length = MIN (got, RTHUNK_CSV_SAMPLE_BYTES);
  if (!check_text ("csv-read", path, bytes, length, *cut, error))
    return NULL;
  bytes[*length] = '\0';
  return g_steal_pointer (&bytes);
}

/* The sample csv-read's types come from: the records of the first bytes
 * of @text (the whole file, @length bytes), as read_sample() takes them. */
static RthunkValue *
text_sample (const char  *what,
             const char  *text,
             gsize        length,
             GError     **error)
{
  gboolean cut = length > RTHUNK_CSV_SAMPLE_BYTES;
  gsize n = MIN (length, RTHUNK_CSV_SAMPLE_BYTES);

  if (!check_text ("csv-read", what, text, &n, cut, error))
    return NULL;
  return rthunk_csv_parse_sample (what, text, n, cut, error);
}

static RthunkValue *
files_read_text (ARGS)
{
  gsize length;
  char *text = read_text (user_data, context, "read-text", rthunk_value_get_str (args[0]), &length, error);

  return text != NULL ? rthunk_value_new_str_take (text) : NULL;
}

/* csv-read-text (@records FALSE: the rows, lists of strings) and
 * csv-read (@records TRUE: the rows as records, typed as
 * provide_csv_read() said) of the file at @path, named @func. */
static RthunkValue *
csv_read (RthunkDataDir      *dir,
          RthunkCallContext  *context,
          const char         *func,
          const char         *path,
          gboolean            records,
          GError            **error)
{
  gsize length;
  g_autofree char *text = read_text (dir, context, func, path, &length, error);
  g_autofree char *what = NULL;
  g_autoptr(RthunkValue) rows = NULL;
  g_autoptr(RthunkValue) sample = NULL;

  if (text == NULL)
    return NULL;
  what = g_strdup_printf ("%s: %s", func, path);
  if ((rows = rthunk_csv_parse (context, what, text, length, error)) == NULL || !records)
    return g_steal_pointer (&rows);
  if ((sample = text_sample (what, text, length, error)) == NULL)
    return NULL;
  return rthunk_csv_records (context, what, rows, sample, error);
}

static RthunkValue *
files_csv_read_text (ARGS)
{
  return csv_read (user_data, context, "csv-read-text", rthunk_value_get_str (args[0]), FALSE, error);
}

static RthunkValue *
files_csv_read (ARGS)
{
  return csv_read (user_data, context, "csv-read", rthunk_value_get_str (args[0]), TRUE, error);
}

/* csv-read's type for the file at @path, from its header and first rows:
 * what the client asks with provideType, and the server's checker. */
static RthunkType *
provide_csv_read (const char  *path,
                  gpointer     user_data,
                  GError     **error)
{
  g_autofree char *what = g_strdup_printf ("csv-read: %s", path);
  g_autofree char *text = NULL;
  g_autoptr(RthunkValue) sample = NULL;
  gsize length;
  gboolean cut;

  if ((text = read_sample (user_data, path, &length, &cut, error)) == NULL ||
      (sample = rthunk_csv_parse_sample (what, text, length, cut, error)) == NULL)
    return NULL;
  return rthunk_csv_type (what, sample, error);
}

/* ---- listing ---------------------------------------------------------------- */

/* The entry @name of the directory @fd as list-files gives it: a
 * directory's with a slash after it; NULL for a name that is not UTF-8. */
static char *
entry_name (int         fd,
            const char *name)
{
  struct stat st;

  if (!g_utf8_validate (name, -1, NULL))
    return NULL;
  if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
    return g_strconcat (name, "/", NULL);
  return g_strdup (name);
}

static gboolean
read_entries (RthunkCallContext  *context,
              DIR                *listing,
              GPtrArray          *names,
              GError            **error)
{
  struct dirent *entry;

  while ((entry = readdir (listing)) != NULL)
    {
      char *name;

      if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0 ||
          (name = entry_name (dirfd (listing), entry->d_name)) == NULL)
        continue;
      g_ptr_array_add (names, name);
      if (!rthunk_call_context_charge (context, strlen (name) + 1 + sizeof (gpointer) + VALUE_OVERHEAD, error) ||
          (names->len % LIST_CHECK_EVERY == 0 && !rthunk_call_context_check (context, error)))
        return FALSE;
    }
  return TRUE;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static RthunkValue *
files_list (ARGS)
{
  int fd = open_beneath (user_data, "list-files", rthunk_value_get_str (args[0]), TRUE, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  RthunkValue **items;
  DIR *listing;
  gboolean ok;

  if (fd < 0)
    return NULL;
  if ((listing = fdopendir (fd)) == NULL)
    {
      close (fd);
      return open_failed ("list-files", rthunk_value_get_str (args[0]), errno, error), NULL;
    }
  ok = read_entries (context, listing, names, error);
  closedir (listing);
  if (!ok)
    return NULL;
  g_ptr_array_sort (names, compare_names);
  items = g_new (RthunkValue *, MAX (names->len, 1));
  for (guint k = 0; k < names->len; k++)
    items[k] = rthunk_value_new_str_take (g_steal_pointer (&names->pdata[k]));
  return rthunk_value_new_list_take (items, names->len);
}

/* ---- the catalog -------------------------------------------------------------- */

static const RthunkNativeEntry functions[] = {
  { "read-text", "(str -> str)", RTHUNK_FUNC_IO, files_read_text,
    N_("the text of a file of the server's data directory (UTF-8)") },
  { "list-files", "(str -> [str])", RTHUNK_FUNC_IO, files_list,
    N_("the names in a folder of the server's data directory (\"\" for the directory itself), "
       "sorted; a folder's ends with /") },
  { "csv-read-text", "(str -> [[str]])", RTHUNK_FUNC_IO, files_csv_read_text,
    N_("the rows of a CSV file of the server's data directory, as csv-parse reads them, "
       "the header row included") },
};

void
rthunk_data_dir_add_to (RthunkDataDir *dir,
                        RthunkCatalog *catalog)
{
  rthunk_catalog_add_entries (catalog, functions, G_N_ELEMENTS (functions), dir,
                              (GBoxedCopyFunc) rthunk_data_dir_ref,
                              (GDestroyNotify) rthunk_data_dir_unref);
  if (!rthunk_catalog_add_provided (catalog, "csv-read", "(str -> [a])", RTHUNK_FUNC_IO,
                                    _("the rows of a CSV file of the server's data directory, as records "
                                      "typed by its header and first rows"),
                                    files_csv_read, provide_csv_read, rthunk_data_dir_ref (dir),
                                    (GDestroyNotify) rthunk_data_dir_unref, NULL))
    g_assert_not_reached ();
  rthunk_catalog_add_capability (catalog, "files");
}
