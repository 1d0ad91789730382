/* rthunk-stdlib.h — the standard library catalog */
#pragma once

#if !defined(__RTHUNK_INSIDE__) && !defined(RTHUNK_COMPILATION)
#error "Only <rthunk/rthunk.h> can be included directly."
#endif

#include "rthunk-catalog.h"

G_BEGIN_DECLS

void rthunk_stdlib_add_to (RthunkCatalog *catalog);
RthunkCatalog *rthunk_stdlib_new_catalog (void) G_GNUC_WARN_UNUSED_RESULT;
void rthunk_stdlib_add_server_functions (RthunkCatalog *catalog,
                                         const char    *server_name);

G_END_DECLS
