/* fuzz-log.h — every fuzz target: a GLib warning or critical is a crash
 *
 * GLib makes a fatal log message raise SIGTRAP (G_BREAKPOINT), which
 * libFuzzer does not treat as a crash: the input would not be saved, and
 * g_log_set_always_fatal() alone turns a warning into a silent stop. A
 * log writer that abort()s on every warning, critical or error (GLib's
 * own too, e.g. "GError set over the top of a previous GError") makes
 * libFuzzer report it and save the input.
 */
#pragma once

#include <stdlib.h>

#include <glib.h>

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  gboolean quiet = GPOINTER_TO_INT (user_data);

  if (!quiet || (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)))
    g_log_writer_standard_streams (level, fields, n_fields, NULL);
  if (level & (G_LOG_FLAG_FATAL | G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

/* Call once, from LLVMFuzzerInitialize(). */
static inline void
fuzz_abort_on_warnings (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
}

/* The same, for a target whose code logs a message on every input (a
 * dropped connection): messages, info and debug output are not written. */
static inline void
fuzz_abort_on_warnings_quietly (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_log_set_writer_func (fuzz_log_writer, GINT_TO_POINTER (TRUE), NULL);
}
