/* hir-imap-provider.h: HirProvider over IMAP4rev1 (+CONDSTORE/QRESYNC, IDLE)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hir-imap-client.h"
#include "hir-provider.h"

G_BEGIN_DECLS

#define HIR_TYPE_IMAP_PROVIDER (hir_imap_provider_get_type ())
G_DECLARE_FINAL_TYPE (HirImapProvider, hir_imap_provider, HIR, IMAP_PROVIDER, GObject)

/* Sync is LIST (SPECIAL-USE, SUBSCRIBED) and STATUS of every folder, pipelined; then, for
 * each subscribed folder whose STATUS differs from the stored state, SELECT with QRESYNC
 * (VANISHED and changed FLAGS since the stored HIGHESTMODSEQ) or, without it, a UID FETCH
 * 1:* (FLAGS) compared with the store; new messages' headers come newest first in
 * pipelined chunks, each chunk one store transaction; the folder's UIDVALIDITY,
 * HIGHESTMODSEQ and UIDNEXT go with the last one.
 *
 * Connections (at most three): one for sync, one for bodies, attachments and flags, and
 * one that IDLEs on the INBOX while watching. Other folders are polled.
 *
 * Properties, besides account and store:
 *   poll-interval     uint  seconds between polls of the other folders (default 300)
 *   idle-interval     uint  seconds before IDLE is renewed (default 25 min, RFC 2177)
 *   watch-mode        string read-only: "none", "connecting", "idle", "poll"
 *   fetch-commands    uint  read-only: UID FETCH commands that downloaded headers
 *   messages-fetched  uint  read-only: message summaries downloaded by sync
 *   selects           uint  read-only: SELECT commands sent by sync
 *   ignored-capabilities strv capabilities to act as if the server lacked (tests, broken
 *                          servers); see hir_imap_client_set_ignored_capabilities() */
HirImapProvider *hir_imap_provider_new                (HirAccount      *account,
                                                       HirStore        *store,
                                                       const char      *password);
const char      *hir_imap_provider_get_watch_mode     (HirImapProvider *self);
guint            hir_imap_provider_get_fetch_commands (HirImapProvider *self);
guint            hir_imap_provider_get_messages_fetched (HirImapProvider *self);

/* For the outbox: on the operations connection. */
void             hir_imap_provider_append_async       (HirImapProvider *self,
                                                       const char      *mailbox,
                                                       const char      *flags,
                                                       GBytes          *message,
                                                       GCancellable    *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer         user_data);
/* The remote id ("mailbox\nuidvalidity\nuid") of the new copy, or NULL without an error
 * when the server does not say (no UIDPLUS). */
char            *hir_imap_provider_append_finish      (HirImapProvider *self,
                                                       GAsyncResult    *result,
                                                       GError         **error);
/* Removes one message from the server for good (\Deleted + UID EXPUNGE of that UID
 * only): a draft's previous copy. HIR_ERROR_SERVER without UIDPLUS. */
void             hir_imap_provider_delete_async       (HirImapProvider *self,
                                                       const char      *remote_id,
                                                       GCancellable    *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer         user_data);
gboolean         hir_imap_provider_delete_finish      (HirImapProvider *self,
                                                       GAsyncResult    *result,
                                                       GError         **error);
void             hir_imap_provider_move_async         (HirImapProvider *self,
                                                       HirMessage      *message,
                                                       const char      *destination,
                                                       GCancellable    *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer         user_data);
gboolean         hir_imap_provider_move_finish        (HirImapProvider *self,
                                                       GAsyncResult    *result,
                                                       GError         **error);

G_END_DECLS
