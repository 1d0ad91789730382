/* rthunk-reader.c — text to AST
 *
 * A hand-written reader over validated UTF-8. Every node gets the line and
 * column (in characters) where it starts; nesting is bounded by
 * RTHUNK_NODE_MAX_DEPTH so that no input can exhaust the stack.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "rthunk-reader.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-value-private.h"

typedef struct
{
  const char *source;         /* interned */
  const char *p;
  const char *end;
  guint line;
  guint col;
  guint depth;
  gboolean at_end_of_input;   /* set when an error is due to the text ending */
} Reader;

static G_GNUC_PRINTF (5, 6) gboolean
reader_fail (Reader      *reader,
             guint        line,
             guint        col,
             GError     **error,
             const char  *format,
             ...)
{
  va_list args;

  va_start (args, format);
  rthunk_set_pos_error_valist (error, reader->source, line, col,
                               RTHUNK_ERROR_SYNTAX, format, args);
  va_end (args);
  return FALSE;
}

static void
advance (Reader *reader)
{
  if (*reader->p == '\n')
    {
      reader->line++;
      reader->col = 1;
    }
  else if (((guchar) *reader->p & 0xC0) != 0x80)
    reader->col++;
  reader->p++;
  /* continuation bytes of a multi-byte character do not count as columns */
  while (reader->p < reader->end && ((guchar) *reader->p & 0xC0) == 0x80)
    reader->p++;
}

static void
skip_blank (Reader *reader)
{
  while (reader->p < reader->end)
    {
      char c = *reader->p;

      if (c == ';')
        {
          while (reader->p < reader->end && *reader->p != '\n')
            advance (reader);
        }
      else if (g_ascii_isspace (c) || c == ',')
        advance (reader);
      else
        break;
    }
}

static gboolean
is_delimiter (char c)
{
  switch (c)
    {
    case '(': case ')': case '[': case ']': case '{': case '}':
    case '"': case ';': case ',':
      return TRUE;
    default:
      return g_ascii_isspace (c);
    }
}

static RthunkNode *
positioned (RthunkNode *node,
            Reader     *reader,
            guint       line,
            guint       col)
{
  rthunk_node_set_position_interned (node, reader->source, line, col);
  return node;
}

/* ---- atoms ------------------------------------------------------------ */

static gboolean
read_escape (Reader   *reader,
             GString  *out,
             GError  **error)
{
  guint line = reader->line, col = reader->col;
  char c;

  advance (reader);                       /* the backslash */
  if (reader->p >= reader->end)
    {
      reader->at_end_of_input = TRUE;
      return reader_fail (reader, line, col, error, _("unterminated string"));
    }
  c = *reader->p;
  switch (c)
    {
    case 'n':  g_string_append_c (out, '\n'); break;
    case 't':  g_string_append_c (out, '\t'); break;
    case 'r':  g_string_append_c (out, '\r'); break;
    case '\\': g_string_append_c (out, '\\'); break;
    case '"':  g_string_append_c (out, '"'); break;
    case 'u':
      {
        const char *start;
        gunichar ch = 0;
        guint digits = 0;

        advance (reader);
        if (reader->p >= reader->end || *reader->p != '{')
          return reader_fail (reader, line, col, error, _("expected “{” after “\\u”"));
        advance (reader);
        start = reader->p;
        while (reader->p < reader->end && g_ascii_isxdigit (*reader->p) && digits < 6)
          {
            ch = ch * 16 + g_ascii_xdigit_value (*reader->p);
            digits++;
            advance (reader);
          }
        if (reader->p >= reader->end || *reader->p != '}' || start == reader->p ||
            !g_unichar_validate (ch) || ch == 0)
          return reader_fail (reader, line, col, error,
                              _("“\\u{…}” needs 1 to 6 hex digits naming a Unicode character other than NUL"));
        g_string_append_unichar (out, ch);
        break;
      }
    default:
      return reader_fail (reader, line, col, error, _("unknown escape “\\%c” in a string"),
                          g_ascii_isprint (c) ? c : '?');
    }
  advance (reader);
  return TRUE;
}

static RthunkNode *
read_string (Reader  *reader,
             GError **error)
{
  guint line = reader->line, col = reader->col;
  g_autoptr(GString) text = g_string_new (NULL);

  advance (reader);                       /* the opening quote */
  for (;;)
    {
      const char *start = reader->p;

      if (reader->p >= reader->end)
        {
          reader->at_end_of_input = TRUE;
          reader_fail (reader, line, col, error, _("unterminated string"));
          return NULL;
        }
      if (*reader->p == '"')
        break;
      if (*reader->p == '\\')
        {
          if (!read_escape (reader, text, error))
            return NULL;
          continue;
        }
      advance (reader);
      g_string_append_len (text, start, reader->p - start);
    }
  advance (reader);                       /* the closing quote */
  return positioned (rthunk_node_new_text_len (RTHUNK_NODE_STR, text->str, text->len), reader, line, col);
}

static gboolean
looks_like_number (const char *token)
{
  if (*token == '-' || *token == '+')
    token++;
  return g_ascii_isdigit (*token) || (*token == '.' && g_ascii_isdigit (token[1]));
}

static RthunkNode *
read_number (Reader      *reader,
             const char  *token,
             guint        line,
             guint        col,
             GError     **error)
{
  char *end = NULL;

  if (strpbrk (token, ".eE") == NULL)
    {
      gint64 i;

      errno = 0;
      i = g_ascii_strtoll (token, &end, 10);
      if (errno == ERANGE)
        return reader_fail (reader, line, col, error,
                            _("integer literal “%s” does not fit in 64 bits"), token), NULL;
      if (*end == '\0')
        return positioned (rthunk_node_new_int (i), reader, line, col);
    }
  else
    {
      double f;

      errno = 0;
      f = g_ascii_strtod (token, &end);
      if (*end == '\0' && errno != ERANGE && g_ascii_isdigit (end[-1]))
        return positioned (rthunk_node_new_float (f), reader, line, col);
    }
  reader_fail (reader, line, col, error, _("malformed number “%s”"), token);
  return NULL;
}

/* ##Inf, ##-Inf and ##NaN: the floats that have no digits, as printed. */
static RthunkNode *
read_symbolic_float (Reader      *reader,
                     const char  *token,
                     guint        line,
                     guint        col,
                     GError     **error)
{
  if (strcmp (token, "##Inf") == 0)
    return positioned (rthunk_node_new_float (INFINITY), reader, line, col);
  if (strcmp (token, "##-Inf") == 0)
    return positioned (rthunk_node_new_float (-INFINITY), reader, line, col);
  if (strcmp (token, "##NaN") == 0)
    return positioned (rthunk_node_new_float (NAN), reader, line, col);
  reader_fail (reader, line, col, error, _("unknown “%s” (## is followed by Inf, -Inf or NaN)"), token);
  return NULL;
}

/* A symbol, or a keyword after its colon, is made of the characters a
 * record's field name is (rthunk_value_is_field_name()). */
static gboolean
valid_symbol (const char *token)
{
  return rthunk_value_is_field_name (token);
}

/* Most atoms are short: their text is copied to the stack, not the heap. */
#define READER_TOKEN_INLINE 64

static RthunkNode *
read_atom (Reader  *reader,
           GError **error)
{
  guint line = reader->line, col = reader->col;
  const char *start = reader->p;
  char inline_token[READER_TOKEN_INLINE];
  g_autofree char *long_token = NULL;
  char *token;
  gsize length;

  /* a token holds no line break (a delimiter): an ASCII byte is a column */
  while (reader->p < reader->end && !is_delimiter (*reader->p))
    {
      if ((guchar) *reader->p < 0x80)
        {
          reader->p++;
          reader->col++;
        }
      else
        advance (reader);
    }
  length = reader->p - start;
  if (length < sizeof inline_token)
    {
      memcpy (inline_token, start, length);
      inline_token[length] = '\0';
      token = inline_token;
    }
  else
    token = long_token = g_strndup (start, length);

  if (token[0] == ':')
    {
      if (token[1] == '\0' || !valid_symbol (token + 1))
        return reader_fail (reader, line, col, error, _("malformed keyword “%s”"), token), NULL;
      return positioned (rthunk_node_new_text_len (RTHUNK_NODE_KEYWORD, token + 1, length - 1), reader, line, col);
    }
  if (looks_like_number (token))
    return read_number (reader, token, line, col, error);
  if (token[0] == '#' && token[1] == '#')
    return read_symbolic_float (reader, token, line, col, error);
  if ((length == 4 && memcmp (token, "true", 4) == 0) || (length == 5 && memcmp (token, "false", 5) == 0))
    return positioned (rthunk_node_new_bool (token[0] == 't'), reader, line, col);
  if (length == 3 && memcmp (token, "nil", 3) == 0)
    return positioned (rthunk_node_new_nil (), reader, line, col);
  if (!valid_symbol (token))
    return reader_fail (reader, line, col, error, _("unexpected character in “%s”"), token), NULL;
  return positioned (rthunk_node_new_text_len (RTHUNK_NODE_SYMBOL, token, length), reader, line, col);
}

/* ---- forms ------------------------------------------------------------ */

static RthunkNode *read_form (Reader *reader, GError **error);

/* The children of a sequence being read: on the stack while few. */
#define READER_SEQ_INLINE 16

typedef struct
{
  RthunkNode *inline_items[READER_SEQ_INLINE];
  RthunkNode **items;
  guint len;
  guint size;
} Items;

static void
items_add (Items      *items,
           RthunkNode *item)
{
  if (items->len == items->size)
    {
      items->size *= 2;
      if (items->items == items->inline_items)
        items->items = g_memdup2 (items->inline_items, sizeof items->inline_items);
      items->items = g_renew (RthunkNode *, items->items, items->size);
    }
  items->items[items->len++] = item;
}

static void
items_clear (Items *items)
{
  for (guint k = 0; k < items->len; k++)
    rthunk_node_unref (items->items[k]);
  if (items->items != items->inline_items)
    g_free (items->items);
}

static RthunkNode *
read_seq_items (Reader  *reader,
                Items   *items,
                GError **error)
{
  guint line = reader->line, col = reader->col;
  char open = *reader->p;
  char close = open == '(' ? ')' : open == '[' ? ']' : '}';
  RthunkNode *seq;

  if (reader->depth >= RTHUNK_NODE_MAX_DEPTH)
    return reader_fail (reader, line, col, error,
                        _("forms nest deeper than %d levels"), RTHUNK_NODE_MAX_DEPTH), NULL;
  reader->depth++;
  advance (reader);
  /* {:k v …} is read as the form (record :k v …) */
  if (open == '{')
    items_add (items, positioned (rthunk_node_new_text (RTHUNK_NODE_SYMBOL, "record"), reader, line, col));
  for (;;)
    {
      RthunkNode *item;

      skip_blank (reader);
      if (reader->p >= reader->end)
        {
          reader->at_end_of_input = TRUE;
          return reader_fail (reader, line, col, error, _("“%c” is never closed"), open), NULL;
        }
      if (*reader->p == close)
        break;
      if (*reader->p == ')' || *reader->p == ']' || *reader->p == '}')
        return reader_fail (reader, reader->line, reader->col, error,
                            _("“%c” closes “%c” opened at %u:%u"), *reader->p, open, line, col), NULL;
      if ((item = read_form (reader, error)) == NULL)
        return NULL;
      items_add (items, item);
    }
  advance (reader);
  reader->depth--;
  seq = rthunk_node_new_seq_take (open == '[' ? RTHUNK_NODE_VECTOR : RTHUNK_NODE_LIST,
                                  items->items, items->len);
  items->len = 0;               /* the sequence holds them now */
  return positioned (seq, reader, line, col);
}

static RthunkNode *
read_seq (Reader  *reader,
          GError **error)
{
  Items items;
  RthunkNode *seq;

  items.items = items.inline_items;
  items.len = 0;
  items.size = READER_SEQ_INLINE;
  seq = read_seq_items (reader, &items, error);
  items_clear (&items);
  return seq;
}

static RthunkNode *
read_form (Reader  *reader,
           GError **error)
{
  switch (*reader->p)
    {
    case '(':
    case '[':
    case '{':
      return read_seq (reader, error);
    case ')':
    case ']':
    case '}':
      reader_fail (reader, reader->line, reader->col, error,
                   _("unexpected “%c”"), *reader->p);
      return NULL;
    case '"':
      return read_string (reader, error);
    default:
      return read_atom (reader, error);
    }
}

static gboolean
check_text (Reader      *reader,
            gsize        length,
            GError     **error)
{
  const char *bad = NULL;

  if (!g_utf8_validate_len (reader->p, length, &bad))
    {
      /* position of the first bad byte */
      while (reader->p < bad)
        advance (reader);
      return reader_fail (reader, reader->line, reader->col, error,
                          _("the text is not valid UTF-8"));
    }
  return TRUE;
}

static GPtrArray *
read_all (Reader      *reader,
          GError     **error)
{
  g_autoptr(GPtrArray) forms = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_node_unref);
  const char *start = reader->p;

  if (!check_text (reader, reader->end - reader->p, error))
    return NULL;
  reader->p = start;
  reader->line = reader->col = 1;
  for (;;)
    {
      RthunkNode *form;

      skip_blank (reader);
      if (reader->p >= reader->end)
        break;
      if ((form = read_form (reader, error)) == NULL)
        return NULL;
      g_ptr_array_add (forms, form);
    }
  return g_steal_pointer (&forms);
}

/**
 * rthunk_reader_read_all:
 * @source: the name of the text, used in messages (`<expr>`, a file name)
 * @text: UTF-8 text
 * @length: its length in bytes, or -1 if nul-terminated
 * @error: return location for a #GError
 *
 * Reads every form of @text. Errors are %RTHUNK_ERROR_SYNTAX with a message
 * `SOURCE:LINE:COL: error: …`.
 *
 * Returns: (transfer container) (element-type RthunkNode) (nullable): the forms,
 *   or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_reader_read_all (const char  *source,
                        const char  *text,
                        gssize       length,
                        GError     **error)
{
  Reader reader = { 0, };

  g_return_val_if_fail (text != NULL, NULL);

  if (length < 0)
    length = strlen (text);
  reader.source = g_intern_string (source != NULL ? source : "<input>");
  reader.p = text;
  reader.end = text + length;
  reader.line = reader.col = 1;
  if (memchr (text, '\0', length) != NULL)
    {
      reader_fail (&reader, 1, 1, error, _("the text contains a NUL byte"));
      return NULL;
    }
  return read_all (&reader, error);
}

/**
 * rthunk_reader_check_complete:
 * @text: UTF-8 text, nul-terminated
 *
 * Tells a line editor whether @text is complete, or whether a form or a
 * string is still open and more lines should follow.
 *
 * Returns: the status
 *
 * Since: 0.1
 */
RthunkReadStatus
rthunk_reader_check_complete (const char *text)
{
  Reader reader = { 0, };
  g_autoptr(GPtrArray) forms = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (text != NULL, RTHUNK_READ_INVALID);

  reader.source = g_intern_static_string ("<input>");
  reader.p = text;
  reader.end = text + strlen (text);
  forms = read_all (&reader, &error);
  if (forms != NULL)
    return RTHUNK_READ_COMPLETE;
  return reader.at_end_of_input ? RTHUNK_READ_INCOMPLETE : RTHUNK_READ_INVALID;
}
