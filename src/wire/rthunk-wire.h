/* rthunk-wire.h — ASTs, values and types to and from the generated Thrift
 * structs, validating everything that arrives.  Private. */
#pragma once

#include <glib-object.h>

#include <thrift/c_glib/protocol/thrift_binary_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>

#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk_wire_rthunk_types.h"
#include "rthunk_wire_remote_execution_service.h"

G_BEGIN_DECLS

/* Values nest no deeper than this on the wire. */
#define RTHUNK_WIRE_MAX_VALUE_DEPTH 256

/* A tree's source name from the wire is interned (every node points to it)
 * and GLib never frees an interned string: at most this many distinct
 * names are interned for peers, none longer than this; past either, the
 * tree's source is "<remote>" (rthunk_wire_intern_source()). */
#define RTHUNK_WIRE_MAX_SOURCE_NAMES      1024
#define RTHUNK_WIRE_MAX_SOURCE_NAME_BYTES 1024

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftProtocol, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireAst, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireValue, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireTypeTerm, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireEvalRequest, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireRemoteThunk, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireVarCont, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireValueChunk, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireServerInfo, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkWireAuth, g_object_unref)

const char  *rthunk_wire_intern_source (const char *name);
void         rthunk_wire_fill_ast   (RthunkWireAst       *ast,
                                     RthunkNode          *root,
                                     GHashTable          *node_types);
RthunkNode  *rthunk_wire_read_ast   (const RthunkWireAst *ast,
                                     guint                max_nodes,
                                     GError             **error);
gboolean     rthunk_wire_fill_value (RthunkWireValue     *wire,
                                     RthunkValue         *value,
                                     GError             **error);
/* About what one value node takes on the wire beyond its items' nodes:
 * what the two value writers count against their limit. */
gsize        rthunk_wire_value_node_cost (RthunkValue *value);
gboolean     rthunk_wire_fill_value_within (RthunkWireValue *wire,
                                            RthunkValue     *value,
                                            gsize            max_bytes,
                                            GError         **error);
gboolean     rthunk_wire_fill_slice_within (RthunkWireValue *wire,
                                            RthunkValue     *list,
                                            gsize            offset,
                                            gsize            n_items,
                                            gsize            max_bytes,
                                            GError         **error);
RthunkValue *rthunk_wire_read_value (const RthunkWireValue *wire,
                                     GError             **error);
void         rthunk_wire_fill_type  (RthunkWireTypeTerm  *wire,
                                     RthunkType          *type);
RthunkType  *rthunk_wire_read_type  (const RthunkWireTypeTerm *wire,
                                     GError             **error);
void         rthunk_wire_ensure_types (void);
void         rthunk_wire_set_bytes  (GByteArray         **field,
                                     const guint8        *data,
                                     gsize                len);
char        *rthunk_wire_id_to_hex  (const GByteArray    *id);
gboolean     rthunk_wire_invalid    (GError             **error,
                                     const char          *what,
                                     guint                index,
                                     const char          *message);
gboolean     rthunk_address_allowed (const char *const  *patterns,
                                     const char          *address);

/* One node of an Ast as the wire has it: the scalars, and the text
 * (%NULL: none; @text_len < 0: NUL-terminated). */
typedef struct
{
  gint32 kind;
  gint64 i;
  double f;
  gboolean b;
  gboolean has_i;               /* the scalar fields that were there */
  gboolean has_f;
  gboolean has_b;
  const char *text;
  gssize text_len;
} RthunkWireNodeFields;

RthunkNode  *rthunk_wire_build_ast_node (const RthunkWireNodeFields  *fields,
                                         const GArray                *children,
                                         RthunkNode                 **built,
                                         guint                        index,
                                         GError                     **error);

RthunkValue *rthunk_wire_build_record_value (const char *const  *names,
                                             guint               n_names,
                                             const GArray       *items,
                                             RthunkValue       **built,
                                             guint               index,
                                             GError            **error);

/* One node of a TypeTerm as the wire has it: the scalars, and a record's
 * field names (not checked yet). */
typedef struct
{
  gint32 kind;
  gint32 var_id;
  guint klass;                  /* 0 (any) when the wire has none */
  const char *const *names;
  guint n_names;
} RthunkWireTypeFields;

RthunkType  *rthunk_wire_build_type_node (const RthunkWireTypeFields  *fields,
                                          const GArray                *children,
                                          RthunkType                 **built,
                                          GHashTable                  *vars,
                                          guint                        index,
                                          GError                     **error);

/* Registers the generated wire types; call before starting threads. */
void         rthunk_wire_register_types (void);

G_END_DECLS
