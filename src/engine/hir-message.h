/* hir-message.h: the summary of one message, as the list shows it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"

G_BEGIN_DECLS

#define HIR_TYPE_MESSAGE (hir_message_get_type ())
G_DECLARE_FINAL_TYPE (HirMessage, hir_message, HIR, MESSAGE, GObject)

/* Properties (the body is not here: HirMessageBody, loaded on demand):
 *   id              int64    local id in the store (0 until stored)
 *   account-id      string
 *   remote-id       string   JMAP Email id; IMAP "mailbox\nUIDVALIDITY\nUID"
 *   thread-id       string   JMAP threadId; IMAP: computed by the store
 *   message-id      string   Message-ID header without <>
 *   in-reply-to     string   In-Reply-To header (first id, without <>)
 *   references      string   References header, ids separated by spaces
 *   subject         string   decoded subject ("" when none)
 *   from-name       string   decoded display name of the first From, may be ""
 *   from-address    string   address of the first From
 *   sender-label    string   read-only: from-name, else from-address
 *   to              string   RFC 5322 address list as text ("Bob <bob@x>, carol@y")
 *   cc              string   same
 *   date            int64    seconds since the epoch (the Date header, else received)
 *   preview         string   ~200 characters of body text
 *   size            uint64   size in bytes on the server
 *   flags           HirMessageFlags
 *   seen, flagged   boolean  views of flags (settable; set changes flags)
 *   has-attachment  boolean
 *   loaded          boolean  FALSE while a list placeholder waits for its row
 */
HirMessage      *hir_message_new                (void);

gint64           hir_message_get_id             (HirMessage      *self);
void             hir_message_set_id             (HirMessage      *self,
                                                 gint64           id);
const char      *hir_message_get_account_id     (HirMessage      *self);
void             hir_message_set_account_id     (HirMessage      *self,
                                                 const char      *account_id);
const char      *hir_message_get_remote_id      (HirMessage      *self);
void             hir_message_set_remote_id      (HirMessage      *self,
                                                 const char      *remote_id);
const char      *hir_message_get_thread_id      (HirMessage      *self);
void             hir_message_set_thread_id      (HirMessage      *self,
                                                 const char      *thread_id);
const char      *hir_message_get_message_id     (HirMessage      *self);
void             hir_message_set_message_id     (HirMessage      *self,
                                                 const char      *message_id);
const char      *hir_message_get_in_reply_to    (HirMessage      *self);
void             hir_message_set_in_reply_to    (HirMessage      *self,
                                                 const char      *in_reply_to);
const char      *hir_message_get_references     (HirMessage      *self);
void             hir_message_set_references     (HirMessage      *self,
                                                 const char      *references);
const char      *hir_message_get_subject        (HirMessage      *self);
void             hir_message_set_subject        (HirMessage      *self,
                                                 const char      *subject);
const char      *hir_message_get_from_name      (HirMessage      *self);
void             hir_message_set_from_name      (HirMessage      *self,
                                                 const char      *from_name);
const char      *hir_message_get_from_address   (HirMessage      *self);
void             hir_message_set_from_address   (HirMessage      *self,
                                                 const char      *from_address);
const char      *hir_message_get_sender_label   (HirMessage      *self);
const char      *hir_message_get_to             (HirMessage      *self);
void             hir_message_set_to             (HirMessage      *self,
                                                 const char      *to);
const char      *hir_message_get_cc             (HirMessage      *self);
void             hir_message_set_cc             (HirMessage      *self,
                                                 const char      *cc);
gint64           hir_message_get_date           (HirMessage      *self);
void             hir_message_set_date           (HirMessage      *self,
                                                 gint64           date);
const char      *hir_message_get_preview        (HirMessage      *self);
void             hir_message_set_preview        (HirMessage      *self,
                                                 const char      *preview);
guint64          hir_message_get_size           (HirMessage      *self);
void             hir_message_set_size           (HirMessage      *self,
                                                 guint64          size);
HirMessageFlags  hir_message_get_flags          (HirMessage      *self);
void             hir_message_set_flags          (HirMessage      *self,
                                                 HirMessageFlags  flags);
gboolean         hir_message_get_seen           (HirMessage      *self);
gboolean         hir_message_get_flagged        (HirMessage      *self);
gboolean         hir_message_get_has_attachment (HirMessage      *self);
void             hir_message_set_has_attachment (HirMessage      *self,
                                                 gboolean         has_attachment);
gboolean         hir_message_get_loaded         (HirMessage      *self);
/* Copies every field of @other into @self, notifying only what changed, and sets
 * loaded; fills list placeholders and refreshes live rows in place. */
void             hir_message_update_from        (HirMessage      *self,
                                                 HirMessage      *other);

G_END_DECLS
