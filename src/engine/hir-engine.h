/* hir-engine.h: the one context object of Hirondelle's engine
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-account.h"
#include "hir-folder.h"
#include "hir-message.h"
#include "hir-message-body.h"
#include "hir-message-list.h"
#include "hir-outbox.h"
#include "hir-provider.h"
#include "hir-store.h"

G_BEGIN_DECLS

#define HIR_TYPE_ENGINE (hir_engine_get_type ())
G_DECLARE_FINAL_TYPE (HirEngine, hir_engine, HIR, ENGINE, GObject)

/* The engine owns the store, the accounts and one provider per account, and schedules
 * sync: a full/delta sync when an account starts, another when its provider reports a
 * remote change, a poll every few minutes where there is no push, retries with backoff
 * after a network failure (not after an authentication failure: that waits for a new
 * password). The GUI and the headless command line each make one and pass it around;
 * there is no global.
 *
 * Directories: config_dir holds accounts.conf; data_dir the store (hirondelle.db);
 * cache_dir the downloaded attachment blobs. Each is created if missing.
 *
 * Signals:
 *   sync-error (HirAccount *account, GError *error)   a sync failed; the account's status
 *                                                     says how (for the UI's banner)
 *   sync-finished (HirAccount *account)               a sync completed */
HirEngine      *hir_engine_new                      (const char          *config_dir,
                                                     const char          *data_dir,
                                                     const char          *cache_dir);
/* Default directories: $XDG_CONFIG_HOME/hirondelle etc. */
HirEngine      *hir_engine_new_default              (void);

/* Opens the store and loads accounts.conf. Does not connect anywhere. */
void            hir_engine_open_async               (HirEngine           *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_open_finish              (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
gboolean        hir_engine_open_sync                (HirEngine           *self,
                                                     GCancellable        *cancellable,
                                                     GError             **error);

HirStore       *hir_engine_get_store                (HirEngine           *self);
/* Drafts and the queue of messages to send; made by open (NULL before). It starts
 * sending what is due once hir_engine_start() ran and accounts come online. */
HirOutbox      *hir_engine_get_outbox               (HirEngine           *self);
/* A GListModel of HirAccount, in configuration order. */
GListModel     *hir_engine_get_accounts             (HirEngine           *self);
HirAccount     *hir_engine_find_account             (HirEngine           *self,
                                                     const char          *id_or_address);

/* Starts syncing every account (looks up passwords, makes providers, first sync, then
 * watches for changes). Call once, after open. */
void            hir_engine_start                    (HirEngine           *self);
/* Stops watching and cancels running syncs. */
void            hir_engine_stop                     (HirEngine           *self);

/* Sync one account now (a manual refresh, or "Retry" on an error banner). */
void            hir_engine_sync_account_async       (HirEngine           *self,
                                                     HirAccount          *account,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_sync_account_finish      (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

/* A live GListModel of HirFolder for an account, updated on folders-changed; the same
 * model is returned on every call for one account. */
GListModel     *hir_engine_get_folders              (HirEngine           *self,
                                                     HirAccount          *account);
/* A new paging list model for a folder. */
HirMessageList *hir_engine_open_folder              (HirEngine           *self,
                                                     HirFolder           *folder);

/* The body: from the store's cache, else from the server (then cached). */
void            hir_engine_load_body_async          (HirEngine           *self,
                                                     HirMessage          *message,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
HirMessageBody *hir_engine_load_body_finish         (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
/* An attachment's bytes: from the cache folder, else from the server (then cached). */
void            hir_engine_load_attachment_async    (HirEngine           *self,
                                                     HirMessage          *message,
                                                     HirAttachment       *attachment,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
GBytes         *hir_engine_load_attachment_finish   (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

/* Flags, moves and deletes change the store at once (the lists update), then go to the
 * server in the order they were made. When the server cannot be reached they are not
 * undone: they wait in the store (surviving a restart) and are replayed when the account
 * is back, before the next sync applies anything, so the server's older view does not
 * bring a message back. Each completes when the server took it or it was queued. */

/* Sets the flags; if the server refuses them, the store is put back and the error
 * returned. */
void            hir_engine_set_flags_async          (HirEngine           *self,
                                                     HirMessage          *message,
                                                     HirMessageFlags      flags,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_set_flags_finish         (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

/* Moves a message to another folder of its account. A move the server refuses (the
 * message or the folder is gone) returns the error; the next sync shows the message
 * where the server has it. */
void            hir_engine_move_async               (HirEngine           *self,
                                                     HirMessage          *message,
                                                     HirFolder           *folder,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_move_finish              (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
/* Moves a message to Trash; a message already in Trash (or of an account without one)
 * is removed from the server for good. */
void            hir_engine_delete_async             (HirEngine           *self,
                                                     HirMessage          *message,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_delete_finish            (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
/* Moves a message to the account's Archive folder; HIR_ERROR_NOT_FOUND without one. */
void            hir_engine_archive_async            (HirEngine           *self,
                                                     HirMessage          *message,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_archive_finish           (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

/* Adds an account: stores the password (keyring, unless the account has a password
 * command), verifies the login with one sync, then saves accounts.conf. Nothing is saved
 * if the login fails. */
void            hir_engine_add_account_async        (HirEngine           *self,
                                                     HirAccount          *account,
                                                     const char          *password,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_add_account_finish       (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
/* Stops syncing the account and forgets it: accounts.conf, its password in the keyring
 * (not a password command), its cached messages and attachment files. */
void            hir_engine_remove_account_async     (HirEngine           *self,
                                                     HirAccount          *account,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_remove_account_finish    (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
/* The provider of an account, or NULL before its first sync started (tests tune it:
 * poll interval, EventSource address). */
HirProvider    *hir_engine_get_provider             (HirEngine           *self,
                                                     HirAccount          *account);
/* After an authentication failure: store the new password and sync again. */
void            hir_engine_set_password_async       (HirEngine           *self,
                                                     HirAccount          *account,
                                                     const char          *password,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_engine_set_password_finish      (HirEngine           *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);

G_END_DECLS
