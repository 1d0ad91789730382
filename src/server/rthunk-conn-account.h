/* rthunk-conn-account.h — what one connection has made the server do.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RthunkConnAccount RthunkConnAccount;

struct _RthunkConnAccount        /* a g_atomic_rc_box */
{
  int fd;                       /* its socket, -1 for none: to see it hang up */
  char *peer;                   /* its peer, HOST:PORT, for the log (nullable) */
  gboolean authenticated;       /* a call of it carried the server's token */
  gint unfinished;              /* atomic: thunks it submitted that are queued or running */
  GMutex lock;
  guint in_pool;                /* (lock) its thunks given to the worker pool, not yet done */
  GQueue held;                  /* (lock) its thunks waiting for its running quota */
  gboolean closed;              /* (lock) the connection is gone: nothing is held any more */
};

RthunkConnAccount *rthunk_conn_account_new         (void);
RthunkConnAccount *rthunk_conn_account_ref         (RthunkConnAccount *account);
void               rthunk_conn_account_unref       (RthunkConnAccount *account);
RthunkConnAccount *rthunk_conn_account_get_current (void);
void               rthunk_conn_account_set_current (RthunkConnAccount *account);
gboolean           rthunk_conn_account_hung_up     (RthunkConnAccount *account);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkConnAccount, rthunk_conn_account_unref)

G_END_DECLS
