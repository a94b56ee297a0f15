/* hir-account-preferences.h: one account's settings, and removing it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_ACCOUNT_PREFERENCES (hir_account_preferences_get_type ())
G_DECLARE_FINAL_TYPE (HirAccountPreferences, hir_account_preferences, HIR, ACCOUNT_PREFERENCES,
                      AdwPreferencesWindow)

/* The display name (applied and saved), the servers as configured (with the pinned
 * certificate, if any), and "Remove Account…", which asks first, then deletes the cached
 * mail and the stored password (hir_engine_remove_account_async). */
HirAccountPreferences *hir_account_preferences_new (GtkWindow  *parent,
                                                    HirEngine  *engine,
                                                    HirAccount *account);

/* Writes accounts.conf after a change to an account's settings (display name, trusted
 * certificate). The engine saves on add and remove only; this saves the same file. */
gboolean hir_account_preferences_save_accounts     (HirEngine  *engine,
                                                    GError    **error);

G_END_DECLS
