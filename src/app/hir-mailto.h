/* hir-mailto.h: mailto: URIs (RFC 6068), with the attach= that xdg-email writes
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a mailto: URI asks for. Plain data, no I/O: the caller decides what to do with
 * the attachments (the application only ever shows them in a composer, never sends them
 * silently, whatever file they name).
 *
 *   to, cc, bcc    NULL-terminated arrays of addresses as written (percent-decoded), never
 *                  NULL; to has the path's addresses first, then every to= field
 *   subject, body  percent-decoded UTF-8, or NULL; the body keeps its CRLF line breaks as
 *                  LF; the subject has no line breaks
 *   in_reply_to    "<id@host>" or NULL
 *   attachments    NULL-terminated array of file:// URIs, never NULL: from attach= and
 *                  attachment= fields (xdg-email --attach), each a file:// URI or an
 *                  absolute path (made a URI here) */
typedef struct
{
  char **to;
  char **cc;
  char **bcc;
  char  *subject;
  char  *body;
  char  *in_reply_to;
  char **attachments;
} HirMailto;

/* G_IO_ERROR_INVALID_ARGUMENT with a message to show when @uri is not a mailto: URI, has
 * a malformed %-escape or one that decodes to NUL, or names an attachment that is
 * neither a file:// URI nor an absolute path (a web address, a relative path). */
HirMailto *hir_mailto_parse (const char  *uri,
                             GError     **error);
void       hir_mailto_free  (HirMailto   *mailto);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirMailto, hir_mailto_free)

G_END_DECLS
