/* rthunk-request-decode.c — an EvalRequest read into an RthunkRequest
 *
 * The one reader of requests: from the struct the generated code built
 * (rthunk_request_from_wire()), or straight from the binary-protocol bytes
 * of a frame (rthunk_request_decode()), for the server's fast path.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "rthunk-codec.h"
#include "rthunk-error.h"
#include "rthunk-node.h"
#include "rthunk-request-decode.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

static void
request_input_clear (gpointer data)
{
  RthunkRequestInput *input = data;

  g_free (input->name);
  g_clear_pointer (&input->value, rthunk_value_unref);
  g_clear_error (&input->value_error);
  g_free (input->holder);
  g_clear_pointer (&input->type, rthunk_type_unref);
  g_clear_error (&input->type_error);
}

static void
request_def_ref_clear (gpointer data)
{
  RthunkRequestDefRef *ref = data;

  g_free (ref->name);
  g_clear_pointer (&ref->hash, g_bytes_unref);
}

void
rthunk_request_init (RthunkRequest *req)
{
  memset (req, 0, sizeof *req);
  req->use_cache = TRUE;
  req->inline_budget_ms = -1;
}

/* *@array, made for its first element: most requests have neither
 * inputs nor definition references. */
static GArray *
array_made (GArray         **array,
            guint            element_size,
            GDestroyNotify   clear)
{
  if (*array == NULL)
    {
      *array = g_array_new (FALSE, TRUE, element_size);
      g_array_set_clear_func (*array, clear);
    }
  return *array;
}

/* A new input of @req, zeroed: the first in place (no allocation for a
 * request of one input), the others in an array. */
RthunkRequestInput *
rthunk_request_add_input (RthunkRequest *req)
{
  GArray *more;

  if (req->n_inputs++ == 0)
    return &req->input0;
  more = array_made (&req->more_inputs, sizeof (RthunkRequestInput), request_input_clear);
  g_array_set_size (more, req->n_inputs - 1);
  return &g_array_index (more, RthunkRequestInput, req->n_inputs - 2);
}

/* @req's definition references. */
GArray *
rthunk_request_refs (RthunkRequest *req)
{
  return array_made (&req->refs, sizeof (RthunkRequestDefRef), request_def_ref_clear);
}

void
rthunk_request_clear (RthunkRequest *req)
{
  g_clear_pointer (&req->expr, rthunk_node_unref);
  g_clear_object (&req->wire_ast);
  g_clear_pointer (&req->nodes, g_ptr_array_unref);
  if (req->shape != NULL)
    req->memo->unref (g_steal_pointer (&req->shape));
  if (req->n_inputs > 0)
    request_input_clear (&req->input0);
  req->n_inputs = 0;
  g_clear_pointer (&req->more_inputs, g_array_unref);
  g_clear_pointer (&req->refs, g_array_unref);
}

static GBytes *
bytes_of (const GByteArray *array)
{
  return array != NULL ? g_bytes_new (array->data, array->len) : NULL;
}

/* The request the generated code read. */
void
rthunk_request_from_wire (const RthunkWireEvalRequest *wire,
                          RthunkRequest               *req)
{
  const RthunkWireEvalOptions *o = wire->__isset_options ? wire->options : NULL;

  rthunk_request_init (req);
  req->wire_ast = wire->ast != NULL ? g_object_ref (wire->ast) : NULL;
  if (o != NULL)
    {
      req->use_cache = !o->__isset_useCache || o->useCache;
      req->fuel = o->__isset_fuel ? o->fuel : 0;
      req->deadline_ms = o->__isset_deadlineMs ? o->deadlineMs : 0;
      req->inline_budget_ms = o->__isset_inlineBudgetMs ? o->inlineBudgetMs : -1;
      req->by_reference = o->__isset_byReference && o->byReference;
    }
  req->has_thunk_id = wire->__isset_thunkId;
  if (wire->__isset_thunkId && wire->thunkId != NULL)
    {
      req->thunk_id = wire->thunkId->data;
      req->thunk_id_len = wire->thunkId->len;
    }
  for (guint k = 0; wire->__isset_bindings && k < wire->bindings->len; k++)
    {
      RthunkWireBinding *binding = g_ptr_array_index (wire->bindings, k);
      const RthunkWireValue *value = binding->value;
      RthunkWireValueNode *node = value != NULL && value->nodes != NULL && value->nodes->len == 1
        ? g_ptr_array_index (value->nodes, 0) : NULL;
      RthunkRequestInput input = { .name = g_strdup (binding->name) };

      if (node != NULL && node->kind == RTHUNK_WIRE_VALUE_KIND_THUNK)
        {
          input.is_thunk = TRUE;
          input.thunk_id = node->thunkId != NULL ? node->thunkId->data : NULL;
          input.thunk_id_len = node->thunkId != NULL ? node->thunkId->len : 0;
          input.holder = node->__isset_holder ? g_strdup (node->holder) : NULL;
        }
      else if (value != NULL)
        input.value = rthunk_wire_read_value (value, &input.value_error);
      else
        input.value_error = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_INVALID_REQUEST,
                                                 _("a binding has no value"));
      input.has_type = binding->__isset_type && binding->type != NULL;
      if (input.has_type)
        input.type = rthunk_wire_read_type (binding->type, &input.type_error);
      *rthunk_request_add_input (req) = input;
    }
  for (guint k = 0; wire->__isset_definitions && k < wire->definitions->len; k++)
    {
      RthunkWireDefRef *wref = g_ptr_array_index (wire->definitions, k);
      RthunkRequestDefRef ref = { g_strdup (wref->name), bytes_of (wref->hash) };

      g_array_append_val (rthunk_request_refs (req), ref);
    }
}

/* ---- straight from the frame ------------------------------------------- */

/* A string's bytes in the frame; one with a NUL in it is refused (the
 * generated code refuses it). */
static gboolean
get_text (RthunkCodecIn  *in,
          const guint8  **data,
          guint32        *len)
{
  return rthunk_codec_get_binary (in, data, len) && memchr (*data, '\0', *len) == NULL;
}

gboolean
rthunk_decode_get_string (RthunkCodecIn  *in,
                          char          **out)
{
  const guint8 *data;
  guint32 len;

  if (!get_text (in, &data, &len))
    return FALSE;
  *out = g_strndup ((const char *) data, len);
  return TRUE;
}

static gboolean
get_bytes (RthunkCodecIn  *in,
           GBytes        **out)
{
  const guint8 *data;
  guint32 len;

  if (!rthunk_codec_get_binary (in, &data, &len))
    return FALSE;
  *out = g_bytes_new (data, len);
  return TRUE;
}

/* The fields of a struct, one by one: FALSE at its end or on a field seen
 * twice (with *@ok FALSE then). */
gboolean
rthunk_decode_next_field (RthunkCodecIn *in,
                          guint32       *seen,
                          guint8        *type,
                          gint16        *id,
                          gboolean      *ok)
{
  *ok = rthunk_codec_get_field (in, type, id) && (*type == RTHUNK_CODEC_STOP || rthunk_codec_first_time (seen, *id));
  return *ok && *type != RTHUNK_CODEC_STOP;
}

/* Bytes in the frame, borrowed. */
typedef struct
{
  const guint8 *data;
  guint32 len;
} Borrowed;

static gboolean
get_borrowed (RthunkCodecIn *in,
              Borrowed      *out)
{
  return rthunk_codec_get_binary (in, &out->data, &out->len);
}

/* What a ValueNode says of a THUNK: its kind, id and holder. */
typedef struct
{
  gint32 kind;
  Borrowed id;
  char *holder;
} ThunkNode;

/* The fields of a ValueNode, as far as a THUNK reference needs them. */
static const RthunkCodecField thunk_node_fields[] = {
  RTHUNK_CODEC_FIELD (1, RTHUNK_CODEC_I32, ThunkNode, kind, rthunk_codec_get_i32),
  RTHUNK_CODEC_FIELD (7, RTHUNK_CODEC_STRING, ThunkNode, id, get_borrowed),
  RTHUNK_CODEC_FIELD (8, RTHUNK_CODEC_STRING, ThunkNode, holder, rthunk_decode_get_string),
};

/* A ValueNode that may be a THUNK: its kind, id and holder. */
static gboolean
get_thunk_node (RthunkCodecIn      *in,
                RthunkRequestInput *input)
{
  ThunkNode node = { 0, { NULL, 0 }, NULL };
  gboolean ok = rthunk_codec_get_fields (in, TRUE, thunk_node_fields, G_N_ELEMENTS (thunk_node_fields), &node);

  if (ok && node.kind == RTHUNK_WIRE_VALUE_KIND_THUNK)
    {
      input->is_thunk = TRUE;
      input->thunk_id = node.id.data;
      input->thunk_id_len = node.id.len;
      input->holder = g_steal_pointer (&node.holder);
    }
  g_free (node.holder);
  return ok;
}

/* The value of a binding: a reference to a thunk (one THUNK node), or a
 * value sent along. */
static gboolean
get_binding_value (RthunkCodecIn      *in,
                   RthunkRequestInput *input)
{
  RthunkCodecIn look = *in;
  guint32 seen = 0, n;
  guint8 type;
  gint16 field;
  gboolean ok;

  if (rthunk_codec_get_field (&look, &type, &field) && field == 1 && type == RTHUNK_CODEC_LIST &&
      rthunk_codec_get_list (&look, RTHUNK_CODEC_STRUCT, &n) && n == 1 &&
      get_thunk_node (&look, input) && input->is_thunk)
    {
      rthunk_codec_first_time (&seen, 1);
      while (rthunk_decode_next_field (&look, &seen, &type, &field, &ok))
        if (!rthunk_codec_skip (&look, type))
          return FALSE;
      *in = look;
      return ok;
    }
  input->is_thunk = FALSE;
  return (input->value = rthunk_codec_get_value (in, NULL)) != NULL;
}

/* The declared type of a binding. */
static gboolean
get_binding_type (RthunkCodecIn      *in,
                  RthunkRequestInput *input)
{
  return (input->type = rthunk_codec_get_type (in, NULL)) != NULL && (input->has_type = TRUE);
}

/* The name of a binding: in place if short, so that most need no
 * allocation. */
static gboolean
get_binding_name (RthunkCodecIn      *in,
                  RthunkRequestInput *input)
{
  const guint8 *data;
  guint32 len;

  if (!get_text (in, &data, &len))
    return FALSE;
  if (len >= sizeof input->short_name)
    {
      input->name = g_strndup ((const char *) data, len);
      return TRUE;
    }
  memcpy (input->short_name, data, len);
  input->short_name[len] = '\0';
  input->name_in_place = TRUE;
  return TRUE;
}

/* The fields of a Binding. */
static const RthunkCodecField binding_fields[] = {
  RTHUNK_CODEC_FIELD_WHOLE (1, RTHUNK_CODEC_STRING, get_binding_name),
  RTHUNK_CODEC_FIELD_WHOLE (2, RTHUNK_CODEC_STRUCT, get_binding_value),
  RTHUNK_CODEC_FIELD_WHOLE (3, RTHUNK_CODEC_STRUCT, get_binding_type),
};

static gboolean
get_binding (RthunkCodecIn      *in,
             RthunkRequestInput *input)
{
  /* a binding without a value: the generated code's error */
  return rthunk_codec_get_fields (in, TRUE, binding_fields, G_N_ELEMENTS (binding_fields), input) &&
         (input->value != NULL || input->is_thunk);
}

/* The fields of a DefRef. */
static const RthunkCodecField def_ref_fields[] = {
  RTHUNK_CODEC_FIELD (1, RTHUNK_CODEC_STRING, RthunkRequestDefRef, name, rthunk_decode_get_string),
  RTHUNK_CODEC_FIELD (2, RTHUNK_CODEC_STRING, RthunkRequestDefRef, hash, get_bytes),
};

/* The fields of EvalOptions. */
static const RthunkCodecField options_fields[] = {
  RTHUNK_CODEC_FIELD (1, RTHUNK_CODEC_BOOL, RthunkRequest, use_cache, rthunk_codec_get_bool),
  RTHUNK_CODEC_FIELD (2, RTHUNK_CODEC_I64, RthunkRequest, fuel, rthunk_codec_get_i64),
  RTHUNK_CODEC_FIELD (3, RTHUNK_CODEC_I32, RthunkRequest, deadline_ms, rthunk_codec_get_i32),
  RTHUNK_CODEC_FIELD (4, RTHUNK_CODEC_I32, RthunkRequest, inline_budget_ms, rthunk_codec_get_i32),
  RTHUNK_CODEC_FIELD (5, RTHUNK_CODEC_BOOL, RthunkRequest, by_reference, rthunk_codec_get_bool),
};

/* One EvalRequest struct. FALSE: leave it to the generated code. */
gboolean
rthunk_request_decode (RthunkCodecIn           *in,
                       guint                    max_ast_nodes,
                       const RthunkRequestMemo *memo,
                       gpointer                 memo_data,
                       RthunkRequest           *req)
{
  RthunkCodecSlot slots[RTHUNK_REQUEST_MEMO_MAX_SLOTS];
  RthunkCodecIn ast;
  guint32 seen = 0, n;
  guint n_slots = G_N_ELEMENTS (slots) + 1;
  guint8 type;
  gint16 field;
  gboolean ok;

  rthunk_request_init (req);
  req->memo = memo;
  while (rthunk_decode_next_field (in, &seen, &type, &field, &ok))
    {
      if (field == 1 && type == RTHUNK_CODEC_STRUCT)
        {
          /* the bytes and their slots only: a request of a shape seen
           * before needs no decoding (whether it names definitions is
           * known at the end of the struct) */
          req->ast_data = in->pos;
          if (req->shape == NULL && (req->shape = memo->last_shape (memo_data, in, &req->memo_hash)) != NULL)
            n_slots = 0;
          else
            {
              g_clear_pointer (&req->shape, memo->unref);
              ok = rthunk_codec_ast_slots (in, in->pos, FALSE, slots, G_N_ELEMENTS (slots), &n_slots);
            }
          req->ast_len = in->pos - req->ast_data;
        }
      else if (field == 2 && type == RTHUNK_CODEC_LIST)
        {
          ok = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n);
          for (guint32 k = 0; ok && k < n; k++)
            ok = get_binding (in, rthunk_request_add_input (req));
        }
      else if (field == 3 && type == RTHUNK_CODEC_LIST)
        {
          ok = rthunk_codec_get_list (in, RTHUNK_CODEC_STRUCT, &n);
          for (guint32 k = 0; ok && k < n; k++)
            {
              g_array_set_size (rthunk_request_refs (req), k + 1);
              ok = rthunk_codec_get_fields (in, TRUE, def_ref_fields, G_N_ELEMENTS (def_ref_fields),
                                            &g_array_index (req->refs, RthunkRequestDefRef, k));
            }
        }
      else if (field == 4 && type == RTHUNK_CODEC_STRUCT)
        ok = rthunk_codec_get_fields (in, TRUE, options_fields, G_N_ELEMENTS (options_fields), req);
      else if (field == 5 && type == RTHUNK_CODEC_STRING)
        ok = rthunk_codec_get_binary (in, &req->thunk_id, &req->thunk_id_len) && (req->has_thunk_id = TRUE);
      else
        ok = rthunk_codec_skip (in, type);
      if (!ok)
        return FALSE;
    }
  if (!ok || req->ast_data == NULL)
    return FALSE;
  req->memo_ok = n_slots <= G_N_ELEMENTS (slots) && req->ast_len <= RTHUNK_REQUEST_MEMO_MAX_AST_BYTES;
  if (req->shape != NULL && req->memo_ok)
    return TRUE;
  g_clear_pointer (&req->shape, memo->unref);
  if (req->memo_ok &&
      (req->shape = memo->lookup (memo_data, req->ast_data, req->ast_len, slots, n_slots, &req->memo_hash)) != NULL)
    {
      memo->keep_last (memo_data, req->shape, req->memo_hash);
      return TRUE;
    }
  rthunk_codec_in_init (&ast, req->ast_data, req->ast_len);
  req->expr = rthunk_codec_get_ast_nodes (&ast, max_ast_nodes,
                                          req->memo_ok ? &req->nodes : NULL, NULL);
  return req->expr != NULL;
}
