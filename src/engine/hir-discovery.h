/* hir-discovery.h: finding an address's mail servers and checking the login
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-account.h"

G_BEGIN_DECLS

/* What a discovery is doing now, in the order it does it. */
typedef enum
{
  HIR_DISCOVERY_STEP_NONE,
  HIR_DISCOVERY_STEP_JMAP,         /* https://DOMAIN/.well-known/jmap, jmap.DOMAIN, mail.DOMAIN, _jmap._tcp */
  HIR_DISCOVERY_STEP_SRV,          /* RFC 6186/8314: _imaps, _imap, _submissions, _submission */
  HIR_DISCOVERY_STEP_AUTOCONFIG,   /* Mozilla-style config-v1.1.xml */
  HIR_DISCOVERY_STEP_GUESS,        /* imap., mail., smtp.DOMAIN on the usual ports */
  HIR_DISCOVERY_STEP_VERIFY_READ,  /* logging in to read (JMAP session, IMAP login) */
  HIR_DISCOVERY_STEP_VERIFY_SEND,  /* logging in to send (JMAP submission, SMTP AUTH) */
  HIR_DISCOVERY_STEP_DONE,
} HirDiscoveryStep;

#define HIR_TYPE_DISCOVERY (hir_discovery_get_type ())
G_DECLARE_FINAL_TYPE (HirDiscovery, hir_discovery, HIR, DISCOVERY, GObject)

/* Finds the servers of an address and checks that the password works for reading and for
 * sending. The result is a configured HirAccount that is not saved anywhere: hand it to
 * hir_engine_add_account_async(). GTK-free; the setup assistant shows its steps.
 *
 * A certificate the system does not trust stops the discovery with
 * HIR_ERROR_CERTIFICATE_UNTRUSTED; the certificate, what is wrong with it and where it was
 * presented are then in the certificate* properties. If the user trusts it, set
 * trusted-certificate to its fingerprint and run again: exactly that certificate is
 * accepted (and pinned in the account), any other is refused again.
 *
 * Properties:
 *   address              string   the e-mail address (construct-only)
 *   display-name         string   the user's name for the account
 *   password             string   (write-only in spirit: never logged)
 *   trusted-certificate  string   "sha256:HEX" the user accepted, or NULL
 *   https-port           uint     port for the https fetches discovery builds (well-known,
 *                                 autoconfig); 0: 443. For tests.
 *   http-port            uint     same for the plain-http autoconfig fallback; 0: 80
 *   step                 uint     HirDiscoveryStep, read-only
 *   certificate          GTlsCertificate  the untrusted certificate that stopped it, or NULL
 *   certificate-errors   GTlsCertificateFlags  what is wrong with it
 *   certificate-host     string   "host:port" that presented it
 *
 * Signals:
 *   step (guint step, const char *detail)  a step (or one probe of it) starts; @detail
 *                                          names what is tried ("https://…", "_imaps._tcp…")
 */
HirDiscovery     *hir_discovery_new                  (const char           *address);

const char       *hir_discovery_get_address          (HirDiscovery         *self);
void              hir_discovery_set_display_name     (HirDiscovery         *self,
                                                      const char           *display_name);
void              hir_discovery_set_password         (HirDiscovery         *self,
                                                      const char           *password);
const char       *hir_discovery_get_trusted_certificate (HirDiscovery      *self);
void              hir_discovery_set_trusted_certificate (HirDiscovery      *self,
                                                      const char           *fingerprint);
HirDiscoveryStep  hir_discovery_get_step             (HirDiscovery         *self);
GTlsCertificate  *hir_discovery_get_certificate      (HirDiscovery         *self);
GTlsCertificateFlags hir_discovery_get_certificate_errors (HirDiscovery    *self);
const char       *hir_discovery_get_certificate_host (HirDiscovery         *self);
/* What the last run found, even when it failed (to prefill the manual form), or NULL. */
HirAccount       *hir_discovery_get_found            (HirDiscovery         *self);

/* Finds the servers, then verifies the login. Errors: HIR_ERROR_NOT_FOUND (nothing found:
 * ask the user), AUTH_FAILED (wrong password), CERTIFICATE_UNTRUSTED, UNREACHABLE,
 * CONFIG (e.g. a JMAP server that offers no sending). */
void              hir_discovery_run_async            (HirDiscovery         *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
HirAccount       *hir_discovery_run_finish           (HirDiscovery         *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
/* Only the login check, for servers the user typed in: @account's servers with the
 * discovery's password and trusted certificate. Returns a copy of @account configured
 * like the result of a run. */
void              hir_discovery_verify_async         (HirDiscovery         *self,
                                                      HirAccount           *account,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
HirAccount       *hir_discovery_verify_finish        (HirDiscovery         *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

/* A step in words ("Looking for a JMAP server"), for the assistant. */
const char       *hir_discovery_step_describe        (HirDiscoveryStep      step);

G_END_DECLS
