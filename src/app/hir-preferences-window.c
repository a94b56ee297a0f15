/* hir-preferences-window.c: the application's preferences
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-account-assistant.h"
#include "hir-account-preferences.h"
#include "hir-preferences-window.h"
#include "hir-settings.h"

struct _HirPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  HirEngine *engine;
  GSettings *settings;

  AdwComboRow *remote_content_row;
  GtkAdjustment *mark_read_adjustment;
  GtkAdjustment *undo_send_adjustment;
  GtkSwitch *notifications_switch;
  GtkSwitch *background_switch;
  GtkListBox *account_list;
};

G_DEFINE_FINAL_TYPE (HirPreferencesWindow, hir_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* remote-content-policy is an enum key; the combo row lists its nicks in this order. */
static const char * const policies[] = { "never", "ask", "always" };

static gboolean
policy_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (policies); i++)
    if (g_str_equal (nick, policies[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
policy_set_mapping (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return i < G_N_ELEMENTS (policies) ? g_variant_new_string (policies[i]) : NULL;
}

/* mark-read-delay is in milliseconds; people think in seconds. */
static gboolean
ms_get_mapping (GValue   *value,
                GVariant *variant,
                gpointer  user_data)
{
  g_value_set_double (value, g_variant_get_uint32 (variant) / 1000.0);
  return TRUE;
}

static GVariant *
ms_set_mapping (const GValue       *value,
                const GVariantType *expected_type,
                gpointer            user_data)
{
  return g_variant_new_uint32 ((guint32) (g_value_get_double (value) * 1000.0 + 0.5));
}

static GVariant *
seconds_set_mapping (const GValue       *value,
                     const GVariantType *expected_type,
                     gpointer            user_data)
{
  return g_variant_new_uint32 ((guint32) (g_value_get_double (value) + 0.5));
}

static gboolean
seconds_get_mapping (GValue   *value,
                     GVariant *variant,
                     gpointer  user_data)
{
  g_value_set_double (value, g_variant_get_uint32 (variant));
  return TRUE;
}

static void
account_activated_cb (AdwActionRow         *row,
                      HirPreferencesWindow *self)
{
  HirAccount *account = g_object_get_data (G_OBJECT (row), "hir-account");
  HirAccountPreferences *prefs = hir_account_preferences_new (GTK_WINDOW (self), self->engine,
                                                              account);

  gtk_window_present (GTK_WINDOW (prefs));
}

static GtkWidget *
create_account_row (gpointer item,
                    gpointer user_data)
{
  HirPreferencesWindow *self = user_data;
  HirAccount *account = HIR_ACCOUNT (item);
  GtkWidget *row = adw_action_row_new ();
  const char *name = hir_account_get_display_name (account);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), hir_account_get_address (account));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), name != NULL ? name : "");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                             gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data_full (G_OBJECT (row), "hir-account", g_object_ref (account), g_object_unref);
  g_signal_connect (row, "activated", G_CALLBACK (account_activated_cb), self);
  return row;
}

static void
add_account_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HirPreferencesWindow *self = HIR_PREFERENCES_WINDOW (widget);

  gtk_window_present (GTK_WINDOW (hir_account_assistant_new (GTK_WINDOW (self), self->engine)));
}

static void
hir_preferences_window_dispose (GObject *object)
{
  HirPreferencesWindow *self = HIR_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (hir_preferences_window_parent_class)->dispose (object);
}

static void
hir_preferences_window_class_init (HirPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/app/hirondelle/Hirondelle/hir-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, remote_content_row);
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, mark_read_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, undo_send_adjustment);
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, notifications_switch);
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, background_switch);
  gtk_widget_class_bind_template_child (widget_class, HirPreferencesWindow, account_list);

  gtk_widget_class_install_action (widget_class, "preferences.add-account", NULL,
                                   add_account_action);
}

static void
hir_preferences_window_init (HirPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = hir_settings_new ();
  if (self->settings == NULL)
    return;
  g_settings_bind_with_mapping (self->settings, "remote-content-policy",
                                self->remote_content_row, "selected", G_SETTINGS_BIND_DEFAULT,
                                policy_get_mapping, policy_set_mapping, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "mark-read-delay",
                                self->mark_read_adjustment, "value", G_SETTINGS_BIND_DEFAULT,
                                ms_get_mapping, ms_set_mapping, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "undo-send-delay",
                                self->undo_send_adjustment, "value", G_SETTINGS_BIND_DEFAULT,
                                seconds_get_mapping, seconds_set_mapping, NULL, NULL);
  g_settings_bind (self->settings, "notifications", self->notifications_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "run-in-background", self->background_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
}

HirPreferencesWindow *
hir_preferences_window_new (GtkWindow *parent,
                            HirEngine *engine)
{
  HirPreferencesWindow *self;

  g_return_val_if_fail (HIR_IS_ENGINE (engine), NULL);

  self = g_object_new (HIR_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->engine = g_object_ref (engine);
  gtk_list_box_bind_model (self->account_list, hir_engine_get_accounts (engine),
                           create_account_row, self, NULL);
  return self;
}
