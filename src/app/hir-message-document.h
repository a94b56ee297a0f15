/* hir-message-document.h: the HTML document a message view renders
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Pure functions, no GTK or WebKit: they are tested on their output strings.
 *
 * The message's own HTML is never trusted. It is wrapped in a document whose head comes
 * first, so our <meta charset>, our Content-Security-Policy and our style sheet apply
 * before anything the sender wrote; the content filter and the CSP response header
 * (hir-web-context.c) are the other two locks on the same door. */

/* The Content-Security-Policy for a message: nothing but cid:/data: parts, inline style;
 * with @allow_remote, also http(s) images, style sheets and fonts, never anything else. */
char     *hir_message_document_dup_csp            (gboolean     allow_remote);

/* Plain text as an HTML fragment: HTML-escaped, http/https/mailto links made clickable,
 * "> " quote levels as nested <blockquote>s. */
char     *hir_message_document_text_to_html       (const char  *text);

/* The full document: our head (charset, CSP meta, style), then @html (the sender's HTML,
 * UTF-8) or, when @html is NULL, @text rendered by hir_message_document_text_to_html().
 * @dark selects colours for plain text under a dark theme; HTML keeps a light page. */
char     *hir_message_document_build              (const char  *html,
                                                   const char  *text,
                                                   gboolean     allow_remote,
                                                   gboolean     dark);

/* Whether @html references anything on the network that the filter will block (images,
 * style sheets, fonts, frames, media, backgrounds; links the user clicks do not count). */
gboolean  hir_message_document_has_remote_content (const char  *html);

G_END_DECLS
