/* rthunk-frame-validate.c — one Thrift binary message, walked before any
 * decoder sees it
 *
 * rthunk_frame_validate() walks a message iteratively, with an explicit
 * stack, in time linear in its length however deep it nests: every length
 * and count must fit in what is left. Offsets in error messages count from
 * the first byte of the message, that is, after the 4-byte frame header.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <thrift/c_glib/protocol/thrift_protocol.h>

#include "rthunk-frame.h"

/* Strict message headers: version in the high half, type in the low byte. */
#define MESSAGE_VERSION_MASK 0xffff0000u
#define MESSAGE_VERSION_1    0x80010000u
#define MESSAGE_UNUSED_MASK  0x0000ff00u
#define MESSAGE_TYPE_MASK    0x000000ffu

/* ---- the validator ------------------------------------------------------ */

typedef enum {
  SCOPE_STRUCT,
  SCOPE_LIST,   /* lists and sets */
  SCOPE_MAP
} ScopeKind;

/* One open struct or container. */
typedef struct {
  guint64 left;        /* list/set: elements; map: keys + values to come */
  guint8  kind;        /* ScopeKind */
  guint8  key_type;    /* list/set: element type; map: key type */
  guint8  value_type;  /* map: value type */
} Scope;

typedef struct {
  const guint8 *data;
  gsize         len;
  gsize         pos;
  guint         max_depth;
  guint         depth;
  guint         capacity;
  Scope        *stack;   /* inline_stack, or a heap array past its size */
  Scope         inline_stack[RTHUNK_FRAME_MAX_DEPTH];
} Walker;

static void
walker_init (Walker       *w,
             const guint8 *data,
             gsize         len,
             guint         max_depth)
{
  w->data = data;
  w->len = len;
  w->pos = 0;
  w->max_depth = max_depth;
  w->depth = 0;
  w->capacity = G_N_ELEMENTS (w->inline_stack);
  w->stack = w->inline_stack;
}

static void
walker_clear (Walker *w)
{
  if (w->stack != w->inline_stack)
    g_free (w->stack);
  w->stack = NULL;
}

static gsize
walker_left (const Walker *w)
{
  return w->len - w->pos;
}

static gboolean
walker_need (Walker  *w,
             gsize    n,
             GError **error)
{
  if (n <= walker_left (w))
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("message is cut short at byte %zu: %zu more bytes needed"),
               w->len, n - walker_left (w));
  return FALSE;
}

static gboolean
walker_skip (Walker  *w,
             gsize    n,
             GError **error)
{
  if (!walker_need (w, n, error))
    return FALSE;
  w->pos += n;
  return TRUE;
}

static gboolean
walker_read_u8 (Walker  *w,
                guint8  *out,
                GError **error)
{
  if (!walker_need (w, 1, error))
    return FALSE;
  *out = w->data[w->pos++];
  return TRUE;
}

static gboolean
walker_read_i32 (Walker  *w,
                 gint32  *out,
                 GError **error)
{
  guint32 be;

  if (!walker_need (w, 4, error))
    return FALSE;
  memcpy (&be, w->data + w->pos, 4);
  w->pos += 4;
  *out = (gint32) GUINT32_FROM_BE (be);
  return TRUE;
}

/* The value types the binary protocol can carry; T_VOID, T_U64, T_UTF8 and
 * T_UTF16 exist in ThriftType but no binary-protocol writer emits them. */
static gboolean
is_value_type (guint8 type)
{
  switch (type)
    {
    case T_BOOL:
    case T_BYTE:
    case T_DOUBLE:
    case T_I16:
    case T_I32:
    case T_I64:
    case T_STRING:
    case T_STRUCT:
    case T_MAP:
    case T_SET:
    case T_LIST:
      return TRUE;
    default:
      return FALSE;
    }
}

/* The fewest bytes a value of @type can take on the wire. */
static guint64
min_value_size (guint8 type)
{
  switch (type)
    {
    case T_BOOL:
    case T_BYTE:
    case T_STRUCT:  /* a lone STOP */
      return 1;
    case T_I16:
      return 2;
    case T_I32:
    case T_STRING:  /* the length */
      return 4;
    case T_I64:
    case T_DOUBLE:
      return 8;
    case T_SET:
    case T_LIST:    /* element type + count */
      return 5;
    case T_MAP:     /* key type + value type + count */
      return 6;
    default:
      g_assert_not_reached ();
      return 1;
    }
}

static gboolean
check_type (guint8   type,
            gsize    at,
            GError **error)
{
  if (is_value_type (type))
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("unknown type code %u at byte %zu"), (guint) type, at);
  return FALSE;
}

/* Refuses a negative count, and one whose elements, each at least
 * @min_size bytes, cannot fit in what is left of the message. */
static gboolean
check_count (Walker      *w,
             gint32       count,
             guint64      min_size,
             gsize        at,
             GError     **error)
{
  if (count < 0)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
                   _("negative length or count %d at byte %zu"), count, at);
      return FALSE;
    }
  if ((guint64) count * min_size <= walker_left (w))
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("length or count %d at byte %zu cannot fit in the %zu bytes "
                 "left in the message"), count, at, walker_left (w));
  return FALSE;
}

static gboolean
walk_string (Walker  *w,
             GError **error)
{
  gsize at = w->pos;
  gint32 length;

  return walker_read_i32 (w, &length, error)
         && check_count (w, length, 1, at, error)
         && walker_skip (w, (gsize) length, error);
}

/* Only called with depth == capacity < max_depth. */
static void
walker_grow (Walker *w)
{
  guint capacity = w->capacity <= w->max_depth / 2
                   ? w->capacity * 2 : w->max_depth;

  if (w->stack == w->inline_stack)
    {
      w->stack = g_new (Scope, capacity);
      memcpy (w->stack, w->inline_stack, sizeof w->inline_stack);
    }
  else
    w->stack = g_renew (Scope, w->stack, capacity);
  w->capacity = capacity;
}

static gboolean
walker_push (Walker     *w,
             ScopeKind   kind,
             guint8      key_type,
             guint8      value_type,
             guint64     left,
             gsize       at,
             GError    **error)
{
  Scope *scope;

  if (w->depth >= w->max_depth)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_DEEP,
                   _("frame nests deeper than %u levels at byte %zu"),
                   w->max_depth, at);
      return FALSE;
    }
  if (w->depth == w->capacity)
    walker_grow (w);
  scope = &w->stack[w->depth++];
  scope->kind = (guint8) kind;
  scope->key_type = key_type;
  scope->value_type = value_type;
  scope->left = left;
  return TRUE;
}

static gboolean
walk_list_header (Walker  *w,
                  GError **error)
{
  gsize at = w->pos;
  guint8 element_type;
  gint32 count;

  if (!walker_read_u8 (w, &element_type, error)
      || !check_type (element_type, at, error)
      || !walker_read_i32 (w, &count, error)
      || !check_count (w, count, min_value_size (element_type), at, error))
    return FALSE;
  return walker_push (w, SCOPE_LIST, element_type, 0, (guint64) count,
                      at, error);
}

static gboolean
walk_map_header (Walker  *w,
                 GError **error)
{
  gsize at = w->pos;
  guint8 key_type;
  guint8 value_type;
  gint32 count;

  if (!walker_read_u8 (w, &key_type, error)
      || !check_type (key_type, at, error)
      || !walker_read_u8 (w, &value_type, error)
      || !check_type (value_type, at + 1, error)
      || !walker_read_i32 (w, &count, error)
      || !check_count (w, count,
                       min_value_size (key_type) + min_value_size (value_type),
                       at, error))
    return FALSE;
  return walker_push (w, SCOPE_MAP, key_type, value_type,
                      2 * (guint64) count, at, error);
}

/* Walks one value of @type, or opens its scope if it has one. */
static gboolean
walk_value (Walker  *w,
            guint8   type,
            GError **error)
{
  switch (type)
    {
    case T_BOOL:
    case T_BYTE:
      return walker_skip (w, 1, error);
    case T_I16:
      return walker_skip (w, 2, error);
    case T_I32:
      return walker_skip (w, 4, error);
    case T_I64:
    case T_DOUBLE:
      return walker_skip (w, 8, error);
    case T_STRING:
      return walk_string (w, error);
    case T_STRUCT:
      return walker_push (w, SCOPE_STRUCT, 0, 0, 0, w->pos, error);
    case T_MAP:
      return walk_map_header (w, error);
    case T_SET:
    case T_LIST:
      return walk_list_header (w, error);
    default:
      g_assert_not_reached ();
      return FALSE;
    }
}

/* One step inside the innermost open scope: a struct field, a container
 * element, or the end of the scope. Every step consumes a byte or closes a
 * scope, and every scope opened consumed a byte, so a walk is linear. */
static gboolean
walker_step (Walker  *w,
             GError **error)
{
  Scope *top = &w->stack[w->depth - 1];
  gsize at = w->pos;
  guint8 type;

  if (top->kind == SCOPE_STRUCT)
    {
      if (!walker_read_u8 (w, &type, error))
        return FALSE;
      if (type == T_STOP)
        {
          w->depth--;
          return TRUE;
        }
      if (!check_type (type, at, error) || !walker_skip (w, 2, error))
        return FALSE;
    }
  else if (top->left == 0)
    {
      w->depth--;
      return TRUE;
    }
  else
    {
      /* a map alternates key, value: an even count left means a key */
      type = top->kind == SCOPE_MAP && top->left % 2 == 1
             ? top->value_type : top->key_type;
      top->left--;
    }
  return walk_value (w, type, error);
}

static gboolean
check_message_type (guint32  type,
                    gsize    at,
                    GError **error)
{
  if (type >= T_CALL && type <= T_ONEWAY)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("unknown message type %u at byte %zu"), type, at);
  return FALSE;
}

/* The method name: Thrift 0.17 reads it into a C string, so a name
 * holding a NUL byte would be taken for the part before it. */
static gboolean
walk_method_name (Walker  *w,
                  GError **error)
{
  gsize at = w->pos + 4;

  if (!walk_string (w, error))
    return FALSE;
  if (memchr (w->data + at, '\0', w->pos - at) == NULL)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("the method name at byte %zu holds a NUL byte"), at);
  return FALSE;
}

/* Strict form: i32 version|type, string name, i32 seqid. */
static gboolean
walk_strict_header (Walker   *w,
                    guint32   version,
                    GError  **error)
{
  if ((version & MESSAGE_VERSION_MASK) != MESSAGE_VERSION_1
      || (version & MESSAGE_UNUSED_MASK) != 0)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
                   _("bad protocol version 0x%08x at byte 0"), version);
      return FALSE;
    }
  return check_message_type (version & MESSAGE_TYPE_MASK, 3, error)
         && walk_method_name (w, error)
         && walker_skip (w, 4, error);
}

static gboolean
walk_message_header (Walker  *w,
                     GError **error)
{
  gint32 first;

  if (!walker_read_i32 (w, &first, error))
    return FALSE;
  /* Thrift 0.17's c_glib decoder misreads the old non-strict header (it
   * reports success and leaves the name unset), so only the strict form,
   * which every current Thrift library writes, is accepted. */
  if (first < 0)
    return walk_strict_header (w, (guint32) first, error);
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("the message does not start with a strict binary-protocol header at byte 0"));
  return FALSE;
}

static gboolean
walk_message (Walker  *w,
              GError **error)
{
  if (w->len == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR,
                           RTHUNK_FRAME_ERROR_EMPTY, _("empty message"));
      return FALSE;
    }
  if (!walk_message_header (w, error)
      || !walker_push (w, SCOPE_STRUCT, 0, 0, 0, w->pos, error))
    return FALSE;
  while (w->depth > 0)
    if (!walker_step (w, error))
      return FALSE;
  if (w->pos == w->len)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("%zu bytes of trailing data after the message at byte %zu"),
               walker_left (w), w->pos);
  return FALSE;
}

/**
 * rthunk_frame_validate:
 * @data: (array length=len) (nullable): a message, without its frame header
 * @len: the length of @data
 * @max_depth: the deepest nesting allowed, at least 1; the message's
 *   argument or result struct is level 1
 * @error: return location for a #GError
 *
 * Checks that @data is exactly one Thrift binary-protocol message, in the
 * strict header form, followed by nothing. The walk keeps an
 * explicit stack instead of recursing and takes time linear in @len,
 * however deep the input nests.
 *
 * Every length or count must fit in the bytes that are left, counting the
 * fewest bytes each element can take, so no decoder is talked into a large
 * allocation. A message that ends before its data does, or data that ends
 * before the message does, is %RTHUNK_FRAME_ERROR_MALFORMED: the frame was
 * received whole, it just does not hold one message.
 *
 * Returns: %TRUE if @data is valid; %FALSE with @error set to
 *   %RTHUNK_FRAME_ERROR_EMPTY, %RTHUNK_FRAME_ERROR_TOO_DEEP or
 *   %RTHUNK_FRAME_ERROR_MALFORMED otherwise
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_validate (const guint8  *data,
                       gsize          len,
                       guint          max_depth,
                       GError       **error)
{
  Walker w;
  gboolean valid;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (max_depth > 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  walker_init (&w, data, len, max_depth);
  valid = walk_message (&w, error);
  walker_clear (&w);
  return valid;
}

/**
 * rthunk_frame_check_call:
 * @data: (array length=len) (nullable): a message, without its frame header
 * @len: the length of @data
 * @error: return location for a #GError
 *
 * Checks that @data starts with a strict header of message type CALL, the
 * only kind a server answers. A REPLY or EXCEPTION sent to a server, or a
 * ONEWAY (the IDL has no oneway method), is refused here, before the
 * generated processor sees it: Thrift 0.17's processor fails on them
 * without saying why.
 *
 * Returns: %TRUE if @data is a call; %FALSE with @error set to
 *   %RTHUNK_FRAME_ERROR_MALFORMED otherwise
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_check_call (const guint8  *data,
                         gsize          len,
                         GError       **error)
{
  guint32 version;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len < 4)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
                   _("a message of %zu bytes has no header"), len);
      return FALSE;
    }
  version = (guint32) data[0] << 24 | (guint32) data[1] << 16 | (guint32) data[2] << 8 | data[3];
  if ((version & MESSAGE_VERSION_MASK) == MESSAGE_VERSION_1
      && (version & MESSAGE_TYPE_MASK) == T_CALL)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_MALFORMED,
               _("a server takes only calls, not a message of type %u"),
               version & MESSAGE_TYPE_MASK);
  return FALSE;
}
