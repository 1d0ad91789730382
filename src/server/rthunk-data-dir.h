/* rthunk-data-dir.h — the files of a data directory, read where they lie
 * (private, never installed)
 *
 * `rthunkd --data-dir DIR` publishes `read-text`, `list-files`,
 * `csv-read` (provided: typed by the file's header and first rows) and
 * `csv-read-text` (flag io) and the capability `files`. Paths are relative to
 * DIR and stay inside it: no absolute path, no `..`, no symbolic link
 * followed; what is read is charged to the evaluation and the server's
 * memory budget before it is read.
 */
#pragma once

#include <glib.h>

#include "rthunk-catalog.h"

G_BEGIN_DECLS

typedef struct _RthunkDataDir RthunkDataDir;

/* Opens the directory at @path (it must be one), for the life of the
 * server: what it names later does not change what is served. */
RthunkDataDir *rthunk_data_dir_open   (const char     *path,
                                       GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RthunkDataDir *rthunk_data_dir_ref    (RthunkDataDir  *dir);
void           rthunk_data_dir_unref  (RthunkDataDir  *dir);
/* Adds read-text, list-files, csv-read and csv-read-text and the
 * capability `files`. */
void           rthunk_data_dir_add_to (RthunkDataDir  *dir,
                                       RthunkCatalog  *catalog);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RthunkDataDir, rthunk_data_dir_unref)

G_END_DECLS
