/* rthunk-stdlib.h — the standard library catalog */
#pragma once

#if !defined(__RTHUNK_INSIDE__) && !defined(RTHUNK_COMPILATION)
#error "Only <rthunk/rthunk.h> can be included directly."
#endif

#include "rthunk-version.h"

#include "rthunk-catalog.h"

G_BEGIN_DECLS

RTHUNK_AVAILABLE_IN_0_1
void rthunk_stdlib_add_to (RthunkCatalog *catalog);
RTHUNK_AVAILABLE_IN_0_1
RthunkCatalog *rthunk_stdlib_new_catalog (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void rthunk_stdlib_add_server_functions (RthunkCatalog *catalog,
                                         const char    *server_name);

G_END_DECLS
