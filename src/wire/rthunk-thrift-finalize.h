/* rthunk-thrift-finalize.h — Thrift 0.17 c_glib finalizers that chain up
 * (private) */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void rthunk_thrift_finalize_chain_up (void);

G_END_DECLS
