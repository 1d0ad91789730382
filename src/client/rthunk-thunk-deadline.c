/* rthunk-thunk-deadline.c — thunks that give up: `(remote :timeout MS …)`
 *
 * One thread runs the deadlines of every thunk, as timeout sources of its
 * own main context. A thunk still unfinished when its deadline passes is
 * cancelled with %RTHUNK_ERROR_TIMEOUT, which cancels it on its server
 * too (the thunk's cancel function). (Declared in rthunk-thunk-private.h.)
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "rthunk-error.h"
#include "rthunk-thunk-private.h"
#include "rthunk-thunk.h"

typedef struct
{
  RthunkThunk *thunk;
  guint timeout_ms;
} Deadline;

static gpointer
deadline_thread (gpointer data)
{
  GMainContext *context = data;

  for (;;)
    g_main_context_iteration (context, TRUE);
  return NULL;
}

/* The context of the deadline thread, started on first use. */
static GMainContext *
deadline_context (void)
{
  static GMainContext *context;

  if (g_once_init_enter (&context))
    {
      GMainContext *made = g_main_context_new ();

      g_thread_unref (g_thread_new ("rthunk-deadline", deadline_thread, made));
      g_once_init_leave (&context, made);
    }
  return context;
}

static void
deadline_free (gpointer data)
{
  Deadline *deadline = data;

  g_object_unref (deadline->thunk);
  g_free (deadline);
}

static gboolean
deadline_passed (gpointer data)
{
  Deadline *deadline = data;
  const char *server = rthunk_thunk_get_server (deadline->thunk);

  if (!rthunk_thunk_is_finished (deadline->thunk))
    rthunk_thunk_cancel_with (deadline->thunk,
                              g_error_new (RTHUNK_ERROR, RTHUNK_ERROR_TIMEOUT,
                                           _("%s did not finish within its :timeout of %u ms, and was cancelled on %s"),
                                           rthunk_thunk_get_label (deadline->thunk), deadline->timeout_ms,
                                           server != NULL ? server : _("its server")));
  return G_SOURCE_REMOVE;
}

void
rthunk_thunk_set_deadline (RthunkThunk *thunk,
                           guint        timeout_ms)
{
  g_autoptr(GSource) source = g_timeout_source_new (timeout_ms);
  Deadline *deadline = g_new (Deadline, 1);

  deadline->thunk = g_object_ref (thunk);
  deadline->timeout_ms = timeout_ms;
  g_source_set_callback (source, deadline_passed, deadline, deadline_free);
  g_source_attach (source, deadline_context ());
}
