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

/* How much of a file csv-read types its columns by: its first bytes. */
#define RTHUNK_CSV_SAMPLE_BYTES (64 * 1024)

RthunkValue *rthunk_csv_parse_sample (const char  *what,
                                      const char  *text,
                                      gsize        length,
                                      gboolean     cut,
                                      GError     **error);

/* rthunk-csv-types.c: the type of csv-read's call for a file whose
 * sample (its header, then its first rows) is @sample:
 * (str -> [{COLUMNS}]); NULL with @error (TYPE_MISMATCH) when the header
 * is missing or names a column no field can have, or names two alike. */
RthunkType  *rthunk_csv_type         (const char  *what,
                                      RthunkValue *sample,
                                      GError     **error);
/* The records of @rows (a whole file, header first) as the type that
 * rthunk_csv_type() gives its @sample says, charged to @context; a cell
 * that does not fit its column is an error naming the row. */
RthunkValue *rthunk_csv_records      (RthunkCallContext  *context,
                                      const char         *what,
                                      RthunkValue        *rows,
                                      RthunkValue        *sample,
                                      GError            **error);

G_END_DECLS
