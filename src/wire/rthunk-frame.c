/* rthunk-frame.c — validated Thrift framed/binary messages
 *
 * A frame is a 4-byte big-endian signed length and then exactly one Thrift
 * binary-protocol message. rthunk_frame_read() reads one, refuses every
 * length it does not like before allocating, and walks the message with
 * rthunk_frame_validate() — iteratively, with an explicit stack — before any
 * Thrift decoder sees it. RthunkFrameTransport then serves that message to
 * Thrift's binary protocol and fails, instead of looping or blocking, when a
 * decoder asks for more than the message holds.
 *
 * Offsets in error messages count from the first byte of the message, that
 * is, after the 4-byte frame header.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <thrift/c_glib/protocol/thrift_protocol.h>

#include "rthunk-frame.h"
#include "rthunk-budget.h"
#include "rthunk-error.h"

#define FRAME_HEADER_BYTES 4

/* Strict message headers: version in the high half, type in the low byte. */
#define MESSAGE_VERSION_MASK 0xffff0000u
#define MESSAGE_VERSION_1    0x80010000u
#define MESSAGE_UNUSED_MASK  0x0000ff00u
#define MESSAGE_TYPE_MASK    0x000000ffu

G_DEFINE_QUARK (rthunk-frame-error-quark, rthunk_frame_error)

/* ---- system errors ---------------------------------------------------- */

static gboolean
errno_is_timeout (int errsv)
{
  if (errsv == EAGAIN)
    return TRUE;
#if EWOULDBLOCK != EAGAIN
  if (errsv == EWOULDBLOCK)
    return TRUE;
#endif
  return FALSE;
}

/* Sets TIMEOUT for an expired SO_RCVTIMEO/SO_SNDTIMEO, IO otherwise.
 * @doing completes "while …" and is already translated. Returns FALSE. */
static gboolean
set_errno_error (GError     **error,
                 int          errsv,
                 const char  *doing)
{
  if (errno_is_timeout (errsv))
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
                 _("Timed out while %s"), doing);
  else
    g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                 _("Error while %s: %s"), doing, g_strerror (errsv));
  return FALSE;
}

/**
 * rthunk_frame_set_timeouts:
 * @fd: a socket descriptor
 * @timeout_ms: the receive and send timeout in milliseconds; 0 for none
 * @error: return location for a #GError
 *
 * Sets `SO_RCVTIMEO` and `SO_SNDTIMEO` on @fd, so that a blocked
 * rthunk_frame_read() or rthunk_frame_write() fails with
 * %RTHUNK_FRAME_ERROR_TIMEOUT instead of waiting forever for an idle peer.
 *
 * Returns: %TRUE on success, %FALSE with @error set (%RTHUNK_FRAME_ERROR_IO)
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_set_timeouts (int       fd,
                           guint     timeout_ms,
                           GError  **error)
{
  struct timeval tv;
  int errsv;

  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0
      && setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0)
    return TRUE;

  errsv = errno;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
               _("Cannot set socket timeouts: %s"), g_strerror (errsv));
  return FALSE;
}

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
         && walk_string (w, error)
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

/* ---- reading and writing frames ----------------------------------------- */

/* The whole-frame deadline: once a frame's first byte has arrived, the
 * rest must arrive within the budget, however it trickles in (a client
 * sending one byte a second would otherwise hold its thread forever). */
typedef struct
{
  guint budget_ms;              /* 0: none */
  gint64 deadline_us;           /* 0: the frame has not started */
} FrameClock;

static gboolean
frame_clock_expired (FrameClock  *clock,
                     GError     **error)
{
  if (clock == NULL || clock->budget_ms == 0 || clock->deadline_us == 0 ||
      g_get_monotonic_time () <= clock->deadline_us)
    return FALSE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TIMEOUT,
               _("the frame did not arrive whole within %u ms"), clock->budget_ms);
  return TRUE;
}

/* Reads until @len bytes arrived or the stream ended; *@got says how many. */
static gboolean
read_fully (int          fd,
            guint8      *buf,
            gsize        len,
            gsize       *got,
            FrameClock  *clock,
            GError     **error)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n;
      int errsv;

      if (frame_clock_expired (clock, error))
        {
          *got = done;
          return FALSE;
        }
      n = read (fd, buf + done, len - done);
      errsv = errno;
      if (n > 0 && clock != NULL && clock->deadline_us == 0 && clock->budget_ms > 0)
        clock->deadline_us = g_get_monotonic_time () + (gint64) clock->budget_ms * 1000;
      if (n > 0)
        done += (gsize) n;
      else if (n == 0)
        break;
      else if (errsv != EINTR)
        {
          *got = done;
          return set_errno_error (error, errsv, _("reading a frame"));
        }
    }
  *got = done;
  return TRUE;
}

static gboolean
read_header (int          fd,
             gint32      *length,
             FrameClock  *clock,
             GError     **error)
{
  guint8 header[FRAME_HEADER_BYTES];
  guint32 be;
  gsize got;

  if (!read_fully (fd, header, sizeof header, &got, clock, error))
    return FALSE;
  if (got == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_CLOSED,
                           _("connection closed by the peer"));
      return FALSE;
    }
  if (got < sizeof header)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("connection closed inside a frame header, after %zu of "
                     "4 bytes"), got);
      return FALSE;
    }
  memcpy (&be, header, sizeof be);
  *length = (gint32) GUINT32_FROM_BE (be);
  return TRUE;
}

static gboolean
check_frame_length (gint32    length,
                    gsize     max_bytes,
                    GError  **error)
{
  if (length == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_EMPTY,
                           _("zero-length frame"));
      return FALSE;
    }
  if (length > 0 && (gsize) length <= max_bytes)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
               _("frame length %d is not between 1 and %zu"), length,
               max_bytes);
  return FALSE;
}

/**
 * rthunk_frame_read:
 * @fd: a connected descriptor, blocking, ideally with rthunk_frame_set_timeouts()
 * @max_bytes: the largest frame body accepted; 0 for
 *   %RTHUNK_FRAME_DEFAULT_MAX_BYTES
 * @error: return location for a #GError
 *
 * Reads one frame and validates its message with rthunk_frame_validate()
 * and %RTHUNK_FRAME_MAX_DEPTH. The length is checked before anything is
 * allocated for the body.
 *
 * After any error but %RTHUNK_FRAME_ERROR_EMPTY,
 * %RTHUNK_FRAME_ERROR_TOO_DEEP or %RTHUNK_FRAME_ERROR_MALFORMED (which
 * consume exactly one frame) the position in the stream is unknown, and
 * the connection should be closed.
 *
 * Returns: (transfer full) (nullable): the message, without its header;
 *   %NULL with @error set on failure
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_read (int       fd,
                   gsize     max_bytes,
                   GError  **error)
{
  return rthunk_frame_read_within (fd, max_bytes, 0, error);
}

/**
 * rthunk_frame_read_within:
 * @fd: a connected descriptor
 * @max_bytes: the largest frame body accepted; 0 for the default
 * @budget_ms: once the frame's first byte arrived, how long the rest may
 *   take; 0 for no limit
 * @error: return location for a #GError
 *
 * rthunk_frame_read() with a whole-frame deadline: a peer that sends a
 * frame a byte at a time, slower than the budget allows, gets
 * %RTHUNK_FRAME_ERROR_TIMEOUT. (The socket timeouts bound each read, not
 * the frame.)
 *
 * Returns: (transfer full) (nullable): the message, or %NULL with @error set
 *
 * Since: 0.1
 */
/* A frame body charged to a memory budget: freeing it releases the charge. */
typedef struct
{
  RthunkBudget *budget;
  gsize length;
  guint8 data[];
} ChargedBody;

static void
charged_body_free (gpointer data)
{
  ChargedBody *body = data;

  rthunk_budget_release (body->budget, body->length + sizeof *body);
  g_free (body);
}

/* Room for a body of @length bytes, charged to @budget (if any) before
 * it is allocated; NULL with @error set when the budget has none. */
static guint8 *
alloc_body (RthunkBudget  *budget,
            gint32         length,
            ChargedBody  **charged,
            GError       **error)
{
  *charged = NULL;
  if (budget == NULL)
    return g_malloc ((gsize) length);
  if (!rthunk_budget_charge (budget, (guint64) length + sizeof (ChargedBody)))
    {
      g_autoptr(GError) refused = NULL;

      rthunk_budget_set_error (budget, &refused, RTHUNK_ERROR_OVERLOADED, _("a frame"), (guint64) length);
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE, refused->message);
      return NULL;
    }
  *charged = g_malloc (sizeof (ChargedBody) + (gsize) length);
  (*charged)->budget = budget;
  (*charged)->length = (gsize) length;
  return (*charged)->data;
}

static GBytes *
read_frame (int            fd,
            gsize          max_bytes,
            guint          budget_ms,
            gboolean       validate,
            RthunkBudget  *memory,
            GError       **error)
{
  ChargedBody *charged = NULL;
  g_autoptr(GBytes) message = NULL;
  FrameClock clock = { budget_ms, 0 };
  guint8 *body;
  gint32 length;
  gsize got;

  if (max_bytes == 0)
    max_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  if (!read_header (fd, &length, &clock, error)
      || !check_frame_length (length, max_bytes, error)
      || (body = alloc_body (memory, length, &charged, error)) == NULL)
    return NULL;
  /* owned by the GBytes from now on, whatever happens */
  message = charged != NULL
    ? g_bytes_new_with_free_func (body, (gsize) length, charged_body_free, charged)
    : g_bytes_new_take (body, (gsize) length);
  if (!read_fully (fd, body, (gsize) length, &got, &clock, error))
    return NULL;
  if (got < (gsize) length)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("connection closed inside a frame, after %zu of %d "
                     "bytes"), got, length);
      return NULL;
    }
  if (validate && !rthunk_frame_validate (body, (gsize) length, RTHUNK_FRAME_MAX_DEPTH, error))
    return NULL;
  return g_steal_pointer (&message);
}

GBytes *
rthunk_frame_read_within (int       fd,
                          gsize     max_bytes,
                          guint     budget_ms,
                          GError  **error)
{
  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return read_frame (fd, max_bytes, budget_ms, TRUE, NULL, error);
}

/* sendmsg() for MSG_NOSIGNAL on sockets; writev() for pipes and files. */
static gssize
send_iov (int           fd,
          struct iovec *iov,
          int           n_iov)
{
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t) n_iov;
  n = sendmsg (fd, &msg, MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK)
    n = writev (fd, iov, n_iov);
  return n;
}

static void
advance_iov (struct iovec **iov,
             int           *n_iov,
             gsize          n)
{
  while (*n_iov > 0 && n >= (*iov)->iov_len)
    {
      n -= (*iov)->iov_len;
      (*iov)++;
      (*n_iov)--;
    }
  if (*n_iov > 0)
    {
      (*iov)->iov_base = (guint8 *) (*iov)->iov_base + n;
      (*iov)->iov_len -= n;
    }
}

static gboolean
write_iov (int            fd,
           struct iovec  *iov,
           int            n_iov,
           GError       **error)
{
  while (n_iov > 0)
    {
      gssize n = send_iov (fd, iov, n_iov);
      int errsv = errno;

      if (n < 0 && errsv == EINTR)
        continue;
      if (n < 0)
        return set_errno_error (error, errsv, _("writing a frame"));
      if (n == 0)
        return set_errno_error (error, EIO, _("writing a frame"));
      advance_iov (&iov, &n_iov, (gsize) n);
    }
  return TRUE;
}

/**
 * rthunk_frame_write:
 * @fd: a connected descriptor
 * @data: (array length=len): one message, without a frame header
 * @len: the length of @data, 1 to %G_MAXINT32
 * @error: return location for a #GError
 *
 * Writes the 4-byte header and @data as one frame, resuming after partial
 * writes and %EINTR. Sockets are written with `MSG_NOSIGNAL`, so a peer that
 * went away gives %RTHUNK_FRAME_ERROR_IO (`EPIPE`), not `SIGPIPE`.
 *
 * Returns: %TRUE on success; %FALSE with @error set to
 *   %RTHUNK_FRAME_ERROR_EMPTY, %RTHUNK_FRAME_ERROR_TOO_LARGE,
 *   %RTHUNK_FRAME_ERROR_TIMEOUT or %RTHUNK_FRAME_ERROR_IO
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_write (int            fd,
                    const guint8  *data,
                    gsize          len,
                    GError       **error)
{
  struct iovec iov[2];
  guint32 be;

  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len == 0)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_EMPTY,
                           _("refusing to send a zero-length frame"));
      return FALSE;
    }
  if (len > G_MAXINT32)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("a message of %zu bytes does not fit in a frame"), len);
      return FALSE;
    }

  be = GUINT32_TO_BE ((guint32) len);
  iov[0].iov_base = &be;
  iov[0].iov_len = sizeof be;
  iov[1].iov_base = (gpointer) data;
  iov[1].iov_len = len;
  return write_iov (fd, iov, G_N_ELEMENTS (iov), error);
}

/* ---- RthunkFrameTransport ----------------------------------------------- */

/**
 * RthunkFrameTransport:
 *
 * A #ThriftTransport for one connection (or for memory) that hands Thrift's
 * binary protocol one validated message at a time.
 *
 * Reads are served from the current message and are all or nothing: asking
 * for more than the message has left fails with
 * %RTHUNK_FRAME_ERROR_TRUNCATED, never loops and never blocks. When the
 * message is used up and thrift_transport_read_end() marked its end, the
 * next read receives the next frame from the descriptor (that is how a
 * client reads a reply). Writes collect a message that
 * thrift_transport_flush() sends as one frame.
 *
 * The transport keeps #ThriftTransport's `remainingMessageSize_` and
 * `knowMessageSize_` equal to what is left of, and the size of, the
 * current message, which is what the binary protocol checks container
 * counts against.
 *
 * Since: 0.1
 */
struct _RthunkFrameTransport
{
  ThriftTransport  parent_instance;

  int              fd;             /* -1 in memory mode and once closed */
  gboolean         memory_mode;
  gsize            max_frame_bytes;
  guint            frame_budget_ms; /* whole-frame deadline; 0: none */
  RthunkBudget    *memory;         /* (nullable) charged for frames read */

  GBytes          *input;          /* the message being decoded, or NULL */
  gsize            input_pos;
  gboolean         input_checked;  /* validated (it is before any read) */
  gboolean         check_on_read;  /* receive leaves validation to the first read */
  gboolean         at_boundary;    /* no message begun since read_end */

  GByteArray      *output;
};

G_DEFINE_FINAL_TYPE (RthunkFrameTransport, rthunk_frame_transport,
                     THRIFT_TYPE_TRANSPORT)

static gsize
input_left (RthunkFrameTransport *self)
{
  if (self->input == NULL)
    return 0;
  return g_bytes_get_size (self->input) - self->input_pos;
}

static void
set_budget (RthunkFrameTransport *self,
            glong                 known,
            glong                 remaining)
{
  ThriftTransport *transport = THRIFT_TRANSPORT (self);

  transport->knowMessageSize_ = known;
  transport->remainingMessageSize_ = remaining;
}

static void
drop_input (RthunkFrameTransport *self)
{
  g_clear_pointer (&self->input, g_bytes_unref);
  self->input_pos = 0;
  set_budget (self, 0, 0);
}

static void
load_message (RthunkFrameTransport *self,
              GBytes               *message)
{
  glong size = (glong) g_bytes_get_size (message);

  drop_input (self);
  self->input = g_bytes_ref (message);
  self->input_checked = TRUE;
  self->at_boundary = FALSE;
  set_budget (self, size, size);
}

static gboolean
set_closed_error (GError **error)
{
  g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                       _("the connection is closed"));
  return FALSE;
}

static gboolean
close_fd (RthunkFrameTransport  *self,
          GError               **error)
{
  int fd = self->fd;
  int errsv;

  if (fd < 0)
    return TRUE;
  self->fd = -1;
  shutdown (fd, SHUT_RDWR);  /* fails harmlessly on a non-socket */
  if (close (fd) == 0)
    return TRUE;
  errsv = errno;
  if (errsv == EINTR)  /* Linux has closed it anyway */
    return TRUE;
  return set_errno_error (error, errsv, _("closing the connection"));
}

static gboolean
rthunk_frame_transport_is_open (ThriftTransport *transport)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  return self->memory_mode || self->fd >= 0;
}

/* Non-blocking: TRUE while the peer may still send, FALSE once it closed. */
static gboolean
peek_fd (int       fd,
         GError  **error)
{
  for (;;)
    {
      guint8 byte;
      gssize n = recv (fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      int errsv = errno;

      if (n >= 0)
        return n > 0;
      if (errno_is_timeout (errsv) || errsv == ENOTSOCK)
        return TRUE;
      if (errsv != EINTR)
        return set_errno_error (error, errsv, _("peeking at the connection"));
    }
}

static gboolean
rthunk_frame_transport_peek (ThriftTransport  *transport,
                             GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  if (input_left (self) > 0)
    return TRUE;
  if (self->fd < 0)
    return FALSE;
  return peek_fd (self->fd, error);
}

static gboolean
rthunk_frame_transport_open (ThriftTransport  *transport,
                             GError          **error)
{
  if (rthunk_frame_transport_is_open (transport))
    return TRUE;
  return set_closed_error (error);
}

static gboolean
rthunk_frame_transport_close (ThriftTransport  *transport,
                              GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  drop_input (self);
  self->at_boundary = TRUE;
  return close_fd (self, error);
}

/* In fd mode, between messages, receives the next one. */
static gboolean
ensure_input (RthunkFrameTransport  *self,
              GError               **error)
{
  if (input_left (self) > 0 || !self->at_boundary || self->memory_mode)
    return TRUE;
  return rthunk_frame_transport_receive (self, error);
}

/* Thrift 0.17 does not always stop at the first failure: read_list_begin
 * and read_map_begin ask for "count × -1" bytes after
 * get_min_serialized_size() failed on an unknown type code, and a reader
 * may go on after a nested read failed. The first error stands; setting
 * another over it is a GLib warning (regressions/…/gerror-twice-*.bin). */
static gboolean
error_pending (GError **error)
{
  return error != NULL && *error != NULL;
}

static gint32
rthunk_frame_transport_read (ThriftTransport  *transport,
                             gpointer          buf,
                             guint32           len,
                             GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  if (error_pending (error))
    return -1;
  if (len == 0)
    return 0;
  if (!ensure_input (self, error))
    return -1;
  if (!self->input_checked && self->input != NULL)
    {
      if (!rthunk_frame_validate (g_bytes_get_data (self->input, NULL), g_bytes_get_size (self->input),
                                  RTHUNK_FRAME_MAX_DEPTH, error))
        return -1;
      self->input_checked = TRUE;
    }
  if (len > input_left (self))
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
                   _("read of %u bytes past the end of the message "
                     "(%zu bytes left)"), len, input_left (self));
      return -1;
    }
  memcpy (buf, (const guint8 *) g_bytes_get_data (self->input, NULL)
               + self->input_pos, len);
  self->input_pos += len;
  transport->remainingMessageSize_ = MAX (transport->remainingMessageSize_
                                          - (glong) len, 0);
  return (gint32) len;
}

/* Reads are already all or nothing; ThriftTransport's own read_all would
 * loop forever on a read that returns 0. */
static gint32
rthunk_frame_transport_read_all (ThriftTransport  *transport,
                                 gpointer          buf,
                                 guint32           len,
                                 GError          **error)
{
  return rthunk_frame_transport_read (transport, buf, len, error);
}

static gboolean
rthunk_frame_transport_read_end (ThriftTransport  *transport,
                                 GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  drop_input (self);
  self->at_boundary = TRUE;
  return TRUE;
}

static gboolean
rthunk_frame_transport_write (ThriftTransport  *transport,
                              const gpointer    buf,
                              const guint32     len,
                              GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  if (!rthunk_frame_transport_is_open (transport))
    return set_closed_error (error);
  if (len > self->max_frame_bytes - self->output->len)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("message exceeds the frame limit of %zu bytes"),
                   self->max_frame_bytes);
      return FALSE;
    }
  g_byte_array_append (self->output, buf, len);
  return TRUE;
}

static gboolean
rthunk_frame_transport_write_end (ThriftTransport  *transport,
                                  GError          **error)
{
  return TRUE;
}

static gboolean
rthunk_frame_transport_flush (ThriftTransport  *transport,
                              GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);
  gboolean sent;

  if (self->memory_mode)
    return TRUE;  /* kept for rthunk_frame_transport_take_output() */
  if (self->fd < 0)
    return set_closed_error (error);
  if (self->output->len == 0)
    return TRUE;
  sent = rthunk_frame_write (self->fd, self->output->data, self->output->len,
                             error);
  g_byte_array_set_size (self->output, 0);
  return sent;
}

static gboolean
rthunk_frame_transport_check_read_bytes_available (ThriftTransport  *transport,
                                                   glong             num_bytes,
                                                   GError          **error)
{
  if (error_pending (error))
    return FALSE;
  if (num_bytes >= 0 && num_bytes <= transport->remainingMessageSize_)
    return TRUE;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
               _("the decoder expects %ld bytes but the message has %ld left"),
               num_bytes, transport->remainingMessageSize_);
  return FALSE;
}

/* A negative @new_size means "no limit": all that is left of the message. */
static gboolean
rthunk_frame_transport_reset_consumed_message_size (ThriftTransport  *transport,
                                                    glong             new_size,
                                                    GError          **error)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (transport);

  if (new_size < 0)
    new_size = (glong) input_left (self);
  if (new_size > transport->knowMessageSize_)
    {
      g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TOO_LARGE,
                   _("message size %ld exceeds the known size %ld"),
                   new_size, transport->knowMessageSize_);
      return FALSE;
    }
  set_budget (self, new_size, new_size);
  return TRUE;
}

static gboolean
rthunk_frame_transport_count_consumed_message_bytes (ThriftTransport  *transport,
                                                     glong             num_bytes,
                                                     GError          **error)
{
  if (num_bytes >= 0 && num_bytes <= transport->remainingMessageSize_)
    {
      transport->remainingMessageSize_ -= num_bytes;
      return TRUE;
    }
  transport->remainingMessageSize_ = 0;
  g_set_error (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_TRUNCATED,
               _("consumed %ld bytes past the end of the message"), num_bytes);
  return FALSE;
}

static gboolean
rthunk_frame_transport_update_known_message_size (ThriftTransport  *transport,
                                                  glong             size,
                                                  GError          **error)
{
  glong consumed = transport->knowMessageSize_
                   - transport->remainingMessageSize_;

  return rthunk_frame_transport_reset_consumed_message_size (transport, size,
                                                             error)
         && rthunk_frame_transport_count_consumed_message_bytes (transport,
                                                                 consumed,
                                                                 error);
}

static void
rthunk_frame_transport_constructed (GObject *object)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (object);

  G_OBJECT_CLASS (rthunk_frame_transport_parent_class)->constructed (object);
  /* ThriftTransport's construct properties default to 100 MiB */
  set_budget (self, 0, 0);
}

static void
rthunk_frame_transport_finalize (GObject *object)
{
  RthunkFrameTransport *self = RTHUNK_FRAME_TRANSPORT (object);

  close_fd (self, NULL);
  g_clear_pointer (&self->input, g_bytes_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
  G_OBJECT_CLASS (rthunk_frame_transport_parent_class)->finalize (object);
}

static void
rthunk_frame_transport_class_init (RthunkFrameTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  ThriftTransportClass *transport_class = THRIFT_TRANSPORT_CLASS (klass);

  object_class->constructed = rthunk_frame_transport_constructed;
  object_class->finalize = rthunk_frame_transport_finalize;

  transport_class->is_open = rthunk_frame_transport_is_open;
  transport_class->peek = rthunk_frame_transport_peek;
  transport_class->open = rthunk_frame_transport_open;
  transport_class->close = rthunk_frame_transport_close;
  transport_class->read = rthunk_frame_transport_read;
  transport_class->read_end = rthunk_frame_transport_read_end;
  transport_class->write = rthunk_frame_transport_write;
  transport_class->write_end = rthunk_frame_transport_write_end;
  transport_class->flush = rthunk_frame_transport_flush;
  transport_class->read_all = rthunk_frame_transport_read_all;
  transport_class->updateKnownMessageSize =
    rthunk_frame_transport_update_known_message_size;
  transport_class->checkReadBytesAvailable =
    rthunk_frame_transport_check_read_bytes_available;
  transport_class->resetConsumedMessageSize =
    rthunk_frame_transport_reset_consumed_message_size;
  transport_class->countConsumedMessageBytes =
    rthunk_frame_transport_count_consumed_message_bytes;
}

static void
rthunk_frame_transport_init (RthunkFrameTransport *self)
{
  self->fd = -1;
  self->memory_mode = TRUE;
  self->max_frame_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  self->at_boundary = TRUE;
  self->output = g_byte_array_new ();
}

/**
 * rthunk_frame_transport_new:
 * @fd: a connected descriptor, which the transport takes over and closes;
 *   or -1 for a transport that only works in memory
 * @max_frame_bytes: the largest frame received or sent; 0 for
 *   %RTHUNK_FRAME_DEFAULT_MAX_BYTES
 *
 * Creates a transport. With a descriptor, thrift_transport_flush() sends
 * what was written as one frame and reads receive frames as needed. In
 * memory mode, messages come from rthunk_frame_transport_set_input() and
 * go to rthunk_frame_transport_take_output().
 *
 * Returns: (transfer full): a new #RthunkFrameTransport
 *
 * Since: 0.1
 */
RthunkFrameTransport *
rthunk_frame_transport_new (int    fd,
                            gsize  max_frame_bytes)
{
  RthunkFrameTransport *self = g_object_new (RTHUNK_TYPE_FRAME_TRANSPORT,
                                             NULL);

  self->fd = fd >= 0 ? fd : -1;
  self->memory_mode = fd < 0;
  if (max_frame_bytes == 0)
    max_frame_bytes = RTHUNK_FRAME_DEFAULT_MAX_BYTES;
  self->max_frame_bytes = MIN (max_frame_bytes, (gsize) G_MAXINT32);
  return self;
}

/**
 * rthunk_frame_transport_receive:
 * @self: a transport with a descriptor
 * @error: return location for a #GError
 *
 * Reads and validates the next frame with rthunk_frame_read(), dropping
 * whatever was left of the current message, and makes it the message that
 * reads are served from. Reads call this themselves at a message boundary,
 * so a caller only needs it to look at a message before decoding it.
 *
 * Returns: %TRUE on success; %FALSE with @error set as by
 *   rthunk_frame_read(), or to %RTHUNK_FRAME_ERROR_IO if the transport is
 *   closed or in memory mode
 *
 * Since: 0.1
 */
gboolean
rthunk_frame_transport_receive (RthunkFrameTransport  *self,
                                GError               **error)
{
  g_autoptr(GBytes) message = NULL;

  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  drop_input (self);
  self->at_boundary = TRUE;
  if (self->memory_mode)
    {
      g_set_error_literal (error, RTHUNK_FRAME_ERROR, RTHUNK_FRAME_ERROR_IO,
                           _("a memory transport has no connection to "
                             "receive from"));
      return FALSE;
    }
  if (self->fd < 0)
    return set_closed_error (error);
  message = read_frame (self->fd, self->max_frame_bytes, self->frame_budget_ms, !self->check_on_read,
                        self->memory, error);
  if (message == NULL)
    return FALSE;
  load_message (self, message);
  self->input_checked = !self->check_on_read;
  return TRUE;
}

/**
 * rthunk_frame_transport_set_input:
 * @self: a transport
 * @message: (nullable): the next message to decode, already validated with
 *   rthunk_frame_validate(); or %NULL to drop the current one
 *
 * Makes @message the message that reads are served from, replacing what
 * was left of the previous one. The transport keeps a reference.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_input (RthunkFrameTransport *self,
                                  GBytes               *message)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  drop_input (self);
  self->at_boundary = TRUE;
  if (message != NULL)
    load_message (self, message);
}

/**
 * rthunk_frame_transport_take_output:
 * @self: a transport
 *
 * Takes the bytes written since the last take (in memory mode) or the last
 * flush (with a descriptor), leaving the output empty.
 *
 * Returns: (transfer full): the bytes, possibly empty
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_transport_take_output (RthunkFrameTransport *self)
{
  GByteArray *output;

  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), NULL);

  output = g_steal_pointer (&self->output);
  self->output = g_byte_array_new ();
  return g_byte_array_free_to_bytes (output);
}

/**
 * rthunk_frame_transport_get_input:
 * @self: a transport
 *
 * The message reads are served from, as rthunk_frame_transport_receive()
 * or rthunk_frame_transport_set_input() loaded it, for a caller that
 * decodes it itself (whatever was already read of it is not skipped).
 *
 * Returns: (transfer none) (nullable): the current message, or %NULL
 *
 * Since: 0.1
 */
GBytes *
rthunk_frame_transport_get_input (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), NULL);

  return self->input;
}

/**
 * rthunk_frame_transport_set_check_on_read:
 * @self: a transport
 * @check_on_read: whether rthunk_frame_transport_receive() leaves
 *   validation to the first read
 *
 * With %TRUE a received message is validated only when something reads
 * it through the transport (the generated code), not when it arrives: a
 * caller that decodes rthunk_frame_transport_get_input() with its own
 * bounds-checked reader (rthunk-codec) does not pay for it twice.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_check_on_read (RthunkFrameTransport *self,
                                          gboolean              check_on_read)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->check_on_read = check_on_read;
}

/**
 * rthunk_frame_transport_get_fd:
 * @self: a transport
 *
 * Returns: the descriptor the transport owns, or -1 in memory mode and
 *   once closed
 *
 * Since: 0.1
 */
int
rthunk_frame_transport_get_fd (RthunkFrameTransport *self)
{
  g_return_val_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self), -1);

  return self->fd;
}

/**
 * rthunk_frame_transport_set_frame_budget:
 * @self: a transport
 * @budget_ms: how long a frame may take to arrive once it started; 0: no limit
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_frame_budget (RthunkFrameTransport *self,
                                         guint                 budget_ms)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->frame_budget_ms = budget_ms;
}

/**
 * rthunk_frame_transport_set_memory_budget:
 * @self: a transport with a descriptor
 * @budget: (nullable): a memory budget that outlives every frame read
 *
 * Charges @budget for each frame received, when its header arrives and
 * before its body is allocated, until the frame is freed. A frame the
 * budget has no room for is refused with %RTHUNK_FRAME_ERROR_TOO_LARGE
 * ("server memory budget reached: …"), and the connection should be
 * closed.
 *
 * Since: 0.1
 */
void
rthunk_frame_transport_set_memory_budget (RthunkFrameTransport *self,
                                          RthunkBudget         *budget)
{
  g_return_if_fail (RTHUNK_IS_FRAME_TRANSPORT (self));

  self->memory = budget;
}
