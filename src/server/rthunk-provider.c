/* rthunk-provider.c — what every provider program shares
 *
 * One table lists every server option with its flag, its configuration
 * key and where it goes; flags win over the file given with --config
 * (a GKeyFile with the same keys in a [server] group).
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rthunk-provider.h"
#include "rthunk-core-private.h"
#include "rthunk-catalog.h"
#include "rthunk-data-dir.h"
#include "rthunk-http.h"
#include "rthunk-log.h"
#include "rthunk-server.h"
#include "rthunk-notify.h"
#include "rthunk-store.h"
#include "rthunk-server-private.h"
#include "rthunk-state-store.h"

typedef enum { OPT_INT, OPT_INT64, OPT_STRING } OptKind;

#define MAX_LIMIT_OPTIONS 32

struct _RthunkProviderOptions
{
  char *program;
  GOptionContext *context;
  GKeyFile *config;
  char *config_path;
  char *name;
  char *bind;
  char *token_file;
  char *tls_cert;
  char *tls_key;
  char *tls_client_ca;
  char *tls_ca;
  char *log_format;
  char *http;
  char *store;
  char *store_password_file;
  char *state_dir;
  char *state_file;
  RthunkStateStore *state_store; /* NULL: the provider keeps no state cells */
  char *data_dir;
  gboolean serves_files;        /* rthunk_provider_options_add_files() was called */
  char **fetch_from;
  gint port;
  RthunkServerLimits limits;
  /* what the command line or the file gave, where is_given says so */
  guint64 given[MAX_LIMIT_OPTIONS];
  gboolean is_given[MAX_LIMIT_OPTIONS];
  GPtrArray *own_keys;          /* the provider's own options, as keys */
};

/* The limits, in the order of `given`, each with its range: a value
 * outside it is an error at start-up, never wrapped or ignored. A size
 * (`bytes`) may be written with a unit: 256MiB, 2GiB. */
typedef struct
{
  const char *key;
  const char *doc;
  gsize offset;
  gboolean is64;
  gboolean bytes;
  guint64 min;
  guint64 max;
} LimitOption;

#define DAY_MS (24 * 3600 * 1000ull)
#define MAX_COUNT 100000000ull
#define LIMIT(key, field, min, max, doc) \
  { key, doc, G_STRUCT_OFFSET (RthunkServerLimits, field), \
    sizeof (((RthunkServerLimits *) 0)->field) == 8, FALSE, min, max }
#define SIZE_LIMIT(key, field, min, max, doc) \
  { key, doc, G_STRUCT_OFFSET (RthunkServerLimits, field), TRUE, TRUE, min, max }

static const LimitOption limit_options[] = {
  SIZE_LIMIT ("max-frame-bytes", max_frame_bytes, 1024, G_MAXINT32, N_("Largest request frame accepted")),
  LIMIT ("max-connections", max_connections, 1, 65536, N_("Connections served at once")),
  LIMIT ("workers", workers, 1, 1024, N_("Evaluation threads")),
  LIMIT ("max-queued", max_queued, 1, MAX_COUNT, N_("Thunks queued or running before submissions get Overloaded")),
  LIMIT ("io-timeout-ms", io_timeout_ms, 1, DAY_MS, N_("Socket read and write timeout")),
  LIMIT ("fuel", fuel, 1, G_MAXINT64, N_("Steps (calls and loop iterations) one thunk may take")),
  LIMIT ("deadline-ms", deadline_ms, 0, 7 * DAY_MS, N_("How long one thunk may run (0: no deadline)")),
  LIMIT ("max-depth", max_depth, 1, 1000000, N_("How deeply the calls of one thunk may nest")),
  LIMIT ("max-ast-nodes", max_ast_nodes, 1, MAX_COUNT, N_("Nodes one request's AST may have")),
  SIZE_LIMIT ("max-eval-bytes", max_eval_bytes, 1024, G_MAXINT64, N_("Bytes of lists and strings one thunk may build")),
  LIMIT ("max-thunks", max_thunks, 1, MAX_COUNT, N_("Finished thunks remembered")),
  LIMIT ("thunk-ttl-ms", thunk_ttl_ms, 0, 7 * DAY_MS, N_("How long a finished thunk is remembered")),
  LIMIT ("cache-entries", cache_entries, 0, MAX_COUNT, N_("Results the cache holds (0: no cache)")),
  SIZE_LIMIT ("cache-bytes", cache_bytes, 0, G_MAXINT64, N_("Bytes the result cache holds")),
  LIMIT ("max-definitions", max_definitions, 1, MAX_COUNT, N_("Definitions the store holds")),
  SIZE_LIMIT ("definitions-bytes", definitions_bytes, 1024, G_MAXINT64, N_("Bytes the definition store holds")),
  SIZE_LIMIT ("max-memory", max_memory, 1024 * 1024, G_MAXINT64, N_("Memory the whole server may use for values, definitions, the cache, frames and evaluations")),
  LIMIT ("max-queued-per-client", max_queued_per_client, 0, MAX_COUNT, N_("Thunks one connection may have queued or running (0: a quarter of max-queued)")),
  LIMIT ("max-running-per-client", max_running_per_client, 0, 1024 * 1024, N_("Thunks of one connection the workers run at once (0: as many as there are workers)")),
  LIMIT ("long-thunk-ms", long_thunk_ms, 0, DAY_MS, N_("A thunk that has run this long gives its worker up to the thunks queued behind it (0: never)")),
  LIMIT ("idle-timeout-ms", idle_timeout_ms, 0, DAY_MS, N_("How long a connection may stay idle between calls before it is closed (0: --io-timeout-ms)")),
  LIMIT ("max-waiters-per-client", max_waiters_per_client, 0, 4096, N_("Thunks one connection may await at once (0: 4096)")),
  LIMIT ("store-timeout-ms", store_timeout_ms, 1, 60000, N_("How long a request waits for the store (SQLite, Redis) before a lookup counts as a miss")),
  LIMIT ("store-ttl-s", store_ttl_s, 1, 10 * 365 * 24 * 3600ull, N_("How long the store keeps a result or a definition, in seconds")),
  LIMIT ("drain-timeout-ms", drain_timeout_ms, 0, DAY_MS, N_("On SIGTERM, how long accepted thunks may still run before they are cancelled")),
  SIZE_LIMIT ("max-print-bytes", max_print_bytes, 0, G_MAXINT64, N_("Bytes one thunk's print may write; the rest is dropped")),
  SIZE_LIMIT ("print-buffer-bytes", print_buffer_bytes, 1024, G_MAXINT64, N_("Bytes of print output held while standard output is slow; beyond, dropped")),
};

G_STATIC_ASSERT (G_N_ELEMENTS (limit_options) <= MAX_LIMIT_OPTIONS);

/* The keys of the [server] group besides the limits. */
static const char *const server_keys[] = {
  "port", "name", "bind", "token-file", "fetch-from", "tls-cert", "tls-key", "tls-client-ca", "tls-ca",
  "log-format", "http", "store", "store-password-file", "state-dir", "state-file", "data-dir",
};

static void
set_limit (RthunkServerLimits *limits,
           const LimitOption  *option,
           guint64             value)
{
  gpointer field = G_STRUCT_MEMBER_P (limits, option->offset);

  if (option->is64)
    *(guint64 *) field = value;
  else
    *(guint *) field = (guint) value;
}

static const LimitOption *
find_limit (const char *key,
            guint      *index)
{
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    if (strcmp (limit_options[k].key, key) == 0)
      {
        *index = k;
        return &limit_options[k];
      }
  return NULL;
}

/* The multiplier of a size's unit; 0 for a unit it does not know. */
static guint64
size_unit (const char *unit)
{
  static const struct { const char *name; guint64 factor; } units[] = {
    { "", 1 }, { "B", 1 },
    { "KiB", 1ull << 10 }, { "K", 1ull << 10 }, { "kB", 1000 },
    { "MiB", 1ull << 20 }, { "M", 1ull << 20 }, { "MB", 1000000 },
    { "GiB", 1ull << 30 }, { "G", 1ull << 30 }, { "GB", 1000000000 },
    { "TiB", 1ull << 40 }, { "T", 1ull << 40 }, { "TB", 1000000000000ull },
  };

  for (guint k = 0; k < G_N_ELEMENTS (units); k++)
    if (strcmp (units[k].name, unit) == 0)
      return units[k].factor;
  return 0;
}

/* Reads @text as @option's value: digits (and, for a size, a unit), in
 * the option's range; @where says where it came from, for the error. */
static gboolean
parse_limit (const LimitOption  *option,
             const char         *text,
             const char         *where,
             guint64            *value,
             GError            **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *end = NULL;
  guint64 number, factor = 1;

  errno = 0;
  number = g_ascii_strtoull (copy, &end, 10);
  if (!g_ascii_isdigit (copy[0]) || errno != 0 ||
      (option->bytes ? (factor = size_unit (end)) == 0 : *end != '\0') ||
      number > G_MAXUINT64 / factor)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   option->bytes ? _("%s%s: “%s” is not a size (a whole number, with a unit such as KiB, MiB or GiB)")
                                 : _("%s%s: “%s” is not a whole number"),
                   where, option->key, text);
      return FALSE;
    }
  *value = number * factor;
  if (*value < option->min || *value > option->max)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("%s%s: %s is out of range (%" PRIu64 " to %" PRIu64 ")"),
                   where, option->key, text, option->min, option->max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_limit_flag (const char  *name,
               const char  *text,
               gpointer     data,
               GError     **error)
{
  RthunkProviderOptions *options = data;
  const LimitOption *option;
  guint k = 0;

  while (*name == '-')
    name++;
  option = find_limit (name, &k);
  g_assert (option != NULL);
  if (!parse_limit (option, text, "--", &options->given[k], error))
    return FALSE;
  options->is_given[k] = TRUE;
  return TRUE;
}

/**
 * rthunk_provider_options_new: (skip)
 * @program: the program's name, for messages (`rthunkd`)
 * @summary: a line that says what it serves
 *
 * Makes the options every provider program shares, with their defaults, for
 * rthunk_provider_options_parse().
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
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &options->tls_cert, N_("Serve TLS only, with this PEM certificate (needs --tls-key)"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &options->tls_key, N_("The PEM private key of --tls-cert"), N_("FILE") },
    { "tls-client-ca", 0, 0, G_OPTION_ARG_FILENAME, &options->tls_client_ca, N_("Clients must show a certificate signed by an authority in this PEM file (mutual TLS)"), N_("FILE") },
    { "tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &options->tls_ca, N_("Trust these PEM authorities for the servers it fetches from (default: the system's)"), N_("FILE") },
    { "store", 0, 0, G_OPTION_ARG_STRING, &options->store, N_("Where results and definitions are kept below memory: memory (nowhere), sqlite:PATH or redis://[USER:PASSWORD@]HOST:PORT[/DB] (default: sqlite:STATE-DIR/NAME.db)"), N_("URI") },
    { "store-password-file", 0, 0, G_OPTION_ARG_FILENAME, &options->store_password_file, N_("The password of the Redis store (its ACL user in the URI: redis://USER@HOST:PORT)"), N_("FILE") },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &options->state_dir, N_("Folder of the default store (default: $XDG_STATE_HOME/rthunk, or ~/.local/state/rthunk)"), N_("DIR") },
    { "state-file", 0, 0, G_OPTION_ARG_FILENAME, &options->state_file, N_("Keep the state cells in this file: loaded at start, saved after updates (default: in memory only)"), N_("FILE") },
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &options->data_dir, N_("Serve the files of this folder: read-text, list-files and csv-read, paths confined to it (capability files)"), N_("DIR") },
    { "log-format", 0, 0, G_OPTION_ARG_STRING, &options->log_format, N_("Write the log to standard error as text (the default; the journal under systemd) or json, a JSON object per line"), N_("FORMAT") },
    { "http", 0, 0, G_OPTION_ARG_STRING, &options->http, N_("Serve the dashboard, /metrics and /api over HTTP at this address (off by default)"), N_("HOST:PORT") },
    { NULL }
  };
  GOptionEntry entry[2] = { { NULL }, { NULL } };
  GOptionGroup *main_group;

  options->program = g_strdup (program);
  options->port = -1;
  options->own_keys = g_ptr_array_new_with_free_func (g_free);
  rthunk_server_limits_init (&options->limits);
  options->context = g_option_context_new (summary);
  /* the main group carries @options to the limits' callback */
  main_group = g_option_group_new (NULL, NULL, NULL, options, NULL);
  g_option_context_set_main_group (options->context, main_group);
  g_option_context_set_translation_domain (options->context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (options->context, common, GETTEXT_PACKAGE);
  /* the limits are main options too: --help lists them all */
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    {
      entry[0].long_name = limit_options[k].key;
      entry[0].arg = G_OPTION_ARG_CALLBACK;
      entry[0].arg_data = (gpointer) on_limit_flag;
      entry[0].description = limit_options[k].doc;
      entry[0].arg_description = limit_options[k].bytes ? "SIZE" : "N";
      g_option_context_add_main_entries (options->context, entry, GETTEXT_PACKAGE);
    }
  options->config = g_key_file_new ();
  return options;
}

/**
 * rthunk_provider_options_free:
 * @options: (transfer full): options
 *
 * Frees @options.
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
  g_free (options->tls_cert);
  g_free (options->tls_key);
  g_free (options->tls_client_ca);
  g_free (options->tls_ca);
  g_free (options->log_format);
  g_free (options->http);
  g_free (options->store);
  g_free (options->store_password_file);
  g_free (options->state_dir);
  g_free (options->state_file);
  g_free (options->data_dir);
  g_clear_pointer (&options->state_store, rthunk_state_store_unref);
  g_strfreev (options->fetch_from);
  g_ptr_array_unref (options->own_keys);
  g_free (options);
}

/**
 * rthunk_provider_options_add_entries:
 * @options: options
 * @entries: (array zero-terminated=1): the provider's own options
 *
 * Adds the provider's own command-line options to the shared ones; call it
 * before rthunk_provider_options_parse().
 *
 * Since: 0.1
 */
void
rthunk_provider_options_add_entries (RthunkProviderOptions *options,
                                     const GOptionEntry    *entries)
{
  g_option_context_add_main_entries (options->context, entries, GETTEXT_PACKAGE);
  for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
    g_ptr_array_add (options->own_keys, g_strdup (e->long_name));
}

/* Whether @key is one of @group's keys; if not, the nearest in *@nearest. */
static gboolean
known_key (RthunkProviderOptions  *options,
           const char             *group,
           const char             *key,
           const char            **nearest)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();

  if (strcmp (group, "server") == 0)
    {
      for (guint k = 0; k < G_N_ELEMENTS (server_keys); k++)
        g_ptr_array_add (keys, (gpointer) server_keys[k]);
      for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
        g_ptr_array_add (keys, (gpointer) limit_options[k].key);
    }
  else
    g_ptr_array_extend (keys, options->own_keys, NULL, NULL);
  for (guint k = 0; k < keys->len; k++)
    if (strcmp (key, g_ptr_array_index (keys, k)) == 0)
      return TRUE;
  *nearest = rthunk_nearest_name (key, (const char *const *) keys->pdata, keys->len);
  return FALSE;
}

/* Every key of the file is one a group knows: [server] the server's, any
 * other group the provider's own options. */
static gboolean
check_config_keys (RthunkProviderOptions  *options,
                   GError                **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (options->config, NULL);

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (options->config, groups[g], NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          const char *nearest;

          if (known_key (options, groups[g], keys[k], &nearest))
            continue;
          if (nearest != NULL)
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                         _("%s: unknown key “%s” in [%s]; did you mean “%s”?"),
                         options->config_path, keys[k], groups[g], nearest);
          else
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                         _("%s: unknown key “%s” in [%s]"), options->config_path, keys[k], groups[g]);
          return FALSE;
        }
    }
  return TRUE;
}

/* The [server] keys holding a word or a file name, where no flag gave one. */
static void
read_string_keys (RthunkProviderOptions *options,
                  const char            *group)
{
  struct { const char *key; char **field; } keys[] = {
    { "name", &options->name },
    { "bind", &options->bind },
    { "token-file", &options->token_file },
    { "tls-cert", &options->tls_cert },
    { "tls-key", &options->tls_key },
    { "tls-client-ca", &options->tls_client_ca },
    { "tls-ca", &options->tls_ca },
    { "log-format", &options->log_format },
    { "http", &options->http },
    { "store", &options->store },
    { "store-password-file", &options->store_password_file },
    { "state-dir", &options->state_dir },
    { "state-file", &options->state_file },
    { "data-dir", &options->data_dir },
  };

  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (*keys[k].field == NULL)
      *keys[k].field = g_key_file_get_string (options->config, group, keys[k].key, NULL);
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
  if (!check_config_keys (options, error))
    return FALSE;
  if (options->port < 0 && g_key_file_has_key (options->config, group, "port", NULL))
    options->port = g_key_file_get_integer (options->config, group, "port", NULL);
  read_string_keys (options, group);
  if (options->fetch_from == NULL)
    options->fetch_from = g_key_file_get_string_list (options->config, group, "fetch-from", NULL, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    if (!options->is_given[k] && g_key_file_has_key (options->config, group, limit_options[k].key, NULL))
      {
        g_autofree char *text = g_key_file_get_value (options->config, group, limit_options[k].key, NULL);
        g_autofree char *where = g_strdup_printf ("%s: key ", options->config_path);

        if (!parse_limit (&limit_options[k], text, where, &options->given[k], error))
          return FALSE;
        options->is_given[k] = TRUE;
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
  RthunkLogFormat format;

  if (!g_option_context_parse (options->context, argc, argv, error))
    return FALSE;
  if (options->config_path != NULL && !apply_config (options, error))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (limit_options); k++)
    if (options->is_given[k])
      set_limit (&options->limits, &limit_options[k], options->given[k]);
  if (options->port < 0 || options->port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--port N is required (0 to 65535)"));
      return FALSE;
    }
  if (options->name == NULL)
    options->name = g_strdup (options->program);
  if (!rthunk_log_parse_format (options->log_format != NULL ? options->log_format : "text", &format, error))
    return FALSE;
  rthunk_log_install (format);
  return TRUE;
}

/**
 * rthunk_provider_options_get_config:
 * @options: parsed options
 *
 * Gives the configuration file given with `--config`, so a provider can
 * read keys of its own from it.
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
 * Gives the name the server announces (`--name`).
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

/**
 * rthunk_provider_options_add_state:
 * @options: parsed options
 * @catalog: what the provider serves
 * @error: return location for a #GError
 *
 * Makes the provider keep state cells: adds `state-get`, `state-swap!` and
 * `state-cas!` (flags io and state) and the capability `state` to
 * @catalog. With `--state-file`, the cells saved there are loaded now (a
 * corrupt file is an error) and every update is saved there, batched;
 * without it, they live in memory. rthunk_provider_run() reports them in
 * getServerInfo.
 *
 * Returns: %TRUE, or %FALSE with @error set when the state file cannot be
 *   read
 *
 * Since: 0.1
 */
gboolean
rthunk_provider_options_add_state (RthunkProviderOptions  *options,
                                   RthunkCatalog          *catalog,
                                   GError                **error)
{
  g_return_val_if_fail (options != NULL && options->state_store == NULL, FALSE);
  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), FALSE);

  if ((options->state_store = rthunk_state_store_new (options->state_file, error)) == NULL)
    return FALSE;
  rthunk_state_store_add_to (options->state_store, catalog);
  return TRUE;
}

/**
 * rthunk_provider_options_add_files:
 * @options: parsed options
 * @catalog: what the provider serves
 * @error: return location for a #GError
 *
 * Makes the provider serve the files of `--data-dir DIR`, if it was given:
 * adds `read-text : (str -> str)`, `list-files : (str -> [str])` and
 * `csv-read : (str -> [[str]])` (flag io) and the capability `files` to
 * @catalog. Their paths are relative to DIR and confined to it: absolute
 * paths, `..` and symbolic links are refused. Without `--data-dir` it does
 * nothing; rthunk_provider_run() refuses `--data-dir` if this was not
 * called.
 *
 * Returns: %TRUE, or %FALSE with @error set when DIR is not a directory
 *   that can be opened
 *
 * Since: 0.1
 */
gboolean
rthunk_provider_options_add_files (RthunkProviderOptions  *options,
                                   RthunkCatalog          *catalog,
                                   GError                **error)
{
  g_autoptr(RthunkDataDir) dir = NULL;

  g_return_val_if_fail (options != NULL, FALSE);
  g_return_val_if_fail (RTHUNK_IS_CATALOG (catalog), FALSE);

  options->serves_files = TRUE;
  if (options->data_dir == NULL)
    return TRUE;
  if ((dir = rthunk_data_dir_open (options->data_dir, error)) == NULL)
    return FALSE;
  rthunk_data_dir_add_to (dir, catalog);
  return TRUE;
}

/* The secret in the file at @path, white space around it removed: the
 * token (--token-file) or, if @password, the store's password. */
static char *
read_token (const char  *path,
            gboolean     password,
            GError     **error)
{
  g_autofree char *text = NULL;
  gsize length;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   password ? _("the password file %s holds a NUL byte")
                            : _("the token file %s holds a NUL byte"), path);
      return NULL;
    }
  g_strstrip (text);
  if (text[0] == '\0')
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   password ? _("the password file %s is empty") : _("the token file %s is empty"), path);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/* Tells systemd (Type=notify) @state; a failure is worth a warning, not
 * a stop: the service manager will time the start out by itself. */
static void
tell_manager (const char *program,
              const char *state)
{
  g_autoptr(GError) error = NULL;

  if (!rthunk_notify (state, &error))
    g_warning ("%s: could not notify the service manager: %s", program, error->message);
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
  tell_manager (shutdown->program, "STOPPING=1");
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

/* TLS from --tls-cert and --tls-key (both or neither), --tls-client-ca
 * and --tls-ca (which need them). */
static gboolean
set_tls (RthunkProviderOptions  *options,
         RthunkServer           *server,
         GError                **error)
{
  if (options->tls_cert == NULL && options->tls_key == NULL &&
      options->tls_client_ca == NULL && options->tls_ca == NULL)
    return TRUE;
  if (options->tls_cert == NULL || options->tls_key == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("TLS needs both --tls-cert and --tls-key"));
      return FALSE;
    }
  return rthunk_server_set_tls (server, options->tls_cert, options->tls_key, options->tls_client_ca, error) &&
         rthunk_server_set_peer_tls (server, options->tls_ca, error);
}

/* --http: the dashboard, /metrics and /api (NULL: it could not listen,
 * and said why on standard error). */
static RthunkHttp *
listen_http (RthunkProviderOptions *options,
             RthunkServer          *server)
{
  g_autoptr(RthunkHttp) http = rthunk_http_new (server);
  g_autoptr(GError) error = NULL;

  if (!rthunk_http_listen (http, options->http, &error))
    {
      g_printerr ("%s: --http %s: %s\n", options->program, options->http, error->message);
      return NULL;
    }
  return g_steal_pointer (&http);
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
 * connections, in English whatever the locale: programs read that line;
 * then it sends `READY=1` to the socket NOTIFY_SOCKET names (systemd's
 * Type=notify; `STOPPING=1` when it starts to drain).
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
  g_autofree char *store_password = NULL;
  Shutdown shutdown = { options->program, server, loop, NULL };
  RthunkHttp *http = NULL;
  guint sources[2];

  signal (SIGPIPE, SIG_IGN);
  if (options->token_file != NULL && (token = read_token (options->token_file, FALSE, &error)) == NULL)
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      return 1;
    }
  if (options->store_password_file != NULL &&
      (store_password = read_token (options->store_password_file, TRUE, &error)) == NULL)
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      return 1;
    }
  if (!set_tls (options, server, &error))
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      return 1;
    }
  if (options->state_file != NULL && options->state_store == NULL)
    {
      g_printerr (_("%s: --state-file: this provider keeps no state cells\n"), options->program);
      return 1;
    }
  if (options->data_dir != NULL && !options->serves_files)
    {
      g_printerr (_("%s: --data-dir: this provider serves no files\n"), options->program);
      return 1;
    }
  rthunk_server_set_state_store (server, options->state_store);
  rthunk_server_set_limits (server, &options->limits);
  rthunk_server_set_token (server, token);
  rthunk_server_set_fetch_from (server, (const char *const *) options->fetch_from);
  if (options->store == NULL)
    options->store = rthunk_store_default_uri (options->state_dir, options->name);
  rthunk_server_set_store (server, options->store, store_password);
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
  if (options->http != NULL && (http = listen_http (options, server)) == NULL)
    {
      rthunk_server_stop (server);
      g_source_remove (sources[0]);
      g_source_remove (sources[1]);
      return 1;
    }
  /* not translated: scripts, tests and supervisors wait for this line */
  g_print ("%s %s listening on %s:%u\n", options->program, options->name,
           options->bind != NULL ? options->bind : "127.0.0.1", rthunk_server_get_port (server));
  if (http != NULL)
    {
      g_autofree char *url = rthunk_http_get_url (http);

      /* not translated either: the tests wait for it */
      g_print ("%s %s http on %s\n", options->program, options->name, url);
    }
  fflush (stdout);
  tell_manager (options->program, "READY=1");
  g_main_loop_run (loop);
  g_clear_pointer (&http, rthunk_http_free);
  if (shutdown.drainer != NULL)
    g_thread_join (shutdown.drainer);
  g_source_remove (sources[0]);
  g_source_remove (sources[1]);
  if (options->state_store != NULL && !rthunk_state_store_flush (options->state_store, &error))
    {
      g_printerr ("%s: %s\n", options->program, error->message);
      return 1;
    }
  return 0;
}
