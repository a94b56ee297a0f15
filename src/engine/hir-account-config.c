/* hir-account-config.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-account-config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "hir-error.h"

#define GROUP_PREFIX "Account "

/* Reads an enum key by its nickname ("jmap", "starttls"); absent leaves @value alone. */
static gboolean
read_enum (GKeyFile    *keyfile,
           const char  *path,
           const char  *group,
           const char  *key,
           GType        type,
           gint        *value,
           GError     **error)
{
  g_autoptr(GEnumClass) klass = NULL;
  g_autofree char *nick = g_key_file_get_string (keyfile, group, key, NULL);
  GEnumValue *enum_value;

  if (nick == NULL)
    return TRUE;

  klass = g_type_class_ref (type);
  enum_value = g_enum_get_value_by_nick (klass, g_strstrip (nick));
  if (enum_value == NULL)
    {
      g_autoptr(GString) allowed = g_string_new (NULL);

      for (guint i = 0; i < klass->n_values; i++)
        g_string_append_printf (allowed, "%s%s", i > 0 ? ", " : "", klass->values[i].value_nick);
      /* Translators: a mistake in the accounts file: "PATH: [Account a@b.c] kind=pop
       * is not one of jmap, imap"; keep the brackets and the = sign. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                   _("%s: [%s] %s=%s is not one of %s"), path, group, key, nick, allowed->str);
      return FALSE;
    }
  *value = enum_value->value;
  return TRUE;
}

static gboolean
read_port (GKeyFile    *keyfile,
           const char  *path,
           const char  *group,
           const char  *key,
           guint       *port,
           GError     **error)
{
  g_autofree char *text = g_key_file_get_string (keyfile, group, key, NULL);
  guint64 value;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (g_strstrip (text), 10, 1, G_MAXUINT16, &value, NULL))
    {
      /* Translators: a mistake in the accounts file: "PATH: [Account a@b.c] imap-port=x
       * is not a port number"; keep the brackets and the = sign. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                   _("%s: [%s] %s=%s is not a port number"), path, group, key, text);
      return FALSE;
    }
  *port = value;
  return TRUE;
}

static HirAccount *
read_account (GKeyFile    *keyfile,
              const char  *path,
              const char  *group,
              GError     **error)
{
  static const char * const string_keys[] = {
    "display-name", "username", "jmap-url", "imap-host", "smtp-host",
    "password-command", "trusted-certificate",
  };
  g_autoptr(HirAccount) account = NULL;
  g_autofree char *address = g_key_file_get_string (keyfile, group, "address", NULL);
  const char *id = group + strlen (GROUP_PREFIX);
  gint kind = HIR_ACCOUNT_KIND_JMAP;
  gint security;
  guint port;

  if (*id == '\0')
    {
      /* Translators: a mistake in the accounts file; the first %s is its path, the second
       * a group name in brackets. “Account” is typed as it is: do not translate it. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                   _("%s: [%s] has no account id after “Account”"), path, group);
      return NULL;
    }
  if (address == NULL || *g_strstrip (address) == '\0')
    {
      /* Translators: a mistake in the accounts file; the first %s is its path, the second
       * a group name in brackets. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                   _("%s: [%s] has no address"), path, group);
      return NULL;
    }
  if (!read_enum (keyfile, path, group, "kind", HIR_TYPE_ACCOUNT_KIND, &kind, error))
    return NULL;

  account = hir_account_new (kind, address);
  hir_account_set_id (account, id);

  for (guint i = 0; i < G_N_ELEMENTS (string_keys); i++)
    {
      g_autofree char *value = g_key_file_get_string (keyfile, group, string_keys[i], NULL);

      if (value != NULL)
        g_object_set (account, string_keys[i], value, NULL);
    }

  port = hir_account_get_imap_port (account);
  if (!read_port (keyfile, path, group, "imap-port", &port, error))
    return NULL;
  hir_account_set_imap_port (account, port);
  port = hir_account_get_smtp_port (account);
  if (!read_port (keyfile, path, group, "smtp-port", &port, error))
    return NULL;
  hir_account_set_smtp_port (account, port);

  security = hir_account_get_imap_security (account);
  if (!read_enum (keyfile, path, group, "imap-security", HIR_TYPE_SECURITY, &security, error))
    return NULL;
  hir_account_set_imap_security (account, security);
  security = hir_account_get_smtp_security (account);
  if (!read_enum (keyfile, path, group, "smtp-security", HIR_TYPE_SECURITY, &security, error))
    return NULL;
  hir_account_set_smtp_security (account, security);

  return g_steal_pointer (&account);
}

/* The first line GKeyFile would refuse (1-based), or 0. */
static guint
find_malformed_line (const char *path)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      while (g_ascii_isspace (*line))
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[' ? strchr (line, ']') == NULL : strchr (line, '=') == NULL)
        return i + 1;
    }
  return 0;
}

GPtrArray *
hir_account_config_load (const char  *path,
                         GError     **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_KEEP_COMMENTS, &local_error))
    {
      guint line;

      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&accounts);

      /* GKeyFile quotes the offending line but not its number: an editor wants both. */
      line = g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE)
             ? find_malformed_line (path) : 0;
      if (line > 0)
        g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, "%s:%u: %s",
                     path, line, local_error->message);
      else
        /* Translators: the accounts file's path, then why it cannot be read. */
        g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("%s: %s"), path,
                     local_error->message);
      return NULL;
    }

  groups = g_key_file_get_groups (keyfile, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      HirAccount *account;

      /* Other groups are left for future versions rather than refused. */
      if (!g_str_has_prefix (groups[i], GROUP_PREFIX))
        continue;
      account = read_account (keyfile, path, groups[i], error);
      if (account == NULL)
        return NULL;
      g_ptr_array_add (accounts, account);
    }

  return g_steal_pointer (&accounts);
}

static void
write_enum (GKeyFile   *keyfile,
            const char *group,
            const char *key,
            GType       type,
            gint        value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value (klass, value);

  if (enum_value != NULL)
    g_key_file_set_string (keyfile, group, key, enum_value->value_nick);
}

static void
write_string (GKeyFile   *keyfile,
              const char *group,
              const char *key,
              const char *value)
{
  if (value != NULL && *value != '\0')
    g_key_file_set_string (keyfile, group, key, value);
}

gboolean
hir_account_config_save (const char  *path,
                         GPtrArray   *accounts,
                         GError     **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (accounts != NULL, FALSE);

  /* Keep what the user wrote by hand (comments, groups we do not know) where we can. */
  if (!g_key_file_load_from_file (keyfile, path, G_KEY_FILE_KEEP_COMMENTS, &local_error) &&
      !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_debug ("%s: not keeping old contents: %s", path, local_error->message);
  {
    g_auto(GStrv) groups = g_key_file_get_groups (keyfile, NULL);

    for (guint i = 0; groups[i] != NULL; i++)
      if (g_str_has_prefix (groups[i], GROUP_PREFIX))
        g_key_file_remove_group (keyfile, groups[i], NULL);
  }

  for (guint i = 0; i < accounts->len; i++)
    {
      HirAccount *account = g_ptr_array_index (accounts, i);
      g_autofree char *group = g_strconcat (GROUP_PREFIX, hir_account_get_id (account), NULL);
      const char *username = hir_account_get_username (account);

      write_enum (keyfile, group, "kind", HIR_TYPE_ACCOUNT_KIND, hir_account_get_kind (account));
      write_string (keyfile, group, "address", hir_account_get_address (account));
      write_string (keyfile, group, "display-name", hir_account_get_display_name (account));
      /* The username defaults to the address: only write it when it differs. */
      if (g_strcmp0 (username, hir_account_get_address (account)) != 0)
        write_string (keyfile, group, "username", username);
      write_string (keyfile, group, "jmap-url", hir_account_get_jmap_url (account));
      if (hir_account_get_imap_host (account) != NULL)
        {
          write_string (keyfile, group, "imap-host", hir_account_get_imap_host (account));
          g_key_file_set_integer (keyfile, group, "imap-port", hir_account_get_imap_port (account));
          write_enum (keyfile, group, "imap-security", HIR_TYPE_SECURITY,
                      hir_account_get_imap_security (account));
        }
      if (hir_account_get_smtp_host (account) != NULL)
        {
          write_string (keyfile, group, "smtp-host", hir_account_get_smtp_host (account));
          g_key_file_set_integer (keyfile, group, "smtp-port", hir_account_get_smtp_port (account));
          write_enum (keyfile, group, "smtp-security", HIR_TYPE_SECURITY,
                      hir_account_get_smtp_security (account));
        }
      write_string (keyfile, group, "password-command",
                    hir_account_get_password_command (account));
      write_string (keyfile, group, "trusted-certificate",
                    hir_account_get_trusted_certificate (account));
    }

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      /* Translators: a folder on the disk (a directory); the second %s says why. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("Cannot create the folder %s: %s"),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  data = g_key_file_to_data (keyfile, &length, NULL);
  g_clear_error (&local_error);
  /* 0600: a password command can say where the password is, which is nobody's business. */
  if (!g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local_error))
    {
      /* Translators: the first %s is a file's path, the second says why. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("Cannot save %s: %s"),
                   path, local_error->message);
      return FALSE;
    }

  return TRUE;
}
