/* hir-smtp-transport.c: message submission over SMTP (RFC 6409)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "hir-certificate.h"
#include "hir-error.h"
#include "hir-smtp-transport.h"

#define CONNECT_TIMEOUT 30
/* RFC 5321 §4.5.3.2 allows the server minutes per reply (10 after the final dot). */
#define IO_TIMEOUT 600
/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 bytes; be generous with odd servers. */
#define MAX_REPLY_LINES 1000

struct _HirSmtpTransport
{
  GObject parent_instance;

  char *host;
  guint port;
  HirSecurity security;
  char *username;
  char *password;
  char *trusted_certificate;
  guint messages_sent;

  /* What the last EHLO said, for the outbox to build the next message right. */
  gboolean eight_bit_mime;
  guint64 size_limit;
};

G_DEFINE_FINAL_TYPE (HirSmtpTransport, hir_smtp_transport, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MESSAGES_SENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hir_smtp_transport_finalize (GObject *object)
{
  HirSmtpTransport *self = (HirSmtpTransport *) object;

  g_free (self->host);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->trusted_certificate);

  G_OBJECT_CLASS (hir_smtp_transport_parent_class)->finalize (object);
}

static void
hir_smtp_transport_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  HirSmtpTransport *self = HIR_SMTP_TRANSPORT (object);

  switch (prop_id)
    {
    case PROP_MESSAGES_SENT:
      g_value_set_uint (value, self->messages_sent);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_smtp_transport_class_init (HirSmtpTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_smtp_transport_finalize;
  object_class->get_property = hir_smtp_transport_get_property;

  properties[PROP_MESSAGES_SENT] =
    g_param_spec_uint ("messages-sent", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_mime_init ();
}

static void
hir_smtp_transport_init (HirSmtpTransport *self)
{
}

HirSmtpTransport *
hir_smtp_transport_new (const char  *host,
                        guint        port,
                        HirSecurity  security,
                        const char  *username,
                        const char  *password,
                        const char  *trusted_certificate)
{
  HirSmtpTransport *self;

  g_return_val_if_fail (host != NULL, NULL);

  self = g_object_new (HIR_TYPE_SMTP_TRANSPORT, NULL);
  self->host = g_strdup (host);
  self->port = port != 0 ? port : (security == HIR_SECURITY_TLS ? 465 : 587);
  self->security = security;
  self->username = g_strdup (username);
  self->password = g_strdup (password);
  self->trusted_certificate = g_strdup (trusted_certificate);
  return self;
}

HirSmtpTransport *
hir_smtp_transport_new_for_account (HirAccount *account,
                                    const char *password)
{
  const char *username;
  const char *host;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);

  host = hir_account_get_smtp_host (account);
  username = hir_account_get_username (account);
  if (username == NULL || *username == '\0')
    username = hir_account_get_address (account);
  return hir_smtp_transport_new (host != NULL ? host : "", hir_account_get_smtp_port (account),
                                 hir_account_get_smtp_security (account), username, password,
                                 hir_account_get_trusted_certificate (account));
}

void
hir_smtp_transport_set_password (HirSmtpTransport *self,
                                 const char       *password)
{
  g_return_if_fail (HIR_IS_SMTP_TRANSPORT (self));

  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
}

gboolean
hir_smtp_transport_get_8bitmime (HirSmtpTransport *self)
{
  g_return_val_if_fail (HIR_IS_SMTP_TRANSPORT (self), FALSE);

  return self->eight_bit_mime;
}

guint64
hir_smtp_transport_get_size_limit (HirSmtpTransport *self)
{
  g_return_val_if_fail (HIR_IS_SMTP_TRANSPORT (self), 0);

  return self->size_limit;
}

guint
hir_smtp_transport_get_messages_sent (HirSmtpTransport *self)
{
  g_return_val_if_fail (HIR_IS_SMTP_TRANSPORT (self), 0);

  return self->messages_sent;
}

/* One submission */

typedef enum
{
  STAGE_GREETING,
  STAGE_EHLO,
  STAGE_STARTTLS,
  STAGE_AUTH,
  STAGE_ENVELOPE,
  STAGE_DATA,
  STAGE_QUIT,
} Stage;

typedef struct
{
  int code;
  char *text;   /* every line's text, joined by spaces */
} Reply;

typedef struct
{
  Stage stage;
  GBytes *message;
  char *from;
  GStrv recipients;

  GSocketConnection *socket;
  GIOStream *stream;
  GDataInputStream *input;
  gboolean tls_done;

  GHashTable *extensions;  /* EHLO keywords, upper case → parameters */
  GPtrArray *replies;      /* Reply */
  guint replies_wanted;
  GString *reply_text;
  guint reply_lines;
  GPtrArray *batch;        /* commands still to send when not pipelining */
  GPtrArray *envelope;     /* Reply: MAIL, RCPT…, DATA, gathered one by one */
  void (*after_replies) (GTask *task);

  char *peer_fingerprint;
  GTlsCertificateFlags peer_errors;
  gboolean verify_only;    /* hir_smtp_transport_verify_async: stop after AUTH */
} SendOp;

static void
reply_free (Reply *reply)
{
  g_free (reply->text);
  g_free (reply);
}

static void
send_op_free (SendOp *op)
{
  if (op->stream != NULL)
    g_io_stream_close_async (op->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&op->input);
  g_clear_object (&op->stream);
  g_clear_object (&op->socket);
  g_clear_pointer (&op->message, g_bytes_unref);
  g_free (op->from);
  g_strfreev (op->recipients);
  g_clear_pointer (&op->extensions, g_hash_table_unref);
  g_clear_pointer (&op->replies, g_ptr_array_unref);
  g_clear_pointer (&op->batch, g_ptr_array_unref);
  g_clear_pointer (&op->envelope, g_ptr_array_unref);
  if (op->reply_text != NULL)
    g_string_free (op->reply_text, TRUE);
  g_free (op->peer_fingerprint);
  g_free (op);
}

static void send_next (GTask *task);
static void send_fail (GTask *task, GError *error);

static GError *
map_io_error (HirSmtpTransport *self,
              SendOp           *op,
              const GError     *error)
{
  if (error->domain == HIR_ERROR || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  if (op->peer_fingerprint != NULL && op->peer_errors != 0)
    {
      g_autofree char *reason = hir_certificate_describe_errors (op->peer_errors);

      /* Translators: the first %s is a host name, the second the reasons the certificate
       * is not trusted ("self-signed, expired"), the third the certificate's fingerprint
       * ("sha256:…"). */
      return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                          _("The certificate of %s is %s (fingerprint %s)"), self->host, reason,
                          op->peer_fingerprint);
    }
  if (error->domain == G_TLS_ERROR)
    /* Translators: the first %s is a host name, the second the TLS library's reason. */
    return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                        _("The secure connection to %s failed: %s"), self->host, error->message);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    /* Translators: the first %s is a host name, the second the system's reason. */
    return g_error_new (HIR_ERROR, HIR_ERROR_OFFLINE, _("No network to reach %s: %s"),
                        self->host, error->message);
  /* Translators: "Cannot reach HOST:PORT: REASON"; the reason comes from the system. */
  return g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("Cannot reach %s:%u: %s"), self->host,
                      self->port, error->message);
}

/* A reply that is not what the step needed: 4xx is temporary (the outbox tries again
 * later), 5xx is the server's final word. */
static GError *
reply_error (HirSmtpTransport *self,
             const char       *what,
             Reply            *reply)
{
  if (reply->code >= 400 && reply->code < 500)
    /* Translators: the first %s is a host name, the second what was refused ("the login",
     * "the recipient <bob@example.com>"), then the server's reply code and words,
     * untranslated. */
    return g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE,
                        _("%s refused %s for now, try again later: %d %s"), self->host, what,
                        reply->code, reply->text);
  if (reply->code >= 500 && reply->code < 600)
    /* Translators: the first %s is a host name, the second what was refused ("the login",
     * "the recipient <bob@example.com>"), then the server's reply code and words,
     * untranslated. */
    return g_error_new (HIR_ERROR, HIR_ERROR_SERVER, _("%s refused %s: %d %s"), self->host,
                        what, reply->code, reply->text);
  /* Translators: the first %s is a host name, the second what it answered ("the login",
   * "the recipient <bob@example.com>"), then the server's reply code and words,
   * untranslated. */
  return g_error_new (HIR_ERROR, HIR_ERROR_PROTOCOL, _("%s answered %s with “%d %s”"),
                      self->host, what, reply->code, reply->text);
}

static void
send_fail (GTask  *task,
           GError *error)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  GError *mapped = map_io_error (self, op, error);

  g_error_free (error);
  /* A write and a read may both fail: the first one reports. */
  if (g_task_had_error (task) || g_task_get_completed (task))
    g_error_free (mapped);
  else if (op->stage == STAGE_QUIT)
    {
      /* The server took the message before QUIT: how it says goodbye does not matter. */
      g_error_free (mapped);
      g_task_return_boolean (task, TRUE);
    }
  else
    g_task_return_error (task, mapped);
  g_object_unref (task);
}

/* Writing */

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SendOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  /* Success: the reader is already waiting for the reply. Failure: report it, and close
   * the connection so that the reader stops waiting (it finds the task done). */
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      send_fail (g_object_ref (task), error);
      if (op->stream != NULL)
        g_io_stream_close_async (op->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
}

static void read_reply (GTask *task);

/* Writes @text (commands with their CRLF) and collects @n replies, then runs @then. */
static void
send_and_read (GTask       *task,
               GBytes      *bytes,
               guint        n,
               void       (*then) (GTask *task))
{
  SendOp *op = g_task_get_task_data (task);
  GOutputStream *out = g_io_stream_get_output_stream (op->stream);
  gsize len = 0;
  const void *data = g_bytes_get_data (bytes, &len);

  /* The bytes outlive the write: the op holds them. */
  g_object_set_data_full (G_OBJECT (task), "hir-pending-write", g_bytes_ref (bytes),
                          (GDestroyNotify) g_bytes_unref);
  g_ptr_array_set_size (op->replies, 0);
  op->replies_wanted = n;
  op->after_replies = then;
  if (len > 0)
    {
      /* The write and the read run side by side; each holds the task. The write's
       * failure is the one reported: the read then fails too and finds the task done. */
      g_output_stream_write_all_async (out, data, len, G_PRIORITY_DEFAULT,
                                       g_task_get_cancellable (task), write_cb,
                                       g_object_ref (task));
    }
  read_reply (task);
}

static void
send_text (GTask       *task,
           const char  *text,
           void       (*then) (GTask *task))
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  if (g_str_has_prefix (text, "AUTH"))
    g_debug ("SMTP > AUTH …");
  else
    g_debug ("SMTP > %.*s", (int) strcspn (text, "\r"), text);
  send_and_read (task, bytes, 1, then);
}

/* Reading */

static void
read_line_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  g_autofree char *line = NULL;
  GError *error = NULL;
  gsize len = 0;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (object), result, &len,
                                               &error);
  if (g_task_get_completed (task) || g_task_had_error (task))
    {
      g_clear_error (&error);
      g_object_unref (task);
      return;
    }
  if (line == NULL)
    {
      if (error == NULL)
        /* Translators: %s is a server's host name. */
        error = g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("%s closed the connection"),
                             self->host);
      send_fail (task, error);
      return;
    }
  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0';
  g_debug ("SMTP < %s", line);

  if (len < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) ||
      !g_ascii_isdigit (line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-') ||
      ++op->reply_lines > MAX_REPLY_LINES)
    {
      send_fail (task, g_error_new (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                    /* Translators: the first %s is a host name, the
                                     * second the line it sent, untranslated. */
                                    _("%s sent something that is not an SMTP reply: “%s”"),
                                    self->host, line));
      return;
    }

  if (op->reply_text == NULL)
    op->reply_text = g_string_new (NULL);
  else
    g_string_append_c (op->reply_text, '\n');
  g_string_append (op->reply_text, len > 4 ? line + 4 : "");

  if (len > 3 && line[3] == '-')
    {
      g_data_input_stream_read_line_async (op->input, G_PRIORITY_DEFAULT,
                                           g_task_get_cancellable (task), read_line_cb, task);
      return;
    }

  {
    Reply *reply = g_new0 (Reply, 1);

    reply->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    reply->text = g_string_free (op->reply_text, FALSE);
    op->reply_text = NULL;
    op->reply_lines = 0;
    g_ptr_array_add (op->replies, reply);
  }

  if (op->replies->len < op->replies_wanted)
    {
      g_data_input_stream_read_line_async (op->input, G_PRIORITY_DEFAULT,
                                           g_task_get_cancellable (task), read_line_cb, task);
      return;
    }
  op->after_replies (task);
}

static void
read_reply (GTask *task)
{
  SendOp *op = g_task_get_task_data (task);

  g_data_input_stream_read_line_async (op->input, G_PRIORITY_DEFAULT,
                                       g_task_get_cancellable (task), read_line_cb, task);
}

static Reply *
first_reply (SendOp *op)
{
  return g_ptr_array_index (op->replies, 0);
}

static void
use_stream (SendOp    *op,
            GIOStream *stream)
{
  g_clear_object (&op->input);
  if (op->stream != stream)
    {
      g_clear_object (&op->stream);
      op->stream = g_object_ref (stream);
    }
  op->input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (op->input), FALSE);
  g_data_input_stream_set_newline_type (op->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
}

/* TLS */

static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       GTask                *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  g_autofree char *fingerprint = hir_certificate_fingerprint (certificate);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_free (op->peer_fingerprint);
  op->peer_fingerprint = g_strdup (fingerprint);
  op->peer_errors = errors;
  if (self->trusted_certificate == NULL || fingerprint == NULL)
    return FALSE;
  /* The pin trusts exactly this certificate, as for IMAP and JMAP. */
  a = hir_certificate_normalize_fingerprint (self->trusted_certificate);
  b = hir_certificate_normalize_fingerprint (fingerprint);
  return g_str_equal (a, b);
}

static void
handshake_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  SendOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, &error))
    {
      send_fail (task, error);
      return;
    }
  op->peer_errors = 0;
  op->tls_done = TRUE;
  use_stream (op, G_IO_STREAM (object));
  /* Implicit TLS: the greeting comes now. After STARTTLS: EHLO again (RFC 3207 §4.2). */
  if (op->stage == STAGE_GREETING)
    read_reply (task);
  else
    {
      op->stage = STAGE_EHLO;
      send_next (task);
    }
}

static void
start_tls (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (self->host, self->port);
  g_autoptr(GIOStream) tls = NULL;
  GError *error = NULL;

  tls = g_tls_client_connection_new (G_IO_STREAM (op->socket), identity, &error);
  if (tls == NULL)
    {
      send_fail (task, error);
      return;
    }
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), task);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), handshake_cb, task);
}

/* The steps */

static gboolean
has_extension (SendOp     *op,
               const char *name)
{
  return op->extensions != NULL && g_hash_table_contains (op->extensions, name);
}

static void
parse_ehlo (HirSmtpTransport *self,
            SendOp           *op,
            Reply            *reply)
{
  const char *size;

  g_auto(GStrv) lines = g_strsplit (reply->text, "\n", -1);

  g_clear_pointer (&op->extensions, g_hash_table_unref);
  op->extensions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* The first line is the server's name. */
  for (guint i = 1; lines[i] != NULL; i++)
    {
      const char *space = strchr (lines[i], ' ');
      g_autofree char *keyword = space ? g_strndup (lines[i], space - lines[i])
                                       : g_strdup (lines[i]);

      g_hash_table_replace (op->extensions, g_ascii_strup (keyword, -1),
                            g_strdup (space ? space + 1 : ""));
    }
  self->eight_bit_mime = g_hash_table_contains (op->extensions, "8BITMIME");
  size = g_hash_table_lookup (op->extensions, "SIZE");
  self->size_limit = size != NULL ? g_ascii_strtoull (size, NULL, 10) : 0;
}

static void
verify_quit_done (GTask *task)
{
  /* The login was accepted: whatever QUIT says does not change that. */
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
step_done (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  Reply *reply = first_reply (op);

  switch (op->stage)
    {
    case STAGE_GREETING:
      if (reply->code != 220)
        {
          send_fail (task, reply_error (self,
                                        /* Translators: completes "HOST refused %s…". */
                                        C_("smtp-refused", "the connection"), reply));
          return;
        }
      op->stage = STAGE_EHLO;
      break;

    case STAGE_EHLO:
      if (reply->code != 250)
        {
          send_fail (task, reply_error (self, "EHLO", reply));
          return;
        }
      parse_ehlo (self, op, reply);
      op->stage = (self->security == HIR_SECURITY_STARTTLS && !op->tls_done) ? STAGE_STARTTLS
                                                                               : STAGE_AUTH;
      break;

    case STAGE_STARTTLS:
      if (reply->code != 220)
        {
          send_fail (task, reply_error (self, "STARTTLS", reply));
          return;
        }
      start_tls (task);
      return;

    case STAGE_AUTH:
      if (reply->code == 334)
        {
          /* AUTH LOGIN: the server asks for the user name, then the password. */
          const char *answer = g_object_get_data (G_OBJECT (task), "hir-login-next");
          g_autofree char *line = NULL;

          if (answer == NULL)
            {
              send_fail (task, reply_error (self, C_("smtp-refused", "the login"), reply));
              return;
            }
          line = g_strconcat (answer, "\r\n", NULL);
          g_object_set_data_full (G_OBJECT (task), "hir-login-next",
                                  g_object_steal_data (G_OBJECT (task), "hir-login-last"),
                                  g_free);
          send_text (task, line, step_done);
          return;
        }
      if (reply->code != 235)
        {
          if (reply->code == 535 || reply->code == 534 || reply->code == 530)
            send_fail (task, g_error_new (HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                                          /* Translators: the first %s is a host name,
                                           * then the server's reply code and words,
                                           * untranslated. */
                                          _("%s refused the user name or password: %d %s"),
                                          self->host, reply->code, reply->text));
          else
            send_fail (task, reply_error (self, C_("smtp-refused", "the login"), reply));
          return;
        }
      if (op->verify_only)
        {
          send_text (task, "QUIT\r\n", verify_quit_done);
          return;
        }
      op->stage = STAGE_ENVELOPE;
      break;

    case STAGE_ENVELOPE:
    case STAGE_DATA:
    case STAGE_QUIT:
      g_assert_not_reached ();
    }
  send_next (task);
}

static void
quit_done (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);

  /* The message was accepted before QUIT: whatever QUIT says does not change that. */
  self->messages_sent++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGES_SENT]);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
data_done (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  Reply *reply = first_reply (op);

  if (reply->code != 250)
    {
      send_fail (task, reply_error (self, C_("smtp-refused", "the message"), reply));
      return;
    }
  op->stage = STAGE_QUIT;
  send_text (task, "QUIT\r\n", quit_done);
}

/* The message as DATA wants it: CRLF line ends, lines starting with "." doubled
 * (RFC 5321 §4.5.2), and the final "." line. */
static GBytes *
dot_stuff (GBytes *message)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  GByteArray *out = g_byte_array_sized_new (len + len / 40 + 8);
  gboolean line_start = TRUE;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (line_start && c == '.')
        g_byte_array_append (out, (const guint8 *) ".", 1);
      if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
        continue;
      if (c == '\n' || c == '\r')
        {
          g_byte_array_append (out, (const guint8 *) "\r\n", 2);
          line_start = TRUE;
          continue;
        }
      g_byte_array_append (out, (const guint8 *) &c, 1);
      line_start = FALSE;
    }
  if (!line_start)
    g_byte_array_append (out, (const guint8 *) "\r\n", 2);
  g_byte_array_append (out, (const guint8 *) ".\r\n", 3);
  return g_byte_array_free_to_bytes (out);
}

/* What the @i-th envelope command named, for the error message. */
static char *
envelope_what (SendOp *op,
               guint   i)
{
  if (i == 0)
    /* Translators: completes "HOST refused %s…"; %s is an email address. */
    return g_strdup_printf (C_("smtp-refused", "the sender <%s>"), op->from);
  if (i - 1 < g_strv_length (op->recipients))
    /* Translators: completes "HOST refused %s…"; %s is an email address. */
    return g_strdup_printf (C_("smtp-refused", "the recipient <%s>"), op->recipients[i - 1]);
  return g_strdup (C_("smtp-refused", "the message"));
}

static void
check_envelope (GTask     *task,
                GPtrArray *replies)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  g_autoptr(GBytes) data = NULL;
  guint n = replies->len;

  /* MAIL, every RCPT, then DATA's 354. */
  for (guint i = 0; i + 1 < n; i++)
    {
      Reply *reply = g_ptr_array_index (replies, i);

      if (reply->code != 250 && reply->code != 251)
        {
          g_autofree char *what = envelope_what (op, i);

          /* DATA may have been accepted anyway (pipelining): dropping the connection
           * without the final "." makes the server forget the transaction. */
          send_fail (task, reply_error (self, what, reply));
          return;
        }
    }
  if (((Reply *) g_ptr_array_index (replies, n - 1))->code != 354)
    {
      send_fail (task, reply_error (self, C_("smtp-refused", "the message"),
                                    g_ptr_array_index (replies, n - 1)));
      return;
    }

  op->stage = STAGE_DATA;
  data = dot_stuff (op->message);
  g_debug ("SMTP > (%" G_GSIZE_FORMAT " bytes of message)", g_bytes_get_size (data));
  send_and_read (task, data, 1, data_done);
}

static void
envelope_done (GTask *task)
{
  SendOp *op = g_task_get_task_data (task);

  if (op->batch == NULL)
    {
      check_envelope (task, op->replies);
      return;
    }

  /* Without pipelining the commands go one by one: stop at the first refusal. */
  {
    Reply *reply = g_ptr_array_steal_index (op->replies, 0);
    g_autofree char *command = NULL;

    g_ptr_array_add (op->envelope, reply);
    if (reply->code >= 400)
      {
        HirSmtpTransport *self = g_task_get_source_object (task);
        g_autofree char *what = envelope_what (op, op->envelope->len - 1);

        send_fail (task, reply_error (self, what, reply));
        return;
      }
    if (op->batch->len == 0)
      {
        check_envelope (task, op->envelope);
        return;
      }
    command = g_ptr_array_steal_index (op->batch, 0);
    send_text (task, command, envelope_done);
  }
}

static gboolean
is_8bit (GBytes *bytes)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  for (gsize i = 0; i < len; i++)
    if (data[i] & 0x80)
      return TRUE;
  return FALSE;
}

static void
send_envelope (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  g_autoptr(GPtrArray) commands = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) params = g_string_new (NULL);
  gsize size = g_bytes_get_size (op->message);
  const char *limit_text = op->extensions ? g_hash_table_lookup (op->extensions, "SIZE") : NULL;
  guint64 limit = limit_text != NULL ? g_ascii_strtoull (limit_text, NULL, 10) : 0;

  /* Refused before a byte of it goes out, with the server's own limit. */
  if (limit > 0 && size > limit)
    {
      /* The numbers are formatted apart: xgettext cannot read G_GSIZE_FORMAT. */
      g_autofree char *size_text = g_strdup_printf ("%" G_GSIZE_FORMAT, size);
      g_autofree char *limit_text_bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, limit);

      /* Translators: the first %s is a host name, the second and third are numbers of
       * bytes. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER,
                               _("The message is too big for %s: %s bytes, "
                                 "the server accepts at most %s bytes"),
                               self->host, size_text, limit_text_bytes);
      g_object_unref (task);
      return;
    }

  if (has_extension (op, "SIZE"))
    g_string_append_printf (params, " SIZE=%" G_GSIZE_FORMAT, size);
  if (has_extension (op, "8BITMIME") && is_8bit (op->message))
    g_string_append (params, " BODY=8BITMIME");
  g_ptr_array_add (commands, g_strdup_printf ("MAIL FROM:<%s>%s\r\n", op->from, params->str));
  for (guint i = 0; op->recipients[i] != NULL; i++)
    g_ptr_array_add (commands, g_strdup_printf ("RCPT TO:<%s>\r\n", op->recipients[i]));
  g_ptr_array_add (commands, g_strdup ("DATA\r\n"));

  op->stage = STAGE_ENVELOPE;
  if (has_extension (op, "PIPELINING"))
    {
      /* One round trip for the whole envelope (RFC 2920). */
      g_autoptr(GString) all = g_string_new (NULL);
      g_autoptr(GBytes) bytes = NULL;
      guint n = commands->len;

      for (guint i = 0; i < commands->len; i++)
        g_string_append (all, g_ptr_array_index (commands, i));
      g_debug ("SMTP > MAIL FROM, %u × RCPT TO, DATA (pipelined)", n - 2);
      bytes = g_bytes_new (all->str, all->len);
      send_and_read (task, bytes, n, envelope_done);
      return;
    }

  op->batch = g_steal_pointer (&commands);
  op->envelope = g_ptr_array_new_with_free_func ((GDestroyNotify) reply_free);
  {
    g_autofree char *first = g_ptr_array_steal_index (op->batch, 0);

    send_text (task, first, envelope_done);
  }
}

static void
send_auth (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  const char *mechanisms = op->extensions ? g_hash_table_lookup (op->extensions, "AUTH") : NULL;
  g_autofree char *upper = mechanisms ? g_ascii_strup (mechanisms, -1) : NULL;
  g_auto(GStrv) list = upper ? g_strsplit (upper, " ", -1) : NULL;
  gboolean plain = list != NULL && g_strv_contains ((const char * const *) list, "PLAIN");
  gboolean login = list != NULL && g_strv_contains ((const char * const *) list, "LOGIN");
  const char *user = self->username ? self->username : "";
  const char *pass = self->password ? self->password : "";

  if (op->verify_only && (self->username == NULL || self->password == NULL))
    {
      verify_quit_done (task);
      return;
    }
  if (op->verify_only && !plain && !login)
    {
      send_fail (task, g_error_new (HIR_ERROR, HIR_ERROR_CONFIG,
                                    /* Translators: %s is a host name; AUTH PLAIN and LOGIN
                                     * are protocol words. */
                                    _("%s offers no way to log in (AUTH PLAIN or LOGIN)"),
                                    self->host));
      return;
    }
  if (self->username == NULL || self->password == NULL || (!plain && !login))
    {
      /* No credentials, or a server that takes none (a local relay): go on without. */
      op->stage = STAGE_ENVELOPE;
      send_envelope (task);
      return;
    }

  if (plain)
    {
      gsize ulen = strlen (user), plen = strlen (pass);
      g_autofree guint8 *raw = g_malloc (ulen + plen + 2);
      g_autofree char *encoded = NULL;
      g_autofree char *line = NULL;

      raw[0] = 0;
      memcpy (raw + 1, user, ulen);
      raw[ulen + 1] = 0;
      memcpy (raw + ulen + 2, pass, plen);
      encoded = g_base64_encode (raw, ulen + plen + 2);
      memset (raw, 0, ulen + plen + 2);
      line = g_strdup_printf ("AUTH PLAIN %s\r\n", encoded);
      send_text (task, line, step_done);
      return;
    }

  g_object_set_data_full (G_OBJECT (task), "hir-login-next",
                          g_base64_encode ((const guchar *) user, strlen (user)), g_free);
  g_object_set_data_full (G_OBJECT (task), "hir-login-last",
                          g_base64_encode ((const guchar *) pass, strlen (pass)), g_free);
  send_text (task, "AUTH LOGIN\r\n", step_done);
}

static void
send_next (GTask *task)
{
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);

  switch (op->stage)
    {
    case STAGE_EHLO:
      {
        /* A literal address: the machine's name means nothing to the server and may
         * leak; RFC 5321 §4.1.4 allows an address literal. */
        send_text (task, "EHLO [127.0.0.1]\r\n", step_done);
        return;
      }

    case STAGE_STARTTLS:
      if (!has_extension (op, "STARTTLS"))
        {
          g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                                   /* Translators: %s is a server's host name; STARTTLS
                                    * and TLS are protocol names. */
                                   _("%s does not offer STARTTLS: Hirondelle will not send "
                                     "your password and mail in plain text. Choose TLS, or "
                                     "check the server's port"), self->host);
          g_object_unref (task);
          return;
        }
      send_text (task, "STARTTLS\r\n", step_done);
      return;

    case STAGE_AUTH:
      send_auth (task);
      return;

    case STAGE_ENVELOPE:
      send_envelope (task);
      return;

    case STAGE_GREETING:
    case STAGE_DATA:
    case STAGE_QUIT:
      g_assert_not_reached ();
    }
}

static void
tcp_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  GTask *task = user_data;
  HirSmtpTransport *self = g_task_get_source_object (task);
  SendOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  op->socket = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &error);
  if (op->socket == NULL)
    {
      send_fail (task, error);
      return;
    }
  /* GSocketClient's timeout was for connecting; replies get the longer one. */
  g_socket_set_timeout (g_socket_connection_get_socket (op->socket), IO_TIMEOUT);
  op->stage = STAGE_GREETING;
  op->replies_wanted = 1;
  op->after_replies = step_done;
  if (self->security == HIR_SECURITY_TLS)
    {
      start_tls (task);
      return;
    }
  use_stream (op, G_IO_STREAM (op->socket));
  read_reply (task);
}

void
hir_smtp_transport_send_async (HirSmtpTransport    *self,
                               GBytes              *message,
                               const char          *from,
                               const char * const  *recipients,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GSocketClient) client = NULL;
  SendOp *op;
  GTask *task;

  g_return_if_fail (HIR_IS_SMTP_TRANSPORT (self));
  g_return_if_fail (message != NULL);
  g_return_if_fail (from != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_smtp_transport_send_async);
  op = g_new0 (SendOp, 1);
  op->message = g_bytes_ref (message);
  op->from = g_strdup (from);
  op->recipients = g_strdupv ((char **) recipients);
  op->replies = g_ptr_array_new_with_free_func ((GDestroyNotify) reply_free);
  g_task_set_task_data (task, op, (GDestroyNotify) send_op_free);

  if (recipients == NULL || recipients[0] == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("The message has no recipient"));
      g_object_unref (task);
      return;
    }
  /* Addresses go inside <…> on the command line: nothing may break out of it. */
  for (guint i = 0; i <= g_strv_length (op->recipients); i++)
    {
      const char *address = i == 0 ? from : op->recipients[i - 1];

      if (strpbrk (address, "<>\r\n ") != NULL)
        {
          g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                                   /* Translators: %s is an email address. */
                                   _("“%s” is not a valid address"), address);
          g_object_unref (task);
          return;
        }
    }
  if (*self->host == '\0')
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("The account has no SMTP server"));
      g_object_unref (task);
      return;
    }

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT);
  g_socket_client_connect_to_host_async (client, self->host, self->port, cancellable, tcp_cb,
                                         task);
}

gboolean
hir_smtp_transport_send_finish (HirSmtpTransport  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Checking the login */

void
hir_smtp_transport_verify_async (HirSmtpTransport    *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GSocketClient) client = NULL;
  SendOp *op;
  GTask *task;

  g_return_if_fail (HIR_IS_SMTP_TRANSPORT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_smtp_transport_verify_async);
  op = g_new0 (SendOp, 1);
  op->verify_only = TRUE;
  op->replies = g_ptr_array_new_with_free_func ((GDestroyNotify) reply_free);
  g_task_set_task_data (task, op, (GDestroyNotify) send_op_free);

  if (*self->host == '\0')
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("The account has no SMTP server"));
      g_object_unref (task);
      return;
    }

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT);
  g_socket_client_connect_to_host_async (client, self->host, self->port, cancellable, tcp_cb,
                                         task);
}

gboolean
hir_smtp_transport_verify_finish (HirSmtpTransport  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* GMimeMessage */

static void
add_addresses (GPtrArray           *out,
               InternetAddressList *list)
{
  for (int i = 0; list != NULL && i < internet_address_list_length (list); i++)
    {
      InternetAddress *ia = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        g_ptr_array_add (out, g_strdup (internet_address_mailbox_get_idn_addr (
                                          INTERNET_ADDRESS_MAILBOX (ia))));
      else if (INTERNET_ADDRESS_IS_GROUP (ia))
        add_addresses (out, internet_address_group_get_members (INTERNET_ADDRESS_GROUP (ia)));
    }
}

static void
send_message_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_smtp_transport_send_finish (HIR_SMTP_TRANSPORT (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
hir_smtp_transport_send_message_async (HirSmtpTransport    *self,
                                       GMimeMessage        *message,
                                       const char          *from,
                                       const char * const  *recipients,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GPtrArray) rcpts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) senders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GByteArray) array = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  GMimeStream *stream;
  InternetAddressList *bcc;
  g_autofree char *bcc_text = NULL;
  GTask *task;

  g_return_if_fail (HIR_IS_SMTP_TRANSPORT (self));
  g_return_if_fail (GMIME_IS_MESSAGE (message));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_smtp_transport_send_message_async);

  if (recipients == NULL)
    {
      add_addresses (rcpts, g_mime_message_get_to (message));
      add_addresses (rcpts, g_mime_message_get_cc (message));
      add_addresses (rcpts, g_mime_message_get_bcc (message));
    }
  else
    for (guint i = 0; recipients[i] != NULL; i++)
      g_ptr_array_add (rcpts, g_strdup (recipients[i]));
  g_ptr_array_add (rcpts, NULL);

  if (from == NULL)
    {
      add_addresses (senders, g_mime_message_get_sender (message));
      if (senders->len == 0)
        add_addresses (senders, g_mime_message_get_from (message));
      from = senders->len > 0 ? g_ptr_array_index (senders, 0) : NULL;
    }
  if (from == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("The message has no sender"));
      g_object_unref (task);
      return;
    }

  /* Bcc recipients get the message; the header stays out of what they all see. */
  bcc = g_mime_message_get_bcc (message);
  if (bcc != NULL && internet_address_list_length (bcc) > 0)
    {
      bcc_text = internet_address_list_to_string (bcc, NULL, FALSE);
      g_mime_object_remove_header (GMIME_OBJECT (message), "Bcc");
    }
  stream = g_mime_stream_mem_new_with_byte_array (array);
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), FALSE);
  g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, stream);
  g_object_unref (stream);
  if (bcc_text != NULL)
    g_mime_object_set_header (GMIME_OBJECT (message), "Bcc", bcc_text, NULL);
  bytes = g_bytes_new (array->data, array->len);

  hir_smtp_transport_send_async (self, bytes, from, (const char * const *) rcpts->pdata,
                                 cancellable, send_message_cb, task);
}

gboolean
hir_smtp_transport_send_message_finish (HirSmtpTransport  *self,
                                        GAsyncResult      *result,
                                        GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
