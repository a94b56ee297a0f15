/* test-outgoing.c: building outgoing MIME, replies and forwards
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * MIME is checked by parsing what was built back with GMime. Replies and forwards are
 * made from real received messages: appended to a fresh user's INBOX with hir-mailctl,
 * synced by the engine, then answered.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "hir-mime-private.h"
#include "hir-test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)

static char *
mime_to_string (GMimeMessage *message)
{
  g_autoptr(GMimeFormatOptions) options = g_mime_format_options_new ();

  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  return g_mime_object_to_string (GMIME_OBJECT (message), options);
}

static GMimeMessage *
parse (const char *text)
{
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
  g_autoptr(GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_assert_nonnull (message);
  return message;
}

static GBytes *
part_bytes (GMimePart *part)
{
  GMimeDataWrapper *wrapper = g_mime_part_get_content (part);
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new ();
  GByteArray *array;

  g_mime_data_wrapper_write_to_stream (wrapper, stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  return g_bytes_new (array->data, array->len);
}

static HirOutgoing *
rich_message (void)
{
  g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_IMAP, "alice@example.test");
  HirOutgoing *outgoing;
  g_autoptr(GBytes) png = g_bytes_new_static ("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  g_autoptr(GBytes) csv = g_bytes_new_static ("a;b\n1;2\n", 8);
  g_autoptr(GBytes) bin = g_bytes_new_static ("\0\1\2\3\xff\xfe", 6);
  g_autoptr(HirOutgoingAttachment) logo = hir_outgoing_attachment_new ("logo.png", "image/png", png);
  g_autoptr(HirOutgoingAttachment) a = hir_outgoing_attachment_new ("Überweisung März 2026.csv",
                                                                    "text/csv", csv);
  g_autoptr(HirOutgoingAttachment) b = hir_outgoing_attachment_new ("a \"quoted\"; name.bin", NULL, bin);

  hir_account_set_display_name (account, "Alice Liddell");
  outgoing = hir_outgoing_new (account);
  hir_outgoing_set_to (outgoing, "Bob <bob@example.test>, \"Zoë Ω\" <zoe@example.test>");
  hir_outgoing_set_cc (outgoing, "carol@example.test");
  hir_outgoing_set_bcc (outgoing, "dave@example.test");
  hir_outgoing_set_subject (outgoing, "Réunion — ordre du jour ✓");
  hir_outgoing_set_text (outgoing, "Bonjour à tous,\nvoici l'ordre du jour.\n");
  hir_outgoing_set_html (outgoing, "<p>Bonjour à tous,</p><img src=\"cid:logo@x\">");
  hir_outgoing_set_in_reply_to (outgoing, "<parent@example.test>");
  hir_outgoing_set_references (outgoing, "<root@example.test> <parent@example.test>");
  hir_outgoing_attachment_set_content_id (logo, "logo@x");
  hir_outgoing_add_attachment (outgoing, logo);
  hir_outgoing_add_attachment (outgoing, a);
  hir_outgoing_add_attachment (outgoing, b);
  return outgoing;
}

static void
test_mime_structure (void)
{
  g_autoptr(HirOutgoing) outgoing = rich_message ();
  g_autoptr(GMimeMessage) built = hir_outgoing_build_mime (outgoing, FALSE);
  g_autofree char *text = mime_to_string (built);
  g_autoptr(GMimeMessage) message = parse (text);
  GMimeObject *root = g_mime_message_get_mime_part (message);
  GMimeMultipart *mixed;
  GMimeMultipart *related;
  GMimeMultipart *alternative;
  GMimePart *logo;
  GMimePart *csv;
  GMimePart *bin;
  g_autoptr(GBytes) csv_bytes = NULL;
  g_autoptr(GBytes) bin_bytes = NULL;
  g_autofree char *message_id = NULL;

  g_test_message ("%s", text);

  /* Headers: RFC 2047 on the wire, the same text after parsing. */
  g_assert_nonnull (strstr (text, "Subject: =?"));
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Réunion — ordre du jour ✓");
  g_assert_nonnull (strstr (text, "MIME-Version: 1.0"));
  g_assert_nonnull (g_mime_message_get_date (message));
  message_id = g_strdup_printf ("<%s>", g_mime_message_get_message_id (message));
  g_assert_cmpstr (message_id, ==, hir_outgoing_get_message_id (outgoing));
  g_assert_true (g_str_has_suffix (message_id, "@example.test>"));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"), ==,
                   "<parent@example.test>");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "References"), ==,
                   "<root@example.test> <parent@example.test>");
  g_assert_cmpstr (internet_address_list_to_string (g_mime_message_get_from (message), NULL, FALSE),
                   ==, "Alice Liddell <alice@example.test>");
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_to (message)), ==, 2);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (
                     g_mime_message_get_to (message), 1)), ==, "Zoë Ω");
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_bcc (message)), ==, 1);
  /* Nothing 8-bit when the server did not offer 8BITMIME. */
  for (const char *p = text; *p != '\0'; p++)
    g_assert_cmpuint ((guchar) *p, <, 128);

  /* mixed [ related [ alternative [ plain, html ], logo ], csv, bin ] */
  g_assert_true (GMIME_IS_MULTIPART (root));
  mixed = GMIME_MULTIPART (root);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (root), "multipart", "mixed"));
  g_assert_cmpint (g_mime_multipart_get_count (mixed), ==, 3);
  related = GMIME_MULTIPART (g_mime_multipart_get_part (mixed, 0));
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (GMIME_OBJECT (related)),
                                              "multipart", "related"));
  alternative = GMIME_MULTIPART (g_mime_multipart_get_part (related, 0));
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (GMIME_OBJECT (alternative)),
                                              "multipart", "alternative"));
  {
    GMimeTextPart *plain = GMIME_TEXT_PART (g_mime_multipart_get_part (alternative, 0));
    GMimeTextPart *html = GMIME_TEXT_PART (g_mime_multipart_get_part (alternative, 1));
    g_autofree char *plain_text = g_mime_text_part_get_text (plain);
    g_autofree char *html_text = g_mime_text_part_get_text (html);

    g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (GMIME_OBJECT (plain)), "text", "plain"));
    g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (plain)), ==,
                     GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    g_assert_cmpstr (g_mime_text_part_get_charset (plain), ==, "utf-8");
    g_assert_nonnull (strstr (plain_text, "Bonjour à tous,"));
    g_assert_nonnull (strstr (html_text, "cid:logo@x"));
  }
  logo = GMIME_PART (g_mime_multipart_get_part (related, 1));
  g_assert_cmpstr (g_mime_part_get_content_id (logo), ==, "logo@x");
  g_assert_cmpint (g_mime_part_get_content_encoding (logo), ==, GMIME_CONTENT_ENCODING_BASE64);

  csv = GMIME_PART (g_mime_multipart_get_part (mixed, 1));
  bin = GMIME_PART (g_mime_multipart_get_part (mixed, 2));
  /* RFC 2231 on the wire, the names back after parsing. */
  g_assert_nonnull (strstr (text, "filename*="));
  g_assert_nonnull (strstr (text, "berweisung%20M"));
  g_assert_cmpstr (g_mime_part_get_filename (csv), ==, "Überweisung März 2026.csv");
  g_assert_cmpstr (g_mime_part_get_filename (bin), ==, "a \"quoted\"; name.bin");
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (GMIME_OBJECT (bin)),
                                              "application", "octet-stream"));
  g_assert_cmpint (g_mime_part_get_content_encoding (csv), ==, GMIME_CONTENT_ENCODING_BASE64);
  csv_bytes = part_bytes (csv);
  bin_bytes = part_bytes (bin);
  g_assert_cmpmem (g_bytes_get_data (csv_bytes, NULL), g_bytes_get_size (csv_bytes), "a;b\n1;2\n", 8);
  g_assert_cmpmem (g_bytes_get_data (bin_bytes, NULL), g_bytes_get_size (bin_bytes), "\0\1\2\3\xff\xfe", 6);

  g_assert_cmpuint (hir_outgoing_get_total_size (outgoing), ==,
                    strlen (hir_outgoing_get_text (outgoing)) +
                    strlen (hir_outgoing_get_html (outgoing)) + 16 + 8 + 6);
}

static void
test_mime_plain (void)
{
  g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_IMAP, "alice@example.test");
  g_autoptr(HirOutgoing) outgoing = hir_outgoing_new (account);
  g_autoptr(GMimeMessage) built = NULL;
  g_autoptr(GMimeMessage) built8 = NULL;
  GMimeObject *part;

  hir_outgoing_set_to (outgoing, "bob@example.test");
  hir_outgoing_set_subject (outgoing, "Plain");
  hir_outgoing_set_text (outgoing, "Just ASCII.\n");
  built = hir_outgoing_build_mime (outgoing, FALSE);
  part = g_mime_message_get_mime_part (built);
  g_assert_true (GMIME_IS_TEXT_PART (part));
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==, GMIME_CONTENT_ENCODING_7BIT);

  hir_outgoing_set_text (outgoing, "Grüße aus Köln: the meeting is at ten, in the usual room.\n");
  built8 = hir_outgoing_build_mime (outgoing, TRUE);
  part = g_mime_message_get_mime_part (built8);
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==, GMIME_CONTENT_ENCODING_8BIT);
  g_clear_object (&built8);
  built8 = hir_outgoing_build_mime (outgoing, FALSE);
  part = g_mime_message_get_mime_part (built8);
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==,
                   GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  /* A new message each time, the Message-ID stays. */
  g_assert_cmpstr (g_mime_message_get_message_id (built), ==, g_mime_message_get_message_id (built8));
}

static void
test_subjects (void)
{
  static const char * const cases[][3] = {
    { "Budget", "Re: Budget", "Fwd: Budget" },
    { "Re: Budget", "Re: Budget", "Fwd: Budget" },
    { "RE: Aw: Re[2]: Budget", "Re: Budget", "Fwd: Budget" },
    { "Fwd: re:  Fw: FWD: Budget", "Re: Budget", "Fwd: Budget" },
    { "Re(3): Budget", "Re: Budget", "Fwd: Budget" },
    { "Reading list", "Re: Reading list", "Fwd: Reading list" },
    { "Awesome: Re:", "Re: Awesome: Re:", "Fwd: Awesome: Re:" },
    { "", "Re: ", "Fwd: " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *re = hir_outgoing_make_reply_subject (cases[i][0]);
      g_autofree char *fwd = hir_outgoing_make_forward_subject (cases[i][0]);

      g_assert_cmpstr (re, ==, cases[i][1]);
      g_assert_cmpstr (fwd, ==, cases[i][2]);
    }
}

/* Real messages --------------------------------------------------------------------- */

typedef struct
{
  char *address;
  char *password;
  char *dir;
  HirEngine *engine;
  HirAccount *account;
} User;

static void
user_free (User *user)
{
  g_clear_object (&user->engine);
  g_clear_object (&user->account);
  g_free (user->address);
  g_free (user->password);
  g_free (user->dir);
  g_free (user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

static User *
user_new (const char *prefix)
{
  User *user = g_new0 (User, 1);
  g_autofree char *pw_path = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *command = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_test_new_user (prefix, &user->address, &user->password);
  user->dir = hir_test_make_tmpdir (prefix);
  pw_path = g_build_filename (user->dir, "password", NULL);
  quoted = g_shell_quote (pw_path);
  command = g_strdup_printf ("cat %s", quoted);
  g_file_set_contents_full (pw_path, user->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  user->engine = hir_test_engine_new ();
  user->account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, user->address);
  hir_account_set_display_name (user->account, "Alice Tester");
  hir_account_set_jmap_url (user->account, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  hir_account_set_password_command (user->account, command);
  return user;
}

static void
user_append (User       *user,
             const char *eml)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("m%u.eml", ++n);
  g_autofree char *path = g_build_filename (user->dir, name, NULL);
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "--password-env", "HIR_TEST_PASSWORD", "--user", user->address,
                         "append", "INBOX", path, NULL };

  g_file_set_contents (path, eml, -1, &error);
  g_assert_no_error (error);
  g_free (hir_test_run_tool ("hir-mailctl", user->password, argv));
}

/* Adds the account (its first sync brings the INBOX) and returns the INBOX's messages
 * with their bodies, oldest first. */
static GPtrArray *
user_sync (User       *user,
           GPtrArray **bodies)
{
  HirStore *store = hir_engine_get_store (user->engine);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  GPtrArray *messages;
  gint64 inbox = 0;

  hir_engine_add_account_async (user->engine, user->account, user->password, NULL,
                                hir_test_async_cb, &result);
  hir_engine_add_account_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  hir_store_list_folders_async (store, hir_account_get_id (user->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  for (guint i = 0; i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == HIR_FOLDER_ROLE_INBOX)
      inbox = hir_folder_get_id (g_ptr_array_index (folders, i));
  hir_store_load_messages_async (store, inbox, 0, 100, NULL, hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  *bodies = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < messages->len; i++)
    {
      HirMessageBody *body;

      hir_engine_load_body_async (user->engine, g_ptr_array_index (messages, i), NULL,
                                  hir_test_async_cb, &result);
      body = hir_engine_load_body_finish (user->engine, hir_test_async_wait (&result), &error);
      g_assert_no_error (error);
      g_clear_object (&result);
      g_ptr_array_add (*bodies, body);
    }
  return messages;
}

static void
test_reply (void)
{
  g_autoptr(User) user = user_new ("outgoing-reply");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) bodies = NULL;
  g_autoptr(HirOutgoing) reply = NULL;
  g_autoptr(HirOutgoing) all = NULL;
  g_autofree char *eml = NULL;
  g_autofree char *plus = NULL;
  g_autofree char *own_to = NULL;
  g_autofree char *expected_from = NULL;
  HirMessage *message;
  HirMessageBody *body;

  /* Sent to the user's +lists address, with the user also in Cc: the reply comes from
   * the address it was sent to and never goes back to the user. */
  plus = g_strdup (user->address);
  *strchr (plus, '@') = '\0';
  own_to = g_strdup_printf ("%s+lists@example.test", plus);
  eml = g_strdup_printf ("From: Carol Example <carol@example.test>\r\n"
                         "To: \"The List\" <%s>, Bob <bob@example.test>\r\n"
                         "Cc: Dave <dave@example.test>, %s, BOB@example.test\r\n"
                         "Subject: RE: Aw: Re[2]: Budget 2027\r\n"
                         "Date: Wed, 25 Nov 2026 08:57:00 +0000\r\n"
                         "Message-ID: <parent-1@example.test>\r\n"
                         "In-Reply-To: <b@example.test>\r\n"
                         "References: <a@example.test> <b@example.test>\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: multipart/alternative; boundary=\"xx\"\r\n"
                         "\r\n"
                         "--xx\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n"
                         "\r\n"
                         "The numbers look fine.\r\n"
                         "> earlier quote\r\n"
                         "--xx\r\n"
                         "Content-Type: text/html; charset=utf-8\r\n"
                         "\r\n"
                         "<html><body><p>The numbers look <b>fine</b>.</p></body></html>\r\n"
                         "--xx--\r\n", own_to, user->address);
  user_append (user, eml);
  messages = user_sync (user, &bodies);
  g_assert_cmpuint (messages->len, ==, 1);
  message = g_ptr_array_index (messages, 0);
  body = g_ptr_array_index (bodies, 0);

  reply = hir_outgoing_new_reply (user->account, message, body, FALSE);
  expected_from = g_strdup_printf ("Alice Tester <%s>", own_to);
  g_assert_cmpstr (hir_outgoing_get_from (reply), ==, expected_from);
  g_assert_cmpstr (hir_outgoing_get_to (reply), ==, "Carol Example <carol@example.test>");
  g_assert_null (hir_outgoing_get_cc (reply));
  g_assert_cmpstr (hir_outgoing_get_subject (reply), ==, "Re: Budget 2027");
  g_assert_cmpstr (hir_outgoing_get_in_reply_to (reply), ==, "<parent-1@example.test>");
  g_assert_cmpstr (hir_outgoing_get_references (reply), ==,
                   "<a@example.test> <b@example.test> <parent-1@example.test>");
  g_assert_true (g_str_has_suffix (hir_outgoing_get_message_id (reply), "@example.test>"));
  g_test_message ("%s", hir_outgoing_get_text (reply));
  g_assert_nonnull (strstr (hir_outgoing_get_text (reply),
                            "Carol Example <carol@example.test> wrote:\n"
                            "> The numbers look fine.\n"
                            ">> earlier quote\n"));
  g_assert_nonnull (strstr (hir_outgoing_get_text (reply), "On Wed, 25 Nov 2026 at "));
  g_assert_nonnull (strstr (hir_outgoing_get_html (reply),
                            "<blockquote type=\"cite\">\n<p>The numbers look <b>fine</b>.</p>"));
  g_assert_null (strstr (hir_outgoing_get_html (reply), "<html>"));

  all = hir_outgoing_new_reply (user->account, message, body, TRUE);
  g_assert_cmpstr (hir_outgoing_get_to (all), ==,
                   "Carol Example <carol@example.test>, Bob <bob@example.test>");
  /* Dave only: the user's own addresses and Bob's second spelling are gone. */
  g_assert_cmpstr (hir_outgoing_get_cc (all), ==, "Dave <dave@example.test>");

  /* A reply to a reply keeps References growing and the subject short. */
  {
    g_autoptr(GMimeMessage) built = hir_outgoing_build_mime (all, FALSE);

    g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (built), "In-Reply-To"), ==,
                     "<parent-1@example.test>");
  }
}

static void
test_forward (void)
{
  g_autoptr(User) user = user_new ("outgoing-forward");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) bodies = NULL;
  g_autoptr(HirOutgoing) inline_fwd = NULL;
  g_autoptr(HirOutgoing) attached = NULL;
  g_autoptr(GBytes) original = NULL;
  g_autoptr(GMimeMessage) built = NULL;
  g_autoptr(HirOutgoingAttachment) attachment = NULL;
  g_autofree char *eml = NULL;
  HirMessage *message;
  HirMessageBody *body;
  GMimeObject *part;

  eml = g_strdup_printf ("From: Carol Example <carol@example.test>\r\n"
                         "To: %s\r\n"
                         "Subject: Fw: Minutes\r\n"
                         "Date: Wed, 25 Nov 2026 08:57:00 +0000\r\n"
                         "Message-ID: <minutes@example.test>\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n"
                         "\r\n"
                         "Minutes attached in spirit.\r\n", user->address);
  user_append (user, eml);
  messages = user_sync (user, &bodies);
  message = g_ptr_array_index (messages, 0);
  body = g_ptr_array_index (bodies, 0);

  inline_fwd = hir_outgoing_new_forward (user->account, message, body, FALSE, NULL);
  g_assert_cmpstr (hir_outgoing_get_subject (inline_fwd), ==, "Fwd: Minutes");
  g_assert_null (hir_outgoing_get_to (inline_fwd));
  g_assert_null (hir_outgoing_get_in_reply_to (inline_fwd));
  g_assert_cmpstr (hir_outgoing_get_references (inline_fwd), ==, "<minutes@example.test>");
  g_assert_nonnull (strstr (hir_outgoing_get_text (inline_fwd), "---------- Forwarded message ----------\n"
                                                                "From: Carol Example <carol@example.test>\n"));
  g_assert_nonnull (strstr (hir_outgoing_get_text (inline_fwd), "Minutes attached in spirit."));

  original = g_bytes_new (eml, strlen (eml));
  attached = hir_outgoing_new_forward (user->account, message, body, TRUE, original);
  g_assert_cmpuint (g_list_model_get_n_items (hir_outgoing_get_attachments (attached)), ==, 1);
  attachment = g_list_model_get_item (hir_outgoing_get_attachments (attached), 0);
  g_assert_cmpstr (hir_outgoing_attachment_get_content_type (attachment), ==, "message/rfc822");
  g_assert_cmpstr (hir_outgoing_attachment_get_filename (attachment), ==, "Minutes.eml");
  hir_outgoing_set_to (attached, "bob@example.test");
  built = hir_outgoing_build_mime (attached, FALSE);
  part = g_mime_multipart_get_part (GMIME_MULTIPART (g_mime_message_get_mime_part (built)), 1);
  g_assert_true (GMIME_IS_MESSAGE_PART (part));
  g_assert_cmpstr (g_mime_message_get_message_id (g_mime_message_part_get_message (GMIME_MESSAGE_PART (part))),
                   ==, "minutes@example.test");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/outgoing/mime-structure", test_mime_structure);
  g_test_add_func ("/outgoing/mime-plain", test_mime_plain);
  g_test_add_func ("/outgoing/subjects", test_subjects);
  g_test_add_func ("/outgoing/reply", test_reply);
  g_test_add_func ("/outgoing/forward", test_forward);

  return g_test_run ();
}
