/* hir-account-assistant.h: adding an account: name, address, password, then discovery
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_ACCOUNT_ASSISTANT (hir_account_assistant_get_type ())
G_DECLARE_FINAL_TYPE (HirAccountAssistant, hir_account_assistant, HIR, ACCOUNT_ASSISTANT,
                      AdwWindow)

/* A modal window in pages: the details (name, address, password); the discovery, each
 * step shown as it runs (HirDiscovery); a form for the servers when nothing is found or
 * the user wants to change them (prefilled with what was found); the result (servers,
 * ports, security). The login is checked for reading and sending before
 * hir_engine_add_account_async() saves the account. An untrusted certificate opens
 * HirCertificateDialog; trusting it pins exactly that certificate and runs again.
 *
 * Properties:
 *   engine       HirEngine  (construct-only)
 *   page         string     read-only: "details", "progress", "manual" or "done"
 *   https-port   uint       passed to HirDiscovery (tests)
 *   http-port    uint       passed to HirDiscovery (tests)
 *
 * Actions: assistant.next, assistant.back, assistant.manual */
HirAccountAssistant *hir_account_assistant_new      (GtkWindow           *parent,
                                                     HirEngine           *engine);
const char          *hir_account_assistant_get_page (HirAccountAssistant *self);
/* The details page's fields (tests, and a prefilled address from the command line). */
void                 hir_account_assistant_set_details (HirAccountAssistant *self,
                                                     const char          *name,
                                                     const char          *address,
                                                     const char          *password);

/* Shows the server form prefilled with @servers' settings (what the user typed before,
 * or a known provider's). */
void                 hir_account_assistant_show_form   (HirAccountAssistant *self,
                                                     HirAccount          *servers);

G_END_DECLS
