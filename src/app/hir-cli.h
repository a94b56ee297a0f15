/* hir-cli.h: the command-line verbs that need no window
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when argv[1] is a verb handled without GTK ("account", later "send", "list"…). */
gboolean hir_cli_handles (int    argc,
                          char **argv);
/* Runs the verb with an in-process engine; returns the process exit status. Prints clear
 * messages on stderr, never a password. Works without a display or a session bus. */
int      hir_cli_run     (int    argc,
                          char **argv);

G_END_DECLS
