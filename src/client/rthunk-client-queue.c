/* rthunk-client-queue.c — queued submissions, and their frames in flight
 *
 * rthunk_client_enqueue() checks a submission and queues it; queued
 * submissions go out in submitBatch frames, written while the replies of
 * the frames before them are read, and rthunk_client_flush() waits for
 * every reply. rthunk_client_submit_batch() is made of these.
 *
 * Each time RTHUNK_CLIENT_SEND_AT (64) submissions are queued they leave
 * in a submitBatch frame on a connection kept for the frames in flight,
 * without waiting for the reply, so the server works on a burst while it
 * is made; rthunk_client_flush() sends the rest in frames of up to 1000 and
 * reads every reply in order. Any other call settles the frames in flight
 * first — it may name those thunks, and they may hold the pool's last
 * connection; a connection lost with frames in flight fails each of their
 * submissions.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-client.h"
#include "rthunk-catalog.h"
#include "rthunk-client-internal.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-codec.h"
#include "rthunk-core-private.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

/* ---- queued submissions ----------------------------------------------------- */

RTHUNK_THREAD_KEPT (scratch_request, g_byte_array_unref);

/* The thread's buffer for a request being queued: given back (kept unless
 * a large request made it large) however the queueing ends. */
typedef GByteArray RequestBuffer;

static void
request_buffer_give (RequestBuffer *buffer)
{
  rthunk_client_scratch_give (&scratch_request, buffer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RequestBuffer, request_buffer_give)

typedef struct
{
  guint len;                    /* its EvalRequest struct's, in outbox_bytes */
  RthunkValue *value;           /* the pending value given out; for a
                                   member of a submitBatch, NULL until it
                                   is reported (report_sent()) */
  RthunkType *type;             /* what it was checked as (nullable) */
  guint8 id[RTHUNK_CLIENT_ID_LEN];
  RthunkClientSentFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Queued;

/* A batch's, or the queue's, when it ends. */
static void
queued_clear (gpointer data)
{
  Queued *queued = data;

  g_clear_pointer (&queued->value, rthunk_value_unref);
  g_clear_pointer (&queued->type, rthunk_type_unref);
  if (queued->destroy != NULL)
    queued->destroy (queued->data);
}

/* The queue of a client's submissions: Queued structs, by value (one
 * allocation a burst, not one a submission). */
GArray *
rthunk_client_outbox_new (void)
{
  GArray *outbox = g_array_new (FALSE, FALSE, sizeof (Queued));

  g_array_set_clear_func (outbox, queued_clear);
  return outbox;
}

static void send_queued (RthunkClient *self);

/* Whether @expr can be queued: it calls no user function (definitions
 * travel, and are asked for, one request at a time). */
gboolean
rthunk_client_can_enqueue (RthunkClient *self,
                           RthunkNode   *expr,
                           GHashTable   *definitions)
{
  g_autoptr(GPtrArray) closure = NULL;
  g_auto(DefHasher) h = { NULL, };

  /* nothing to call: no need to look */
  if (definitions == NULL || g_hash_table_size (definitions) == 0)
    return TRUE;
  rthunk_client_def_hasher_init (&h, definitions);
  closure = rthunk_client_definition_closure (&h, expr, NULL);
  return closure != NULL && closure->len == 0;
}

G_STATIC_ASSERT (RTHUNK_CLIENT_ID_LEN == RTHUNK_ID_LEN);

/* A new thunk id, 16 random bytes, for rthunk_client_enqueue(). */
void
rthunk_client_random_id (guint8 id[RTHUNK_CLIENT_ID_LEN])
{
  rthunk_random_id (id);
}

/* Writes the head of a submitBatch call to @out, its list's count 0 (the
 * last four bytes); its length. */
static guint
batch_head (GByteArray *out)
{
  rthunk_codec_put_message (out, rthunk_client_reply_submit_batch.method, RTHUNK_CODEC_CALL, 0);
  rthunk_codec_put_field (out, RTHUNK_CODEC_LIST, 1);
  rthunk_codec_put_list (out, RTHUNK_CODEC_STRUCT, 0);
  return out->len;
}

/* Type-checks @expr and queues its submission under @thunk_id (from
 * rthunk_client_random_id(): the server refuses an id in use);
 * its pending value is made at once, and *@value holds a reference. With
 * @value %NULL (a submitBatch's member, whose value nobody sees before
 * the flush), report_sent() makes it when the reply is read, and a
 * pending one only when the server did not finish it inline; @func is
 * then told that value, finished or pending. Each time RTHUNK_CLIENT_SEND_AT
 * submissions are queued they are sent, in a submitBatch frame, without
 * waiting for the reply (unless a flush is under way in another thread);
 * rthunk_client_flush() sends the rest and reads every reply. @func is
 * called for each submission when its reply is read (here, in a flush,
 * or in any call that settles the queue first): with its value when the
 * server finished it inline, its error when it was refused, or neither
 * when it is running there (it is then a pending value like any other).
 * Requests that name the queued thunks may be queued or submitted before
 * the flush: they are sent after them. */
gboolean
rthunk_client_enqueue (RthunkClient          *self,
                       RthunkNode            *expr,
                       GHashTable            *inputs,
                       const guint8          *thunk_id,
                       RthunkClientSentFunc   func,
                       gpointer               data,
                       GDestroyNotify         destroy,
                       RthunkValue          **value,
                       GError               **error)
{
  g_autoptr(RthunkCatalog) catalog = NULL;
  g_autoptr(RthunkType) type = NULL;
  /* the thread's buffer, kept from one request to the next (taken while
   * in use: forcing an input may queue another submission) */
  g_autoptr(RequestBuffer) request = rthunk_client_scratch_bytes (&scratch_request, 512);
  DefHasher h = { NULL, };
  gboolean send_now;
  Queued queued;

  if ((catalog = rthunk_client_dup_catalog (self)) == NULL &&
      (!rthunk_client_connect_run (self, FALSE, NULL, error) || (catalog = rthunk_client_dup_catalog (self)) == NULL))
    return FALSE;
  if (!rthunk_client_build_request (self, catalog, expr, inputs, &h, rthunk_client_no_closure (), FALSE, request, &type, error))
    return FALSE;
  rthunk_codec_put_field (request, RTHUNK_CODEC_STRING, 5);
  rthunk_codec_put_binary (request, thunk_id, RTHUNK_CLIENT_ID_LEN);
  rthunk_codec_put_stop (request);
  queued = (Queued) {
    .len = request->len,
    .value = value != NULL ? rthunk_client_new_pending (self, thunk_id, RTHUNK_CLIENT_ID_LEN, type, FALSE) : NULL,
    .type = g_steal_pointer (&type),
    .func = func,
    .data = data,
    .destroy = destroy,
  };
  memcpy (queued.id, thunk_id, RTHUNK_CLIENT_ID_LEN);
  if (value != NULL)
    *value = rthunk_value_ref (queued.value);
  g_mutex_lock (&self->outbox_lock);
  g_array_append_val (self->outbox, queued);
  if (self->outbox_bytes->len == 0)
    self->outbox_head = batch_head (self->outbox_bytes);
  g_byte_array_append (self->outbox_bytes, request->data, request->len);
  send_now = self->outbox->len >= RTHUNK_CLIENT_SEND_AT;
  g_mutex_unlock (&self->outbox_lock);
  /* a long burst goes out while it is made (unless a flush is on it) */
  if (send_now && g_mutex_trylock (&self->flush_lock))
    {
      send_queued (self);
      g_mutex_unlock (&self->flush_lock);
    }
  return TRUE;
}

/* How many submissions are queued. */
guint
rthunk_client_get_queued (RthunkClient *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->outbox_lock);

  return self->outbox->len;
}

/* The oldest queued submissions, at most RTHUNK_CLIENT_MAX_BATCH, taken
 * off the queue, and their submitBatch call (*@message); NULL (nothing
 * allocated: every submit flushes) when none is queued. */
static GArray *
take_batch (RthunkClient  *self,
            GByteArray   **message)
{
  GArray *batch = NULL;
  gsize bytes = 0;
  guint n;

  g_mutex_lock (&self->outbox_lock);
  if ((n = MIN (self->outbox->len, RTHUNK_CLIENT_MAX_BATCH)) > 0)
    {
      batch = g_array_sized_new (FALSE, FALSE, sizeof (Queued), n);
      g_array_append_vals (batch, self->outbox->data, n);
      for (guint k = 0; k < n; k++)
        bytes += g_array_index (batch, Queued, k).len;
      /* they are the batch's now: taken off the queue without clearing */
      g_array_set_clear_func (self->outbox, NULL);
      g_array_remove_range (self->outbox, 0, n);
      g_array_set_clear_func (self->outbox, queued_clear);
      g_array_set_clear_func (batch, queued_clear);
      if (self->outbox->len == 0)
        {
          /* all of them: the queue's bytes are the call, but for the count */
          guint32 count = GUINT32_TO_BE (n);

          memcpy (self->outbox_bytes->data + self->outbox_head - sizeof count, &count, sizeof count);
          *message = self->outbox_bytes;
          self->outbox_bytes = g_byte_array_sized_new ((*message)->len);
        }
      else
        {
          *message = rthunk_client_message_begin_sized (rthunk_client_reply_submit_batch.method, bytes + 256);
          rthunk_codec_put_field (*message, RTHUNK_CODEC_LIST, 1);
          rthunk_codec_put_list (*message, RTHUNK_CODEC_STRUCT, n);
          g_byte_array_append (*message, self->outbox_bytes->data + self->outbox_head, (guint) bytes);
          g_byte_array_remove_range (self->outbox_bytes, self->outbox_head, (guint) bytes);
        }
    }
  g_mutex_unlock (&self->outbox_lock);
  if (batch != NULL)
    rthunk_client_message_end (self, *message, 2);
  return batch;
}

/* Tells each queued submission of @batch how it went: @answers from the
 * server, or @failure for all. */
static void
report_sent (RthunkClient *self,
             GArray       *batch,
             GArray       *answers,
             const GError *failure)
{
  for (guint k = 0; k < batch->len; k++)
    {
      Queued *queued = &g_array_index (batch, Queued, k);
      ThunkReport *report = answers != NULL && k < answers->len ? &g_array_index (answers, ThunkReport, k) : NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autoptr(GError) error = failure != NULL ? g_error_copy (failure) : NULL;

      if (error == NULL && report == NULL)
        error = g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_PROTOCOL,
                             _("server %s answered fewer submissions than it was sent"), self->address);
      /* a value nobody is told of is read when it is forced; one too large
       * for the reply is fetched in chunks by whoever waits for it */
      else if (error == NULL && report->state >= RTHUNK_WIRE_THUNK_STATE_DONE &&
               (queued->func != NULL || report->state != RTHUNK_WIRE_THUNK_STATE_DONE) &&
               !rthunk_client_error_is_too_large (report->error))
        value = rthunk_client_report_outcome (self, report, queued->type, &error);
      /* a submitBatch's member: a pending value only if it did not finish */
      if (queued->value == NULL)
        queued->value = value != NULL ? rthunk_value_ref (value)
                                      : rthunk_client_new_pending (self, queued->id, RTHUNK_CLIENT_ID_LEN, queued->type, FALSE);
      if (error != NULL)
        {
          RemoteHandle *handle = rthunk_value_get_handle (queued->value);

          g_mutex_lock (&self->outbox_lock);
          if (handle->send_error == NULL)
            handle->send_error = g_error_copy (error);
          g_mutex_unlock (&self->outbox_lock);
        }
      if (queued->func != NULL)
        queued->func (queued->value, value, error, queued->data);
    }
}

static gboolean receive_in_flight (RthunkClient *self, guint n, GError **lost);

/* What arrives while a frame goes out: the reply of the oldest frame in
 * flight, read and reported; *@watch_input stays TRUE while others are
 * unanswered. */
static gboolean
drain_in_flight (gpointer   user_data,
                 gboolean  *watch_input,
                 GError   **error)
{
  RthunkClient *self = user_data;

  if (!receive_in_flight (self, 1, error))
    return FALSE;
  *watch_input = self->in_flight.length > 0;
  return TRUE;
}

/* Writes @message as one frame on the connection of the frames in flight.
 * The server answers them in order while this one goes out: a reply that
 * comes before it is all written is read (and reported) first, so neither
 * side can stop the other by filling its socket. */
static gboolean
send_in_flight (RthunkClient  *self,
                GByteArray    *message,
                GError       **error)
{
  RthunkConn *conn = self->sending.conn;
  GError *transport_error = NULL;

  if (rthunk_client_frame_fits (message, &transport_error) &&
      rthunk_frame_transport_send (conn->transport, message->data, message->len, self->call_timeout_ms,
                                   self->in_flight.length > 0 ? drain_in_flight : NULL, self, &transport_error))
    return TRUE;
  /* reading a reply lost the connection: the frames in flight are ended */
  if (!self->sending_open)
    {
      g_propagate_error (error, transport_error);
      return FALSE;
    }
  return rthunk_client_call_failed (self, conn, transport_error, NULL, error);
}

/* Ends the frames in flight: the connection goes back to the pool, or is
 * closed if it broke; the batches still unanswered fail with @failure. */
static void
end_in_flight (RthunkClient *self,
               const GError *failure)
{
  GArray *batch;

  while ((batch = g_queue_pop_head (&self->in_flight)) != NULL)
    {
      report_sent (self, batch, NULL, failure);
      g_array_unref (batch);
    }
  rthunk_call_end (&self->sending, failure == NULL, NULL);
  self->sending_open = FALSE;
  g_mutex_lock (&self->outbox_lock);
  self->in_flight_any = FALSE;
  g_mutex_unlock (&self->outbox_lock);
}

/* Reads the replies of the @n oldest frames in flight and reports each
 * submission; a frame refused as a whole is kept in self->refused.
 * Returns FALSE (with @lost) when the connection failed: every frame in
 * flight failed with it, and they are ended. */
static gboolean
receive_in_flight (RthunkClient  *self,
                   guint          n,
                   GError       **lost)
{
  for (guint k = 0; k < n && self->in_flight.length > 0; k++)
    {
      g_autoptr(GArray) batch = g_queue_pop_head (&self->in_flight);
      g_autoptr(GError) failure = NULL;
      g_autoptr(GArray) answers = rthunk_client_receive_reports (self, self->sending.conn,
                                                                 &rthunk_client_reply_submit_batch, &failure);

      report_sent (self, batch, answers, failure);
      if (failure == NULL)
        continue;
      if (self->refused == NULL)
        self->refused = g_error_copy (failure);
      if (self->sending.conn->broken)
        {
          end_in_flight (self, failure);
          g_propagate_error (lost, g_steal_pointer (&failure));
          return FALSE;
        }
    }
  return TRUE;
}

/* Sends every queued submission, in submitBatch frames of at most
 * RTHUNK_CLIENT_MAX_BATCH, on the connection of the frames in flight,
 * without waiting for their replies; with the flush lock held. A frame
 * that cannot be sent fails its submissions and is kept in
 * self->refused. */
static void
send_queued (RthunkClient *self)
{
  for (;;)
    {
      g_autoptr(RthunkClientMessage) message = NULL;
      g_autoptr(GArray) batch = take_batch (self, &message);
      g_autoptr(GError) failure = NULL;

      if (batch == NULL)
        break;
      if (!self->sending_open)
        {
          if (!rthunk_call_begin (&self->sending, self->pool, NULL, &failure))
            {
              report_sent (self, batch, NULL, failure);
              if (self->refused == NULL)
                self->refused = g_steal_pointer (&failure);
              continue;
            }
          self->sending_open = TRUE;
          g_mutex_lock (&self->outbox_lock);
          self->in_flight_any = TRUE;
          g_mutex_unlock (&self->outbox_lock);
        }
      if (send_in_flight (self, message, &failure))
        {
          g_queue_push_tail (&self->in_flight, g_steal_pointer (&batch));
          continue;
        }
      report_sent (self, batch, NULL, failure);
      if (self->sending_open)
        end_in_flight (self, failure);
      if (self->refused == NULL)
        self->refused = g_steal_pointer (&failure);
    }
}

/* Sends what is queued, in order, in submitBatch frames of at most
 * RTHUNK_CLIENT_MAX_BATCH, and waits for the reply of every frame in
 * flight (rthunk_client_enqueue() sends some before); each submission
 * learns how it went. Returns FALSE (with @error) when a frame could not
 * be sent or was refused as a whole since the last flush; its
 * submissions fail with that error. */
gboolean
rthunk_client_flush (RthunkClient  *self,
                     GError       **error)
{
  GError *refused;

  g_mutex_lock (&self->flush_lock);
  send_queued (self);
  if (self->sending_open && receive_in_flight (self, G_MAXUINT, NULL))
    end_in_flight (self, NULL);
  refused = g_steal_pointer (&self->refused);
  g_mutex_unlock (&self->flush_lock);
  if (refused == NULL)
    return TRUE;
  g_propagate_error (error, refused);
  return FALSE;
}

/* rthunk_call_begin() for any call but a flush's: what is queued or in
 * flight is settled first. Such a call may name those thunks, and the
 * connection the frames in flight hold may be the pool's last. */
gboolean
rthunk_client_begin_call (RthunkClient  *self,
                          RthunkCall    *call,
                          GCancellable  *cancellable,
                          GError       **error)
{
  gboolean unsettled;

  g_mutex_lock (&self->outbox_lock);
  unsettled = self->outbox->len > 0 || self->in_flight_any;
  g_mutex_unlock (&self->outbox_lock);
  if (unsettled)
    rthunk_client_flush (self, NULL);
  return rthunk_call_begin (call, self->pool, cancellable, error);
}

/* ---- submitBatch: a batch of queued submissions ------------------------- */

static void
value_unref0 (gpointer value)
{
  if (value != NULL)
    rthunk_value_unref (value);
}

/* A batch member was reported: its slot gets the value made for it,
 * finished, or pending (forcing it reports a refusal). */
static void
batch_member_sent (RthunkValue  *made,
                   RthunkValue  *value,
                   const GError *error,
                   gpointer      data)
{
  RthunkValue **slot = data;

  g_assert (*slot == NULL);
  *slot = rthunk_value_ref (made);
}

GPtrArray *
rthunk_client_submit_batch_run (RthunkClient  *self,
                                GPtrArray     *exprs,
                                GHashTable    *inputs,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autoptr(GPtrArray) values = g_ptr_array_new_full (exprs->len, value_unref0);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  /* what was queued before is not part of this batch */
  if (!rthunk_client_flush (self, error))
    return NULL;
  /* each member's value is made when its reply is read (a flush here, or
   * another thread's), pending only if the server did not finish it:
   * nobody sees one before the flush below, which reads every reply */
  for (guint k = 0; k < exprs->len; k++)
    {
      guint8 id[RTHUNK_CLIENT_ID_LEN];

      rthunk_client_random_id (id);
      g_ptr_array_add (values, NULL);   /* reserved: the slot stays where it is */
      if (!rthunk_client_enqueue (self, g_ptr_array_index (exprs, k), inputs, id, batch_member_sent, &values->pdata[k],
                                  NULL, NULL, error))
        {
          /* those before it are queued: they leave, and the flush reads
           * their replies (into @values' slots) before @values goes */
          g_prefix_error (error, _("expression %u of the batch: "), k);
          rthunk_client_flush (self, NULL);
          return NULL;
        }
    }
  if (!rthunk_client_flush (self, error))
    return NULL;
  for (guint k = 0; k < values->len; k++)
    g_assert (values->pdata[k] != NULL);
  return g_steal_pointer (&values);
}

/**
 * rthunk_client_submit_batch:
 * @client: a client
 * @exprs: (element-type RthunkNode): the expressions, at most 4096; none
 *   may call a user function (submit those with rthunk_client_submit_full())
 * @inputs: (nullable) (element-type utf8 RthunkValue): values of the names
 *   the expressions read, the same for all
 * @error: return location for a #GError
 *
 * Checks every expression, then submits them all in submitBatch frames
 * (several if there are more than 1000). When one does not check, the
 * call fails with its error; those before it are sent all the same. An
 * input may be a pending value of this client's (from an earlier
 * submission): it travels as a reference to that thunk.
 *
 * Returns: (transfer container) (element-type RthunkValue) (nullable): a
 *   value for each expression, in order: finished, or pending (forcing it
 *   reports a submission the server refused) — or %NULL with @error set
 *
 * Since: 0.1
 */
GPtrArray *
rthunk_client_submit_batch (RthunkClient  *client,
                            GPtrArray     *exprs,
                            GHashTable    *inputs,
                            GError       **error)
{
  g_return_val_if_fail (RTHUNK_IS_CLIENT (client), NULL);
  g_return_val_if_fail (exprs != NULL && exprs->len <= 4096, NULL);

  return rthunk_client_submit_batch_run (client, exprs, inputs, NULL, error);
}
