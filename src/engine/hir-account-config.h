/* hir-account-config.h: the accounts file, human-readable
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-account.h"

G_BEGIN_DECLS

/* accounts.conf is a GKeyFile, one group per account ("[Account alice@example.test]"),
 * keys named like the account's properties (kind=jmap, address=…, jmap-url=…,
 * imap-host=…, imap-port=993, imap-security=tls|starttls|none, password-command=…).
 * It never holds a password. A missing file is no accounts; a malformed one is an error
 * that names the file and line. Saving is atomic (g_file_set_contents). */
GPtrArray *hir_account_config_load (const char  *path,
                                    GError     **error);
gboolean   hir_account_config_save (const char  *path,
                                    GPtrArray   *accounts,
                                    GError     **error);

G_END_DECLS
