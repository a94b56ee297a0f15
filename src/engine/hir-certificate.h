/* hir-certificate.h: fetching a server's certificate so the user can decide to trust it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"

G_BEGIN_DECLS

/* How to reach the TLS handshake: at once (https, IMAPS, SMTPS), or after the protocol's
 * STARTTLS command when the security is HIR_SECURITY_STARTTLS. */
typedef enum
{
  HIR_CERTIFICATE_PROTOCOL_HTTPS,
  HIR_CERTIFICATE_PROTOCOL_IMAP,
  HIR_CERTIFICATE_PROTOCOL_SMTP,
} HirCertificateProtocol;

/* Connects to @host:@port and returns the certificate the server presents, trusted or
 * not, with what is wrong with it (@errors, 0 when the system trusts it). No credentials
 * are sent. The certificate dialog shows it (subject, issuer, validity, fingerprint); the
 * fingerprint (hir_jmap_certificate_fingerprint) is what an account pins. */
void             hir_certificate_fetch_async   (const char              *host,
                                                guint                    port,
                                                HirCertificateProtocol   protocol,
                                                HirSecurity              security,
                                                GCancellable            *cancellable,
                                                GAsyncReadyCallback      callback,
                                                gpointer                 user_data);
GTlsCertificate *hir_certificate_fetch_finish  (GAsyncResult            *result,
                                                GTlsCertificateFlags    *errors,
                                                GError                 **error);

/* "sha256:hex" of a certificate's DER bytes: what an account pins. */
char            *hir_certificate_fingerprint           (GTlsCertificate         *certificate);
/* "sha256:AB:CD…" and "sha256:abcd…" name the same certificate: lower-case hex only. */
char            *hir_certificate_normalize_fingerprint (const char              *fingerprint);
/* Human-readable list of what is wrong with a certificate ("issued by an unknown
 * authority, expired"); completes "The certificate of HOST is …". */
char            *hir_certificate_describe_errors       (GTlsCertificateFlags     errors);

/* Whether @certificate is the one pinned as @pin ("sha256:hex", any case or colons). */
gboolean         hir_certificate_matches_pin   (GTlsCertificate         *certificate,
                                                const char              *pin);

G_END_DECLS
