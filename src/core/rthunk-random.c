/* rthunk-random.c — thunk ids: random bytes from the kernel, a page at a time */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "rthunk-core-private.h"

/* Read from the kernel a page at a time per thread: one getrandom() call
 * serves 256 ids of 16 bytes, and the ids stay as unguessable as the
 * kernel's generator makes them. What was handed out is not kept. */
#define RANDOM_POOL_BYTES 4096

static _Thread_local guint8 random_pool[RANDOM_POOL_BYTES];
static _Thread_local gsize random_left;

static void
random_refill (void)
{
  gsize got = 0;

  while (got < RANDOM_POOL_BYTES)
    {
      gssize n = getrandom (random_pool + got, RANDOM_POOL_BYTES - got, 0);

      if (n > 0)
        got += n;
      else if (errno != EINTR)
        g_error ("getrandom failed: %s", g_strerror (errno));
    }
  random_left = RANDOM_POOL_BYTES;
}

/* Fills @out with @len ≤ 64 random bytes (a server's or a client's thunk id). */
void
rthunk_random_id (guint8 *out,
                  gsize   len)
{
  g_assert (len <= 64);

  if (random_left < len)
    random_refill ();
  random_left -= len;
  memcpy (out, random_pool + random_left, len);
  memset (random_pool + random_left, 0, len);
}
