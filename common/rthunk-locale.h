/* rthunk-locale.h — the locale and message catalog of the rthunk programs
 *
 * Shared by rthunk, rthunkd and rthunkd-sqlite (compiled into each; not
 * part of the library).
 */
#pragma once

void rthunk_program_init_locale (void);
