/* testtable.h — what the table-driven unit tests share: a case is one row
 * of a static array whose first member is its GTest path, registered with
 * TEST_ADD_TABLE(), and checked against the outcome the row expects. */
#pragma once

#include <stddef.h>

#include <glib.h>

G_BEGIN_DECLS

/* Registers @n_cases cases of @case_size bytes each from @cases, each
 * under the path its first member names, to be run by @func. */
void test_add_table       (gconstpointer  cases,
                           gsize          n_cases,
                           gsize          case_size,
                           GTestDataFunc  func);

/* Every row of the array @cases, each run by @func; the rows' struct must
 * begin with `const char *path`. */
#define TEST_ADD_TABLE(cases, func)                                       \
  G_STMT_START {                                                          \
    G_STATIC_ASSERT (offsetof (__typeof__ ((cases)[0]), path) == 0);      \
    test_add_table ((cases), G_N_ELEMENTS (cases), sizeof (cases)[0],     \
                    (func));                                              \
  } G_STMT_END

/* The source name the unit tests read their texts as. */
#define TEST_SOURCE "<test>"

/* Fails unless @error's message starts "<test>:LINE:COL: error: " (with
 * @col 0, "<test>:LINE:" at any column) and mentions @fragment (nullable). */
void test_assert_error_at (const GError  *error,
                           guint          line,
                           guint          col,
                           const char    *fragment);

/* The forms of @text (source TEST_SOURCE); asserts it reads. */
GPtrArray *test_read_ok   (const char    *text);

/* Fails unless @message mentions @fragment (anything goes when @fragment
 * is %NULL). */
void test_assert_mentions (const char    *message,
                           const char    *fragment);

/* What a case expects: with @code 0, a @result and no @error; else no
 * @result and an RTHUNK_ERROR of @code whose message mentions @fragment
 * (nullable). */
void test_assert_outcome  (gconstpointer  result,
                           const GError  *error,
                           gint           code,
                           const char    *fragment);

G_END_DECLS
