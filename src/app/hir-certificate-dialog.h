/* hir-certificate-dialog.h: what is wrong with a server's certificate, and trusting it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HIR_TYPE_CERTIFICATE_DIALOG (hir_certificate_dialog_get_type ())
G_DECLARE_FINAL_TYPE (HirCertificateDialog, hir_certificate_dialog, HIR, CERTIFICATE_DIALOG,
                      AdwMessageDialog)

/* Shows the certificate @host ("host:port") presented: subject, issuer, validity, SHA-256
 * fingerprint and why it is not trusted. Responses: "cancel" and "trust" (pin exactly
 * this certificate: hir_certificate_dialog_get_fingerprint()). Never accepts by itself. */
HirCertificateDialog *hir_certificate_dialog_new             (GtkWindow            *parent,
                                                              GTlsCertificate      *certificate,
                                                              GTlsCertificateFlags  errors,
                                                              const char           *host);
/* "sha256:hex" of the certificate shown. */
const char           *hir_certificate_dialog_get_fingerprint (HirCertificateDialog *self);

G_END_DECLS
