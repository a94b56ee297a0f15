/* hir-provider.h: the interface every message store protocol implements
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
#include "hir-store.h"

G_BEGIN_DECLS

#define HIR_TYPE_PROVIDER (hir_provider_get_type ())
G_DECLARE_INTERFACE (HirProvider, hir_provider, HIR, PROVIDER, GObject)

/* A provider connects one account to its server and writes what it learns into the store
 * (hir_store_apply_async with HirStoreChanges). Everything above this interface — store,
 * list models, window, reader — is shared by JMAP and IMAP. Providers are made by the
 * engine with the account, the store and the password, and own no UI.
 *
 * Signals:
 *   remote-changed ()  the server announced a change (push, IDLE, EventSource): the
 *                      engine answers with a sync.
 * Properties: account (HirAccount, construct-only), store (HirStore, construct-only). */
struct _HirProviderInterface
{
  GTypeInterface parent_iface;

  /* Brings the store up to date: folders, then message summaries of every folder, as a
   * delta from the stored sync state when there is one. Sets the account's status. */
  void            (*sync_async)             (HirProvider         *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  gboolean        (*sync_finish)            (HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  void            (*fetch_body_async)       (HirProvider         *self,
                                             HirMessage          *message,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  HirMessageBody *(*fetch_body_finish)      (HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  /* The decoded bytes of one attachment (or inline part). */
  void            (*fetch_attachment_async) (HirProvider         *self,
                                             HirMessage          *message,
                                             HirAttachment       *attachment,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  GBytes         *(*fetch_attachment_finish)(HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  /* Sets the message's flags on the server to exactly @flags. */
  void            (*set_flags_async)        (HirProvider         *self,
                                             HirMessage          *message,
                                             HirMessageFlags      flags,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  gboolean        (*set_flags_finish)       (HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  /* Moves the message on the server to @destination only (JMAP: mailboxIds replaced;
   * IMAP: UID MOVE). HIR_ERROR_NOT_FOUND when the message or the folder is gone. */
  void            (*move_async)             (HirProvider         *self,
                                             HirMessage          *message,
                                             HirFolder           *destination,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  gboolean        (*move_finish)            (HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  /* Removes the message from the server for good (JMAP: Email/set destroy; IMAP: \Deleted
   * and UID EXPUNGE of that one UID). Moving to Trash first is the engine's business
   * (hir_engine_delete_async). A message moved out of Trash since is kept: JMAP checks
   * its mailboxes first (HIR_ERROR_SERVER), an IMAP remote id names its Trash UID. */
  void            (*delete_async)           (HirProvider         *self,
                                             HirMessage          *message,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
  gboolean        (*delete_finish)          (HirProvider         *self,
                                             GAsyncResult        *result,
                                             GError             **error);

  /* Starts or stops listening for server changes (push, IDLE, or a poll timer). */
  void            (*start_watching)         (HirProvider         *self);
  void            (*stop_watching)          (HirProvider         *self);

  /* Replaces the password after the user typed a new one. */
  void            (*set_password)           (HirProvider         *self,
                                             const char          *password);
};

HirAccount     *hir_provider_get_account            (HirProvider         *self);
HirStore       *hir_provider_get_store              (HirProvider         *self);

void            hir_provider_sync_async             (HirProvider         *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_provider_sync_finish            (HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_fetch_body_async       (HirProvider         *self,
                                                     HirMessage          *message,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
HirMessageBody *hir_provider_fetch_body_finish      (HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_fetch_attachment_async (HirProvider         *self,
                                                     HirMessage          *message,
                                                     HirAttachment       *attachment,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
GBytes         *hir_provider_fetch_attachment_finish(HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_set_flags_async        (HirProvider         *self,
                                                     HirMessage          *message,
                                                     HirMessageFlags      flags,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_provider_set_flags_finish       (HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_move_async             (HirProvider         *self,
                                                     HirMessage          *message,
                                                     HirFolder           *destination,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_provider_move_finish            (HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_delete_async           (HirProvider         *self,
                                                     HirMessage          *message,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean        hir_provider_delete_finish          (HirProvider         *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
void            hir_provider_start_watching         (HirProvider         *self);
void            hir_provider_stop_watching          (HirProvider         *self);
void            hir_provider_set_password           (HirProvider         *self,
                                                     const char          *password);
/* For implementations: emits remote-changed. */
void            hir_provider_emit_remote_changed    (HirProvider         *self);

G_END_DECLS
