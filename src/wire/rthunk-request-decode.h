/* rthunk-request-decode.h — an EvalRequest as the server reads it (private) */
#pragma once

#include <glib.h>

#include "rthunk-codec.h"
#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

/* A request's Ast as the server's memo of checked requests keeps it: opaque
 * here (the server defines it), reached through an RthunkRequestMemo. */
typedef struct _RthunkRequestShape RthunkRequestShape;

/* The memo keeps Asts of at most this many bytes and slots. */
#define RTHUNK_REQUEST_MEMO_MAX_AST_BYTES 4096
#define RTHUNK_REQUEST_MEMO_MAX_SLOTS 128

/* What rthunk_request_decode() asks the memo (@data is the memo's). */
typedef struct
{
  /* the shape of the Ast at @in's position if it is that of one of the
   * thread's last ones, slots aside (@in then past it), or NULL */
  RthunkRequestShape *(*last_shape) (gpointer data, RthunkCodecIn *in, guint *hash);
  /* the shape of Ast bytes whose slots the decoding found, or NULL */
  RthunkRequestShape *(*lookup) (gpointer data, const guint8 *ast, gsize len,
                                 const RthunkCodecSlot *slots, guint n_slots, guint *hash);
  /* keeps @shape first among the shapes of the thread's last Asts */
  void (*keep_last) (gpointer data, RthunkRequestShape *shape, guint hash);
  void (*unref) (RthunkRequestShape *shape);
} RthunkRequestMemo;

/* An input of a request as the server's submission reads it: a value sent
 * along, or a reference to a thunk (of this server, or held by another
 * one). */
typedef struct
{
  char *name;                   /* NULL if the binding has none or it is in place */
  gboolean name_in_place;       /* the name is short_name (see rthunk_request_input_name()) */
  char short_name[24];          /* a short name, NUL-terminated: most are, and
                                   need no allocation */
  RthunkValue *value;           /* the value sent along… */
  GError *value_error;          /* …or why it is not one */
  gboolean is_thunk;            /* the value is one THUNK node */
  const guint8 *thunk_id;       /* its id, NULL if it has none: borrowed, like
                                   the request's thunk_id */
  guint32 thunk_id_len;
  char *holder;                 /* the server that holds it, or NULL */
  gboolean has_type;            /* the binding declares a type */
  RthunkType *type;             /* that type, if well formed… */
  GError *type_error;           /* …or why it is not */
} RthunkRequestInput;

typedef struct
{
  char *name;                   /* NULL if missing */
  GBytes *hash;                 /* NULL if missing */
} RthunkRequestDefRef;

/* An EvalRequest as the server's submission reads it: from the generated
 * struct (rthunk_request_from_wire()), or straight from the frame
 * (rthunk_request_decode()). */
typedef struct
{
  RthunkNode *expr;             /* the tree, when the codec built it… */
  RthunkWireAst *wire_ast;      /* …or the generated struct, if any… */
  GPtrArray *nodes;             /* …with its nodes in the Ast's order, if the memo may keep it… */
  RthunkRequestShape *shape;    /* …or the memo's tree of the same shape… */
  const RthunkRequestMemo *memo; /* …which this memo keeps */
  const guint8 *ast_data;       /* the Ast bytes in the frame, if read from one */
  gsize ast_len;
  gboolean memo_ok;             /* the memo may keep it: read from a frame, of few slots */
  guint memo_hash;              /* the hash of its Ast bytes with the slots zeroed */
  guint n_inputs;               /* input0, then more_inputs */
  RthunkRequestInput input0;    /* the first input, in place: most requests
                                   have at most one (see rthunk_request_input()) */
  GArray *more_inputs;          /* RthunkRequestInput: the others; NULL until the second */
  GArray *refs;                 /* RthunkRequestDefRef; NULL until the first (see rthunk_request_refs()) */
  gboolean use_cache;
  gint64 fuel;                  /* ≤ 0: the server's */
  gint32 deadline_ms;           /* ≤ 0: the server's */
  gint32 inline_budget_ms;      /* < 0: the server's */
  gboolean by_reference;
  gboolean has_thunk_id;
  const guint8 *thunk_id;       /* the id it proposes, NULL if none was sent:
                                   borrowed, like ast_data (in the frame or
                                   the generated code's struct) */
  guint32 thunk_id_len;
} RthunkRequest;

void     rthunk_request_init        (RthunkRequest               *req);
RthunkRequestInput *rthunk_request_add_input (RthunkRequest      *req);
GArray  *rthunk_request_refs        (RthunkRequest               *req);
void     rthunk_request_clear       (RthunkRequest               *req);
void     rthunk_request_from_wire   (const RthunkWireEvalRequest *wire,
                                     RthunkRequest               *req);
gboolean rthunk_request_decode      (RthunkCodecIn               *in,
                                     guint                        max_ast_nodes,
                                     const RthunkRequestMemo     *memo,
                                     gpointer                     memo_data,
                                     RthunkRequest               *req);

/* How many inputs @req binds. */
static inline guint
rthunk_request_n_inputs (const RthunkRequest *req)
{
  return req->n_inputs;
}

/* Input @k of @req (k < rthunk_request_n_inputs()): a pointer that holds
 * while @req stays where it is. */
static inline const RthunkRequestInput *
rthunk_request_input (const RthunkRequest *req,
                      guint                k)
{
  return k == 0 ? &req->input0 : &g_array_index (req->more_inputs, RthunkRequestInput, k - 1);
}

/* The name of @input, NULL if it has none: a pointer that holds while
 * its request stays where it is. */
static inline const char *
rthunk_request_input_name (const RthunkRequestInput *input)
{
  return input->name_in_place ? input->short_name : input->name;
}

/* How many definitions @req names. */
static inline guint
rthunk_request_n_refs (const RthunkRequest *req)
{
  return req->refs != NULL ? req->refs->len : 0;
}

/* Helpers of decoders of other structs of the same calls. */
gboolean rthunk_decode_next_field   (RthunkCodecIn               *in,
                                     guint32                     *seen,
                                     guint8                      *type,
                                     gint16                      *id,
                                     gboolean                    *ok);
gboolean rthunk_decode_get_string   (RthunkCodecIn               *in,
                                     char                       **out);

G_END_DECLS
