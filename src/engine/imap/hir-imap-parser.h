/* hir-imap-parser.h: IMAP4rev1 server responses, from bytes to values
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  HIR_IMAP_VALUE_ATOM,    /* OK, FETCH, \Seen, BODY[HEADER.FIELDS (REFERENCES)]<0> */
  HIR_IMAP_VALUE_NUMBER,  /* a number that fits 64 bits; its text is kept too */
  HIR_IMAP_VALUE_STRING,  /* quoted or literal; may contain NUL bytes */
  HIR_IMAP_VALUE_NIL,
  HIR_IMAP_VALUE_LIST,
} HirImapValueKind;

typedef struct _HirImapValue HirImapValue;

struct _HirImapValue
{
  HirImapValueKind  kind;
  char             *data;   /* atom, number and string text, NUL-terminated */
  gsize             len;    /* length of data (strings may hold NULs) */
  guint64           number;
  GPtrArray        *items;  /* of HirImapValue, for lists */
};

typedef enum
{
  HIR_IMAP_RESPONSE_UNTAGGED,      /* "* …" */
  HIR_IMAP_RESPONSE_TAGGED,        /* "A12 OK …" */
  HIR_IMAP_RESPONSE_CONTINUATION,  /* "+ …" */
} HirImapResponseKind;

typedef enum
{
  HIR_IMAP_STATUS_NONE,  /* a data response ("* 3 EXISTS", "* LIST …") */
  HIR_IMAP_STATUS_OK,
  HIR_IMAP_STATUS_NO,
  HIR_IMAP_STATUS_BAD,
  HIR_IMAP_STATUS_PREAUTH,
  HIR_IMAP_STATUS_BYE,
} HirImapStatus;

typedef struct
{
  HirImapResponseKind  kind;
  char                *tag;     /* tagged responses only */
  HirImapStatus        status;
  HirImapValue        *code;    /* "[UIDVALIDITY 42]" as a list (UIDVALIDITY 42), or NULL */
  char                *text;    /* the human-readable text, or a continuation's text */
  HirImapValue        *data;    /* data responses: every token as a list, e.g.
                                 * (3 FETCH (UID 7 FLAGS (\Seen))) */
} HirImapResponse;

/* An incremental parser: feed it whatever the socket gave, then take complete responses
 * out. It never reads past what it was given, so a response split across reads (even in
 * the middle of a literal) simply waits for more bytes. Garbage gives an error — never a
 * crash — and the offending response is dropped. Limits guard memory: a line without an
 * end, a literal or a nesting depth beyond the limits is an error. */
typedef struct _HirImapParser HirImapParser;

typedef enum
{
  HIR_IMAP_PARSE_RESPONSE,   /* *response is set */
  HIR_IMAP_PARSE_NEED_MORE,  /* feed more bytes */
  HIR_IMAP_PARSE_ERROR,      /* *error is set (HIR_ERROR_PROTOCOL) */
} HirImapParseResult;

#define HIR_IMAP_MAX_LINE     (1024 * 1024)
#define HIR_IMAP_MAX_LITERAL  (512 * 1024 * 1024)
#define HIR_IMAP_MAX_DEPTH    64

HirImapParser      *hir_imap_parser_new          (void);
void                hir_imap_parser_free         (HirImapParser    *self);
void                hir_imap_parser_feed         (HirImapParser    *self,
                                                  const guint8     *data,
                                                  gsize             len);
HirImapParseResult  hir_imap_parser_next         (HirImapParser    *self,
                                                  HirImapResponse **response,
                                                  GError          **error);
/* Bytes received but not yet part of a returned response. */
gsize               hir_imap_parser_get_pending  (HirImapParser    *self);

void                hir_imap_response_free       (HirImapResponse  *response);
void                hir_imap_value_free          (HirImapValue     *value);

/* Accessors that tolerate the wrong kind (they return NULL / FALSE / 0). */
const char         *hir_imap_value_get_string    (const HirImapValue *value);
gboolean            hir_imap_value_get_number    (const HirImapValue *value,
                                                  guint64            *number);
guint               hir_imap_value_get_length    (const HirImapValue *value);
HirImapValue       *hir_imap_value_get_item      (const HirImapValue *value,
                                                  guint               index);
gboolean            hir_imap_value_is_atom       (const HirImapValue *value,
                                                  const char         *atom);
/* In a (KEY value KEY value…) list, the value after the first KEY matching @key
 * case-insensitively (as in FETCH and STATUS data), or NULL. */
HirImapValue       *hir_imap_value_lookup        (const HirImapValue *list,
                                                  const char         *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirImapParser, hir_imap_parser_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirImapResponse, hir_imap_response_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirImapValue, hir_imap_value_free)

G_END_DECLS
