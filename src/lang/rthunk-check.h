/* rthunk-check.h — Hindley–Milner type inference against catalogs */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

#include "rthunk-catalog.h"
#include "rthunk-node.h"
#include "rthunk-type.h"

G_BEGIN_DECLS

#define RTHUNK_TYPE_CHECKER (rthunk_checker_get_type ())
RTHUNK_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (RthunkChecker, rthunk_checker, RTHUNK, CHECKER, GObject)

RTHUNK_AVAILABLE_IN_0_1
RthunkChecker *rthunk_checker_new                (RthunkCatalog  *catalog) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_checker_set_remote_catalog (RthunkChecker  *checker,
                                                  RthunkCatalog  *remote);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_checker_set_remote_allowed (RthunkChecker  *checker,
                                                  gboolean        allowed);
RTHUNK_AVAILABLE_IN_0_1
RthunkType    *rthunk_checker_check              (RthunkChecker  *checker,
                                                  RthunkNode     *form,
                                                  GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkType    *rthunk_checker_check_typed        (RthunkChecker  *checker,
                                                  RthunkNode     *form,
                                                  GHashTable    **node_types,
                                                  GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_checker_bind               (RthunkChecker  *checker,
                                                  const char     *name,
                                                  RthunkType     *type);
RTHUNK_AVAILABLE_IN_0_1
void           rthunk_checker_get_mismatch       (RthunkChecker  *checker,
                                                  const char    **expected,
                                                  const char    **found);
RTHUNK_AVAILABLE_IN_0_1
RthunkType    *rthunk_checker_lookup             (RthunkChecker  *checker,
                                                  const char     *name);

G_END_DECLS
