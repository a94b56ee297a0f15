/* hir-settings.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-settings.h"

GSettings *
hir_settings_new (void)
{
  static gboolean warned;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      if (!warned)
        g_warning ("The settings schema %s is not installed; using the defaults", APP_ID);
      warned = TRUE;
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

HirRemoteContentPolicy
hir_settings_get_remote_content_policy (GSettings *settings)
{
  if (settings == NULL)
    return HIR_REMOTE_CONTENT_ASK;
  return g_settings_get_enum (settings, "remote-content-policy");
}
