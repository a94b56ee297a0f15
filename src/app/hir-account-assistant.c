/* hir-account-assistant.c: adding an account: name, address, password, then discovery
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-account-assistant.h"
#include "hir-certificate-dialog.h"
#include "hir-discovery.h"

/* The rows of the progress page, one per discovery step that can be shown. */
#define FIRST_STEP HIR_DISCOVERY_STEP_JMAP
#define N_STEPS (HIR_DISCOVERY_STEP_VERIFY_SEND - FIRST_STEP + 1)

struct _HirAccountAssistant
{
  AdwWindow parent_instance;

  HirEngine *engine;
  HirDiscovery *discovery;
  GCancellable *cancellable;
  HirAccount *manual;       /* the form's account being checked, or NULL for a discovery */
  HirAccount *result;
  guint https_port;
  guint http_port;
  HirDiscoveryStep last_step;

  AdwActionRow *step_rows[N_STEPS];
  GtkWidget *step_icons[N_STEPS];
  const char *step_states[N_STEPS];  /* "pending", "running", "done", "skipped", "failed" */

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
  GtkButton *next_button;
  GtkButton *back_button;
  GtkButton *cancel_button;
  AdwEntryRow *name_row;
  AdwEntryRow *address_row;
  AdwPasswordEntryRow *password_row;
  AdwStatusPage *progress_page;
  GtkListBox *step_list;
  AdwStatusPage *manual_page;
  AdwComboRow *kind_row;
  AdwEntryRow *jmap_url_row;
  AdwPreferencesGroup *jmap_group;
  AdwPreferencesGroup *imap_group;
  AdwPreferencesGroup *smtp_group;
  AdwEntryRow *imap_host_row;
  GtkSpinButton *imap_port_spin;
  AdwComboRow *imap_security_row;
  AdwEntryRow *smtp_host_row;
  GtkSpinButton *smtp_port_spin;
  AdwComboRow *smtp_security_row;
  AdwEntryRow *username_row;
  AdwStatusPage *done_page;
  AdwActionRow *read_row;
  AdwActionRow *send_row;
  AdwActionRow *login_row;
};

G_DEFINE_FINAL_TYPE (HirAccountAssistant, hir_account_assistant, ADW_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_ENGINE,
  PROP_PAGE,
  PROP_HTTPS_PORT,
  PROP_HTTP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void start_discovery (HirAccountAssistant *self);

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
show_page (HirAccountAssistant *self,
           const char          *page)
{
  gboolean details = g_str_equal (page, "details");
  gboolean progress = g_str_equal (page, "progress");
  gboolean done = g_str_equal (page, "done");

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), !details && !done);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), !done);
  gtk_button_set_label (self->next_button, done ? _("_Done")
                                                : g_str_equal (page, "manual") ? _("_Check")
                                                                               : _("_Next"));
  gtk_widget_set_visible (GTK_WIDGET (self->next_button), !progress);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
}

static void
update_next (HirAccountAssistant *self)
{
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  const char *at = strchr (address, '@');
  gboolean ok = at != NULL && at != address && at[1] != '\0' && *password != '\0';

  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "details"))
    gtk_widget_set_sensitive (GTK_WIDGET (self->next_button), ok);
  else
    gtk_widget_set_sensitive (GTK_WIDGET (self->next_button), TRUE);
}

static void
details_changed_cb (HirAccountAssistant *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->password_row), "error");
  update_next (self);
}

/* Progress rows */

static void
set_row_state (HirAccountAssistant *self,
               guint                index,
               const char          *state)
{
  GtkWidget *old = self->step_icons[index];
  GtkWidget *widget;

  if (g_str_equal (state, "running"))
    {
      widget = gtk_spinner_new ();
      gtk_spinner_start (GTK_SPINNER (widget));
    }
  else
    {
      /* Skipped: no icon, the row is dimmed. */
      widget = gtk_image_new_from_icon_name (g_str_equal (state, "done") ? "emblem-ok-symbolic"
                                             : g_str_equal (state, "failed") ? "dialog-error-symbolic"
                                             : g_str_equal (state, "skipped") ? NULL
                                             : "content-loading-symbolic");
      if (g_str_equal (state, "done"))
        gtk_widget_add_css_class (widget, "success");
      else if (g_str_equal (state, "failed"))
        gtk_widget_add_css_class (widget, "error");
      else
        gtk_widget_add_css_class (widget, "dim-label");
    }
  if (old != NULL)
    adw_action_row_remove (self->step_rows[index], old);
  adw_action_row_add_suffix (self->step_rows[index], widget);
  self->step_icons[index] = widget;
  self->step_states[index] = state;
  gtk_widget_set_opacity (GTK_WIDGET (self->step_rows[index]),
                          g_str_equal (state, "skipped") ? 0.55 : 1.0);
}

static void
reset_rows (HirAccountAssistant *self,
            gboolean             verify_only)
{
  for (guint i = 0; i < N_STEPS; i++)
    {
      adw_action_row_set_subtitle (self->step_rows[i], "");
      gtk_widget_set_visible (GTK_WIDGET (self->step_rows[i]),
                              !verify_only || i + FIRST_STEP >= HIR_DISCOVERY_STEP_VERIFY_READ);
      set_row_state (self, i, "pending");
    }
  self->last_step = HIR_DISCOVERY_STEP_NONE;
}

static void
step_cb (HirDiscovery        *discovery,
         guint                step,
         const char          *detail,
         HirAccountAssistant *self)
{
  HirDiscoveryStep last = self->last_step;
  gboolean last_shown = last >= FIRST_STEP && last <= HIR_DISCOVERY_STEP_VERIFY_SEND;

  if (step == HIR_DISCOVERY_STEP_DONE)
    {
      if (last_shown)
        set_row_state (self, last - FIRST_STEP, "done");
      /* The sources not needed, once something was found. */
      for (guint i = 0; i < N_STEPS; i++)
        if (g_str_equal (self->step_states[i], "pending"))
          set_row_state (self, i, "skipped");
      return;
    }
  if (step < FIRST_STEP || step > HIR_DISCOVERY_STEP_VERIFY_SEND)
    return;
  if (step != last)
    {
      /* The source that ran last before the login check found the servers; the ones
       * before it found nothing. */
      if (last_shown)
        set_row_state (self, last - FIRST_STEP,
                       last >= HIR_DISCOVERY_STEP_VERIFY_READ
                       || step >= HIR_DISCOVERY_STEP_VERIFY_READ ? "done" : "skipped");
      set_row_state (self, step - FIRST_STEP, "running");
      /* Checking the login: the sources not tried were not needed. */
      if (step >= HIR_DISCOVERY_STEP_VERIFY_READ)
        for (guint s = FIRST_STEP; s < HIR_DISCOVERY_STEP_VERIFY_READ; s++)
          if (g_str_equal (self->step_states[s - FIRST_STEP], "pending"))
            set_row_state (self, s - FIRST_STEP, "skipped");
    }
  adw_action_row_set_subtitle (self->step_rows[step - FIRST_STEP], detail != NULL ? detail : "");
  self->last_step = step;
}

/* The form */

static void
kind_changed_cb (HirAccountAssistant *self)
{
  gboolean jmap = adw_combo_row_get_selected (self->kind_row) == 1;

  gtk_widget_set_visible (GTK_WIDGET (self->jmap_group), jmap);
  gtk_widget_set_visible (GTK_WIDGET (self->imap_group), !jmap);
  gtk_widget_set_visible (GTK_WIDGET (self->smtp_group), !jmap);
}

static void
fill_form (HirAccountAssistant *self,
           HirAccount          *found)
{
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));
  const char *at = strchr (address, '@');
  g_autofree char *guess_imap = g_strconcat ("imap.", at != NULL ? at + 1 : "", NULL);
  g_autofree char *guess_smtp = g_strconcat ("smtp.", at != NULL ? at + 1 : "", NULL);
  const char *imap_host = found != NULL ? hir_account_get_imap_host (found) : NULL;
  const char *smtp_host = found != NULL ? hir_account_get_smtp_host (found) : NULL;
  const char *jmap_url = found != NULL ? hir_account_get_jmap_url (found) : NULL;

  adw_combo_row_set_selected (self->kind_row,
                              found != NULL
                                && hir_account_get_kind (found) == HIR_ACCOUNT_KIND_JMAP ? 1 : 0);
  gtk_editable_set_text (GTK_EDITABLE (self->jmap_url_row), jmap_url != NULL ? jmap_url : "");
  gtk_editable_set_text (GTK_EDITABLE (self->imap_host_row),
                         imap_host != NULL && *imap_host ? imap_host : guess_imap);
  gtk_editable_set_text (GTK_EDITABLE (self->smtp_host_row),
                         smtp_host != NULL && *smtp_host ? smtp_host : guess_smtp);
  gtk_spin_button_set_value (self->imap_port_spin,
                             found != NULL && hir_account_get_imap_port (found) != 0
                               ? hir_account_get_imap_port (found) : 993);
  gtk_spin_button_set_value (self->smtp_port_spin,
                             found != NULL && hir_account_get_smtp_port (found) != 0
                               ? hir_account_get_smtp_port (found) : 465);
  adw_combo_row_set_selected (self->imap_security_row,
                              found != NULL ? hir_account_get_imap_security (found) : 0);
  adw_combo_row_set_selected (self->smtp_security_row,
                              found != NULL ? hir_account_get_smtp_security (found) : 0);
  gtk_editable_set_text (GTK_EDITABLE (self->username_row),
                         found != NULL ? hir_account_get_username (found) : address);
  kind_changed_cb (self);
}

static HirAccount *
account_from_form (HirAccountAssistant *self)
{
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));
  gboolean jmap = adw_combo_row_get_selected (self->kind_row) == 1;
  HirAccount *account = hir_account_new (jmap ? HIR_ACCOUNT_KIND_JMAP : HIR_ACCOUNT_KIND_IMAP,
                                         address);
  const char *username = gtk_editable_get_text (GTK_EDITABLE (self->username_row));

  hir_account_set_display_name (account, gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  if (*username != '\0' && g_strcmp0 (username, address) != 0)
    hir_account_set_username (account, username);
  if (jmap)
    hir_account_set_jmap_url (account, gtk_editable_get_text (GTK_EDITABLE (self->jmap_url_row)));
  hir_account_set_imap_host (account, gtk_editable_get_text (GTK_EDITABLE (self->imap_host_row)));
  hir_account_set_imap_port (account, gtk_spin_button_get_value_as_int (self->imap_port_spin));
  hir_account_set_imap_security (account, adw_combo_row_get_selected (self->imap_security_row));
  hir_account_set_smtp_host (account, gtk_editable_get_text (GTK_EDITABLE (self->smtp_host_row)));
  hir_account_set_smtp_port (account, gtk_spin_button_get_value_as_int (self->smtp_port_spin));
  hir_account_set_smtp_security (account, adw_combo_row_get_selected (self->smtp_security_row));
  return account;
}

/* The result */

static void
show_done (HirAccountAssistant *self)
{
  HirAccount *account = self->result;
  g_autofree char *description = NULL;

  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->read_row), _("Reading and Sending (JMAP)"));
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

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->read_row), _("Reading (IMAP)"));
      adw_action_row_set_subtitle (self->read_row, read);
      adw_action_row_set_subtitle (self->send_row, send);
      gtk_widget_set_visible (GTK_WIDGET (self->send_row), TRUE);
    }
  adw_action_row_set_subtitle (self->login_row,
                               hir_account_get_trusted_certificate (account) != NULL
                                 ? _("Password checked; certificate trusted by you")
                                 : _("Password checked"));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->login_row), hir_account_get_username (account));
  /* Translators: %s is an e-mail address. */
  description = g_strdup_printf (_("%s is ready. Its mail is arriving now."),
                                 hir_account_get_address (account));
  adw_status_page_set_description (self->done_page, description);
  show_page (self, "done");
}

static void
fail (HirAccountAssistant *self,
      const GError        *error);

static void
added_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  HirAccountAssistant *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_engine_add_account_finish (HIR_ENGINE (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error);
      g_object_unref (self);
      return;
    }
  show_done (self);
  g_object_unref (self);
}

static void
found_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  HirAccountAssistant *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirAccount) account = NULL;

  if (self->manual != NULL)
    account = hir_discovery_verify_finish (HIR_DISCOVERY (object), result, &error);
  else
    account = hir_discovery_run_finish (HIR_DISCOVERY (object), result, &error);
  if (account == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error);
      g_object_unref (self);
      return;
    }
  g_set_object (&self->result, account);
  /* Checked for reading and sending; the engine logs in once more and saves it. */
  hir_engine_add_account_async (self->engine, account,
                                gtk_editable_get_text (GTK_EDITABLE (self->password_row)),
                                self->cancellable, added_cb, self);
}

static void
certificate_response_cb (HirCertificateDialog *dialog,
                         const char           *response,
                         HirAccountAssistant  *self)
{
  if (g_str_equal (response, "trust"))
    {
      hir_discovery_set_trusted_certificate (self->discovery,
                                             hir_certificate_dialog_get_fingerprint (dialog));
      start_discovery (self);
      return;
    }
  adw_toast_overlay_add_toast (self->toast_overlay,
                               adw_toast_new (_("The certificate was not trusted")));
  show_page (self, self->manual != NULL ? "manual" : "details");
  update_next (self);
}

static void
fail (HirAccountAssistant *self,
      const GError        *error)
{
  if (self->last_step >= FIRST_STEP && self->last_step <= HIR_DISCOVERY_STEP_VERIFY_SEND)
    set_row_state (self, self->last_step - FIRST_STEP, "failed");

  if (g_error_matches (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED)
      && hir_discovery_get_certificate (self->discovery) != NULL)
    {
      HirCertificateDialog *dialog =
        hir_certificate_dialog_new (GTK_WINDOW (self),
                                    hir_discovery_get_certificate (self->discovery),
                                    hir_discovery_get_certificate_errors (self->discovery),
                                    hir_discovery_get_certificate_host (self->discovery));

      g_signal_connect_object (dialog, "response", G_CALLBACK (certificate_response_cb), self, 0);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  if (g_error_matches (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED))
    {
      show_page (self, self->manual != NULL ? "manual" : "details");
      gtk_widget_add_css_class (GTK_WIDGET (self->password_row), "error");
      adw_toast_overlay_add_toast (self->toast_overlay,
                                   adw_toast_new (_("The server did not accept the password")));
      update_next (self);
      return;
    }

  /* Nothing found, or found but not working: the form, with what was found. */
  if (self->manual == NULL)
    fill_form (self, hir_discovery_get_found (self->discovery));
  adw_status_page_set_description (self->manual_page, error->message);
  show_page (self, "manual");
  update_next (self);
}

static void
start_discovery (HirAccountAssistant *self)
{
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));
  /* Translators: %s is an e-mail address. */
  g_autofree char *description = g_strdup_printf (_("Looking for the servers of %s and "
                                                    "checking the password."), address);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  /* A new address starts over; the same one keeps a certificate the user trusted. */
  if (self->discovery == NULL
      || g_strcmp0 (hir_discovery_get_address (self->discovery), g_strstrip (g_strdup (address))) != 0)
    {
      g_autofree char *clean = g_strstrip (g_strdup (address));

      if (self->discovery != NULL)
        g_signal_handlers_disconnect_by_data (self->discovery, self);
      g_clear_object (&self->discovery);
      self->discovery = hir_discovery_new (clean);
      g_object_set (self->discovery, "https-port", self->https_port, "http-port",
                    self->http_port, NULL);
      g_signal_connect (self->discovery, "step", G_CALLBACK (step_cb), self);
    }
  hir_discovery_set_display_name (self->discovery,
                                  gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  hir_discovery_set_password (self->discovery,
                              gtk_editable_get_text (GTK_EDITABLE (self->password_row)));

  adw_status_page_set_description (self->progress_page, description);
  reset_rows (self, self->manual != NULL);
  show_page (self, "progress");
  if (self->manual != NULL)
    hir_discovery_verify_async (self->discovery, self->manual, self->cancellable, found_cb,
                                g_object_ref (self));
  else
    hir_discovery_run_async (self->discovery, self->cancellable, found_cb, g_object_ref (self));
}

/* Actions */

static void
next_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (widget);
  const char *page = gtk_stack_get_visible_child_name (self->stack);

  if (g_str_equal (page, "details"))
    {
      if (!gtk_widget_get_sensitive (GTK_WIDGET (self->next_button)))
        return;
      g_clear_object (&self->manual);
      start_discovery (self);
    }
  else if (g_str_equal (page, "manual"))
    {
      g_clear_object (&self->manual);
      self->manual = account_from_form (self);
      start_discovery (self);
    }
  else if (g_str_equal (page, "done"))
    gtk_window_destroy (GTK_WINDOW (self));
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (widget);
  const char *page = gtk_stack_get_visible_child_name (self->stack);

  g_cancellable_cancel (self->cancellable);
  show_page (self, g_str_equal (page, "progress") && self->manual != NULL ? "manual" : "details");
  update_next (self);
}

static void
manual_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (widget);

  fill_form (self, self->discovery != NULL ? hir_discovery_get_found (self->discovery) : NULL);
  adw_status_page_set_description (self->manual_page, NULL);
  show_page (self, "manual");
  update_next (self);
}

/* GObject */

static void
hir_account_assistant_dispose (GObject *object)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->discovery != NULL)
    g_signal_handlers_disconnect_by_data (self->discovery, self);
  g_clear_object (&self->discovery);
  g_clear_object (&self->manual);
  g_clear_object (&self->result);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (hir_account_assistant_parent_class)->dispose (object);
}

static void
hir_account_assistant_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_PAGE:
      g_value_set_string (value, hir_account_assistant_get_page (self));
      break;
    case PROP_HTTPS_PORT:
      g_value_set_uint (value, self->https_port);
      break;
    case PROP_HTTP_PORT:
      g_value_set_uint (value, self->http_port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_account_assistant_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  HirAccountAssistant *self = HIR_ACCOUNT_ASSISTANT (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_HTTPS_PORT:
      if (self->https_port != g_value_get_uint (value))
        {
          self->https_port = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_HTTP_PORT:
      if (self->http_port != g_value_get_uint (value))
        {
          self->http_port = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_account_assistant_class_init (HirAccountAssistantClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_account_assistant_dispose;
  object_class->get_property = hir_account_assistant_get_property;
  object_class->set_property = hir_account_assistant_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, HIR_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PAGE] =
    g_param_spec_string ("page", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTPS_PORT] =
    g_param_spec_uint ("https-port", NULL, NULL, 0, 65535, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTP_PORT] =
    g_param_spec_uint ("http-port", NULL, NULL, 0, 65535, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/app/hirondelle/Hirondelle/hir-account-assistant.ui");
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, stack);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, next_button);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, back_button);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, name_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, address_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, password_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, progress_page);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, step_list);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, manual_page);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, kind_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, jmap_url_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, jmap_group);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, imap_group);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, smtp_group);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, imap_host_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, imap_port_spin);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, imap_security_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, smtp_host_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, smtp_port_spin);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, smtp_security_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, username_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, done_page);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, read_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, send_row);
  gtk_widget_class_bind_template_child (widget_class, HirAccountAssistant, login_row);
  gtk_widget_class_bind_template_callback (widget_class, details_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, kind_changed_cb);

  gtk_widget_class_install_action (widget_class, "assistant.next", NULL, next_action);
  gtk_widget_class_install_action (widget_class, "assistant.back", NULL, back_action);
  gtk_widget_class_install_action (widget_class, "assistant.manual", NULL, manual_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
hir_account_assistant_init (HirAccountAssistant *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  for (guint i = 0; i < N_STEPS; i++)
    {
      AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     hir_discovery_step_describe (i + FIRST_STEP));
      adw_action_row_set_subtitle_lines (row, 1);
      gtk_list_box_append (self->step_list, GTK_WIDGET (row));
      self->step_rows[i] = row;
    }
  reset_rows (self, FALSE);
  show_page (self, "details");
  update_next (self);
}

HirAccountAssistant *
hir_account_assistant_new (GtkWindow *parent,
                           HirEngine *engine)
{
  return g_object_new (HIR_TYPE_ACCOUNT_ASSISTANT,
                       "transient-for", parent,
                       "modal", parent != NULL,
                       "engine", engine,
                       NULL);
}

const char *
hir_account_assistant_get_page (HirAccountAssistant *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT_ASSISTANT (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

void
hir_account_assistant_set_details (HirAccountAssistant *self,
                                   const char          *name,
                                   const char          *address,
                                   const char          *password)
{
  g_return_if_fail (HIR_IS_ACCOUNT_ASSISTANT (self));

  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name != NULL ? name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->address_row), address != NULL ? address : "");
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), password != NULL ? password : "");
  update_next (self);
}

void
hir_account_assistant_show_form (HirAccountAssistant *self,
                                 HirAccount          *servers)
{
  g_return_if_fail (HIR_IS_ACCOUNT_ASSISTANT (self));
  g_return_if_fail (servers == NULL || HIR_IS_ACCOUNT (servers));

  fill_form (self, servers);
  adw_status_page_set_description (self->manual_page, NULL);
  show_page (self, "manual");
  update_next (self);
}
