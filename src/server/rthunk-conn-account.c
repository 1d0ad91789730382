/* rthunk-conn-account.c — what one connection has made the server do
 *
 * Each connection's thread keeps an account, the thread's current one
 * while it serves the connection: the thunks it submitted that are not
 * finished (checked against --max-queued-per-client), those it gave the
 * worker pool (at most --max-running-per-client) and those held back
 * until one of those ends. A thunk keeps a reference to the account of
 * the connection that submitted it, so the account outlives the
 * connection until the last of its thunks is forgotten.
 */
#include "config.h"

#include <poll.h>

#include "rthunk-conn-account.h"
#include "rthunk-core-private.h"

static _Thread_local RthunkConnAccount *current;

RthunkConnAccount *
rthunk_conn_account_new (void)
{
  RthunkConnAccount *account = g_atomic_rc_box_new0 (RthunkConnAccount);

  account->fd = -1;
  g_mutex_init (&account->lock);
  g_queue_init (&account->held);
  return account;
}

static void
conn_account_clear (RthunkConnAccount *account)
{
  /* a held thunk holds its account: none is left when the last ref goes */
  g_assert (account->held.length == 0);
  g_mutex_clear (&account->lock);
  g_free (account->peer);
}

RTHUNK_DEFINE_RC_BOX_REFS (RthunkConnAccount, rthunk_conn_account, conn_account_clear)

/* The account of the connection the calling thread serves (transfer
 * none), or %NULL (a worker, or a server used without connections). */
RthunkConnAccount *
rthunk_conn_account_get_current (void)
{
  return current;
}

/* Makes @account (transfer none: the caller keeps it while it is
 * current) the calling thread's; %NULL for none. */
void
rthunk_conn_account_set_current (RthunkConnAccount *account)
{
  current = account;
}

/* Whether the client of @account closed its connection (or it broke):
 * a thread waiting on its behalf stops waiting. Does not block. */
gboolean
rthunk_conn_account_hung_up (RthunkConnAccount *account)
{
  struct pollfd p = { account->fd, POLLRDHUP, 0 };

  if (account->fd < 0 || poll (&p, 1, 0) <= 0)
    return FALSE;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}
