/* rthunk — the rthunk shell
 *
 *   rthunk                      the REPL
 *   rthunk -e EXPR              evaluate EXPR, print the value of its last form
 *   rthunk FILE.rth             run a script
 *   --server HOST:PORT          use that server for (remote …) (repeatable)
 *   --registry redis://…        and every server registered there
 *   --local                     no server at all
 *   --http HOST:PORT            serve a live page of the session there
 *
 * Everything runs on one RthunkSession. With neither --server nor --local,
 * the session starts an embedded provider in this process the first time
 * it meets (remote …), so remote expressions work on a fresh machine.
 * Every form is read and type-checked before any of it is evaluated or
 * sent; -e and scripts wait for every pending value before exiting.
 *
 * The REPL is GNU readline in callback mode inside a GMainLoop: values
 * that arrive while the user types are printed above the prompt, and the
 * line being typed is redrawn under them.
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "rthunk.h"
#include "common/rthunk-locale.h"

#define PROMPT "rthunk> "
#define PROMPT_MORE "...... "
#define REPL_EVAL_BUDGET_MS 200     /* longer local evaluations go on in the background */
#define HISTORY_LINES 1000
#define MAX_PRINTED 2000            /* characters of a value the REPL prints */
#define LONG_LIST_ITEMS 1000        /* a list longer prints its head and its length */
#define LONG_LIST_HEAD 10           /* the items of that head */
#define LONG_STR_CHARS 1000         /* a string longer prints its head and its length */
#define LONG_STR_HEAD 200           /* the characters of that head */
#define STATUS_AFTER_MS 500         /* a longer wait shows a status line */
#define STATUS_EVERY_MS 200         /* how often the status line is redrawn */

#define C_RESET  "\033[0m"
#define C_DIM    "\033[2m"
#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_CYAN   "\033[36m"
#define C_BOLD   "\033[1m"

typedef enum
{
  EVENT_CHANGED,
  EVENT_FAILED,
} EventKind;

typedef struct
{
  EventKind kind;
  char *name;
  char *text;                 /* the printed value, or the message */
} Event;

typedef struct
{
  RthunkSession *session;
  GMainLoop *loop;
  gboolean interactive;
  gboolean color;
  guint failures;

  /* what eval reported while it ran: printed after it */
  gboolean in_eval;
  GPtrArray *defined;         /* names */
  GPtrArray *events;          /* Event */

  /* the REPL */
  GString *input;             /* the lines of an unfinished form */
  char *history_path;
  gboolean prompt_active;
  guint stdin_source;
  GCancellable *waiting;      /* while the REPL waits for an expression */
  RthunkValue *waited;
  gint64 wait_started_us;
  gint64 timed_since_us;      /* :time: when its evaluation started, else 0 */
  RthunkValue *background;    /* stopped waiting for it: Ctrl-C at an empty prompt cancels it */
  gboolean status_wanted;     /* a terminal that shows a status line while the REPL waits */
  guint status_source;        /* redraws it */
  gboolean status_shown;
} Shell;

static Shell *the_shell;      /* readline's callbacks take no data */

static void
event_free (gpointer data)
{
  Event *event = data;

  g_free (event->name);
  g_free (event->text);
  g_free (event);
}

/* ---- output ----------------------------------------------------------------- */

static const char *
col (Shell      *shell,
     const char *code)
{
  return shell->color ? code : "";
}

/* @text as a terminal may show it: text that came from a server (error
 * messages, server names, values) must not move the cursor or set the
 * title. ESC becomes `\e`, the other C0 controls (but newline and tab)
 * and DEL `\xNN`, C1 controls `\u{NN}` and bytes that are not UTF-8
 * `\xNN`. */
static char *
shown (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;

  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      guchar byte = (guchar) *p;

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", byte);
          p++;
          continue;
        }
      if (c == 0x1b)
        g_string_append (out, "\\e");
      else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else if (c >= 0x80 && c < 0xa0)
        g_string_append_printf (out, "\\u{%x}", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

/* `"[0 1 2 …"… (14888890 characters)`: a long string's head, printed as
 * the reader reads it, and its length; %NULL for any other value. */
static char *
long_str_text (RthunkValue *value)
{
  const char *text;
  glong length;
  g_autoptr(RthunkValue) head = NULL;
  g_autofree char *printed = NULL;

  if (rthunk_value_get_kind (value) != RTHUNK_VALUE_STR)
    return NULL;
  text = rthunk_value_get_str (value);
  if ((length = g_utf8_strlen (text, -1)) <= LONG_STR_CHARS)
    return NULL;
  head = rthunk_value_new_str_take (g_utf8_substring (text, 0, LONG_STR_HEAD));
  printed = rthunk_value_to_string (head);
  return g_strdup_printf ("%s… (%ld characters)", printed, length);
}

/* What a person is shown of @value, before escaping: a long list or a
 * long string abridged. */
static char *
printed_text (RthunkValue *value)
{
  gboolean long_list = rthunk_value_get_kind (value) == RTHUNK_VALUE_LIST &&
                       rthunk_value_get_length (value) > LONG_LIST_ITEMS;
  char *long_str = long_str_text (value);
  GString *abridged;

  if (long_str != NULL)
    return long_str;
  abridged = g_string_new (NULL);
  rthunk_value_print_abridged (value, long_list ? LONG_LIST_HEAD : G_MAXSIZE, abridged);
  return g_string_free (abridged, FALSE);
}

static char *
value_text (RthunkValue *value)
{
  g_autofree char *printed = printed_text (value);
  g_autofree char *text = NULL;

  text = shown (printed);

  if (g_utf8_strlen (text, -1) <= MAX_PRINTED)
    return g_steal_pointer (&text);
  return g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (text, MAX_PRINTED) - text), text);
}

/* Erases the status line, if it is shown (the cursor is at its end). */
static void
status_clear (Shell *shell)
{
  if (!shell->status_shown)
    return;
  fputs ("\r\033[K", stdout);
  fflush (stdout);
  shell->status_shown = FALSE;
}

/* Prints @text on its own line(s); while the prompt is up, above it, with
 * the line being typed redrawn underneath; in the place of the status
 * line, if it is shown (it is redrawn under @text). */
static void
print_line (Shell      *shell,
            FILE       *stream,
            const char *text)
{
  status_clear (shell);
  if (!shell->prompt_active)
    {
      fprintf (stream, "%s\n", text);
      fflush (stream);
      return;
    }
  rl_clear_visible_line ();
  fflush (rl_outstream != NULL ? rl_outstream : stdout);
  fprintf (stream, "%s\n", text);
  fflush (stream);
  rl_on_new_line ();
  rl_redisplay ();
}

/* Whether MESSAGE already says where the error is, as a positioned error
 * does: "SOURCE:LINE:COL: error: …" in English, "SOURCE:LINE:COL : erreur : …"
 * in French; any language keeps the SOURCE:LINE:COL and the colon after it. */
static gboolean
is_positioned (const char *message)
{
  return g_regex_match_simple ("[^ ]:[0-9]+:[0-9]+ ?: ", message, 0, 0);
}

static void
report_message (Shell      *shell,
                const char *raw)
{
  g_autofree char *message = shown (raw);
  g_autofree char *located = NULL;
  g_autofree char *text = NULL;

  if (!is_positioned (message))
    located = g_strdup_printf (_("rthunk: error: %s"), message);
  text = g_strdup_printf ("%s%s%s", col (shell, C_RED), located != NULL ? located : message,
                          col (shell, C_RESET));
  shell->failures++;
  print_line (shell, stderr, text);
}

static void
report (Shell        *shell,
        const GError *error)
{
  report_message (shell, error->message);
}

static char *
elapsed_text (gint64 us)
{
  return g_strdup_printf ("%.1f s", (double) MAX (us, 0) / G_USEC_PER_SEC);
}

/* After :time's value (or its error): `time: 0.012 s`. */
static void
print_time (Shell *shell)
{
  g_autofree char *text = NULL;

  if (shell->timed_since_us == 0)
    return;
  text = g_strdup_printf (_("%stime: %.3f s%s"), col (shell, C_DIM),
                          (double) (g_get_monotonic_time () - shell->timed_since_us) / G_USEC_PER_SEC,
                          col (shell, C_RESET));
  shell->timed_since_us = 0;
  print_line (shell, stdout, text);
}

/* `y = 13  (#a1b2 @alpha, 1.2 s)`: a value that arrived; `=> 13  (…)`
 * for an expression (@name %NULL). */
static void
print_arrival (Shell      *shell,
               const char *name,
               const char *printed,
               const char *raw_origin,
               gint64      elapsed_us)
{
  g_autofree char *elapsed = elapsed_text (elapsed_us);
  g_autofree char *origin = raw_origin != NULL ? shown (raw_origin) : NULL;
  g_autofree char *text = NULL;

  text = g_strdup_printf ("%s%s%s%s %s  %s(%s%s%s)%s", col (shell, C_GREEN), name != NULL ? name : "=>",
                          col (shell, C_RESET), name != NULL ? " =" : "", printed, col (shell, C_DIM),
                          origin != NULL ? origin : "", origin != NULL ? ", " : "", elapsed,
                          col (shell, C_RESET));
  print_line (shell, stdout, text);
}

static void
print_failure (Shell      *shell,
               const char *name,
               const char *raw)
{
  g_autofree char *message = shown (raw);
  g_autofree char *failed = g_strdup_printf (_("%s failed: %s"), name, message);
  g_autofree char *text = g_strdup_printf ("%s%s%s", col (shell, C_RED), failed, col (shell, C_RESET));

  shell->failures++;
  print_line (shell, stderr, text);
}

/* ---- the session's signals -------------------------------------------------------- */

static void
on_cell_defined (RthunkSession *session,
                 const char    *name,
                 Shell         *shell)
{
  if (shell->in_eval)
    g_ptr_array_add (shell->defined, g_strdup (name));
}

static void
buffer_event (Shell      *shell,
              EventKind   kind,
              const char *name,
              char       *text)
{
  Event *event = g_new0 (Event, 1);

  event->kind = kind;
  event->name = g_strdup (name);
  event->text = text;
  g_ptr_array_add (shell->events, event);
}

static void
on_cell_changed (RthunkSession *session,
                 const char    *name,
                 RthunkValue   *value,
                 Shell         *shell)
{
  g_autofree char *printed = value_text (value);

  if (shell->in_eval)
    buffer_event (shell, EVENT_CHANGED, name, g_steal_pointer (&printed));
  else if (shell->interactive)
    print_arrival (shell, name, printed, rthunk_session_get_cell_origin (session, name),
                   rthunk_session_get_cell_elapsed (session, name));
}

static void
on_cell_failed (RthunkSession *session,
                const char    *name,
                const char    *message,
                Shell         *shell)
{
  if (shell->in_eval)
    buffer_event (shell, EVENT_FAILED, name, g_strdup (message));
  else if (shell->interactive)
    print_failure (shell, name, message);
  else
    report_message (shell, message);
}

/* A server caught lying by an audit (--audit): said once, from whichever
 * thread caught it. */
static void
on_quarantined (RthunkCluster *cluster,
                const char    *name,
                const char    *reason,
                Shell         *shell)
{
  g_printerr (_("rthunk: server %s is quarantined: %s\n"), name, reason);
}

/* ---- evaluating --------------------------------------------------------------------- */

static gboolean
was_defined (Shell      *shell,
             const char *name)
{
  for (guint k = 0; k < shell->defined->len; k++)
    if (strcmp (g_ptr_array_index (shell->defined, k), name) == 0)
      return TRUE;
  return FALSE;
}

/* `x : int = <pending #a1b2 @alpha>` */
static void
print_definition (Shell      *shell,
                  const char *name)
{
  RthunkValue *value = rthunk_session_lookup (shell->session, name);
  const GError *error = rthunk_session_get_cell_error (shell->session, name);
  g_autofree char *type = rthunk_session_get_cell_type (shell->session, name);
  g_autofree char *printed = value != NULL && error == NULL ? value_text (value) : NULL;
  g_autofree char *text = NULL;

  if (printed == NULL)
    return;
  text = g_strdup_printf ("%s%s%s : %s%s%s = %s%s%s", col (shell, C_BOLD), name, col (shell, C_RESET),
                          col (shell, C_CYAN), type != NULL ? type : "?", col (shell, C_RESET),
                          rthunk_value_is_pending (value) ? col (shell, C_DIM) : "", printed,
                          col (shell, C_RESET));
  print_line (shell, stdout, text);
}

/* What eval reported, in order: the definitions of the line, then the
 * cells it recomputed, then what failed. */
static void
flush_events (Shell  *shell,
              GError *error)
{
  for (guint k = 0; shell->interactive && k < shell->defined->len; k++)
    print_definition (shell, g_ptr_array_index (shell->defined, k));
  for (guint k = 0; k < shell->events->len; k++)
    {
      Event *event = g_ptr_array_index (shell->events, k);
      g_autofree char *text = NULL;

      if (was_defined (shell, event->name))
        continue;
      if (event->kind == EVENT_FAILED)
        (shell->interactive ? print_failure (shell, event->name, event->text)
                            : report_message (shell, event->text));
      else if (shell->interactive)
        print_line (shell, stdout, (text = g_strdup_printf ("%s = %s", event->name, event->text)));
    }
  if (error != NULL)
    report (shell, error);
  g_ptr_array_set_size (shell->defined, 0);
  g_ptr_array_set_size (shell->events, 0);
}

static RthunkValue *
shell_eval (Shell       *shell,
            const char  *source,
            const char  *text)
{
  g_autoptr(GError) error = NULL;
  RthunkValue *value;

  shell->in_eval = TRUE;
  value = rthunk_session_eval (shell->session, text, source, &error);
  shell->in_eval = FALSE;
  flush_events (shell, error);
  return value;
}

/* Whether the last form of @text is a definition. */
static gboolean
ends_with_definition (const char *text)
{
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all ("<repl>", text, -1, NULL);
  RthunkNode *last;

  if (forms == NULL || forms->len == 0)
    return FALSE;
  last = g_ptr_array_index (forms, forms->len - 1);
  return rthunk_node_get_kind (last) == RTHUNK_NODE_LIST && rthunk_node_get_n_items (last) > 0 &&
         (rthunk_node_is_symbol (rthunk_node_get_item (last, 0), "def") ||
          rthunk_node_is_symbol (rthunk_node_get_item (last, 0), "defn"));
}

/* ---- -e and scripts ------------------------------------------------------------------ */

static int
run_batch (Shell      *shell,
           const char *source,
           const char *text,
           gboolean    print_last)
{
  g_autoptr(RthunkValue) value = shell_eval (shell, source, text);
  g_autoptr(RthunkValue) resolved = NULL;
  g_autoptr(GError) error = NULL;

  if (value == NULL)
    return 1;
  if (print_last)
    {
      if ((resolved = rthunk_session_wait (shell->session, value, -1, &error)) == NULL)
        report (shell, error);
      else
        {
          g_autofree char *raw = rthunk_value_to_string (resolved);
          g_autofree char *printed = shown (raw);

          g_print ("%s\n", printed);
        }
    }
  if (!rthunk_session_wait_all (shell->session, -1, &error))
    report (shell, error);
  return shell->failures > 0 ? 1 : 0;
}

static int
run_file (Shell      *shell,
          const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (strcmp (path, "-") == 0)
    {
      g_autoptr(GString) all = g_string_new (NULL);
      char buf[4096];
      size_t n;

      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (all, buf, n);
      return run_batch (shell, "<stdin>", all->str, FALSE);
    }
  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      report (shell, error);
      return 1;
    }
  return run_batch (shell, path, text, FALSE);
}

/* ---- the REPL: the status line while it waits ----------------------------------------------- */

/* Whether the REPL may show a status line: stdout a terminal that is not
 * dumb, and NO_COLOR not set. */
static gboolean
status_possible (void)
{
  const char *term = g_getenv ("TERM");

  return isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL &&
         term != NULL && *term != '\0' && strcmp (term, "dumb") != 0;
}

/* The terminal's width in columns (80 when it does not say). */
static guint
terminal_columns (void)
{
  struct winsize size;

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

#define STATUS_BAR_WIDTH 10

/* `[####------] 2/5 done`: the remote thunks the pending cells submitted
 * (a pmap's or psum's chunks), when there are several. */
static void
append_progress (GString *out,
                 guint    done,
                 guint    total)
{
  guint filled = total > 0 ? done * STATUS_BAR_WIDTH / total : 0;

  if (total < 2)
    return;
  g_string_append (out, " · [");
  for (guint k = 0; k < STATUS_BAR_WIDTH; k++)
    g_string_append_c (out, k < filled ? '#' : '-');
  g_string_append_printf (out, _("] %u/%u done"), done, total);
}

/* `waiting for #a1b2 @alpha (running 3.2 s) · 2 pending on alpha, beta,
 * oldest 3.2 s · [#####-----] 1/2 done · alpha up, beta down`: the value
 * waited for and for how long, how many remote thunks the session waits
 * for, where they run and the oldest one's age, the progress of a split
 * (pmap, psum) and the servers' states. */
static char *
status_text (Shell *shell)
{
  g_autofree char *elapsed = elapsed_text (g_get_monotonic_time () - shell->wait_started_us);
  g_autofree char *states = rthunk_cluster_describe_states (rthunk_session_get_cluster (shell->session));
  g_auto(GStrv) where = NULL;
  g_autofree char *oldest = NULL;
  g_autofree char *joined = NULL;
  const char *label = rthunk_value_get_kind (shell->waited) == RTHUNK_VALUE_PENDING
                    ? rthunk_value_get_name (shell->waited) : NULL;
  GString *out = g_string_new (NULL);
  guint done, total;
  gint64 oldest_us;

  rthunk_session_get_progress (shell->session, &done, &total, &oldest_us, &where);
  g_string_append_printf (out, _("waiting for %s (running %s) · %u pending"),
                          label != NULL ? label : _("the value"), elapsed,
                          rthunk_session_get_outstanding (shell->session));
  if (where[0] != NULL)
    {
      joined = g_strjoinv (", ", where);
      oldest = elapsed_text (oldest_us);
      g_string_append_printf (out, _(" on %s, oldest %s"), joined, oldest);
    }
  append_progress (out, done, total);
  if (*states != '\0')
    g_string_append_printf (out, " · %s", states);
  return g_string_free (out, FALSE);
}

/* Redraws the status line in place, once the REPL has waited
 * STATUS_AFTER_MS; one line, cut to the terminal's width. */
static gboolean
status_tick (gpointer data)
{
  Shell *shell = data;
  g_autofree char *raw = NULL;
  g_autofree char *text = NULL;
  guint columns = terminal_columns ();

  if (g_get_monotonic_time () - shell->wait_started_us < STATUS_AFTER_MS * G_TIME_SPAN_MILLISECOND)
    return G_SOURCE_CONTINUE;
  raw = status_text (shell);
  text = shown (raw);
  if ((guint) g_utf8_strlen (text, -1) >= columns)
    *g_utf8_offset_to_pointer (text, columns - 1) = '\0';
  printf ("\r\033[K%s%s%s", col (shell, C_DIM), text, col (shell, C_RESET));
  fflush (stdout);
  shell->status_shown = TRUE;
  return G_SOURCE_CONTINUE;
}

static void
status_start (Shell *shell)
{
  if (shell->status_wanted && shell->status_source == 0)
    shell->status_source = g_timeout_add (STATUS_EVERY_MS, status_tick, shell);
}

/* The wait is over (or Ctrl-C): the status line goes. */
static void
status_stop (Shell *shell)
{
  g_clear_handle_id (&shell->status_source, g_source_remove);
  status_clear (shell);
}

/* ---- the REPL: waiting for an expression --------------------------------------------------- */

static void prompt_show (Shell *shell);

static void
background_arrived (GObject      *object,
                    GAsyncResult *result,
                    gpointer      data)
{
  Shell *shell = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_session_wait_finish (RTHUNK_SESSION (object), result, &error);
  g_autoptr(RthunkValue) was = NULL;
  g_autofree char *printed = NULL;

  /* a newer background value replaced this one: it is still ours to print */
  if (shell->background != NULL)
    was = g_steal_pointer (&shell->background);
  if (value == NULL)
    {
      print_failure (shell, "=>", error->message);
      return;
    }
  printed = value_text (value);
  print_arrival (shell, NULL, printed,
                 was != NULL && rthunk_value_is_pending (was) ? rthunk_value_get_name (was) : NULL,
                 g_get_monotonic_time () - shell->wait_started_us);
}

static void
waited_arrived (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  Shell *shell = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = rthunk_session_wait_finish (RTHUNK_SESSION (object), result, &error);
  g_autoptr(RthunkValue) waited = g_steal_pointer (&shell->waited);
  g_autoptr(GCancellable) waiting = g_steal_pointer (&shell->waiting);
  g_autofree char *printed = NULL;

  status_stop (shell);
  if (value != NULL)
    print_line (shell, stdout, (printed = value_text (value)));
  else if (g_cancellable_is_cancelled (waiting))
    {
      shell->timed_since_us = 0;
      /* Ctrl-C: the value is printed when it arrives */
      print_line (shell, stderr, _("stopped waiting: the value is printed when it arrives "
                                   "(Ctrl-C again at an empty prompt cancels it)"));
      g_clear_pointer (&shell->background, rthunk_value_unref);
      shell->background = g_steal_pointer (&waited);
      rthunk_session_wait_async (shell->session, shell->background, NULL, background_arrived, shell);
    }
  else if (g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED))
    print_line (shell, stderr, error->message);
  else
    report (shell, error);
  print_time (shell);
  prompt_show (shell);
}

static void
wait_for (Shell       *shell,
          RthunkValue *value)
{
  shell->waiting = g_cancellable_new ();
  shell->waited = rthunk_value_ref (value);
  shell->wait_started_us = g_get_monotonic_time ();
  rthunk_session_wait_async (shell->session, value, shell->waiting, waited_arrived, shell);
  status_start (shell);
}

/* ---- the REPL: cancelling ------------------------------------------------------------------------ */

/* "cancelled (alpha confirmed)", or "cancel sent to alpha, not confirmed":
 * "cancelled" only for what a server said it stopped (or local work). */
static void
cancel_reported (GObject      *object,
                 GAsyncResult *result,
                 gpointer      data)
{
  Shell *shell = data;
  g_auto(GStrv) confirmed = NULL;
  g_auto(GStrv) unconfirmed = NULL;
  g_autoptr(GError) error = NULL;
  guint n = rthunk_session_cancel_finish (RTHUNK_SESSION (object), result, &confirmed, &unconfirmed, &error);
  g_autofree char *yes = confirmed != NULL ? g_strjoinv (", ", confirmed) : NULL;
  g_autofree char *no = unconfirmed != NULL ? g_strjoinv (", ", unconfirmed) : NULL;
  g_autofree char *text = NULL;

  if (error != NULL)
    text = g_strdup_printf (_("cancel failed: %s"), error->message);
  else if (n == 0)
    text = g_strdup (_("nothing to cancel"));
  else if (no != NULL && *no != '\0')
    text = *yes != '\0' ? g_strdup_printf (_("cancelled (%s confirmed); cancel sent to %s, not confirmed"), yes, no)
                        : g_strdup_printf (_("cancel sent to %s, not confirmed"), no);
  else if (*yes != '\0')
    text = g_strdup_printf (_("cancelled (%s confirmed)"), yes);
  else
    text = g_strdup (_("cancelled (local evaluation)"));
  print_line (shell, stderr, text);
}

/* :cancel NAME, :cancel all */
static void
command_cancel (Shell      *shell,
                const char *arg)
{
  if (strcmp (arg, "all") != 0 && rthunk_session_lookup (shell->session, arg) == NULL)
    {
      report_message (shell, _("no such cell (:cancel NAME or :cancel all)"));
      return;
    }
  if (strcmp (arg, "all") == 0 && shell->background != NULL)
    rthunk_session_cancel_value_async (shell->session, shell->background, cancel_reported, shell);
  rthunk_session_cancel_cell_async (shell->session, strcmp (arg, "all") == 0 ? NULL : arg,
                                    cancel_reported, shell);
}

/* ---- the REPL: commands ---------------------------------------------------------------------- */

static void evaluate_text (Shell *shell, const char *source, const char *text);

static void
command_help (Shell      *shell,
              const char *arg)
{
  g_print (_("Type a form and Enter; an unbalanced form continues on the next line.\n"
             "  (def x (remote (* 6 7)))   a cell: x is pending, printed when it arrives\n"
             "  (def y (+ x 1))            pending while x is; computed when x arrives\n"
             "  (+ y 1)                    an expression: the REPL waits for its value\n"
             "Commands:\n"
             "  :help           this text\n"
             "  :servers        the servers and what they provide\n"
             "  :pending        the cells still waiting for something\n"
             "  :type EXPR      the type of EXPR, without evaluating it\n"
             "  :doc NAME       the signature and documentation of a function\n"
             "  :load FILE      evaluate the forms of FILE.rth in this session\n"
             "  :time EXPR      evaluate EXPR and print how long it took\n"
             "  :defs           every cell, with its type and value\n"
             "  :cancel NAME    cancel a pending cell on its servers (:cancel all: everything)\n"
             "  :dashboard      serve a live page of the servers, cells and pending thunks; print its URL\n"
             "  :quit           leave (so does Ctrl-D)\n"
             "Special forms:\n"
             "  def defn fn let if do and or loop recur\n"
             "  (remote [:on NAME] [:needs CAP] [:verify N] [:timeout MS] [:ref] EXPR)  (await EXPR)\n"
             "  (pmap F XS)  (psum F LO HI)  (preduce OP INIT F LO HI), OP + * min max … or (assoc-fn OP)\n"
             "Ctrl-C stops waiting for a value; pressed again at an empty prompt, it\n"
             "cancels what the value was waiting for. Tab completes names.\n"));
  g_print (_("Placement:\n"
             "  (auto EXPR)              the session chooses where EXPR runs\n"
             "  :placement auto|manual   every top-level expression is (auto …), or not\n"
             "  :why                     where the last auto form went, and why\n"));
}

static void
command_servers (Shell      *shell,
                 const char *arg)
{
  g_autoptr(GPtrArray) servers = rthunk_session_get_servers (shell->session);

  if (rthunk_session_get_local (shell->session))
    g_print (_("none: running with --local\n"));
  else if (servers->len == 0)
    g_print (_("none yet: an embedded provider starts at the first (remote …)\n"));
  /* one line per server: the cluster's, which has every member */
  if (servers->len > 0)
    {
      g_autofree char *raw = rthunk_cluster_describe (rthunk_session_get_cluster (shell->session));
      g_autofree char *table = shown (raw);

      g_print ("%s", table);
      g_print (_("%u remote thunks outstanding\n"), rthunk_session_get_outstanding (shell->session));
    }
}

static void
command_pending (Shell      *shell,
                 const char *arg)
{
  g_auto(GStrv) names = rthunk_session_get_pending (shell->session);

  if (names[0] == NULL)
    g_print (_("nothing is pending\n"));
  for (guint k = 0; names[k] != NULL; k++)
    {
      g_autofree char *printed = value_text (rthunk_session_lookup (shell->session, names[k]));
      g_autofree char *elapsed = elapsed_text (rthunk_session_get_cell_elapsed (shell->session, names[k]));

      g_print ("%s  %s%s  %s%s\n", names[k], col (shell, C_DIM), printed, elapsed, col (shell, C_RESET));
    }
}

static void
command_type (Shell      *shell,
              const char *arg)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *type = rthunk_session_type_of (shell->session, arg, &error);

  if (type == NULL)
    report (shell, error);
  else
    g_print ("%s%s%s\n", col (shell, C_CYAN), type, col (shell, C_RESET));
}

/* The catalog that documents @name: the local one, else the servers'. */
static RthunkFuncDef *
lookup_doc (Shell      *shell,
            const char *name)
{
  RthunkCluster *cluster = rthunk_session_get_cluster (shell->session);
  RthunkFuncDef *def = rthunk_catalog_lookup (rthunk_session_get_catalog (shell->session), name);

  if (def == NULL && cluster != NULL)
    def = rthunk_catalog_lookup (rthunk_cluster_get_catalog (cluster), name);
  return def;
}

/* :doc NAME — `map : ((a -> b) [a] -> [b])` and the doc line under it; a
 * cell or a form has a type and no doc line; an unknown name is the
 * checker's error, with its "did you mean". */
static void
command_doc (Shell      *shell,
             const char *arg)
{
  RthunkFuncDef *def = lookup_doc (shell, arg);
  g_autofree char *signature = NULL;
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;

  if (def == NULL)
    {
      if ((signature = rthunk_session_type_of (shell->session, arg, &error)) == NULL)
        report (shell, error);
      else
        g_print (_("%s : %s%s%s\n  (no documentation: not a catalog function)\n"), arg,
                 col (shell, C_CYAN), signature, col (shell, C_RESET));
      return;
    }
  signature = shown (rthunk_func_def_get_signature (def));
  doc = shown (rthunk_func_def_get_doc (def) != NULL ? _(rthunk_func_def_get_doc (def)) : "");
  g_print ("%s : %s%s%s\n  %s\n", rthunk_func_def_get_name (def), col (shell, C_CYAN), signature,
           col (shell, C_RESET), doc);
}

/* :load FILE — its forms, evaluated in the session as if typed. */
static void
command_load (Shell      *shell,
              const char *arg)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (!g_file_get_contents (arg, &text, NULL, &error))
    report (shell, error);
  else
    evaluate_text (shell, arg, text);
}

/* :time EXPR — evaluated as if typed, then `time: 0.012 s` (for a remote
 * value, once it arrived). */
static void
command_time (Shell      *shell,
              const char *arg)
{
  shell->timed_since_us = g_get_monotonic_time ();
  evaluate_text (shell, "<repl>", arg);
}

static void
command_defs (Shell      *shell,
              const char *arg)
{
  g_auto(GStrv) names = rthunk_session_list_cells (shell->session);

  if (names[0] == NULL)
    g_print (_("no cells yet\n"));
  for (guint k = 0; names[k] != NULL; k++)
    {
      const GError *error = rthunk_session_get_cell_error (shell->session, names[k]);

      if (error != NULL)
        print_failure (shell, names[k], error->message);
      else
        print_definition (shell, names[k]);
    }
}

/* :dashboard — serves the session's page (on 127.0.0.1, a free port, if
 * --http did not) and prints its URL. */
static void
command_dashboard (Shell      *shell,
                   const char *arg)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = rthunk_session_serve_http (shell->session, "127.0.0.1:0", &error);

  if (url == NULL)
    report (shell, error);
  else
    g_print (_("dashboard: %s\n"), url);
}

/* :placement auto|manual — whether every top-level expression is
 * (auto …); with no argument, which it is. */
static void
command_placement (Shell      *shell,
                   const char *arg)
{
  if (strcmp (arg, "auto") == 0 || strcmp (arg, "manual") == 0)
    rthunk_session_set_auto_placement (shell->session, strcmp (arg, "auto") == 0);
  else if (*arg != '\0')
    {
      report_message (shell, _("placement is auto or manual"));
      return;
    }
  g_print (_("placement: %s\n"), rthunk_session_get_auto_placement (shell->session) ? "auto" : "manual");
}

/* :why — where the last (auto …) went, and why. */
static void
command_why (Shell      *shell,
             const char *arg)
{
  g_autofree char *why = rthunk_session_dup_why (shell->session);

  g_print ("%s\n", why != NULL ? why : _("no auto form yet (try :placement auto)"));
}

static void
command_quit (Shell      *shell,
              const char *arg)
{
  g_main_loop_quit (shell->loop);
}

typedef void (*CommandFunc) (Shell *shell, const char *arg);

static const struct
{
  const char *name;
  CommandFunc func;
  gboolean takes_arg;
} commands[] = {
  { ":help", command_help, FALSE },
  { ":servers", command_servers, FALSE },
  { ":pending", command_pending, FALSE },
  { ":type", command_type, TRUE },
  { ":doc", command_doc, TRUE },
  { ":load", command_load, TRUE },
  { ":time", command_time, TRUE },
  { ":defs", command_defs, FALSE },
  { ":cancel", command_cancel, TRUE },
  { ":dashboard", command_dashboard, FALSE },
  { ":placement", command_placement, FALSE },
  { ":why", command_why, FALSE },
  { ":quit", command_quit, FALSE },
};

static void
run_command (Shell *shell,
             char  *line)
{
  char *arg = line + strcspn (line, " \t");

  if (*arg != '\0')
    *arg++ = '\0';
  g_strstrip (arg);
  for (guint k = 0; k < G_N_ELEMENTS (commands); k++)
    if (strcmp (line, commands[k].name) == 0)
      {
        if (commands[k].takes_arg && *arg == '\0')
          report_message (shell, _("this command takes an argument, e.g. :type (+ 1 2) (see :help)"));
        else
          commands[k].func (shell, arg);
        return;
      }
  report_message (shell, _("unknown command (try :help)"));
}

/* ---- the REPL: lines ---------------------------------------------------------------------------- */

static void on_line (char *line);
static gboolean on_stdin (gint fd, GIOCondition condition, gpointer data);

/* The prompt is up, and stdin watched, only when the REPL is not busy
 * waiting (typed keys stay in the terminal meanwhile). */
static void
prompt_show (Shell *shell)
{
  if (shell->prompt_active || shell->waiting != NULL || !g_main_loop_is_running (shell->loop))
    return;
  rl_callback_handler_install (shell->input->len > 0 ? PROMPT_MORE : PROMPT, on_line);
  shell->prompt_active = TRUE;
  shell->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, shell);
}

static void
prompt_hide (Shell *shell)
{
  if (!shell->prompt_active)
    return;
  g_clear_handle_id (&shell->stdin_source, g_source_remove);
  rl_callback_handler_remove ();
  shell->prompt_active = FALSE;
}

static void
remember (Shell      *shell,
          const char *text)
{
  add_history (text);
  if (shell->history_path != NULL && append_history (1, shell->history_path) != 0)
    write_history (shell->history_path);
}

/* Evaluates @text (from @source: the REPL or a :load-ed file) and prints
 * the value of its last form unless that defines a cell. */
static void
evaluate_text (Shell      *shell,
               const char *source,
               const char *text)
{
  g_autoptr(RthunkValue) value = shell_eval (shell, source, text);
  g_autofree char *printed = NULL;

  if (value == NULL || ends_with_definition (text))
    {
      print_time (shell);
      return;
    }
  /* a remote reference is fetched to be printed, like a pending value */
  if (!rthunk_value_is_pending (value) && !rthunk_value_is_reference (value) &&
      rthunk_value_get_kind (value) != RTHUNK_VALUE_LIST)
    {
      print_line (shell, stdout, (printed = value_text (value)));
      print_time (shell);
    }
  else
    wait_for (shell, value);
}

/* A form is complete: a command, or text to evaluate. */
static void
accept_input (Shell *shell)
{
  g_autofree char *text = g_strdup (shell->input->str);

  g_string_truncate (shell->input, 0);
  g_strstrip (text);
  if (*text == '\0')
    return;
  remember (shell, text);
  if (text[0] == ':')
    run_command (shell, text);
  else
    evaluate_text (shell, "<repl>", text);
}

/* readline's line handler: one line, or NULL at Ctrl-D. */
static void
on_line (char *line)
{
  Shell *shell = the_shell;

  prompt_hide (shell);
  if (line == NULL)
    {
      g_print ("\n");
      g_main_loop_quit (shell->loop);
      return;
    }
  if (shell->input->len > 0)
    g_string_append_c (shell->input, '\n');
  g_string_append (shell->input, line);
  free (line);
  if (rthunk_reader_check_complete (shell->input->str) != RTHUNK_READ_INCOMPLETE)
    accept_input (shell);
  prompt_show (shell);
}

static gboolean
on_stdin (gint         fd,
          GIOCondition condition,
          gpointer     data)
{
  Shell *shell = data;

  if ((condition & G_IO_IN) != 0)
    {
      rl_callback_read_char ();
      return G_SOURCE_CONTINUE;
    }
  /* the terminal went away */
  shell->stdin_source = 0;
  prompt_hide (shell);
  g_main_loop_quit (shell->loop);
  return G_SOURCE_REMOVE;
}

/* Ctrl-C: stop waiting; at an empty prompt after that, cancel; else
 * forget the line being typed. */
static gboolean
on_sigint (gpointer data)
{
  Shell *shell = data;

  status_stop (shell);
  if (shell->waiting != NULL && rthunk_session_is_evaluating (shell->session, shell->waited))
    {
      /* local work: stop it, so that the next input runs at once */
      rthunk_session_cancel_value_async (shell->session, shell->waited, cancel_reported, shell);
      return G_SOURCE_CONTINUE;
    }
  if (shell->waiting != NULL)
    {
      g_cancellable_cancel (shell->waiting);
      return G_SOURCE_CONTINUE;
    }
  if (shell->prompt_active && rl_end == 0 && shell->input->len == 0 && shell->background != NULL)
    {
      rthunk_session_cancel_value_async (shell->session, shell->background, cancel_reported, shell);
      return G_SOURCE_CONTINUE;
    }
  g_string_truncate (shell->input, 0);
  if (shell->prompt_active)
    {
      rl_free_line_state ();
      rl_callback_sigcleanup ();
      rl_replace_line ("", 0);
      rl_crlf ();
      prompt_hide (shell);
      prompt_show (shell);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the REPL: completion -------------------------------------------------------------------------- */

static char **completions;
static guint completion_index;

static char *
next_completion (const char *text,
                 int         state)
{
  if (state == 0)
    {
      g_strfreev (completions);
      completion_index = 0;
      if (text[0] == ':')
        {
          g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

          for (guint k = 0; k < G_N_ELEMENTS (commands); k++)
            if (g_str_has_prefix (commands[k].name, text))
              g_strv_builder_add (builder, commands[k].name);
          completions = g_strv_builder_end (builder);
        }
      else
        completions = rthunk_session_complete (the_shell->session, text);
    }
  if (completions == NULL || completions[completion_index] == NULL)
    return NULL;
  return strdup (completions[completion_index++]);
}

static char **
complete (const char *text,
          int         start,
          int         end)
{
  rl_attempted_completion_over = 1;     /* never file names */
  return rl_completion_matches (text, next_completion);
}

/* ---- the REPL --------------------------------------------------------------------------------------- */

static void
history_open (Shell *shell)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "rthunk", NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return;
  shell->history_path = g_build_filename (dir, "history", NULL);
  stifle_history (HISTORY_LINES);
  if (read_history (shell->history_path) != 0)
    write_history (shell->history_path);
}

static void
history_close (Shell *shell)
{
  if (shell->history_path != NULL)
    history_truncate_file (shell->history_path, HISTORY_LINES);
}

static int
run_repl (Shell *shell)
{
  guint sigint_source;

  shell->interactive = TRUE;
  shell->status_wanted = status_possible ();
  rthunk_session_set_eval_budget (shell->session, REPL_EVAL_BUDGET_MS);
  rl_readline_name = "rthunk";
  rl_catch_signals = 0;
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = " \t\n()[]\"';";
  history_open (shell);
  g_print (_("%srthunk %s%s — :help for help, Ctrl-D to leave\n"), col (shell, C_BOLD), RTHUNK_VERSION_S,
           col (shell, C_RESET));
  sigint_source = g_unix_signal_add (SIGINT, on_sigint, shell);
  g_idle_add_once ((GSourceOnceFunc) prompt_show, shell);
  g_main_loop_run (shell->loop);
  prompt_hide (shell);
  g_source_remove (sigint_source);
  history_close (shell);
  return 0;
}

/* ---- main --------------------------------------------------------------------------------------------- */

/* The embedded provider's notes (a connection dropped, …) are for daemons:
 * the shell shows them only with G_MESSAGES_DEBUG. */
static GLogWriterOutput
log_writer (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         data)
{
  if ((level & G_LOG_LEVEL_MESSAGE) != 0 && g_getenv ("G_MESSAGES_DEBUG") == NULL)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, data);
}

/* The token: --token-file, else RTHUNK_TOKEN. */
static gboolean
read_token (const char  *path,
            char       **token,
            GError     **error)
{
  g_autofree char *text = NULL;

  if (path == NULL)
    {
      *token = g_strdup (g_getenv ("RTHUNK_TOKEN"));
      return TRUE;
    }
  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  *token = g_strdup (g_strstrip (text));
  return TRUE;
}

/* The servers of a cluster file: one group per server with an address. */
static gboolean
add_cluster_file (Shell       *shell,
                  const char  *path,
                  GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return FALSE;
  groups = g_key_file_get_groups (file, NULL);
  for (guint k = 0; groups[k] != NULL; k++)
    {
      g_autofree char *address = g_key_file_get_string (file, groups[k], "address", error);

      if (address == NULL || !rthunk_session_add_server_from (shell->session, address, "file", error))
        return FALSE;
    }
  return TRUE;
}

/* --server (repeatable), then RTHUNK_SERVERS, then --cluster FILE, or the
 * default cluster file when nothing else names a server. */
static gboolean
add_servers (Shell       *shell,
             char       **servers,
             const char  *cluster_file,
             GError     **error)
{
  g_autofree char *default_file = g_build_filename (g_get_user_config_dir (), "rthunk", "cluster.conf", NULL);
  const char *env = g_getenv ("RTHUNK_SERVERS");
  g_auto(GStrv) from_env = env != NULL ? g_strsplit (env, ",", -1) : NULL;
  guint n = 0;

  for (guint k = 0; servers != NULL && servers[k] != NULL; k++, n++)
    if (!rthunk_session_add_server_from (shell->session, servers[k], "flag", error))
      return FALSE;
  for (guint k = 0; from_env != NULL && from_env[k] != NULL; k++)
    {
      if (*g_strstrip (from_env[k]) == '\0')
        continue;
      if (!rthunk_session_add_server_from (shell->session, from_env[k], "env", error))
        return FALSE;
      n++;
    }
  if (cluster_file == NULL && n == 0 && g_file_test (default_file, G_FILE_TEST_EXISTS))
    cluster_file = default_file;
  return cluster_file == NULL || add_cluster_file (shell, cluster_file, error);
}

/* Where the shell finds the fleet's registry: --registry (else
 * RTHUNK_REGISTRY), its password, how long a command may wait, and the
 * TLS files of a rediss:// one. */
typedef struct
{
  char *uri;
  char *password_file;
  guint timeout_ms;
  char *tls_ca;
  char *tls_cert;
  char *tls_key;
} RegistryOptions;

/* What the registry says of itself (it stopped answering, it answers
 * again): said once each time. */
static void
on_registry_notice (RthunkCluster *cluster,
                    const char    *message,
                    gpointer       data)
{
  g_autofree char *text = shown (message);

  g_printerr ("rthunk: %s\n", text);
}

/* --registry URI, else RTHUNK_REGISTRY: every server registered there
 * joins, and the ones that register later; --registry-password-file
 * keeps the password off the command line; --registry-tls-ca,
 * --registry-tls-cert and --registry-tls-key reach a rediss:// one. */
static gboolean
follow_registry (Shell                  *shell,
                 const RegistryOptions  *registry,
                 GError                **error)
{
  const char *uri = registry->uri != NULL ? registry->uri : g_getenv ("RTHUNK_REGISTRY");
  g_autofree char *password = NULL;
  RthunkCluster *cluster = rthunk_session_get_cluster (shell->session);

  if (uri == NULL || *uri == '\0')
    return TRUE;
  if (registry->password_file != NULL)
    {
      if (!g_file_get_contents (registry->password_file, &password, NULL, error))
        return FALSE;
      g_strstrip (password);
    }
  g_signal_connect (cluster, "registry-notice", G_CALLBACK (on_registry_notice), shell);
  if (!rthunk_cluster_follow_registry_tls (cluster, uri, password, registry->timeout_ms,
                                           registry->tls_ca, registry->tls_cert, registry->tls_key, error))
    {
      g_prefix_error (error, "--registry: ");
      return FALSE;
    }
  return TRUE;
}

/* Servers that did not answer at start: the session retries them. */
static void
warn_down (Shell *shell)
{
  g_autoptr(GPtrArray) servers = rthunk_session_get_servers (shell->session);

  for (guint k = 0; k < servers->len; k++)
    if (rthunk_client_get_server_name (g_ptr_array_index (servers, k)) == NULL)
      g_printerr (_("rthunk: %s is down; forms go to the other servers, and it is retried\n"),
                  rthunk_client_get_address (g_ptr_array_index (servers, k)));
}

/* How the shell reaches servers over TLS: --tls (the system's
 * authorities), --tls-ca, and --tls-cert/--tls-key for mutual TLS. */
typedef struct
{
  gboolean on;
  char *ca_file;
  char *cert_file;
  char *key_file;
} TlsOptions;

static gboolean
set_tls (Shell             *shell,
         const TlsOptions  *tls,
         GError           **error)
{
  gboolean on = tls->on || tls->ca_file != NULL || tls->cert_file != NULL || tls->key_file != NULL;

  if (!on)
    return TRUE;
  if ((tls->cert_file == NULL) != (tls->key_file == NULL))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("--tls-cert and --tls-key go together"));
      return FALSE;
    }
  return rthunk_session_set_tls (shell->session, tls->ca_file, tls->cert_file, tls->key_file, error);
}

static gboolean
shell_init (Shell                  *shell,
            char                  **servers,
            const char             *cluster_file,
            const RegistryOptions  *registry,
            const char             *token_file,
            const TlsOptions       *tls,
            gboolean                local,
            guint                   call_timeout_ms,
            GError                **error)
{
  const char *no_color = g_getenv ("NO_COLOR");
  g_autofree char *token = NULL;

  shell->loop = g_main_loop_new (NULL, FALSE);
  shell->session = rthunk_session_new ();
  shell->defined = g_ptr_array_new_with_free_func (g_free);
  shell->events = g_ptr_array_new_with_free_func (event_free);
  shell->input = g_string_new (NULL);
  shell->color = isatty (STDOUT_FILENO) && no_color == NULL;
  g_signal_connect (shell->session, "cell-defined", G_CALLBACK (on_cell_defined), shell);
  g_signal_connect (shell->session, "cell-changed", G_CALLBACK (on_cell_changed), shell);
  g_signal_connect (shell->session, "cell-failed", G_CALLBACK (on_cell_failed), shell);
  g_signal_connect (rthunk_session_get_cluster (shell->session), "quarantined", G_CALLBACK (on_quarantined), shell);
  rthunk_session_set_local (shell->session, local);
  g_object_set (shell->session, "call-timeout-ms", call_timeout_ms, NULL);
  if (local)
    return TRUE;
  if (!read_token (token_file, &token, error))
    return FALSE;
  rthunk_session_set_token (shell->session, token);
  if (!set_tls (shell, tls, error) || !add_servers (shell, servers, cluster_file, error) ||
      !follow_registry (shell, registry, error))
    return FALSE;
  warn_down (shell);
  return TRUE;
}

/* --http: the session's page, its URL on stderr (stdout has the values). */
static gboolean
serve_http (Shell      *shell,
            const char *host_port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = rthunk_session_serve_http (shell->session, host_port, &error);

  if (url == NULL)
    {
      g_printerr ("rthunk: --http %s: %s\n", host_port, error->message);
      return FALSE;
    }
  g_printerr (_("rthunk: dashboard on %s\n"), url);
  return TRUE;
}

static void
shell_clear (Shell *shell)
{
  if (shell->session != NULL)
    rthunk_session_close (shell->session);
  g_clear_handle_id (&shell->status_source, g_source_remove);
  g_clear_object (&shell->waiting);
  g_clear_pointer (&shell->waited, rthunk_value_unref);
  g_clear_pointer (&shell->background, rthunk_value_unref);
  g_clear_object (&shell->session);
  g_clear_pointer (&shell->loop, g_main_loop_unref);
  g_clear_pointer (&shell->defined, g_ptr_array_unref);
  g_clear_pointer (&shell->events, g_ptr_array_unref);
  if (shell->input != NULL)
    g_string_free (g_steal_pointer (&shell->input), TRUE);
  g_clear_pointer (&shell->history_path, g_free);
  g_clear_pointer (&completions, g_strfreev);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expr = NULL;
  g_autofree char *cluster_file = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *http = NULL;
  g_auto(GStrv) servers = NULL;
  g_auto(GStrv) files = NULL;
  gboolean local = FALSE;
  g_autofree char *tls_ca = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  TlsOptions tls = { FALSE, NULL, NULL, NULL };
  double call_timeout = 0;
  double audit = 0;
  g_autofree char *registry_uri = NULL;
  g_autofree char *registry_password_file = NULL;
  g_autofree char *registry_tls_ca = NULL;
  g_autofree char *registry_tls_cert = NULL;
  g_autofree char *registry_tls_key = NULL;
  gint registry_timeout_ms = 0;
  RegistryOptions registry = { NULL, NULL, 0, NULL, NULL, NULL };
  Shell shell = { NULL, };
  int status;
  GOptionEntry entries[] = {
    { "eval", 'e', 0, G_OPTION_ARG_STRING, &expr, N_("Evaluate EXPR and print the value of its last form"), N_("EXPR") },
    { "server", 's', 0, G_OPTION_ARG_STRING_ARRAY, &servers, N_("Use the server at HOST:PORT for remote expressions (repeatable)"), N_("HOST:PORT") },
    { "local", 'l', 0, G_OPTION_ARG_NONE, &local, N_("Use no server at all"), NULL },
    { "cluster", 0, 0, G_OPTION_ARG_FILENAME, &cluster_file, N_("Use the servers of this cluster file (else RTHUNK_SERVERS, else ~/.config/rthunk/cluster.conf)"), N_("FILE") },
    { "registry", 0, 0, G_OPTION_ARG_STRING, &registry_uri, N_("Also use every server registered in this registry, and those that register while the shell runs (redis://[USER:PASSWORD@]HOST:PORT[/DB]; else RTHUNK_REGISTRY)"), N_("URI") },
    { "registry-password-file", 0, 0, G_OPTION_ARG_FILENAME, &registry_password_file, N_("The password of the registry's Redis, read from this file"), N_("FILE") },
    { "registry-tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &registry_tls_ca, N_("Reach a rediss:// registry trusting the authorities in this PEM file (default: the system's)"), N_("FILE") },
    { "registry-tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &registry_tls_cert, N_("Show this PEM client certificate to a rediss:// registry that asks for one (needs --registry-tls-key)"), N_("FILE") },
    { "registry-tls-key", 0, 0, G_OPTION_ARG_FILENAME, &registry_tls_key, N_("The PEM private key of --registry-tls-cert"), N_("FILE") },
    { "registry-timeout-ms", 0, 0, G_OPTION_ARG_INT, &registry_timeout_ms, N_("How long one registry command may wait for Redis (default 500)"), N_("N") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, N_("Send the token in this file (else RTHUNK_TOKEN)"), N_("FILE") },
    { "tls", 0, 0, G_OPTION_ARG_NONE, &tls.on, N_("Reach servers over TLS, trusting the system's certificate authorities"), NULL },
    { "tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &tls_ca, N_("Reach servers over TLS, trusting the authorities in this PEM file"), N_("FILE") },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, N_("Show this PEM certificate to servers that ask for one (mutual TLS)"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, N_("The PEM private key of --tls-cert"), N_("FILE") },
    { "call-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &call_timeout, N_("Fail a call whose reply has not arrived whole after SECONDS (default 70)"), N_("SECONDS") },
    { "http", 0, 0, G_OPTION_ARG_STRING, &http, N_("Serve a live page of the session (servers, cells, pending thunks) at this address and print its URL on stderr"), N_("HOST:PORT") },
    { "audit", 0, 0, G_OPTION_ARG_DOUBLE, &audit, N_("Run this fraction (0 to 1) of pure remote thunks again on a second server, and quarantine servers that the majority contradicts"), N_("RATE") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("[FILE.rth]") },
    { NULL }
  };

  rthunk_program_init_locale ();
  signal (SIGPIPE, SIG_IGN);
  g_log_set_writer_func (log_writer, NULL, NULL);

  context = g_option_context_new (_("— typed remote thunks: a REPL, -e EXPR, or a script"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("rthunk: %s\n", error->message);
      return 2;
    }
  if (!(call_timeout == 0 || (call_timeout >= 0.001 && call_timeout <= 86400)))
    {
      g_printerr (_("rthunk: --call-timeout must be between 0.001 and 86400 seconds\n"));
      return 2;
    }
  if (!(audit >= 0 && audit <= 1))
    {
      g_printerr (_("rthunk: --audit takes a fraction from 0 to 1\n"));
      return 2;
    }
  if (registry_timeout_ms < 0 || registry_timeout_ms > 60000)
    {
      g_printerr (_("rthunk: --registry-timeout-ms takes a number of milliseconds from 0 to 60000\n"));
      return 2;
    }
  registry.uri = registry_uri;
  registry.password_file = registry_password_file;
  registry.timeout_ms = (guint) registry_timeout_ms;
  registry.tls_ca = registry_tls_ca;
  registry.tls_cert = registry_tls_cert;
  registry.tls_key = registry_tls_key;
  the_shell = &shell;
  tls.ca_file = tls_ca;
  tls.cert_file = tls_cert;
  tls.key_file = tls_key;
  if (!shell_init (&shell, servers, cluster_file, &registry, token_file, &tls, local,
                   (guint) (call_timeout * 1000 + 0.5), &error))
    {
      report (&shell, error);
      shell_clear (&shell);
      return 1;
    }
  rthunk_cluster_set_audit_rate (rthunk_session_get_cluster (shell.session), audit);
  if (http != NULL && !serve_http (&shell, http))
    {
      shell_clear (&shell);
      return 1;
    }
  if (expr != NULL || (files != NULL && files[0] != NULL) || !isatty (STDIN_FILENO))
    rthunk_session_set_sequential (shell.session, TRUE);
  if (expr != NULL)
    status = run_batch (&shell, "<expr>", expr, TRUE);
  else if (files != NULL && files[0] != NULL)
    status = run_file (&shell, files[0]);
  else if (!isatty (STDIN_FILENO))
    status = run_file (&shell, "-");
  else
    status = run_repl (&shell);
  shell_clear (&shell);
  return status;
}
