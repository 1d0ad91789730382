/* bench-scale.c — bench-rpc's benchmarks of cost as the work grows
 *
 *   pending  a session holding 10^5 pending values, as a user writes it:
 *            `(def xs (map (fn [i] (remote (* i i))) (range 0 N)))` then
 *            `(def s (sum xs))`, and s waited for. Values/s: N over the
 *            time from the first eval until s has its value. Memory: the
 *            process's VmRSS above the same session before (connected,
 *            warmed up) per pending value, when `def xs` has returned
 *            (every value sent, most pending), and its peak (VmHWM, reset
 *            through /proc/self/clear_refs before) over the whole run.
 *            The rthunkd is another process, so its memory is not counted.
 *   cells    a chain of 10^4 cells in a local session, c0 = 1 and
 *            ck = (+ c(k-1) 1); redefining c0 recomputes every one: ms from
 *            the eval of `(def c0 …)` until the last cell has its value,
 *            wall clock and the process's CPU time (on a loaded machine
 *            the wall clock waits for a CPU).
 *   startup  `rthunk -e 1` (--rthunk PATH, or $RTHUNK: the program itself,
 *            not libtool's wrapper) started 20 times a repetition with
 *            posix_spawn, its output to /dev/null: ms from the spawn to
 *            its exit, the median start of each repetition.
 */
#include "config.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rthunk.h"
#include "bench-time.h"
#include "bench-rpc.h"

extern char **environ;

/* Seconds of CPU the process has used, every thread's. */
static double
cpu_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status (VmRSS:, VmHWM:), in KiB. */
static gsize
self_status_kb (const char *field)
{
  g_autofree char *status = NULL;
  const char *at;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (at = strstr (status, field)) == NULL)
    g_error ("cannot read %s in /proc/self/status", field);
  return g_ascii_strtoull (at + strlen (field), NULL, 10);
}

/* Resets VmHWM to the current VmRSS. */
static void
reset_peak (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

  if (fd < 0 || write (fd, "5", 1) != 1)
    say ("pending: cannot reset the peak RSS; the peak includes what ran before");
  if (fd >= 0)
    close (fd);
}

static void
session_eval (RthunkSession *session,
              const char    *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_session_eval (session, text, "<bench>", &error);

  if (value == NULL)
    g_error ("%s failed: %s", text, error->message);
}

/* The value of cell @name once it has one. */
static gint64
cell_int (RthunkSession *session,
          const char    *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = NULL;

  if (!rthunk_session_wait_all (session, -1, &error) ||
      (value = rthunk_session_wait (session, rthunk_session_lookup (session, name), -1, &error)) == NULL)
    g_error ("the cell %s failed: %s", name, error->message);
  return rthunk_value_get_int (value);
}

/* ---- pending: 10^5 pending values in one session ---------------------------- */

typedef struct
{
  double seconds;
  gsize held_kb;                /* VmRSS after def xs, above the baseline */
  gsize peak_kb;                /* VmHWM of the whole run, above it */
} PendingRun;

static PendingRun
pending_run (Peer  *rthunkd,
             guint  n)
{
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *xs = g_strdup_printf ("(def xs (map (fn [i] (remote (* i i))) (range 0 %u)))", n);
  gint64 expected = (gint64) (n - 1) * n * (2 * (gint64) n - 1) / 6;
  PendingRun run;
  gsize base;
  double start;

  if (!rthunk_session_add_server (session, rthunkd->address, &error))
    g_error ("the session cannot reach rthunkd: %s", error->message);
  /* a warm-up of the same shape: connections, memos, thread pools */
  session_eval (session, "(def ws (map (fn [i] (remote (* i i))) (range 0 1000)))");
  session_eval (session, "(def t (sum ws))");
  cell_int (session, "t");
  base = self_status_kb ("VmRSS:");
  reset_peak ();
  start = now_s ();
  session_eval (session, xs);
  run.held_kb = self_status_kb ("VmRSS:") - MIN (base, self_status_kb ("VmRSS:"));
  session_eval (session, "(def s (sum xs))");
  if (cell_int (session, "s") != expected)
    g_error ("(sum xs) is not %" G_GINT64_FORMAT, expected);
  run.seconds = now_s () - start;
  run.peak_kb = self_status_kb ("VmHWM:") - MIN (base, self_status_kb ("VmHWM:"));
  return run;
}

void
bench_pending (void)
{
  guint n = scaled (100000);
  const char *extra[] = { "--cache-entries", "0", "--max-thunks", "1000000", NULL };
  Peer *rthunkd = start_rthunkd (extra);
  g_autofree double *rate = g_new (double, opt_reps);
  PendingRun first = { 0, };

  for (int rep = 0; rep < opt_reps; rep++)
    {
      PendingRun run = pending_run (rthunkd, n);

      if (rep == 0)
        first = run;
      rate[rep] = n / run.seconds;
      say ("pending rep %d: %u values in %.3f s (%.0f/s); RSS above the session before: "
           "%.1f MiB after def xs, peak %.1f MiB",
           rep + 1, n, run.seconds, rate[rep], run.held_kb / 1024.0, run.peak_kb / 1024.0);
    }
  result ("pending.values", n);
  result ("pending.per_s", median (rate, opt_reps));
  result ("pending.held_bytes_per_value", first.held_kb * 1024.0 / n);
  result ("pending.peak_bytes_per_value", first.peak_kb * 1024.0 / n);
  peer_stop (rthunkd);
}

/* ---- cells: a chain of 10^4 dependent cells, its input redefined ------------- */

void
bench_cells (void)
{
  guint n = scaled (10000);
  g_autoptr(RthunkSession) session = rthunk_session_new ();
  g_autofree double *ms = g_new (double, opt_reps);
  g_autofree double *cpu_ms = g_new (double, opt_reps);
  g_autofree char *last = g_strdup_printf ("c%u", n - 1);
  double start = now_s ();

  rthunk_session_set_local (session, TRUE);
  session_eval (session, "(def c0 0)");
  for (guint k = 1; k < n; k++)
    {
      g_autofree char *def = g_strdup_printf ("(def c%u (+ c%u 1))", k, k - 1);

      session_eval (session, def);
    }
  cell_int (session, last);
  say ("cells: a chain of %u cells defined in %.3f s", n, now_s () - start);
  for (int rep = 0; rep < opt_reps + 1; rep++)
    {
      g_autofree char *def = g_strdup_printf ("(def c0 %d)", rep + 1);
      double cpu = cpu_s ();
      gint64 value;

      start = now_s ();
      session_eval (session, def);
      value = cell_int (session, last);
      if (value != rep + n)
        g_error ("%s is %" G_GINT64_FORMAT ", not %u", last, value, rep + n);
      if (rep == 0)           /* a warm-up */
        continue;
      ms[rep - 1] = (now_s () - start) * 1e3;
      cpu_ms[rep - 1] = (cpu_s () - cpu) * 1e3;
      say ("cells rep %d: %u cells recomputed in %.2f ms (CPU %.2f ms)", rep, n, ms[rep - 1], cpu_ms[rep - 1]);
    }
  result ("cells.chain", n);
  result ("cells.recompute_ms", median (ms, opt_reps));
  result ("cells.recompute_cpu_ms", median (cpu_ms, opt_reps));
}

/* ---- startup: rthunk -e 1 ------------------------------------------------- */

#define STARTS_PER_REP 20

static double
start_once (void)
{
  char *argv[] = { opt_rthunk, (char *) "-e", (char *) "1", NULL };
  posix_spawn_file_actions_t actions;
  double start = now_s ();
  int status;
  pid_t pid;

  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (posix_spawn (&pid, opt_rthunk, &actions, NULL, argv, environ) != 0)
    g_error ("cannot start %s", opt_rthunk);
  posix_spawn_file_actions_destroy (&actions);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("%s -e 1 failed", opt_rthunk);
  return (now_s () - start) * 1e3;
}

void
bench_startup (void)
{
  g_autofree double *ms = g_new (double, opt_reps);
  double one[STARTS_PER_REP];

  if (opt_rthunk == NULL)
    {
      say ("startup: no --rthunk (or $RTHUNK): skipped");
      return;
    }
  start_once ();              /* a warm-up: the page cache */
  for (int rep = 0; rep < opt_reps; rep++)
    {
      for (guint k = 0; k < STARTS_PER_REP; k++)
        one[k] = start_once ();
      ms[rep] = median (one, STARTS_PER_REP);
      say ("startup rep %d: rthunk -e 1 in %.2f ms (median of %u)", rep + 1, ms[rep], STARTS_PER_REP);
    }
  result ("startup.ms", median (ms, opt_reps));
}
