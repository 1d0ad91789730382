/* replay.c — a plain main for a fuzz target: replays its regression inputs
 * in `make check`, with any compiler and without libFuzzer.
 *
 * Linked with one fuzz target's LLVMFuzzerInitialize/LLVMFuzzerTestOneInput
 * and built with FUZZ_REGRESSIONS_SUBDIR (the target's folder under
 * tests/fuzz/regressions/, "" for fuzz-reader-check). With no arguments it
 * replays every file of that folder but README.md (not its subfolders),
 * under $RTHUNK_TOP_SRCDIR; with arguments, those files. Each input is one
 * TAP line; a crash, a leak (under LeakSanitizer), an assertion or a GLib
 * warning (fuzz-log.h makes it abort) fails the test, named by the last
 * "# replaying" line.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

static gint
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
regression_files (void)
{
  const char *top = g_getenv ("RTHUNK_TOP_SRCDIR");
  g_autofree char *dir_path = g_build_filename (top != NULL ? top : ".", "tests", "fuzz", "regressions",
                                                FUZZ_REGRESSIONS_SUBDIR, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, &error);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      printf ("Bail out! %s\n", error->message);
      exit (1);
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (dir_path, name, NULL);

      if (strcmp (name, "README.md") == 0 || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_free (path);
      else
        g_ptr_array_add (paths, path);
    }
  g_ptr_array_sort (paths, compare_paths);
  return paths;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) paths = NULL;

  LLVMFuzzerInitialize (&argc, &argv);
  if (argc > 1)
    {
      paths = g_ptr_array_new_with_free_func (g_free);
      for (int k = 1; k < argc; k++)
        g_ptr_array_add (paths, g_strdup (argv[k]));
    }
  else
    paths = regression_files ();
  if (paths->len == 0)
    {
      /* each replayed target has inputs: none means they went missing */
      printf ("1..1\nnot ok 1 - regression inputs are there\n");
      return 1;
    }
  printf ("1..%u\n", paths->len);
  for (guint k = 0; k < paths->len; k++)
    {
      const char *path = g_ptr_array_index (paths, k);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree gchar *data = NULL;
      g_autoptr(GError) error = NULL;
      gsize size = 0;

      printf ("# replaying %s\n", path);
      fflush (stdout);
      if (!g_file_get_contents (path, &data, &size, &error))
        {
          printf ("not ok %u - %s: %s\n", k + 1, base, error->message);
          continue;
        }
      LLVMFuzzerTestOneInput ((const uint8_t *) data, size);
      printf ("ok %u - %s\n", k + 1, base);
      fflush (stdout);
    }
  return 0;
}
