/* hir-size-limit.h: the largest message an account's server takes
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-account.h"
#include "hir-engine.h"

G_BEGIN_DECLS

/* For the composer's warning before sending: JMAP accounts answer from the session the
 * provider already holds (no request); IMAP accounts ask the SMTP server (EHLO SIZE) over a
 * connection that logs in and sends nothing. 0 means the server states no limit or could
 * not be asked; the outbox still checks the real limit when it sends. */
void     hir_size_limit_lookup_async  (HirEngine           *engine,
                                       HirAccount          *account,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
guint64  hir_size_limit_lookup_finish (GAsyncResult        *result,
                                       GError             **error);

G_END_DECLS
