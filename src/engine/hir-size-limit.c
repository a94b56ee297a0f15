/* hir-size-limit.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-size-limit.h"

#include "hir-jmap-provider.h"
#include "hir-secrets.h"
#include "hir-smtp-transport.h"

static void
verified_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  HirSmtpTransport *transport = HIR_SMTP_TRANSPORT (object);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_smtp_transport_verify_finish (transport, result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_int (task, (gssize) hir_smtp_transport_get_size_limit (transport));
}

static void
password_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirAccount *account = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *password = hir_secrets_lookup_finish (result, &error);
  g_autoptr(HirSmtpTransport) transport = NULL;

  if (password == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  transport = hir_smtp_transport_new_for_account (account, password);
  hir_smtp_transport_verify_async (transport, g_task_get_cancellable (task), verified_cb,
                                   g_object_ref (task));
}

void
hir_size_limit_lookup_async (HirEngine           *engine,
                             HirAccount          *account,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  HirProvider *provider;

  g_return_if_fail (HIR_IS_ENGINE (engine));
  g_return_if_fail (HIR_IS_ACCOUNT (account));

  task = g_task_new (engine, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_size_limit_lookup_async);
  g_task_set_task_data (task, g_object_ref (account), g_object_unref);

  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    {
      provider = hir_engine_get_provider (engine, account);
      if (provider != NULL && HIR_IS_JMAP_PROVIDER (provider))
        g_task_return_int (task, (gssize) hir_jmap_client_get_size_limit (
                                   hir_jmap_provider_get_client (HIR_JMAP_PROVIDER (provider))));
      else
        g_task_return_int (task, 0);
      return;
    }

  hir_secrets_lookup_async (account, cancellable, password_cb, g_steal_pointer (&task));
}

guint64
hir_size_limit_lookup_finish (GAsyncResult  *result,
                              GError       **error)
{
  gssize limit;

  g_return_val_if_fail (G_IS_TASK (result), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_size_limit_lookup_async, 0);

  limit = g_task_propagate_int (G_TASK (result), error);
  return limit > 0 ? (guint64) limit : 0;
}
