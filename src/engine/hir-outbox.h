/* hir-outbox.h: drafts and the durable queue of messages to send
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"
#include "hir-outgoing.h"

G_BEGIN_DECLS

#define HIR_TYPE_OUTBOX (hir_outbox_get_type ())
G_DECLARE_FINAL_TYPE (HirOutbox, hir_outbox, HIR, OUTBOX, GObject)

/* The engine makes one (hir_engine_get_outbox) when it opens. Every message it is given
 * is written to the store — fields, attachment bytes and, once queued, the built MIME —
 * before any byte goes to a server, and leaves the queue only when the server accepted
 * it and it is filed in Sent. After a crash, an offline period or a 4xx answer it is
 * sent again from where it stopped, with the same bytes and Message-ID, so the recipient
 * gets one copy.
 *
 * The transport is the account's: a JMAP account submits with EmailSubmission, an IMAP
 * account with SMTP (its smtp-* settings) and then files a copy in Sent by APPEND.
 *
 * States: DRAFT (saved, not queued) → QUEUED (waiting for send-at, the network or a
 * retry) → SENDING → SENT; FAILED when the server refused it for good (5xx: unknown
 * recipient, too big): error-message has the server's text and the message can be
 * loaded, changed and queued again, or retried as it is.
 *
 * Exactly once, and what is left: a step marker is committed before each step (queued,
 * uploading, submitted, filing, filed) and a restart resumes from it. JMAP resumes are
 * checked against the server (the copy made in Drafts, its EmailSubmissions, Sent), and
 * filing in Sent over IMAP searches Sent for the Message-ID before APPEND. SMTP has one
 * window no client can close: the server's 250 to DATA arrived but the "submitted"
 * marker was not yet committed (a crash in between, or a connection lost while the 250
 * travels). The marker is written immediately after the 250, so the window is one SQLite
 * commit wide; a crash inside it sends the message again, with the same Message-ID
 * (which lets the recipient's client fold the two).
 *
 * Bcc recipients get the message through the envelope only: the bytes sent, and the
 * copy filed in Sent, carry no Bcc header. Drafts keep it.
 *
 * Signals (on the main context the engine was opened from):
 *   state-changed (gint64 id, HirOutgoingState state, const char *error_message)
 *     error_message is NULL unless state is FAILED, or QUEUED after a temporary failure
 *     (then it says why it waits). */

/* Saves a draft: in the store (assigning hir_outgoing_get_id() the first time), then in
 * the account's Drafts folder on the server, replacing the previous server copy
 * (draft-remote-id). The local save is what completes the call: when the server cannot
 * be reached the draft is safe locally and the server copy is updated on a later save.
 * Returns the id. */
void              hir_outbox_save_draft_async      (HirOutbox            *self,
                                                    HirOutgoing          *outgoing,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gint64            hir_outbox_save_draft_finish     (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* Deletes a draft locally and its server copy in Drafts. */
void              hir_outbox_discard_draft_async   (HirOutbox            *self,
                                                    gint64                id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          hir_outbox_discard_draft_finish  (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* Drafts of an account (or of all accounts when @account_id is NULL), newest first:
 * a GPtrArray of HirOutgoing without attachment bytes (use load for those). */
void              hir_outbox_list_drafts_async     (HirOutbox            *self,
                                                    const char           *account_id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray        *hir_outbox_list_drafts_finish    (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* One stored message (draft or queued/failed/sent), attachments and all;
 * HIR_ERROR_NOT_FOUND when there is none. */
void              hir_outbox_load_async            (HirOutbox            *self,
                                                    gint64                id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
HirOutgoing      *hir_outbox_load_finish           (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* Queues @outgoing to go in @delay_seconds (0: now; a delay lets the user undo): it is
 * stored first (a saved draft becomes the queued message, same id), its MIME built and
 * stored, state QUEUED, send-at now + delay. Returns the id. Errors: HIR_ERROR_CONFIG
 * for no recipients, an unknown account or a malformed address. */
void              hir_outbox_queue_async           (HirOutbox            *self,
                                                    HirOutgoing          *outgoing,
                                                    guint                 delay_seconds,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gint64            hir_outbox_queue_finish          (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* Undo send: takes a QUEUED (or FAILED) message back as a DRAFT and returns it.
 * HIR_ERROR_FAILED ("already being sent") once sending started. */
void              hir_outbox_cancel_async          (HirOutbox            *self,
                                                    gint64                id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
HirOutgoing      *hir_outbox_cancel_finish         (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* Sends a FAILED or waiting QUEUED message now. */
void              hir_outbox_retry_async           (HirOutbox            *self,
                                                    gint64                id,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
gboolean          hir_outbox_retry_finish          (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* The state of a message the outbox knows (queued, sending, failed, sent in this run,
 * or a draft it stored); FALSE for an unknown id. @error_message: borrowed, may be
 * NULL. Answers from memory, without the store. */
gboolean          hir_outbox_get_state             (HirOutbox            *self,
                                                    gint64                id,
                                                    HirOutgoingState     *state,
                                                    const char          **error_message);
/* Messages not yet sent (QUEUED, SENDING, FAILED), oldest first: a GPtrArray of
 * HirOutgoing without attachment bytes. */
void              hir_outbox_list_async            (HirOutbox            *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
GPtrArray        *hir_outbox_list_finish           (HirOutbox            *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

G_END_DECLS
