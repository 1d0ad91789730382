/* rthunk-csv.h — CSV text read into rows of strings.  Private.
 *
 * The one CSV reader: `csv-parse` in the standard library and the files
 * provider's `csv-read` both call it.
 */
#pragma once

#include <glib.h>

#include "rthunk-eval.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

RthunkValue *rthunk_csv_parse (RthunkCallContext  *context,
                               const char         *what,
                               const char         *text,
                               gsize               length,
                               GError            **error);

G_END_DECLS
