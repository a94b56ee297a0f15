/* hir-account-preferences.c: one account's settings, and removing it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-account-preferences.h"

struct _HirAccountPreferences
{
  AdwPreferencesWindow parent_instance;

  HirEngine *engine;
  HirAccount *account;
  GCancellable *cancellable;

  AdwEntryRow *name_row;
  AdwActionRow *address_row;
  AdwActionRow *read_row;
  AdwActionRow *send_row;
  AdwActionRow *certificate_row;
};

G_DEFINE_FINAL_TYPE (HirAccountPreferences, hir_account_preferences, ADW_TYPE_PREFERENCES_WINDOW)

gboolean
hir_account_preferences_save_accounts (HirEngine  *engine,
                                       GError    **error)
{
  g_autofree char *config_dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *model = hir_engine_get_accounts (engine);

  g_object_get (engine, "config-dir", &config_dir, NULL);
  path = g_build_filename (config_dir, "accounts.conf", NULL);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    g_ptr_array_add (accounts, g_list_model_get_item (model, i));
  return hir_account_config_save (path, accounts, error);
}

static const char *
describe_security (HirSecurity security)
{
  switch (security)
    {
    case HIR_SECURITY_TLS:
      return _("TLS");
    case HIR_SECURITY_STARTTLS:
      return _("STARTTLS");
    case HIR_SECURITY_NONE:
    default:
      return _("No encryption");
    }
}

static void
show_error (HirAccountPreferences *self,
            const char            *text)
{
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (text));
}

static void
name_applied_cb (HirAccountPreferences *self)
{
  g_autoptr(GError) error = NULL;

  hir_account_set_display_name (self->account,
                                gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  if (!hir_account_preferences_save_accounts (self->engine, &error))
    show_error (self, error->message);
}

static void
removed_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  HirAccountPreferences *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_engine_remove_account_finish (HIR_ENGINE (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      g_object_unref (self);
      return;
    }
  gtk_window_destroy (GTK_WINDOW (self));
  g_object_unref (self);
}

static void
remove_response_cb (AdwMessageDialog      *dialog,
                    const char            *response,
                    HirAccountPreferences *self)
{
  if (!g_str_equal (response, "remove"))
    return;
  hir_engine_remove_account_async (self->engine, self->account, self->cancellable, removed_cb,
                                   g_object_ref (self));
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HirAccountPreferences *self = HIR_ACCOUNT_PREFERENCES (widget);
  /* Translators: %s is an e-mail address. */
  g_autofree char *body = g_strdup_printf (_("The mail of %s stored on this computer and its "
                                             "saved password are deleted. The mail on the "
                                             "server stays where it is."),
                                           hir_account_get_address (self->account));
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Remove Account?"), body);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (remove_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
hir_account_preferences_dispose (GObject *object)
{
  HirAccountPreferences *self = HIR_ACCOUNT_PREFERENCES (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->account);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (hir_account_preferences_parent_class)->dispose (object);
}

static void
hir_account_preferences_class_init (HirAccountPreferencesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_account_preferences_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/app/hirondelle/Hirondelle/hir-account-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, HirAccountPreferences, name_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountPreferences, address_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountPreferences, read_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountPreferences, send_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountPreferences, certificate_row);
  gtk_widget_class_bind_template_callback (widget_class, name_applied_cb);

  gtk_widget_class_install_action (widget_class, "account.remove", NULL, remove_action);
}

static void
hir_account_preferences_init (HirAccountPreferences *self)
{
  self->cancellable = g_cancellable_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

HirAccountPreferences *
hir_account_preferences_new (GtkWindow  *parent,
                             HirEngine  *engine,
                             HirAccount *account)
{
  HirAccountPreferences *self;
  const char *name;
  const char *pin;

  g_return_val_if_fail (HIR_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);

  self = g_object_new (HIR_TYPE_ACCOUNT_PREFERENCES, "transient-for", parent, "modal", TRUE,
                       "title", hir_account_get_address (account), NULL);
  self->engine = g_object_ref (engine);
  self->account = g_object_ref (account);

  name = hir_account_get_display_name (account);
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name != NULL ? name : "");
  adw_action_row_set_subtitle (self->address_row, hir_account_get_address (account));
  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->read_row),
                                     _("Reading and Sending (JMAP)"));
      adw_action_row_set_subtitle (self->read_row, hir_account_get_jmap_url (account));
      gtk_widget_set_visible (GTK_WIDGET (self->send_row), FALSE);
    }
  else
    {
      g_autofree char *read = g_strdup_printf (_("%s, port %u, %s"),
                                               hir_account_get_imap_host (account),
                                               hir_account_get_imap_port (account),
                                               describe_security (hir_account_get_imap_security (account)));
      g_autofree char *send = g_strdup_printf (_("%s, port %u, %s"),
                                               hir_account_get_smtp_host (account),
                                               hir_account_get_smtp_port (account),
                                               describe_security (hir_account_get_smtp_security (account)));

      adw_action_row_set_subtitle (self->read_row, read);
      adw_action_row_set_subtitle (self->send_row, send);
    }
  pin = hir_account_get_trusted_certificate (account);
  gtk_widget_set_visible (GTK_WIDGET (self->certificate_row), pin != NULL);
  adw_action_row_set_subtitle (self->certificate_row, pin != NULL ? pin : "");
  return self;
}
