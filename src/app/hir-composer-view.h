/* hir-composer-view.h: the rich-text editor of the composer, a WebKit view in editing mode
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <webkit/webkit.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_COMPOSER_VIEW (hir_composer_view_get_type ())
G_DECLARE_FINAL_TYPE (HirComposerView, hir_composer_view, HIR, COMPOSER_VIEW, WebKitWebView)

/* The document is ours, unlike a message: our scripts run (in an isolated world, so a
 * quoted message's markup can neither see nor call them, and the document's
 * Content-Security-Policy forbids any script of its own) to read the HTML back, to
 * compute the plain-text alternative and to report edits. Remote loads are blocked by
 * the reader's content filter. Inline parts show from data: URLs while editing and are
 * cid: URLs again in the HTML read back.
 *
 * Properties:
 *   ready       boolean  read-only: the document is loaded and can be read back
 *
 * Signals:
 *   changed ()  the user edited the text (typing, formatting, pasting, dropping) */
GtkWidget *hir_composer_view_new                 (void);

/* Loads @html (a fragment or a whole document; NULL for an empty one) to edit. cid: URLs
 * show the HirOutgoingAttachment of @parts with that content-id. */
void       hir_composer_view_load                (HirComposerView     *self,
                                                  const char          *html,
                                                  GListModel          *parts);
gboolean   hir_composer_view_get_ready           (HirComposerView     *self);

/* The edited document as a whole HTML document, and its text for the plain-text part
 * (quotes marked with "> "). */
void       hir_composer_view_get_content_async   (HirComposerView     *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean   hir_composer_view_get_content_finish  (HirComposerView     *self,
                                                  GAsyncResult        *result,
                                                  char               **html,
                                                  char               **text,
                                                  GError             **error);

/* Inserts the image of the part @content_id (read back as <img src="cid:…">) at the point
 * (@x, @y) of the view, or at the caret when @x is negative. The part must be in the
 * view's parts. */
void       hir_composer_view_insert_image        (HirComposerView     *self,
                                                  const char          *content_id,
                                                  double               x,
                                                  double               y);
/* Makes the selection a link to @uri. */
void       hir_composer_view_insert_link         (HirComposerView     *self,
                                                  const char          *uri);

G_END_DECLS
