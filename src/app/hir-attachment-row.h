/* hir-attachment-row.h: one attachment in the reader's attachment strip
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_ATTACHMENT_ROW (hir_attachment_row_get_type ())
G_DECLARE_FINAL_TYPE (HirAttachmentRow, hir_attachment_row, HIR, ATTACHMENT_ROW, GtkWidget)

/* Icon by content type, name, size, and Open / Save buttons that activate
 * reader.open-attachment / reader.save-attachment with the part id as target. */
GtkWidget     *hir_attachment_row_new            (HirAttachment    *attachment);
HirAttachment *hir_attachment_row_get_attachment (HirAttachmentRow *self);

G_END_DECLS
