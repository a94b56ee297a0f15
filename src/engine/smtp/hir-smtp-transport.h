/* hir-smtp-transport.h: message submission over SMTP (RFC 6409)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gmime/gmime.h>

#include "hir-account.h"

G_BEGIN_DECLS

#define HIR_TYPE_SMTP_TRANSPORT (hir_smtp_transport_get_type ())
G_DECLARE_FINAL_TYPE (HirSmtpTransport, hir_smtp_transport, HIR, SMTP_TRANSPORT, GObject)

/* Each send is one connection: TCP, implicit TLS (465) or STARTTLS (587; refused when not
 * offered, unless the security is HIR_SECURITY_NONE), EHLO, AUTH PLAIN or LOGIN, then
 * MAIL FROM / RCPT TO / DATA — pipelined when the server offers PIPELINING — with SIZE
 * declared and checked before anything is sent, BODY=8BITMIME for 8-bit messages, and
 * the data dot-stuffed.
 *
 * Errors (HIR_ERROR): UNREACHABLE for a connection that fails and for 4xx replies (the
 * server asks to try again later: the outbox retries), SERVER for 5xx replies with the
 * server's text (permanent: the message needs a change), AUTH_FAILED, CERTIFICATE_UNTRUSTED
 * (with the fingerprint), CONFIG (STARTTLS required but not offered).
 *
 * Properties:
 *   messages-sent  uint  read-only: messages the server accepted (tests) */
HirSmtpTransport *hir_smtp_transport_new              (const char          *host,
                                                       guint                port,
                                                       HirSecurity          security,
                                                       const char          *username,
                                                       const char          *password,
                                                       const char          *trusted_certificate);
/* With the account's smtp-host, smtp-port, smtp-security, username (else address) and
 * trusted-certificate. */
HirSmtpTransport *hir_smtp_transport_new_for_account  (HirAccount          *account,
                                                       const char          *password);
void              hir_smtp_transport_set_password     (HirSmtpTransport    *self,
                                                       const char          *password);
guint             hir_smtp_transport_get_messages_sent (HirSmtpTransport   *self);
/* What the server said in its last EHLO (FALSE / 0 before the first send): whether to
 * build the next message with 8-bit parts (hir_outgoing_build_mime), and its SIZE limit
 * (0: none given). */
gboolean          hir_smtp_transport_get_8bitmime     (HirSmtpTransport    *self);
guint64           hir_smtp_transport_get_size_limit   (HirSmtpTransport    *self);

/* Sends @message (RFC 5322, any line ends) from @from to @recipients (NULL-terminated
 * addresses). The bytes go out as they are: a Bcc header, if any, is the caller's to
 * remove. */
void              hir_smtp_transport_send_async       (HirSmtpTransport    *self,
                                                       GBytes              *message,
                                                       const char          *from,
                                                       const char * const  *recipients,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean          hir_smtp_transport_send_finish      (HirSmtpTransport    *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* Checks the login without sending anything: connects, EHLO, STARTTLS or TLS, AUTH, then
 * QUIT (for account setup). A server that offers no AUTH PLAIN or LOGIN is CONFIG. */
void              hir_smtp_transport_verify_async     (HirSmtpTransport    *self,
                                                       GCancellable        *cancellable,
                                                       GAsyncReadyCallback  callback,
                                                       gpointer             user_data);
gboolean          hir_smtp_transport_verify_finish    (HirSmtpTransport    *self,
                                                       GAsyncResult        *result,
                                                       GError             **error);

/* Sends a GMimeMessage: the envelope comes from its From (or Sender) and its To, Cc and
 * Bcc when @from / @recipients are NULL; Bcc is left out of the bytes sent. */
void              hir_smtp_transport_send_message_async  (HirSmtpTransport    *self,
                                                          GMimeMessage        *message,
                                                          const char          *from,
                                                          const char * const  *recipients,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
gboolean          hir_smtp_transport_send_message_finish (HirSmtpTransport    *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

G_END_DECLS
