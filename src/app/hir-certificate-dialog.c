/* hir-certificate-dialog.c: what is wrong with a server's certificate, and trusting it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-certificate-dialog.h"
#include "hir-certificate.h"

struct _HirCertificateDialog
{
  AdwMessageDialog parent_instance;

  char *fingerprint;

  AdwActionRow *problem_row;
  AdwActionRow *subject_row;
  AdwActionRow *issuer_row;
  AdwActionRow *valid_from_row;
  AdwActionRow *valid_until_row;
  AdwActionRow *fingerprint_row;
};

G_DEFINE_FINAL_TYPE (HirCertificateDialog, hir_certificate_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
hir_certificate_dialog_finalize (GObject *object)
{
  HirCertificateDialog *self = HIR_CERTIFICATE_DIALOG (object);

  g_free (self->fingerprint);

  G_OBJECT_CLASS (hir_certificate_dialog_parent_class)->finalize (object);
}

static void
hir_certificate_dialog_class_init (HirCertificateDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = hir_certificate_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/app/hirondelle/Hirondelle/hir-certificate-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, problem_row);
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, subject_row);
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, issuer_row);
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, valid_from_row);
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, valid_until_row);
  gtk_widget_class_bind_template_child (widget_class, HirCertificateDialog, fingerprint_row);
}

static void
hir_certificate_dialog_init (HirCertificateDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

static char *
format_date (GDateTime *date)
{
  g_autoptr(GDateTime) local = NULL;

  if (date == NULL)
    /* Translators: a certificate date that is missing. */
    return g_strdup (_("Unknown"));
  local = g_date_time_to_local (date);
  /* Translators: a certificate's validity date, a g_date_time_format() format. */
  return g_date_time_format (local, _("%B %-d, %Y, %H:%M"));
}

/* "sha256:abcd…" as AB:CD:…, the way browsers show it, so it can be compared by eye. */
static char *
format_fingerprint (const char *fingerprint)
{
  const char *hex = g_str_has_prefix (fingerprint, "sha256:") ? fingerprint + 7 : fingerprint;
  GString *out = g_string_new (NULL);

  for (gsize i = 0; hex[i] != '\0'; i++)
    {
      if (i > 0 && i % 2 == 0)
        g_string_append_c (out, ':');
      g_string_append_c (out, g_ascii_toupper (hex[i]));
    }
  return g_string_free (out, FALSE);
}

HirCertificateDialog *
hir_certificate_dialog_new (GtkWindow            *parent,
                            GTlsCertificate      *certificate,
                            GTlsCertificateFlags  errors,
                            const char           *host)
{
  HirCertificateDialog *self;
  g_autofree char *subject = NULL;
  g_autofree char *issuer = NULL;
  g_autoptr(GDateTime) not_before = NULL;
  g_autoptr(GDateTime) not_after = NULL;
  g_autofree char *from = NULL;
  g_autofree char *until = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *body = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  self = g_object_new (HIR_TYPE_CERTIFICATE_DIALOG, "transient-for", parent, "modal", TRUE,
                       NULL);
  g_object_get (certificate,
                "subject-name", &subject,
                "issuer-name", &issuer,
                "not-valid-before", &not_before,
                "not-valid-after", &not_after,
                NULL);
  self->fingerprint = hir_certificate_fingerprint (certificate);
  reason = errors != 0 ? hir_certificate_describe_errors (errors)
                       /* Translators: why a certificate is untrusted when the system trusts
                        * it, but it is not the one pinned for the account. */
                       : g_strdup (_("not the certificate you trusted before"));
  from = format_date (not_before);
  until = format_date (not_after);
  shown = format_fingerprint (self->fingerprint);

  /* Translators: %s is "host:port"; the second %s what is wrong with the certificate
   * ("issued by an unknown authority"). */
  body = g_strdup_printf (_("The certificate of %s is %s. Someone may be pretending to be "
                            "your server. Trust it only if you know it is your server’s own "
                            "certificate, for example a self-signed one you made."),
                          host, reason);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self), body);
  adw_action_row_set_subtitle (self->problem_row, reason);
  adw_action_row_set_subtitle (self->subject_row, subject != NULL ? subject : "");
  adw_action_row_set_subtitle (self->issuer_row, issuer != NULL ? issuer : "");
  adw_action_row_set_subtitle (self->valid_from_row, from);
  adw_action_row_set_subtitle (self->valid_until_row, until);
  adw_action_row_set_subtitle (self->fingerprint_row, shown);
  return self;
}

const char *
hir_certificate_dialog_get_fingerprint (HirCertificateDialog *self)
{
  g_return_val_if_fail (HIR_IS_CERTIFICATE_DIALOG (self), NULL);

  return self->fingerprint;
}
