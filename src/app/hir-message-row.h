/* hir-message-row.h: one message in the message list
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_MESSAGE_ROW (hir_message_row_get_type ())
G_DECLARE_FINAL_TYPE (HirMessageRow, hir_message_row, HIR, MESSAGE_ROW, GtkWidget)

/* Sender, date, subject, preview, unread dot, star and paperclip, bound by expressions to
 * the "message" property so that a placeholder row fills in place when its page arrives.
 * A placeholder (loaded = FALSE) shows an empty row of the same height. */
HirMessage *hir_message_row_get_message (HirMessageRow *self);
void        hir_message_row_set_message (HirMessageRow *self,
                                         HirMessage    *message);
/* "14:05" today, "Yesterday", "12 Mar" this year, else the locale's date; "" for 0. */
char       *hir_message_row_format_date (gint64         date,
                                         GDateTime     *now);

G_END_DECLS
