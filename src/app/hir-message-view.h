/* hir-message-view.h: a web view that renders one message safely
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <webkit/webkit.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_MESSAGE_VIEW (hir_message_view_get_type ())
G_DECLARE_FINAL_TYPE (HirMessageView, hir_message_view, HIR, MESSAGE_VIEW, WebKitWebView)

/* Loads the bytes of a part a cid: URL names. Complete @task (transfer full) with
 * g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref) or an error; the
 * task's cancellable is cancelled when the view shows something else. */
typedef void (*HirMessageViewPartLoader) (HirAttachment *attachment,
                                          GTask         *task,
                                          gpointer       user_data);

/* Properties:
 *   allow-remote            boolean  remote images, style sheets and fonts may load
 *   remote-content-blocked  boolean  read-only: the shown message references remote
 *                                    content that was blocked
 *
 * JavaScript, plugins, WebGL, media, the page cache and hyperlink auditing are off; the
 * document comes from the hirondelle-message: scheme with a Content-Security-Policy header
 * and meta; cid: URLs resolve to parts of the shown message only; the shared content
 * filter blocks every network load unless allow-remote, and then still every active one;
 * links open in the user's browser on a click, and no other navigation happens. */
GtkWidget *hir_message_view_new                        (void);

void       hir_message_view_set_part_loader            (HirMessageView           *self,
                                                        HirMessageViewPartLoader  loader,
                                                        gpointer                  user_data,
                                                        GDestroyNotify            destroy);
/* Shows @body (NULL clears the view). */
void       hir_message_view_show_body                  (HirMessageView           *self,
                                                        HirMessageBody           *body,
                                                        gboolean                  allow_remote);
HirMessageBody *hir_message_view_get_body              (HirMessageView           *self);
gboolean   hir_message_view_get_allow_remote           (HirMessageView           *self);
/* Renders the shown message again with or without remote content. */
void       hir_message_view_set_allow_remote           (HirMessageView           *self,
                                                        gboolean                  allow_remote);
gboolean   hir_message_view_get_remote_content_blocked (HirMessageView           *self);
/* The document last handed to WebKit (for tests). */
const char *hir_message_view_get_document              (HirMessageView           *self);

/* For HirWebContext's URI scheme handlers. */
void       hir_message_view_handle_scheme_request      (HirMessageView           *self,
                                                        WebKitURISchemeRequest   *request);

G_END_DECLS
