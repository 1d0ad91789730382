/* rthunk-node.h — the immutable AST: the s-expressions as read */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * RthunkNodeKind:
 * @RTHUNK_NODE_INT: an integer literal
 * @RTHUNK_NODE_FLOAT: a float literal
 * @RTHUNK_NODE_STR: a string literal
 * @RTHUNK_NODE_BOOL: `true` or `false`
 * @RTHUNK_NODE_NIL: `nil`
 * @RTHUNK_NODE_SYMBOL: a name
 * @RTHUNK_NODE_KEYWORD: `:name`
 * @RTHUNK_NODE_LIST: `( … )`: a call or a special form
 * @RTHUNK_NODE_VECTOR: `[ … ]`: a list literal, parameters or bindings
 *
 * The kinds of AST nodes.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_NODE_INT,
  RTHUNK_NODE_FLOAT,
  RTHUNK_NODE_STR,
  RTHUNK_NODE_BOOL,
  RTHUNK_NODE_NIL,
  RTHUNK_NODE_SYMBOL,
  RTHUNK_NODE_KEYWORD,
  RTHUNK_NODE_LIST,
  RTHUNK_NODE_VECTOR,
} RthunkNodeKind;

/**
 * RTHUNK_NODE_MAX_DEPTH:
 *
 * How deeply forms may nest, in the reader and on the wire.
 *
 * Since: 0.1
 */
#define RTHUNK_NODE_MAX_DEPTH 1000

/**
 * RthunkNode:
 *
 * A node of the AST, with the source, line and column it was read at.
 * Nodes are immutable and refcounted, so they can be shared between threads.
 *
 * Since: 0.1
 */
typedef struct _RthunkNode RthunkNode;

#define RTHUNK_TYPE_NODE (rthunk_node_get_type ())
RTHUNK_AVAILABLE_IN_ALL
GType rthunk_node_get_type (void) G_GNUC_CONST;

RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_int       (gint64             i) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_float     (double             f) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_bool      (gboolean           b) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_nil       (void) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_text      (RthunkNodeKind     kind,
                                           const char        *text) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_new_seq       (RthunkNodeKind     kind,
                                           RthunkNode *const *items,
                                           guint              n_items) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_set_position  (RthunkNode        *node,
                                           const char        *source,
                                           guint              line,
                                           guint              col);

RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_ref           (RthunkNode        *node);
RTHUNK_AVAILABLE_IN_0_1
void            rthunk_node_unref         (RthunkNode        *node);

RTHUNK_AVAILABLE_IN_0_1
RthunkNodeKind  rthunk_node_get_kind      (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
gint64          rthunk_node_get_int       (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
double          rthunk_node_get_float     (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_node_get_bool      (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_node_get_text      (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_node_get_n_items   (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
RthunkNode     *rthunk_node_get_item      (const RthunkNode  *node,
                                           guint              index);
RTHUNK_AVAILABLE_IN_0_1
const char     *rthunk_node_get_source    (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_node_get_line      (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
guint           rthunk_node_get_col       (const RthunkNode  *node);
RTHUNK_AVAILABLE_IN_0_1
gboolean        rthunk_node_is_symbol     (const RthunkNode  *node,
                                           const char        *name);
RTHUNK_AVAILABLE_IN_0_1
char           *rthunk_node_to_string     (const RthunkNode  *node) G_GNUC_WARN_UNUSED_RESULT;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkNode, rthunk_node_unref)

G_END_DECLS
