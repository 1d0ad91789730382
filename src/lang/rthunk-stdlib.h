/* rthunk-stdlib.h — the standard library catalog */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

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
