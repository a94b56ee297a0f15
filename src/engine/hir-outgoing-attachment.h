/* hir-outgoing-attachment.h: a file attached to a message being written
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HIR_TYPE_OUTGOING_ATTACHMENT (hir_outgoing_attachment_get_type ())
G_DECLARE_FINAL_TYPE (HirOutgoingAttachment, hir_outgoing_attachment, HIR, OUTGOING_ATTACHMENT, GObject)

/* The bytes are held, not a path: a file handed over by the document portal (Flatpak) or
 * dropped from another program may be gone or unreadable later, and a draft must survive
 * a restart byte-identical. So the file is read once, when it is attached, and the
 * outbox stores the bytes.
 *
 * Properties (read-only unless said):
 *   filename      string  the name shown and sent (RFC 2231-encoded when needed)
 *   content-type  string  "image/png"; guessed from the name and content when not given
 *   size          uint64  bytes
 *   content-id    string  read-write: Content-ID without <> for an inline image that the
 *                         HTML refers to as cid:…, or NULL for an ordinary attachment
 *   data          GBytes  the content */
HirOutgoingAttachment *hir_outgoing_attachment_new                   (const char            *filename,
                                                                      const char            *content_type,
                                                                      GBytes                *data);
/* Reads @file once (any GFile: local, document portal, GVfs), with its display name and
 * content type from the file's info. */
void                   hir_outgoing_attachment_new_from_file_async   (GFile                 *file,
                                                                      GCancellable          *cancellable,
                                                                      GAsyncReadyCallback    callback,
                                                                      gpointer               user_data);
HirOutgoingAttachment *hir_outgoing_attachment_new_from_file_finish  (GAsyncResult          *result,
                                                                      GError               **error);

const char            *hir_outgoing_attachment_get_filename          (HirOutgoingAttachment *self);
const char            *hir_outgoing_attachment_get_content_type      (HirOutgoingAttachment *self);
guint64                hir_outgoing_attachment_get_size              (HirOutgoingAttachment *self);
const char            *hir_outgoing_attachment_get_content_id        (HirOutgoingAttachment *self);
void                   hir_outgoing_attachment_set_content_id        (HirOutgoingAttachment *self,
                                                                      const char            *content_id);
GBytes                *hir_outgoing_attachment_get_data              (HirOutgoingAttachment *self);

G_END_DECLS
