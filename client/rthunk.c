/* rthunk — the rthunk shell
 *
 *   rthunk                      the REPL
 *   rthunk -e EXPR              evaluate EXPR, print the value of its last form
 *   rthunk FILE.rth             run a script
 *   --server HOST:PORT          use that server for (remote …)
 *   --local                     no server at all
 *
 * With neither --server nor --local, an embedded provider is started in
 * this process on a loopback port, so (remote …) works on a fresh machine.
 * Every form is read and type-checked (remote bodies against the server's
 * catalog) before any of it is evaluated or sent.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "rthunk.h"

typedef struct
{
  RthunkCatalog *catalog;
  RthunkChecker *checker;
  RthunkEvaluator *evaluator;
  RthunkServer *embedded;
  RthunkCluster *cluster;
} Shell;

static RthunkValue *
remote_func (RthunkEvaluator  *evaluator,
             RthunkNode       *expr,
             GHashTable       *options,
             GHashTable       *inputs,
             gpointer          user_data,
             GError          **error)
{
  Shell *shell = user_data;

  return rthunk_cluster_submit (shell->cluster, expr, options, inputs,
                                rthunk_evaluator_get_definitions (evaluator), error);
}

static GStrv
servers_func (RthunkEvaluator *evaluator,
              RthunkNode      *expr,
              gpointer         user_data)
{
  Shell *shell = user_data;

  return rthunk_cluster_eligible (shell->cluster, expr, rthunk_evaluator_get_definitions (evaluator),
                                  NULL);
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

/* --server (repeatable), RTHUNK_SERVERS, --cluster FILE or the default
 * cluster file; FALSE with no error when none is configured. */
static gboolean
add_configured_servers (Shell        *shell,
                        char        **servers,
                        const char   *cluster_file,
                        GError      **error)
{
  g_autofree char *default_file = g_build_filename (g_get_user_config_dir (), "rthunk", "cluster.conf", NULL);

  for (guint k = 0; servers != NULL && servers[k] != NULL; k++)
    if (!rthunk_cluster_add_server (shell->cluster, servers[k], error))
      return FALSE;
  if (!rthunk_cluster_add_servers_from_env (shell->cluster, error))
    return FALSE;
  if (cluster_file == NULL && rthunk_cluster_get_n_servers (shell->cluster) == 0 &&
      g_file_test (default_file, G_FILE_TEST_EXISTS))
    cluster_file = default_file;
  if (cluster_file != NULL && !rthunk_cluster_add_servers_from_file (shell->cluster, cluster_file, error))
    return FALSE;
  return TRUE;
}

static gboolean
shell_connect (Shell       *shell,
               char       **servers,
               const char  *cluster_file,
               const char  *token_file,
               gboolean     local,
               GError     **error)
{
  g_autofree char *token = NULL;
  g_autofree char *embedded_address = NULL;

  shell->catalog = rthunk_stdlib_new_catalog ();
  shell->checker = rthunk_checker_new (shell->catalog);
  shell->evaluator = rthunk_evaluator_new (shell->catalog);
  if (local)
    {
      rthunk_checker_set_remote_allowed (shell->checker, FALSE);
      return TRUE;
    }
  if (!read_token (token_file, &token, error))
    return FALSE;
  shell->cluster = rthunk_cluster_new ();
  rthunk_cluster_set_token (shell->cluster, token);
  if (!add_configured_servers (shell, servers, cluster_file, error))
    return FALSE;
  if (rthunk_cluster_get_n_servers (shell->cluster) == 0)
    {
      /* nothing configured: an embedded provider in this process */
      shell->embedded = rthunk_server_new (shell->catalog, "embedded");
      if (!rthunk_server_listen (shell->embedded, "127.0.0.1", 0, error))
        return FALSE;
      embedded_address = g_strdup_printf ("127.0.0.1:%u", rthunk_server_get_port (shell->embedded));
      if (!rthunk_cluster_add_server (shell->cluster, embedded_address, error))
        return FALSE;
    }
  rthunk_checker_set_remote_catalog (shell->checker, rthunk_cluster_get_catalog (shell->cluster));
  rthunk_evaluator_set_remote_func (shell->evaluator, remote_func, shell, NULL);
  rthunk_evaluator_set_servers_func (shell->evaluator, servers_func, shell, NULL);
  return TRUE;
}

static void
shell_clear (Shell *shell)
{
  g_clear_object (&shell->evaluator);
  g_clear_object (&shell->checker);
  if (shell->cluster != NULL)
    g_object_run_dispose (G_OBJECT (shell->cluster));
  g_clear_object (&shell->cluster);
  if (shell->embedded != NULL)
    rthunk_server_stop (shell->embedded);
  g_clear_object (&shell->embedded);
  g_clear_object (&shell->catalog);
}

/* Reads and checks every form of @text, then evaluates them in order.
 * Returns the value of the last one, forced. */
static RthunkValue *
shell_run (Shell       *shell,
           const char  *source,
           const char  *text,
           GError     **error)
{
  g_autoptr(GPtrArray) forms = rthunk_reader_read_all (source, text, -1, error);
  g_autoptr(RthunkValue) last = NULL;

  if (forms == NULL)
    return NULL;
  for (guint k = 0; k < forms->len; k++)
    {
      g_autoptr(RthunkType) type = rthunk_checker_check (shell->checker, g_ptr_array_index (forms, k), error);

      if (type == NULL)
        return NULL;
    }
  for (guint k = 0; k < forms->len; k++)
    {
      g_clear_pointer (&last, rthunk_value_unref);
      if ((last = rthunk_evaluator_eval (shell->evaluator, g_ptr_array_index (forms, k), error)) == NULL)
        return NULL;
    }
  if (last == NULL)
    return rthunk_value_new_nil ();
  return rthunk_value_force (last, error);
}

static void
report (const GError *error)
{
  if (strstr (error->message, ": error: ") != NULL)
    g_printerr ("%s\n", error->message);
  else
    g_printerr ("rthunk: error: %s\n", error->message);
}

static int
run_text (Shell      *shell,
          const char *source,
          const char *text,
          gboolean    print_last)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RthunkValue) value = shell_run (shell, source, text, &error);
  g_autofree char *printed = NULL;

  if (value == NULL)
    {
      report (error);
      return 1;
    }
  if (print_last)
    {
      printed = rthunk_value_to_string (value);
      g_print ("%s\n", printed);
    }
  return 0;
}

static int
run_repl (Shell *shell)
{
  g_autoptr(GString) pending = g_string_new (NULL);
  char *line;

  g_print (_("rthunk %s — :quit or Ctrl-D to leave\n"), RTHUNK_VERSION_S);
  while ((line = readline (pending->len > 0 ? "...... " : "rthunk> ")) != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RthunkValue) value = NULL;
      g_autofree char *printed = NULL;

      if (pending->len == 0 && g_strcmp0 (g_strstrip (line), ":quit") == 0)
        {
          free (line);
          break;
        }
      if (pending->len > 0)
        g_string_append_c (pending, '\n');
      g_string_append (pending, line);
      free (line);
      if (rthunk_reader_check_complete (pending->str) == RTHUNK_READ_INCOMPLETE)
        continue;
      if (pending->len > 0)
        add_history (pending->str);
      value = shell_run (shell, "<repl>", pending->str, &error);
      g_string_truncate (pending, 0);
      if (value == NULL)
        {
          report (error);
          continue;
        }
      printed = rthunk_value_to_string (value);
      g_print ("%s\n", printed);
    }
  return 0;
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
  g_auto(GStrv) servers = NULL;
  g_auto(GStrv) files = NULL;
  gboolean local = FALSE;
  Shell shell = { NULL, };
  int status;
  GOptionEntry entries[] = {
    { "eval", 'e', 0, G_OPTION_ARG_STRING, &expr, N_("Evaluate EXPR and print the value of its last form"), N_("EXPR") },
    { "server", 's', 0, G_OPTION_ARG_STRING_ARRAY, &servers, N_("Use the server at HOST:PORT for remote expressions"), N_("HOST:PORT") },
    { "local", 'l', 0, G_OPTION_ARG_NONE, &local, N_("Use no server at all"), NULL },
    { "cluster", 0, 0, G_OPTION_ARG_FILENAME, &cluster_file, N_("Use the servers of this cluster file"), N_("FILE") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, N_("Send the token in this file (else RTHUNK_TOKEN)"), N_("FILE") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("[FILE.rth]") },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (_("— typed remote thunks: a REPL, -e EXPR, or a script"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("rthunk: %s\n", error->message);
      return 2;
    }
  if (!shell_connect (&shell, servers, cluster_file, token_file, local, &error))
    {
      report (error);
      shell_clear (&shell);
      return 1;
    }
  if (expr != NULL)
    status = run_text (&shell, "<expr>", expr, TRUE);
  else if (files != NULL && files[0] != NULL)
    {
      g_autofree char *text = NULL;

      if (!g_file_get_contents (files[0], &text, NULL, &error))
        {
          report (error);
          status = 1;
        }
      else
        status = run_text (&shell, files[0], text, FALSE);
    }
  else
    status = run_repl (&shell);
  shell_clear (&shell);
  return status;
}
