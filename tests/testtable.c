/* testtable.c — the table runner of the unit tests (testtable.h) */
#include "config.h"

#include <string.h>

#include "rthunk-error.h"
#include "rthunk-reader.h"
#include "testtable.h"

void
test_add_table (gconstpointer  cases,
                gsize          n_cases,
                gsize          case_size,
                GTestDataFunc  func)
{
  const char *row = cases;

  for (gsize k = 0; k < n_cases; k++, row += case_size)
    g_test_add_data_func (*(const char *const *) row, row, func);
}

GPtrArray *
test_read_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *forms = rthunk_reader_read_all (TEST_SOURCE, text, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (forms);
  return forms;
}

void
test_assert_mentions (const char *message,
                      const char *fragment)
{
  if (fragment != NULL && strstr (message, fragment) == NULL)
    g_error ("“%s” does not mention “%s”", message, fragment);
}

void
test_assert_error_at (const GError *error,
                      guint         line,
                      guint         col,
                      const char   *fragment)
{
  g_autofree char *prefix = col != 0
    ? g_strdup_printf (TEST_SOURCE ":%u:%u: error: ", line, col)
    : g_strdup_printf (TEST_SOURCE ":%u:", line);

  if (!g_str_has_prefix (error->message, prefix))
    g_error ("“%s” does not start with “%s”", error->message, prefix);
  test_assert_mentions (error->message, fragment);
}

void
test_assert_outcome (gconstpointer  result,
                     const GError  *error,
                     gint           code,
                     const char    *fragment)
{
  if (code == 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (result);
      return;
    }
  g_assert_null (result);
  g_assert_error (error, RTHUNK_ERROR, code);
  test_assert_mentions (error->message, fragment);
}
