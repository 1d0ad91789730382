/* rthunk-client-pool.c — the connections of one client
 *
 * Connections are opened on demand up to a bound and kept idle for the next
 * call. Cancelling a call shuts its socket down, which wakes a blocked
 * send or receive at once; such a connection, like any that saw an error,
 * is closed when the call ends, never reused half-read.
 *
 * At most `max-connections` (default 4); a call holds one alone, so
 * threads and async calls proceed at once. Errors name the server:
 * CONNECTION refused, TIMEOUT, CONNECTION_LOST when it died mid-call. A
 * connection idle for 50 ms or more that the server dropped is noticed
 * before it is reused; one idle for less is taken without a poll(). Both
 * ends set TCP_NODELAY: frames sent back to back, and their replies,
 * waited for delayed acknowledgements without it. With
 * $RTHUNK_REPLY_SPIN_US set, a plain connection's caller spins that many
 * microseconds for a reply before it sleeps
 * (rthunk_frame_transport_set_reply_spin()).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rthunk-client-pool.h"
#include "rthunk-error.h"
#include "rthunk-frame.h"
#include "rthunk-tls.h"
#include "rthunk-wire.h"

struct _RthunkPool
{
  char *address;
  char *host;
  char *port;
  guint connect_timeout_ms;
  guint call_timeout_ms;

  GMutex lock;
  GCond freed;                  /* a connection went idle or was closed */
  guint waiting;                /* calls waiting on freed */
  GPtrArray *idle;              /* RthunkConn *, the latest to go idle
                                   last; an array: a queue's links
                                   would cost an allocation per call */
  guint open;                   /* idle + in use + being opened */
  guint max;
  guint opened;                 /* sockets opened over the pool's life */

  gboolean tls;                 /* (lock) connections speak TLS, */
  GTlsDatabase *tls_ca;         /* (lock) trusting these authorities (NULL: the system's) */
  GTlsCertificate *tls_identity; /* (lock) and showing this certificate, if any */
};

/* Closes @conn and frees it. */
static void
conn_free (RthunkConn *conn)
{
  g_clear_object (&conn->stub);
  g_clear_object (&conn->protocol);
  if (conn->transport != NULL)
    thrift_transport_close (THRIFT_TRANSPORT (conn->transport), NULL);
  g_clear_object (&conn->transport);
  g_free (conn);
}

RthunkPool *
rthunk_pool_new (const char *address,
                 const char *host,
                 const char *port,
                 guint       connect_timeout_ms,
                 guint       call_timeout_ms)
{
  RthunkPool *pool = g_new0 (RthunkPool, 1);

  pool->address = g_strdup (address);
  pool->host = g_strdup (host);
  pool->port = g_strdup (port);
  pool->connect_timeout_ms = connect_timeout_ms;
  pool->call_timeout_ms = call_timeout_ms;
  pool->max = RTHUNK_POOL_DEFAULT_MAX;
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->freed);
  pool->idle = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_free);
  return pool;
}

/* The connection that went idle last, taken off the idle ones (there is
 * one): warm, and the likeliest to be still open. */
static RthunkConn *
idle_pop (RthunkPool *pool)
{
  return g_ptr_array_steal_index (pool->idle, pool->idle->len - 1);
}

void
rthunk_pool_free (RthunkPool *pool)
{
  g_assert (pool->open == pool->idle->len);

  g_ptr_array_unref (pool->idle);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->freed);
  g_free (pool->address);
  g_free (pool->host);
  g_free (pool->port);
  g_clear_object (&pool->tls_ca);
  g_clear_object (&pool->tls_identity);
  g_free (pool);
}

/* Connections opened from now on speak TLS (or, with !@tls, plainly);
 * idle ones of the other kind are closed. */
void
rthunk_pool_set_tls (RthunkPool      *pool,
                     gboolean         tls,
                     GTlsDatabase    *ca,
                     GTlsCertificate *identity)
{
  g_mutex_lock (&pool->lock);
  pool->tls = tls;
  g_set_object (&pool->tls_ca, ca);
  g_set_object (&pool->tls_identity, identity);
  pool->open -= pool->idle->len;
  g_ptr_array_set_size (pool->idle, 0);
  g_mutex_unlock (&pool->lock);
}

gboolean
rthunk_pool_get_tls (RthunkPool *pool)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&pool->lock);

  return pool->tls;
}

void
rthunk_pool_set_max (RthunkPool *pool,
                     guint       max)
{
  g_mutex_lock (&pool->lock);
  pool->max = CLAMP (max, 1, RTHUNK_POOL_LIMIT_MAX);
  while (pool->open > pool->max && pool->idle->len > 0)
    {
      conn_free (idle_pop (pool));
      pool->open--;
    }
  g_cond_broadcast (&pool->freed);
  g_mutex_unlock (&pool->lock);
}

static guint
read_locked (RthunkPool *pool,
             guint      *field)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&pool->lock);

  return *field;
}

guint
rthunk_pool_get_max (RthunkPool *pool)
{
  return read_locked (pool, &pool->max);
}

guint
rthunk_pool_get_opened (RthunkPool *pool)
{
  return read_locked (pool, &pool->opened);
}

guint
rthunk_pool_get_open (RthunkPool *pool)
{
  return read_locked (pool, &pool->open);
}

/* ---- opening a connection --------------------------------------------- */

static void
set_connect_error (RthunkPool  *pool,
                   int          errsv,
                   GError     **error)
{
  if (errsv == ECANCELED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
  else if (errsv == ETIMEDOUT)
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                 _("server %s did not accept a connection within %u ms"), pool->address,
                 pool->connect_timeout_ms);
  else
    g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                 _("cannot connect to server %s: %s"), pool->address, g_strerror (errsv));
}

/* Waits for a non-blocking connect() to finish, for the timeout or for
 * @cancellable; 0 or an errno value. */
static int
finish_connect (int           fd,
                guint         timeout_ms,
                GCancellable *cancellable)
{
  struct pollfd fds[2] = { { fd, POLLOUT, 0 }, { -1, POLLIN, 0 } };
  gboolean have_cancel = g_cancellable_make_pollfd (cancellable, (GPollFD *) &fds[1]);
  int errsv = 0, rc;
  socklen_t len = sizeof errsv;

  G_STATIC_ASSERT (sizeof (GPollFD) == sizeof (struct pollfd));
  fds[1].events = POLLIN;
  do
    rc = poll (fds, have_cancel ? 2 : 1, (int) timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (have_cancel)
    g_cancellable_release_fd (cancellable);
  if (rc < 0)
    return errno;
  if (g_cancellable_is_cancelled (cancellable))
    return ECANCELED;
  if (rc == 0)
    return ETIMEDOUT;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &errsv, &len) < 0)
    return errno;
  return errsv;
}

static int
connect_one (const struct addrinfo *ai,
             guint                  timeout_ms,
             GCancellable          *cancellable,
             int                   *errsv)
{
  int fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);

  if (fd < 0)
    {
      *errsv = errno;
      return -1;
    }
  if (connect (fd, ai->ai_addr, ai->ai_addrlen) == 0)
    *errsv = 0;
  else
    *errsv = errno == EINPROGRESS ? finish_connect (fd, timeout_ms, cancellable) : errno;
  if (*errsv == 0 && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) < 0)
    *errsv = errno;
  if (*errsv == 0)
    {
      int on = 1;

      /* frames sent one after another (rthunk_client_enqueue()) leave at
       * once, not when the server acknowledged the one before */
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return fd;
    }
  close (fd);
  return -1;
}

static int
connect_socket (RthunkPool    *pool,
                GCancellable  *cancellable,
                GError       **error)
{
  struct addrinfo hints = { 0, };
  struct addrinfo *result = NULL;
  int fd = -1, rc, errsv = ECONNREFUSED;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if ((rc = getaddrinfo (pool->host, pool->port, &hints, &result)) != 0)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("cannot resolve server %s: %s"), pool->address, gai_strerror (rc));
      return -1;
    }
  for (struct addrinfo *ai = result; ai != NULL && fd < 0 && errsv != ECANCELED; ai = ai->ai_next)
    fd = connect_one (ai, pool->connect_timeout_ms, cancellable, &errsv);
  freeaddrinfo (result);
  if (fd < 0)
    set_connect_error (pool, errsv, error);
  else
    rthunk_frame_set_timeouts (fd, pool->call_timeout_ms, NULL);
  return fd;
}

/* The transport of a connected @fd: plain, or a TLS session once its
 * handshake verified the server. */
static RthunkFrameTransport *
open_transport (RthunkPool  *pool,
                int          fd,
                GError     **error)
{
  g_autoptr(GTlsDatabase) ca = NULL;
  g_autoptr(GTlsCertificate) identity = NULL;
  g_autoptr(GError) local = NULL;
  gboolean tls;
  GIOStream *session;

  g_mutex_lock (&pool->lock);
  tls = pool->tls;
  ca = pool->tls_ca != NULL ? g_object_ref (pool->tls_ca) : NULL;
  identity = pool->tls_identity != NULL ? g_object_ref (pool->tls_identity) : NULL;
  g_mutex_unlock (&pool->lock);
  if (!tls)
    return rthunk_frame_transport_new (fd, RTHUNK_POOL_MAX_FRAME_BYTES);
  session = rthunk_tls_connect (fd, pool->address, pool->host, pool->port, ca, identity,
                                pool->call_timeout_ms, &local);
  if (session == NULL)
    {
      g_set_error (error, RTHUNK_ERROR, RTHUNK_ERROR_CONNECTION,
                   _("cannot connect to server %s with TLS: %s"), pool->address, local->message);
      return NULL;
    }
  return rthunk_frame_transport_new_tls (session, fd, RTHUNK_POOL_MAX_FRAME_BYTES);
}

/* How long a caller spins for a reply before it sleeps:
 * $RTHUNK_REPLY_SPIN_US (0 to 100000 µs), read once; 0, never, without
 * it. Spinning trades a CPU's time for a reply's latency: an opt-in for
 * a process that waits on one call at a time on machines whose idle CPUs
 * wake slowly (virtual machines). */
static guint
reply_spin_us (void)
{
  static gsize once = 0;
  static guint us;

  if (g_once_init_enter (&once))
    {
      const char *env = g_getenv ("RTHUNK_REPLY_SPIN_US");
      guint64 v = 0;

      if (env != NULL && !g_ascii_string_to_unsigned (env, 10, 0, 100000, &v, NULL))
        v = 0;
      us = (guint) v;
      g_once_init_leave (&once, 1);
    }
  return us;
}

static RthunkConn *
conn_open (RthunkPool    *pool,
           GCancellable  *cancellable,
           GError       **error)
{
  RthunkFrameTransport *transport;
  RthunkConn *conn;
  guint spin_us;
  int fd;

  if ((fd = connect_socket (pool, cancellable, error)) < 0)
    return NULL;
  if ((transport = open_transport (pool, fd, error)) == NULL)
    return NULL;
  conn = g_new0 (RthunkConn, 1);
  conn->fd = fd;
  conn->transport = transport;
  rthunk_frame_transport_set_call_budget (conn->transport, pool->call_timeout_ms);
  if ((spin_us = reply_spin_us ()) > 0)
    rthunk_frame_transport_set_reply_spin (conn->transport, spin_us);
  /* the client's codec reads the hot replies itself, checking every read;
   * what the generated code reads is validated when it starts reading */
  rthunk_frame_transport_set_check_on_read (conn->transport, TRUE);
  conn->protocol = g_object_new (THRIFT_TYPE_BINARY_PROTOCOL, "transport", conn->transport, NULL);
  conn->stub = g_object_new (RTHUNK_WIRE_TYPE_REMOTE_EXECUTION_SERVICE_CLIENT,
                             "input_protocol", conn->protocol,
                             "output_protocol", conn->protocol, NULL);
  return conn;
}

/* ---- calls ------------------------------------------------------------- */

static void
call_cancelled (GCancellable *cancellable,
                gpointer      user_data)
{
  RthunkCall *call = user_data;

  g_mutex_lock (&call->pool->lock);
  if (call->conn != NULL)
    shutdown (call->conn->fd, SHUT_RDWR);
  g_cond_broadcast (&call->pool->freed);
  g_mutex_unlock (&call->pool->lock);
}

static gboolean
set_cancelled (GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Operation was cancelled"));
  return FALSE;
}

/* Whether an idle connection is still usable: nothing may arrive on it
 * between calls, so anything readable is the server closing it (servers
 * drop idle connections) or a reset. One that went idle less than
 * RECHECK_IDLE_US ago is taken as it is: back to back calls would pay a
 * poll() each, and a server that died since fails the call as it would
 * have failed mid-call. */
#define RECHECK_IDLE_US (50 * G_TIME_SPAN_MILLISECOND)

static gboolean
still_open (RthunkConn *conn)
{
  struct pollfd p = { conn->fd, POLLIN, 0 };

  /* bytes past the last reply: not a reply to the next call */
  if (rthunk_frame_transport_input_pending (conn->transport))
    return FALSE;
  if (g_get_monotonic_time () - conn->idle_since_us < RECHECK_IDLE_US)
    return TRUE;
  return poll (&p, 1, 0) == 0;
}

/* An idle connection, or the right to open one; waits while every
 * connection is in use. FALSE when cancelled. Lock held. */
static gboolean
take_slot_locked (RthunkCall *call)
{
  RthunkPool *pool = call->pool;

  for (;;)
    {
      if (g_cancellable_is_cancelled (call->cancellable))
        return FALSE;
      if (pool->idle->len > 0)
        {
          call->conn = idle_pop (pool);
          if (still_open (call->conn))
            return TRUE;
          /* the server dropped it while it was idle: open another */
          conn_free (g_steal_pointer (&call->conn));
          pool->open--;
          continue;
        }
      if (pool->open < pool->max)
        {
          pool->open++;
          return TRUE;
        }
      pool->waiting++;
      g_cond_wait (&pool->freed, &pool->lock);
      pool->waiting--;
    }
}

/* Gives a connection (or a slot that got none) back. Lock held. */
static void
give_back_locked (RthunkPool *pool,
                  RthunkConn *conn)
{
  if (conn != NULL && !conn->broken && pool->open <= pool->max)
    {
      conn->idle_since_us = g_get_monotonic_time ();
      g_ptr_array_add (pool->idle, conn);
    }
  else
    {
      if (conn != NULL)
        conn_free (conn);
      pool->open--;
    }
  /* GLib's signal is a system call even when nobody waits */
  if (pool->waiting > 0)
    g_cond_signal (&pool->freed);
}

/**
 * rthunk_call_begin: (skip)
 *
 * Takes a connection of @pool for one call, opening it when needed, and
 * arranges for cancelling @cancellable to abort the call's I/O. Every
 * successful begin needs an rthunk_call_end().
 */
gboolean
rthunk_call_begin (RthunkCall    *call,
                   RthunkPool    *pool,
                   GCancellable  *cancellable,
                   GError       **error)
{
  RthunkConn *conn;
  gboolean have_slot;

  memset (call, 0, sizeof *call);
  call->pool = pool;
  call->cancellable = cancellable;
  if (cancellable != NULL)
    call->handler = g_cancellable_connect (cancellable, G_CALLBACK (call_cancelled), call, NULL);
  g_mutex_lock (&pool->lock);
  have_slot = take_slot_locked (call);
  g_mutex_unlock (&pool->lock);
  if (!have_slot)
    {
      g_cancellable_disconnect (cancellable, call->handler);
      return set_cancelled (error);
    }
  if (call->conn != NULL)
    return TRUE;
  conn = conn_open (pool, cancellable, error);
  g_mutex_lock (&pool->lock);
  call->conn = conn;
  if (conn != NULL)
    pool->opened++;
  else
    give_back_locked (pool, NULL);
  if (conn != NULL && g_cancellable_is_cancelled (cancellable))
    shutdown (conn->fd, SHUT_RDWR);
  g_mutex_unlock (&pool->lock);
  if (conn == NULL)
    g_cancellable_disconnect (cancellable, call->handler);
  return conn != NULL;
}

/**
 * rthunk_call_end: (skip)
 *
 * Ends a call that rthunk_call_begin() started: the connection goes back
 * to the pool unless it is broken or the call was cancelled. When
 * cancelled, @error becomes %G_IO_ERROR_CANCELLED whatever the call did.
 *
 * Returns: @ok, or %FALSE when the call was cancelled
 */
gboolean
rthunk_call_end (RthunkCall  *call,
                 gboolean     ok,
                 GError     **error)
{
  RthunkPool *pool = call->pool;
  gboolean cancelled;

  /* after this the handler is neither running nor going to run */
  g_cancellable_disconnect (call->cancellable, call->handler);
  cancelled = g_cancellable_is_cancelled (call->cancellable);
  g_mutex_lock (&pool->lock);
  if (cancelled)
    call->conn->broken = TRUE;
  give_back_locked (pool, g_steal_pointer (&call->conn));
  g_mutex_unlock (&pool->lock);
  if (!cancelled)
    return ok;
  if (error != NULL)
    g_clear_error (error);
  return set_cancelled (error);
}
