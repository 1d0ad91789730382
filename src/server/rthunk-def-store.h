/* rthunk-def-store.h — content-addressed definitions a server holds.  Private. */
#pragma once

#include "rthunk-hash.h"
#include "rthunk-lru.h"
#include "rthunk-node.h"
#include "rthunk-type.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  guint8 hash[RTHUNK_HASH_LEN];
} RthunkDefUse;

typedef struct                 /* a g_atomic_rc_box: rthunk_definition_new() */
{
  guint8 hash[RTHUNK_HASH_LEN];
  RthunkNode *form;              /* (defn NAME [params] body…) */
  RthunkDefUse *uses;
  guint n_uses;
  RthunkType *type;              /* the scheme the server inferred */
  gboolean pure;                 /* no io anywhere in it or what it uses */
  gsize bytes;                   /* what it costs the store */
} RthunkDefinition;

RthunkDefinition *rthunk_definition_new    (void);
RthunkDefinition *rthunk_definition_ref    (RthunkDefinition *def);
void              rthunk_definition_unref  (RthunkDefinition *def);

/* The store is an RthunkLru of RthunkDefinition by hash: looked up,
 * sized, budgeted and freed with the rthunk_lru_*() functions. */
RthunkLru        *rthunk_def_store_new     (guint             max_count,
                                            gsize             max_bytes);
RthunkLruInsert   rthunk_def_store_insert  (RthunkLru        *store,
                                            RthunkDefinition *def);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkDefinition, rthunk_definition_unref)

G_END_DECLS
