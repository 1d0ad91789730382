/* rthunk-random-id.c — thunk ids: 16 random bytes from the kernel
 *
 * Read a block at a time per thread: one getrandom() call serves 256 ids
 * (one a thunk cost a system call, about 5% of a session's submitting
 * thread), and the ids stay as unguessable as the kernel's generator makes
 * them. A server draws the ids it gives thunks here, a client those it
 * proposes for queued submissions.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "rthunk-core-private.h"

#define ID_POOL_BYTES (RTHUNK_ID_LEN * 256)

static _Thread_local guint8 id_pool[ID_POOL_BYTES];
static _Thread_local gsize id_pool_left;

void
rthunk_random_id (guint8 id[RTHUNK_ID_LEN])
{
  if (id_pool_left < RTHUNK_ID_LEN)
    {
      gsize got = 0;

      while (got < ID_POOL_BYTES)
        {
          gssize n = getrandom (id_pool + got, ID_POOL_BYTES - got, 0);

          if (n > 0)
            got += n;
          else if (errno != EINTR)
            g_error ("getrandom failed: %s", g_strerror (errno));
        }
      id_pool_left = ID_POOL_BYTES;
    }
  id_pool_left -= RTHUNK_ID_LEN;
  memcpy (id, id_pool + id_pool_left, RTHUNK_ID_LEN);
  /* what was handed out is not kept */
  memset (id_pool + id_pool_left, 0, RTHUNK_ID_LEN);
}
