/* rthunk.h — the umbrella header of librthunk-1.0
 *
 * Include this header only; the others refuse to be included alone.
 */
#pragma once

#define __RTHUNK_INSIDE__

#include "rthunk-version.h"
#include "rthunk-error.h"
#include "rthunk-value.h"
#include "rthunk-type.h"
#include "rthunk-node.h"
#include "rthunk-reader.h"
#include "rthunk-catalog.h"
#include "rthunk-stdlib.h"
#include "rthunk-check.h"
#include "rthunk-eval.h"
#include "rthunk-hash.h"
#include "rthunk-server.h"
#include "rthunk-client.h"
#include "rthunk-thunk-state.h"
#include "rthunk-thunk.h"
#include "rthunk-session.h"
#include "rthunk-cluster.h"
#include "rthunk-provider.h"

#undef __RTHUNK_INSIDE__
