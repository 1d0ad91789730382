/* rthunk-type-private.h — the type checker's side of type terms */
#pragma once

#include "rthunk-type.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/* Level of the variables of a type scheme: they are quantified, never bound,
 * and replaced by fresh variables on instantiation. */
#define RTHUNK_TYPE_GENERIC G_MAXUINT

/* How deep a type term may nest (signatures, values' types). */
#define RTHUNK_TYPE_MAX_DEPTH 64

RthunkType *rthunk_type_new_var_at     (guint            id,
                                        RthunkTypeClass  klass,
                                        guint            level);
RthunkType *rthunk_type_prune          (RthunkType      *type);
gboolean    rthunk_type_unify          (RthunkType      *a,
                                        RthunkType      *b);
RthunkType *rthunk_type_instantiate    (RthunkType      *scheme,
                                        guint            level,
                                        guint           *next_id);
RthunkType *rthunk_type_generalize     (RthunkType      *type,
                                        guint            level);
RthunkType *rthunk_type_resolve        (RthunkType      *type);
RthunkType *rthunk_type_of_value       (RthunkValue     *value,
                                        guint           *next_var,
                                        GError         **error);
gboolean    rthunk_type_is_generic     (RthunkType      *type);
/* Whether @type has no variable (a type to share between checks). */
gboolean    rthunk_type_is_ground      (RthunkType      *type);
RthunkTypeClass rthunk_type_class_from_name (const char      *name);
void        rthunk_type_constrain      (RthunkType      *var,
                                        RthunkTypeClass  klass);
/* The fields of the record @type seen through its row variables, in the
 * order of their names: appends their names and types (borrowed) to
 * @names and @types, and gives the unbound row variable, NULL when the
 * record is closed. */
void        rthunk_type_record_fields  (RthunkType      *type,
                                        GPtrArray       *names,
                                        GPtrArray       *types,
                                        RthunkType     **row);
/* Appends to @key bytes that two types share only when they are the same
 * up to the names of their variables (a variable's class and whether it
 * is quantified count): a memo's key, made without printing. */
void        rthunk_type_append_key     (RthunkType      *type,
                                        GString         *key);

G_END_DECLS
