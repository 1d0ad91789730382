/* rthunk-http-front.c — the HTTP front as rthunk sees it: the module that
 * serves it, loaded on first use, and the JSON of its documents
 *
 * rthunkd --http (rthunk-http.c) and the shell's --http
 * (rthunk-session-http.c) make their fronts here. The libsoup server
 * itself is rthunk-http-soup.so (rthunk-http-soup.c): a process that
 * never serves HTTP never maps libsoup and what it links, which was most
 * of the time `rthunk -e 1` took to start. The module is looked for in
 * $RTHUNK_MODULE_DIR when that is set (an uninstalled build's
 * src/.libs), else where it is installed ($libdir/rthunk-1.0); once
 * loaded it stays (libsoup registers types). The front's other functions
 * are called only with a front, so after a load.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gmodule.h>

#include "rthunk-error.h"
#include "rthunk-http-front.h"
#include "rthunk-log.h"

#define MODULE_NAME "rthunk-http-soup." G_MODULE_SUFFIX

static GMutex load_lock;
static const RthunkHttpSoupModule *loaded;   /* once loaded, for good */

static char *
module_path (void)
{
  const char *dir = g_getenv ("RTHUNK_MODULE_DIR");

  return g_build_filename (dir != NULL && *dir != '\0' ? dir : RTHUNK_MODULEDIR, MODULE_NAME, NULL);
}

/* Opens the module at @path: its functions, or NULL with @failure set. */
static const RthunkHttpSoupModule *
open_module (const char  *path,
             char       **failure)
{
  GModule *module = g_module_open (path, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  RthunkHttpSoupEntry entry = NULL;
  const RthunkHttpSoupModule *functions;

  if (module == NULL)
    {
      *failure = g_strdup (g_module_error ());
      return NULL;
    }
  if (!g_module_symbol (module, RTHUNK_HTTP_SOUP_ENTRY, (gpointer *) &entry) || entry == NULL)
    {
      *failure = g_strdup_printf (_("%s has no %s"), path, RTHUNK_HTTP_SOUP_ENTRY);
      g_module_close (module);
      return NULL;
    }
  functions = entry ();
  if (functions == NULL || functions->abi != RTHUNK_HTTP_SOUP_ABI)
    {
      *failure = g_strdup_printf (_("%s is of another version of rthunk"), path);
      g_module_close (module);
      return NULL;
    }
  g_module_make_resident (module);
  return functions;
}

/* The module's functions, loaded the first time they are asked for;
 * NULL, with @error set, when it cannot be (asked again, it tries again:
 * the module may have been installed since). */
static const RthunkHttpSoupModule *
http_module (GError **error)
{
  g_autofree char *failure = NULL;
  const RthunkHttpSoupModule *module;

  g_mutex_lock (&load_lock);
  if (loaded == NULL)
    {
      g_autofree char *path = module_path ();

      loaded = open_module (path, &failure);
    }
  module = loaded;
  g_mutex_unlock (&load_lock);
  if (module == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 _("HTTP is not available: cannot load its module: %s"), failure);
  return module;
}

static void
log_refused (const char *product,
             const char *remote_host)
{
  g_autoptr(GError) reason = g_error_new_literal (RTHUNK_ERROR, RTHUNK_ERROR_NOT_AUTHORIZED,
                                                  _("this server needs a valid token"));

  rthunk_log_refused_from (remote_host, "HTTP request", reason);
}

RthunkHttpFront *
rthunk_http_front_new (const RthunkHttpRoutes *routes,
                       GTlsCertificate        *certificate,
                       GError                **error)
{
  const RthunkHttpSoupModule *module = http_module (error);
  RthunkHttpRoutes complete = *routes;

  if (module == NULL)
    return NULL;
  complete.resource = rthunk_dashboard_get_resource ();
  complete.refused = log_refused;
  return module->front_new (&complete, certificate);
}

/* HOST:PORT or [IPV6]:PORT as a socket address. */
static GSocketAddress *
parse_address (const char  *host_port,
               GError     **error)
{
  g_autoptr(GSocketConnectable) parsed = g_network_address_parse (host_port, 0, error);
  g_autoptr(GInetAddress) inet = NULL;
  const char *host;

  if (parsed == NULL)
    return NULL;
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  inet = g_str_equal (host, "localhost") ? g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)
                                         : g_inet_address_new_from_string (host);
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("--http needs a numeric address (or localhost) and a port: “%s”"), host_port);
      return NULL;
    }
  return g_inet_socket_address_new (inet, g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
}

gboolean
rthunk_http_front_listen (RthunkHttpFront  *front,
                          const char       *host_port,
                          GError          **error)
{
  g_autoptr(GSocketAddress) address = parse_address (host_port, error);

  return address != NULL && loaded->front_listen (front, address, error);
}

char *
rthunk_http_front_get_url (RthunkHttpFront *front)
{
  return loaded->front_get_url (front);
}

void
rthunk_http_front_free (RthunkHttpFront *front)
{
  loaded->front_free (front);
}

/* ---- the documents' JSON ------------------------------------------------------------- */

char *
rthunk_http_json_text (JsonNode *root)
{
  char *text = json_to_string (root, FALSE);

  json_node_unref (root);
  return text;
}

void
rthunk_http_add_string (JsonBuilder *builder,
                        const char  *member,
                        const char  *value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
}

void
rthunk_http_add_int (JsonBuilder *builder,
                     const char  *member,
                     gint64       value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

void
rthunk_http_add_double (JsonBuilder *builder,
                        const char  *member,
                        double       value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_double_value (builder, value);
}

void
rthunk_http_add_boolean (JsonBuilder *builder,
                         const char  *member,
                         gboolean     value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_boolean_value (builder, value);
}
