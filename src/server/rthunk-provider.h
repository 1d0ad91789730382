/* rthunk-provider.h — what every provider program shares: options, a
 * configuration file, the token, signals. */
#pragma once

#if !defined(__RTHUNK_INSIDE__) && !defined(RTHUNK_COMPILATION)
#error "Only <rthunk/rthunk.h> can be included directly."
#endif

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

RthunkProviderOptions *rthunk_provider_options_new        (const char            *program,
                                                           const char            *summary);
void                   rthunk_provider_options_free       (RthunkProviderOptions *options);
void                   rthunk_provider_options_add_entries (RthunkProviderOptions *options,
                                                            const GOptionEntry    *entries);
gboolean               rthunk_provider_options_parse      (RthunkProviderOptions *options,
                                                           int                   *argc,
                                                           char                ***argv,
                                                           GError               **error);
GKeyFile              *rthunk_provider_options_get_config (RthunkProviderOptions *options);
const char            *rthunk_provider_options_get_name   (RthunkProviderOptions *options);
int                    rthunk_provider_run                (RthunkProviderOptions *options,
                                                           RthunkCatalog         *catalog);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkProviderOptions, rthunk_provider_options_free)

G_END_DECLS
