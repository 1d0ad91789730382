/* rthunk-stdlib-private.h — what the files of the standard library
 * share.  Private. */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/* what one string or list costs beyond its bytes or pointers */
#define RTHUNK_STDLIB_VALUE_OVERHEAD 32

/* Adds @entries, marked as the standard library's own functions. */
void         rthunk_stdlib_add_entries  (RthunkCatalog           *catalog,
                                         const RthunkNativeEntry *entries,
                                         guint                    n_entries);
/* the order of `<` on two ints, floats or strings: -1, 0 or 1 */
int          rthunk_stdlib_compare      (RthunkValue             *a,
                                         RthunkValue             *b);
/* element @index of @list, forced (a list may hold pending values) */
RthunkValue *rthunk_stdlib_item         (RthunkValue             *list,
                                         gsize                    index,
                                         GError                 **error);

/* sets @error to @code and @message; returns %NULL */
RthunkValue *rthunk_stdlib_fail         (GError                 **error,
                                         RthunkError              code,
                                         const char              *message);
/* charges the evaluation for a new list of @n elements */
gboolean     rthunk_stdlib_charge_list  (RthunkCallContext       *context,
                                         guint64                  n,
                                         GError                 **error);
/* whether @index is an index of @list (0 up to its length, not included) */
gboolean     rthunk_stdlib_has_index    (RthunkValue             *list,
                                         gint64                   index);
/* whether @list has an element; else sets @error (EMPTY_LIST, @message) */
gboolean     rthunk_stdlib_nonempty     (RthunkValue             *list,
                                         const char              *message,
                                         GError                 **error);

/* the data functions (rthunk-stdlib-data.c) */
void         rthunk_stdlib_data_add_to  (RthunkCatalog           *catalog);
/* the functions on records (rthunk-stdlib-record.c) */
void         rthunk_stdlib_add_records  (RthunkCatalog           *catalog);

G_END_DECLS
