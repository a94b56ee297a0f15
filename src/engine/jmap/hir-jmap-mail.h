/* hir-jmap-mail.h: JMAP Mail objects (RFC 8621) to the engine's objects and back
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "hir-folder.h"
#include "hir-message.h"
#include "hir-message-body.h"

G_BEGIN_DECLS

/* The Email properties a list row needs, for Email/get during sync. */
extern const char * const hir_jmap_summary_properties[];
/* The properties and body-part properties for reading one message. */
extern const char * const hir_jmap_body_properties[];
extern const char * const hir_jmap_body_part_properties[];

HirFolder       *hir_jmap_folder_from_json      (const char      *account_id,
                                                 JsonObject      *mailbox);
/* A summary from an Email object; @folder_ids receives its mailboxIds. */
HirMessage      *hir_jmap_message_from_json     (const char      *account_id,
                                                 JsonObject      *email,
                                                 GStrv           *folder_ids);
HirMessageFlags  hir_jmap_flags_from_keywords   (JsonObject      *keywords);
/* Adds "keywords/$seen": true|null… for the four keywords the flags cover, leaving any
 * other keyword the message has alone. */
void             hir_jmap_add_keywords_patch    (JsonBuilder     *builder,
                                                 HirMessageFlags  flags);
/* Text, HTML and attachments from an Email fetched with hir_jmap_body_properties. */
HirMessageBody  *hir_jmap_body_from_json        (JsonObject      *email);
/* RFC 5322 text of an EmailAddress array ("Bob <bob@x>, carol@y"); "" for none. */
char            *hir_jmap_format_addresses      (JsonArray       *addresses);

G_END_DECLS
