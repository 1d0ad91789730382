/* rthunk-hash.h — content addresses of definitions */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib.h>

#include "rthunk-node.h"

G_BEGIN_DECLS

/**
 * RTHUNK_HASH_LEN:
 *
 * The length in bytes of a content address: a SHA-256 digest.
 *
 * Since: 0.1
 */
#define RTHUNK_HASH_LEN 32

/**
 * RthunkHashResolver:
 * @name: a name the definition uses that is bound neither locally nor
 *   to the definition itself
 * @hash: (out caller-allocates) (array fixed-size=32): where to store the
 *   content address of the definition @name refers to
 * @user_data: the data given with the resolver
 *
 * Tells whether @name refers to another user definition (a `defn`, or a
 * lambda bound to a name) and if so gives its content address. Names a
 * resolver does not know (catalog functions, special forms, inputs) are
 * encoded by their text.
 *
 * Returns: %TRUE if @name is a user definition and @hash was filled
 *
 * Since: 0.1
 */
typedef gboolean (*RthunkHashResolver) (const char *name,
                                        guint8      hash[RTHUNK_HASH_LEN],
                                        gpointer    user_data);

RTHUNK_AVAILABLE_IN_0_1
GBytes    *rthunk_hash_encode_definition   (RthunkNode          *form,
                                            RthunkHashResolver   resolve,
                                            gpointer             user_data,
                                            GError             **error) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
gboolean   rthunk_hash_definition          (RthunkNode          *form,
                                            RthunkHashResolver   resolve,
                                            gpointer             user_data,
                                            guint8               hash[RTHUNK_HASH_LEN],
                                            GError             **error);
RTHUNK_AVAILABLE_IN_0_1
char      *rthunk_hash_to_hex              (const guint8         hash[RTHUNK_HASH_LEN]) G_GNUC_WARN_UNUSED_RESULT;
RTHUNK_AVAILABLE_IN_0_1
GPtrArray *rthunk_hash_collect_references  (RthunkNode          *form,
                                            RthunkHashResolver   resolve,
                                            gpointer             user_data) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
