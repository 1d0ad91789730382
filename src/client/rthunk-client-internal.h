/* rthunk-client-internal.h — what the files of RthunkClient share
 * (private, never installed)
 *
 * The client is cut into rthunk-client.c (the object, its server's info
 * and catalog), rthunk-client-call.c (a call on a connection, its message
 * and frame), rthunk-client-report.c (what the replies say of thunks),
 * rthunk-client-request.c (EvalRequests, their inputs and definitions),
 * rthunk-encode-memo.c (checked expressions, by shape),
 * rthunk-client-await.c (pending values, and waiting for thunks) and
 * rthunk-client-queue.c (queued submissions, frames in flight). They
 * share the struct and the helpers below; the files of the rest of the
 * folder use rthunk-client-private.h.
 */
#pragma once

#include "rthunk-catalog.h"
#include "rthunk-client-pool.h"
#include "rthunk-client-private.h"
#include "rthunk-client.h"
#include "rthunk-core-private.h"
#include "rthunk-hash.h"
#include "rthunk-lang-private.h"
#include "rthunk-node.h"
#include "rthunk-type.h"
#include "rthunk-value.h"
#include "rthunk-wire.h"

G_BEGIN_DECLS

#define RTHUNK_CLIENT_CALL_TIMEOUT_MS 70000     /* the default whole-call deadline */
#define RTHUNK_CLIENT_MAX_CALL_TIMEOUT_MS (24u * 3600u * 1000u)


struct _RthunkClient
{
  GObject parent_instance;

  char *address;
  char *host;
  char *port;
  RthunkPool *pool;
  guint max_connections;        /* until the pool exists */
  guint call_timeout_ms;        /* whole-call deadline (construct-only) */

  GMutex lock;                  /* the fields below */
  char *server_name;
  GPtrArray *old_server_names;  /* names it announced before (nullable): a
                                   reader of server_name holds no lock */
  char **capabilities;
  char **fetches_from;          /* servers it fetches inputs from (patterns) */
  guint load;
  guint workers;                /* its evaluation threads, as it reported them */
  gint64 state_cells;           /* the state cells it reported */
  char *token;
  RthunkCatalog *catalog;
  guint definitions_sent;

  GHashTable *checked;          /* (lock) memo of rthunk_client_build_request: key → Checked */
  RthunkShapeMemo shape_keys;   /* (lock) the part of the memo's key a tree
                                   gives (rthunk-encode-memo.c), by shape (the key:
                                   its source and the catalog) */
  guint64 shape_walks;          /* (lock) keys' parts made by walking a tree */
  struct _Prepared *prepared;   /* (lock) the last request of thunk inputs */

  GMutex outbox_lock;           /* the queued submissions: */
  GArray *outbox;               /* Queued, in the order they were made, */
  GByteArray *outbox_bytes;     /* a submitBatch call's head (its list's count
                                   to be written), then their EvalRequest structs,
                                   one after another */
  guint outbox_head;            /* the head's length */
  gboolean in_flight_any;       /* (outbox_lock) whether frames are in flight */
  GMutex flush_lock;            /* one sender at a time, so frames keep that order; */
  gboolean sending_open;        /* (flush_lock) whether sending holds a connection: */
  RthunkCall sending;           /* (flush_lock) the connection of the frames in flight, */
  GQueue in_flight;             /* (flush_lock) their batches, oldest first: replies unread */
  GError *refused;              /* (flush_lock) the first frame that failed since the last flush */
};

/* ---- a call (rthunk-client-call.c) ---------------------------------------- */

/* The catalog, or NULL before the first connect. */
static inline RthunkCatalog *
rthunk_client_dup_catalog (RthunkClient *self)
{
  RthunkCatalog *catalog;

  g_mutex_lock (&self->lock);
  catalog = self->catalog != NULL ? g_object_ref (self->catalog) : NULL;
  g_mutex_unlock (&self->lock);
  return catalog;
}

/* What a generated call leaves besides its result: the two exceptions
 * most methods declare, and a transport error. Zero it before the call. */
typedef struct
{
  RthunkWireInvalidRequest *invalid;
  RthunkWireNotAuthorized *denied;
  GError *error;
} RthunkCallFault;

RthunkWireAuth *rthunk_client_new_auth        (RthunkClient  *self);
/* rthunk-encode-memo.c: drops the kept parts of the memo's keys */
void            rthunk_client_shape_keys_clear (RthunkClient *self);
/* rthunk-client-queue.c: the queue of submissions a client starts with */
GArray         *rthunk_client_outbox_new      (void);
RthunkWireRemoteThunk *rthunk_client_wire_thunk (GBytes *id);
gboolean        rthunk_client_call_failed     (RthunkClient  *self,
                                               RthunkConn    *conn,
                                               GError        *transport_error,
                                               GObject       *exception,
                                               GError       **error);
gboolean        rthunk_client_call_fault_raise (RthunkClient    *self,
                                                RthunkConn      *conn,
                                                RthunkCallFault *fault,
                                                GError         **error);
GByteArray     *rthunk_client_scratch_bytes   (RthunkThreadKept *cell,
                                               gsize             size);
void            rthunk_client_scratch_give    (RthunkThreadKept *cell,
                                               gpointer          array);
/* A call message: the thread's buffer while it is made and sent, given
 * back by rthunk_client_message_free() (g_autoptr) for the next call. */
typedef GByteArray RthunkClientMessage;
RthunkClientMessage *rthunk_client_message_begin_sized (const char *method,
                                                        gsize       size);
RthunkClientMessage *rthunk_client_message_begin (const char          *method);
void            rthunk_client_message_free    (RthunkClientMessage *message);
void            rthunk_client_message_end     (RthunkClient  *self,
                                               GByteArray    *out,
                                               gint16         field);
gboolean        rthunk_client_frame_fits      (GByteArray    *message,
                                               GError       **transport_error);
GBytes         *rthunk_client_receive_message (RthunkClient  *self,
                                               RthunkConn    *conn,
                                               GError       **error);
GBytes         *rthunk_client_exchange        (RthunkClient  *self,
                                               RthunkConn    *conn,
                                               GByteArray    *message,
                                               GError       **error);

/* ---- what the server says of a thunk (rthunk-client-report.c) ------------- */

/* A RemoteThunk or a VarCont as the client uses it, read from the reply's
 * bytes or from the struct the generated code read. */
#define RTHUNK_CLIENT_MAX_ID_LEN 64  /* a longer thunk id is malformed */

typedef struct
{
  gboolean has_id;              /* the server sent an id (it must) */
  guint id_len;                 /* its length; 0 if it was longer than
                                   RTHUNK_CLIENT_MAX_ID_LEN (malformed) */
  guint8 id[RTHUNK_CLIENT_MAX_ID_LEN]; /* held here: a batch's thousand
                                          reports allocate no ids */
  gint32 state;                 /* 0 when the server did not say */
  RthunkValue *value;           /* finished (DONE or later): its value… */
  GError *error;                /* …or its error */
} ThunkReport;

void     rthunk_client_report_init       (ThunkReport       *report);
void     rthunk_client_report_clear      (ThunkReport       *report);
void     rthunk_client_report_set_id     (ThunkReport       *report,
                                          const guint8      *data,
                                          gsize              len);
gboolean rthunk_client_report_is_of      (const ThunkReport *report,
                                          const guint8      *id,
                                          gsize              id_len);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ThunkReport, rthunk_client_report_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkClientMessage, rthunk_client_message_free)

/* The fields of a RemoteThunk or a VarCont that a report reads, but the
 * id, field 1 of both. */
typedef struct
{
  gint16 state;
  gint16 value;
  gint16 error;
} ReportFields;

/* The hot calls. */
typedef enum
{
  CALL_SUBMIT_EVAL,
  CALL_SUBMIT_BATCH,
  CALL_THUNK_AWAIT
} HotCall;

/* What the reply of a hot call holds. */
typedef struct
{
  HotCall call;
  const char *method;
  guint8 result_type;           /* a RemoteThunk (STRUCT) or a list (LIST) */
  ReportFields fields;
  void (*convert) (gpointer, ThunkReport *);    /* from the generated struct */
} ReplyShape;

extern const ReplyShape rthunk_client_reply_submit_eval;
extern const ReplyShape rthunk_client_reply_submit_batch;
extern const ReplyShape rthunk_client_reply_thunk_await;

RthunkValue *rthunk_client_report_outcome       (RthunkClient                  *self,
                                                 const ThunkReport             *report,
                                                 RthunkType                    *expected,
                                                 GError                       **error);
void         rthunk_client_report_from_var_cont (gpointer                       data,
                                                 ThunkReport                   *report);
GArray      *rthunk_client_call_for_reports     (RthunkClient                  *self,
                                                 RthunkConn                    *conn,
                                                 GByteArray                    *message,
                                                 const ReplyShape              *shape,
                                                 RthunkWireMissingDefinitions **missing,
                                                 GError                       **error);
gboolean     rthunk_client_call_for_report      (RthunkClient                  *self,
                                                 RthunkConn                    *conn,
                                                 GByteArray                    *message,
                                                 RthunkWireMissingDefinitions **missing,
                                                 ThunkReport                   *report,
                                                 GError                       **error);
GArray      *rthunk_client_receive_reports      (RthunkClient                  *self,
                                                 RthunkConn                    *conn,
                                                 const ReplyShape              *shape,
                                                 GError                       **error);

/* ---- pending values (rthunk-client-await.c) ------------------------------- */

#define RTHUNK_CLIENT_HANDLE_MAGIC 0x72746872u

/* What a pending value of this client stands for: a thunk on its server. */
typedef struct
{
  guint32 magic;
  guint32 id_len;
  RthunkClient *client;
  const guint8 *id;             /* in the same allocation, after the label */
  RthunkType *type;             /* what the client's check found */
  GError *send_error;           /* queued: why sending it failed (outbox_lock) */
  char label[];                 /* how it prints: the pending value borrows it */
} RemoteHandle;

/* The thunk on some client's server that @value stands for, if it is one. */
static inline RemoteHandle *
rthunk_client_remote_handle (RthunkValue *value)
{
  RemoteHandle *handle;

  /* pending values and remote references alike */
  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_PENDING)
    return NULL;
  handle = rthunk_value_get_handle (value);
  return handle != NULL && handle->magic == RTHUNK_CLIENT_HANDLE_MAGIC ? handle : NULL;
}

/* The thunk on @self's server that @value stands for, if it is one. */
static inline RemoteHandle *
rthunk_client_own_remote_handle (RthunkClient *self,
                                 RthunkValue  *value)
{
  RemoteHandle *handle = rthunk_client_remote_handle (value);

  return handle != NULL && handle->client == self ? handle : NULL;
}

RthunkValue *rthunk_client_new_pending (RthunkClient *self,
                                        const guint8 *id,
                                        gsize         id_len,
                                        RthunkType   *type,
                                        gboolean      reference);

/* ---- what servers send, checked (rthunk-client-validate.c) --------------- */

gboolean rthunk_client_validate (RthunkClient  *self,
                                 RthunkValue   *value,
                                 RthunkType    *expected,
                                 GError       **error);

/* ---- requests (rthunk-client-request.c) ----------------------------------- */

/* Hashes the user definitions an expression needs, by name, recursively. */
typedef struct
{
  GHashTable *forms;            /* name → defn form (the caller's) */
  GArray *hashes;               /* DefHashed: the addresses found (a request's
                                   few are looked through) */
  GHashTable *index;            /* name → position in @hashes, once they are many */
  GPtrArray *visiting;          /* names being hashed: mutual recursion */
  GArray *resolved;             /* RthunkDefUse: how the names of the form being hashed resolved */
  GError *error;
} DefHasher;

/* ---- defn addresses remembered (rthunk-def-address-memo.c) ---------------- */

typedef struct
{
  char *name;
  RthunkNode *form;             /* the definition it resolved to, or NULL: none */
} RthunkDefUse;

GArray   *rthunk_client_def_uses_new       (void);
void      rthunk_client_def_uses_add       (GArray        *uses,
                                            const char    *name,
                                            RthunkNode    *form);
gboolean  rthunk_client_def_address_lookup (RthunkNode    *form,
                                            guint8         hash[RTHUNK_HASH_LEN],
                                            GArray       **uses);
void      rthunk_client_def_address_store  (RthunkNode    *form,
                                            const guint8   hash[RTHUNK_HASH_LEN],
                                            GArray        *uses);

void       rthunk_client_def_hasher_init    (DefHasher     *h,
                                             GHashTable    *forms);
void       rthunk_client_def_hasher_clear   (DefHasher     *h);
const guint8 *rthunk_client_def_hasher_address (DefHasher  *h,
                                                const char *name);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DefHasher, rthunk_client_def_hasher_clear)

GPtrArray *rthunk_client_no_closure         (void);
GPtrArray *rthunk_client_definition_closure (DefHasher     *h,
                                             RthunkNode    *expr,
                                             GError       **error);
gboolean   rthunk_client_build_request      (RthunkClient  *self,
                                             RthunkCatalog *catalog,
                                             RthunkNode    *expr,
                                             GHashTable    *inputs,
                                             DefHasher     *h,
                                             GPtrArray     *closure,
                                             gboolean       by_reference,
                                             GByteArray    *out,
                                             RthunkType   **out_type,
                                             GError       **error);
void       rthunk_client_prepared_free      (struct _Prepared *prepared);

/* ---- the memo of checked expressions (rthunk-encode-memo.c) --------------- */

void     rthunk_client_checked_free   (gpointer        data);
char    *rthunk_client_typed_name     (const char     *name,
                                       RthunkType     *type);
gboolean rthunk_client_checked_key    (RthunkClient   *self,
                                       RthunkCatalog  *catalog,
                                       RthunkNode     *expr,
                                       GPtrArray      *input_types,
                                       DefHasher      *h,
                                       GPtrArray      *closure,
                                       GString        *key);
gboolean rthunk_client_checked_lookup (RthunkClient   *self,
                                       const char     *key,
                                       RthunkNode     *expr,
                                       RthunkCatalog  *catalog,
                                       GByteArray     *out,
                                       RthunkType    **type);
void     rthunk_client_checked_store  (RthunkClient   *self,
                                       char           *key,
                                       RthunkNode     *expr,
                                       RthunkCatalog  *catalog,
                                       GBytes         *ast,
                                       RthunkType     *type);

/* ---- queued submissions (rthunk-client-queue.c) --------------------------- */

gboolean rthunk_client_begin_call (RthunkClient  *self,
                                   RthunkCall    *call,
                                   GCancellable  *cancellable,
                                   GError       **error);

G_END_DECLS
