/* hir-outgoing.h: a message being written, or waiting in the outbox to go
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gmime/gmime.h>

#include "hir-account.h"
#include "hir-enums.h"
#include "hir-message.h"
#include "hir-message-body.h"
#include "hir-outgoing-attachment.h"

G_BEGIN_DECLS

#define HIR_TYPE_OUTGOING (hir_outgoing_get_type ())
G_DECLARE_FINAL_TYPE (HirOutgoing, hir_outgoing, HIR, OUTGOING, GObject)

/* What the composer edits and the outbox stores and sends. Plain data: nothing here
 * touches the network or the store (see HirOutbox).
 *
 * Properties (read-write, notify only on change):
 *   id               int64   local id in the store; 0 until first saved or queued
 *   account-id       string  the HirAccount it goes out through
 *   from             string  RFC 5322 address: "Alice <alice@example.test>"
 *   to, cc, bcc      string  address lists: "Bob <bob@x>, carol@y"; NULL or "" for none
 *   subject          string
 *   text             string  the plain-text body (always present; "" when empty)
 *   html             string  the rich body, or NULL for plain text only
 *   in-reply-to      string  "<id@x>" or NULL
 *   references       string  "<a@x> <b@y>" or NULL
 *   message-id       string  "<random@domain-of-from>", made at creation and kept through
 *                            saves, queueing and retries, so a resend after a crash is
 *                            recognisably the same message
 *   state            HirOutgoingState
 *   error-message    string  why the last attempt failed (the server's text), or NULL
 *   send-at          int64   Unix time: a queued message waits until then (undo send)
 *   draft-remote-id  string  the server's id of the copy in Drafts (JMAP Email id, IMAP
 *                            "UIDVALIDITY:UID"), or NULL; the outbox replaces it on save
 *   attachments      GListModel of HirOutgoingAttachment (read-only; the same object
 *                    for the life of the message) */
HirOutgoing      *hir_outgoing_new                 (HirAccount       *account);
/* A reply to @message, whose body is @body: To (Reply-To, else From; reply-all adds the
 * other To and Cc, never the user's own address), From (the account address the
 * original was sent to, else the account's), "Re: " once, In-Reply-To, References, and
 * the original quoted under an attribution line in text and HTML. */
HirOutgoing      *hir_outgoing_new_reply           (HirAccount       *account,
                                                    HirMessage       *message,
                                                    HirMessageBody   *body,
                                                    gboolean          reply_all);
/* A forward of @message: "Fwd: " once, References to the original. Inline: the
 * original's headers and text in the body. @as_attachment: the original as a
 * message/rfc822 attachment made of @original_rfc822 (required then). The original's
 * own attachments are not copied here: the UI adds those it loaded (by bytes). */
HirOutgoing      *hir_outgoing_new_forward         (HirAccount       *account,
                                                    HirMessage       *message,
                                                    HirMessageBody   *body,
                                                    gboolean          as_attachment,
                                                    GBytes           *original_rfc822);

/* "Re: x" for "x", "RE: Re[2]: x", "Aw: x" …; "Fwd: x" likewise (prefixes stripped,
 * case-insensitively, then one added). */
char             *hir_outgoing_make_reply_subject  (const char       *subject);
char             *hir_outgoing_make_forward_subject(const char       *subject);

gint64            hir_outgoing_get_id              (HirOutgoing      *self);
void              hir_outgoing_set_id              (HirOutgoing      *self,
                                                    gint64            id);
const char       *hir_outgoing_get_account_id      (HirOutgoing      *self);
void              hir_outgoing_set_account_id      (HirOutgoing      *self,
                                                    const char       *account_id);
const char       *hir_outgoing_get_from            (HirOutgoing      *self);
void              hir_outgoing_set_from            (HirOutgoing      *self,
                                                    const char       *from);
const char       *hir_outgoing_get_to              (HirOutgoing      *self);
void              hir_outgoing_set_to              (HirOutgoing      *self,
                                                    const char       *to);
const char       *hir_outgoing_get_cc              (HirOutgoing      *self);
void              hir_outgoing_set_cc              (HirOutgoing      *self,
                                                    const char       *cc);
const char       *hir_outgoing_get_bcc             (HirOutgoing      *self);
void              hir_outgoing_set_bcc             (HirOutgoing      *self,
                                                    const char       *bcc);
const char       *hir_outgoing_get_subject         (HirOutgoing      *self);
void              hir_outgoing_set_subject         (HirOutgoing      *self,
                                                    const char       *subject);
const char       *hir_outgoing_get_text            (HirOutgoing      *self);
void              hir_outgoing_set_text            (HirOutgoing      *self,
                                                    const char       *text);
const char       *hir_outgoing_get_html            (HirOutgoing      *self);
void              hir_outgoing_set_html            (HirOutgoing      *self,
                                                    const char       *html);
const char       *hir_outgoing_get_in_reply_to     (HirOutgoing      *self);
void              hir_outgoing_set_in_reply_to     (HirOutgoing      *self,
                                                    const char       *in_reply_to);
const char       *hir_outgoing_get_references      (HirOutgoing      *self);
void              hir_outgoing_set_references      (HirOutgoing      *self,
                                                    const char       *references);
const char       *hir_outgoing_get_message_id      (HirOutgoing      *self);
void              hir_outgoing_set_message_id      (HirOutgoing      *self,
                                                    const char       *message_id);
HirOutgoingState  hir_outgoing_get_state           (HirOutgoing      *self);
void              hir_outgoing_set_state           (HirOutgoing      *self,
                                                    HirOutgoingState  state);
const char       *hir_outgoing_get_error_message   (HirOutgoing      *self);
void              hir_outgoing_set_error_message   (HirOutgoing      *self,
                                                    const char       *error_message);
gint64            hir_outgoing_get_send_at         (HirOutgoing      *self);
void              hir_outgoing_set_send_at         (HirOutgoing      *self,
                                                    gint64            send_at);
const char       *hir_outgoing_get_draft_remote_id (HirOutgoing      *self);
void              hir_outgoing_set_draft_remote_id (HirOutgoing      *self,
                                                    const char       *draft_remote_id);

GListModel       *hir_outgoing_get_attachments     (HirOutgoing      *self);
void              hir_outgoing_add_attachment      (HirOutgoing      *self,
                                                    HirOutgoingAttachment *attachment);
/* FALSE when @attachment is not attached. */
gboolean          hir_outgoing_remove_attachment   (HirOutgoing      *self,
                                                    HirOutgoingAttachment *attachment);
/* Body texts plus attachment bytes: what the user sees as "the message's size". The
 * MIME encoding adds about a third for base64; the outbox checks server limits against
 * the built message. */
guint64           hir_outgoing_get_total_size      (HirOutgoing      *self);

/* The message as it goes out: multipart/alternative (text, html) when there is HTML,
 * inside multipart/related with the inline (content-id) images, inside multipart/mixed
 * with the attachments; non-ASCII headers RFC 2047, file names RFC 2231; Message-ID,
 * Date (now), In-Reply-To, References, MIME-Version, and Bcc (the transport leaves it
 * out of the bytes it sends). Text parts are 7bit, quoted-printable or base64, whichever
 * fits; 8bit only when @allow_8bit (the server offers 8BITMIME). */
GMimeMessage     *hir_outgoing_build_mime          (HirOutgoing      *self,
                                                    gboolean          allow_8bit);

G_END_DECLS
