/* hir-attachment.h: one part of a message that is not its body text
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HIR_TYPE_ATTACHMENT (hir_attachment_get_type ())
G_DECLARE_FINAL_TYPE (HirAttachment, hir_attachment, HIR, ATTACHMENT, GObject)

/* Properties:
 *   part-id      string  provider's part reference (JMAP partId, IMAP section "2.1")
 *   blob-id      string  what the provider downloads (JMAP blobId; IMAP: the section)
 *   filename     string  decoded file name (RFC 2231/2047), may be NULL
 *   content-type string  "image/png"
 *   size         uint64  decoded size in bytes (as the server reports it)
 *   content-id   string  Content-ID without <>, or NULL; inline cid: images have one
 *   inline       boolean Content-Disposition inline and referenced from the HTML
 */
HirAttachment *hir_attachment_new              (const char    *part_id,
                                                const char    *blob_id,
                                                const char    *filename,
                                                const char    *content_type,
                                                guint64        size);

const char    *hir_attachment_get_part_id      (HirAttachment *self);
const char    *hir_attachment_get_blob_id      (HirAttachment *self);
const char    *hir_attachment_get_filename     (HirAttachment *self);
/* The file name to show or save as: the filename, else one made from the type. */
char          *hir_attachment_dup_display_name (HirAttachment *self);
const char    *hir_attachment_get_content_type (HirAttachment *self);
guint64        hir_attachment_get_size         (HirAttachment *self);
const char    *hir_attachment_get_content_id   (HirAttachment *self);
void           hir_attachment_set_content_id   (HirAttachment *self,
                                                const char    *content_id);
gboolean       hir_attachment_get_inline       (HirAttachment *self);
void           hir_attachment_set_inline       (HirAttachment *self,
                                                gboolean       is_inline);

G_END_DECLS
