/* rthunk-provider.c — what every provider program shares
 *
 * One table lists every server option with its flag, its configuration
 * key and where it goes; flags win over the file given with --config
 * (a GKeyFile with the same keys in a [server] group).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rthunk-provider.h"
#include "rthunk-catalog.h"
#include "rthunk-server.h"

typedef enum { OPT_INT, OPT_INT64, OPT_STRING } OptKind;

#define MAX_LIMIT_OPTIONS 24

struct _RthunkProviderOptions
{
  char *program;
  GOptionContext *context;
  GKeyFile *config;
  char *config_path;
  char *name;
  char *bind;
  char *token_file;
  char **fetch_from;
  gint port;
  RthunkServerLimits limits;
  /* what the command line gave; -1 (or NULL) where it said nothing */
  gint64 given[MAX_LIMIT_OPTIONS];
};

/* The limits, in the order of `given`. */
typedef struct
{
  const char *key;
  const char *doc;
  gsize offset;
  gboolean is64;
} LimitOption;

#define LIMIT(key, field, is64, doc) { key, doc, G_STRUCT_OFFSET (RthunkServerLimits, field), is64 }

static const LimitOption limit_options[] = {
  LIMIT ("max-frame-bytes", max_frame_bytes, TRUE, N_("Largest request frame accepted")),
  LIMIT ("max-connections", max_connections, FALSE, N_("Connections served at once")),
  LIMIT ("workers", workers, FALSE, N_("Evaluation threads")),
  LIMIT ("max-queued", max_queued, FALSE, N_("Thunks queued or running before submissions get Overloaded")),
  LIMIT ("io-timeout-ms", io_timeout_ms, FALSE, N_("Socket read and write timeout")),
  LIMIT ("fuel", fuel, TRUE, N_("Steps (calls and loop iterations) one thunk may take")),
  LIMIT ("deadline-ms", deadline_ms, FALSE, N_("How long one thunk may run (0: no deadline)")),
  LIMIT ("max-depth", max_depth, FALSE, N_("How deeply the calls of one thunk may nest")),
  LIMIT ("max-ast-nodes", max_ast_nodes, FALSE, N_("Nodes one request's AST may have")),
  LIMIT ("max-eval-bytes", max_eval_bytes, TRUE, N_("Bytes of lists and strings one thunk may build")),
  LIMIT ("max-thunks", max_thunks, FALSE, N_("Finished thunks remembered")),
  LIMIT ("thunk-ttl-ms", thunk_ttl_ms, FALSE, N_("How long a finished thunk is remembered")),
  LIMIT ("cache-entries", cache_entries, FALSE, N_("Results the cache holds (0: no cache)")),
  LIMIT ("cache-bytes", cache_bytes, TRUE, N_("Bytes the result cache holds")),
  LIMIT ("max-definitions", max_definitions, FALSE, N_("Definitions the store holds")),
  LIMIT ("definitions-bytes", definitions_bytes, TRUE, N_("Bytes the definition store holds")),
  LIMIT ("drain-timeout-ms", drain_timeout_ms, FALSE, N_("On SIGTERM, how long accepted thunks may still run before they are cancelled")),
};

G_STATIC_ASSERT (G_N_ELEMENTS (limit_options) <= MAX_LIMIT_OPTIONS);

static void
set_limit (RthunkServerLimits *limits,
           const LimitOption  *option,
           gint64              value)
{
  gpointer field = G_STRUCT_MEMBER_P (limits, option->offset);

  if (option->is64)
    *(guint64 *) field = (guint64) value;
  else
    *(guint *) field = (guint) value;
}

/**
 * rthunk_provider_options_new: (skip)
 * @program: the program's name, for messages (`rthunkd`)
 * @summary: a line that says what it serves
 *
 * Returns: (transfer full): options with the defaults
 *
 * Since: 0.1
 */
RthunkProviderOptions *
rthunk_provider_options_new (const char *program,
                             const char *summary)
{
  RthunkProviderOptions *options = g_new0 (RthunkProviderOptions, 1);
  GOptionEntry common[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &options->port, N_("Port to listen on (0: any free port)"), N_("N") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &options->name, N_("Name of this server, as clients see it"), N_("NAME") },
    { "bind", 'b', 0, G_OPTION_ARG_STRING, &options->bind, N_("Address to bind (default 127.0.0.1)"), N_("ADDR") },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &options->config_path, N_("Read settings from this key file ([server] group; flags win)"), N_("FILE") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &options->token_file, N_("Every call must carry the token in this file"), N_("FILE") },
    { "fetch-from", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options->fetch_from, N_("Fetch inputs held by this server (HOST:PORT, HOST:* or *; repeatable)"), N_("PATTERN") },
    { NULL }
  };
  GOptionEntry entry[2] = { { NULL }, { NULL } };

  options->program = g_strdup (program);
  options->port = -1;
  rthunk_server_limits_init (&options->limits);
  options->context = g_option_context_new (summary);
  g_option_context_set_translation_domain (options->context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (options->context, common, GETTEXT_PACKAGE);
  /* the limits are main options too: --help lists them all */
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    {
      options->given[k] = -1;
      entry[0].long_name = limit_options[k].key;
      entry[0].arg = G_OPTION_ARG_INT64;
      entry[0].arg_data = &options->given[k];
      entry[0].description = limit_options[k].doc;
      entry[0].arg_description = "N";
      g_option_context_add_main_entries (options->context, entry, GETTEXT_PACKAGE);
    }
  options->config = g_key_file_new ();
  return options;
}

/**
 * rthunk_provider_options_free:
 * @options: (transfer full): options
 *
 * Since: 0.1
 */
void
rthunk_provider_options_free (RthunkProviderOptions *options)
{
  g_option_context_free (options->context);
  g_key_file_unref (options->config);
  g_free (options->program);
  g_free (options->config_path);
  g_free (options->name);
  g_free (options->bind);
  g_free (options->token_file);
  g_strfreev (options->fetch_from);
  g_free (options);
}

/**
 * rthunk_provider_options_add_entries:
 * @options: options
 * @entries: (array zero-terminated=1): the provider's own options
 *
 * Since: 0.1
 */
void
rthunk_provider_options_add_entries (RthunkProviderOptions *options,
                                     const GOptionEntry    *entries)
{
  g_option_context_add_main_entries (options->context, entries, GETTEXT_PACKAGE);
}

static gboolean
apply_config (RthunkProviderOptions  *options,
              GError                **error)
{
  const char *group = "server";

  if (!g_key_file_load_from_file (options->config, options->config_path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", options->config_path);
      return FALSE;
    }
  if (options->port < 0 && g_key_file_has_key (options->config, group, "port", NULL))
    options->port = g_key_file_get_integer (options->config, group, "port", NULL);
  if (options->name == NULL)
    options->name = g_key_file_get_string (options->config, group, "name", NULL);
  if (options->bind == NULL)
    options->bind = g_key_file_get_string (options->config, group, "bind", NULL);
  if (options->token_file == NULL)
    options->token_file = g_key_file_get_string (options->config, group, "token-file", NULL);
  if (options->fetch_from == NULL)
    options->fetch_from = g_key_file_get_string_list (options->config, group, "fetch-from", NULL, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    if (options->given[k] < 0 && g_key_file_has_key (options->config, group, limit_options[k].key, NULL))
      {
        GError *bad = NULL;
        gint64 value = g_key_file_get_int64 (options->config, group, limit_options[k].key, &bad);

        if (bad != NULL || value < 0)
          {
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                         _("%s: key “%s” needs a number of zero or more"),
                         options->config_path, limit_options[k].key);
            g_clear_error (&bad);
            return FALSE;
          }
        options->given[k] = value;
      }
  return TRUE;
}

/**
 * rthunk_provider_options_parse:
 * @options: options
 * @argc: (inout): the argument count
 * @argv: (inout) (array length=argc): the arguments
 * @error: return location for a #GError
 *
 * Parses the command line, then the configuration file it names.
 *
 * Returns: %TRUE, or %FALSE with @error set
 *
 * Since: 0.1
 */
gboolean
rthunk_provider_options_parse (RthunkProviderOptions   *options,
                               int                     *argc,
                               char                  ***argv,
                               GError                 **error)
{
  if (!g_option_context_parse (options->context, argc, argv, error))
    return FALSE;
  if (options->config_path != NULL && !apply_config (options, error))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    if (options->given[k] >= 0)
      set_limit (&options->limits, &limit_options[k], options->given[k]);
  if (options->port < 0 || options->port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--port N is required (0 to 65535)"));
      return FALSE;
    }
  if (options->name == NULL)
    options->name = g_strdup (options->program);
  return TRUE;
}

/**
 * rthunk_provider_options_get_config:
 * @options: parsed options
 *
 * Returns: (transfer none): the configuration file's contents (empty
 *   without --config), for the provider's own keys
 *
 * Since: 0.1
 */
GKeyFile *
rthunk_provider_options_get_config (RthunkProviderOptions *options)
{
  return options->config;
}

/**
 * rthunk_provider_options_get_name:
 * @options: parsed options
 *
 * Returns: (transfer none): the server's name
 *
 * Since: 0.1
 */
const char *
rthunk_provider_options_get_name (RthunkProviderOptions *options)
{
  return options->name;
}

static char *
read_token (const char  *path,
            GError     **error)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  g_strstrip (text);
  if (text[0] == '\0')
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, _("the token file %s is empty"), path);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/* The first SIGTERM or SIGINT drains the server in a thread of its own,
 * so that the main loop still hears a second one, which exits at once. */
typedef struct
{
  const char *program;
  RthunkServer *server;
  GMainLoop *loop;
  GThread *drainer;
} Shutdown;

static gpointer
drain_server (gpointer data)
{
  Shutdown *shutdown = data;

  rthunk_server_stop (shutdown->server);
  g_main_loop_quit (shutdown->loop);
  return NULL;
}

static void
on_signal (Shutdown *shutdown,
           int       signum)
{
  if (shutdown->drainer != NULL)
    {
      g_printerr (_("%s: %s again: exiting without waiting for the drain\n"),
                  shutdown->program, g_strsignal (signum));
      _exit (128 + signum);
    }
  g_message ("stopping: no new thunks; waiting for accepted thunks to finish");
  shutdown->drainer = g_thread_new ("rthunk-drain", drain_server, shutdown);
}

static gboolean
on_sigterm (gpointer user_data)
{
  on_signal (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint (gpointer user_data)
{
  on_signal (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

/**
 * rthunk_provider_run:
 * @options: parsed options
 * @catalog: what the provider serves
 *
 * Serves @catalog until SIGTERM or SIGINT, then drains (see
 * rthunk_server_stop()): no new connections or thunks, accepted thunks
 * run on for up to `--drain-timeout-ms` and are cancelled after it, and
 * their clients can poll them meanwhile. A second SIGTERM or SIGINT exits
 * at once with status 128 + the signal's number. Prints
 * `PROGRAM NAME listening on ADDR:PORT` on standard output once it accepts
 * connections.
 *
 * Returns: the exit status: 0, or 1 if the server could not start
 *
 * Since: 0.1
 */
int
rthunk_provider_run (RthunkProviderOptions *options,
                     RthunkCatalog         *catalog)
{
  g_autoptr(RthunkServer) server = rthunk_server_new (catalog, options->name);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  Shutdown shutdown = { options->program, server, loop, NULL };
  guint sources[2];

  signal (SIGPIPE, SIG_IGN);
  if (options->token_file != NULL && (token = read_token (options->token_file, &error)) == NULL)
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      return 1;
    }
  rthunk_server_set_limits (server, &options->limits);
  rthunk_server_set_token (server, token);
  rthunk_server_set_fetch_from (server, (const char *const *) options->fetch_from);
  /* before the "listening" line: a SIGTERM right after it must stop us cleanly */
  sources[0] = g_unix_signal_add (SIGTERM, on_sigterm, &shutdown);
  sources[1] = g_unix_signal_add (SIGINT, on_sigint, &shutdown);
  if (!rthunk_server_listen (server, options->bind, options->port, &error))
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      g_source_remove (sources[0]);
      g_source_remove (sources[1]);
      return 1;
    }
  g_print (_("%s %s listening on %s:%u\n"), options->program, options->name,
           options->bind != NULL ? options->bind : "127.0.0.1", rthunk_server_get_port (server));
  fflush (stdout);
  g_main_loop_run (loop);
  if (shutdown.drainer != NULL)
    g_thread_join (shutdown.drainer);
  g_source_remove (sources[0]);
  g_source_remove (sources[1]);
  return 0;
}
