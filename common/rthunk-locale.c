/* rthunk-locale.c — the locale and message catalog of the rthunk programs
 *
 * Every program starts with the locale of its environment and the "rthunk"
 * message catalog, which holds the messages of the programs and of the
 * library alike. The catalog is read from LOCALEDIR (share/locale under
 * the prefix), or from $RTHUNK_LOCALEDIR when that is set: a directory laid
 * out the same way (LANG/LC_MESSAGES/rthunk.mo), such as the one the tests
 * build from po/ to run the programs from the build tree.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "rthunk-locale.h"

/**
 * rthunk_program_init_locale:
 *
 * Sets the locale from the environment and makes the "rthunk" catalog,
 * from $RTHUNK_LOCALEDIR or else LOCALEDIR, the one _() reads, in UTF-8.
 * Call it first in main(), before any message is made.
 */
void
rthunk_program_init_locale (void)
{
  const char *dir = g_getenv ("RTHUNK_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
