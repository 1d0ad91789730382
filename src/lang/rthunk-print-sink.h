/* rthunk-print-sink.h — where `print` writes on a server: bounded, never
 * blocking the evaluation.  Private. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What one evaluation may print through the sink, unless set otherwise
 * (rthunkd --max-print-bytes); the rest is dropped. */
#define RTHUNK_PRINT_DEFAULT_MAX_BYTES (64u * 1024u)
/* What the sink holds before the writer has written it, unless set
 * otherwise (rthunkd --print-buffer-bytes); beyond, dropped. */
#define RTHUNK_PRINT_DEFAULT_BUFFER_BYTES (1024u * 1024u)

/* The bounds of the sink, which is one per process: the last server
 * started sets them. */
void     rthunk_print_sink_set_limits (guint64 max_per_evaluation,
                                       guint64 buffer_bytes);
/* What one evaluation may print. */
guint64  rthunk_print_sink_get_max_per_evaluation (void);

/* Queues @len bytes for standard output; FALSE (and nothing queued) when
 * the buffer is full: they are dropped and counted. Never blocks on the
 * output: a writer thread writes, however slowly it is read. */
gboolean rthunk_print_sink_write   (const char *data,
                                    gsize       len);
/* Bytes dropped so far, the buffer full or an evaluation over its share. */
guint64  rthunk_print_sink_dropped (void);
void     rthunk_print_sink_count_dropped (gsize len);

G_END_DECLS
