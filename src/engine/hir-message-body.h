/* hir-message-body.h: the readable content of one message
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-attachment.h"

G_BEGIN_DECLS

#define HIR_TYPE_MESSAGE_BODY (hir_message_body_get_type ())
G_DECLARE_FINAL_TYPE (HirMessageBody, hir_message_body, HIR, MESSAGE_BODY, GObject)

/* The text and HTML are UTF-8, already decoded from their transfer encoding and charset.
 * Either may be NULL (a plain-text message has no HTML). The HTML is exactly what the
 * sender wrote: it is made safe by the reader, not here. Attachments include inline
 * cid: parts (hir_attachment_get_inline). */
HirMessageBody *hir_message_body_new                 (const char     *text,
                                                      const char     *html);
const char     *hir_message_body_get_text            (HirMessageBody *self);
const char     *hir_message_body_get_html            (HirMessageBody *self);
/* A GListModel of HirAttachment, in message order. */
GListModel     *hir_message_body_get_attachments     (HirMessageBody *self);
void            hir_message_body_add_attachment      (HirMessageBody *self,
                                                      HirAttachment  *attachment);
/* The part a "cid:" URL names, or NULL: only parts of this message ever match. */
HirAttachment  *hir_message_body_find_by_content_id  (HirMessageBody *self,
                                                      const char     *content_id);

G_END_DECLS
