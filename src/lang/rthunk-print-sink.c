/* rthunk-print-sink.c — where `print` writes on a server
 *
 * A server's evaluations must not wait on their standard output: with
 * stdout a pipe nobody reads, a blocking write would hold a worker, and
 * the SIGTERM drain behind it, for ever. An evaluator given the sink
 * (rthunk_evaluator_set_print_sink(), which the server's workers set)
 * queues what it prints here, at most max_per_evaluation bytes per
 * evaluation; one writer thread, started with the first print, writes the
 * queue out. When the queue holds buffer_bytes, more is dropped and
 * counted. rthunkd sets both (--max-print-bytes, --print-buffer-bytes). The shell's own evaluations write directly, in
 * order with what the shell prints.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "rthunk-print-sink.h"

static GMutex lock;
static GCond ready;
static GQueue pending = G_QUEUE_INIT;     /* GBytes, oldest first */
static gsize pending_bytes;
static GThread *writer;
static guint64 dropped;                   /* atomic */
static guint64 max_per_evaluation = RTHUNK_PRINT_DEFAULT_MAX_BYTES;  /* atomic */
static guint64 buffer_bytes = RTHUNK_PRINT_DEFAULT_BUFFER_BYTES;     /* under lock */

void
rthunk_print_sink_set_limits (guint64 max_bytes,
                              guint64 buffer)
{
  __atomic_store_n (&max_per_evaluation, max_bytes, __ATOMIC_RELAXED);
  g_mutex_lock (&lock);
  buffer_bytes = buffer;
  g_mutex_unlock (&lock);
}

guint64
rthunk_print_sink_get_max_per_evaluation (void)
{
  return __atomic_load_n (&max_per_evaluation, __ATOMIC_RELAXED);
}

static void
write_all (const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      gssize n = write (STDOUT_FILENO, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;                           /* stdout closed: the rest is lost */
      data += n;
      len -= (gsize) n;
    }
}

static gpointer
write_pending (gpointer data)
{
  for (;;)
    {
      GBytes *next;
      gsize len;

      g_mutex_lock (&lock);
      while (pending.length == 0)
        g_cond_wait (&ready, &lock);
      next = g_queue_pop_head (&pending);
      g_mutex_unlock (&lock);
      write_all (g_bytes_get_data (next, &len), g_bytes_get_size (next));
      g_mutex_lock (&lock);
      pending_bytes -= len;
      g_mutex_unlock (&lock);
      g_bytes_unref (next);
    }
  return NULL;
}

gboolean
rthunk_print_sink_write (const char *data,
                         gsize       len)
{
  gboolean queued = FALSE;

  g_mutex_lock (&lock);
  if (len <= buffer_bytes && pending_bytes <= buffer_bytes - len)
    {
      g_queue_push_tail (&pending, g_bytes_new (data, len));
      pending_bytes += len;
      queued = TRUE;
      if (writer == NULL)
        writer = g_thread_new ("rthunk-print", write_pending, NULL);
      g_cond_signal (&ready);
    }
  g_mutex_unlock (&lock);
  if (!queued)
    rthunk_print_sink_count_dropped (len);
  return queued;
}

void
rthunk_print_sink_count_dropped (gsize len)
{
  __atomic_add_fetch (&dropped, len, __ATOMIC_RELAXED);
}

guint64
rthunk_print_sink_dropped (void)
{
  return __atomic_load_n (&dropped, __ATOMIC_RELAXED);
}
