/* rthunk-random-id.c — 16-byte random ids, read from the kernel in bulk
 *
 * Thunk ids (the server's, and those a client chooses for the thunks it
 * queues) are 16 random bytes. A getrandom() call per id cost more than
 * the rest of a batched submission; each thread reads a pool of 256 ids
 * at a time instead, hands each out once and clears it. A forked child
 * drops the pool it inherited, so that it never hands out its parent's
 * ids.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "rthunk-core-private.h"

#define ID_POOL_BYTES (RTHUNK_ID_LEN * 256)

static _Thread_local guint8 id_pool[ID_POOL_BYTES];
static _Thread_local gsize id_pool_left;

/* In the child, only the thread that forked exists: its pool is the
 * parent's. */
static void
forget_pool (void)
{
  memset (id_pool, 0, sizeof id_pool);
  id_pool_left = 0;
}

static void
register_fork_handler (void)
{
  pthread_atfork (NULL, NULL, forget_pool);
}

static void
fill_pool (void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  gsize got = 0;

  pthread_once (&once, register_fork_handler);
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

/* Writes a new random id, never handed out before, into @id. */
void
rthunk_random_id (guint8 id[RTHUNK_ID_LEN])
{
  if (id_pool_left < RTHUNK_ID_LEN)
    fill_pool ();
  id_pool_left -= RTHUNK_ID_LEN;
  memcpy (id, id_pool + id_pool_left, RTHUNK_ID_LEN);
  /* what was handed out is not kept */
  memset (id_pool + id_pool_left, 0, RTHUNK_ID_LEN);
}
