/* hir-provider.c: the interface every message store protocol implements
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-provider.h"

G_DEFINE_INTERFACE (HirProvider, hir_provider, G_TYPE_OBJECT)

enum {
  REMOTE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
hir_provider_default_init (HirProviderInterface *iface)
{
  g_object_interface_install_property (iface,
    g_param_spec_object ("account", NULL, NULL,
                         HIR_TYPE_ACCOUNT,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS)));
  g_object_interface_install_property (iface,
    g_param_spec_object ("store", NULL, NULL,
                         HIR_TYPE_STORE,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS)));

  /* Emitted on the main context the provider was made on; the engine coalesces bursts,
   * so implementations may emit once per server notification without debouncing. */
  signals[REMOTE_CHANGED] =
    g_signal_new ("remote-changed",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

/* The account and store are construct-only properties of every implementation, so the
 * getters read them through the properties rather than adding vfuncs for them. */
HirAccount *
hir_provider_get_account (HirProvider *self)
{
  g_autoptr(HirAccount) account = NULL;

  g_return_val_if_fail (HIR_IS_PROVIDER (self), NULL);

  g_object_get (self, "account", &account, NULL);
  /* The provider holds its own reference for its whole life, so the borrowed pointer
   * stays valid after ours is dropped. */
  return account;
}

HirStore *
hir_provider_get_store (HirProvider *self)
{
  g_autoptr(HirStore) store = NULL;

  g_return_val_if_fail (HIR_IS_PROVIDER (self), NULL);

  g_object_get (self, "store", &store, NULL);
  return store;
}

void
hir_provider_sync_async (HirProvider         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->sync_async (self, cancellable, callback, user_data);
}

gboolean
hir_provider_sync_finish (HirProvider   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), FALSE);

  return HIR_PROVIDER_GET_IFACE (self)->sync_finish (self, result, error);
}

void
hir_provider_fetch_body_async (HirProvider         *self,
                               HirMessage          *message,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->fetch_body_async (self, message, cancellable,
                                                   callback, user_data);
}

HirMessageBody *
hir_provider_fetch_body_finish (HirProvider   *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), NULL);

  return HIR_PROVIDER_GET_IFACE (self)->fetch_body_finish (self, result, error);
}

void
hir_provider_fetch_attachment_async (HirProvider         *self,
                                     HirMessage          *message,
                                     HirAttachment       *attachment,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (HIR_IS_ATTACHMENT (attachment));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->fetch_attachment_async (self, message, attachment,
                                                         cancellable, callback, user_data);
}

GBytes *
hir_provider_fetch_attachment_finish (HirProvider   *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), NULL);

  return HIR_PROVIDER_GET_IFACE (self)->fetch_attachment_finish (self, result, error);
}

void
hir_provider_set_flags_async (HirProvider         *self,
                              HirMessage          *message,
                              HirMessageFlags      flags,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->set_flags_async (self, message, flags, cancellable,
                                                  callback, user_data);
}

gboolean
hir_provider_set_flags_finish (HirProvider   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), FALSE);

  return HIR_PROVIDER_GET_IFACE (self)->set_flags_finish (self, result, error);
}

void
hir_provider_move_async (HirProvider         *self,
                         HirMessage          *message,
                         HirFolder           *destination,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (HIR_IS_FOLDER (destination));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->move_async (self, message, destination, cancellable,
                                             callback, user_data);
}

gboolean
hir_provider_move_finish (HirProvider   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), FALSE);

  return HIR_PROVIDER_GET_IFACE (self)->move_finish (self, result, error);
}

void
hir_provider_delete_async (HirProvider         *self,
                           HirMessage          *message,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  HIR_PROVIDER_GET_IFACE (self)->delete_async (self, message, cancellable, callback,
                                               user_data);
}

gboolean
hir_provider_delete_finish (HirProvider   *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (HIR_IS_PROVIDER (self), FALSE);

  return HIR_PROVIDER_GET_IFACE (self)->delete_finish (self, result, error);
}

void
hir_provider_start_watching (HirProvider *self)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));

  if (HIR_PROVIDER_GET_IFACE (self)->start_watching != NULL)
    HIR_PROVIDER_GET_IFACE (self)->start_watching (self);
}

void
hir_provider_stop_watching (HirProvider *self)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));

  if (HIR_PROVIDER_GET_IFACE (self)->stop_watching != NULL)
    HIR_PROVIDER_GET_IFACE (self)->stop_watching (self);
}

void
hir_provider_set_password (HirProvider *self,
                           const char  *password)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));

  HIR_PROVIDER_GET_IFACE (self)->set_password (self, password);
}

void
hir_provider_emit_remote_changed (HirProvider *self)
{
  g_return_if_fail (HIR_IS_PROVIDER (self));

  g_signal_emit (self, signals[REMOTE_CHANGED], 0);
}
