/* hir-message-list.h: a folder's messages as a GListModel that pages from the store
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-store.h"

G_BEGIN_DECLS

#define HIR_TYPE_MESSAGE_LIST (hir_message_list_get_type ())
G_DECLARE_FINAL_TYPE (HirMessageList, hir_message_list, HIR, MESSAGE_LIST, GObject)

/* A GListModel of HirMessage, newest first. It knows the row count from the store and
 * loads rows in pages only when asked for them: get_item() on a row not yet loaded
 * returns a placeholder (loaded = FALSE) that is filled in place when its page arrives.
 * Only a bounded number of pages is kept, so a folder of a million messages costs what
 * the screen shows. Follows the store's messages-changed / message-updated signals.
 *
 * Properties: folder-id (int64, construct-only), store (construct-only),
 *             n-items (uint), loading (boolean: the count is not known yet). */
HirMessageList *hir_message_list_new            (HirStore       *store,
                                                 gint64          folder_id);
gint64          hir_message_list_get_folder_id  (HirMessageList *self);
gboolean        hir_message_list_get_loading    (HirMessageList *self);
/* Position of a message by local id if it is in a loaded page, else G_MAXUINT. */
guint           hir_message_list_find           (HirMessageList *self,
                                                 gint64          message_id);

G_END_DECLS
