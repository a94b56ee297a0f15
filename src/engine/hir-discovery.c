/* hir-discovery.c: finding an address's mail servers and checking the login
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "hir-certificate.h"
#include "hir-discovery.h"
#include "hir-error.h"
#include "hir-imap-client.h"
#include "hir-jmap-client.h"
#include "hir-smtp-transport.h"

#define HTTP_TIMEOUT 15
#define CONNECT_TIMEOUT 10
#define JMAP_SUBMISSION "urn:ietf:params:jmap:submission"

typedef enum
{
  PROBE_JMAP_URL,     /* GET a JMAP session URL: 401 or a session means JMAP */
  PROBE_JMAP_SRV,     /* _jmap._tcp, then its well-known URL */
  PROBE_SRV,          /* one RFC 6186 service */
  PROBE_AUTOCONFIG,   /* GET config-v1.1.xml */
  PROBE_CONNECT,      /* a usual host name and port that answers */
} ProbeKind;

typedef struct
{
  ProbeKind kind;
  HirDiscoveryStep step;
  char *what;         /* URL, SRV service name or host name */
  guint port;
  HirSecurity security;
  gboolean sending;   /* SRV and CONNECT: a submission server, not IMAP */
} Probe;

struct _HirDiscovery
{
  GObject parent_instance;

  char *address;
  char *domain;
  char *display_name;
  char *password;
  char *trusted_certificate;
  guint https_port;
  guint http_port;

  HirDiscoveryStep step;
  GTlsCertificate *certificate;
  GTlsCertificateFlags certificate_errors;
  char *certificate_host;
  HirAccount *found;

  SoupSession *session;
};

G_DEFINE_FINAL_TYPE (HirDiscovery, hir_discovery, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ADDRESS,
  PROP_DISPLAY_NAME,
  PROP_PASSWORD,
  PROP_TRUSTED_CERTIFICATE,
  PROP_HTTPS_PORT,
  PROP_HTTP_PORT,
  PROP_STEP,
  PROP_CERTIFICATE,
  PROP_CERTIFICATE_ERRORS,
  PROP_CERTIFICATE_HOST,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_STEP,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* g_set_str() is GLib 2.76. */
static gboolean
set_str (char       **slot,
         const char  *value)
{
  if (g_strcmp0 (*slot, value) == 0)
    return FALSE;
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

static void
hir_discovery_dispose (GObject *object)
{
  HirDiscovery *self = HIR_DISCOVERY (object);

  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  g_clear_object (&self->certificate);
  g_clear_object (&self->found);

  G_OBJECT_CLASS (hir_discovery_parent_class)->dispose (object);
}

static void
hir_discovery_finalize (GObject *object)
{
  HirDiscovery *self = HIR_DISCOVERY (object);

  g_free (self->address);
  g_free (self->domain);
  g_free (self->display_name);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->trusted_certificate);
  g_free (self->certificate_host);

  G_OBJECT_CLASS (hir_discovery_parent_class)->finalize (object);
}

static void
hir_discovery_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  HirDiscovery *self = HIR_DISCOVERY (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_PASSWORD:
      /* Never handed back out. */
      g_value_set_string (value, NULL);
      break;
    case PROP_TRUSTED_CERTIFICATE:
      g_value_set_string (value, self->trusted_certificate);
      break;
    case PROP_HTTPS_PORT:
      g_value_set_uint (value, self->https_port);
      break;
    case PROP_HTTP_PORT:
      g_value_set_uint (value, self->http_port);
      break;
    case PROP_STEP:
      g_value_set_uint (value, self->step);
      break;
    case PROP_CERTIFICATE:
      g_value_set_object (value, self->certificate);
      break;
    case PROP_CERTIFICATE_ERRORS:
      g_value_set_flags (value, self->certificate_errors);
      break;
    case PROP_CERTIFICATE_HOST:
      g_value_set_string (value, self->certificate_host);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_discovery_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  HirDiscovery *self = HIR_DISCOVERY (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      {
        const char *at;

        self->address = g_strstrip (g_value_dup_string (value));
        at = self->address != NULL ? strrchr (self->address, '@') : NULL;
        self->domain = g_ascii_strdown (at != NULL ? at + 1 : "", -1);
      }
      break;
    case PROP_DISPLAY_NAME:
      hir_discovery_set_display_name (self, g_value_get_string (value));
      break;
    case PROP_PASSWORD:
      hir_discovery_set_password (self, g_value_get_string (value));
      break;
    case PROP_TRUSTED_CERTIFICATE:
      hir_discovery_set_trusted_certificate (self, g_value_get_string (value));
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
hir_discovery_class_init (HirDiscoveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_discovery_dispose;
  object_class->finalize = hir_discovery_finalize;
  object_class->get_property = hir_discovery_get_property;
  object_class->set_property = hir_discovery_set_property;

  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PASSWORD] =
    g_param_spec_string ("password", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TRUSTED_CERTIFICATE] =
    g_param_spec_string ("trusted-certificate", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTPS_PORT] =
    g_param_spec_uint ("https-port", NULL, NULL, 0, 65535, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTTP_PORT] =
    g_param_spec_uint ("http-port", NULL, NULL, 0, 65535, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STEP] =
    g_param_spec_uint ("step", NULL, NULL, 0, HIR_DISCOVERY_STEP_DONE, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CERTIFICATE] =
    g_param_spec_object ("certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CERTIFICATE_ERRORS] =
    g_param_spec_flags ("certificate-errors", NULL, NULL, G_TYPE_TLS_CERTIFICATE_FLAGS, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CERTIFICATE_HOST] =
    g_param_spec_string ("certificate-host", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_STEP] =
    g_signal_new ("step", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
}

static void
hir_discovery_init (HirDiscovery *self)
{
}

HirDiscovery *
hir_discovery_new (const char *address)
{
  g_return_val_if_fail (address != NULL, NULL);

  return g_object_new (HIR_TYPE_DISCOVERY, "address", address, NULL);
}

const char *
hir_discovery_get_address (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), NULL);

  return self->address;
}

void
hir_discovery_set_display_name (HirDiscovery *self,
                                const char   *display_name)
{
  g_return_if_fail (HIR_IS_DISCOVERY (self));

  if (set_str (&self->display_name, display_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
}

void
hir_discovery_set_password (HirDiscovery *self,
                            const char   *password)
{
  g_return_if_fail (HIR_IS_DISCOVERY (self));

  if (g_strcmp0 (self->password, password) == 0)
    return;
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PASSWORD]);
}

const char *
hir_discovery_get_trusted_certificate (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), NULL);

  return self->trusted_certificate;
}

void
hir_discovery_set_trusted_certificate (HirDiscovery *self,
                                       const char   *fingerprint)
{
  g_return_if_fail (HIR_IS_DISCOVERY (self));

  if (set_str (&self->trusted_certificate, fingerprint))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRUSTED_CERTIFICATE]);
}

HirDiscoveryStep
hir_discovery_get_step (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), HIR_DISCOVERY_STEP_NONE);

  return self->step;
}

GTlsCertificate *
hir_discovery_get_certificate (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), NULL);

  return self->certificate;
}

GTlsCertificateFlags
hir_discovery_get_certificate_errors (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), 0);

  return self->certificate_errors;
}

const char *
hir_discovery_get_certificate_host (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), NULL);

  return self->certificate_host;
}

HirAccount *
hir_discovery_get_found (HirDiscovery *self)
{
  g_return_val_if_fail (HIR_IS_DISCOVERY (self), NULL);

  return self->found;
}

const char *
hir_discovery_step_describe (HirDiscoveryStep step)
{
  switch (step)
    {
    case HIR_DISCOVERY_STEP_NONE:
      return "";
    case HIR_DISCOVERY_STEP_JMAP:
      return _("Looking for a JMAP server");
    case HIR_DISCOVERY_STEP_SRV:
      return _("Looking up the domain’s mail service records");
    case HIR_DISCOVERY_STEP_AUTOCONFIG:
      return _("Looking for the provider’s configuration");
    case HIR_DISCOVERY_STEP_GUESS:
      return _("Trying the usual server names");
    case HIR_DISCOVERY_STEP_VERIFY_READ:
      return _("Logging in to read mail");
    case HIR_DISCOVERY_STEP_VERIFY_SEND:
      return _("Checking that mail can be sent");
    case HIR_DISCOVERY_STEP_DONE:
      return _("Done");
    default:
      g_return_val_if_reached ("");
    }
}

static void
set_step (HirDiscovery     *self,
          HirDiscoveryStep  step,
          const char       *detail)
{
  g_debug ("discovery: step %u %s", step, detail != NULL ? detail : "");
  if (self->step != step)
    {
      self->step = step;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
    }
  g_signal_emit (self, signals[SIGNAL_STEP], 0, (guint) step, detail);
}

static void
set_certificate (HirDiscovery         *self,
                 GTlsCertificate      *certificate,
                 GTlsCertificateFlags  errors,
                 const char           *host,
                 guint                 port)
{
  g_autofree char *where = host != NULL ? g_strdup_printf ("%s:%u", host, port) : NULL;

  if (g_set_object (&self->certificate, certificate))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CERTIFICATE]);
  if (self->certificate_errors != errors)
    {
      self->certificate_errors = errors;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CERTIFICATE_ERRORS]);
    }
  if (set_str (&self->certificate_host, where))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CERTIFICATE_HOST]);
}

/* One run */

typedef struct
{
  GPtrArray *probes;      /* Probe */
  guint next;
  HirAccount *account;    /* what is found so far (also self->found) */
  gboolean jmap;          /* account's jmap-url is set */
  gboolean imap;
  gboolean smtp;
  SoupMessage *msg;       /* the fetch in flight */
  Probe *current;
  /* Where the login check talks to, for fetching a certificate it refused. */
  char *check_host;
  guint check_port;
  HirCertificateProtocol check_protocol;
  HirSecurity check_security;
} RunOp;

static void
probe_free (Probe *probe)
{
  g_free (probe->what);
  g_free (probe);
}

static void
run_op_free (RunOp *op)
{
  g_clear_pointer (&op->probes, g_ptr_array_unref);
  g_clear_object (&op->account);
  g_clear_object (&op->msg);
  g_free (op->check_host);
  g_free (op);
}

static void
add_probe (RunOp            *op,
           ProbeKind         kind,
           HirDiscoveryStep  step,
           char             *what,
           guint             port,
           HirSecurity       security,
           gboolean          sending)
{
  Probe *probe = g_new0 (Probe, 1);

  probe->kind = kind;
  probe->step = step;
  probe->what = what;
  probe->port = port;
  probe->security = security;
  probe->sending = sending;
  g_ptr_array_add (op->probes, probe);
}

static char *
make_url (HirDiscovery *self,
          gboolean      https,
          const char   *host,
          const char   *path)
{
  guint port = https ? self->https_port : self->http_port;

  if (port != 0)
    return g_strdup_printf ("%s://%s:%u%s", https ? "https" : "http", host, port, path);
  return g_strdup_printf ("%s://%s%s", https ? "https" : "http", host, path);
}

static void
plan_probes (HirDiscovery *self,
             RunOp        *op)
{
  g_autofree char *escaped = g_uri_escape_string (self->address, NULL, FALSE);
  g_autofree char *query = g_strconcat ("/mail/config-v1.1.xml?emailaddress=", escaped, NULL);
  const char *wk_autoconfig = "/.well-known/autoconfig/mail/config-v1.1.xml";
  const char *d = self->domain;
  g_autofree char *jmap_host = g_strconcat ("jmap.", d, NULL);
  g_autofree char *mail_host = g_strconcat ("mail.", d, NULL);
  g_autofree char *imap_host = g_strconcat ("imap.", d, NULL);
  g_autofree char *smtp_host = g_strconcat ("smtp.", d, NULL);
  g_autofree char *autoconfig_host = g_strconcat ("autoconfig.", d, NULL);

  add_probe (op, PROBE_JMAP_URL, HIR_DISCOVERY_STEP_JMAP,
             make_url (self, TRUE, d, "/.well-known/jmap"), 0, HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_JMAP_URL, HIR_DISCOVERY_STEP_JMAP,
             make_url (self, TRUE, jmap_host, "/.well-known/jmap"), 0, HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_JMAP_URL, HIR_DISCOVERY_STEP_JMAP,
             make_url (self, TRUE, mail_host, "/.well-known/jmap"), 0, HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_JMAP_SRV, HIR_DISCOVERY_STEP_JMAP, g_strdup ("jmap"), 0,
             HIR_SECURITY_TLS, FALSE);

  /* RFC 8314 §5.1: implicit TLS first. */
  add_probe (op, PROBE_SRV, HIR_DISCOVERY_STEP_SRV, g_strdup ("imaps"), 0, HIR_SECURITY_TLS,
             FALSE);
  add_probe (op, PROBE_SRV, HIR_DISCOVERY_STEP_SRV, g_strdup ("imap"), 0,
             HIR_SECURITY_STARTTLS, FALSE);
  add_probe (op, PROBE_SRV, HIR_DISCOVERY_STEP_SRV, g_strdup ("submissions"), 0,
             HIR_SECURITY_TLS, TRUE);
  add_probe (op, PROBE_SRV, HIR_DISCOVERY_STEP_SRV, g_strdup ("submission"), 0,
             HIR_SECURITY_STARTTLS, TRUE);

  add_probe (op, PROBE_AUTOCONFIG, HIR_DISCOVERY_STEP_AUTOCONFIG,
             make_url (self, TRUE, autoconfig_host, query), 0, HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_AUTOCONFIG, HIR_DISCOVERY_STEP_AUTOCONFIG,
             make_url (self, TRUE, d, wk_autoconfig), 0, HIR_SECURITY_TLS, FALSE);
  /* Plain http only for the configuration (Thunderbird does the same); the login
   * itself never goes out without TLS. */
  add_probe (op, PROBE_AUTOCONFIG, HIR_DISCOVERY_STEP_AUTOCONFIG,
             make_url (self, FALSE, autoconfig_host, query), 0, HIR_SECURITY_NONE, FALSE);
  add_probe (op, PROBE_AUTOCONFIG, HIR_DISCOVERY_STEP_AUTOCONFIG,
             make_url (self, FALSE, d, wk_autoconfig), 0, HIR_SECURITY_NONE, FALSE);

  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (imap_host), 993,
             HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (mail_host), 993,
             HIR_SECURITY_TLS, FALSE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (imap_host), 143,
             HIR_SECURITY_STARTTLS, FALSE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (mail_host), 143,
             HIR_SECURITY_STARTTLS, FALSE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (smtp_host), 465,
             HIR_SECURITY_TLS, TRUE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (mail_host), 465,
             HIR_SECURITY_TLS, TRUE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (smtp_host), 587,
             HIR_SECURITY_STARTTLS, TRUE);
  add_probe (op, PROBE_CONNECT, HIR_DISCOVERY_STEP_GUESS, g_strdup (mail_host), 587,
             HIR_SECURITY_STARTTLS, TRUE);
}

static void run_next (GTask *task);
static void check_read (GTask *task);

static void
set_imap (RunOp       *op,
          const char  *host,
          guint        port,
          HirSecurity  security)
{
  hir_account_set_imap_host (op->account, host);
  hir_account_set_imap_port (op->account, port);
  hir_account_set_imap_security (op->account, security);
  op->imap = TRUE;
}

static void
set_smtp (RunOp       *op,
          const char  *host,
          guint        port,
          HirSecurity  security)
{
  hir_account_set_smtp_host (op->account, host);
  hir_account_set_smtp_port (op->account, port);
  hir_account_set_smtp_security (op->account, security);
  op->smtp = TRUE;
}

/* Fetches over http(s) */

static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  HirDiscovery *self = user_data;
  GUri *uri = soup_message_get_uri (msg);

  if (hir_certificate_matches_pin (certificate, self->trusted_certificate))
    return TRUE;
  /* Kept for the user to decide; the fetch fails. */
  set_certificate (self, certificate, errors, g_uri_get_host (uri),
                   g_uri_get_port (uri) > 0 ? (guint) g_uri_get_port (uri) : 443);
  return FALSE;
}

/* An untrusted certificate stops everything; anything else only this probe. */
static gboolean
fetch_failed (GTask        *task,
              SoupMessage  *msg,
              GError       *error)
{
  HirDiscovery *self = g_task_get_source_object (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return TRUE;
    }
  if (self->certificate != NULL)
    {
      g_autofree char *reason = hir_certificate_describe_errors (self->certificate_errors);
      g_autofree char *fingerprint = hir_certificate_fingerprint (self->certificate);

      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED,
                               _("The certificate of %s is %s (fingerprint %s)"),
                               self->certificate_host, reason, fingerprint);
      g_error_free (error);
      g_object_unref (task);
      return TRUE;
    }
  g_debug ("discovery: %s: %s", g_uri_get_host (soup_message_get_uri (msg)), error->message);
  g_error_free (error);
  return FALSE;
}

static void
jmap_fetched_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  RunOp *op = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *url = NULL;
  GError *error = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  if (body == NULL)
    {
      if (!fetch_failed (task, op->msg, error))
        run_next (task);
      return;
    }
  status = soup_message_get_status (op->msg);
  url = g_uri_to_string (soup_message_get_uri (op->msg));
  /* The session needs a login: 401 is the usual answer; a session document also counts. */
  if (status == SOUP_STATUS_UNAUTHORIZED
      || (status == SOUP_STATUS_OK
          && g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                           "\"capabilities\"") != NULL))
    {
      g_debug ("discovery: JMAP session at %s (%u)", url, status);
      hir_account_set_jmap_url (op->account, url);
      op->jmap = TRUE;
    }
  run_next (task);
}

static void
fetch (GTask               *task,
       const char          *url,
       GAsyncReadyCallback  callback)
{
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);

  g_clear_object (&op->msg);
  op->msg = soup_message_new (SOUP_METHOD_GET, url);
  if (op->msg == NULL)
    {
      run_next (task);
      return;
    }
  g_signal_connect_object (op->msg, "accept-certificate", G_CALLBACK (accept_certificate_cb),
                           self, 0);
  soup_session_send_and_read_async (self->session, op->msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), callback, task);
}

/* Autoconfig XML */

typedef struct
{
  GString *text;
  const char *element;    /* hostname, port, socketType, username */
  gboolean incoming;
  gboolean outgoing;
  gboolean wanted;        /* an imap incomingServer or smtp outgoingServer, the first */
  gboolean have_imap;
  gboolean have_smtp;
  char *host;
  guint port;
  char *socket_type;
  char *username;
  char *imap_host, *smtp_host, *imap_socket, *smtp_socket, *imap_user, *smtp_user;
  guint imap_port, smtp_port;
} Autoconfig;

static void
autoconfig_start (GMarkupParseContext  *context,
                  const char           *element,
                  const char          **names,
                  const char          **values,
                  gpointer              user_data,
                  GError              **error)
{
  Autoconfig *ac = user_data;

  if (g_str_equal (element, "incomingServer") || g_str_equal (element, "outgoingServer"))
    {
      const char *type = NULL;

      g_markup_collect_attributes (element, names, values, NULL,
                                   G_MARKUP_COLLECT_STRING | G_MARKUP_COLLECT_OPTIONAL, "type", &type,
                                   G_MARKUP_COLLECT_INVALID);
      ac->incoming = g_str_equal (element, "incomingServer");
      ac->outgoing = !ac->incoming;
      ac->wanted = (ac->incoming && g_strcmp0 (type, "imap") == 0 && !ac->have_imap)
                   || (ac->outgoing && g_strcmp0 (type, "smtp") == 0 && !ac->have_smtp);
      g_clear_pointer (&ac->host, g_free);
      g_clear_pointer (&ac->socket_type, g_free);
      g_clear_pointer (&ac->username, g_free);
      ac->port = 0;
    }
  ac->element = element;
  g_string_truncate (ac->text, 0);
}

static void
autoconfig_text (GMarkupParseContext  *context,
                 const char           *text,
                 gsize                 len,
                 gpointer              user_data,
                 GError              **error)
{
  Autoconfig *ac = user_data;

  g_string_append_len (ac->text, text, len);
}

static void
autoconfig_end (GMarkupParseContext  *context,
                const char           *element,
                gpointer              user_data,
                GError              **error)
{
  Autoconfig *ac = user_data;
  g_autofree char *value = g_strstrip (g_strdup (ac->text->str));

  g_string_truncate (ac->text, 0);
  if (!ac->wanted)
    return;
  if (g_str_equal (element, "hostname"))
    set_str (&ac->host, value);
  else if (g_str_equal (element, "port"))
    ac->port = (guint) g_ascii_strtoull (value, NULL, 10);
  else if (g_str_equal (element, "socketType"))
    set_str (&ac->socket_type, value);
  else if (g_str_equal (element, "username"))
    set_str (&ac->username, value);
  else if (g_str_equal (element, "incomingServer") && ac->host != NULL && ac->port != 0)
    {
      ac->have_imap = TRUE;
      ac->imap_host = g_steal_pointer (&ac->host);
      ac->imap_port = ac->port;
      ac->imap_socket = g_steal_pointer (&ac->socket_type);
      ac->imap_user = g_steal_pointer (&ac->username);
      ac->wanted = FALSE;
    }
  else if (g_str_equal (element, "outgoingServer") && ac->host != NULL && ac->port != 0)
    {
      ac->have_smtp = TRUE;
      ac->smtp_host = g_steal_pointer (&ac->host);
      ac->smtp_port = ac->port;
      ac->smtp_socket = g_steal_pointer (&ac->socket_type);
      ac->smtp_user = g_steal_pointer (&ac->username);
      ac->wanted = FALSE;
    }
}

static HirSecurity
parse_socket_type (const char *socket_type)
{
  if (g_strcmp0 (socket_type, "STARTTLS") == 0)
    return HIR_SECURITY_STARTTLS;
  if (g_strcmp0 (socket_type, "plain") == 0)
    return HIR_SECURITY_NONE;
  return HIR_SECURITY_TLS;
}

/* %EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN% */
static char *
expand_username (HirDiscovery *self,
                 const char   *pattern)
{
  g_autofree char *local = g_strndup (self->address, strcspn (self->address, "@"));
  g_auto(GStrv) a = g_strsplit (pattern, "%EMAILADDRESS%", -1);
  g_autofree char *s1 = g_strjoinv (self->address, a);
  g_auto(GStrv) b = g_strsplit (s1, "%EMAILLOCALPART%", -1);
  g_autofree char *s2 = g_strjoinv (local, b);
  g_auto(GStrv) c = g_strsplit (s2, "%EMAILDOMAIN%", -1);

  return g_strjoinv (self->domain, c);
}

static void
autoconfig_fetched_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GTask *task = user_data;
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);
  GMarkupParser parser = { autoconfig_start, autoconfig_end, autoconfig_text, NULL, NULL };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) parse_error = NULL;
  Autoconfig ac = { 0, };
  GError *error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  if (body == NULL)
    {
      if (!fetch_failed (task, op->msg, error))
        run_next (task);
      return;
    }
  if (soup_message_get_status (op->msg) != SOUP_STATUS_OK)
    {
      run_next (task);
      return;
    }

  ac.text = g_string_new (NULL);
  context = g_markup_parse_context_new (&parser, 0, &ac, NULL);
  if (!g_markup_parse_context_parse (context, g_bytes_get_data (body, NULL),
                                     g_bytes_get_size (body), &parse_error)
      || !g_markup_parse_context_end_parse (context, &parse_error))
    g_debug ("discovery: autoconfig: %s", parse_error->message);
  else
    {
      const char *user = ac.imap_user != NULL ? ac.imap_user : ac.smtp_user;

      if (ac.have_imap && !op->imap)
        set_imap (op, ac.imap_host, ac.imap_port, parse_socket_type (ac.imap_socket));
      if (ac.have_smtp && !op->smtp)
        set_smtp (op, ac.smtp_host, ac.smtp_port, parse_socket_type (ac.smtp_socket));
      if (user != NULL)
        {
          g_autofree char *username = expand_username (self, user);

          if (g_strcmp0 (username, self->address) != 0)
            hir_account_set_username (op->account, username);
        }
    }
  g_string_free (ac.text, TRUE);
  g_free (ac.host);
  g_free (ac.socket_type);
  g_free (ac.username);
  g_free (ac.imap_host);
  g_free (ac.smtp_host);
  g_free (ac.imap_socket);
  g_free (ac.smtp_socket);
  g_free (ac.imap_user);
  g_free (ac.smtp_user);
  run_next (task);
}

/* DNS */

static void
srv_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  GTask *task = user_data;
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);
  Probe *probe = op->current;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  GList *targets;
  guint port = 0;

  targets = g_resolver_lookup_service_finish (G_RESOLVER (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (targets == NULL)
    {
      g_debug ("discovery: _%s._tcp.%s: %s", probe->what, self->domain,
               error != NULL ? error->message : "none");
      run_next (task);
      return;
    }
  /* GLib sorts by priority and weight. A target of "." says "not offered" (RFC 6186). */
  host = g_strdup (g_srv_target_get_hostname (targets->data));
  port = g_srv_target_get_port (targets->data);
  g_list_free_full (targets, (GDestroyNotify) g_srv_target_free);
  if (host == NULL || *host == '\0' || g_str_equal (host, ".") || port == 0)
    {
      run_next (task);
      return;
    }

  if (probe->kind == PROBE_JMAP_SRV)
    {
      g_autofree char *url = g_strdup_printf ("https://%s:%u/.well-known/jmap", host, port);

      set_step (self, HIR_DISCOVERY_STEP_JMAP, url);
      fetch (task, url, jmap_fetched_cb);
      return;
    }
  if (probe->sending && !op->smtp)
    set_smtp (op, host, port, probe->security);
  else if (!probe->sending && !op->imap)
    set_imap (op, host, port, probe->security);
  run_next (task);
}

/* Connecting to a usual host */

static void
connect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  RunOp *op = g_task_get_task_data (task);
  Probe *probe = op->current;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      if (probe->sending)
        set_smtp (op, probe->what, probe->port, probe->security);
      else
        set_imap (op, probe->what, probe->port, probe->security);
    }
  run_next (task);
}

/* The login check */

static void
fail_with_certificate_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  GTask *task = user_data;
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);
  GError *error = g_object_steal_data (G_OBJECT (task), "hir-check-error");
  g_autoptr(GTlsCertificate) certificate = NULL;
  GTlsCertificateFlags errors = 0;

  certificate = hir_certificate_fetch_finish (result, &errors, NULL);
  if (certificate != NULL)
    set_certificate (self, certificate, errors, op->check_host, op->check_port);
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* The login failed: an untrusted certificate is fetched for the user to look at. */
static void
check_failed (GTask  *task,
              GError *error)
{
  RunOp *op = g_task_get_task_data (task);

  if (g_error_matches (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED)
      && op->check_host != NULL)
    {
      g_object_set_data_full (G_OBJECT (task), "hir-check-error", error, NULL);
      hir_certificate_fetch_async (op->check_host, op->check_port, op->check_protocol,
                                   op->check_security, g_task_get_cancellable (task),
                                   fail_with_certificate_cb, task);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
check_where (RunOp                  *op,
             const char             *host,
             guint                   port,
             HirCertificateProtocol  protocol,
             HirSecurity             security)
{
  g_free (op->check_host);
  op->check_host = g_strdup (host);
  op->check_port = port;
  op->check_protocol = protocol;
  op->check_security = security;
}

static void
check_done (GTask *task)
{
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);

  if (self->trusted_certificate != NULL)
    hir_account_set_trusted_certificate (op->account, self->trusted_certificate);
  set_step (self, HIR_DISCOVERY_STEP_DONE, NULL);
  g_task_return_pointer (task, g_object_ref (op->account), g_object_unref);
  g_object_unref (task);
}

static void
smtp_verified_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!hir_smtp_transport_verify_finish (HIR_SMTP_TRANSPORT (object), result, &error))
    {
      check_failed (task, error);
      return;
    }
  check_done (task);
}

static void
imap_connected_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);
  g_autoptr(HirSmtpTransport) transport = NULL;
  g_autofree char *detail = NULL;
  GError *error = NULL;

  if (!hir_imap_client_connect_finish (HIR_IMAP_CLIENT (object), result, &error))
    {
      check_failed (task, error);
      return;
    }
  hir_imap_client_close (HIR_IMAP_CLIENT (object));

  detail = g_strdup_printf ("%s:%u", hir_account_get_smtp_host (op->account),
                            hir_account_get_smtp_port (op->account));
  set_step (self, HIR_DISCOVERY_STEP_VERIFY_SEND, detail);
  check_where (op, hir_account_get_smtp_host (op->account),
               hir_account_get_smtp_port (op->account), HIR_CERTIFICATE_PROTOCOL_SMTP,
               hir_account_get_smtp_security (op->account));
  transport = hir_smtp_transport_new (hir_account_get_smtp_host (op->account),
                                      hir_account_get_smtp_port (op->account),
                                      hir_account_get_smtp_security (op->account),
                                      hir_account_get_username (op->account),
                                      self->password, self->trusted_certificate);
  hir_smtp_transport_verify_async (transport, g_task_get_cancellable (task), smtp_verified_cb,
                                   task);
}

static void
jmap_connected_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  HirDiscovery *self = g_task_get_source_object (task);
  HirJmapClient *client = HIR_JMAP_CLIENT (object);
  GError *error = NULL;

  if (!hir_jmap_client_connect_finish (client, result, &error))
    {
      check_failed (task, error);
      return;
    }
  set_step (self, HIR_DISCOVERY_STEP_VERIFY_SEND, JMAP_SUBMISSION);
  if (hir_jmap_client_get_capability (client, JMAP_SUBMISSION) == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("The JMAP server of %s does not offer sending mail"),
                               self->domain);
      g_object_unref (task);
      return;
    }
  check_done (task);
}

static void
check_read (GTask *task)
{
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);
  const char *username = hir_account_get_username (op->account);

  if (hir_account_get_kind (op->account) == HIR_ACCOUNT_KIND_JMAP)
    {
      const char *url = hir_account_get_jmap_url (op->account);
      g_autoptr(HirJmapClient) client = NULL;
      g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

      set_step (self, HIR_DISCOVERY_STEP_VERIFY_READ, url);
      if (uri != NULL && g_uri_get_host (uri) != NULL)
        check_where (op, g_uri_get_host (uri),
                     g_uri_get_port (uri) > 0 ? (guint) g_uri_get_port (uri) : 443,
                     HIR_CERTIFICATE_PROTOCOL_HTTPS, HIR_SECURITY_TLS);
      client = hir_jmap_client_new (url, username, self->password, self->trusted_certificate);
      hir_jmap_client_connect_async (client, g_task_get_cancellable (task), jmap_connected_cb,
                                     task);
    }
  else
    {
      g_autoptr(HirImapClient) client = NULL;
      g_autofree char *detail = g_strdup_printf ("%s:%u",
                                                 hir_account_get_imap_host (op->account),
                                                 hir_account_get_imap_port (op->account));

      set_step (self, HIR_DISCOVERY_STEP_VERIFY_READ, detail);
      check_where (op, hir_account_get_imap_host (op->account),
                   hir_account_get_imap_port (op->account), HIR_CERTIFICATE_PROTOCOL_IMAP,
                   hir_account_get_imap_security (op->account));
      client = hir_imap_client_new (hir_account_get_imap_host (op->account),
                                    hir_account_get_imap_port (op->account),
                                    hir_account_get_imap_security (op->account), username,
                                    self->password, self->trusted_certificate);
      hir_imap_client_connect_async (client, g_task_get_cancellable (task), imap_connected_cb,
                                     task);
    }
}

/* The next probe, or the login check once something complete was found. */
static void
run_next (GTask *task)
{
  HirDiscovery *self = g_task_get_source_object (task);
  RunOp *op = g_task_get_task_data (task);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (op->jmap)
    {
      g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, self->address);

      /* JMAP found: the IMAP and SMTP guesses are not needed. */
      hir_account_set_display_name (account, self->display_name);
      hir_account_set_jmap_url (account, hir_account_get_jmap_url (op->account));
      g_set_object (&op->account, account);
      g_set_object (&self->found, account);
      check_read (task);
      return;
    }
  if (op->imap && op->smtp)
    {
      check_read (task);
      return;
    }

  while (op->next < op->probes->len)
    {
      Probe *probe = g_ptr_array_index (op->probes, op->next++);

      /* The guesses fill what the better sources left out. */
      if (probe->kind == PROBE_CONNECT && (probe->sending ? op->smtp : op->imap))
        continue;
      if (probe->kind == PROBE_SRV && (probe->sending ? op->smtp : op->imap))
        continue;

      op->current = probe;
      switch (probe->kind)
        {
        case PROBE_JMAP_URL:
          set_step (self, probe->step, probe->what);
          fetch (task, probe->what, jmap_fetched_cb);
          return;

        case PROBE_AUTOCONFIG:
          set_step (self, probe->step, probe->what);
          fetch (task, probe->what, autoconfig_fetched_cb);
          return;

        case PROBE_JMAP_SRV:
        case PROBE_SRV:
          {
            g_autoptr(GResolver) resolver = g_resolver_get_default ();
            g_autofree char *name = g_strdup_printf ("_%s._tcp.%s", probe->what, self->domain);

            set_step (self, probe->step, name);
            g_resolver_lookup_service_async (resolver, probe->what, "tcp", self->domain,
                                             g_task_get_cancellable (task), srv_cb, task);
            return;
          }

        case PROBE_CONNECT:
          {
            g_autoptr(GSocketClient) client = g_socket_client_new ();
            g_autofree char *name = g_strdup_printf ("%s:%u", probe->what, probe->port);

            set_step (self, probe->step, name);
            g_socket_client_set_timeout (client, CONNECT_TIMEOUT);
            g_socket_client_connect_to_host_async (client, probe->what, probe->port,
                                                   g_task_get_cancellable (task), connect_cb,
                                                   task);
            return;
          }
        }
    }

  if (op->imap)
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                             _("No server for sending mail was found for %s"), self->domain);
  else
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                             _("No mail server was found for %s"), self->domain);
  g_object_unref (task);
}

static GTask *
start_task (HirDiscovery        *self,
            gpointer             source_tag,
            HirAccount          *account,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  RunOp *op = g_new0 (RunOp, 1);

  g_task_set_source_tag (task, source_tag);
  op->probes = g_ptr_array_new_with_free_func ((GDestroyNotify) probe_free);
  op->account = account;
  g_task_set_task_data (task, op, (GDestroyNotify) run_op_free);

  g_set_object (&self->found, account);
  set_certificate (self, NULL, 0, NULL, 0);
  if (self->session == NULL)
    self->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT,
                                                   "user-agent", "Hirondelle/" PACKAGE_VERSION,
                                                   NULL);
  return task;
}

void
hir_discovery_run_async (HirDiscovery        *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  HirAccount *account;
  GTask *task;
  RunOp *op;

  g_return_if_fail (HIR_IS_DISCOVERY (self));

  account = hir_account_new (HIR_ACCOUNT_KIND_IMAP, self->address);
  hir_account_set_display_name (account, self->display_name);
  task = start_task (self, hir_discovery_run_async, account, cancellable, callback, user_data);
  op = g_task_get_task_data (task);

  if (*self->domain == '\0' || strchr (self->domain, '/') != NULL
      || strchr (self->domain, ':') != NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               _("“%s” is not an e-mail address"), self->address);
      g_object_unref (task);
      return;
    }
  plan_probes (self, op);
  run_next (task);
}

HirAccount *
hir_discovery_run_finish (HirDiscovery  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
hir_discovery_verify_async (HirDiscovery        *self,
                            HirAccount          *account,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  HirAccount *copy;
  GTask *task;

  g_return_if_fail (HIR_IS_DISCOVERY (self));
  g_return_if_fail (HIR_IS_ACCOUNT (account));

  copy = hir_account_new (hir_account_get_kind (account), hir_account_get_address (account));
  hir_account_set_display_name (copy, hir_account_get_display_name (account));
  if (g_strcmp0 (hir_account_get_username (account), hir_account_get_address (account)) != 0)
    hir_account_set_username (copy, hir_account_get_username (account));
  hir_account_set_jmap_url (copy, hir_account_get_jmap_url (account));
  hir_account_set_imap_host (copy, hir_account_get_imap_host (account));
  hir_account_set_imap_port (copy, hir_account_get_imap_port (account));
  hir_account_set_imap_security (copy, hir_account_get_imap_security (account));
  hir_account_set_smtp_host (copy, hir_account_get_smtp_host (account));
  hir_account_set_smtp_port (copy, hir_account_get_smtp_port (account));
  hir_account_set_smtp_security (copy, hir_account_get_smtp_security (account));
  task = start_task (self, hir_discovery_verify_async, copy, cancellable, callback, user_data);
  check_read (task);
}

HirAccount *
hir_discovery_verify_finish (HirDiscovery  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
