/* hir-outgoing-attachment-row.h: one file attached in the composer
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_OUTGOING_ATTACHMENT_ROW (hir_outgoing_attachment_row_get_type ())
G_DECLARE_FINAL_TYPE (HirOutgoingAttachmentRow, hir_outgoing_attachment_row, HIR, OUTGOING_ATTACHMENT_ROW, GtkWidget)

/* The reader's attachment look (icon by content type, name, size) with a Remove button.
 *
 * Signals:
 *   remove ()  the user asked to remove the attachment */
GtkWidget             *hir_outgoing_attachment_row_new            (HirOutgoingAttachment    *attachment);
HirOutgoingAttachment *hir_outgoing_attachment_row_get_attachment (HirOutgoingAttachmentRow *self);

G_END_DECLS
