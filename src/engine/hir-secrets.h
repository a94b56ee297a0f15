/* hir-secrets.h: account passwords, in the Secret Service or from a command
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-account.h"

G_BEGIN_DECLS

/* Passwords never touch the config file, a log or the store. With a password command set
 * on the account, it is run (sh -c) and its first output line is the password; otherwise
 * the Secret Service (libsecret; the Secret portal in Flatpak) holds it, keyed by the
 * account id. No Secret Service and no command gives HIR_ERROR_NO_SECRET_SERVICE with a
 * message that says how to set a password command. */
void      hir_secrets_lookup_async   (HirAccount          *account,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
char     *hir_secrets_lookup_finish  (GAsyncResult        *result,
                                      GError             **error);
char     *hir_secrets_lookup_sync    (HirAccount          *account,
                                      GCancellable        *cancellable,
                                      GError             **error);
void      hir_secrets_store_async    (HirAccount          *account,
                                      const char          *password,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
gboolean  hir_secrets_store_finish   (GAsyncResult        *result,
                                      GError             **error);
gboolean  hir_secrets_store_sync     (HirAccount          *account,
                                      const char          *password,
                                      GCancellable        *cancellable,
                                      GError             **error);
gboolean  hir_secrets_clear_sync     (HirAccount          *account,
                                      GCancellable        *cancellable,
                                      GError             **error);

G_END_DECLS
