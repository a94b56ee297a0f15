/* hir-account.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-account.h"
#include "hir-error.h"

struct _HirAccount
{
  GObject parent_instance;

  HirAccountKind kind;
  char *id;
  char *display_name;
  char *address;
  char *username;
  char *jmap_url;
  char *imap_host;
  char *smtp_host;
  char *password_command;
  char *trusted_certificate;
  guint imap_port;
  HirSecurity imap_security;
  guint smtp_port;
  HirSecurity smtp_security;
  HirAccountStatus status;
  char *status_message;
  gboolean syncing;
};

G_DEFINE_FINAL_TYPE (HirAccount, hir_account, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND,
  PROP_ID,
  PROP_DISPLAY_NAME,
  PROP_ADDRESS,
  PROP_USERNAME,
  PROP_JMAP_URL,
  PROP_IMAP_HOST,
  PROP_SMTP_HOST,
  PROP_PASSWORD_COMMAND,
  PROP_TRUSTED_CERTIFICATE,
  PROP_IMAP_PORT,
  PROP_IMAP_SECURITY,
  PROP_SMTP_PORT,
  PROP_SMTP_SECURITY,
  PROP_STATUS,
  PROP_STATUS_MESSAGE,
  PROP_SYNCING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_string (HirAccount *self,
            char      **field,
            const char *value,
            guint       prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
hir_account_finalize (GObject *object)
{
  HirAccount *self = (HirAccount *) object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->username, g_free);
  g_clear_pointer (&self->jmap_url, g_free);
  g_clear_pointer (&self->imap_host, g_free);
  g_clear_pointer (&self->smtp_host, g_free);
  g_clear_pointer (&self->password_command, g_free);
  g_clear_pointer (&self->trusted_certificate, g_free);
  g_clear_pointer (&self->status_message, g_free);

  G_OBJECT_CLASS (hir_account_parent_class)->finalize (object);
}

static void
hir_account_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  HirAccount *self = HIR_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_enum (value, self->kind);
      break;
    case PROP_ID:
      g_value_set_string (value, hir_account_get_id (self));
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, hir_account_get_display_name (self));
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, hir_account_get_address (self));
      break;
    case PROP_USERNAME:
      g_value_set_string (value, hir_account_get_username (self));
      break;
    case PROP_JMAP_URL:
      g_value_set_string (value, hir_account_get_jmap_url (self));
      break;
    case PROP_IMAP_HOST:
      g_value_set_string (value, hir_account_get_imap_host (self));
      break;
    case PROP_SMTP_HOST:
      g_value_set_string (value, hir_account_get_smtp_host (self));
      break;
    case PROP_PASSWORD_COMMAND:
      g_value_set_string (value, hir_account_get_password_command (self));
      break;
    case PROP_TRUSTED_CERTIFICATE:
      g_value_set_string (value, hir_account_get_trusted_certificate (self));
      break;
    case PROP_IMAP_PORT:
      g_value_set_uint (value, self->imap_port);
      break;
    case PROP_IMAP_SECURITY:
      g_value_set_enum (value, self->imap_security);
      break;
    case PROP_SMTP_PORT:
      g_value_set_uint (value, self->smtp_port);
      break;
    case PROP_SMTP_SECURITY:
      g_value_set_enum (value, self->smtp_security);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_STATUS_MESSAGE:
      g_value_set_string (value, self->status_message);
      break;
    case PROP_SYNCING:
      g_value_set_boolean (value, self->syncing);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_account_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  HirAccount *self = HIR_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_KIND:
      if (self->kind != (HirAccountKind) g_value_get_enum (value))
        {
          self->kind = g_value_get_enum (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_ID:
      hir_account_set_id (self, g_value_get_string (value));
      break;
    case PROP_DISPLAY_NAME:
      hir_account_set_display_name (self, g_value_get_string (value));
      break;
    case PROP_ADDRESS:
      hir_account_set_address (self, g_value_get_string (value));
      break;
    case PROP_USERNAME:
      hir_account_set_username (self, g_value_get_string (value));
      break;
    case PROP_JMAP_URL:
      hir_account_set_jmap_url (self, g_value_get_string (value));
      break;
    case PROP_IMAP_HOST:
      hir_account_set_imap_host (self, g_value_get_string (value));
      break;
    case PROP_SMTP_HOST:
      hir_account_set_smtp_host (self, g_value_get_string (value));
      break;
    case PROP_PASSWORD_COMMAND:
      hir_account_set_password_command (self, g_value_get_string (value));
      break;
    case PROP_TRUSTED_CERTIFICATE:
      hir_account_set_trusted_certificate (self, g_value_get_string (value));
      break;
    case PROP_IMAP_PORT:
      hir_account_set_imap_port (self, g_value_get_uint (value));
      break;
    case PROP_IMAP_SECURITY:
      hir_account_set_imap_security (self, g_value_get_enum (value));
      break;
    case PROP_SMTP_PORT:
      hir_account_set_smtp_port (self, g_value_get_uint (value));
      break;
    case PROP_SMTP_SECURITY:
      hir_account_set_smtp_security (self, g_value_get_enum (value));
      break;
    case PROP_STATUS:
      hir_account_set_status (self, g_value_get_enum (value), self->status_message);
      break;
    case PROP_STATUS_MESSAGE:
      hir_account_set_status (self, self->status, g_value_get_string (value));
      break;
    case PROP_SYNCING:
      hir_account_set_syncing (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_account_class_init (HirAccountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_account_finalize;
  object_class->get_property = hir_account_get_property;
  object_class->set_property = hir_account_set_property;

  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL, HIR_TYPE_ACCOUNT_KIND, HIR_ACCOUNT_KIND_JMAP,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_JMAP_URL] =
    g_param_spec_string ("jmap-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAP_HOST] =
    g_param_spec_string ("imap-host", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SMTP_HOST] =
    g_param_spec_string ("smtp-host", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PASSWORD_COMMAND] =
    g_param_spec_string ("password-command", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TRUSTED_CERTIFICATE] =
    g_param_spec_string ("trusted-certificate", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAP_PORT] =
    g_param_spec_uint ("imap-port", NULL, NULL, 0, G_MAXUINT16, 993,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAP_SECURITY] =
    g_param_spec_enum ("imap-security", NULL, NULL, HIR_TYPE_SECURITY, HIR_SECURITY_TLS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SMTP_PORT] =
    g_param_spec_uint ("smtp-port", NULL, NULL, 0, G_MAXUINT16, 465,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SMTP_SECURITY] =
    g_param_spec_enum ("smtp-security", NULL, NULL, HIR_TYPE_SECURITY, HIR_SECURITY_TLS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, HIR_TYPE_ACCOUNT_STATUS, HIR_ACCOUNT_STATUS_OFFLINE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS_MESSAGE] =
    g_param_spec_string ("status-message", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SYNCING] =
    g_param_spec_boolean ("syncing", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_account_init (HirAccount *self)
{
  self->imap_port = 993;
  self->imap_security = HIR_SECURITY_TLS;
  self->smtp_port = 465;
  self->smtp_security = HIR_SECURITY_TLS;
  self->status = HIR_ACCOUNT_STATUS_OFFLINE;
}

/* The id defaults to the address: it names the cache and the keyring item, so it must
 * not change when the user later edits the address. */
HirAccount *
hir_account_new (HirAccountKind  kind,
                 const char     *address)
{
  return g_object_new (HIR_TYPE_ACCOUNT,
                       "kind", kind,
                       "id", address,
                       "address", address,
                       NULL);
}

HirAccountKind
hir_account_get_kind (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), HIR_ACCOUNT_KIND_JMAP);

  return self->kind;
}

const char *
hir_account_get_id (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->id;
}

void
hir_account_set_id (HirAccount *self,
                   const char *id)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->id, id, PROP_ID);
}

const char *
hir_account_get_display_name (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->display_name;
}

void
hir_account_set_display_name (HirAccount *self,
                             const char *display_name)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->display_name, display_name, PROP_DISPLAY_NAME);
}

const char *
hir_account_get_address (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->address;
}

void
hir_account_set_address (HirAccount *self,
                        const char *address)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->address, address, PROP_ADDRESS);
}

const char *
hir_account_get_username (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->username != NULL ? self->username : self->address;
}

void
hir_account_set_username (HirAccount *self,
                         const char *username)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->username, username, PROP_USERNAME);
}

const char *
hir_account_get_jmap_url (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->jmap_url;
}

void
hir_account_set_jmap_url (HirAccount *self,
                         const char *jmap_url)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->jmap_url, jmap_url, PROP_JMAP_URL);
}

const char *
hir_account_get_imap_host (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->imap_host;
}

void
hir_account_set_imap_host (HirAccount *self,
                          const char *host)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->imap_host, host, PROP_IMAP_HOST);
}

const char *
hir_account_get_smtp_host (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->smtp_host;
}

void
hir_account_set_smtp_host (HirAccount *self,
                          const char *host)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->smtp_host, host, PROP_SMTP_HOST);
}

const char *
hir_account_get_password_command (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->password_command;
}

void
hir_account_set_password_command (HirAccount *self,
                                 const char *command)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->password_command, command, PROP_PASSWORD_COMMAND);
}

const char *
hir_account_get_trusted_certificate (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->trusted_certificate;
}

void
hir_account_set_trusted_certificate (HirAccount *self,
                                    const char *fingerprint)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  set_string (self, &self->trusted_certificate, fingerprint, PROP_TRUSTED_CERTIFICATE);
}

guint
hir_account_get_imap_port (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), 0);

  return self->imap_port;
}

void
hir_account_set_imap_port (HirAccount *self,
                             guint       port)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  if (self->imap_port == port)
    return;
  self->imap_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAP_PORT]);
}

HirSecurity
hir_account_get_imap_security (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), HIR_SECURITY_TLS);

  return self->imap_security;
}

void
hir_account_set_imap_security (HirAccount  *self,
                                 HirSecurity  security)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  if (self->imap_security == security)
    return;
  self->imap_security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAP_SECURITY]);
}

guint
hir_account_get_smtp_port (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), 0);

  return self->smtp_port;
}

void
hir_account_set_smtp_port (HirAccount *self,
                             guint       port)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  if (self->smtp_port == port)
    return;
  self->smtp_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMTP_PORT]);
}

HirSecurity
hir_account_get_smtp_security (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), HIR_SECURITY_TLS);

  return self->smtp_security;
}

void
hir_account_set_smtp_security (HirAccount  *self,
                                 HirSecurity  security)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  if (self->smtp_security == security)
    return;
  self->smtp_security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMTP_SECURITY]);
}

HirAccountStatus
hir_account_get_status (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), HIR_ACCOUNT_STATUS_OFFLINE);

  return self->status;
}

const char *
hir_account_get_status_message (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), NULL);

  return self->status_message;
}

void
hir_account_set_status (HirAccount       *self,
                        HirAccountStatus  status,
                        const char       *message)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  /* Both change together, so a banner bound to both sees one consistent update. */
  g_object_freeze_notify (G_OBJECT (self));
  if (self->status != status)
    {
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  set_string (self, &self->status_message, message, PROP_STATUS_MESSAGE);
  g_object_thaw_notify (G_OBJECT (self));
}

void
hir_account_set_status_from_error (HirAccount   *self,
                                   const GError *error)
{
  HirAccountStatus status;

  g_return_if_fail (HIR_IS_ACCOUNT (self));
  g_return_if_fail (error != NULL);

  status = self->status;
  if (error->domain == HIR_ERROR)
    {
      switch ((HirErrorCode) error->code)
        {
        case HIR_ERROR_AUTH_FAILED:
          status = HIR_ACCOUNT_STATUS_AUTH_FAILED;
          break;
        case HIR_ERROR_CERTIFICATE_UNTRUSTED:
          status = HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED;
          break;
        case HIR_ERROR_UNREACHABLE:
          status = HIR_ACCOUNT_STATUS_UNREACHABLE;
          break;
        case HIR_ERROR_OFFLINE:
          status = HIR_ACCOUNT_STATUS_OFFLINE;
          break;
        case HIR_ERROR_FAILED:
        case HIR_ERROR_PROTOCOL:
        case HIR_ERROR_SERVER:
        case HIR_ERROR_NOT_FOUND:
        case HIR_ERROR_NO_SECRET_SERVICE:
        case HIR_ERROR_CONFIG:
        case HIR_ERROR_STORAGE:
        case HIR_ERROR_STATE_MISMATCH:
        default:
          /* The connection itself is fine: keep the status, but say what went wrong. */
          break;
        }
    }

  hir_account_set_status (self, status, error->message);
}

gboolean
hir_account_get_syncing (HirAccount *self)
{
  g_return_val_if_fail (HIR_IS_ACCOUNT (self), FALSE);

  return self->syncing;
}

void
hir_account_set_syncing (HirAccount *self,
                         gboolean    syncing)
{
  g_return_if_fail (HIR_IS_ACCOUNT (self));

  syncing = !!syncing;
  if (self->syncing == syncing)
    return;
  self->syncing = syncing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYNCING]);
}
