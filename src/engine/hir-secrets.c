/* hir-secrets.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-secrets.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>

#include "hir-error.h"

/* Translators: "password-command", "accounts.conf" and "--password-command" are typed
 * as they are: do not translate them. */
#define NO_SECRET_SERVICE_MESSAGE \
  _("No keyring (Secret Service) is available. Set a password command for this account " \
    "(password-command in accounts.conf, or --password-command)")

/* How long a password command's complaint may be in an error message. */
#define MAX_STDERR_CHARS 400

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "app.hirondelle.Hirondelle.Account", SECRET_SCHEMA_NONE,
    {
      { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

/* What a request needs, copied on the caller's thread: the account object belongs to the
 * main thread and the work runs in another. */
typedef struct
{
  char *account_id;
  char *address;
  char *password_command;
  char *password;
} SecretsRequest;

static void
secrets_request_free (SecretsRequest *request)
{
  g_free (request->account_id);
  g_free (request->address);
  g_free (request->password_command);
  if (request->password != NULL)
    {
      /* Do not leave the password lying in freed memory. */
      memset (request->password, 0, strlen (request->password));
      g_free (request->password);
    }
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SecretsRequest, secrets_request_free)

static SecretsRequest *
secrets_request_new (HirAccount *account,
                     const char *password)
{
  SecretsRequest *request = g_new0 (SecretsRequest, 1);
  const char *command = hir_account_get_password_command (account);

  request->account_id = g_strdup (hir_account_get_id (account));
  request->address = g_strdup (hir_account_get_address (account));
  if (command != NULL && *command != '\0')
    request->password_command = g_strdup (command);
  request->password = g_strdup (password);
  return request;
}

static gboolean
is_no_service_error (const GError *error)
{
  /* The bus is there but nothing provides org.freedesktop.secrets (or it died). */
  return error->domain == G_DBUS_ERROR &&
         (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN ||
          error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER ||
          error->code == G_DBUS_ERROR_NO_REPLY ||
          error->code == G_DBUS_ERROR_DISCONNECTED ||
          error->code == G_DBUS_ERROR_SPAWN_EXEC_FAILED ||
          error->code == G_DBUS_ERROR_SPAWN_FAILED ||
          error->code == G_DBUS_ERROR_SPAWN_CHILD_EXITED ||
          error->code == G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND ||
          error->code == G_DBUS_ERROR_SPAWN_SERVICE_INVALID);
}

/* No session bus at all (a headless box, a cron job) is the common case of "no keyring";
 * checking first gives a clear error instead of libsecret's autolaunch complaints. */
static gboolean
check_session_bus (GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) local_error = NULL;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, cancellable, &local_error);
  if (bus == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        {
          g_debug ("No session bus: %s", local_error->message);
          g_set_error_literal (error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE,
                               NO_SECRET_SERVICE_MESSAGE);
        }
      return FALSE;
    }
  return TRUE;
}

/* @what is a translated sentence ("Could not read the password from the keyring"). */
static void
set_keyring_error (GError     **error,
                   GError      *keyring_error,
                   const char  *what)
{
  if (g_error_matches (keyring_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, keyring_error);
  else if (is_no_service_error (keyring_error))
    {
      g_debug ("Secret Service unavailable: %s", keyring_error->message);
      g_set_error_literal (error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE,
                           NO_SECRET_SERVICE_MESSAGE);
      g_error_free (keyring_error);
    }
  else
    {
      /* Translators: the first %s says what failed ("Could not read the password from
       * the keyring"), the second is the keyring's own message. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_FAILED, _("%s: %s"),
                   what, keyring_error->message);
      g_error_free (keyring_error);
    }
}

static char *
run_password_command (SecretsRequest  *request,
                      GCancellable    *cancellable,
                      GError         **error)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  char *newline;
  char *password;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &local_error, "/bin/sh", "-c", request->password_command, NULL);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, NULL, cancellable, &out, &err, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        /* The message may quote the output (invalid UTF-8): never pass it on. */
        /* Translators: %s is the account's e-mail address. */
        g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                     _("The password command of %s could not be run or printed something "
                       "that is not text"), request->address);
      if (out != NULL)
        memset (out, 0, strlen (out));
      return NULL;
    }

  if (!g_subprocess_get_successful (process))
    {
      g_autofree char *reason = NULL;

      if (out != NULL)
        memset (out, 0, strlen (out));
      g_strstrip (err);
      if (g_utf8_strlen (err, -1) > MAX_STDERR_CHARS)
        *g_utf8_offset_to_pointer (err, MAX_STDERR_CHARS) = '\0';

      if (g_subprocess_get_if_exited (process))
        /* Translators: why a command failed: the number it exited with. */
        reason = g_strdup_printf (_("exit status %d"), g_subprocess_get_exit_status (process));
      else
        reason = g_strdup (_("killed by a signal"));
      /* Its stderr says why (a locked store, a missing entry); stdout may hold secrets. */
      if (*err != '\0')
        /* Translators: the first %s is the account's e-mail address, the second
         * "exit status N" or "killed by a signal", the third what the command printed
         * on its standard error. */
        g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                     _("The password command of %s failed (%s): %s"), request->address,
                     reason, err);
      else
        /* Translators: the first %s is the account's e-mail address, the second
         * "exit status N" or "killed by a signal". */
        g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                     _("The password command of %s failed (%s)"), request->address, reason);
      return NULL;
    }

  newline = strpbrk (out, "\r\n");
  password = g_strndup (out, newline != NULL ? (gsize) (newline - out) : strlen (out));
  memset (out, 0, strlen (out));
  if (*password == '\0')
    {
      g_free (password);
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
                   _("The password command of %s printed no password"), request->address);
      return NULL;
    }
  return password;
}

static char *
lookup (SecretsRequest  *request,
        GCancellable    *cancellable,
        GError         **error)
{
  GError *keyring_error = NULL;
  char *secret;
  char *password;

  if (request->password_command != NULL)
    return run_password_command (request, cancellable, error);

  if (!check_session_bus (cancellable, error))
    return NULL;

  secret = secret_password_lookup_sync (get_schema (), cancellable, &keyring_error,
                                        "account", request->account_id,
                                        NULL);
  if (keyring_error != NULL)
    {
      set_keyring_error (error, keyring_error,
                         _("Could not read the password from the keyring"));
      return NULL;
    }
  if (secret == NULL)
    {
      /* Reported as an authentication failure: the UI then asks for the password. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED,
                   _("No password is stored for %s"), request->address);
      return NULL;
    }

  /* libsecret's copy lives in non-pageable memory and must be freed by libsecret. */
  password = g_strdup (secret);
  secret_password_free (secret);
  return password;
}

static gboolean
store (SecretsRequest  *request,
       GCancellable    *cancellable,
       GError         **error)
{
  g_autofree char *label = NULL;
  GError *keyring_error = NULL;

  /* With a command the command is the source of the password: nothing to keep. */
  if (request->password_command != NULL)
    return TRUE;

  if (!check_session_bus (cancellable, error))
    return FALSE;

  /* Translators: the name of the password in the keyring (Passwords and Keys shows it);
   * %s is the account's e-mail address. */
  label = g_strdup_printf (_("Hirondelle: %s"), request->address);
  if (!secret_password_store_sync (get_schema (), SECRET_COLLECTION_DEFAULT, label,
                                   request->password, cancellable, &keyring_error,
                                   "account", request->account_id,
                                   NULL))
    {
      set_keyring_error (error, keyring_error, _("Could not save the password in the keyring"));
      return FALSE;
    }
  return TRUE;
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  char *password = lookup (task_data, cancellable, &error);

  if (password == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, password, g_free);
}

void
hir_secrets_lookup_async (HirAccount          *account,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HIR_IS_ACCOUNT (account));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_secrets_lookup_async);
  g_task_set_task_data (task, secrets_request_new (account, NULL),
                        (GDestroyNotify) secrets_request_free);
  /* Both libsecret's sync API and a password command block: run them off the caller. */
  g_task_run_in_thread (task, lookup_thread);
}

char *
hir_secrets_lookup_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_secrets_lookup_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
hir_secrets_lookup_sync (HirAccount    *account,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(SecretsRequest) request = NULL;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);

  request = secrets_request_new (account, NULL);
  return lookup (request, cancellable, error);
}

static void
store_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  GError *error = NULL;

  if (store (task_data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
hir_secrets_store_async (HirAccount          *account,
                         const char          *password,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HIR_IS_ACCOUNT (account));
  g_return_if_fail (password != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_secrets_store_async);
  g_task_set_task_data (task, secrets_request_new (account, password),
                        (GDestroyNotify) secrets_request_free);
  g_task_run_in_thread (task, store_thread);
}

gboolean
hir_secrets_store_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_secrets_store_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
hir_secrets_store_sync (HirAccount    *account,
                        const char    *password,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(SecretsRequest) request = NULL;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  request = secrets_request_new (account, password);
  return store (request, cancellable, error);
}

gboolean
hir_secrets_clear_sync (HirAccount    *account,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  GError *keyring_error = NULL;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), FALSE);

  /* Where there is no keyring nothing can have been kept in it: that is not a failure
   * when removing an account. */
  if (!check_session_bus (cancellable, &local_error))
    {
      if (g_error_matches (local_error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  secret_password_clear_sync (get_schema (), cancellable, &keyring_error,
                              "account", hir_account_get_id (account),
                              NULL);
  if (keyring_error != NULL)
    {
      if (is_no_service_error (keyring_error))
        {
          g_error_free (keyring_error);
          return TRUE;
        }
      set_keyring_error (error, keyring_error,
                         _("Could not remove the password from the keyring"));
      return FALSE;
    }
  return TRUE;
}
