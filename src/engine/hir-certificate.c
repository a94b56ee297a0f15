/* hir-certificate.c: fetching a server's certificate so the user can decide to trust it
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "hir-certificate.h"
#include "hir-error.h"

#define FETCH_TIMEOUT 20

/* Fingerprints and reasons, shared by the JMAP, IMAP and SMTP clients */

char *
hir_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;
  g_autofree char *hex = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
  return g_strconcat ("sha256:", hex, NULL);
}

char *
hir_certificate_normalize_fingerprint (const char *fingerprint)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (fingerprint != NULL, NULL);

  if (g_ascii_strncasecmp (fingerprint, "sha256:", 7) == 0)
    fingerprint += 7;
  for (const char *p = fingerprint; *p; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (out, g_ascii_tolower (*p));
  return g_string_free (out, FALSE);
}

char *
hir_certificate_describe_errors (GTlsCertificateFlags errors)
{
  /* Translators: what is wrong with a server's certificate. They complete "The
   * certificate of HOST is …" and are joined with commas when there are several. */
  static const struct { GTlsCertificateFlags flag; const char *text; } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_("issued by an unknown authority") },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, N_("made out for another host name") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_("not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED, N_("expired") },
    { G_TLS_CERTIFICATE_REVOKED, N_("revoked") },
    { G_TLS_CERTIFICATE_INSECURE, N_("using insecure cryptography") },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, N_("invalid") },
  };
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (errors & reasons[i].flag)
      {
        if (out->len > 0)
          g_string_append (out, ", ");
        g_string_append (out, _(reasons[i].text));
      }
  if (out->len == 0)
    /* Translators: completes "The certificate of HOST is …" when no more precise
     * reason is known. */
    g_string_append (out, _("not trusted"));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Fetching a certificate for the user to look at */

typedef struct
{
  char *host;
  guint port;
  HirCertificateProtocol protocol;
  HirSecurity security;

  GTlsCertificate *certificate;
  GTlsCertificateFlags errors;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_free (fetch->host);
  g_clear_object (&fetch->certificate);
  g_free (fetch);
}

static gboolean
record_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Fetch *fetch = user_data;

  g_set_object (&fetch->certificate, certificate);
  fetch->errors = errors;
  /* Only looking: nothing goes through on a certificate nobody has accepted yet. */
  return FALSE;
}

/* Reads one reply: a line for IMAP's tagged "a …", the last line ("NNN text") for SMTP. */
static char *
read_reply (GDataInputStream  *input,
            Fetch             *fetch,
            GCancellable      *cancellable,
            GError           **error)
{
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *line = g_data_input_stream_read_line (input, NULL, cancellable, error);

      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, HIR_ERROR, HIR_ERROR_UNREACHABLE,
                         _("%s closed the connection"), fetch->host);
          return NULL;
        }
      g_strchomp (line);
      if (fetch->protocol == HIR_CERTIFICATE_PROTOCOL_IMAP && (line[0] != '*' || i == 0))
        return g_steal_pointer (&line);
      if (fetch->protocol == HIR_CERTIFICATE_PROTOCOL_SMTP && strlen (line) >= 3 && line[3] != '-')
        return g_steal_pointer (&line);
    }
  g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL, _("%s sent too many lines"), fetch->host);
  return NULL;
}

static gboolean
send_line (GIOStream     *stream,
           const char    *line,
           GCancellable  *cancellable,
           GError       **error)
{
  return g_output_stream_write_all (g_io_stream_get_output_stream (stream), line, strlen (line),
                                    NULL, cancellable, error);
}

/* The protocol's STARTTLS exchange on a plain connection. */
static gboolean
start_tls (GIOStream     *stream,
           Fetch         *fetch,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GDataInputStream) input =
    g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_autofree char *greeting = NULL;
  g_autofree char *ehlo = NULL;
  g_autofree char *reply = NULL;

  g_data_input_stream_set_newline_type (input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (input), FALSE);
  greeting = read_reply (input, fetch, cancellable, error);
  if (greeting == NULL)
    return FALSE;
  if (fetch->protocol == HIR_CERTIFICATE_PROTOCOL_IMAP)
    {
      if (!send_line (stream, "a STARTTLS\r\n", cancellable, error))
        return FALSE;
      reply = read_reply (input, fetch, cancellable, error);
      if (reply == NULL)
        return FALSE;
      if (!g_str_has_prefix (reply, "a OK"))
        goto refused;
      return TRUE;
    }

  if (!send_line (stream, "EHLO [127.0.0.1]\r\n", cancellable, error))
    return FALSE;
  ehlo = read_reply (input, fetch, cancellable, error);
  if (ehlo == NULL)
    return FALSE;
  if (!send_line (stream, "STARTTLS\r\n", cancellable, error))
    return FALSE;
  reply = read_reply (input, fetch, cancellable, error);
  if (reply == NULL)
    return FALSE;
  if (!g_str_has_prefix (reply, "220"))
    goto refused;
  return TRUE;

refused:
  g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("%s refused STARTTLS: %s"), fetch->host,
               reply);
  return FALSE;
}

static void
fetch_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  Fetch *fetch = task_data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GIOStream) tls = NULL;
  GError *error = NULL;

  g_socket_client_set_timeout (client, FETCH_TIMEOUT);
  connection = g_socket_client_connect_to_host (client, fetch->host, fetch->port, cancellable,
                                                &error);
  if (connection == NULL)
    goto failed;
  if (fetch->protocol != HIR_CERTIFICATE_PROTOCOL_HTTPS
      && fetch->security == HIR_SECURITY_STARTTLS
      && !start_tls (G_IO_STREAM (connection), fetch, cancellable, &error))
    goto failed;

  identity = g_network_address_new (fetch->host, fetch->port);
  tls = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &error);
  if (tls == NULL)
    goto failed;
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (record_certificate_cb), fetch);
  if (g_tls_connection_handshake (G_TLS_CONNECTION (tls), cancellable, &error))
    {
      /* Trusted by the system: accept-certificate never ran. */
      g_set_object (&fetch->certificate,
                    g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (tls)));
      fetch->errors = 0;
    }
  g_clear_error (&error);
  g_io_stream_close (tls, NULL, NULL);

  if (fetch->certificate == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               _("%s presented no certificate"), fetch->host);
      return;
    }
  g_task_return_pointer (task, g_object_ref (fetch->certificate), g_object_unref);
  return;

failed:
  if (error->domain != HIR_ERROR && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      GError *mapped = g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("Cannot reach %s: %s"),
                                    fetch->host, error->message);
      g_error_free (error);
      error = mapped;
    }
  g_task_return_error (task, error);
}

void
hir_certificate_fetch_async (const char             *host,
                             guint                   port,
                             HirCertificateProtocol  protocol,
                             HirSecurity             security,
                             GCancellable           *cancellable,
                             GAsyncReadyCallback     callback,
                             gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  Fetch *fetch;

  g_return_if_fail (host != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_certificate_fetch_async);
  if (security == HIR_SECURITY_NONE)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("A plain-text connection has no certificate"));
      return;
    }
  fetch = g_new0 (Fetch, 1);
  fetch->host = g_strdup (host);
  fetch->port = port;
  fetch->protocol = protocol;
  fetch->security = security;
  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_free);
  /* Blocking I/O on a worker thread keeps the STARTTLS exchanges short to read. */
  g_task_run_in_thread (task, fetch_thread);
}

GTlsCertificate *
hir_certificate_fetch_finish (GAsyncResult          *result,
                              GTlsCertificateFlags  *errors,
                              GError               **error)
{
  GTlsCertificate *certificate;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  certificate = g_task_propagate_pointer (G_TASK (result), error);
  if (certificate != NULL && errors != NULL)
    *errors = ((Fetch *) g_task_get_task_data (G_TASK (result)))->errors;
  return certificate;
}

gboolean
hir_certificate_matches_pin (GTlsCertificate *certificate,
                             const char      *pin)
{
  g_autofree char *fingerprint = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), FALSE);

  if (pin == NULL || *pin == '\0')
    return FALSE;
  fingerprint = hir_certificate_fingerprint (certificate);
  if (fingerprint == NULL)
    return FALSE;
  a = hir_certificate_normalize_fingerprint (pin);
  b = hir_certificate_normalize_fingerprint (fingerprint);
  return g_strcmp0 (a, b) == 0;
}
