/* rthunk-check-private.h — what the checker's files share.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-check.h"
#include "rthunk-node.h"
#include "rthunk-type.h"

G_BEGIN_DECLS

/* The state of one check and a local scope, opaque outside rthunk-check.c. */
typedef struct _RthunkCheckCtx RthunkCheckCtx;
typedef struct _RthunkCheckScope RthunkCheckScope;

/* The type of @node in @scope, or NULL with @error set. */
RthunkType *rthunk_check_infer     (RthunkCheckCtx    *ctx,
                                    RthunkNode        *node,
                                    RthunkCheckScope  *scope,
                                    GError           **error);
/* A fresh type variable at the current level. */
RthunkType *rthunk_check_fresh     (RthunkCheckCtx    *ctx);
/* Unifies @expected and @found, or fails with a mismatch at @where. */
gboolean    rthunk_check_expect    (RthunkCheckCtx    *ctx,
                                    RthunkType        *expected,
                                    RthunkType        *found,
                                    RthunkNode        *where,
                                    const char        *what,
                                    GError           **error);

/* rthunk-check-record.c: records */
RthunkType *rthunk_check_record    (RthunkCheckCtx    *ctx,
                                    RthunkNode        *form,
                                    RthunkCheckScope  *scope,
                                    gboolean           tail,
                                    GError           **error);
RthunkType *rthunk_check_get       (RthunkCheckCtx    *ctx,
                                    RthunkNode        *form,
                                    RthunkCheckScope  *scope,
                                    gboolean           tail,
                                    GError           **error);
RthunkType *rthunk_check_assoc     (RthunkCheckCtx    *ctx,
                                    RthunkNode        *form,
                                    RthunkCheckScope  *scope,
                                    gboolean           tail,
                                    GError           **error);
/* rthunk-check-hint.c */
const char *rthunk_check_hint      (RthunkType       *expected,
                                    RthunkType       *found);
char       *rthunk_check_record_hint (RthunkType   *expected,
                                      RthunkType   *found);
RthunkType *rthunk_check_field_call (RthunkCheckCtx   *ctx,
                                    RthunkNode        *form,
                                    RthunkCheckScope  *scope,
                                    GError           **error);

/* rthunk-check-globals.c: the names def, defn and rthunk_checker_bind()
 * bound, with what it takes to take them back. Read the tables directly;
 * change them only through rthunk_check_globals_set() and _clear(). */
typedef struct
{
  GHashTable *types;              /* name → scheme */
  GHashTable *definitions;        /* the names bound by defn: they can travel by hash */
  GArray *undo;                   /* (nullable: made by the first binding) what the bindings made since the first begin replaced */
  guint depth;                    /* begins not yet ended */
  gboolean nested;                /* a begin came inside another: no rollback until the last end */
  guint64 version;                /* bumped at every change */
} RthunkCheckGlobals;

void  rthunk_check_globals_init     (RthunkCheckGlobals *globals);
void  rthunk_check_globals_clear    (RthunkCheckGlobals *globals);
void  rthunk_check_globals_destroy  (RthunkCheckGlobals *globals);
/* Binds @name to @scheme (transfer full); @definition: by defn. */
void  rthunk_check_globals_set      (RthunkCheckGlobals *globals,
                                     const char         *name,
                                     RthunkType         *scheme,
                                     gboolean            definition);
/* rthunk-check.c: @checker's */
RthunkCheckGlobals *rthunk_check_globals_of (RthunkChecker *checker);

G_END_DECLS
