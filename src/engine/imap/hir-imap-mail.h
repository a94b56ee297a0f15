/* hir-imap-mail.h: IMAP FETCH data (ENVELOPE, BODYSTRUCTURE, FLAGS) as engine objects
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-imap-parser.h"
#include "hir-message.h"
#include "hir-message-body.h"

G_BEGIN_DECLS

/* One leaf of a BODYSTRUCTURE, with its section number ("1", "2.1"). */
typedef struct
{
  char    *section;
  char    *type;         /* lower case: "text/plain" */
  char    *charset;      /* or NULL */
  char    *encoding;     /* lower case: "base64", "quoted-printable", "7bit"… */
  char    *content_id;   /* without <>, or NULL */
  char    *disposition;  /* lower case: "attachment", "inline", or NULL */
  char    *filename;     /* decoded (RFC 2231/2047), or NULL */
  guint64  size;         /* encoded size */
  gboolean in_related;   /* inside a multipart/related */
} HirImapPart;

void             hir_imap_part_free           (HirImapPart        *part);

/* The leaves of @bodystructure in message order (message/rfc822 is one leaf). */
GPtrArray       *hir_imap_parts_from_bodystructure (const HirImapValue *bodystructure);

/* The parts to show as text and HTML (either may be NULL), and the rest as attachments. */
void             hir_imap_choose_parts        (GPtrArray          *parts,
                                               HirImapPart       **text,
                                               HirImapPart       **html);
gboolean         hir_imap_has_attachment      (const HirImapValue *bodystructure);
HirAttachment   *hir_imap_attachment_new      (HirImapPart        *part);

/* Undoes the transfer encoding, then converts from @charset (NULL: guessed) to UTF-8. */
char            *hir_imap_decode_text         (const guint8       *data,
                                               gsize               len,
                                               const char         *encoding,
                                               const char         *charset);
/* ~200 characters of plain text for the message list, from the first bytes of a text
 * or HTML part (a cut multi-byte character at the end is dropped). */
char            *hir_imap_make_preview        (const guint8       *data,
                                               gsize               len,
                                               const char         *encoding,
                                               const char         *charset,
                                               gboolean            html);
GBytes          *hir_imap_decode_bytes        (const guint8       *data,
                                               gsize               len,
                                               const char         *encoding);

HirMessageFlags  hir_imap_flags_from_value    (const HirImapValue *flags);

/* "<mailbox>\n<uidvalidity>\n<uid>" and back. */
char            *hir_imap_remote_id           (const char         *mailbox,
                                               guint32             uidvalidity,
                                               guint32             uid);
gboolean         hir_imap_parse_remote_id     (const char         *remote_id,
                                               char              **mailbox,
                                               guint32            *uidvalidity,
                                               guint32            *uid);

/* A summary from one FETCH response's item list (UID FLAGS INTERNALDATE RFC822.SIZE
 * ENVELOPE BODYSTRUCTURE BODY[HEADER.FIELDS (REFERENCES)] and PREVIEW when present).
 * Thread rule: the first id of References, else In-Reply-To, else the own Message-ID,
 * else the remote id: every message of a reply chain names the same root. */
HirMessage      *hir_imap_message_from_fetch  (const char         *account_id,
                                               const char         *mailbox,
                                               guint32             uidvalidity,
                                               const HirImapValue *items);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirImapPart, hir_imap_part_free)

G_END_DECLS
