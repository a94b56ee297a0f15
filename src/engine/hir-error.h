/* hir-error.h: the engine's error domain
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define HIR_ERROR (hir_error_quark ())

/* Errors the UI knows how to explain. Every expected failure of a provider, the store or
 * the secrets layer is mapped to one of these before it leaves the engine; the message
 * carries the human-readable detail (the server's own text where there is one). */
typedef enum
{
  HIR_ERROR_FAILED,                /* anything else; message says what */
  HIR_ERROR_AUTH_FAILED,           /* server refused the credentials */
  HIR_ERROR_CERTIFICATE_UNTRUSTED, /* TLS certificate not trusted (and not pinned) */
  HIR_ERROR_UNREACHABLE,           /* no route, refused, timed out, dropped */
  HIR_ERROR_OFFLINE,               /* the machine has no network */
  HIR_ERROR_PROTOCOL,              /* the server said something we cannot understand */
  HIR_ERROR_SERVER,                /* the server refused the request; message is its text */
  HIR_ERROR_NOT_FOUND,             /* message, folder or blob is gone */
  HIR_ERROR_NO_SECRET_SERVICE,     /* no keyring and no password command */
  HIR_ERROR_CONFIG,                /* bad account configuration */
  HIR_ERROR_STORAGE,               /* local database or cache failed (disk full…) */
  HIR_ERROR_STATE_MISMATCH,        /* delta impossible (JMAP cannotCalculateChanges, UIDVALIDITY) */
} HirErrorCode;

GQuark hir_error_quark (void);

G_END_DECLS
