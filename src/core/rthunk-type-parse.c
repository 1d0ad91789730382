/* rthunk-type-parse.c — signatures read into type terms: what a catalog's
 * "(int int -> int)", "num a => ([a] -> a)" or "({age: int | r} -> int)"
 * says
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "rthunk-type.h"
#include "rthunk-error.h"
#include "rthunk-type-private.h"

typedef struct
{
  const char *text;
  const char *p;
  GHashTable *vars;   /* name → RthunkType (var) */
  guint next_id;
  guint depth;
} SigParser;

static void
skip_space (SigParser *parser)
{
  while (g_ascii_isspace (*parser->p))
    parser->p++;
}

static char *
read_word (SigParser *parser)
{
  const char *start;

  skip_space (parser);
  start = parser->p;
  while (g_ascii_isalnum (*parser->p) || *parser->p == '_')
    parser->p++;
  return start == parser->p ? NULL : g_strndup (start, parser->p - start);
}

static gboolean
sig_fail (SigParser  *parser,
          GError    **error,
          const char *what)
{
  g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_SYNTAX,
               _("signature “%s”, at character %d: %s"),
               parser->text, (int) (parser->p - parser->text) + 1, what);
  return FALSE;
}

/* Past @c after blanks: a closing bracket, the colon after a field name;
 * FALSE with @what as the error if it is not there. */
static gboolean
sig_expect (SigParser   *parser,
            char         c,
            const char  *what,
            GError     **error)
{
  skip_space (parser);
  if (*parser->p != c)
    return sig_fail (parser, error, what);
  parser->p++;
  return TRUE;
}

static RthunkType *
sig_var (SigParser       *parser,
         const char      *name,
         RthunkTypeClass  klass)
{
  RthunkType *var = g_hash_table_lookup (parser->vars, name);

  if (var == NULL)
    {
      var = rthunk_type_new_var (parser->next_id++, klass);
      g_hash_table_insert (parser->vars, g_strdup (name), var);
    }
  else
    rthunk_type_constrain (var, klass);
  return rthunk_type_ref (var);
}

static RthunkType *parse_sig_type (SigParser *parser, GError **error);

static RthunkType *
parse_sig_func (SigParser  *parser,
                GError    **error)
{
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(RthunkType) result = NULL;

  for (;;)
    {
      RthunkType *param;

      skip_space (parser);
      if (g_str_has_prefix (parser->p, "->"))
        break;
      if ((param = parse_sig_type (parser, error)) == NULL)
        return NULL;
      g_ptr_array_add (params, param);
    }
  parser->p += 2;
  if ((result = parse_sig_type (parser, error)) == NULL ||
      !sig_expect (parser, ')', _("expected “)”"), error))
    return NULL;
  return rthunk_type_new_func ((RthunkType **) params->pdata, params->len, result);
}

static RthunkType *
parse_sig_word (SigParser  *parser,
                GError    **error)
{
  static const struct { const char *name; RthunkTypeKind kind; } basics[] = {
    { "int", RTHUNK_TYPE_INT }, { "float", RTHUNK_TYPE_FLOAT },
    { "bool", RTHUNK_TYPE_BOOL }, { "str", RTHUNK_TYPE_STR },
    { "nil", RTHUNK_TYPE_NIL },
  };
  g_autofree char *word = read_word (parser);

  if (word == NULL)
    return sig_fail (parser, error, _("expected a type")), NULL;
  for (guint k = 0; k < G_N_ELEMENTS (basics); k++)
    if (strcmp (word, basics[k].name) == 0)
      return rthunk_type_new_basic (basics[k].kind);
  if (!g_ascii_islower (word[0]))
    return sig_fail (parser, error, _("unknown type name")), NULL;
  return sig_var (parser, word, RTHUNK_TYPE_CLASS_ANY);
}

/* After "(": (maybe T), else a function type. "maybe" followed by one
 * type and ")" is the maybe type; (maybe -> int) is a function of a
 * variable named maybe, as before. */
static RthunkType *
parse_sig_maybe (SigParser  *parser,
                 GError    **error)
{
  const char *start = parser->p;
  g_autofree char *word = read_word (parser);
  g_autoptr(RthunkType) inner = NULL;

  skip_space (parser);
  if (g_strcmp0 (word, "maybe") == 0 && !g_str_has_prefix (parser->p, "->"))
    {
      if ((inner = parse_sig_type (parser, error)) == NULL)
        return NULL;
      skip_space (parser);
      if (*parser->p == ')')
        {
          parser->p++;
          return rthunk_type_new_maybe (inner);
        }
    }
  parser->p = start;
  return parse_sig_func (parser, error);
}

/* A field name: the characters of a symbol, up to the colon. */
static char *
read_field_name (SigParser *parser)
{
  const char *start;

  skip_space (parser);
  start = parser->p;
  while (*parser->p != '\0' && !g_ascii_isspace (*parser->p) && strchr (":,|{}[]()", *parser->p) == NULL)
    parser->p++;
  return start == parser->p ? NULL : g_strndup (start, parser->p - start);
}

/* One "name: type" of a record signature into @fields and @names. */
static gboolean
parse_sig_field (SigParser  *parser,
                 GPtrArray  *names,
                 GPtrArray  *fields,
                 GError    **error)
{
  char *name = read_field_name (parser);
  RthunkType *field;

  if (name == NULL)
    return sig_fail (parser, error, _("expected a field name"));
  g_ptr_array_add (names, name);
  if (!sig_expect (parser, ':', _("expected “:” after the field name"), error))
    return FALSE;
  if ((field = parse_sig_type (parser, error)) == NULL)
    return FALSE;
  g_ptr_array_add (fields, field);
  skip_space (parser);
  if (*parser->p == ',')
    parser->p++;
  return TRUE;
}

/* {age: int, name: str}, {age: a | r}, {| r}, {}: after the brace. */
static RthunkType *
parse_sig_record (SigParser  *parser,
                  GError    **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func ((GDestroyNotify) rthunk_type_unref);
  g_autoptr(RthunkType) row = NULL;
  RthunkType *type;

  for (skip_space (parser); *parser->p != '}' && *parser->p != '|'; skip_space (parser))
    if (!parse_sig_field (parser, names, fields, error))
      return NULL;
  if (*parser->p == '|')
    {
      g_autofree char *word = NULL;

      parser->p++;
      if ((word = read_word (parser)) == NULL || !g_ascii_islower (word[0]))
        return sig_fail (parser, error, _("expected a row variable after “|”")), NULL;
      row = sig_var (parser, word, RTHUNK_TYPE_CLASS_ANY);
    }
  if (!sig_expect (parser, '}', _("expected “}”"), error))
    return NULL;
  type = rthunk_type_new_record ((const char *const *) names->pdata, (RthunkType **) fields->pdata,
                                 fields->len, row);
  if (type == NULL)
    return sig_fail (parser, error, _("a field name repeats or is not a keyword name")), NULL;
  return type;
}

static RthunkType *
parse_sig_type (SigParser  *parser,
                GError    **error)
{
  RthunkType *type = NULL;

  skip_space (parser);
  if (++parser->depth > RTHUNK_TYPE_MAX_DEPTH)
    return sig_fail (parser, error, _("type nested too deeply")), NULL;
  if (*parser->p == '[')
    {
      g_autoptr(RthunkType) element = NULL;

      parser->p++;
      if ((element = parse_sig_type (parser, error)) == NULL ||
          !sig_expect (parser, ']', _("expected “]”"), error))
        return NULL;
      type = rthunk_type_new_list (element);
    }
  else if (*parser->p == '(')
    {
      parser->p++;
      type = parse_sig_maybe (parser, error);
    }
  else if (*parser->p == '{')
    {
      parser->p++;
      type = parse_sig_record (parser, error);
    }
  else
    type = parse_sig_word (parser, error);
  parser->depth--;
  return type;
}

/* "num a, eq b =>" */
static gboolean
parse_constraints (SigParser  *parser,
                   GError    **error)
{
  if (strstr (parser->p, "=>") == NULL)
    return TRUE;
  for (;;)
    {
      g_autofree char *klass = read_word (parser);
      g_autofree char *name = read_word (parser);
      g_autoptr(RthunkType) var = NULL;
      RthunkTypeClass k = rthunk_type_class_from_name (klass);

      if (k == RTHUNK_TYPE_CLASS_ANY || name == NULL)
        return sig_fail (parser, error, _("expected a constraint such as “num a”"));
      var = sig_var (parser, name, k);
      skip_space (parser);
      if (*parser->p == ',')
        parser->p++;
      else if (g_str_has_prefix (parser->p, "=>"))
        break;
      else
        return sig_fail (parser, error, _("expected “,” or “=>”"));
    }
  parser->p += 2;
  return TRUE;
}

/**
 * rthunk_type_parse:
 * @text: a signature, e.g. `(int int -> int)` or `num a => (a a -> a)`
 * @error: return location for a #GError
 *
 * Reads a type in signature syntax. Lower-case names other than the basic
 * types are type variables, quantified over the whole signature.
 *
 * Returns: (transfer full) (nullable): the type, or %NULL with @error set
 *
 * Since: 0.1
 */
RthunkType *
rthunk_type_parse (const char  *text,
                   GError     **error)
{
  SigParser parser = { text, text, NULL, 0, 0 };
  RthunkType *type = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  parser.vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) rthunk_type_unref);
  if (parse_constraints (&parser, error) &&
      (type = parse_sig_type (&parser, error)) != NULL)
    {
      skip_space (&parser);
      if (*parser.p != '\0')
        {
          sig_fail (&parser, error, _("unexpected text after the type"));
          g_clear_pointer (&type, rthunk_type_unref);
        }
    }
  g_hash_table_unref (parser.vars);
  return type;
}

