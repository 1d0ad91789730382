/* rthunk-provider.h — what every provider program shares: options, a
 * configuration file, the token, signals. */
#pragma once

#include "rthunk-version.h"    /* only <rthunk/rthunk.h> may be included */

#include <glib.h>

#include "rthunk-catalog.h"

G_BEGIN_DECLS

/**
 * RthunkProviderOptions:
 *
 * The command line and configuration of a provider program: `--port`,
 * `--name`, `--bind`, `--config`, `--token-file` and every limit of
 * #RthunkServerLimits, plus the provider's own options.
 *
 * Since: 0.1
 */
typedef struct _RthunkProviderOptions RthunkProviderOptions;

RTHUNK_AVAILABLE_IN_0_1
RthunkProviderOptions *rthunk_provider_options_new        (const char            *program,
                                                           const char            *summary);
RTHUNK_AVAILABLE_IN_0_1
void                   rthunk_provider_options_free       (RthunkProviderOptions *options);
RTHUNK_AVAILABLE_IN_0_1
void                   rthunk_provider_options_add_entries (RthunkProviderOptions *options,
                                                            const GOptionEntry    *entries);
RTHUNK_AVAILABLE_IN_0_1
gboolean               rthunk_provider_options_parse      (RthunkProviderOptions *options,
                                                           int                   *argc,
                                                           char                ***argv,
                                                           GError               **error);
RTHUNK_AVAILABLE_IN_0_1
GKeyFile              *rthunk_provider_options_get_config (RthunkProviderOptions *options);
RTHUNK_AVAILABLE_IN_0_1
const char            *rthunk_provider_options_get_name   (RthunkProviderOptions *options);
RTHUNK_AVAILABLE_IN_0_1
gboolean               rthunk_provider_options_add_state  (RthunkProviderOptions *options,
                                                           RthunkCatalog         *catalog,
                                                           GError               **error);
RTHUNK_AVAILABLE_IN_0_1
gboolean               rthunk_provider_options_add_files  (RthunkProviderOptions *options,
                                                           RthunkCatalog         *catalog,
                                                           GError               **error);
RTHUNK_AVAILABLE_IN_0_1
int                    rthunk_provider_run                (RthunkProviderOptions *options,
                                                           RthunkCatalog         *catalog);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkProviderOptions, rthunk_provider_options_free)

G_END_DECLS
