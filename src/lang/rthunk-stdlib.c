/* rthunk-stdlib.c — the standard library catalog
 *
 * Every function is a small native with its signature and flags in the
 * table at the end; the same table is what rthunkd publishes.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rthunk-stdlib.h"
#include "rthunk-stdlib-private.h"
#include "rthunk-catalog.h"
#include "rthunk-error.h"
#include "rthunk-eval.h"
#include "rthunk-lang-private.h"
#include "rthunk-value-private.h"
#include "rthunk-value.h"

#define ARGS RTHUNK_NATIVE_ARGS
#define VALUE_OVERHEAD RTHUNK_STDLIB_VALUE_OVERHEAD

RthunkValue *
rthunk_stdlib_fail (GError     **error,
                    RthunkError  code,
                    const char  *message)
{
  g_set_error_literal (error, RTHUNK_ERROR, code, message);
  return NULL;
}

static gboolean
both_int (RthunkValue *const *args)
{
  return rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_INT;
}

/* ---- arithmetic --------------------------------------------------------- */

/* @a @op @b for +, - and *: floats unless both are ints, and ints checked
 * for overflow. */
static RthunkValue *
arith (RthunkValue *const *args,
       char                op,
       GError            **error)
{
  gint64 a, b, r;
  gboolean overflow;

  if (!both_int (args))
    {
      double x = rthunk_value_get_float (args[0]);
      double y = rthunk_value_get_float (args[1]);

      return rthunk_value_new_float (op == '+' ? x + y : op == '-' ? x - y : x * y);
    }
  a = rthunk_value_get_int (args[0]);
  b = rthunk_value_get_int (args[1]);
  if (op == '+')
    overflow = __builtin_add_overflow (a, b, &r);
  else if (op == '-')
    overflow = __builtin_sub_overflow (a, b, &r);
  else
    overflow = __builtin_mul_overflow (a, b, &r);
  if (overflow)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_OVERFLOW, _("integer overflow in %c"), op);
      return NULL;
    }
  return rthunk_value_new_int (r);
}

static RthunkValue *std_add (ARGS) { return arith (args, '+', error); }
static RthunkValue *std_sub (ARGS) { return arith (args, '-', error); }
static RthunkValue *std_mul (ARGS) { return arith (args, '*', error); }

static gboolean
check_int_divisor (RthunkValue *const *args,
                   GError            **error)
{
  gint64 a = rthunk_value_get_int (args[0]);
  gint64 b = rthunk_value_get_int (args[1]);

  if (b == 0)
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_DIVISION_BY_ZERO, _("division by zero")), FALSE;
  if (a == G_MININT64 && b == -1)
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in division")), FALSE;
  return TRUE;
}

static RthunkValue *
std_div (ARGS)
{
  if (!both_int (args))
    return rthunk_value_new_float (rthunk_value_get_float (args[0]) / rthunk_value_get_float (args[1]));
  if (!check_int_divisor (args, error))
    return NULL;
  return rthunk_value_new_int (rthunk_value_get_int (args[0]) / rthunk_value_get_int (args[1]));
}

static RthunkValue *
std_mod (ARGS)
{
  if (!both_int (args))
    {
      double b = rthunk_value_get_float (args[1]);

      if (b == 0.0)
        return rthunk_stdlib_fail (error, RTHUNK_ERROR_DIVISION_BY_ZERO, _("modulo by zero"));
      return rthunk_value_new_float (fmod (rthunk_value_get_float (args[0]), b));
    }
  if (!check_int_divisor (args, error))
    return NULL;
  return rthunk_value_new_int (rthunk_value_get_int (args[0]) % rthunk_value_get_int (args[1]));
}

/* ---- comparison --------------------------------------------------------- */

static int
compare (RthunkValue *a,
         RthunkValue *b)
{
  switch (rthunk_value_get_kind (a))
    {
    case RTHUNK_VALUE_INT:
      return (rthunk_value_get_int (a) > rthunk_value_get_int (b)) -
             (rthunk_value_get_int (a) < rthunk_value_get_int (b));
    case RTHUNK_VALUE_FLOAT:
      return (rthunk_value_get_float (a) > rthunk_value_get_float (b)) -
             (rthunk_value_get_float (a) < rthunk_value_get_float (b));
    case RTHUNK_VALUE_STR:
    default:
      return strcmp (rthunk_value_get_str (a), rthunk_value_get_str (b));
    }
}

static RthunkValue *std_eq (ARGS) { return rthunk_value_new_bool (rthunk_value_equal (args[0], args[1])); }
static RthunkValue *std_ne (ARGS) { return rthunk_value_new_bool (!rthunk_value_equal (args[0], args[1])); }
static RthunkValue *std_lt (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) < 0); }
static RthunkValue *std_le (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) <= 0); }
static RthunkValue *std_gt (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) > 0); }
static RthunkValue *std_ge (ARGS) { return rthunk_value_new_bool (compare (args[0], args[1]) >= 0); }
static RthunkValue *std_not (ARGS) { return rthunk_value_new_bool (!rthunk_value_get_bool (args[0])); }

/* ---- conversions -------------------------------------------------------- */

static RthunkValue *
std_float (ARGS)
{
  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_FLOAT)
    return rthunk_value_ref (args[0]);
  return rthunk_value_new_float ((double) rthunk_value_get_int (args[0]));
}

static RthunkValue *
std_int (ARGS)
{
  double f;

  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_INT)
    return rthunk_value_ref (args[0]);
  f = rthunk_value_get_float (args[0]);
  if (!(f > -9223372036854775808.0 && f < 9223372036854775808.0))
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_OVERFLOW, _("the float does not fit in an int"));
  return rthunk_value_new_int ((gint64) f);
}

RthunkValue *
rthunk_stdlib_item (RthunkValue  *list,
                    gsize         index,
                    GError      **error)
{
  return rthunk_value_force (rthunk_value_get_item (list, index), error);
}

/* The text `str` builds, charged to the evaluation before it grows:
 * @charged bytes are paid for, and the string never holds more. */
typedef struct
{
  RthunkCallContext *context;
  GString *out;
  gsize charged;
} StrBuilder;

/* The most a printed int or float takes. */
#define NUMBER_ROOM 40

/* Makes room for @extra more bytes, charging the evaluation first for
 * what the string will have allocated (GString grows to powers of two). */
static gboolean
str_room (StrBuilder  *b,
          gsize        extra,
          GError     **error)
{
  gsize need = b->out->len + extra + 1;
  gsize len = b->out->len;
  gsize cap;

  if (need <= b->out->allocated_len)
    return TRUE;
  cap = MAX ((gsize) 64, b->out->allocated_len);
  while (cap < need)
    cap *= 2;
  if (cap > b->charged)
    {
      if (!rthunk_call_context_charge (b->context, cap - b->charged, error))
        return FALSE;
      b->charged = cap;
    }
  g_string_set_size (b->out, need - 1);
  g_string_truncate (b->out, len);
  return TRUE;
}

static gboolean
print_forced (StrBuilder   *b,
              RthunkValue  *value,
              GError      **error);

/* A list's items, forced (a list may hold pending values); a list of
 * ints is printed without boxing them. */
static gboolean
print_items (StrBuilder   *b,
             RthunkValue  *list,
             GError      **error)
{
  const gint64 *ints = rthunk_value_peek_ints (list);

  for (gsize k = 0; k < rthunk_value_get_length (list); k++)
    {
      g_autoptr(RthunkValue) element = NULL;

      if (!str_room (b, NUMBER_ROOM + 2, error))
        return FALSE;
      if (k > 0)
        g_string_append_c (b->out, ' ');
      if (ints != NULL)
        {
          g_string_append_printf (b->out, "%" G_GINT64_FORMAT, ints[k]);
          continue;
        }
      if ((element = rthunk_stdlib_item (list, k, error)) == NULL || !print_forced (b, element, error))
        return FALSE;
    }
  return TRUE;
}

/* A record's fields, as rthunk_value_print() writes them, forced. */
static gboolean
print_fields (StrBuilder   *b,
              RthunkValue  *record,
              GError      **error)
{
  for (gsize k = 0; k < rthunk_value_get_length (record); k++)
    {
      const char *name = rthunk_value_get_field_name (record, k);
      g_autoptr(RthunkValue) field = NULL;

      if (!str_room (b, strlen (name) + 3, error))
        return FALSE;
      g_string_append_printf (b->out, "%s:%s ", k > 0 ? " " : "", name);
      if ((field = rthunk_stdlib_item (record, k, error)) == NULL || !print_forced (b, field, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
print_forced (StrBuilder   *b,
              RthunkValue  *value,
              GError      **error)
{
  gsize room = NUMBER_ROOM;

  if (rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST ||
      rthunk_value_get_kind (value) == RTHUNK_VALUE_RECORD)
    {
      gboolean list = rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST;

      if (!str_room (b, 2, error))
        return FALSE;
      g_string_append_c (b->out, list ? '[' : '{');
      if (!(list ? print_items (b, value, error) : print_fields (b, value, error)) ||
          !str_room (b, 2, error))
        return FALSE;
      g_string_append_c (b->out, list ? ']' : '}');
      return TRUE;
    }
  /* a printed string is quoted, each byte escaped at most as \uXXXX */
  if (rthunk_value_get_kind (value) == RTHUNK_VALUE_STR)
    room = 6 * strlen (rthunk_value_get_str (value)) + 2;
  if (!str_room (b, room, error))
    return FALSE;
  rthunk_value_print (value, b->out);
  return TRUE;
}

static RthunkValue *
std_str (ARGS)
{
  g_autoptr(GString) out = g_string_sized_new (0);
  StrBuilder b = { context, out, 0 };

  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_STR)
    return rthunk_value_ref (args[0]);
  if (!rthunk_call_context_charge (context, VALUE_OVERHEAD, error) ||
      !print_forced (&b, args[0], error))
    return NULL;
  return rthunk_value_new_str_take (g_string_free (g_steal_pointer (&out), FALSE));
}

/* ---- strings ------------------------------------------------------------ */

static RthunkValue *
std_concat (ARGS)
{
  const char *a = rthunk_value_get_str (args[0]);
  const char *b = rthunk_value_get_str (args[1]);
  gsize la = strlen (a), lb = strlen (b);
  char *text;

  if (!rthunk_call_context_charge (context, la + lb + VALUE_OVERHEAD, error))
    return NULL;
  text = g_malloc (la + lb + 1);
  memcpy (text, a, la);
  memcpy (text + la, b, lb + 1);
  return rthunk_value_new_str_take (text);
}

static RthunkValue *
std_str_len (ARGS)
{
  return rthunk_value_new_int (g_utf8_strlen (rthunk_value_get_str (args[0]), -1));
}

static RthunkValue *
std_substr (ARGS)
{
  const char *text = rthunk_value_get_str (args[0]);
  gint64 start = rthunk_value_get_int (args[1]);
  gint64 length = rthunk_value_get_int (args[2]);
  glong n = g_utf8_strlen (text, -1);
  const char *from;

  if (start < 0 || length < 0 || start > n || length > n - start)
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_INDEX_OUT_OF_RANGE,
                               _("substr: the range is outside the string"));
  from = g_utf8_offset_to_pointer (text, start);
  return rthunk_value_new_str_take (g_strndup (from, g_utf8_offset_to_pointer (from, length) - from));
}

/* ---- lists -------------------------------------------------------------- */

static RthunkValue *
list_take (GPtrArray *items)
{
  RthunkValue *list = rthunk_value_new_list ((RthunkValue **) items->pdata, items->len);

  g_ptr_array_unref (items);
  return list;
}

gboolean
rthunk_stdlib_charge_list (RthunkCallContext  *context,
                           guint64             n,
                           GError            **error)
{
  return rthunk_call_context_charge (context, n * sizeof (gpointer) + VALUE_OVERHEAD, error);
}

gboolean
rthunk_stdlib_has_index (RthunkValue *list,
                         gint64       index)
{
  return index >= 0 && (guint64) index < rthunk_value_get_length (list);
}

gboolean
rthunk_stdlib_nonempty (RthunkValue  *list,
                        const char   *message,
                        GError      **error)
{
  if (rthunk_value_get_length (list) > 0)
    return TRUE;
  g_set_error_literal (error, RTHUNK_ERROR, RTHUNK_ERROR_EMPTY_LIST, message);
  return FALSE;
}

static RthunkValue *
std_len (ARGS)
{
  return rthunk_value_new_int (rthunk_value_get_length (args[0]));
}

static RthunkValue *
std_nth (ARGS)
{
  gint64 index = rthunk_value_get_int (args[1]);

  if (!rthunk_stdlib_has_index (args[0], index))
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_INDEX_OUT_OF_RANGE, _("nth: the index is outside the list"));
  return rthunk_stdlib_item (args[0], index, error);
}

static RthunkValue *
std_head (ARGS)
{
  if (!rthunk_stdlib_nonempty (args[0], _("head of an empty list"), error))
    return NULL;
  return rthunk_stdlib_item (args[0], 0, error);
}

static RthunkValue *
slice (RthunkValue *list,
       gsize        from,
       gsize        to)
{
  GPtrArray *items = g_ptr_array_sized_new (to - from);

  for (gsize k = from; k < to; k++)
    g_ptr_array_add (items, rthunk_value_get_item (list, k));
  return list_take (items);
}

static RthunkValue *
std_tail (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);

  if (!rthunk_stdlib_nonempty (args[0], _("tail of an empty list"), error) ||
      !rthunk_stdlib_charge_list (context, n, error))
    return NULL;
  return slice (args[0], 1, n);
}

static RthunkValue *
std_is_empty (ARGS)
{
  return rthunk_value_new_bool (rthunk_value_get_length (args[0]) == 0);
}

static RthunkValue *
std_cons (ARGS)
{
  gsize n = rthunk_value_get_length (args[1]);
  GPtrArray *items;

  if (!rthunk_stdlib_charge_list (context, n + 1, error))
    return NULL;
  items = g_ptr_array_sized_new (n + 1);
  g_ptr_array_add (items, args[0]);
  for (gsize k = 0; k < n; k++)
    g_ptr_array_add (items, rthunk_value_get_item (args[1], k));
  return list_take (items);
}

static RthunkValue *
std_append (ARGS)
{
  gsize na = rthunk_value_get_length (args[0]), nb = rthunk_value_get_length (args[1]);
  GPtrArray *items;

  if (!rthunk_stdlib_charge_list (context, na + nb, error))
    return NULL;
  items = g_ptr_array_sized_new (na + nb);
  for (gsize k = 0; k < na; k++)
    g_ptr_array_add (items, rthunk_value_get_item (args[0], k));
  for (gsize k = 0; k < nb; k++)
    g_ptr_array_add (items, rthunk_value_get_item (args[1], k));
  return list_take (items);
}

static RthunkValue *
std_reverse (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);
  GPtrArray *items;

  if (!rthunk_stdlib_charge_list (context, n, error))
    return NULL;
  items = g_ptr_array_sized_new (n);
  for (gsize k = n; k > 0; k--)
    g_ptr_array_add (items, rthunk_value_get_item (args[0], k - 1));
  return list_take (items);
}

static RthunkValue *
std_range (ARGS)
{
  gint64 lo = rthunk_value_get_int (args[0]);
  gint64 hi = rthunk_value_get_int (args[1]);
  guint64 n = hi > lo ? (guint64) hi - (guint64) lo : 0;
  gint64 *ints;

  /* each element costs its pointer and its value, as when it is boxed */
  if (!rthunk_call_context_charge (context, n > G_MAXUINT64 / 64 ? G_MAXUINT64
                                   : n * (sizeof (gpointer) + VALUE_OVERHEAD) + VALUE_OVERHEAD, error))
    return NULL;
  ints = g_new (gint64, MAX (n, 1));
  for (guint64 k = 0; k < n; k++)
    ints[k] = lo + (gint64) k;
  return rthunk_value_new_int_list_take (ints, n);
}

static RthunkValue *
std_map (ARGS)
{
  gsize n = rthunk_value_get_length (args[1]);
  RthunkValue **items;

  if (!rthunk_stdlib_charge_list (context, n, error))
    return NULL;
  items = g_new (RthunkValue *, MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    {
      RthunkValue *arg = rthunk_value_get_item (args[1], k);

      if ((items[k] = rthunk_call_context_apply (context, args[0], &arg, 1, error)) == NULL)
        {
          while (k-- > 0)
            rthunk_value_unref (items[k]);
          g_free (items);
          return NULL;
        }
    }
  return rthunk_value_new_list_take (items, n);
}

static RthunkValue *
std_filter (ARGS)
{
  gsize n = rthunk_value_get_length (args[1]);
  RthunkValue **items;
  gsize kept = 0;

  if (!rthunk_stdlib_charge_list (context, n, error))
    return NULL;
  items = g_new (RthunkValue *, MAX (n, 1));
  for (gsize k = 0; k < n; k++)
    {
      RthunkValue *arg = rthunk_value_get_item (args[1], k);
      g_autoptr(RthunkValue) keep = rthunk_call_context_apply (context, args[0], &arg, 1, error);
      g_autoptr(RthunkValue) forced = keep != NULL ? rthunk_value_force (keep, error) : NULL;

      if (forced == NULL)
        {
          while (kept-- > 0)
            rthunk_value_unref (items[kept]);
          g_free (items);
          return NULL;
        }
      if (rthunk_value_get_bool (forced))
        items[kept++] = rthunk_value_ref (arg);
    }
  return rthunk_value_new_list_take (items, kept);
}

static RthunkValue *
std_reduce (ARGS)
{
  gsize n = rthunk_value_get_length (args[2]);
  g_autoptr(RthunkValue) acc = rthunk_value_ref (args[1]);

  for (gsize k = 0; k < n; k++)
    {
      RthunkValue *pair[2] = { acc, rthunk_value_get_item (args[2], k) };
      RthunkValue *next = rthunk_call_context_apply (context, args[0], pair, 2, error);

      if (next == NULL)
        return NULL;
      rthunk_value_unref (acc);
      acc = next;
    }
  return g_steal_pointer (&acc);
}

static RthunkValue *
std_sum (ARGS)
{
  gsize n = rthunk_value_get_length (args[0]);
  gint64 isum = 0;
  double fsum = 0.0;
  gboolean is_float = FALSE;

  for (gsize k = 0; k < n; k++)
    {
      g_autoptr(RthunkValue) x = rthunk_stdlib_item (args[0], k, error);

      if (x == NULL)
        return NULL;
      if (rthunk_value_get_kind (x) == RTHUNK_VALUE_FLOAT)
        {
          is_float = TRUE;
          fsum += rthunk_value_get_float (x);
        }
      else if (__builtin_add_overflow (isum, rthunk_value_get_int (x), &isum))
        return rthunk_stdlib_fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in sum"));
    }
  return is_float ? rthunk_value_new_float (fsum) : rthunk_value_new_int (isum);
}

/* ---- numbers ------------------------------------------------------------ */

static RthunkValue *
std_sqrt (ARGS)
{
  return rthunk_value_new_float (sqrt (rthunk_value_get_float (args[0])));
}

static RthunkValue *
std_abs (ARGS)
{
  gint64 i;

  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_FLOAT)
    return rthunk_value_new_float (fabs (rthunk_value_get_float (args[0])));
  i = rthunk_value_get_int (args[0]);
  if (i == G_MININT64)
    return rthunk_stdlib_fail (error, RTHUNK_ERROR_OVERFLOW, _("integer overflow in abs"));
  return rthunk_value_new_int (i < 0 ? -i : i);
}

static RthunkValue *std_min (ARGS) { return rthunk_value_ref (compare (args[0], args[1]) <= 0 ? args[0] : args[1]); }
static RthunkValue *std_max (ARGS) { return rthunk_value_ref (compare (args[0], args[1]) >= 0 ? args[0] : args[1]); }
static RthunkValue *std_even (ARGS) { return rthunk_value_new_bool (rthunk_value_get_int (args[0]) % 2 == 0); }
static RthunkValue *std_odd (ARGS) { return rthunk_value_new_bool (rthunk_value_get_int (args[0]) % 2 != 0); }

/* ---- io ----------------------------------------------------------------- */

static RthunkValue *
std_print (ARGS)
{
  g_autoptr(GString) out = g_string_new (NULL);
  StrBuilder b = { context, out, 0 };

  if (rthunk_value_get_kind (args[0]) == RTHUNK_VALUE_STR)
    g_string_append (out, rthunk_value_get_str (args[0]));
  else if (!print_forced (&b, args[0], error))
    return NULL;
  g_string_append_c (out, '\n');
  rthunk_evaluator_print (rthunk_call_context_get_evaluator (context), out->str, out->len);
  return rthunk_value_new_nil ();
}

static RthunkValue *
std_delay (ARGS)
{
  gint64 until = g_get_monotonic_time () + MAX (rthunk_value_get_int (args[0]), 0) * 1000;

  /* in slices, so that cancellation and the deadline stop it */
  for (gint64 now = g_get_monotonic_time (); now < until; now = g_get_monotonic_time ())
    {
      if (!rthunk_call_context_check (context, error))
        return NULL;
      g_usleep (MIN (until - now, 10000));
    }
  return rthunk_value_ref (args[1]);
}

/* (assoc-fn OP) is OP: what it adds is the user's promise, which preduce
 * reads from the form. */
static RthunkValue *
std_assoc_fn (ARGS)
{
  return rthunk_value_ref (args[0]);
}

static RthunkValue *
std_server_name (ARGS)
{
  return rthunk_value_new_str (user_data);
}

/* ---- the table ---------------------------------------------------------- */

static const RthunkNativeEntry stdlib[] = {
  { "+", "num a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_add, N_("sum of two numbers") },
  { "-", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_sub, N_("difference of two numbers") },
  { "*", "num a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_mul, N_("product of two numbers") },
  { "/", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_div, N_("quotient; int division truncates") },
  { "mod", "num a => (a a -> a)", RTHUNK_FUNC_PURE, std_mod, N_("remainder of a division") },
  { "=", "eq a => (a a -> bool)", RTHUNK_FUNC_PURE, std_eq, N_("structural equality") },
  { "!=", "eq a => (a a -> bool)", RTHUNK_FUNC_PURE, std_ne, N_("structural inequality") },
  { "<", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_lt, N_("less than") },
  { "<=", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_le, N_("less than or equal") },
  { ">", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_gt, N_("greater than") },
  { ">=", "ord a => (a a -> bool)", RTHUNK_FUNC_PURE, std_ge, N_("greater than or equal") },
  { "not", "(bool -> bool)", RTHUNK_FUNC_PURE, std_not, N_("logical negation") },
  { "float", "num a => (a -> float)", RTHUNK_FUNC_PURE, std_float, N_("the number as a float") },
  { "int", "num a => (a -> int)", RTHUNK_FUNC_PURE, std_int, N_("the number as an int; a float is truncated") },
  { "str", "(a -> str)", RTHUNK_FUNC_PURE, std_str, N_("any value as its printed text; a string as it is") },
  { "concat", "(str str -> str)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_concat, N_("two strings joined") },
  { "str-len", "(str -> int)", RTHUNK_FUNC_PURE, std_str_len, N_("the number of characters of a string") },
  { "substr", "(str int int -> str)", RTHUNK_FUNC_PURE, std_substr, N_("LENGTH characters of a string from START (0-based)") },
  { "len", "([a] -> int)", RTHUNK_FUNC_PURE, std_len, N_("the number of elements of a list") },
  { "nth", "([a] int -> a)", RTHUNK_FUNC_PURE, std_nth, N_("the element at an index (0-based)") },
  { "cons", "(a [a] -> [a])", RTHUNK_FUNC_PURE, std_cons, N_("a list with one more element in front") },
  { "append", "([a] [a] -> [a])", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_append, N_("two lists joined") },
  { "head", "([a] -> a)", RTHUNK_FUNC_PURE, std_head, N_("the first element of a list") },
  { "tail", "([a] -> [a])", RTHUNK_FUNC_PURE, std_tail, N_("a list without its first element") },
  { "empty?", "([a] -> bool)", RTHUNK_FUNC_PURE, std_is_empty, N_("whether a list is empty") },
  { "range", "(int int -> [int])", RTHUNK_FUNC_PURE, std_range, N_("the ints from LO up to, not including, HI") },
  { "reverse", "([a] -> [a])", RTHUNK_FUNC_PURE, std_reverse, N_("a list in reverse order") },
  { "map", "((a -> b) [a] -> [b])", RTHUNK_FUNC_PURE, std_map, N_("a function applied to every element") },
  { "filter", "((a -> bool) [a] -> [a])", RTHUNK_FUNC_PURE, std_filter, N_("the elements for which a predicate holds") },
  { "reduce", "((b a -> b) b [a] -> b)", RTHUNK_FUNC_PURE, std_reduce, N_("a list folded from the left, from an initial value") },
  { "sum", "num a => ([a] -> a)", RTHUNK_FUNC_PURE, std_sum, N_("the sum of a list of numbers") },
  { "sqrt", "(float -> float)", RTHUNK_FUNC_PURE, std_sqrt, N_("square root") },
  { "abs", "num a => (a -> a)", RTHUNK_FUNC_PURE, std_abs, N_("absolute value") },
  { "min", "ord a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_min, N_("the smaller of two values") },
  { "max", "ord a => (a a -> a)", RTHUNK_FUNC_PURE | RTHUNK_FUNC_ASSOC, std_max, N_("the larger of two values") },
  { "even?", "(int -> bool)", RTHUNK_FUNC_PURE, std_even, N_("whether an int is even") },
  { "odd?", "(int -> bool)", RTHUNK_FUNC_PURE, std_odd, N_("whether an int is odd") },
  { "print", "(a -> nil)", RTHUNK_FUNC_IO, std_print, N_("writes a value (a string raw) and a newline to standard output") },
  { RTHUNK_ASSOC_FN, "((a a -> a) -> (a a -> a))", RTHUNK_FUNC_PURE, std_assoc_fn, N_("its argument, declared associative: the user's promise, which preduce relies on") },
  { "delay", "(int a -> a)", RTHUNK_FUNC_NONE, std_delay, N_("waits that many milliseconds, then returns its second argument (never cached)") },
};

/* ---- shared with the other files of the library -------------------------- */

void
rthunk_stdlib_add_entries (RthunkCatalog           *catalog,
                           const RthunkNativeEntry *entries,
                           guint                    n_entries)
{
  rthunk_catalog_add_entries (catalog, entries, n_entries, NULL, NULL, NULL);
  for (guint k = 0; k < n_entries; k++)
    rthunk_func_def_set_stdlib (rthunk_catalog_lookup (catalog, entries[k].name));
}

int
rthunk_stdlib_compare (RthunkValue *a,
                       RthunkValue *b)
{
  return compare (a, b);
}

/**
 * rthunk_stdlib_add_to:
 * @catalog: a catalog
 *
 * Adds the standard library to @catalog.
 *
 * Since: 0.1
 */
void
rthunk_stdlib_add_to (RthunkCatalog *catalog)
{
  g_return_if_fail (RTHUNK_IS_CATALOG (catalog));

  rthunk_stdlib_add_entries (catalog, stdlib, G_N_ELEMENTS (stdlib));
  rthunk_stdlib_data_add_to (catalog);
  rthunk_stdlib_add_records (catalog);
}

/**
 * rthunk_stdlib_new_catalog:
 *
 * Makes a catalog of the standard library: arithmetic, comparison, lists,
 * strings and the higher-order functions.
 *
 * Returns: (transfer full): a new catalog holding the standard library
 *
 * Since: 0.1
 */
RthunkCatalog *
rthunk_stdlib_new_catalog (void)
{
  RthunkCatalog *catalog = rthunk_catalog_new ();

  rthunk_stdlib_add_to (catalog);
  return catalog;
}

/**
 * rthunk_stdlib_add_server_functions:
 * @catalog: a provider's catalog
 * @server_name: the name of the server
 *
 * Adds the functions that tell about the server that runs them:
 * `server-name : (-> str)` (io).
 *
 * Since: 0.1
 */
void
rthunk_stdlib_add_server_functions (RthunkCatalog *catalog,
                                    const char    *server_name)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (RTHUNK_IS_CATALOG (catalog));
  g_return_if_fail (server_name != NULL);

  if (!rthunk_catalog_add (catalog, "server-name", "(-> str)", RTHUNK_FUNC_IO,
                           _("the name of the server that runs it"), std_server_name,
                           g_strdup (server_name), g_free, &error))
    g_error ("server-name: %s", error->message);
}
