/* hir-outbox-private.h: what the engine (and the crash-test helper) use of the outbox
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hir-engine.h"
#include "hir-outbox.h"

G_BEGIN_DECLS

/* @engine is not owned: the engine owns the outbox and calls shutdown from dispose. */
HirOutbox *hir_outbox_new                 (HirEngine  *engine,
                                           HirStore   *store);
/* Loads the queue from the store and sends what is due, resuming interrupted sends
 * from their step marker. */
void       hir_outbox_start               (HirOutbox  *self);
void       hir_outbox_stop                (HirOutbox  *self);
/* The account's server answered: what waits for it is tried now, not after the backoff. */
void       hir_outbox_account_online      (HirOutbox  *self,
                                           HirAccount *account);
/* Cancels everything and forgets the engine. */
void       hir_outbox_shutdown            (HirOutbox  *self);

/* Called right after a step marker ("queued", "uploading", "submitted", "filing",
 * "filed") was committed, before the step is taken. Tests kill the process here. */
typedef void (*HirOutboxStepHook)         (gint64      id,
                                           const char *step,
                                           gpointer    user_data);
void       hir_outbox_set_step_hook       (HirOutbox         *self,
                                           HirOutboxStepHook  hook,
                                           gpointer           user_data);

G_END_DECLS
