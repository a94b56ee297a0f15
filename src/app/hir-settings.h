/* hir-settings.h: the application's GSettings
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Values of the remote-content-policy key (the schema's enum). */
typedef enum
{
  HIR_REMOTE_CONTENT_NEVER,
  HIR_REMOTE_CONTENT_ASK,
  HIR_REMOTE_CONTENT_ALWAYS,
} HirRemoteContentPolicy;

/* The settings of APP_ID, or NULL with one warning when the schema is not installed (an
 * uninstalled build run without GSETTINGS_SCHEMA_DIR); callers then use the defaults. */
GSettings              *hir_settings_new                       (void);
HirRemoteContentPolicy  hir_settings_get_remote_content_policy (GSettings *settings);

G_END_DECLS
