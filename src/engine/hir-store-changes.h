/* hir-store-changes.h: one atomic batch of changes from a provider
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "hir-folder.h"
#include "hir-message.h"

G_BEGIN_DECLS

/* A provider collects what one sync step learned and hands it to hir_store_apply_async(),
 * which applies all of it in one transaction, together with the new sync state, so that
 * a crash between steps never leaves a state string that claims changes not stored.
 * Everything is keyed by remote ids; the store maps them to local ids. */
typedef struct _HirStoreChanges HirStoreChanges;

#define HIR_TYPE_STORE_CHANGES (hir_store_changes_get_type ())
GType             hir_store_changes_get_type           (void) G_GNUC_CONST;

HirStoreChanges  *hir_store_changes_new                (const char      *account_id);
HirStoreChanges  *hir_store_changes_ref                (HirStoreChanges *self);
void              hir_store_changes_unref              (HirStoreChanges *self);
const char       *hir_store_changes_get_account_id     (HirStoreChanges *self);

/* Folder created or changed (keyed by remote id; counts are the store's own). */
void              hir_store_changes_upsert_folder      (HirStoreChanges *self,
                                                        HirFolder       *folder);
/* Folder gone on the server: its memberships go too; messages left in no folder are
 * removed. */
void              hir_store_changes_remove_folder      (HirStoreChanges *self,
                                                        const char      *remote_id);
/* Message created or changed: summary, flags and the folders it is in (remote ids,
 * NULL-terminated; replaces the previous membership). */
void              hir_store_changes_upsert_message     (HirStoreChanges *self,
                                                        HirMessage      *message,
                                                        const char * const *folder_remote_ids);
/* Only flags and membership changed (JMAP keywords/mailboxIds update): cheaper than an
 * upsert; @folder_remote_ids may be NULL to leave the membership alone. */
void              hir_store_changes_update_message     (HirStoreChanges *self,
                                                        const char      *remote_id,
                                                        HirMessageFlags  flags,
                                                        const char * const *folder_remote_ids);
void              hir_store_changes_remove_message     (HirStoreChanges *self,
                                                        const char      *remote_id);
/* Sync state to write in the same transaction, e.g. ("jmap:Email", "s42"). */
void              hir_store_changes_set_state          (HirStoreChanges *self,
                                                        const char      *key,
                                                        const char      *value);
gboolean          hir_store_changes_is_empty           (HirStoreChanges *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirStoreChanges, hir_store_changes_unref)

G_END_DECLS
