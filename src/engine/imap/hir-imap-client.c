/* hir-imap-client.c: one IMAP connection over GIO sockets
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "hir-certificate.h"
#include "hir-error.h"
#include "hir-imap-client.h"

#define CONNECT_TIMEOUT 30
/* Silence after which a connection counts as dead. Logged-in connections always read, so
 * an idle pooled one closes after this long, and the next use makes a new one. */
#define DEFAULT_IO_TIMEOUT 300
#define READ_SIZE (64 * 1024)

typedef enum
{
  COMMAND_PLAIN,
  COMMAND_GREETING,  /* no tag: completes on the first response */
  COMMAND_IDLE,
  COMMAND_AUTHENTICATE,
} CommandKind;

typedef struct
{
  CommandKind  kind;
  char        *tag;
  char        *name;      /* first word, for error messages */
  GPtrArray   *chunks;    /* GBytes; each after the first waits for a continuation */
  guint        next_chunk;
  GTask       *task;
  GPtrArray   *untagged;
  gboolean     idling;
  gboolean     done_requested;  /* DONE asked for before the server said "+ idling" */
} Command;

struct _HirImapClient
{
  GObject parent_instance;

  char *host;
  guint port;
  HirSecurity security;
  char *username;
  char *password;
  char *trusted_certificate;

  GIOStream *stream;
  GInputStream *input;    /* the stream's, or a decompressor on it (COMPRESS=DEFLATE) */
  GOutputStream *output;
  gboolean compressed;
  GSocketConnection *socket;
  HirImapParser *parser;
  GCancellable *io_cancellable;
  guint8 *read_buffer;
  gboolean reading;
  gboolean writing;
  gboolean connected;
  gboolean closed;
  gboolean done_pending;  /* DONE waits for the IDLE line to be written */

  /* Commands not yet fully written, in order; the head may be waiting for "+". */
  GQueue sending;
  /* Commands written (at least partly), waiting for their tagged response. */
  GQueue in_flight;
  guint next_tag;
  guint commands_sent;

  GHashTable *capabilities;
  GStrv ignored_capabilities;
  gboolean qresync;
  gboolean allow_compression;
  guint io_timeout;
  char *selected;

  /* What the TLS handshake saw, for the certificate error. */
  char *peer_fingerprint;
  GTlsCertificateFlags peer_errors;
  /* Only fetching the certificate: accept it whatever it is, stop after the handshake. */
  gboolean probe;
};

G_DEFINE_FINAL_TYPE (HirImapClient, hir_imap_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONNECTED,
  PROP_COMMANDS_SENT,
  N_PROPS
};

enum {
  UNTAGGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void pump_writes (HirImapClient *self);
static void pump_reads (HirImapClient *self);
static void fail_all (HirImapClient *self, const GError *error);
static void write_bytes (HirImapClient *self, GBytes *bytes);

void
hir_imap_reply_free (HirImapReply *reply)
{
  if (reply == NULL)
    return;
  g_clear_pointer (&reply->untagged, g_ptr_array_unref);
  g_clear_pointer (&reply->tagged, hir_imap_response_free);
  g_free (reply);
}

static void
command_free (Command *command)
{
  g_free (command->tag);
  g_free (command->name);
  g_clear_pointer (&command->chunks, g_ptr_array_unref);
  g_clear_pointer (&command->untagged, g_ptr_array_unref);
  g_clear_object (&command->task);
  g_free (command);
}

static void
hir_imap_client_dispose (GObject *object)
{
  HirImapClient *self = (HirImapClient *) object;

  hir_imap_client_close (self);

  G_OBJECT_CLASS (hir_imap_client_parent_class)->dispose (object);
}

static void
hir_imap_client_finalize (GObject *object)
{
  HirImapClient *self = (HirImapClient *) object;

  g_free (self->host);
  g_free (self->username);
  g_free (self->password);
  g_free (self->trusted_certificate);
  g_free (self->selected);
  g_free (self->peer_fingerprint);
  g_free (self->read_buffer);
  g_clear_pointer (&self->capabilities, g_hash_table_unref);
  g_strfreev (self->ignored_capabilities);
  g_clear_pointer (&self->parser, hir_imap_parser_free);

  G_OBJECT_CLASS (hir_imap_client_parent_class)->finalize (object);
}

static void
hir_imap_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  HirImapClient *self = HIR_IMAP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    case PROP_COMMANDS_SENT:
      g_value_set_uint (value, self->commands_sent);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_imap_client_class_init (HirImapClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_imap_client_dispose;
  object_class->finalize = hir_imap_client_finalize;
  object_class->get_property = hir_imap_client_get_property;

  properties[PROP_CONNECTED] =
    g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                          (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_COMMANDS_SENT] =
    g_param_spec_uint ("commands-sent", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[UNTAGGED] =
    g_signal_new ("untagged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
hir_imap_client_init (HirImapClient *self)
{
  self->parser = hir_imap_parser_new ();
  self->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->read_buffer = g_malloc (READ_SIZE);
  self->io_cancellable = g_cancellable_new ();
  self->allow_compression = TRUE;
  self->io_timeout = DEFAULT_IO_TIMEOUT;
  g_queue_init (&self->sending);
  g_queue_init (&self->in_flight);
}

HirImapClient *
hir_imap_client_new (const char  *host,
                     guint        port,
                     HirSecurity  security,
                     const char  *username,
                     const char  *password,
                     const char  *trusted_certificate)
{
  HirImapClient *self;

  g_return_val_if_fail (host != NULL, NULL);

  self = g_object_new (HIR_TYPE_IMAP_CLIENT, NULL);
  self->host = g_strdup (host);
  self->port = port != 0 ? port : (security == HIR_SECURITY_TLS ? 993 : 143);
  self->security = security;
  self->username = g_strdup (username);
  self->password = g_strdup (password);
  self->trusted_certificate = g_strdup (trusted_certificate);
  return self;
}

gboolean
hir_imap_client_is_connected (HirImapClient *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), FALSE);

  return self->connected && !self->closed;
}

gboolean
hir_imap_client_has_capability (HirImapClient *self,
                                const char    *capability)
{
  g_autofree char *upper = NULL;

  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), FALSE);

  upper = g_ascii_strup (capability, -1);
  return g_hash_table_contains (self->capabilities, upper);
}

gboolean
hir_imap_client_get_qresync (HirImapClient *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), FALSE);

  return self->qresync;
}

guint
hir_imap_client_get_commands_sent (HirImapClient *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), 0);

  return self->commands_sent;
}

void
hir_imap_client_set_ignored_capabilities (HirImapClient     *self,
                                          const char * const *capabilities)
{
  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  g_strfreev (self->ignored_capabilities);
  self->ignored_capabilities = NULL;
  if (capabilities == NULL)
    return;
  self->ignored_capabilities = g_new0 (char *, g_strv_length ((char **) capabilities) + 1);
  for (guint i = 0; capabilities[i] != NULL; i++)
    self->ignored_capabilities[i] = g_ascii_strup (capabilities[i], -1);
}

void
hir_imap_client_set_timeout (HirImapClient *self,
                             guint          seconds)
{
  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  self->io_timeout = seconds;
  if (self->socket != NULL)
    g_socket_set_timeout (g_socket_connection_get_socket (self->socket), seconds);
}

gboolean
hir_imap_client_get_compressed (HirImapClient *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), FALSE);

  return self->compressed;
}

void
hir_imap_client_set_allow_compression (HirImapClient *self,
                                       gboolean       allow)
{
  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  self->allow_compression = !!allow;
}

const char *
hir_imap_client_get_selected (HirImapClient *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_CLIENT (self), NULL);

  return self->selected;
}

static void
set_connected (HirImapClient *self,
               gboolean       connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTED]);
}

/* Capabilities: from "* CAPABILITY …" and from [CAPABILITY …] codes */

static void
set_capabilities (HirImapClient      *self,
                  const HirImapValue *list,
                  guint               first)
{
  g_hash_table_remove_all (self->capabilities);
  for (guint i = first; i < hir_imap_value_get_length (list); i++)
    {
      const char *atom = hir_imap_value_get_string (hir_imap_value_get_item (list, i));
      char *upper;

      if (atom == NULL)
        continue;
      upper = g_ascii_strup (atom, -1);
      if (self->ignored_capabilities != NULL &&
          g_strv_contains ((const char * const *) self->ignored_capabilities, upper))
        g_free (upper);
      else
        g_hash_table_add (self->capabilities, upper);
    }
}

static void
note_response (HirImapClient   *self,
               HirImapResponse *response)
{
  if (response->code != NULL &&
      hir_imap_value_is_atom (hir_imap_value_get_item (response->code, 0), "CAPABILITY"))
    set_capabilities (self, response->code, 1);

  if (response->kind != HIR_IMAP_RESPONSE_UNTAGGED || response->data == NULL)
    return;

  if (response->status == HIR_IMAP_STATUS_NONE &&
      hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "CAPABILITY"))
    set_capabilities (self, response->data, 1);
  else if (response->status == HIR_IMAP_STATUS_NONE &&
           hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "ENABLED"))
    {
      for (guint i = 1; i < hir_imap_value_get_length (response->data); i++)
        if (hir_imap_value_is_atom (hir_imap_value_get_item (response->data, i), "QRESYNC"))
          self->qresync = TRUE;
    }
}

/* Closing */

static void
fail_all (HirImapClient *self,
          const GError  *error)
{
  Command *command;

  /* Everything queued fails; the caller's callbacks may queue more, which fail at once
   * because the client is closed. */
  while ((command = g_queue_pop_head (&self->in_flight)) != NULL ||
         (command = g_queue_pop_head (&self->sending)) != NULL)
    {
      /* IDLE, AUTHENTICATE and literals sit in both queues while they wait for "+". */
      g_queue_remove (&self->sending, command);
      if (command->task != NULL)
        g_task_return_error (command->task, g_error_copy (error));
      command_free (command);
    }
}

static void
close_with_error (HirImapClient *self,
                  const GError  *error)
{
  if (self->closed)
    return;
  g_debug ("IMAP %s:%u: closed: %s", self->host, self->port, error->message);
  self->closed = TRUE;
  g_cancellable_cancel (self->io_cancellable);
  if (self->stream != NULL)
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->stream);
  g_clear_object (&self->socket);
  g_clear_pointer (&self->selected, g_free);
  set_connected (self, FALSE);
  fail_all (self, error);
}

void
hir_imap_client_close (HirImapClient *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  /* Translators: %s is a server's host name. */
  error = g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("The connection to %s was closed"),
                       self->host);
  close_with_error (self, error);
}

/* Turns a transport error into the engine's vocabulary. */
static GError *
map_io_error (HirImapClient *self,
              const GError  *error)
{
  if (error->domain == HIR_ERROR || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  if (self->peer_fingerprint != NULL && self->peer_errors != 0)
    {
      g_autofree char *reason = hir_certificate_describe_errors (self->peer_errors);

      /* Translators: the first %s is a host name, the second the reasons the certificate
       * is not trusted ("self-signed, expired"), the third the certificate's fingerprint
       * ("sha256:…"). */
      return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                          _("The certificate of %s is %s (fingerprint %s)"),
                          self->host, reason, self->peer_fingerprint);
    }
  /* A TLS failure before login is about trust (handshake, no TLS at all); after, a closed
   * TLS stream is just a dropped connection. */
  if (error->domain == G_TLS_ERROR && !self->connected && error->code != G_TLS_ERROR_EOF)
    /* Translators: the first %s is a host name, the second the TLS library's reason. */
    return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                        _("The secure connection to %s failed: %s"), self->host, error->message);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    /* Translators: the first %s is a host name, the second the system's reason. */
    return g_error_new (HIR_ERROR, HIR_ERROR_OFFLINE, _("No network to reach %s: %s"),
                        self->host, error->message);

  /* Translators: "Cannot reach HOST:PORT: REASON"; the reason comes from the system. */
  return g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("Cannot reach %s:%u: %s"),
                      self->host, self->port, error->message);
}

/* Writing */

static void
use_stream (HirImapClient *self,
            GIOStream     *stream)
{
  g_set_object (&self->stream, stream);
  g_set_object (&self->input, g_io_stream_get_input_stream (stream));
  g_set_object (&self->output, g_io_stream_get_output_stream (stream));
}

static void
after_write (HirImapClient *self)
{
  self->writing = FALSE;
  if (self->done_pending)
    {
      static const char done[] = "DONE\r\n";
      g_autoptr(GBytes) bytes = g_bytes_new_static (done, 6);

      self->done_pending = FALSE;
      write_bytes (self, bytes);
      return;
    }
  pump_writes (self);
}

static void
flush_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(HirImapClient) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_flush_finish (G_OUTPUT_STREAM (object), result, &error))
    {
      g_autoptr(GError) mapped = map_io_error (self, error);

      self->writing = FALSE;
      close_with_error (self, mapped);
      return;
    }
  after_write (self);
}

static void
write_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(HirImapClient) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      g_autoptr(GError) mapped = map_io_error (self, error);

      self->writing = FALSE;
      close_with_error (self, mapped);
      return;
    }
  /* Deflate holds bytes back until flushed: a command must leave whole (Z_SYNC_FLUSH). */
  if (self->compressed && !self->closed)
    {
      g_output_stream_flush_async (self->output, G_PRIORITY_DEFAULT, self->io_cancellable,
                                   flush_cb, g_object_ref (self));
      return;
    }
  after_write (self);
}

static void
write_bytes (HirImapClient *self,
             GBytes        *bytes)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  self->writing = TRUE;
  /* The bytes live in the command, which lives until its tagged response: past the
   * write. The DONE of IDLE is a static string. */
  g_output_stream_write_all_async (self->output, data, len,
                                   G_PRIORITY_DEFAULT, self->io_cancellable, write_cb,
                                   g_object_ref (self));
}

/* Writes what may go now: the next command's first chunk, unless the head command waits
 * for a continuation (a literal, AUTHENTICATE, or IDLE): nothing may pass it. */
static void
pump_writes (HirImapClient *self)
{
  Command *command;

  if (self->writing || self->closed || self->stream == NULL)
    return;

  command = g_queue_peek_head (&self->sending);
  if (command == NULL || command->next_chunk > 0)
    return;

  g_queue_push_tail (&self->in_flight, command);
  command->next_chunk = 1;
  self->commands_sent++;
  if (command->chunks->len <= 1 && command->kind != COMMAND_IDLE &&
      command->kind != COMMAND_AUTHENTICATE)
    g_queue_pop_head (&self->sending);

  if (command->kind == COMMAND_AUTHENTICATE)
    g_debug ("IMAP %s > %s AUTHENTICATE …", self->host, command->tag);
  else
    g_debug ("IMAP %s > %.*s", self->host,
             (int) MIN (200, g_bytes_get_size (g_ptr_array_index (command->chunks, 0)) - 2),
             (const char *) g_bytes_get_data (g_ptr_array_index (command->chunks, 0), NULL));
  write_bytes (self, g_ptr_array_index (command->chunks, 0));
  pump_reads (self);
}

/* A "+" arrived: the command at the head of the send queue gets to send its next chunk. */
static void
handle_continuation (HirImapClient   *self,
                     HirImapResponse *response)
{
  Command *command = g_queue_peek_head (&self->sending);
  g_autoptr(GError) error = NULL;

  if (command == NULL || command->next_chunk == 0)
    {
      /* Translators: %s is a server's host name; a continuation is an IMAP "+" line
       * inviting the client to send more. */
      error = g_error_new (HIR_ERROR, HIR_ERROR_PROTOCOL,
                           _("%s sent a continuation nobody asked for"), self->host);
      close_with_error (self, error);
      return;
    }

  if (command->kind == COMMAND_IDLE)
    {
      command->idling = TRUE;
      if (command->done_requested)
        hir_imap_client_idle_done (self);
      return;
    }

  if (command->next_chunk < command->chunks->len)
    {
      GBytes *chunk = g_ptr_array_index (command->chunks, command->next_chunk++);

      /* The last chunk lets the following commands go. */
      if (command->next_chunk == command->chunks->len)
        g_queue_pop_head (&self->sending);
      if (self->writing)
        {
          /* Cannot happen: the first chunk was written before the server could answer. */
          /* Translators: %s is a server's host name. */
          error = g_error_new (HIR_ERROR, HIR_ERROR_PROTOCOL, _("%s answered too early"),
                               self->host);
          close_with_error (self, error);
          return;
        }
      write_bytes (self, chunk);
      return;
    }

  /* A SASL challenge we have no more answers for: cancel the exchange (RFC 3501 §6.2.2). */
  if (command->kind == COMMAND_AUTHENTICATE)
    {
      static const char cancel[] = "*\r\n";
      g_autoptr(GBytes) bytes = g_bytes_new_static (cancel, 3);

      g_queue_pop_head (&self->sending);
      g_ptr_array_add (command->chunks, g_bytes_ref (bytes));
      command->next_chunk++;
      write_bytes (self, bytes);
    }
}

/* Reading */

static void
complete_command (HirImapClient   *self,
                  Command         *command,
                  HirImapResponse *tagged)
{
  GTask *task = command->task;

  if (task == NULL)
    {
      hir_imap_response_free (tagged);
      return;
    }

  if (tagged->status == HIR_IMAP_STATUS_OK)
    {
      HirImapReply *reply = g_new0 (HirImapReply, 1);

      reply->untagged = g_steal_pointer (&command->untagged);
      reply->tagged = tagged;
      g_task_return_pointer (task, reply, (GDestroyNotify) hir_imap_reply_free);
      return;
    }

  if (tagged->code != NULL &&
      hir_imap_value_is_atom (hir_imap_value_get_item (tagged->code, 0), "NONEXISTENT"))
    {
      if (tagged->text != NULL)
        /* Translators: the first %s is an IMAP command (SELECT, APPEND…), the second the
         * server's words, untranslated. */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                                 _("%s found no such mailbox: %s"), command->name,
                                 tagged->text);
      else
        /* Translators: %s is an IMAP command (SELECT, APPEND…). */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                                 _("%s found no such mailbox"), command->name);
    }
  else if (command->kind == COMMAND_AUTHENTICATE ||
           (tagged->code != NULL &&
            hir_imap_value_is_atom (hir_imap_value_get_item (tagged->code, 0),
                                    "AUTHENTICATIONFAILED")))
    {
      if (tagged->text != NULL && *tagged->text != '\0')
        /* Translators: the first %s is a server's host name, the second the server's
         * words, untranslated. */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                                 _("%s refused the user name or password: %s"), self->host,
                                 tagged->text);
      else
        /* Translators: %s is a server's host name. */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                                 _("%s refused the user name or password"), self->host);
    }
  else
    {
      if (tagged->text != NULL)
        /* Translators: the first %s is a server's host name, the second an IMAP command
         * (SELECT, APPEND…), the third the server's words, untranslated. */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER,
                                 _("%s refused %s: %s"), self->host, command->name,
                                 tagged->text);
      else
        /* Translators: the first %s is a server's host name, the second an IMAP command
         * (SELECT, APPEND…). */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER, _("%s refused %s"),
                                 self->host, command->name);
    }
  hir_imap_response_free (tagged);
}

static void
dispatch (HirImapClient   *self,
          HirImapResponse *response)
{
  Command *head;

  note_response (self, response);

  if (response->kind == HIR_IMAP_RESPONSE_CONTINUATION)
    {
      handle_continuation (self, response);
      hir_imap_response_free (response);
      return;
    }

  if (response->kind == HIR_IMAP_RESPONSE_TAGGED)
    {
      for (GList *l = self->in_flight.head; l != NULL; l = l->next)
        {
          Command *command = l->data;

          if (g_strcmp0 (command->tag, response->tag) != 0)
            continue;
          g_queue_delete_link (&self->in_flight, l);
          /* An IDLE or literal command may still sit at the head of the send queue. */
          g_queue_remove (&self->sending, command);
          complete_command (self, command, response);
          command_free (command);
          pump_writes (self);
          return;
        }
      g_debug ("IMAP %s: tagged response for unknown tag %s", self->host, response->tag);
      hir_imap_response_free (response);
      return;
    }

  g_signal_emit (self, signals[UNTAGGED], 0, response);

  head = g_queue_peek_head (&self->in_flight);
  if (head != NULL && head->kind == COMMAND_GREETING)
    {
      g_queue_pop_head (&self->in_flight);
      if (response->status == HIR_IMAP_STATUS_OK || response->status == HIR_IMAP_STATUS_PREAUTH)
        {
          HirImapReply *reply = g_new0 (HirImapReply, 1);

          reply->untagged = g_ptr_array_new_with_free_func ((GDestroyNotify) hir_imap_response_free);
          reply->tagged = response;
          g_task_return_pointer (head->task, reply, (GDestroyNotify) hir_imap_reply_free);
        }
      else
        {
          g_task_return_new_error (head->task, HIR_ERROR, HIR_ERROR_UNREACHABLE,
                                   /* Translators: the first %s is a server's host name, the
                                    * second the server's words, untranslated. */
                                   _("%s does not accept connections now: %s"), self->host,
                                   response->text ? response->text : "");
          hir_imap_response_free (response);
        }
      command_free (head);
      return;
    }

  if (response->status == HIR_IMAP_STATUS_BYE)
    g_debug ("IMAP %s: BYE %s", self->host, response->text ? response->text : "");

  if (head != NULL)
    g_ptr_array_add (head->untagged, response);
  else
    hir_imap_response_free (response);
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(HirImapClient) self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  self->reading = FALSE;
  n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  if (self->closed)
    return;
  if (n <= 0)
    {
      g_autoptr(GError) mapped = NULL;

      if (n == 0)
        mapped = g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE,
                              /* Translators: %s is a server's host name. */
                              _("%s closed the connection"), self->host);
      else
        mapped = map_io_error (self, error);
      close_with_error (self, mapped);
      return;
    }

  hir_imap_parser_feed (self->parser, self->read_buffer, n);
  for (;;)
    {
      HirImapResponse *response = NULL;
      HirImapParseResult parsed = hir_imap_parser_next (self->parser, &response, &error);

      if (parsed == HIR_IMAP_PARSE_NEED_MORE)
        break;
      if (parsed == HIR_IMAP_PARSE_ERROR)
        {
          /* One bad response is dropped by the parser; the stream goes on. */
          g_debug ("IMAP %s: %s", self->host, error->message);
          g_clear_error (&error);
          continue;
        }
      dispatch (self, response);
      if (self->closed)
        return;
    }

  pump_reads (self);
}

/* Reads while something waits for the server, and always once logged in: a connection
 * the server closes (BYE, restart, timeout) is then known closed at once, not when the
 * next command finds out. Before login an idle connection reads nothing, so that
 * STARTTLS can take the plain stream over between two commands. */
static void
pump_reads (HirImapClient *self)
{
  if (self->reading || self->closed || self->stream == NULL)
    return;
  if (g_queue_is_empty (&self->in_flight) && !self->connected)
    return;

  self->reading = TRUE;
  g_input_stream_read_async (self->input, self->read_buffer,
                             READ_SIZE, G_PRIORITY_DEFAULT, self->io_cancellable, read_cb,
                             g_object_ref (self));
}

/* Commands */

static Command *
command_new (HirImapClient *self,
             CommandKind    kind,
             GTask         *task)
{
  Command *command = g_new0 (Command, 1);

  command->kind = kind;
  command->task = task;
  command->untagged = g_ptr_array_new_with_free_func ((GDestroyNotify) hir_imap_response_free);
  command->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  if (kind != COMMAND_GREETING)
    command->tag = g_strdup_printf ("H%u", ++self->next_tag);
  return command;
}

static void
queue_command (HirImapClient *self,
               Command       *command)
{
  if (self->closed || (self->stream == NULL && command->kind != COMMAND_GREETING))
    {
      if (command->task != NULL)
        g_task_return_new_error (command->task, HIR_ERROR, HIR_ERROR_UNREACHABLE,
                                 /* Translators: %s is a server's host name. */
                                 _("Not connected to %s"), self->host);
      command_free (command);
      return;
    }

  if (command->kind == COMMAND_GREETING)
    g_queue_push_tail (&self->in_flight, command);
  else
    g_queue_push_tail (&self->sending, command);
  pump_writes (self);
  pump_reads (self);
}

static GBytes *
line_bytes (const char *format,
            ...) G_GNUC_PRINTF (1, 2);

static GBytes *
line_bytes (const char *format,
            ...)
{
  va_list args;
  char *text;
  gsize len;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  len = strlen (text);
  return g_bytes_new_take (text, len);
}

static char *
first_word (const char *command)
{
  const char *space = strchr (command, ' ');
  const char *end = space ? space : command + strlen (command);

  /* "UID FETCH" reads better than "UID". */
  if (space != NULL && g_ascii_strncasecmp (command, "UID ", 4) == 0)
    {
      const char *second = strchr (space + 1, ' ');
      end = second ? second : space + 1 + strlen (space + 1);
    }
  return g_strndup (command, end - command);
}

static void
send_text (HirImapClient *self,
           CommandKind    kind,
           const char    *text,
           GTask         *task)
{
  Command *command = command_new (self, kind, task);

  command->name = first_word (text);
  g_ptr_array_add (command->chunks, line_bytes ("%s %s\r\n", command->tag, text));
  queue_command (self, command);
}

void
hir_imap_client_command_async (HirImapClient       *self,
                               const char          *command,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));
  g_return_if_fail (command != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_command_async);
  /* Once written, a command cannot be taken back: cancelling only stops the caller from
   * waiting. GTask reports the cancellation when it completes. */
  g_task_set_check_cancellable (task, TRUE);
  send_text (self, COMMAND_PLAIN, command, task);
}

HirImapReply *
hir_imap_client_command_finish (HirImapClient  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* SELECT */

static void
select_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  HirImapClient *self = HIR_IMAP_CLIENT (object);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  HirImapReply *reply;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_free (self->selected);
  self->selected = g_strdup (g_task_get_task_data (task));
  g_task_return_pointer (task, reply, (GDestroyNotify) hir_imap_reply_free);
}

void
hir_imap_client_select_async (HirImapClient       *self,
                              const char          *mailbox,
                              const char          *select_args,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autofree char *quoted = NULL;
  g_autofree char *text = NULL;
  GTask *task;
  GTask *inner;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_select_async);
  g_task_set_task_data (task, g_strdup (mailbox), g_free);

  quoted = hir_imap_quote (mailbox);
  if (quoted == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               /* Translators: %s is a folder's name on the server. */
                               _("Mailbox name “%s” cannot be sent"), mailbox);
      g_object_unref (task);
      return;
    }
  /* Until the server answers, no mailbox is safely selected (a failed SELECT closes the
   * previous one). */
  g_clear_pointer (&self->selected, g_free);
  text = select_args != NULL ? g_strdup_printf ("SELECT %s %s", quoted, select_args)
                             : g_strdup_printf ("SELECT %s", quoted);
  inner = g_task_new (self, NULL, select_cb, task);
  send_text (self, COMMAND_PLAIN, text, inner);
}

HirImapReply *
hir_imap_client_select_finish (HirImapClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* APPEND */

static void
append_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirImapReply) reply = NULL;
  HirImapValue *code;
  guint64 uidvalidity = 0;
  guint64 uid = 0;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* [APPENDUID uidvalidity uid] (RFC 4315) */
  code = reply->tagged->code;
  if (code != NULL && hir_imap_value_is_atom (hir_imap_value_get_item (code, 0), "APPENDUID"))
    {
      hir_imap_value_get_number (hir_imap_value_get_item (code, 1), &uidvalidity);
      hir_imap_value_get_number (hir_imap_value_get_item (code, 2), &uid);
    }
  g_task_set_task_data (task, GSIZE_TO_POINTER ((gsize) uidvalidity), NULL);
  g_task_return_int (task, (gssize) uid);
}

void
hir_imap_client_append_async (HirImapClient       *self,
                              const char          *mailbox,
                              const char          *flags,
                              GBytes              *message,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autofree char *quoted = NULL;
  g_autofree char *flag_list = NULL;
  gboolean literal_plus;
  GTask *task;
  GTask *inner;
  Command *command;
  gsize size;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);
  g_return_if_fail (message != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_append_async);

  quoted = hir_imap_quote (mailbox);
  if (quoted == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               /* Translators: %s is a folder's name on the server. */
                               _("Mailbox name “%s” cannot be sent"), mailbox);
      g_object_unref (task);
      return;
    }

  size = g_bytes_get_size (message);
  literal_plus = hir_imap_client_has_capability (self, "LITERAL+");
  flag_list = flags != NULL ? g_strdup_printf (" (%s)", flags) : g_strdup ("");
  inner = g_task_new (self, NULL, append_cb, task);
  command = command_new (self, COMMAND_PLAIN, inner);
  command->name = g_strdup ("APPEND");
  g_ptr_array_add (command->chunks,
                   line_bytes ("%s APPEND %s%s {%" G_GSIZE_FORMAT "%s}\r\n", command->tag,
                               quoted, flag_list, size, literal_plus ? "+" : ""));
  if (literal_plus)
    {
      /* One chunk: no round trip for the continuation. */
      GByteArray *all = g_bytes_unref_to_array (g_ptr_array_steal_index (command->chunks, 0));

      g_byte_array_append (all, g_bytes_get_data (message, NULL), size);
      g_byte_array_append (all, (const guint8 *) "\r\n", 2);
      g_ptr_array_add (command->chunks, g_byte_array_free_to_bytes (all));
    }
  else
    {
      GByteArray *body = g_byte_array_sized_new (size + 2);

      g_byte_array_append (body, g_bytes_get_data (message, NULL), size);
      g_byte_array_append (body, (const guint8 *) "\r\n", 2);
      g_ptr_array_add (command->chunks, g_byte_array_free_to_bytes (body));
    }
  queue_command (self, command);
}

guint32
hir_imap_client_append_finish (HirImapClient  *self,
                               GAsyncResult   *result,
                               guint32        *uidvalidity,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);

  if (uidvalidity != NULL)
    *uidvalidity = (guint32) GPOINTER_TO_SIZE (g_task_get_task_data (G_TASK (result)));
  return (guint32) g_task_propagate_int (G_TASK (result), error);
}

/* MOVE */

typedef struct
{
  char *uid_set;
  char *destination;  /* quoted */
  guint step;         /* without MOVE: 0 COPY, 1 STORE, 2 EXPUNGE */
} MoveOp;

static void
move_op_free (MoveOp *op)
{
  g_free (op->uid_set);
  g_free (op->destination);
  g_free (op);
}

static void move_next (GTask *task);

static void
move_step_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirImapReply) reply = NULL;
  MoveOp *op = g_task_get_task_data (task);

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  op->step++;
  move_next (g_steal_pointer (&task));
}

/* Takes over @task. Without MOVE each step waits for the one before: the originals are
 * only marked deleted and expunged once the copy exists. */
static void
move_next (GTask *task)
{
  HirImapClient *self = g_task_get_source_object (task);
  MoveOp *op = g_task_get_task_data (task);
  g_autofree char *text = NULL;

  if (hir_imap_client_has_capability (self, "MOVE"))
    {
      if (op->step == 0)
        text = g_strdup_printf ("UID MOVE %s %s", op->uid_set, op->destination);
    }
  else if (op->step == 0)
    text = g_strdup_printf ("UID COPY %s %s", op->uid_set, op->destination);
  else if (op->step == 1)
    text = g_strdup_printf ("UID STORE %s +FLAGS.SILENT (\\Deleted)", op->uid_set);
  else if (op->step == 2)
    /* Plain EXPUNGE would also remove what others marked deleted: only with UIDPLUS. */
    text = hir_imap_client_has_capability (self, "UIDPLUS")
             ? g_strdup_printf ("UID EXPUNGE %s", op->uid_set) : g_strdup ("EXPUNGE");

  if (text == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  send_text (self, COMMAND_PLAIN, text, g_task_new (self, NULL, move_step_cb, task));
}

void
hir_imap_client_move_async (HirImapClient       *self,
                            const char          *uid_set,
                            const char          *destination,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autofree char *quoted = NULL;
  GTask *task;
  MoveOp *op;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL && destination != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_move_async);

  quoted = hir_imap_quote (destination);
  if (quoted == NULL || strspn (uid_set, "0123456789:,*") != strlen (uid_set))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               /* Translators: the first %s is a list of message numbers
                                * ("12:15,18"), the second a folder's name on the server. */
                               _("Cannot move %s to “%s”"), uid_set, destination);
      g_object_unref (task);
      return;
    }
  op = g_new0 (MoveOp, 1);
  op->uid_set = g_strdup (uid_set);
  op->destination = g_steal_pointer (&quoted);
  g_task_set_task_data (task, op, (GDestroyNotify) move_op_free);
  move_next (task);
}

gboolean
hir_imap_client_move_finish (HirImapClient  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* IDLE */

static void
idle_cancelled_cb (GCancellable  *cancellable,
                   HirImapClient *self)
{
  hir_imap_client_idle_done (self);
}

static void
idle_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirImapReply) reply = NULL;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
idle_task_done_cb (GTask         *task,
                   GParamSpec    *pspec,
                   HirImapClient *self)
{
  gulong handler = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (task), "hir-handler"));

  g_cancellable_disconnect (g_task_get_cancellable (task), handler);
}

void
hir_imap_client_idle_async (HirImapClient       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_idle_async);
  if (cancellable != NULL)
    {
      gulong handler = g_cancellable_connect (cancellable, G_CALLBACK (idle_cancelled_cb),
                                              self, NULL);

      g_object_set_data (G_OBJECT (task), "hir-handler", GSIZE_TO_POINTER (handler));
      g_signal_connect (task, "notify::completed", G_CALLBACK (idle_task_done_cb), self);
    }
  send_text (self, COMMAND_IDLE, "IDLE", g_task_new (self, NULL, idle_cb, task));
}

gboolean
hir_imap_client_idle_finish (HirImapClient  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
hir_imap_client_idle_done (HirImapClient *self)
{
  static const char done[] = "DONE\r\n";
  Command *command;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  command = g_queue_peek_head (&self->sending);
  if (command == NULL || command->kind != COMMAND_IDLE || self->closed)
    return;

  /* DONE answers the server's "+ idling" (RFC 2177): before it, some servers would take
   * DONE for a command. It goes out when the continuation comes. */
  if (!command->idling)
    {
      command->done_requested = TRUE;
      return;
    }

  /* Leaving the send queue lets commands queued behind IDLE go after DONE. */
  g_queue_pop_head (&self->sending);
  g_debug ("IMAP %s > DONE", self->host);
  if (self->writing)
    self->done_pending = TRUE;
  else
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (done, 6);

      write_bytes (self, bytes);
    }
}

/* Connecting */

typedef enum
{
  STAGE_TCP,
  STAGE_GREETING,
  STAGE_CAPABILITY,
  STAGE_STARTTLS,
  STAGE_AUTHENTICATE,
  STAGE_CAPABILITY_AFTER_AUTH,
  STAGE_COMPRESS,
  STAGE_ID,
  STAGE_ENABLE,
  STAGE_DONE,
} ConnectStage;

typedef struct
{
  ConnectStage stage;
  gboolean tls_done;
} ConnectOp;

static void connect_next (GTask *task);
static void start_compression (HirImapClient *self);

static void
connect_fail (GTask  *task,
              GError *error)
{
  HirImapClient *self = g_task_get_source_object (task);
  g_autoptr(GError) mapped = map_io_error (self, error);

  g_error_free (error);
  close_with_error (self, mapped);
  g_task_return_error (task, g_steal_pointer (&mapped));
  g_object_unref (task);
}

static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       HirImapClient        *self)
{
  g_autofree char *fingerprint = hir_certificate_fingerprint (certificate);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_free (self->peer_fingerprint);
  self->peer_fingerprint = g_strdup (fingerprint);
  self->peer_errors = errors;

  if (self->probe)
    return TRUE;
  if (self->trusted_certificate == NULL || fingerprint == NULL)
    return FALSE;

  /* Pinning trusts exactly this certificate, whatever else is wrong with it: the user has
   * seen its fingerprint and accepted it. Same comparison as the JMAP client. */
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
  HirImapClient *self = g_task_get_source_object (task);
  ConnectOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, &error))
    {
      connect_fail (task, error);
      return;
    }
  if (self->probe)
    {
      GTlsCertificate *peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (object));

      /* Trusted by the system: accept-certificate never ran. */
      if (self->peer_fingerprint == NULL && peer != NULL)
        self->peer_fingerprint = hir_certificate_fingerprint (peer);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* Passed: what the handshake noted no longer means an error. */
  self->peer_errors = 0;
  op->tls_done = TRUE;
  /* After STARTTLS: ask for the capabilities again, over the secure channel. */
  if (op->stage == STAGE_STARTTLS)
    op->stage = STAGE_CAPABILITY;
  connect_next (task);
}

static void
start_tls (GTask *task)
{
  HirImapClient *self = g_task_get_source_object (task);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (self->host, self->port);
  GIOStream *tls;
  GError *error = NULL;

  tls = g_tls_client_connection_new (G_IO_STREAM (self->socket), identity, &error);
  if (tls == NULL)
    {
      connect_fail (task, error);
      return;
    }
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), self);
  use_stream (self, tls);
  g_object_unref (tls);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), handshake_cb, task);
}

static void
tcp_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  GTask *task = user_data;
  HirImapClient *self = g_task_get_source_object (task);
  ConnectOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  self->socket = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result,
                                                         &error);
  if (self->socket == NULL)
    {
      connect_fail (task, error);
      return;
    }
  /* GSocketClient's timeout was for connecting; from now on the I/O timeout holds. */
  g_socket_set_timeout (g_socket_connection_get_socket (self->socket), self->io_timeout);
  use_stream (self, G_IO_STREAM (self->socket));
  op->stage = STAGE_GREETING;
  if (self->security == HIR_SECURITY_TLS)
    start_tls (task);
  else
    connect_next (task);
}

static void
step_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  HirImapClient *self = g_task_get_source_object (task);
  ConnectOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      /* ID and ENABLE are courtesies: a server that refuses them is still usable. */
      if ((op->stage == STAGE_ID || op->stage == STAGE_ENABLE) &&
          g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER))
        {
          g_clear_error (&error);
          op->stage++;
          connect_next (task);
          return;
        }
      connect_fail (task, error);
      return;
    }

  switch (op->stage)
    {
    case STAGE_GREETING:
      if (reply->tagged->status == HIR_IMAP_STATUS_PREAUTH)
        op->stage = STAGE_CAPABILITY_AFTER_AUTH;
      else
        op->stage = STAGE_CAPABILITY;
      break;
    case STAGE_STARTTLS:
      /* The plain-text capabilities may have been tampered with: forget them. */
      g_hash_table_remove_all (self->capabilities);
      start_tls (task);
      return;
    case STAGE_COMPRESS:
      start_compression (self);
      op->stage++;
      break;
    default:
      op->stage++;
    }
  connect_next (task);
}

static void
send_step (GTask      *task,
           CommandKind kind,
           const char *text)
{
  HirImapClient *self = g_task_get_source_object (task);

  send_text (self, kind, text, g_task_new (self, g_task_get_cancellable (task), step_cb, task));
}

static void
send_authenticate (GTask *task)
{
  HirImapClient *self = g_task_get_source_object (task);
  Command *command;

  if (hir_imap_client_has_capability (self, "AUTH=PLAIN"))
    {
      gsize ulen = strlen (self->username ? self->username : "");
      gsize plen = strlen (self->password ? self->password : "");
      g_autofree guint8 *raw = g_malloc (ulen + plen + 2);
      g_autofree char *encoded = NULL;

      raw[0] = 0;
      memcpy (raw + 1, self->username ? self->username : "", ulen);
      raw[ulen + 1] = 0;
      memcpy (raw + ulen + 2, self->password ? self->password : "", plen);
      encoded = g_base64_encode (raw, ulen + plen + 2);
      memset (raw, 0, ulen + plen + 2);

      command = command_new (self, COMMAND_AUTHENTICATE,
                             g_task_new (self, g_task_get_cancellable (task), step_cb, task));
      command->name = g_strdup ("AUTHENTICATE");
      if (hir_imap_client_has_capability (self, "SASL-IR"))
        g_ptr_array_add (command->chunks,
                         line_bytes ("%s AUTHENTICATE PLAIN %s\r\n", command->tag, encoded));
      else
        {
          g_ptr_array_add (command->chunks,
                           line_bytes ("%s AUTHENTICATE PLAIN\r\n", command->tag));
          g_ptr_array_add (command->chunks, line_bytes ("%s\r\n", encoded));
        }
      queue_command (self, command);
      return;
    }

  if (hir_imap_client_has_capability (self, "LOGINDISABLED"))
    {
      GError *error = g_error_new (HIR_ERROR, HIR_ERROR_CONFIG,
                                   /* Translators: %s is a server's host name. */
                                   _("%s offers no way to log in that Hirondelle knows"),
                                   self->host);
      connect_fail (task, error);
      return;
    }

  if (hir_imap_client_has_capability (self, "AUTH=LOGIN"))
    {
      g_autofree char *user64 = g_base64_encode ((const guchar *) self->username,
                                                 strlen (self->username));
      g_autofree char *pass64 = g_base64_encode ((const guchar *) self->password,
                                                 strlen (self->password));

      command = command_new (self, COMMAND_AUTHENTICATE,
                             g_task_new (self, g_task_get_cancellable (task), step_cb, task));
      command->name = g_strdup ("AUTHENTICATE");
      g_ptr_array_add (command->chunks, line_bytes ("%s AUTHENTICATE LOGIN\r\n", command->tag));
      g_ptr_array_add (command->chunks, line_bytes ("%s\r\n", user64));
      g_ptr_array_add (command->chunks, line_bytes ("%s\r\n", pass64));
      queue_command (self, command);
      return;
    }

  /* The LOGIN command: the credentials as quoted strings, or literals when they need it. */
  {
    g_autofree char *user = hir_imap_quote (self->username);
    g_autofree char *pass = hir_imap_quote (self->password);

    command = command_new (self, COMMAND_AUTHENTICATE,
                           g_task_new (self, g_task_get_cancellable (task), step_cb, task));
    command->name = g_strdup ("LOGIN");
    if (user != NULL && pass != NULL)
      g_ptr_array_add (command->chunks,
                       line_bytes ("%s LOGIN %s %s\r\n", command->tag, user, pass));
    else
      {
        g_ptr_array_add (command->chunks,
                         line_bytes ("%s LOGIN {%zu}\r\n", command->tag, strlen (self->username)));
        g_ptr_array_add (command->chunks,
                         line_bytes ("%s {%zu}\r\n", self->username, strlen (self->password)));
        g_ptr_array_add (command->chunks, line_bytes ("%s\r\n", self->password));
      }
    queue_command (self, command);
  }
}

static void
start_compression (HirImapClient *self)
{
  g_autoptr(GZlibDecompressor) decompressor =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  g_autoptr(GZlibCompressor) compressor =
    g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, -1);
  g_autoptr(GInputStream) input =
    g_converter_input_stream_new (g_io_stream_get_input_stream (self->stream),
                                  G_CONVERTER (decompressor));
  g_autoptr(GOutputStream) output =
    g_converter_output_stream_new (g_io_stream_get_output_stream (self->stream),
                                   G_CONVERTER (compressor));

  g_set_object (&self->input, input);
  g_set_object (&self->output, output);
  self->compressed = TRUE;
}

static void
connect_next (GTask *task)
{
  HirImapClient *self = g_task_get_source_object (task);
  ConnectOp *op = g_task_get_task_data (task);

  switch (op->stage)
    {
    case STAGE_TCP:
      g_assert_not_reached ();
      break;

    case STAGE_GREETING:
      queue_command (self, command_new (self, COMMAND_GREETING,
                                        g_task_new (self, g_task_get_cancellable (task),
                                                    step_cb, task)));
      return;

    case STAGE_CAPABILITY:
      if (g_hash_table_size (self->capabilities) == 0)
        {
          send_text (self, COMMAND_PLAIN, "CAPABILITY",
                     g_task_new (self, g_task_get_cancellable (task), step_cb, task));
          /* step_cb advances to STAGE_STARTTLS. */
          return;
        }
      op->stage = STAGE_STARTTLS;
      G_GNUC_FALLTHROUGH;

    case STAGE_STARTTLS:
      if (self->security == HIR_SECURITY_STARTTLS && !op->tls_done)
        {
          if (!hir_imap_client_has_capability (self, "STARTTLS"))
            {
              GError *error = g_error_new (HIR_ERROR, HIR_ERROR_CONFIG,
                                           /* Translators: %s is a server's host name;
                                            * STARTTLS and TLS are protocol names. */
                                           _("%s does not offer STARTTLS: Hirondelle will not "
                                             "send your password in plain text. Choose TLS, or "
                                             "check the server's port"),
                                           self->host);
              connect_fail (task, error);
              return;
            }
          send_step (task, COMMAND_PLAIN, "STARTTLS");
          return;
        }
      op->stage = STAGE_AUTHENTICATE;
      G_GNUC_FALLTHROUGH;

    case STAGE_AUTHENTICATE:
      send_authenticate (task);
      return;

    case STAGE_CAPABILITY_AFTER_AUTH:
      /* Most servers list the new capabilities in the OK of AUTHENTICATE; ask if not. */
      if (!hir_imap_client_has_capability (self, "IMAP4REV1") ||
          hir_imap_client_has_capability (self, "AUTH=PLAIN") ||
          hir_imap_client_has_capability (self, "LOGINDISABLED"))
        {
          send_step (task, COMMAND_PLAIN, "CAPABILITY");
          return;
        }
      op->stage = STAGE_COMPRESS;
      G_GNUC_FALLTHROUGH;

    case STAGE_COMPRESS:
      /* RFC 4978: headers of a large folder shrink to a fifth. Nothing is in flight now,
       * so both directions switch at the same byte. */
      if (hir_imap_client_has_capability (self, "COMPRESS=DEFLATE") && self->allow_compression)
        {
          send_step (task, COMMAND_PLAIN, "COMPRESS DEFLATE");
          return;
        }
      op->stage = STAGE_ID;
      G_GNUC_FALLTHROUGH;

    case STAGE_ID:
      if (hir_imap_client_has_capability (self, "ID"))
        {
          send_step (task, COMMAND_PLAIN,
                     "ID (\"name\" \"Hirondelle\" \"version\" \"" PACKAGE_VERSION "\")");
          return;
        }
      op->stage = STAGE_ENABLE;
      G_GNUC_FALLTHROUGH;

    case STAGE_ENABLE:
      if (hir_imap_client_has_capability (self, "ENABLE") &&
          hir_imap_client_has_capability (self, "QRESYNC"))
        {
          send_step (task, COMMAND_PLAIN, "ENABLE QRESYNC CONDSTORE");
          return;
        }
      op->stage = STAGE_DONE;
      G_GNUC_FALLTHROUGH;

    case STAGE_DONE:
      set_connected (self, TRUE);
      pump_reads (self);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
}

void
hir_imap_client_connect_async (HirImapClient       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GSocketClient) client = NULL;
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_client_connect_async);
  g_task_set_task_data (task, g_new0 (ConnectOp, 1), g_free);

  if (self->closed || self->stream != NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("An IMAP client connects once; make a new one"));
      g_object_unref (task);
      return;
    }

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT);
  g_socket_client_connect_to_host_async (client, self->host, self->port, cancellable, tcp_cb,
                                         task);
}

gboolean
hir_imap_client_connect_finish (HirImapClient  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Helpers */

/* Kept for its callers; the code lives in hir-certificate.c. */
char *
hir_imap_normalize_fingerprint (const char *fingerprint)
{
  return hir_certificate_normalize_fingerprint (fingerprint);
}

char *
hir_imap_quote (const char *text)
{
  GString *out;

  if (text == NULL)
    return NULL;
  out = g_string_new ("\"");
  for (const guchar *p = (const guchar *) text; *p; p++)
    {
      if (*p == '\r' || *p == '\n' || *p >= 0x80)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

char *
hir_imap_mailbox_decode (const char *mailbox)
{
  GString *out = g_string_new (NULL);

  for (const char *p = mailbox; *p; p++)
    {
      const char *end;
      g_autofree char *b64 = NULL;
      g_autofree guchar *utf16 = NULL;
      g_autofree char *utf8 = NULL;
      gsize len = 0;

      if (*p != '&')
        {
          g_string_append_c (out, *p);
          continue;
        }
      end = strchr (p + 1, '-');
      if (end == NULL)
        {
          g_string_append (out, p);
          break;
        }
      if (end == p + 1)
        {
          g_string_append_c (out, '&');
          p = end;
          continue;
        }
      /* Modified base64: ',' for '/', no padding. */
      b64 = g_strndup (p + 1, end - p - 1);
      for (char *c = b64; *c; c++)
        if (*c == ',')
          *c = '/';
      {
        gsize blen = strlen (b64);
        g_autofree char *padded = g_strnfill (blen + (4 - blen % 4) % 4, '=');

        memcpy (padded, b64, blen);
        utf16 = g_base64_decode (padded, &len);
      }
      utf8 = g_convert ((const char *) utf16, len & ~1, "UTF-8", "UTF-16BE", NULL, NULL, NULL);
      if (utf8 != NULL)
        g_string_append (out, utf8);
      p = end;
    }
  return g_string_free (out, FALSE);
}

char *
hir_imap_uid_set (const guint32 *uids,
                  guint          n_uids)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < n_uids;)
    {
      guint j = i;

      while (j + 1 < n_uids && uids[j + 1] == uids[j] + 1)
        j++;
      if (out->len > 0)
        g_string_append_c (out, ',');
      if (j > i)
        g_string_append_printf (out, "%u:%u", uids[i], uids[j]);
      else
        g_string_append_printf (out, "%u", uids[i]);
      i = j + 1;
    }
  return g_string_free (out, FALSE);
}

/* Fetching a certificate to pin */

static void
probe_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapClient *client = HIR_IMAP_CLIENT (object);
  GError *error = NULL;

  if (!hir_imap_client_connect_finish (client, result, &error))
    {
      g_task_return_error (task, error);
      hir_imap_client_close (client);
      return;
    }
  if (client->peer_fingerprint == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               /* Translators: %s is a server's host name. */
                               _("%s presented no certificate"), client->host);
      hir_imap_client_close (client);
      return;
    }
  g_task_set_task_data (task, GUINT_TO_POINTER (client->peer_errors), NULL);
  g_task_return_pointer (task, g_strdup (client->peer_fingerprint), g_free);
  hir_imap_client_close (client);
}

void
hir_imap_fetch_certificate_async (const char          *host,
                                  guint                port,
                                  HirSecurity          security,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(HirImapClient) client = NULL;
  GTask *task;

  g_return_if_fail (host != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_fetch_certificate_async);
  if (security == HIR_SECURITY_NONE)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("A plain-text connection has no certificate"));
      g_object_unref (task);
      return;
    }
  client = hir_imap_client_new (host, port, security, NULL, NULL, NULL);
  client->probe = TRUE;
  hir_imap_client_connect_async (client, cancellable, probe_cb, task);
}

char *
hir_imap_fetch_certificate_finish (GAsyncResult          *result,
                                   GTlsCertificateFlags  *errors,
                                   GError               **error)
{
  char *fingerprint;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  fingerprint = g_task_propagate_pointer (G_TASK (result), error);
  if (fingerprint != NULL && errors != NULL)
    *errors = GPOINTER_TO_UINT (g_task_get_task_data (G_TASK (result)));
  return fingerprint;
}
