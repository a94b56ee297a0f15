/* hir-preferences-window.h: the application's preferences
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_PREFERENCES_WINDOW (hir_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (HirPreferencesWindow, hir_preferences_window, HIR, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

/* Reading (remote content, mark-as-read delay), sending (undo delay), notifications and
 * running in the background, bound to GSettings; and the accounts, each opening
 * HirAccountPreferences, with "Add Account…". */
HirPreferencesWindow *hir_preferences_window_new (GtkWindow *parent,
                                                  HirEngine *engine);

G_END_DECLS
