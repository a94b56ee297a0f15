/* hir-store.h: the local cache, SQLite on one worker thread
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"
#include "hir-folder.h"
#include "hir-message.h"
#include "hir-message-body.h"
#include "hir-store-changes.h"

G_BEGIN_DECLS

#define HIR_TYPE_STORE (hir_store_get_type ())
G_DECLARE_FINAL_TYPE (HirStore, hir_store, HIR, STORE, GObject)

/* Every call below runs its SQL on the store's one worker thread and completes on the
 * thread-default main context of the caller. Writes run in a transaction. Results are
 * new objects owned by the caller. Errors are HIR_ERROR_STORAGE with SQLite's text.
 *
 * Signals (emitted on the main context the store was opened from, after a commit):
 *   folders-changed  (const char *account_id)        folder list or counts changed
 *   messages-changed (gint64 folder_id)               rows added, removed or reordered
 *   message-updated  (HirMessage *message)            one row's summary/flags changed in
 *                                                     place (same position in every list)
 */

/* @path: the database file; ":memory:" is allowed for tests. */
HirStore   *hir_store_new                    (const char           *path);
void        hir_store_open_async             (HirStore             *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    hir_store_open_finish            (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);
/* Blocking open for the headless command line (never from the GUI's main thread). */
gboolean    hir_store_open_sync              (HirStore             *self,
                                              GCancellable         *cancellable,
                                              GError              **error);

/* Applies one provider sync step atomically: folders, messages, memberships, flags,
 * removals and the new sync state all land in one transaction or not at all. */
void        hir_store_apply_async            (HirStore             *self,
                                              HirStoreChanges      *changes,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    hir_store_apply_finish           (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Sync state value for (account, key), e.g. ("alice@x", "jmap:Email"); NULL if unset. */
void        hir_store_get_state_async        (HirStore             *self,
                                              const char           *account_id,
                                              const char           *key,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
char       *hir_store_get_state_finish       (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* All folders of an account (HirFolder), roles first in role order, then by name. */
void        hir_store_list_folders_async     (HirStore             *self,
                                              const char           *account_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GPtrArray  *hir_store_list_folders_finish    (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Number of messages in a folder. */
void        hir_store_count_messages_async   (HirStore             *self,
                                              gint64                folder_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
guint       hir_store_count_messages_finish  (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Rows [offset, offset + limit) of a folder, newest first (HirMessage, loaded = TRUE). */
void        hir_store_load_messages_async    (HirStore             *self,
                                              gint64                folder_id,
                                              guint                 offset,
                                              guint                 limit,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GPtrArray  *hir_store_load_messages_finish   (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* One message by local id, or by (account, remote id); HIR_ERROR_NOT_FOUND if absent. */
void        hir_store_get_message_async      (HirStore             *self,
                                              gint64                message_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
HirMessage *hir_store_get_message_finish     (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void        hir_store_find_message_async     (HirStore             *self,
                                              const char           *account_id,
                                              const char           *remote_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
HirMessage *hir_store_find_message_finish    (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Local flag change (applied at once, before the server hears of it); emits
 * message-updated and folders-changed (unread counts). */
void        hir_store_set_flags_async        (HirStore             *self,
                                              gint64                message_id,
                                              HirMessageFlags       flags,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    hir_store_set_flags_finish       (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* The cached body of a message, or NULL (no error) when it was never downloaded. */
void            hir_store_load_body_async    (HirStore             *self,
                                              gint64                message_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
HirMessageBody *hir_store_load_body_finish   (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void            hir_store_save_body_async    (HirStore             *self,
                                              gint64                message_id,
                                              HirMessageBody       *body,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean        hir_store_save_body_finish   (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Senders whose remote content the user always allows. */
void        hir_store_set_sender_trusted_async  (HirStore          *self,
                                                 const char        *address,
                                                 gboolean           trusted,
                                                 GCancellable      *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer           user_data);
gboolean    hir_store_set_sender_trusted_finish (HirStore          *self,
                                                 GAsyncResult      *result,
                                                 GError           **error);
void        hir_store_is_sender_trusted_async   (HirStore          *self,
                                                 const char        *address,
                                                 GCancellable      *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer           user_data);
gboolean    hir_store_is_sender_trusted_finish  (HirStore          *self,
                                                 GAsyncResult      *result,
                                                 GError           **error);

/* A generic hook for engine parts that own their own tables (the outbox): runs @func
 * with the connection on the worker thread, inside one transaction (BEGIN IMMEDIATE …
 * COMMIT; rolled back when @func fails), and completes on the caller's context. @func
 * reads and writes @data, which the caller keeps alive until the callback. Rather than
 * a method here for every query of every part, each part keeps its SQL beside its code;
 * the store still owns the thread, the connection and the schema migrations. */
struct sqlite3;
typedef gboolean (*HirStoreRunFunc)          (struct sqlite3       *db,
                                              gpointer              data,
                                              GError              **error);
void        hir_store_run_async              (HirStore             *self,
                                              HirStoreRunFunc       func,
                                              gpointer              data,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    hir_store_run_finish             (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Forgets everything of an account (removal, or a full resync after STATE_MISMATCH). */
void        hir_store_clear_account_async    (HirStore             *self,
                                              const char           *account_id,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean    hir_store_clear_account_finish   (HirStore             *self,
                                              GAsyncResult         *result,
                                              GError              **error);

G_END_DECLS
