/* rthunk-csv.c — CSV text (RFC 4180) read into rows of strings
 *
 * Fields are separated by commas and records by CRLF or LF; a field in
 * double quotes may hold commas, line breaks and doubled quotes ("" for
 * one "). Every row is a list of its fields as strings, the header row
 * (if the text has one) included: the reader does not guess. A final line
 * break ends the last record, it does not start an empty one; a UTF-8
 * byte order mark at the start is skipped. Every record must have as many
 * fields as the first. Anything else — a quote inside an unquoted field,
 * text after a closing quote, a quoted field never closed, a carriage
 * return that does not end a line, a record of another width — is an
 * error that names the line (lines counted from 1, every line break
 * counting, those inside quotes too).
 *
 * What it builds is charged to the evaluation, row by row, before the
 * row is built.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-csv.h"
#include "rthunk-error.h"

/* what one string or list costs beyond its bytes or pointers */
#define VALUE_OVERHEAD 32

typedef struct
{
  RthunkCallContext *context;
  const char *what;             /* the function (and file), for errors */
  const char *p;
  const char *end;
  guint line;
  GPtrArray *rows;              /* of [str] */
  GPtrArray *fields;            /* of the record being read, as char * */
  gsize bytes;                  /* of those fields' text */
  guint width;                  /* fields of the first record; 0: none yet */
} CsvReader;

static gboolean
csv_fail (CsvReader   *r,
          guint        line,
          const char  *message,
          GError     **error)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_EVAL_FAILED, _("%s: line %u: %s"), r->what, line, message);
  return FALSE;
}

/* Whether the reader is at a line break (CRLF or LF). */
static gboolean
at_line_end (CsvReader *r)
{
  return r->p < r->end && (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'));
}

/* A field in quotes, from its opening quote; after it comes a comma, a
 * line break or the end. */
static char *
read_quoted (CsvReader  *r,
             GError    **error)
{
  GString *field = g_string_new (NULL);
  guint opened = r->line;

  for (r->p++; r->p < r->end; r->p++)
    {
      if (*r->p == '"' && r->p + 1 < r->end && r->p[1] == '"')
        r->p++;
      else if (*r->p == '"')
        break;
      else if (*r->p == '\n')
        r->line++;
      g_string_append_c (field, *r->p);
    }
  if (r->p >= r->end)
    {
      g_string_free (field, TRUE);
      csv_fail (r, opened, _("a quoted field is never closed"), error);
      return NULL;
    }
  r->p++;
  if (r->p < r->end && *r->p != ',' && !at_line_end (r))
    {
      g_string_free (field, TRUE);
      csv_fail (r, r->line, _("text after the closing quote of a field (a quote inside a field is written \"\")"),
                error);
      return NULL;
    }
  return g_string_free (field, FALSE);
}

/* A field without quotes: up to a comma, a line break or the end. */
static char *
read_plain (CsvReader  *r,
            GError    **error)
{
  const char *start = r->p;

  for (; r->p < r->end && *r->p != ',' && *r->p != '\n'; r->p++)
    {
      if (*r->p == '"')
        {
          csv_fail (r, r->line, _("a quote inside a field without quotes (quote the whole field and "
                                  "write the quote as \"\")"), error);
          return NULL;
        }
      if (*r->p == '\r' && !at_line_end (r))
        {
          csv_fail (r, r->line, _("a carriage return that does not end a line, outside quotes"), error);
          return NULL;
        }
      if (*r->p == '\r')
        break;
    }
  return g_strndup (start, r->p - start);
}

/* Makes the record read so far a row, charged first. */
static gboolean
end_record (CsvReader  *r,
            guint       line,
            GError    **error)
{
  guint n = r->fields->len;
  RthunkValue **cells;

  if (r->width == 0)
    r->width = n;
  else if (n != r->width)
    {
      g_autofree char *message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                               "%u field where the first record has %u",
                                                               "%u fields where the first record has %u", n),
                                                  n, r->width);

      return csv_fail (r, line, message, error);
    }
  /* a sample is bounded by its caller, and read outside any evaluation */
  if (r->context != NULL &&
      !rthunk_call_context_charge (r->context, r->bytes + (guint64) n * (sizeof (gpointer) + VALUE_OVERHEAD + 1) +
                                   VALUE_OVERHEAD, error))
    return FALSE;
  cells = g_new (RthunkValue *, n);
  for (guint k = 0; k < n; k++)
    {
      cells[k] = rthunk_value_new_str_take (g_ptr_array_index (r->fields, k));
      r->fields->pdata[k] = NULL;
    }
  g_ptr_array_set_size (r->fields, 0);
  r->bytes = 0;
  g_ptr_array_add (r->rows, rthunk_value_new_list_take (cells, n));
  return TRUE;
}

/* One record, from its first field to its line break (or the end). */
static gboolean
read_record (CsvReader  *r,
             GError    **error)
{
  guint line = r->line;

  for (;;)
    {
      char *field = r->p < r->end && *r->p == '"' ? read_quoted (r, error) : read_plain (r, error);

      if (field == NULL)
        return FALSE;
      r->bytes += strlen (field);
      g_ptr_array_add (r->fields, field);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          continue;
        }
      if (r->p < r->end)
        {
          r->p += *r->p == '\r' ? 2 : 1;
          r->line++;
        }
      return end_record (r, line, error);
    }
}

/* rthunk_csv_parse() within @context, or, when it is NULL, of a sample
 * (rthunk_csv_parse_sample()) that may be @cut. */
static RthunkValue *
parse (RthunkCallContext  *context,
       const char         *what,
       const char         *text,
       gsize               length,
       gboolean            cut,
       GError            **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_value_unref);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  CsvReader r = { context, what, text, text + length, 1, rows, fields, 0, 0 };
  guint n;

  if (length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    r.p += 3;
  while (r.p < r.end)
    {
      g_autoptr(GError) failed = NULL;
      guint had = rows->len;

      if (context != NULL && rows->len % 1024 == 1023 && !rthunk_call_context_check (context, error))
        return NULL;
      /* a cut sample's last record is no record */
      if (!read_record (&r, &failed) && !(cut && r.p >= r.end))
        {
          g_propagate_error (error, g_steal_pointer (&failed));
          return NULL;
        }
      if (cut && r.p >= r.end && rows->len > had)
        g_ptr_array_set_size (rows, had);
    }
  if (context != NULL &&
      !rthunk_call_context_charge (context, (guint64) rows->len * sizeof (gpointer) + VALUE_OVERHEAD, error))
    return NULL;
  n = rows->len;
  return rthunk_value_new_list_take ((RthunkValue **) g_ptr_array_steal (rows, NULL), n);
}

/**
 * rthunk_csv_parse:
 * @context: the call that reads it, charged for what it builds
 * @what: what reads it, for errors: `csv-parse`, `csv-read: sales.csv`
 * @text: UTF-8 text
 * @length: its length in bytes
 * @error: return location for a #GError
 *
 * Reads @text as CSV (RFC 4180, see above).
 *
 * Returns: (transfer full) (nullable): the rows, a `[[str]]`, or %NULL
 *   with @error set
 */
RthunkValue *
rthunk_csv_parse (RthunkCallContext  *context,
                  const char         *what,
                  const char         *text,
                  gsize               length,
                  GError            **error)
{
  return parse (context, what, text, length, FALSE, error);
}

/* The rows of the sample @text (@length bytes): the records of a file's
 * first bytes, outside any evaluation (the caller bounds @length). When
 * @cut (the file goes on past them), the last record may be cut off: a
 * record that reaches the end of @text is left out, and an error in it is
 * no error. */
RthunkValue *
rthunk_csv_parse_sample (const char  *what,
                         const char  *text,
                         gsize        length,
                         gboolean     cut,
                         GError     **error)
{
  return parse (NULL, what, text, length, cut, error);
}
