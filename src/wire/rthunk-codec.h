/* rthunk-codec.h — the hot messages, straight between bytes and trees (private)
 *
 * Thrift 0.17 c_glib builds a GObject for every struct it reads or writes:
 * for an AST of a few nodes that is most of the cost of a call. The codec
 * reads and writes the same binary-protocol bytes directly: an Ast struct
 * into an RthunkNode tree, a Value struct to and from an RthunkValue, a
 * TypeTerm to and from an RthunkType, and the primitives the fast paths of
 * the server (rthunk-handler.c) and the client (rthunk-client.c) build
 * their messages from. What it reads has passed rthunk_frame_validate(),
 * but every read is bounds-checked again; anything the codec does not
 * expect makes it fail, and the caller then hands the whole message to
 * the generated Thrift code, which answers exactly as it always did.
 *
 * Trees are checked as rthunk-wire.c checks them (children name earlier
 * nodes, each used once, the depth is bounded, text is UTF-8), with the
 * same errors.
 */
#pragma once

#include <glib.h>

#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"

G_BEGIN_DECLS

/* Thrift's binary-protocol type codes. */
enum
{
  RTHUNK_CODEC_STOP = 0,
  RTHUNK_CODEC_BOOL = 2,
  RTHUNK_CODEC_BYTE = 3,
  RTHUNK_CODEC_DOUBLE = 4,
  RTHUNK_CODEC_I16 = 6,
  RTHUNK_CODEC_I32 = 8,
  RTHUNK_CODEC_I64 = 10,
  RTHUNK_CODEC_STRING = 11,
  RTHUNK_CODEC_STRUCT = 12,
  RTHUNK_CODEC_MAP = 13,
  RTHUNK_CODEC_SET = 14,
  RTHUNK_CODEC_LIST = 15
};

/* Message types. */
enum
{
  RTHUNK_CODEC_CALL = 1,
  RTHUNK_CODEC_REPLY = 2,
  RTHUNK_CODEC_EXCEPTION = 3,
  RTHUNK_CODEC_ONEWAY = 4
};

/* ---- reading ------------------------------------------------------------ */

/* A cursor over bytes; every read moves it and fails at the end. */
typedef struct
{
  const guint8 *pos;
  const guint8 *end;
} RthunkCodecIn;

static inline void
rthunk_codec_in_init (RthunkCodecIn *in,
                      const guint8  *data,
                      gsize          len)
{
  in->pos = data;
  in->end = len > 0 ? data + len : data;      /* no arithmetic on NULL */
}

/* The primitives, inline: every field of every request goes through them.
 * Each fails (FALSE, the cursor unmoved or past what it read) at the end
 * of the bytes. */
static inline gboolean
rthunk_codec_need (RthunkCodecIn *in,
      gsize          n)
{
  return (gsize) (in->end - in->pos) >= n;
}

/* The type codes a binary-protocol value can have. */
static inline gboolean
rthunk_codec_is_value_type (guint8 type)
{
  return type < 16 && ((1u << type) & (1u << RTHUNK_CODEC_BOOL | 1u << RTHUNK_CODEC_BYTE |
                                       1u << RTHUNK_CODEC_DOUBLE | 1u << RTHUNK_CODEC_I16 |
                                       1u << RTHUNK_CODEC_I32 | 1u << RTHUNK_CODEC_I64 |
                                       1u << RTHUNK_CODEC_STRING | 1u << RTHUNK_CODEC_STRUCT |
                                       1u << RTHUNK_CODEC_MAP | 1u << RTHUNK_CODEC_SET |
                                       1u << RTHUNK_CODEC_LIST)) != 0;
}

static inline gboolean
rthunk_codec_get_u8 (RthunkCodecIn *in,
                     guint8        *v)
{
  if (!rthunk_codec_need (in, 1))
    return FALSE;
  *v = *in->pos++;
  return TRUE;
}

/* A bool field: any byte but 0 is TRUE. */
static inline gboolean
rthunk_codec_get_bool (RthunkCodecIn *in,
                       gboolean      *v)
{
  guint8 b;

  if (!rthunk_codec_get_u8 (in, &b))
    return FALSE;
  *v = b != 0;
  return TRUE;
}

static inline gboolean
rthunk_codec_get_i16 (RthunkCodecIn *in,
                      gint16        *v)
{
  if (!rthunk_codec_need (in, 2))
    return FALSE;
  *v = (gint16) ((guint16) in->pos[0] << 8 | in->pos[1]);
  in->pos += 2;
  return TRUE;
}

static inline gboolean
rthunk_codec_get_i32 (RthunkCodecIn *in,
                      gint32        *v)
{
  guint32 u;

  if (!rthunk_codec_need (in, 4))
    return FALSE;
  memcpy (&u, in->pos, 4);
  *v = (gint32) GUINT32_FROM_BE (u);
  in->pos += 4;
  return TRUE;
}

static inline gboolean
rthunk_codec_get_i64 (RthunkCodecIn *in,
                      gint64        *v)
{
  guint64 u;

  if (!rthunk_codec_need (in, 8))
    return FALSE;
  memcpy (&u, in->pos, 8);
  *v = (gint64) GUINT64_FROM_BE (u);
  in->pos += 8;
  return TRUE;
}

static inline gboolean
rthunk_codec_get_double (RthunkCodecIn *in,
                         double        *v)
{
  gint64 bits;

  if (!rthunk_codec_get_i64 (in, &bits))
    return FALSE;
  memcpy (v, &bits, sizeof *v);
  return TRUE;
}

static inline gboolean
rthunk_codec_get_binary (RthunkCodecIn  *in,
                         const guint8  **data,
                         guint32        *len)
{
  gint32 n;

  if (!rthunk_codec_get_i32 (in, &n) || n < 0 || !rthunk_codec_need (in, (gsize) n))
    return FALSE;
  *data = in->pos;
  *len = (guint32) n;
  in->pos += n;
  return TRUE;
}

static inline gboolean
rthunk_codec_get_field (RthunkCodecIn *in,
                        guint8        *type,
                        gint16        *id)
{
  if (!rthunk_codec_get_u8 (in, type))
    return FALSE;
  if (*type == RTHUNK_CODEC_STOP)
    {
      *id = 0;
      return TRUE;
    }
  /* not a type code: the readers' id * 16 + type would take it for
   * another field */
  if (!rthunk_codec_is_value_type (*type))
    return FALSE;
  return rthunk_codec_get_i16 (in, id);
}

static inline gboolean
rthunk_codec_get_list (RthunkCodecIn *in,
                       guint8         elem_type,
                       guint32       *count)
{
  guint8 type;
  gint32 n;

  /* every element takes at least one byte: a count the bytes left cannot
   * hold is a lie (the validator refuses it already) */
  if (!rthunk_codec_get_u8 (in, &type) || type != elem_type ||
      !rthunk_codec_get_i32 (in, &n) || n < 0 || !rthunk_codec_need (in, (gsize) n))
    return FALSE;
  *count = (guint32) n;
  return TRUE;
}

/* Marks field @id of a struct in *@seen; FALSE if it was marked already
 * (ids 1 to 31 are tracked, others always pass). */
static inline gboolean
rthunk_codec_first_time (guint32 *seen,
                         gint16   id)
{
  guint32 bit = id > 0 && id < 32 ? 1u << id : 0;

  if (*seen & bit)
    return FALSE;
  *seen |= bit;
  return TRUE;
}

/* Reads field @id (of wire type @type) of a struct into @data; FALSE for
 * bytes the reader does not take. */
typedef gboolean (*RthunkCodecFieldFunc) (RthunkCodecIn *in,
                                          guint8         type,
                                          gint16         id,
                                          gpointer       data);

/* Skips one value of @type (a whole struct, list, map…). */
gboolean rthunk_codec_skip       (RthunkCodecIn *in, guint8 type);
gboolean rthunk_codec_get_struct (RthunkCodecIn        *in,
                                  gboolean              refuse_repeats,
                                  RthunkCodecFieldFunc  read_field,
                                  gpointer              data);

/* One field of a struct, as a table of them says it: field @id of wire
 * type @type is read by @get into the member at @offset of the target
 * (offset 0 and a @get that takes the whole target for a field that fills
 * more than one member). */
typedef struct
{
  gint16 id;
  guint8 type;
  guint16 offset;
  gboolean (*get) (RthunkCodecIn *in, gpointer member);
} RthunkCodecField;

/* The entry for field @id of @type, read by @get into @member of @Struct
 * (the sizeof, never evaluated, has the compiler check that @get takes a
 * pointer to that member). */
#define RTHUNK_CODEC_FIELD(id, type, Struct, member, get)                     \
  { (id), (type),                                                             \
    G_STRUCT_OFFSET (Struct, member) + 0 * sizeof ((get) (NULL, &((Struct *) NULL)->member)), \
    (gboolean (*) (RthunkCodecIn *, gpointer)) (get) }

/* The entry for field @id of @type, read by @get into the whole target. */
#define RTHUNK_CODEC_FIELD_WHOLE(id, type, get)                               \
  { (id), (type), 0, (gboolean (*) (RthunkCodecIn *, gpointer)) (get) }

/* A whole struct as rthunk_codec_get_struct() reads it, its fields those
 * of @fields (any other skipped) read into @target. */
gboolean rthunk_codec_get_fields (RthunkCodecIn          *in,
                                  gboolean                refuse_repeats,
                                  const RthunkCodecField *fields,
                                  guint                   n_fields,
                                  gpointer                target);
/* A message header, strict or not: *@name points into the input. */
gboolean rthunk_codec_get_message (RthunkCodecIn  *in,
                                   const guint8  **name,
                                   guint32        *name_len,
                                   guint8         *type,
                                   gint32         *seqid);

/* An Ast struct (nodes, types, source) read into the tree it describes;
 * the types are skipped. %NULL with INVALID_REQUEST or LIMIT_EXCEEDED set
 * for a tree rthunk_wire_read_ast() refuses, %NULL with nothing set for
 * bytes the codec does not expect. */
RthunkNode  *rthunk_codec_get_ast   (RthunkCodecIn  *in,
                                     guint           max_nodes,
                                     GError        **error);
/* Same, and (if @nodes) every node in the order of the Ast's list, the
 * root last: *@nodes holds a reference to each. */
RthunkNode  *rthunk_codec_get_ast_nodes (RthunkCodecIn  *in,
                                         guint           max_nodes,
                                         GPtrArray     **nodes,
                                         GError        **error);

/* A field of an AstNode that holds a literal's value (2 intValue,
 * 3 floatValue, 4 boolValue, and when asked for, 5 text of a STR node) or
 * its position (7 line, 8 col): all that two Asts of the same shape may
 * differ in. Each is fixed-size but the text, which is its 4-byte length
 * (@size) and as many bytes after it. */
typedef struct
{
  guint32 node;                 /* the node's index in the Ast's list */
  guint32 offset;               /* of the value, from the Ast struct's start */
  guint8 field;                 /* an RTHUNK_CODEC_SLOT_* */
  guint8 size;
} RthunkCodecSlot;

/* The AstNode fields a slot can be. */
enum
{
  RTHUNK_CODEC_SLOT_INT = 2,
  RTHUNK_CODEC_SLOT_FLOAT = 3,
  RTHUNK_CODEC_SLOT_BOOL = 4,
  RTHUNK_CODEC_SLOT_TEXT = 5,
  RTHUNK_CODEC_SLOT_LINE = 7,
  RTHUNK_CODEC_SLOT_COL = 8
};

/* Skips an Ast struct as rthunk_codec_skip() does (the same bytes pass),
 * noting its slots in order, string literals' texts too if @texts; @start
 * is where the struct begins. If there are more than @max_slots,
 * *@n_slots is set above @max_slots. */
gboolean     rthunk_codec_ast_slots (RthunkCodecIn   *in,
                                     const guint8    *start,
                                     gboolean         texts,
                                     RthunkCodecSlot *slots,
                                     guint            max_slots,
                                     guint           *n_slots);

/* A Value struct; THUNK nodes are refused as rthunk_wire_read_value()
 * refuses them. Same failures as rthunk_codec_get_ast(). */
RthunkValue *rthunk_codec_get_value (RthunkCodecIn  *in,
                                     GError        **error);
/* A TypeTerm struct. Same failures. */
RthunkType  *rthunk_codec_get_type  (RthunkCodecIn  *in,
                                     GError        **error);

/* ---- writing ------------------------------------------------------------ */

void rthunk_codec_put_u8     (GByteArray *out, guint8 v);
void rthunk_codec_put_i16    (GByteArray *out, gint16 v);
void rthunk_codec_put_i32    (GByteArray *out, gint32 v);
void rthunk_codec_put_i64    (GByteArray *out, gint64 v);
void rthunk_codec_put_double (GByteArray *out, double v);
void rthunk_codec_put_binary (GByteArray *out, const void *data, gsize len);
void rthunk_codec_put_string (GByteArray *out, const char *text);
void rthunk_codec_put_field  (GByteArray *out, guint8 type, gint16 id);
void rthunk_codec_put_stop   (GByteArray *out);
void rthunk_codec_put_list   (GByteArray *out, guint8 elem_type, guint32 count);
/* A strict message header. */
void rthunk_codec_put_message (GByteArray *out,
                               const char *name,
                               guint8      type,
                               gint32      seqid);

/* The Ast struct of @root, and of the type of each node in @node_types
 * (node → RthunkType) if given: the bytes the generated code writes for
 * what rthunk_wire_fill_ast() fills. */
void     rthunk_codec_put_ast   (GByteArray   *out,
                                 RthunkNode   *root,
                                 GHashTable   *node_types);
/* The Value struct of @value, refusing (LIMIT_EXCEEDED) one of about more
 * than @max_bytes, and (INVALID_REQUEST) a pending one, as
 * rthunk_wire_fill_value_within() does; @out is left as it was. An int's
 * or a float's eight bytes (big-endian) end RTHUNK_CODEC_SCALAR_VALUE_TAIL
 * bytes before the end of what it wrote (its node's stop, the Value's):
 * a request kept to be sent again with another number patches them. */
#define RTHUNK_CODEC_SCALAR_VALUE_TAIL 2
gboolean rthunk_codec_put_value (GByteArray   *out,
                                 RthunkValue  *value,
                                 gsize         max_bytes,
                                 GError      **error);
/* The first fields of a RemoteThunk: 1 (@id), 2 (@server) and 3
 * (@state), and the head of field 4 (its value, a struct) if
 * @value_follows. */
void     rthunk_codec_put_thunk_head (GByteArray   *out,
                                      const guint8 *id,
                                      gsize         id_len,
                                      const char   *server,
                                      gint32        state,
                                      gboolean      value_follows);
/* The TypeTerm struct of @type, variables numbered from 0 in order. */
void     rthunk_codec_put_type  (GByteArray   *out,
                                 RthunkType   *type);
/* An ErrorInfo struct for @error: its code (INTERNAL outside RTHUNK_ERROR),
 * its message and, when the message starts "SOURCE:LINE:COL: error: ",
 * that position. */
void     rthunk_codec_put_error_info (GByteArray   *out,
                                      const GError *error);

/* Where a "SOURCE:LINE:COL: error: …" message points; FALSE if it does
 * not start so. *@source is newly allocated. */
gboolean rthunk_codec_message_position (const char  *message,
                                        char       **source,
                                        gint32      *line,
                                        gint32      *col);

G_END_DECLS
