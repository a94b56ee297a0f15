/* test-mailto.c: the mailto: parser, with what xdg-email writes and hostile links
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-mailto.h"

static HirMailto *
parse_ok (const char *uri)
{
  g_autoptr(GError) error = NULL;
  HirMailto *mailto = hir_mailto_parse (uri, &error);

  g_assert_no_error (error);
  g_assert_nonnull (mailto);
  return mailto;
}

static void
assert_strv (char       **strv,
             const char  *first,
             ...)
{
  va_list args;
  const char *expected = first;
  guint i = 0;

  va_start (args, first);
  for (; expected != NULL; expected = va_arg (args, const char *), i++)
    g_assert_cmpstr (strv[i], ==, expected);
  va_end (args);
  g_assert_null (strv[i]);
}

static void
test_simple (void)
{
  g_autoptr(HirMailto) m = parse_ok ("mailto:bob@example.test");

  assert_strv (m->to, "bob@example.test", NULL);
  assert_strv (m->cc, NULL);
  assert_strv (m->bcc, NULL);
  assert_strv (m->attachments, NULL);
  g_assert_null (m->subject);
  g_assert_null (m->body);
  g_assert_null (m->in_reply_to);
}

static void
test_rfc6068_examples (void)
{
  g_autoptr(HirMailto) a = parse_ok ("mailto:infobot@example.com?subject=current-issue");
  g_autoptr(HirMailto) b = parse_ok ("mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index");
  g_autoptr(HirMailto) c = parse_ok ("mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E");
  g_autoptr(HirMailto) d = parse_ok ("mailto:?to=joe@example.com&cc=bob@example.com&body=hello");
  g_autoptr(HirMailto) e = parse_ok ("mailto:joe@example.com?cc=bob@example.com&bcc=x@example.com&subject=a+b%2Bc");
  g_autoptr(HirMailto) f = parse_ok ("mailto:%22not%40me%22@example.org");
  g_autoptr(HirMailto) g = parse_ok ("MAILTO:user@example.org?SUBJECT=%E2%82%AC%20and%20%C3%A9");

  assert_strv (a->to, "infobot@example.com", NULL);
  g_assert_cmpstr (a->subject, ==, "current-issue");
  g_assert_cmpstr (b->body, ==, "send current-issue\nsend index");
  g_assert_cmpstr (c->in_reply_to, ==, "<3469A91.D10AF4C@example.com>");
  assert_strv (d->to, "joe@example.com", NULL);
  assert_strv (d->cc, "bob@example.com", NULL);
  g_assert_cmpstr (d->body, ==, "hello");
  assert_strv (e->cc, "bob@example.com", NULL);
  assert_strv (e->bcc, "x@example.com", NULL);
  /* '+' is a plus, not a space: mailto: is not a form. */
  g_assert_cmpstr (e->subject, ==, "a+b+c");
  assert_strv (f->to, "\"not@me\"@example.org", NULL);
  g_assert_cmpstr (g->subject, ==, "€ and é");
}

static void
test_multiple_to (void)
{
  g_autoptr(HirMailto) m =
    parse_ok ("mailto:a@example.test,%20b@example.test?to=c@example.test,d@example.test&to=e@example.test");

  assert_strv (m->to, "a@example.test", "b@example.test", "c@example.test", "d@example.test",
               "e@example.test", NULL);
}

/* Exactly what `xdg-email --attach FILE --subject S bob@example.test` hands the handler. */
static void
test_xdg_email (void)
{
  g_autoptr(HirMailto) m =
    parse_ok ("mailto:bob%40example.test?subject=Quarterly%20report&attach=%2Ftmp%2Fmy%20report%20%C3%A9.pdf");
  g_autoptr(HirMailto) n =
    parse_ok ("mailto:bob@example.test?attachment=file:///tmp/a.txt&attach=file://localhost/tmp/b.txt");

  assert_strv (m->to, "bob@example.test", NULL);
  g_assert_cmpstr (m->subject, ==, "Quarterly report");
  assert_strv (m->attachments, "file:///tmp/my%20report%20%C3%A9.pdf", NULL);
  assert_strv (n->attachments, "file:///tmp/a.txt", "file:///tmp/b.txt", NULL);
}

static void
test_hostile (void)
{
  const char *bad[] = {
    "http://example.test/",
    "mailto:bob@example.test?subject=%ZZ",
    "mailto:bob@example.test?subject=a%00b",
    "mailto:bob%0",
    "mailto:bob@example.test?attach=http://evil.example/x.exe",
    "mailto:bob@example.test?attach=relative/path",
    "mailto:bob@example.test?attach=file://evil.example/etc/passwd",
    "mailto:bob@example.test?attach=..%2F..%2Fetc%2Fshadow",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(HirMailto) m = hir_mailto_parse (bad[i], &error);

      g_test_message ("%s → %s", bad[i], error != NULL ? error->message : "(parsed)");
      g_assert_null (m);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }

  {
    /* A local file, however sensitive, is a valid request: the application shows it in
     * the composer for the user to see, and never sends it on its own. */
    g_autoptr(HirMailto) shadow = parse_ok ("mailto:x@example.test?attach=file:///etc/shadow");
    /* Header injection through line breaks goes nowhere. */
    g_autoptr(HirMailto) inject =
      parse_ok ("mailto:x@example.test%0D%0ABcc:%20spy@evil.example?subject=Hi%0D%0ABcc:%20spy@evil.example"
                "&in-reply-to=%3Ca@b%3E%0ABcc:%20c@d&cc=a@b%0D%0AX:y&from=boss@example.test&body=%FF%FE");
    g_autoptr(HirMailto) empty = parse_ok ("mailto:");
    g_autoptr(HirMailto) junk = parse_ok ("mailto:,,,?&&=&noequals&subject=first&subject=second#frag&to=x@y");

    assert_strv (shadow->attachments, "file:///etc/shadow", NULL);
    assert_strv (inject->to, NULL);
    assert_strv (inject->cc, NULL);
    g_assert_cmpstr (inject->subject, ==, "Hi  Bcc: spy@evil.example");
    g_assert_null (strchr (inject->in_reply_to, '\n'));
    g_assert_true (g_utf8_validate (inject->body, -1, NULL));
    assert_strv (empty->to, NULL);
    assert_strv (junk->to, NULL);
    g_assert_cmpstr (junk->subject, ==, "first");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/mailto/simple", test_simple);
  g_test_add_func ("/app/mailto/rfc6068-examples", test_rfc6068_examples);
  g_test_add_func ("/app/mailto/multiple-to", test_multiple_to);
  g_test_add_func ("/app/mailto/xdg-email", test_xdg_email);
  g_test_add_func ("/app/mailto/hostile", test_hostile);

  return g_test_run ();
}
