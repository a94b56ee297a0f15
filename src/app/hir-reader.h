/* hir-reader.h: the reading pane, one message's headers, attachments and body
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"
#include "hir-message-view.h"

G_BEGIN_DECLS

#define HIR_TYPE_READER (hir_reader_get_type ())
G_DECLARE_FINAL_TYPE (HirReader, hir_reader, HIR, READER, GtkWidget)

/* Properties:
 *   engine   HirEngine   loads bodies and attachments
 *   message  HirMessage  the message shown, or NULL ("No Message Selected")
 *   loading  boolean     read-only: the body is being loaded
 *
 * Actions (on the widget, for its buttons):
 *   reader.show-remote-content      load remote content of this message
 *   reader.trust-sender             always load remote content from this sender
 *   reader.open-attachment (s)      save to a temporary file and open it (part id)
 *   reader.save-attachment (s)      ask where, then save (part id) */
GtkWidget      *hir_reader_new          (HirEngine  *engine);
HirEngine      *hir_reader_get_engine   (HirReader  *self);
void            hir_reader_set_engine   (HirReader  *self,
                                         HirEngine  *engine);
HirMessage     *hir_reader_get_message  (HirReader  *self);
void            hir_reader_set_message  (HirReader  *self,
                                         HirMessage *message);
gboolean        hir_reader_get_loading  (HirReader  *self);
HirMessageView *hir_reader_get_view     (HirReader  *self);

G_END_DECLS
