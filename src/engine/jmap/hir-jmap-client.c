/* hir-jmap-client.c: a JMAP session and its HTTP requests (RFC 8620)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>

#include "hir-certificate.h"
#include "hir-error.h"
#include "hir-jmap-client.h"

#define JMAP_CORE "urn:ietf:params:jmap:core"
#define JMAP_SUBMISSION "urn:ietf:params:jmap:submission"
#define JMAP_MAIL "urn:ietf:params:jmap:mail"

/* How much of a request or response body the debug log shows. */
#define DEBUG_BODY_MAX 4000

struct _HirJmapClient
{
  GObject parent_instance;

  /* API calls and downloads; a request that hangs for a minute is a dead server. */
  SoupSession *session;
  /* The EventSource stream is silent for as long as nothing changes: no timeout. */
  SoupSession *stream_session;

  char *session_url;
  char *username;
  char *password;
  char *trusted_certificate;

  /* From the session document, absolute. */
  gboolean has_session;
  char *api_url;
  char *download_url;
  char *upload_url;
  JsonObject *capabilities;
  JsonObject *account_capabilities;
  char *event_source_url;
  char *account_id;
  char *session_state;
  guint max_objects_in_get;

  guint request_count;
};

G_DEFINE_FINAL_TYPE (HirJmapClient, hir_jmap_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SESSION_URL,
  PROP_USERNAME,
  PROP_TRUSTED_CERTIFICATE,
  PROP_REQUEST_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hir_jmap_client_finalize (GObject *object)
{
  HirJmapClient *self = (HirJmapClient *) object;

  g_clear_object (&self->session);
  g_clear_object (&self->stream_session);
  g_clear_pointer (&self->session_url, g_free);
  g_clear_pointer (&self->username, g_free);
  g_clear_pointer (&self->password, g_free);
  g_clear_pointer (&self->trusted_certificate, g_free);
  g_clear_pointer (&self->api_url, g_free);
  g_clear_pointer (&self->download_url, g_free);
  g_clear_pointer (&self->upload_url, g_free);
  g_clear_pointer (&self->capabilities, json_object_unref);
  g_clear_pointer (&self->account_capabilities, json_object_unref);
  g_clear_pointer (&self->event_source_url, g_free);
  g_clear_pointer (&self->account_id, g_free);
  g_clear_pointer (&self->session_state, g_free);

  G_OBJECT_CLASS (hir_jmap_client_parent_class)->finalize (object);
}

static void
hir_jmap_client_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  HirJmapClient *self = HIR_JMAP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_SESSION_URL:
      g_value_set_string (value, self->session_url);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_TRUSTED_CERTIFICATE:
      g_value_set_string (value, self->trusted_certificate);
      break;
    case PROP_REQUEST_COUNT:
      g_value_set_uint (value, self->request_count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_jmap_client_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  HirJmapClient *self = HIR_JMAP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_SESSION_URL:
      self->session_url = g_value_dup_string (value);
      break;
    case PROP_USERNAME:
      self->username = g_value_dup_string (value);
      break;
    case PROP_TRUSTED_CERTIFICATE:
      self->trusted_certificate = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_jmap_client_class_init (HirJmapClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_jmap_client_finalize;
  object_class->get_property = hir_jmap_client_get_property;
  object_class->set_property = hir_jmap_client_set_property;

  properties[PROP_SESSION_URL] =
    g_param_spec_string ("session-url", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_TRUSTED_CERTIFICATE] =
    g_param_spec_string ("trusted-certificate", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_REQUEST_COUNT] =
    g_param_spec_uint ("request-count", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static SoupSession *
make_session (guint timeout)
{
  SoupSession *session = soup_session_new_with_options ("timeout", timeout,
                                                        "user-agent", "Hirondelle/" PACKAGE_VERSION,
                                                        NULL);

  /* We send the Authorization header ourselves on every request: without the auth
   * manager a 401 comes straight back to us instead of starting a re-authentication
   * loop with nobody to answer it. */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_AUTH_MANAGER);
  return session;
}

static void
hir_jmap_client_init (HirJmapClient *self)
{
  self->session = make_session (60);
  self->stream_session = make_session (0);
  self->max_objects_in_get = 500;
}

HirJmapClient *
hir_jmap_client_new (const char *session_url,
                     const char *username,
                     const char *password,
                     const char *trusted_certificate)
{
  HirJmapClient *self;

  g_return_val_if_fail (session_url != NULL, NULL);
  g_return_val_if_fail (username != NULL, NULL);

  self = g_object_new (HIR_TYPE_JMAP_CLIENT,
                       "session-url", session_url,
                       "username", username,
                       "trusted-certificate", trusted_certificate,
                       NULL);
  hir_jmap_client_set_password (self, password);
  return self;
}

void
hir_jmap_client_set_password (HirJmapClient *self,
                              const char    *password)
{
  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));

  g_free (self->password);
  self->password = g_strdup (password != NULL ? password : "");
}

guint
hir_jmap_client_get_request_count (HirJmapClient *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), 0);

  return self->request_count;
}

gboolean
hir_jmap_client_has_session (HirJmapClient *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), FALSE);

  return self->has_session;
}

const char *
hir_jmap_client_get_account_id (HirJmapClient *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), NULL);

  return self->account_id;
}

const char *
hir_jmap_client_get_event_source_url (HirJmapClient *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), NULL);

  return self->event_source_url;
}

guint
hir_jmap_client_get_max_objects_in_get (HirJmapClient *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), 0);

  return self->max_objects_in_get;
}

/* Certificates */

/* Kept for their callers; the code lives in hir-certificate.c. */
char *
hir_jmap_certificate_fingerprint (GTlsCertificate *certificate)
{
  return hir_certificate_fingerprint (certificate);
}

char *
hir_jmap_describe_certificate_errors (GTlsCertificateFlags errors)
{
  return hir_certificate_describe_errors (errors);
}

static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  const char *pinned = user_data;
  g_autofree char *fingerprint = hir_jmap_certificate_fingerprint (certificate);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  /* Kept for the error message: the user needs the fingerprint to decide. */
  g_object_set_data (G_OBJECT (msg), "hir-tls-errors", GUINT_TO_POINTER (errors));
  g_object_set_data_full (G_OBJECT (msg), "hir-tls-fingerprint", g_strdup (fingerprint),
                          g_free);
  g_object_set_data_full (G_OBJECT (msg), "hir-tls-certificate", g_object_ref (certificate),
                          g_object_unref);

  if (pinned == NULL || fingerprint == NULL)
    return FALSE;

  /* Pinning trusts exactly this certificate, whatever else is wrong with it: the user
   * has seen its fingerprint and accepted it (a self-signed home or test server). */
  a = hir_certificate_normalize_fingerprint (pinned);
  b = hir_certificate_normalize_fingerprint (fingerprint);
  return g_str_equal (a, b);
}

/* Requests */

static SoupMessage *
new_message (HirJmapClient *self,
             const char    *method,
             const char    *url,
             GError       **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *credentials = NULL;
  g_autofree char *encoded = NULL;
  g_autofree char *header = NULL;

  msg = soup_message_new (method, url);
  if (msg == NULL)
    {
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("“%s” is not a valid URL"), url);
      return NULL;
    }

  credentials = g_strdup_printf ("%s:%s", self->username, self->password);
  encoded = g_base64_encode ((const guchar *) credentials, strlen (credentials));
  header = g_strconcat ("Basic ", encoded, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                header);
  /* The pin outlives the message: the client owns it and every task holds the client. */
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb),
                    self->trusted_certificate);

  self->request_count++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REQUEST_COUNT]);

  return g_steal_pointer (&msg);
}

static const char *
message_host (SoupMessage *msg)
{
  GUri *uri = soup_message_get_uri (msg);

  /* Translators: stands for a server's host name when it is unknown, in messages such
   * as "HOST refused the user name or password". */
  return uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri) : _("the server");
}

/* Turns what libsoup reports for a failed exchange into the engine's vocabulary. */
static GError *
map_transport_error (SoupMessage  *msg,
                     const GError *error)
{
  const char *fingerprint = g_object_get_data (G_OBJECT (msg), "hir-tls-fingerprint");

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  if (error->domain == G_TLS_ERROR || fingerprint != NULL)
    {
      GTlsCertificateFlags errors =
        GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (msg), "hir-tls-errors"));
      g_autofree char *reason = hir_jmap_describe_certificate_errors (errors);

      if (fingerprint != NULL)
        /* Translators: the first %s is a host name, the second what is wrong with its
         * certificate ("issued by an unknown authority, expired"), the third the
         * certificate's fingerprint ("sha256:…"). */
        return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                            _("The certificate of %s is %s (fingerprint %s)"),
                            message_host (msg), reason, fingerprint);
      /* Translators: the first %s is a host name, the second the TLS library's reason. */
      return g_error_new (HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                          _("The secure connection to %s failed: %s"),
                          message_host (msg), error->message);
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    /* Translators: the first %s is a host name, the second the system's reason. */
    return g_error_new (HIR_ERROR, HIR_ERROR_OFFLINE, _("No network to reach %s: %s"),
                        message_host (msg), error->message);

  /* Translators: the first %s is a host name, the second the system's reason. */
  return g_error_new (HIR_ERROR, HIR_ERROR_UNREACHABLE, _("Cannot reach %s: %s"),
                      message_host (msg), error->message);
}

/* RFC 7807 problem details, as JMAP servers send them with 4xx/5xx. */
static char *
describe_problem (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *data;
  gsize len = 0;
  JsonNode *root;
  JsonObject *object;

  if (body == NULL)
    return NULL;
  data = g_bytes_get_data (body, &len);
  if (len == 0 || !json_parser_load_from_data (parser, data, len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  object = json_node_get_object (root);
  if (json_object_has_member (object, "detail"))
    return g_strdup (json_object_get_string_member_with_default (object, "detail", ""));
  if (json_object_has_member (object, "title"))
    return g_strdup (json_object_get_string_member_with_default (object, "title", ""));
  return NULL;
}

static gboolean
check_status (SoupMessage  *msg,
              GBytes       *body,
              GError      **error)
{
  guint status = soup_message_get_status (msg);
  g_autofree char *problem = NULL;

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    return TRUE;

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      /* Translators: %s is a server's host name. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                   _("%s refused the user name or password"), message_host (msg));
      return FALSE;
    }

  problem = describe_problem (body);
  if (problem != NULL)
    /* Translators: an HTTP error: "HOST answered 503 Service Unavailable: DETAIL"; the
     * status line and the detail come from the server, untranslated. */
    g_set_error (error, HIR_ERROR, HIR_ERROR_SERVER, _("%s answered %u %s: %s"),
                 message_host (msg), status,
                 soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "",
                 problem);
  else
    /* Translators: an HTTP error: "HOST answered 503 Service Unavailable"; the status
     * line comes from the server, untranslated. */
    g_set_error (error, HIR_ERROR, HIR_ERROR_SERVER, _("%s answered %u %s"),
                 message_host (msg), status,
                 soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "");
  return FALSE;
}

static void
debug_request (SoupMessage *msg,
               const char  *body)
{
  g_autofree char *uri = g_uri_to_string (soup_message_get_uri (msg));

  /* Never the headers: they carry the password. */
  g_debug ("> %s %s%s%.*s", soup_message_get_method (msg), uri,
           body ? "\n" : "", DEBUG_BODY_MAX, body ? body : "");
}

static void
debug_response (SoupMessage *msg,
                GBytes      *body)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  const char *type = soup_message_headers_get_content_type (
    soup_message_get_response_headers (msg), NULL);
  gboolean text = type != NULL && (g_str_has_prefix (type, "application/json") ||
                                   g_str_has_prefix (type, "text/") ||
                                   g_str_has_suffix (type, "+json"));

  g_debug ("< %u %s (%" G_GSIZE_FORMAT " bytes)%s%.*s", soup_message_get_status (msg),
           soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "",
           len, text && len ? "\n" : "", text ? (int) MIN (len, DEBUG_BODY_MAX) : 0,
           text && data ? data : "");
}

/* Sends @msg and reads the whole answer; the task's result is the body (GBytes) of a
 * successful response. */
static void
send_and_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SoupSession *session = SOUP_SESSION (object);
  g_autoptr(GTask) task = user_data;
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = soup_session_send_and_read_finish (session, result, &error);
  if (body == NULL)
    {
      g_debug ("< %s", error->message);
      g_task_return_error (task, map_transport_error (msg, error));
      return;
    }

  debug_response (msg, body);
  if (!check_status (msg, body, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
}

static void
send_and_read (HirJmapClient *self,
               SoupMessage   *msg,
               GTask         *task)
{
  g_task_set_task_data (task, g_object_ref (msg), g_object_unref);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task),
                                    send_and_read_cb, task);
}

/* Session */

/* Session URLs may be relative (Cyrus sends "/jmap/" and templates with braces that a
 * strict URI parser rejects), so absolute paths are joined to the origin by hand. */
static char *
resolve_url (GUri       *base,
             const char *reference)
{
  g_autofree char *origin = NULL;
  g_autofree char *base_string = NULL;

  if (reference == NULL || *reference == '\0')
    return NULL;
  if (strstr (reference, "://") != NULL)
    return g_strdup (reference);

  origin = g_uri_join (G_URI_FLAGS_NONE, g_uri_get_scheme (base), NULL, g_uri_get_host (base),
                       g_uri_get_port (base), "", NULL, NULL);
  if (reference[0] == '/')
    return g_strconcat (origin, reference, NULL);

  base_string = g_uri_to_string (base);
  return g_uri_resolve_relative (base_string, reference, G_URI_FLAGS_PARSE_RELAXED, NULL);
}

static gboolean
parse_session (HirJmapClient  *self,
               SoupMessage    *msg,
               GBytes         *body,
               GError        **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  GUri *base = soup_message_get_uri (msg);
  JsonObject *session;
  JsonObject *primary;
  JsonObject *capabilities;
  JsonObject *core;
  const char *account_id;
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);

  if (!json_parser_load_from_data (parser, data, len, &local_error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      /* Translators: the first %s is a host name, the second why its answer is not
       * a JMAP session (a JSON parser's message, or "not a JSON object"). */
      g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   _("%s did not answer with a JMAP session: %s"), message_host (msg),
                   local_error ? local_error->message : _("not a JSON object"));
      return FALSE;
    }
  session = json_node_get_object (json_parser_get_root (parser));

  primary = json_object_has_member (session, "primaryAccounts")
    ? json_object_get_object_member (session, "primaryAccounts") : NULL;
  account_id = primary ? json_object_get_string_member_with_default (primary, JMAP_MAIL, NULL)
                       : NULL;
  if (account_id == NULL)
    {
      /* Translators: %s is a server's host name. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   _("%s offers no JMAP mail account"), message_host (msg));
      return FALSE;
    }
  if (json_object_get_string_member_with_default (session, "apiUrl", NULL) == NULL ||
      json_object_get_string_member_with_default (session, "downloadUrl", NULL) == NULL)
    {
      /* Translators: %s is a server's host name; apiUrl and downloadUrl are JMAP
       * protocol words: do not translate them. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   _("The JMAP session of %s has no apiUrl or downloadUrl"), message_host (msg));
      return FALSE;
    }

  g_free (self->account_id);
  self->account_id = g_strdup (account_id);
  g_free (self->api_url);
  self->api_url = resolve_url (base, json_object_get_string_member (session, "apiUrl"));
  g_free (self->download_url);
  self->download_url = resolve_url (base, json_object_get_string_member (session, "downloadUrl"));
  g_free (self->event_source_url);
  self->event_source_url =
    resolve_url (base, json_object_get_string_member_with_default (session, "eventSourceUrl", NULL));

  g_free (self->upload_url);
  self->upload_url =
    resolve_url (base, json_object_get_string_member_with_default (session, "uploadUrl", NULL));

  capabilities = json_object_has_member (session, "capabilities")
    ? json_object_get_object_member (session, "capabilities") : NULL;
  g_clear_pointer (&self->capabilities, json_object_unref);
  if (capabilities != NULL)
    self->capabilities = json_object_ref (capabilities);
  g_clear_pointer (&self->account_capabilities, json_object_unref);
  {
    JsonObject *accounts = json_object_has_member (session, "accounts") &&
                           JSON_NODE_HOLDS_OBJECT (json_object_get_member (session, "accounts"))
      ? json_object_get_object_member (session, "accounts") : NULL;
    JsonObject *account = accounts != NULL && json_object_has_member (accounts, account_id) &&
                          JSON_NODE_HOLDS_OBJECT (json_object_get_member (accounts, account_id))
      ? json_object_get_object_member (accounts, account_id) : NULL;

    if (account != NULL && json_object_has_member (account, "accountCapabilities") &&
        JSON_NODE_HOLDS_OBJECT (json_object_get_member (account, "accountCapabilities")))
      self->account_capabilities =
        json_object_ref (json_object_get_object_member (account, "accountCapabilities"));
  }
  core = capabilities && json_object_has_member (capabilities, JMAP_CORE)
    ? json_object_get_object_member (capabilities, JMAP_CORE) : NULL;
  if (core != NULL)
    {
      gint64 max = json_object_get_int_member_with_default (core, "maxObjectsInGet", 500);

      /* Pages larger than this make slow single responses without being faster. */
      self->max_objects_in_get = CLAMP (max, 1, 1000);
    }

  g_free (self->session_state);
  self->session_state = g_strdup (json_object_get_string_member_with_default (session, "state",
                                                                              NULL));
  self->has_session = TRUE;
  g_debug ("JMAP session of %s: account %s, api %s, download %s, events %s",
           self->username, self->account_id, self->api_url, self->download_url,
           self->event_source_url ? self->event_source_url : "(none)");
  return TRUE;
}

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirJmapClient *self = g_task_get_source_object (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  body = g_task_propagate_pointer (G_TASK (result), &error);
  if (body == NULL ||
      !parse_session (self, g_task_get_task_data (G_TASK (result)), body, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
hir_jmap_client_connect_async (HirJmapClient       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  GTask *inner;

  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_client_connect_async);

  msg = new_message (self, SOUP_METHOD_GET, self->session_url, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json");
  debug_request (msg, NULL);

  /* libsoup follows the /.well-known/jmap → /jmap redirect itself; the final URI is what
   * relative session URLs resolve against. */
  inner = g_task_new (self, cancellable, connect_cb, g_steal_pointer (&task));
  g_task_set_source_tag (inner, connect_cb);
  send_and_read (self, msg, inner);
}

gboolean
hir_jmap_client_connect_finish (HirJmapClient  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* API calls */

static void
call_post_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *msg = g_task_get_task_data (G_TASK (result));
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object_;
  gsize len = 0;
  const char *data;

  body = g_task_propagate_pointer (G_TASK (result), &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  data = g_bytes_get_data (body, &len);
  if (!json_parser_load_from_data (parser, data, len, &error))
    {
      /* Translators: the first %s is a server's host name, the second the JSON
       * parser's message. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               _("%s sent an API response that is not JSON: %s"),
                               message_host (msg), error->message);
      return;
    }
  root = json_parser_get_root (parser);
  object_ = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (object_ == NULL || !json_object_has_member (object_, "methodResponses") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object_, "methodResponses")))
    {
      /* Translators: %s is a server's host name; methodResponses is a JMAP protocol
       * word: do not translate it. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               _("%s sent an API response without methodResponses"),
                               message_host (msg));
      return;
    }

  /* The session changed (new accounts, moved URLs, new limits): fetch it again before
   * the next call, rather than before every call. */
  if (g_strcmp0 (json_object_get_string_member_with_default (object_, "sessionState", NULL),
                 g_object_get_data (G_OBJECT (task), "hir-session-state")) != 0)
    {
      HirJmapClient *self = g_task_get_source_object (task);

      g_debug ("The JMAP session of %s changed; fetching it again", self->username);
      self->has_session = FALSE;
    }

  g_task_return_pointer (task,
                         json_array_ref (json_object_get_array_member (object_, "methodResponses")),
                         (GDestroyNotify) json_array_unref);
}

/* A request that sends mail or creates a message must never be repeated behind the
 * caller's back (libsoup resends an idempotent request on a dropped keep-alive
 * connection): the recipient would get it twice. */
static gboolean
calls_have_effects (JsonNode *method_calls)
{
  JsonArray *calls = json_node_get_array (method_calls);

  for (guint i = 0; i < json_array_get_length (calls); i++)
    {
      JsonArray *call = json_array_get_array_element (calls, i);
      const char *name = call != NULL ? json_array_get_string_element (call, 0) : NULL;

      if (g_strcmp0 (name, "EmailSubmission/set") == 0 || g_strcmp0 (name, "Email/import") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
call_post (HirJmapClient *self,
           GTask         *task)
{
  JsonNode *method_calls = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize len;
  GTask *inner;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "using");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, JMAP_CORE);
  json_builder_add_string_value (builder, JMAP_MAIL);
  /* Identity/get and EmailSubmission/set (the outbox) need it; asking for it costs
   * nothing where the server offers it. */
  if (hir_jmap_client_get_capability (self, JMAP_SUBMISSION) != NULL)
    json_builder_add_string_value (builder, JMAP_SUBMISSION);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "methodCalls");
  json_builder_add_value (builder, json_node_copy (method_calls));
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);
  text = json_to_string (request, FALSE);

  msg = new_message (self, SOUP_METHOD_POST, self->api_url, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json");
  /* libsoup opens a fresh connection for every POST unless told the request may be
   * repeated: our calls are reads and absolute keyword sets, so they may, and a full
   * sync of 50 pages no longer pays 50 connection setups. */
  if (!calls_have_effects (method_calls))
    soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  debug_request (msg, text);
  len = strlen (text);
  body = g_bytes_new_take (g_steal_pointer (&text), len);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);

  g_object_set_data_full (G_OBJECT (task), "hir-session-state", g_strdup (self->session_state),
                          g_free);
  inner = g_task_new (self, g_task_get_cancellable (task), call_post_cb, task);
  g_task_set_source_tag (inner, call_post);
  send_and_read (self, msg, inner);
}

static void
call_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  HirJmapClient *self = HIR_JMAP_CLIENT (object);
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (self, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  call_post (self, task);
}

void
hir_jmap_client_call_async (HirJmapClient       *self,
                            JsonNode            *method_calls,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));
  g_return_if_fail (JSON_NODE_HOLDS_ARRAY (method_calls));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_client_call_async);
  g_task_set_task_data (task, json_node_copy (method_calls), (GDestroyNotify) json_node_unref);

  if (!self->has_session)
    hir_jmap_client_connect_async (self, cancellable, call_connect_cb, task);
  else
    call_post (self, task);
}

JsonArray *
hir_jmap_client_call_finish (HirJmapClient  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

JsonObject *
hir_jmap_get_response (JsonArray   *responses,
                       guint        index,
                       const char  *name,
                       GError     **error)
{
  JsonArray *invocation;
  const char *response_name;
  JsonObject *arguments;

  if (index >= json_array_get_length (responses) ||
      !JSON_NODE_HOLDS_ARRAY (json_array_get_element (responses, index)) ||
      json_array_get_length (invocation = json_array_get_array_element (responses, index)) < 2 ||
      !JSON_NODE_HOLDS_OBJECT (json_array_get_element (invocation, 1)))
    {
      g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   "The server's answer to %s is missing or malformed", name);
      return NULL;
    }

  response_name = json_array_get_string_element (invocation, 0);
  arguments = json_array_get_object_element (invocation, 1);

  if (g_strcmp0 (response_name, "error") == 0)
    {
      const char *type = json_object_get_string_member_with_default (arguments, "type", "error");
      const char *description = json_object_get_string_member_with_default (arguments,
                                                                            "description", NULL);

      gboolean mismatch = g_str_equal (type, "cannotCalculateChanges");
      JsonNode *bad = json_object_get_member (arguments, "arguments");

      /* A state the server does not recognise at all (Cyrus answers invalidArguments
       * naming sinceState, e.g. after a restore) is as hopeless for a delta as one it
       * cannot compute from. */
      if (g_str_equal (type, "invalidArguments") && bad != NULL && JSON_NODE_HOLDS_ARRAY (bad))
        {
          JsonArray *names = json_node_get_array (bad);

          for (guint i = 0; i < json_array_get_length (names); i++)
            if (g_strcmp0 (json_array_get_string_element (names, i), "sinceState") == 0)
              mismatch = TRUE;
        }

      if (description != NULL)
        /* Translators: the first %s is a JMAP method ("Email/get"), the second the
         * server's error type ("invalidArguments"), the third its description. */
        g_set_error (error, HIR_ERROR, mismatch ? HIR_ERROR_STATE_MISMATCH : HIR_ERROR_SERVER,
                     _("The server refused %s: %s: %s"), name, type, description);
      else
        /* Translators: the first %s is a JMAP method ("Email/get"), the second the
         * server's error type ("invalidArguments"). */
        g_set_error (error, HIR_ERROR, mismatch ? HIR_ERROR_STATE_MISMATCH : HIR_ERROR_SERVER,
                     _("The server refused %s: %s"), name, type);
      return NULL;
    }

  if (g_strcmp0 (response_name, name) != 0)
    {
      /* Translators: the first %s is the JMAP method asked for ("Email/get"), the
       * second the one the server answered, or "(nothing)". */
      g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   _("The server answered %s with %s"), name,
                   response_name ? response_name : _("(nothing)"));
      return NULL;
    }

  return arguments;
}

/* Downloads */

char *
hir_jmap_expand_template (const char *template,
                          const char *first_name,
                          ...)
{
  g_autoptr(GString) out = g_string_new (template);
  const char *name = first_name;
  va_list args;

  /* RFC 6570 level 1: {name} becomes the value with everything but unreserved
   * characters percent-encoded. */
  va_start (args, first_name);
  while (name != NULL)
    {
      const char *value = va_arg (args, const char *);
      g_autofree char *pattern = g_strdup_printf ("{%s}", name);
      g_autofree char *escaped = g_uri_escape_string (value ? value : "", NULL, FALSE);

      g_string_replace (out, pattern, escaped, 0);
      name = va_arg (args, const char *);
    }
  va_end (args);

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
download_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *body = g_task_propagate_pointer (G_TASK (result), &error);

  if (body == NULL)
    {
      if (g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER) &&
          soup_message_get_status (g_task_get_task_data (G_TASK (result))) == SOUP_STATUS_NOT_FOUND)
        error->code = HIR_ERROR_NOT_FOUND;
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    g_task_return_pointer (task, body, (GDestroyNotify) g_bytes_unref);
}

static void
download_start (HirJmapClient *self,
                GTask         *task)
{
  GStrv blob = g_task_get_task_data (task);
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  GTask *inner;

  url = hir_jmap_expand_template (self->download_url,
                                  "accountId", self->account_id,
                                  "blobId", blob[0],
                                  "name", blob[1],
                                  "type", blob[2],
                                  NULL);
  msg = new_message (self, SOUP_METHOD_GET, url, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  debug_request (msg, NULL);
  inner = g_task_new (self, g_task_get_cancellable (task), download_cb, task);
  g_task_set_source_tag (inner, download_start);
  send_and_read (self, msg, inner);
}

static void
download_connect_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  HirJmapClient *self = HIR_JMAP_CLIENT (object);
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (self, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  download_start (self, task);
}

void
hir_jmap_client_download_async (HirJmapClient       *self,
                                const char          *blob_id,
                                const char          *name,
                                const char          *type,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  char **blob;

  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));
  g_return_if_fail (blob_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_client_download_async);
  blob = g_new0 (char *, 4);
  blob[0] = g_strdup (blob_id);
  blob[1] = g_strdup (name != NULL ? name : "attachment");
  blob[2] = g_strdup (type != NULL ? type : "application/octet-stream");
  g_task_set_task_data (task, blob, (GDestroyNotify) g_strfreev);

  if (!self->has_session)
    hir_jmap_client_connect_async (self, cancellable, download_connect_cb, task);
  else
    download_start (self, task);
}

GBytes *
hir_jmap_client_download_finish (HirJmapClient  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Upload */

JsonObject *
hir_jmap_client_get_capability (HirJmapClient *self,
                                const char    *uri)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), NULL);

  if (self->capabilities == NULL || !json_object_has_member (self->capabilities, uri))
    return NULL;
  return json_object_get_object_member (self->capabilities, uri);
}

JsonObject *
hir_jmap_client_get_account_capability (HirJmapClient *self,
                                        const char    *uri)
{
  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), NULL);

  if (self->account_capabilities == NULL ||
      !json_object_has_member (self->account_capabilities, uri) ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (self->account_capabilities, uri)))
    return NULL;
  return json_object_get_object_member (self->account_capabilities, uri);
}

static void
upload_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *answer;
  const char *blob_id;
  gsize len = 0;
  const char *data;

  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data = g_bytes_get_data (body, &len);
  if (!json_parser_load_from_data (parser, data, len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               "The JMAP server answered an upload with something not JSON");
      return;
    }
  answer = json_node_get_object (json_parser_get_root (parser));
  blob_id = json_object_get_string_member_with_default (answer, "blobId", NULL);
  if (blob_id == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               "The JMAP server answered an upload without a blobId");
      return;
    }
  g_task_return_pointer (task, g_strdup (blob_id), g_free);
}

static void
upload_start (HirJmapClient *self,
              GTask         *task)
{
  GBytes *data = g_object_get_data (G_OBJECT (task), "hir-upload-data");
  const char *type = g_object_get_data (G_OBJECT (task), "hir-upload-type");
  g_autofree char *url = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  GTask *inner;

  if (self->upload_url == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_PROTOCOL,
                               "The JMAP session has no uploadUrl");
      g_object_unref (task);
      return;
    }
  url = hir_jmap_expand_template (self->upload_url, "accountId", self->account_id, NULL);
  msg = new_message (self, SOUP_METHOD_POST, url, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  soup_message_set_request_body_from_bytes (msg, type, data);
  debug_request (msg, NULL);
  inner = g_task_new (self, g_task_get_cancellable (task), upload_cb, task);
  g_task_set_source_tag (inner, upload_start);
  send_and_read (self, msg, inner);
}

static void
upload_connect_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  HirJmapClient *self = HIR_JMAP_CLIENT (object);
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (self, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  upload_start (self, task);
}

void
hir_jmap_client_upload_async (HirJmapClient       *self,
                              GBytes              *data,
                              const char          *type,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));
  g_return_if_fail (data != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_client_upload_async);
  g_object_set_data_full (G_OBJECT (task), "hir-upload-data", g_bytes_ref (data),
                          (GDestroyNotify) g_bytes_unref);
  g_object_set_data_full (G_OBJECT (task), "hir-upload-type",
                          g_strdup (type != NULL ? type : "application/octet-stream"), g_free);

  if (!self->has_session)
    hir_jmap_client_connect_async (self, cancellable, upload_connect_cb, task);
  else
    upload_start (self, task);
}

char *
hir_jmap_client_upload_finish (HirJmapClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_jmap_client_upload_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* EventSource */

static void
event_source_send_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  const char *type;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, map_transport_error (msg, error));
      return;
    }

  status = soup_message_get_status (msg);
  type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);
  g_debug ("< %u %s (event stream, %s)", status,
           soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "",
           type ? type : "no type");

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                               _("%s refused the user name or password"), message_host (msg));
      return;
    }
  if (status != SOUP_STATUS_OK || g_strcmp0 (type, "text/event-stream") != 0)
    {
      /* Debian's Cyrus answers 204 No Content: it has no push. */
      /* Translators: %s is a server's host name, %u an HTTP status code. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER,
                               _("%s offers no change notifications (HTTP %u)"),
                               message_host (msg), status);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&stream), g_object_unref);
}

void
hir_jmap_client_open_event_source_async (HirJmapClient       *self,
                                         const char          *url,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (HIR_IS_JMAP_CLIENT (self));
  g_return_if_fail (url != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_client_open_event_source_async);

  msg = new_message (self, SOUP_METHOD_GET, url, &error);
  if (msg == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "text/event-stream");
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Cache-Control",
                                "no-cache");
  debug_request (msg, NULL);
  g_task_set_task_data (task, g_object_ref (msg), g_object_unref);
  soup_session_send_async (self->stream_session, msg, G_PRIORITY_DEFAULT, cancellable,
                           event_source_send_cb, g_steal_pointer (&task));
}

GInputStream *
hir_jmap_client_open_event_source_finish (HirJmapClient  *self,
                                          GAsyncResult   *result,
                                          GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Fetching a certificate to trust */

typedef struct
{
  SoupSession *session;
  SoupMessage *msg;
} FetchCertificate;

static void
fetch_certificate_free (FetchCertificate *fetch)
{
  g_clear_object (&fetch->session);
  g_clear_object (&fetch->msg);
  g_free (fetch);
}

static gboolean
record_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  g_object_set_data (G_OBJECT (msg), "hir-tls-errors", GUINT_TO_POINTER (errors));
  g_object_set_data_full (G_OBJECT (msg), "hir-tls-certificate", g_object_ref (certificate),
                          g_object_unref);
  /* Only looking: no request goes through on a certificate nobody has accepted yet. */
  return FALSE;
}

static void
fetch_certificate_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FetchCertificate *fetch = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate;
  GTlsCertificateFlags errors;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  certificate = g_object_get_data (G_OBJECT (fetch->msg), "hir-tls-certificate");
  errors = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (fetch->msg), "hir-tls-errors"));
  if (certificate == NULL && body != NULL)
    {
      certificate = soup_message_get_tls_peer_certificate (fetch->msg);
      errors = 0;
    }

  if (certificate == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, map_transport_error (fetch->msg, error));
      else
        /* Translators: %s is a server's host name. */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                                 _("%s presented no certificate"), message_host (fetch->msg));
      return;
    }

  g_object_set_data (G_OBJECT (task), "hir-tls-errors", GUINT_TO_POINTER (errors));
  g_task_return_pointer (task, hir_jmap_certificate_fingerprint (certificate), g_free);
}

void
hir_jmap_fetch_certificate_async (const char          *url,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FetchCertificate *fetch;
  g_autoptr(GUri) uri = NULL;

  g_return_if_fail (url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_fetch_certificate_async);

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0)
    {
      /* Translators: %s is a URL; "https:" is typed as it is. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("“%s” is not an https: URL, so it has no certificate"), url);
      return;
    }

  fetch = g_new0 (FetchCertificate, 1);
  fetch->session = make_session (30);
  fetch->msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  g_signal_connect (fetch->msg, "accept-certificate", G_CALLBACK (record_certificate_cb), NULL);
  g_task_set_task_data (task, fetch, (GDestroyNotify) fetch_certificate_free);

  soup_session_send_and_read_async (fetch->session, fetch->msg, G_PRIORITY_DEFAULT,
                                    cancellable, fetch_certificate_cb, g_steal_pointer (&task));
}

char *
hir_jmap_fetch_certificate_finish (GAsyncResult          *result,
                                   GTlsCertificateFlags  *errors,
                                   GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  if (errors != NULL)
    *errors = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "hir-tls-errors"));
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The SIZE argument of a submission capability ("size" for Cyrus, "SIZE" in RFC 8621's
 * example), or 0. */
static gint64
submission_size_limit (JsonObject *submission)
{
  JsonNode *node;
  JsonObject *extensions;
  GList *members;
  gint64 limit = 0;

  if (submission == NULL || !json_object_has_member (submission, "submissionExtensions"))
    return 0;
  node = json_object_get_member (submission, "submissionExtensions");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return 0;
  extensions = json_node_get_object (node);
  members = json_object_get_members (extensions);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *args = json_object_get_member (extensions, l->data);

      if (g_ascii_strcasecmp (l->data, "size") == 0 && JSON_NODE_HOLDS_ARRAY (args) &&
          json_array_get_length (json_node_get_array (args)) > 0)
        {
          const char *text = json_array_get_string_element (json_node_get_array (args), 0);

          limit = text != NULL ? g_ascii_strtoll (text, NULL, 10) : 0;
        }
    }
  g_list_free (members);
  return limit;
}

gint64
hir_jmap_client_get_submission_size_limit (HirJmapClient *self)
{
  gint64 limit;

  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), 0);

  limit = submission_size_limit (hir_jmap_client_get_account_capability (self,
                                   "urn:ietf:params:jmap:submission"));
  if (limit == 0)
    limit = submission_size_limit (hir_jmap_client_get_capability (self,
                                     "urn:ietf:params:jmap:submission"));
  return limit;
}

guint64
hir_jmap_client_get_size_limit (HirJmapClient *self)
{
  JsonObject *core;
  JsonObject *mail;
  gint64 limits[3];
  guint64 smallest = 0;

  g_return_val_if_fail (HIR_IS_JMAP_CLIENT (self), 0);

  core = hir_jmap_client_get_capability (self, "urn:ietf:params:jmap:core");
  mail = hir_jmap_client_get_account_capability (self, "urn:ietf:params:jmap:mail");
  limits[0] = core != NULL ? json_object_get_int_member_with_default (core, "maxSizeUpload", 0) : 0;
  limits[1] = mail != NULL
    ? json_object_get_int_member_with_default (mail, "maxSizeAttachmentsPerEmail", 0) : 0;
  limits[2] = hir_jmap_client_get_submission_size_limit (self);
  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    if (limits[i] > 0 && (smallest == 0 || (guint64) limits[i] < smallest))
      smallest = limits[i];
  return smallest;
}
