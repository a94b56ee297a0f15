/* hir-window.h: the main window, accounts and folders | messages | reader
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"
#include "hir-reader.h"

G_BEGIN_DECLS

#define HIR_TYPE_WINDOW (hir_window_get_type ())
G_DECLARE_FINAL_TYPE (HirWindow, hir_window, HIR, WINDOW, AdwApplicationWindow)

/* Actions (installed on the class, shortcuts beside them):
 *   win.refresh              F5, Ctrl+R  check every account for mail now
 *   win.retry                            sync the shown account again (error banner)
 *   win.enter-password                   ask for a new password after an auth failure
 *   win.search               Ctrl+F      reserved for search (disabled for now)
 *   win.back                 Alt+Left    back to the previous pane of a folded window
 *   message.toggle-flag      S           star or unstar the shown message
 *   message.toggle-read      Ctrl+U      mark the shown message read or unread
 * The message list's own list.activate-item (Enter, double click) opens a message. */
HirWindow  *hir_window_new              (AdwApplication *application,
                                         HirEngine      *engine);
HirEngine  *hir_window_get_engine       (HirWindow      *self);
/* The folder whose messages are listed, or NULL. */
HirFolder  *hir_window_get_folder       (HirWindow      *self);
/* Shows @folder's messages (selects it in the sidebar). */
void        hir_window_select_folder    (HirWindow      *self,
                                         HirFolder      *folder);
/* The message list's model (a GtkSingleSelection over the folder's HirMessageList). */
GtkSingleSelection *hir_window_get_message_selection (HirWindow *self);
HirReader  *hir_window_get_reader       (HirWindow      *self);
/* Makes the window show an error instead of mail (the store could not be opened). */
void        hir_window_show_error       (HirWindow      *self,
                                         const char     *message);

G_END_DECLS
