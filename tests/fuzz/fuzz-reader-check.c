/* fuzz-reader-check.c — libFuzzer target: the reader and the type checker
 *
 * Each input is source text, exactly `size` bytes and not nul-terminated.
 * It is read with rthunk_reader_read_all(); every form it holds is then
 * type-checked, in order, by one fresh RthunkChecker over the standard
 * catalog (built once), as the shell would check the lines of a script.
 * Nothing may crash, leak, hang, log a warning or a critical, or fail
 * without an error of the rthunk domain positioned as `SOURCE:LINE:COL:`.
 *
 *   CC=clang ./configure --enable-fuzzing
 *   make fuzz FUZZ_SECONDS=600
 *   tests/fuzz/fuzz-reader-check CRASH-FILE       (replays one input)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rthunk.h"
#include "fuzz-log.h"

/* Per-input bounds: `make fuzz` passes -max_len=4096, but a corpus file
 * given by hand may be longer. */
#define FUZZ_MAX_INPUT_BYTES (64 * 1024)
#define FUZZ_MAX_FORMS       256
#define FUZZ_SOURCE          "<fuzz>"

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const uint8_t  *data,
                            size_t          size);

static RthunkCatalog *catalog;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* plain malloc, so that AddressSanitizer and LeakSanitizer see every block */
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  fuzz_abort_on_warnings ();
  catalog = rthunk_stdlib_new_catalog ();
  return 0;
}

/* Every error must be ours and say where it happened. */
static void
check_error (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == RTHUNK_ERROR);
  g_assert_nonnull (error->message);
  g_assert_true (g_str_has_prefix (error->message, FUZZ_SOURCE ":"));
  g_assert_nonnull (strstr (error->message, ": error: "));
}

static void
check_form (RthunkChecker *checker,
            RthunkNode    *form)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) node_types = NULL;
  g_autoptr(RthunkType) type = NULL;
  g_autofree char *printed = NULL;

  type = rthunk_checker_check_typed (checker, form, &node_types, &error);
  if (type == NULL)
    {
      check_error (error);
      g_assert_null (node_types);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (node_types);
  printed = rthunk_type_to_string (type);
  g_assert_nonnull (printed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(RthunkChecker) checker = NULL;

  if (size > FUZZ_MAX_INPUT_BYTES)
    return 0;
  forms = rthunk_reader_read_all (FUZZ_SOURCE, (const char *) data, (gssize) size, &error);
  if (forms == NULL)
    {
      check_error (error);
      return 0;
    }
  g_assert_no_error (error);

  checker = rthunk_checker_new (catalog);
  for (guint k = 0; k < forms->len && k < FUZZ_MAX_FORMS; k++)
    check_form (checker, g_ptr_array_index (forms, k));
  return 0;
}
