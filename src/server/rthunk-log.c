/* rthunk-log.c — the server's log: structured, to stderr or the journal
 *
 * Every message of the server goes through GLib's structured logging, and
 * the messages about thunks carry fields: THUNK_ID (the id in hex), CLIENT
 * (the peer address of the connection that submitted it), FUNCTION (the
 * head of its expression), ELAPSED_US and STATE. rthunk_log_install()
 * sets the writer of a provider program:
 *
 * - text (the default): one line per message on standard error, the
 *   fields after it as KEY=value — or, when standard error is the
 *   journal's (run by systemd), the journal, fields and all;
 * - json (`--log-format json`): one JSON object per line on standard
 *   error, with "time", "level", "domain", "message" and the fields.
 *
 * Debug messages are written only when G_MESSAGES_DEBUG names "rthunk"
 * (or "all"), as with GLib's own writer. The library alone, without
 * rthunk_log_install(), keeps GLib's default writer: the fields then go
 * where the application's writer sends them.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "rthunk-log.h"
#include "rthunk-conn-account.h"
#include "rthunk-node.h"

static RthunkLogFormat log_format;

/**
 * rthunk_log_parse_format: (skip)
 * @text: `text` or `json`
 * @format: (out): the format it names
 * @error: return location for a #GError
 *
 * Returns: %TRUE, or %FALSE with @error set for another word
 */
gboolean
rthunk_log_parse_format (const char       *text,
                         RthunkLogFormat  *format,
                         GError          **error)
{
  if (g_strcmp0 (text, "text") == 0)
    *format = RTHUNK_LOG_TEXT;
  else if (g_strcmp0 (text, "json") == 0)
    *format = RTHUNK_LOG_JSON;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("log-format: “%s” is neither “text” nor “json”"), text);
      return FALSE;
    }
  return TRUE;
}

/* ---- writing ----------------------------------------------------------------- */

static const char *
level_name (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "error";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "critical";
  if (level & G_LOG_LEVEL_WARNING)
    return "warning";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "message";
  if (level & G_LOG_LEVEL_INFO)
    return "info";
  return "debug";
}

/* Whether @key is one of ours, not one GLib adds to every message. */
static gboolean
is_thunk_field (const char *key)
{
  static const char *const keys[] = { "THUNK_ID", "CLIENT", "FUNCTION", "ELAPSED_US", "STATE", "REASON" };

  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    if (strcmp (key, keys[k]) == 0)
      return TRUE;
  return FALSE;
}

static const char *
field_text (const GLogField *field)
{
  return field->length < 0 ? field->value : NULL;
}

/* One JSON object: time, level, then the message, the domain and the
 * thunk fields (written by json-glib, as the HTTP API is). */
static char *
format_json (GLogLevelFlags   level,
             const GLogField *fields,
             gsize            n_fields)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format_iso8601 (now);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *line = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "level");
  json_builder_add_string_value (builder, level_name (level));
  for (gsize k = 0; k < n_fields; k++)
    {
      const char *value = field_text (&fields[k]);
      const char *key = strcmp (fields[k].key, "MESSAGE") == 0 ? "message"
                      : strcmp (fields[k].key, "GLIB_DOMAIN") == 0 ? "domain"
                      : is_thunk_field (fields[k].key) ? fields[k].key : NULL;

      if (key == NULL || value == NULL)
        continue;
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  line = json_to_string (root, FALSE);
  return g_strconcat (line, "\n", NULL);
}

static char *
format_text (GLogLevelFlags   level,
             const GLogField *fields,
             gsize            n_fields)
{
  g_autofree char *line = g_log_writer_format_fields (level, fields, n_fields, FALSE);
  GString *out = g_string_new (line);

  for (gsize k = 0; k < n_fields; k++)
    if (is_thunk_field (fields[k].key) && field_text (&fields[k]) != NULL)
      g_string_append_printf (out, " %s=%s", fields[k].key, field_text (&fields[k]));
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

static GLogWriterOutput
write_log (GLogLevelFlags   level,
           const GLogField *fields,
           gsize            n_fields,
           gpointer         user_data)
{
  const char *domain = NULL;
  g_autofree char *line = NULL;

  for (gsize k = 0; k < n_fields && domain == NULL; k++)
    if (strcmp (fields[k].key, "GLIB_DOMAIN") == 0)
      domain = field_text (&fields[k]);
  if (g_log_writer_default_would_drop (level, domain))
    return G_LOG_WRITER_HANDLED;
  if (log_format == RTHUNK_LOG_TEXT && g_log_writer_is_journald (fileno (stderr)) &&
      g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  line = log_format == RTHUNK_LOG_JSON ? format_json (level, fields, n_fields)
                                       : format_text (level, fields, n_fields);
  /* one write per message: lines of several threads never interleave */
  if (write (STDERR_FILENO, line, strlen (line)) < 0)
    return G_LOG_WRITER_UNHANDLED;
  return G_LOG_WRITER_HANDLED;
}

/**
 * rthunk_log_install: (skip)
 * @format: how to write
 *
 * Makes the server's messages go to standard error (or the journal) in
 * @format. For a program, once, before its first message.
 */
void
rthunk_log_install (RthunkLogFormat format)
{
  log_format = format;
  g_log_set_writer_func (write_log, NULL, NULL);
}

/**
 * rthunk_log_debug_wanted: (skip)
 *
 * Returns: whether G_MESSAGES_DEBUG asks for rthunk's debug messages (read
 *   once): with structured logging a message is formatted even when it is
 *   dropped, so the hot paths ask first
 */
gboolean
rthunk_log_debug_wanted (void)
{
  static gsize wanted = 0;

  if (g_once_init_enter (&wanted))
    {
      const char *domains = g_getenv ("G_MESSAGES_DEBUG");
      gboolean on = domains != NULL && (strstr (domains, "rthunk") != NULL || strstr (domains, "all") != NULL);

      g_once_init_leave (&wanted, on ? 2 : 1);
    }
  return wanted == 2;
}

/* ---- messages about thunks ------------------------------------------------------ */

/**
 * rthunk_log_peer_of: (skip)
 * @fd: a connected socket
 *
 * Returns: (transfer full): its peer as `HOST:PORT`, or "-" when it has none
 */
char *
rthunk_log_peer_of (int fd)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  char host[INET6_ADDRSTRLEN] = "";

  if (fd < 0 || getpeername (fd, (struct sockaddr *) &addr, &len) != 0)
    return g_strdup ("-");
  if (addr.ss_family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) &addr;

      inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
      return g_strdup_printf ("%s:%u", host, ntohs (in->sin_port));
    }
  if (addr.ss_family == AF_INET6)
    {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;

      inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
      return g_strdup_printf ("[%s]:%u", host, ntohs (in6->sin6_port));
    }
  return g_strdup ("-");
}

/**
 * rthunk_log_function_of: (skip)
 * @expr: (nullable): a thunk's expression
 *
 * What an expression calls: the symbol at its head, or its kind.
 *
 * Returns: (transfer none): a name, which lives as long as @expr
 */
const char *
rthunk_log_function_of (RthunkNode *expr)
{
  RthunkNode *head;

  if (expr == NULL)
    return "-";
  if (rthunk_node_get_kind (expr) != RTHUNK_NODE_LIST || rthunk_node_get_n_items (expr) == 0)
    return rthunk_node_get_kind (expr) == RTHUNK_NODE_SYMBOL ? rthunk_node_get_text (expr) : "literal";
  head = rthunk_node_get_item (expr, 0);
  return rthunk_node_get_kind (head) == RTHUNK_NODE_SYMBOL ? rthunk_node_get_text (head) : "lambda";
}

/**
 * rthunk_log_client_of: (skip)
 * @account: (nullable): a connection
 *
 * Returns: (transfer none): its peer as `HOST:PORT`, or "-"
 */
const char *
rthunk_log_client_of (RthunkConnAccount *account)
{
  return account != NULL && account->peer != NULL ? account->peer : "-";
}

/**
 * rthunk_log_thunk_id: (skip)
 * @entry: a thunk
 *
 * Returns: (transfer full): its id in hexadecimal
 */
char *
rthunk_log_thunk_id (RthunkThunkEntry *entry)
{
  char *id = g_malloc (2 * RTHUNK_THUNK_ID_LEN + 1);

  for (guint k = 0; k < RTHUNK_THUNK_ID_LEN; k++)
    g_snprintf (id + 2 * k, 3, "%02x", entry->id[k]);
  return id;
}

/**
 * rthunk_log_thunk_finished: (skip)
 * @entry: a thunk that just finished
 * @error: (nullable): why it failed, or %NULL when it is done
 * @how: how it was answered: "run", "cache", "fetched"
 *
 * A debug line for a finished thunk, with its fields; nothing at all
 * unless debug messages are wanted.
 */
void
rthunk_log_thunk_finished (RthunkThunkEntry *entry,
                           const GError     *error,
                           const char       *how)
{
  g_autofree char *id = NULL;
  char elapsed[24];
  const char *state;

  if (!rthunk_log_debug_wanted ())
    return;
  id = rthunk_log_thunk_id (entry);
  g_snprintf (elapsed, sizeof elapsed, "%" G_GINT64_FORMAT, g_get_monotonic_time () - entry->submitted_us);
  state = error == NULL ? "done"
        : g_error_matches (error, RTHUNK_ERROR, RTHUNK_ERROR_CANCELLED) ? "cancelled" : "failed";
  /* each field's value is a string; only MESSAGE's is a format */
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG,
                    "THUNK_ID", id,
                    "CLIENT", rthunk_log_client_of (entry->owner),
                    "FUNCTION", rthunk_log_function_of (entry->expr),
                    "ELAPSED_US", elapsed,
                    "STATE", state,
                    "MESSAGE", "thunk %s %s (%s) in %s µs%s%s", id, state, how, elapsed,
                    error != NULL ? ": " : "", error != NULL ? error->message : "");
}

/**
 * rthunk_log_refused: (skip)
 * @what: what was refused ("submission", "connection"…)
 * @reason: why
 *
 * A message-level line for a request the server refused, naming the
 * client of the calling thread's connection.
 */
void
rthunk_log_refused (const char   *what,
                    const GError *reason)
{
  rthunk_log_refused_from (rthunk_log_client_of (rthunk_conn_account_get_current ()), what, reason);
}

/**
 * rthunk_log_refused_from: (skip)
 * @client: who asked, as `HOST:PORT` or `HOST`
 * @what: what was refused ("HTTP request"…)
 * @reason: why
 *
 * rthunk_log_refused() for a request of no Thrift connection.
 */
void
rthunk_log_refused_from (const char   *client,
                         const char   *what,
                         const GError *reason)
{
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "CLIENT", client,
                    "REASON", reason->message,
                    "MESSAGE", "%s from %s refused: %s", what, client, reason->message);
}
