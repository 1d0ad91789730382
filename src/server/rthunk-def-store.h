/* rthunk-def-store.h — content-addressed definitions a server holds.  Private. */
#pragma once

#include "rthunk-budget.h"
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

typedef struct _RthunkDefStore RthunkDefStore;

RthunkDefinition *rthunk_definition_new    (void);
RthunkDefinition *rthunk_definition_ref    (RthunkDefinition *def);
void              rthunk_definition_unref  (RthunkDefinition *def);

RthunkDefStore   *rthunk_def_store_new     (guint             max_count,
                                            gsize             max_bytes);
void              rthunk_def_store_free    (RthunkDefStore   *store);
RthunkDefinition *rthunk_def_store_lookup  (RthunkDefStore   *store,
                                            const guint8     *hash);
RthunkLruInsert   rthunk_def_store_insert  (RthunkDefStore   *store,
                                            RthunkDefinition *def);
void              rthunk_def_store_set_budget (RthunkDefStore *store,
                                               RthunkBudget   *budget);
guint             rthunk_def_store_size    (RthunkDefStore   *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkDefinition, rthunk_definition_unref)

G_END_DECLS
