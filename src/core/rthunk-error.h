/* rthunk-error.h — the error domain of librthunk */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib.h>

G_BEGIN_DECLS

/**
 * RTHUNK_ERROR:
 *
 * The error domain of every rthunk error. The codes are #RthunkError and
 * match the `ErrorCode` enum of the wire protocol.
 */
#define RTHUNK_ERROR (rthunk_error_quark ())

/**
 * RthunkError:
 * @RTHUNK_ERROR_INTERNAL: a bug or an unexpected failure
 * @RTHUNK_ERROR_INVALID_REQUEST: a malformed request or argument
 * @RTHUNK_ERROR_TYPE_MISMATCH: an expression does not type-check
 * @RTHUNK_ERROR_UNKNOWN_FUNCTION: a call names a function no catalog has
 * @RTHUNK_ERROR_UNBOUND_NAME: a name is not bound
 * @RTHUNK_ERROR_SYNTAX: the text cannot be read
 * @RTHUNK_ERROR_EVAL_FAILED: evaluation failed
 * @RTHUNK_ERROR_DIVISION_BY_ZERO: division or modulo by zero
 * @RTHUNK_ERROR_OVERFLOW: integer overflow
 * @RTHUNK_ERROR_FUEL_EXHAUSTED: the evaluation used up its steps
 * @RTHUNK_ERROR_DEADLINE_EXCEEDED: the evaluation ran past its deadline
 * @RTHUNK_ERROR_CANCELLED: the thunk was cancelled
 * @RTHUNK_ERROR_OVERLOADED: the server has too much queued work
 * @RTHUNK_ERROR_NOT_AUTHORIZED: a missing or wrong token
 * @RTHUNK_ERROR_UNKNOWN_THUNK: the server never issued, or forgot, a thunk id
 * @RTHUNK_ERROR_MISSING_DEFINITIONS: the server lacks definitions
 * @RTHUNK_ERROR_LIMIT_EXCEEDED: a size, depth or count limit was reached
 * @RTHUNK_ERROR_INDEX_OUT_OF_RANGE: an index outside a list or string
 * @RTHUNK_ERROR_EMPTY_LIST: head or tail of an empty list
 * @RTHUNK_ERROR_VALUE_TOO_LARGE: a finished value does not fit in one frame;
 *   the client fetches it in chunks (`thunkGetChunk`)
 * @RTHUNK_ERROR_CONNECTION: a server could not be reached: nothing listens
 *   at its address (connection refused), or the name does not resolve
 * @RTHUNK_ERROR_TIMEOUT: a call, or opening a connection, did not finish in
 *   time
 * @RTHUNK_ERROR_PROTOCOL: a server answered something that is not rthunk
 * @RTHUNK_ERROR_CONNECTION_LOST: a server went away in the middle of a call
 *   (it closed or reset the connection)
 *
 * Error codes of %RTHUNK_ERROR.
 *
 * Since: 0.1
 */
typedef enum {
  RTHUNK_ERROR_INTERNAL = 1,
  RTHUNK_ERROR_INVALID_REQUEST = 2,
  RTHUNK_ERROR_TYPE_MISMATCH = 3,
  RTHUNK_ERROR_UNKNOWN_FUNCTION = 4,
  RTHUNK_ERROR_UNBOUND_NAME = 5,
  RTHUNK_ERROR_SYNTAX = 6,
  RTHUNK_ERROR_EVAL_FAILED = 7,
  RTHUNK_ERROR_DIVISION_BY_ZERO = 8,
  RTHUNK_ERROR_OVERFLOW = 9,
  RTHUNK_ERROR_FUEL_EXHAUSTED = 10,
  RTHUNK_ERROR_DEADLINE_EXCEEDED = 11,
  RTHUNK_ERROR_CANCELLED = 12,
  RTHUNK_ERROR_OVERLOADED = 13,
  RTHUNK_ERROR_NOT_AUTHORIZED = 14,
  RTHUNK_ERROR_UNKNOWN_THUNK = 15,
  RTHUNK_ERROR_MISSING_DEFINITIONS = 16,
  RTHUNK_ERROR_LIMIT_EXCEEDED = 17,
  RTHUNK_ERROR_INDEX_OUT_OF_RANGE = 18,
  RTHUNK_ERROR_EMPTY_LIST = 19,
  RTHUNK_ERROR_VALUE_TOO_LARGE = 20,
  RTHUNK_ERROR_CONNECTION = 100,
  RTHUNK_ERROR_TIMEOUT = 101,
  RTHUNK_ERROR_PROTOCOL = 102,
  RTHUNK_ERROR_CONNECTION_LOST = 103,
} RthunkError;

RTHUNK_AVAILABLE_IN_0_1
GQuark rthunk_error_quark (void);

G_END_DECLS
