/* hir-account.h: one configured mail account
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"

G_BEGIN_DECLS

#define HIR_TYPE_ACCOUNT (hir_account_get_type ())
G_DECLARE_FINAL_TYPE (HirAccount, hir_account, HIR, ACCOUNT, GObject)

/* Properties (all read-write, notify only on change):
 *   id                  string   stable local id, e.g. "alice@example.test"; names the cache
 *   kind                HirAccountKind
 *   display-name        string   the user's name as shown in From
 *   address             string   the e-mail address
 *   username            string   login (defaults to the address)
 *   jmap-url            string   JMAP session URL or the URL to discover it from
 *   imap-host, imap-port, imap-security
 *   smtp-host, smtp-port, smtp-security
 *   password-command    string   shell command printing the password (no keyring), or NULL
 *   trusted-certificate string   pinned "sha256:HEX" of a certificate the user accepted, or NULL
 *   status              HirAccountStatus
 *   status-message      string   human-readable reason for the status (NULL when online)
 *   syncing             boolean  a sync is running now
 */
HirAccount       *hir_account_new                     (HirAccountKind    kind,
                                                       const char       *address);

const char       *hir_account_get_id                  (HirAccount       *self);
void              hir_account_set_id                  (HirAccount       *self,
                                                       const char       *id);
HirAccountKind    hir_account_get_kind                (HirAccount       *self);
const char       *hir_account_get_display_name        (HirAccount       *self);
void              hir_account_set_display_name        (HirAccount       *self,
                                                       const char       *display_name);
const char       *hir_account_get_address             (HirAccount       *self);
void              hir_account_set_address             (HirAccount       *self,
                                                       const char       *address);
const char       *hir_account_get_username            (HirAccount       *self);
void              hir_account_set_username            (HirAccount       *self,
                                                       const char       *username);
const char       *hir_account_get_jmap_url            (HirAccount       *self);
void              hir_account_set_jmap_url            (HirAccount       *self,
                                                       const char       *jmap_url);
const char       *hir_account_get_imap_host           (HirAccount       *self);
void              hir_account_set_imap_host           (HirAccount       *self,
                                                       const char       *host);
guint             hir_account_get_imap_port           (HirAccount       *self);
void              hir_account_set_imap_port           (HirAccount       *self,
                                                       guint             port);
HirSecurity       hir_account_get_imap_security       (HirAccount       *self);
void              hir_account_set_imap_security       (HirAccount       *self,
                                                       HirSecurity       security);
const char       *hir_account_get_smtp_host           (HirAccount       *self);
void              hir_account_set_smtp_host           (HirAccount       *self,
                                                       const char       *host);
guint             hir_account_get_smtp_port           (HirAccount       *self);
void              hir_account_set_smtp_port           (HirAccount       *self,
                                                       guint             port);
HirSecurity       hir_account_get_smtp_security       (HirAccount       *self);
void              hir_account_set_smtp_security       (HirAccount       *self,
                                                       HirSecurity       security);
const char       *hir_account_get_password_command    (HirAccount       *self);
void              hir_account_set_password_command    (HirAccount       *self,
                                                       const char       *command);
const char       *hir_account_get_trusted_certificate (HirAccount       *self);
void              hir_account_set_trusted_certificate (HirAccount       *self,
                                                       const char       *fingerprint);
HirAccountStatus  hir_account_get_status              (HirAccount       *self);
const char       *hir_account_get_status_message      (HirAccount       *self);
/* Sets status and message together (one notify each, only if changed). */
void              hir_account_set_status              (HirAccount       *self,
                                                       HirAccountStatus  status,
                                                       const char       *message);
/* Maps an error from the engine (HIR_ERROR_*) to a status and sets it. */
void              hir_account_set_status_from_error   (HirAccount       *self,
                                                       const GError     *error);
gboolean          hir_account_get_syncing             (HirAccount       *self);
void              hir_account_set_syncing             (HirAccount       *self,
                                                       gboolean          syncing);

G_END_DECLS
