/* rthunk-stdlib-private.h — what the files of the standard library
 * share.  Private. */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/* One function of a standard library table. */
typedef struct
{
  const char *name;
  const char *signature;
  RthunkFuncFlags flags;
  RthunkNativeFunc func;
  const char *doc;              /* N_() */
} RthunkStdlibEntry;

void         rthunk_stdlib_add_entries  (RthunkCatalog           *catalog,
                                         const RthunkStdlibEntry *entries,
                                         guint                    n_entries);
/* the order of `<` on two ints, floats or strings: -1, 0 or 1 */
int          rthunk_stdlib_compare      (RthunkValue             *a,
                                         RthunkValue             *b);
/* element @index of @list, forced (a list may hold pending values) */
RthunkValue *rthunk_stdlib_item         (RthunkValue             *list,
                                         gsize                    index,
                                         GError                 **error);

/* the data functions (rthunk-stdlib-data.c) */
void         rthunk_stdlib_data_add_to  (RthunkCatalog           *catalog);
/* the functions on records (rthunk-stdlib-record.c) */
void         rthunk_stdlib_add_records  (RthunkCatalog           *catalog);

G_END_DECLS
