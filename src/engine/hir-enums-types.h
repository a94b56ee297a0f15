/* hir-enums-types.h: enumerations shared by the engine's objects
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  HIR_ACCOUNT_KIND_JMAP,
  HIR_ACCOUNT_KIND_IMAP,
} HirAccountKind;

typedef enum
{
  HIR_ACCOUNT_STATUS_OFFLINE,               /* not connected yet, or no network */
  HIR_ACCOUNT_STATUS_ONLINE,
  HIR_ACCOUNT_STATUS_AUTH_FAILED,
  HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED,
  HIR_ACCOUNT_STATUS_UNREACHABLE,
} HirAccountStatus;

typedef enum
{
  HIR_SECURITY_TLS,       /* implicit TLS (993, 465, https) */
  HIR_SECURITY_STARTTLS,  /* plain connection upgraded; refused if not offered */
  HIR_SECURITY_NONE,      /* plain text, only when the user said so explicitly */
} HirSecurity;

typedef enum
{
  HIR_FOLDER_ROLE_NONE,
  HIR_FOLDER_ROLE_INBOX,
  HIR_FOLDER_ROLE_DRAFTS,
  HIR_FOLDER_ROLE_SENT,
  HIR_FOLDER_ROLE_ARCHIVE,
  HIR_FOLDER_ROLE_JUNK,
  HIR_FOLDER_ROLE_TRASH,
} HirFolderRole;

typedef enum /*< flags >*/
{
  HIR_MESSAGE_FLAG_NONE     = 0,
  HIR_MESSAGE_FLAG_SEEN     = 1 << 0,
  HIR_MESSAGE_FLAG_FLAGGED  = 1 << 1,
  HIR_MESSAGE_FLAG_ANSWERED = 1 << 2,
  HIR_MESSAGE_FLAG_DRAFT    = 1 << 3,
} HirMessageFlags;

typedef enum
{
  HIR_OUTGOING_STATE_DRAFT,    /* being written, or saved */
  HIR_OUTGOING_STATE_QUEUED,   /* waiting: for send-at, the network, or a retry */
  HIR_OUTGOING_STATE_SENDING,
  HIR_OUTGOING_STATE_SENT,     /* accepted by the server and filed in Sent */
  HIR_OUTGOING_STATE_FAILED,   /* refused for good; error-message says why */
} HirOutgoingState;

G_END_DECLS
