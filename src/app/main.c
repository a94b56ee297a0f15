/* main.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "hir-application.h"
#include "hir-cli.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(HirApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Verbs for scripts run before GTK is touched, so they work with no display (cron, ssh). */
  if (hir_cli_handles (argc, argv))
    return hir_cli_run (argc, argv);

  app = hir_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
