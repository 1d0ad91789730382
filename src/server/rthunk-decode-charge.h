/* rthunk-decode-charge.h — what decoding a thunkGet or thunkAwait costs,
 * charged first.  Private. */
#pragma once

#include <glib.h>

#include "rthunk-budget.h"

G_BEGIN_DECLS

/* Charges @budget for what the generated code will allocate decoding
 * @message (a validated call): TRUE with *@charged set (release it once the
 * call is answered; 0 for other methods), or FALSE with @reply filled with
 * the call's InvalidRequest answer (code OVERLOADED, naming the budget). */
gboolean rthunk_decode_charge (RthunkBudget *budget,
                               GBytes       *message,
                               guint64      *charged,
                               GByteArray   *reply);

G_END_DECLS
