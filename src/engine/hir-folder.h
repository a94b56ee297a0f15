/* hir-folder.h: a folder (JMAP Mailbox, IMAP mailbox)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"

G_BEGIN_DECLS

#define HIR_TYPE_FOLDER (hir_folder_get_type ())
G_DECLARE_FINAL_TYPE (HirFolder, hir_folder, HIR, FOLDER, GObject)

/* Properties:
 *   id               int64   local id in the store (0 until stored)
 *   account-id       string
 *   remote-id        string  JMAP Mailbox id, or the IMAP mailbox name
 *   parent-remote-id string  parent's remote id, or NULL at the top
 *   name             string  display name (last path component)
 *   role             HirFolderRole
 *   sort-order       uint    server's sortOrder; roles sort first in the UI
 *   total-count      uint    messages in the folder (maintained by the store)
 *   unread-count     uint    unseen messages (maintained by the store)
 *   icon-name        string  read-only: symbolic icon for the role
 */
HirFolder     *hir_folder_new                  (const char     *account_id,
                                                const char     *remote_id,
                                                const char     *name,
                                                HirFolderRole   role);

gint64         hir_folder_get_id               (HirFolder      *self);
void           hir_folder_set_id               (HirFolder      *self,
                                                gint64          id);
const char    *hir_folder_get_account_id       (HirFolder      *self);
const char    *hir_folder_get_remote_id        (HirFolder      *self);
const char    *hir_folder_get_parent_remote_id (HirFolder      *self);
void           hir_folder_set_parent_remote_id (HirFolder      *self,
                                                const char     *parent_remote_id);
const char    *hir_folder_get_name             (HirFolder      *self);
void           hir_folder_set_name             (HirFolder      *self,
                                                const char     *name);
HirFolderRole  hir_folder_get_role             (HirFolder      *self);
void           hir_folder_set_role             (HirFolder      *self,
                                                HirFolderRole   role);
guint          hir_folder_get_sort_order       (HirFolder      *self);
void           hir_folder_set_sort_order       (HirFolder      *self,
                                                guint           sort_order);
guint          hir_folder_get_total_count      (HirFolder      *self);
void           hir_folder_set_total_count      (HirFolder      *self,
                                                guint           count);
guint          hir_folder_get_unread_count     (HirFolder      *self);
void           hir_folder_set_unread_count     (HirFolder      *self,
                                                guint           count);
const char    *hir_folder_get_icon_name        (HirFolder      *self);
/* Copies every stored field of @other into @self (same folder, newer data), notifying
 * only what changed; used to refresh live objects without replacing them. */
void           hir_folder_update_from          (HirFolder      *self,
                                                HirFolder      *other);
/* Role from a JMAP role string ("inbox", "sent"…) or an IMAP SPECIAL-USE ("\\Sent"). */
HirFolderRole  hir_folder_role_from_string     (const char     *role);
const char    *hir_folder_role_to_string       (HirFolderRole   role);

G_END_DECLS
