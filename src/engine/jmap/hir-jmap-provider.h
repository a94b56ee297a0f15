/* hir-jmap-provider.h: HirProvider over JMAP (RFC 8620, RFC 8621)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hir-jmap-client.h"
#include "hir-provider.h"

G_BEGIN_DECLS

#define HIR_TYPE_JMAP_PROVIDER (hir_jmap_provider_get_type ())
G_DECLARE_FINAL_TYPE (HirJmapProvider, hir_jmap_provider, HIR, JMAP_PROVIDER, GObject)

/* Sync is Mailbox/get or Mailbox/changes, then Email/query + Email/get in pages (first
 * time) or Email/changes (after), each step applied to the store with its new state.
 * Watching opens the session's EventSource; where the server has none (Debian's Cyrus
 * answers 204) or the stream ends, it polls instead.
 *
 * Properties, besides account and store:
 *   poll-interval      uint    seconds between polls without push (default 60)
 *   page-size          uint    messages per Email/get and per Email/changes; 0 (default)
 *                              is the server's maxObjectsInGet (at most 1000)
 *   event-source-url   string  replaces the session's eventSourceUrl (tests), or NULL
 *   watch-mode         string  read-only: "none", "connecting", "push" or "poll"
 *   client             HirJmapClient  read-only
 *   emails-fetched     uint    read-only: Email objects received by sync's Email/get
 *   email-queries      uint    read-only: Email/query calls (full syncs page with these)
 *   email-changes      uint    read-only: Email/changes calls (delta syncs) */
HirJmapProvider *hir_jmap_provider_new                   (HirAccount      *account,
                                                          HirStore        *store,
                                                          const char      *password);
HirJmapClient   *hir_jmap_provider_get_client            (HirJmapProvider *self);
guint            hir_jmap_provider_get_poll_interval     (HirJmapProvider *self);
void             hir_jmap_provider_set_poll_interval     (HirJmapProvider *self,
                                                          guint            seconds);
const char      *hir_jmap_provider_get_event_source_url  (HirJmapProvider *self);
void             hir_jmap_provider_set_event_source_url  (HirJmapProvider *self,
                                                          const char      *url);
const char      *hir_jmap_provider_get_watch_mode        (HirJmapProvider *self);

G_END_DECLS
