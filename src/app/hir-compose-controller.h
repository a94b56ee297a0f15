/* hir-compose-controller.h: the main window's side of writing mail
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"
#include "hir-composer.h"

G_BEGIN_DECLS

#define HIR_TYPE_COMPOSE_CONTROLLER (hir_compose_controller_get_type ())
G_DECLARE_FINAL_TYPE (HirComposeController, hir_compose_controller, HIR, COMPOSE_CONTROLLER, GObject)

/* Opens composers filled for a new message, a reply, a forward or a draft, and speaks
 * for the outbox in the main window: "Sending…" with Undo for the undo delay (Undo takes
 * the message back into a composer), "Message sent", and failures with the server's
 * words and a button to open the message for editing. One per main window, which owns
 * it; @toasts and @window are held weakly. */
HirComposeController *hir_compose_controller_new          (HirEngine            *engine,
                                                           GtkWindow            *window,
                                                           AdwToastOverlay      *toasts);
/* Messages whose addresses complete in To/Cc/Bcc (the folder shown), or NULL. */
void         hir_compose_controller_set_address_source    (HirComposeController *self,
                                                           GListModel           *messages);
/* A new message from @account (NULL: the first account), with @files attached (a GSList
 * of GFile, may be NULL). */
HirComposer *hir_compose_controller_compose               (HirComposeController *self,
                                                           HirAccount           *account,
                                                           GSList               *files);
void         hir_compose_controller_reply                 (HirComposeController *self,
                                                           HirMessage           *message,
                                                           gboolean              reply_all);
void         hir_compose_controller_forward               (HirComposeController *self,
                                                           HirMessage           *message,
                                                           gboolean              as_attachment);
/* A message of a Drafts folder: the outbox's draft with its Message-ID when there is
 * one, else the server's copy (written elsewhere) made editable. */
void         hir_compose_controller_open_draft            (HirComposeController *self,
                                                           HirMessage           *message);
/* Shows @outgoing in a new composer wired to this controller. */
HirComposer *hir_compose_controller_open                  (HirComposeController *self,
                                                           HirOutgoing          *outgoing);

G_END_DECLS
