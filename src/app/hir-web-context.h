/* hir-web-context.h: the one web context every message view shares
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <webkit/webkit.h>

G_BEGIN_DECLS

#define HIR_WEB_CONTEXT_MESSAGE_SCHEME "hirondelle-message"
#define HIR_WEB_CONTEXT_CID_SCHEME     "cid"

#define HIR_TYPE_WEB_CONTEXT (hir_web_context_get_type ())
G_DECLARE_FINAL_TYPE (HirWebContext, hir_web_context, HIR, WEB_CONTEXT, GObject)

/* One WebKitWebContext and one ephemeral WebKitNetworkSession for all message views (one
 * web process, no cookies, no disk cache), the hirondelle-message: and cid: URI schemes,
 * and the two compiled content filters: "block" stops every load that is not the
 * message's own (http, https, ftp, ws, file…), including preconnect and DNS prefetch;
 * "remote" lets only images, style sheets and fonts through over http(s) after the user
 * allowed remote content, and still blocks documents, frames, media, scripts, fetches,
 * popups and everything else. The UI layer keeps one of these for the process. */
HirWebContext            *hir_web_context_get_default         (void);

WebKitWebContext         *hir_web_context_get_web_context     (HirWebContext        *self);
WebKitNetworkSession     *hir_web_context_get_network_session (HirWebContext        *self);

/* Compiles (or loads) the filters; views wait for this before showing any message. */
void                      hir_web_context_load_filters_async  (HirWebContext        *self,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
gboolean                  hir_web_context_load_filters_finish (HirWebContext        *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
/* NULL until the filters are loaded. */
WebKitUserContentFilter  *hir_web_context_get_filter          (HirWebContext        *self,
                                                               gboolean              allow_remote);

/* The rule sets themselves, as JSON (for tests and for the record). */
const char               *hir_web_context_get_filter_source   (gboolean              allow_remote);

G_END_DECLS
