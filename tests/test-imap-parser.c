/* test-imap-parser.c: the IMAP response parser on real-world and hostile input
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "hir-error.h"
#include "hir-imap-parser.h"

/* Parses @text fed in chunks of @chunk bytes (0: all at once); expects one response. */
static HirImapResponse *
parse_one_chunked (const char *text,
                   gsize       len,
                   gsize       chunk)
{
  g_autoptr(HirImapParser) parser = hir_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  HirImapResponse *response = NULL;
  gsize fed = 0;

  if (chunk == 0)
    chunk = len;
  for (;;)
    {
      HirImapParseResult result = hir_imap_parser_next (parser, &response, &error);

      g_assert_no_error (error);
      if (result == HIR_IMAP_PARSE_RESPONSE)
        break;
      g_assert_cmpint (result, ==, HIR_IMAP_PARSE_NEED_MORE);
      g_assert_cmpuint (fed, <, len);
      hir_imap_parser_feed (parser, (const guint8 *) text + fed, MIN (chunk, len - fed));
      fed += MIN (chunk, len - fed);
    }
  g_assert_cmpuint (fed, ==, len);
  g_assert_cmpuint (hir_imap_parser_get_pending (parser), ==, 0);
  return response;
}

static HirImapResponse *
parse_one (const char *text)
{
  return parse_one_chunked (text, strlen (text), 0);
}

static void
test_greeting (void)
{
  g_autoptr(HirImapResponse) r =
    parse_one ("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN ID] Cyrus IMAP ready\r\n");

  g_assert_cmpint (r->kind, ==, HIR_IMAP_RESPONSE_UNTAGGED);
  g_assert_cmpint (r->status, ==, HIR_IMAP_STATUS_OK);
  g_assert_cmpuint (hir_imap_value_get_length (r->code), ==, 5);
  g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (r->code, 0), "capability"));
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (r->code, 3)), ==,
                   "AUTH=PLAIN");
  g_assert_cmpstr (r->text, ==, "Cyrus IMAP ready");
  g_assert_null (r->data);
}

static void
test_tagged (void)
{
  g_autoptr(HirImapResponse) ok = parse_one ("A0042 OK [READ-WRITE] Completed\r\n");
  g_autoptr(HirImapResponse) no = parse_one ("a7 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
  g_autoptr(HirImapResponse) bad = parse_one ("x BAD\r\n");
  guint64 n = 0;
  g_autoptr(HirImapResponse) uv = parse_one ("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");

  g_assert_cmpint (ok->kind, ==, HIR_IMAP_RESPONSE_TAGGED);
  g_assert_cmpstr (ok->tag, ==, "A0042");
  g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (ok->code, 0), "READ-WRITE"));
  g_assert_cmpint (no->status, ==, HIR_IMAP_STATUS_NO);
  g_assert_cmpstr (no->text, ==, "Invalid credentials");
  g_assert_cmpint (bad->status, ==, HIR_IMAP_STATUS_BAD);
  g_assert_cmpstr (bad->text, ==, "");
  g_assert_true (hir_imap_value_get_number (hir_imap_value_get_item (uv->code, 1), &n));
  g_assert_cmpuint (n, ==, 3857529045u);
}

static const char fetch_with_literal[] =
  "* 12 FETCH (UID 7 FLAGS (\\Seen \\Flagged) MODSEQ (42) "
  "BODY[HEADER.FIELDS (REFERENCES)] {21}\r\nReferences: <a@b>\r\n\r\n "
  "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" ENVELOPE (NIL \"Re: \\\"hi\\\"\" NIL))\r\n";

static void
check_fetch (HirImapResponse *r)
{
  HirImapValue *attrs;
  HirImapValue *flags;
  HirImapValue *header;
  HirImapValue *envelope;
  guint64 n = 0;

  g_assert_cmpint (r->status, ==, HIR_IMAP_STATUS_NONE);
  g_assert_cmpuint (hir_imap_value_get_length (r->data), ==, 3);
  g_assert_true (hir_imap_value_get_number (hir_imap_value_get_item (r->data, 0), &n));
  g_assert_cmpuint (n, ==, 12);
  g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (r->data, 1), "FETCH"));
  attrs = hir_imap_value_get_item (r->data, 2);
  g_assert_true (hir_imap_value_get_number (hir_imap_value_lookup (attrs, "uid"), &n));
  g_assert_cmpuint (n, ==, 7);
  flags = hir_imap_value_lookup (attrs, "FLAGS");
  g_assert_cmpuint (hir_imap_value_get_length (flags), ==, 2);
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (flags, 1)), ==,
                   "\\Flagged");
  header = hir_imap_value_lookup (attrs, "BODY[HEADER.FIELDS (REFERENCES)]");
  g_assert_nonnull (header);
  g_assert_cmpint (header->kind, ==, HIR_IMAP_VALUE_STRING);
  g_assert_cmpuint (header->len, ==, 21);
  g_assert_cmpstr (header->data, ==, "References: <a@b>\r\n\r\n");
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_lookup (attrs, "INTERNALDATE")),
                   ==, "17-Jul-1996 02:44:25 -0700");
  envelope = hir_imap_value_lookup (attrs, "ENVELOPE");
  g_assert_cmpint (hir_imap_value_get_item (envelope, 0)->kind, ==, HIR_IMAP_VALUE_NIL);
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (envelope, 1)), ==,
                   "Re: \"hi\"");
}

static void
test_fetch_literal (void)
{
  g_autoptr(HirImapResponse) r = parse_one (fetch_with_literal);

  check_fetch (r);
}

/* A response split at every possible place, down to one byte a read, parses the same. */
static void
test_partial_reads (void)
{
  for (gsize chunk = 1; chunk <= 40; chunk++)
    {
      g_autoptr(HirImapResponse) r =
        parse_one_chunked (fetch_with_literal, strlen (fetch_with_literal), chunk);

      check_fetch (r);
    }
}

static void
test_several_in_one_read (void)
{
  const char *text = "* 3 EXISTS\r\n* 1 RECENT\n* VANISHED (EARLIER) 1:3,5\r\nA1 OK done\r\n* 4 EX";
  g_autoptr(HirImapParser) parser = hir_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  HirImapResponse *r = NULL;
  const char *expected_first[] = { "3", "1", "VANISHED", NULL };
  guint i;

  hir_imap_parser_feed (parser, (const guint8 *) text, strlen (text));
  for (i = 0; expected_first[i] != NULL; i++)
    {
      g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_RESPONSE);
      g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (r->data, 0)), ==,
                       expected_first[i]);
      if (i == 2)
        {
          HirImapValue *earlier = hir_imap_value_get_item (r->data, 1);

          g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (earlier, 0), "EARLIER"));
          g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (r->data, 2)), ==,
                           "1:3,5");
        }
      hir_imap_response_free (r);
    }
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_RESPONSE);
  g_assert_cmpstr (r->tag, ==, "A1");
  hir_imap_response_free (r);
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_NEED_MORE);
  g_assert_no_error (error);
  hir_imap_parser_feed (parser, (const guint8 *) "ISTS\r\n", 6);
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_RESPONSE);
  g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (r->data, 1), "EXISTS"));
  hir_imap_response_free (r);
}

static void
test_list_and_status (void)
{
  g_autoptr(HirImapResponse) list = parse_one ("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n");
  g_autoptr(HirImapResponse) nil = parse_one ("* LIST (\\Noselect) NIL \"\"\r\n");
  g_autoptr(HirImapResponse) status = parse_one ("* STATUS {5}\r\na\"b c (MESSAGES 231 UIDNEXT 44292)\r\n");
  g_autoptr(HirImapResponse) perm = parse_one ("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\*)] Limited\r\n");
  guint64 n = 0;

  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (
                     hir_imap_value_get_item (list->data, 1), 1)), ==, "\\Sent");
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (list->data, 3)), ==,
                   "Sent Items");
  g_assert_cmpint (hir_imap_value_get_item (nil->data, 2)->kind, ==, HIR_IMAP_VALUE_NIL);
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (nil->data, 3)), ==, "");
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (status->data, 1)), ==,
                   "a\"b c");
  g_assert_true (hir_imap_value_get_number (
                   hir_imap_value_lookup (hir_imap_value_get_item (status->data, 2), "UIDNEXT"), &n));
  g_assert_cmpuint (n, ==, 44292);
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (
                     hir_imap_value_get_item (perm->code, 1), 2)), ==, "\\*");
}

static void
test_bodystructure (void)
{
  /* From RFC 3501, section 7.4.2, with a nested multipart added. */
  g_autoptr(HirImapResponse) r = parse_one (
    "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
    "\"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) "
    "\"MIXED\"))\r\n");
  HirImapValue *bs = hir_imap_value_lookup (hir_imap_value_get_item (r->data, 2), "BODYSTRUCTURE");
  HirImapValue *second = hir_imap_value_get_item (bs, 1);

  g_assert_cmpuint (hir_imap_value_get_length (bs), ==, 3);
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (second, 4)), ==,
                   "Compiler diff");
  g_assert_cmpstr (hir_imap_value_get_string (hir_imap_value_get_item (bs, 2)), ==, "MIXED");
}

static void
test_continuation (void)
{
  g_autoptr(HirImapResponse) a = parse_one ("+ Ready for literal data\r\n");
  g_autoptr(HirImapResponse) b = parse_one ("+\r\n");
  g_autoptr(HirImapResponse) c = parse_one ("+ \r\n");

  g_assert_cmpint (a->kind, ==, HIR_IMAP_RESPONSE_CONTINUATION);
  g_assert_cmpstr (a->text, ==, "Ready for literal data");
  g_assert_cmpstr (b->text, ==, "");
  g_assert_cmpstr (c->text, ==, "");
}

static void
test_literal_with_nul (void)
{
  static const char text[] = "* 1 FETCH (BODY[1] {5}\r\na\0b\r\n)\r\n";
  g_autoptr(HirImapResponse) r = parse_one_chunked (text, sizeof text - 1, 3);
  HirImapValue *body = hir_imap_value_lookup (hir_imap_value_get_item (r->data, 2), "BODY[1]");

  g_assert_cmpuint (body->len, ==, 5);
  g_assert_cmpmem (body->data, 5, "a\0b\r\n", 5);
}

/* Each input is an error, and the parser goes on with the next response afterwards. */
static void
test_garbage (void)
{
  const char *bad[] = {
    "A1 FETCH (UID 1)\r\n",          /* tagged data */
    "* 1 FETCH (UID 1\r\n",          /* unclosed list */
    "* 1 FETCH (UID 1))\r\n",        /* unmatched ')' */
    "* OK [ALERT Broken\r\n",        /* unclosed code */
    "* 1 FETCH (X \"open)\r\n",      /* unterminated quote */
    "* 1 FETCH (BODY[1 )\r\n",       /* unterminated section */
    "* 1 FETCH (X {3}a)\r\n",        /* literal mid-line */
    "\r\n",                          /* empty line */
    "*\r\n",                         /* a lone star */
    "NOTAG\r\n",                     /* no space after the tag */
    "* \r\n",                        /* nothing after the tag */
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(HirImapParser) parser = hir_imap_parser_new ();
      g_autoptr(GError) error = NULL;
      HirImapResponse *r = NULL;
      const char *good = "* 2 EXISTS\r\n";

      hir_imap_parser_feed (parser, (const guint8 *) bad[i], strlen (bad[i]));
      hir_imap_parser_feed (parser, (const guint8 *) good, strlen (good));
      g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_ERROR);
      g_assert_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL);
      g_assert_null (r);
      g_clear_error (&error);
      g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_RESPONSE);
      g_assert_true (hir_imap_value_is_atom (hir_imap_value_get_item (r->data, 1), "EXISTS"));
      hir_imap_response_free (r);
    }
}

static void
test_limits (void)
{
  g_autoptr(HirImapParser) parser = hir_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) deep = g_string_new ("* 1 FETCH ");
  g_autofree char *line = g_strnfill (HIR_IMAP_MAX_LINE + 10, 'x');
  HirImapResponse *r = NULL;

  for (guint i = 0; i < HIR_IMAP_MAX_DEPTH + 5; i++)
    g_string_append_c (deep, '(');
  g_string_append (deep, "\r\n");
  hir_imap_parser_feed (parser, (const guint8 *) deep->str, deep->len);
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_ERROR);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL);
  g_clear_error (&error);

  hir_imap_parser_feed (parser, (const guint8 *) "* 1 FETCH (X {99999999999}\r\n", 29);
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_ERROR);
  g_clear_error (&error);

  /* A line that never ends may not grow the buffer without bound. */
  hir_imap_parser_feed (parser, (const guint8 *) line, strlen (line));
  g_assert_cmpint (hir_imap_parser_next (parser, &r, &error), ==, HIR_IMAP_PARSE_ERROR);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL);
  g_assert_cmpuint (hir_imap_parser_get_pending (parser), ==, 0);
}

/* Every file of the kept corpus of nasty responses parses or fails cleanly. */
static void
test_corpus (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "fuzz", "imap-corpus", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint files = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *contents = NULL;
      gsize len = 0;
      g_autoptr(HirImapParser) parser = hir_imap_parser_new ();
      HirImapResponse *r = NULL;
      g_autoptr(GError) error = NULL;
      HirImapParseResult result;
      guint rounds = 0;

      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      hir_imap_parser_feed (parser, (const guint8 *) contents, len);
      while ((result = hir_imap_parser_next (parser, &r, &error)) != HIR_IMAP_PARSE_NEED_MORE)
        {
          g_clear_pointer (&r, hir_imap_response_free);
          g_clear_error (&error);
          g_assert_cmpuint (++rounds, <, len + 2);
        }
      files++;
    }
  g_assert_cmpuint (files, >, 10);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/imap/parser/greeting", test_greeting);
  g_test_add_func ("/engine/imap/parser/tagged", test_tagged);
  g_test_add_func ("/engine/imap/parser/fetch-literal", test_fetch_literal);
  g_test_add_func ("/engine/imap/parser/partial-reads", test_partial_reads);
  g_test_add_func ("/engine/imap/parser/several-in-one-read", test_several_in_one_read);
  g_test_add_func ("/engine/imap/parser/list-and-status", test_list_and_status);
  g_test_add_func ("/engine/imap/parser/bodystructure", test_bodystructure);
  g_test_add_func ("/engine/imap/parser/continuation", test_continuation);
  g_test_add_func ("/engine/imap/parser/literal-with-nul", test_literal_with_nul);
  g_test_add_func ("/engine/imap/parser/garbage", test_garbage);
  g_test_add_func ("/engine/imap/parser/limits", test_limits);
  g_test_add_func ("/engine/imap/parser/corpus", test_corpus);

  return g_test_run ();
}
