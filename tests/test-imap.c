/* test-imap.c: the IMAP client and provider against the real Cyrus
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every test makes its own user (hir_test_new_user), changes the mailbox behind the
 * client's back with hir-mailctl and hir-seed, and checks what reached the store. The
 * provider is driven directly, over its own store, until the engine chooses it for IMAP
 * accounts. The fault test puts a TCP relay of its own between the client and Cyrus and
 * takes that away, so that the servers other tests use in parallel stay up.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "hir-imap-client.h"
#include "hir-imap-provider.h"
#include "hir-jmap-client.h"
#include "hir-test-util.h"

typedef struct
{
  char *address;
  char *password;
  char *dir;
  HirStore *store;
  HirAccount *account;
  HirImapProvider *provider;
} Mailbox;

static void
mailbox_free (Mailbox *mb)
{
  if (mb->provider != NULL)
    hir_provider_stop_watching (HIR_PROVIDER (mb->provider));
  g_clear_object (&mb->provider);
  g_clear_object (&mb->account);
  g_clear_object (&mb->store);
  g_free (mb->address);
  g_free (mb->password);
  g_free (mb->dir);
  g_free (mb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Mailbox, mailbox_free)

static char *
pinned_fingerprint (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert =
    g_tls_certificate_new_from_file (hir_test_server_get ("HIR_TEST_CA_FILE"), &error);

  g_assert_no_error (error);
  return hir_jmap_certificate_fingerprint (cert);
}

static Mailbox *
mailbox_new (const char *prefix)
{
  Mailbox *mb = g_new0 (Mailbox, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;
  g_autofree char *pin = pinned_fingerprint ();

  hir_test_new_user (prefix, &mb->address, &mb->password);
  mb->dir = hir_test_make_tmpdir (prefix);
  db = g_build_filename (mb->dir, "store.db", NULL);
  mb->store = hir_store_new (db);
  hir_store_open_async (mb->store, NULL, hir_test_async_cb, &result);
  hir_store_open_finish (mb->store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  mb->account = hir_account_new (HIR_ACCOUNT_KIND_IMAP, mb->address);
  hir_account_set_imap_host (mb->account, hir_test_server_get ("HIR_TEST_HOST"));
  hir_account_set_imap_port (mb->account,
                             atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
  hir_account_set_imap_security (mb->account, HIR_SECURITY_STARTTLS);
  hir_account_set_trusted_certificate (mb->account, pin);
  return mb;
}

static void
mailbox_use_provider (Mailbox    *mb,
                      const char *password)
{
  g_clear_object (&mb->provider);
  mb->provider = hir_imap_provider_new (mb->account, mb->store,
                                        password != NULL ? password : mb->password);
}

/* hir-mailctl as this user. */
#define mailctl(mb, ...) hir_test_mailctl ((mb)->address, (mb)->password, __VA_ARGS__)

static void
seed (Mailbox    *mb,
      const char *count,
      const char *folders)
{
  const char *argv[] = { "--user", mb->address, "--password-env", "HIR_TEST_PASSWORD",
                         "--count", count, "--folders", folders, "--seed", "7", NULL };
  g_autofree char *out = hir_test_run_tool ("hir-seed", mb->password, argv);
}

/* Appends @eml to @folder; returns the UID. */
static char *
append (Mailbox    *mb,
        const char *folder,
        const char *eml,
        const char *flag)
{
  return hir_test_append (mb->address, mb->password, folder, eml, flag);
}

static char *
simple_message (const char *subject,
                const char *body)
{
  static guint n;

  n++;
  return g_strdup_printf ("From: Carol Example <carol@example.test>\n"
                          "To: Alice <alice@example.test>\n"
                          "Subject: %s\n"
                          "Date: Tue, 03 Nov 2026 10:%02u:00 +0100\n"
                          "Message-ID: <imap-simple-%u-%u@example.test>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n"
                          "\n"
                          "%s\n", subject, n % 60, n, g_random_int (), body);
}

/* Lines of "hir-mailctl list": one message each. */
static guint
server_count (Mailbox    *mb,
              const char *folder)
{
  g_autofree char *out = mailctl (mb, "list", folder, NULL);
  g_auto(GStrv) lines = g_strsplit (g_strstrip (out), "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      n++;
  return n;
}

static gboolean
try_sync (Mailbox  *mb,
          GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hir_provider_sync_async (HIR_PROVIDER (mb->provider), NULL, hir_test_async_cb, &result);
  return hir_provider_sync_finish (HIR_PROVIDER (mb->provider), hir_test_async_wait (&result),
                                   error);
}

static void
sync_now (Mailbox *mb)
{
  g_autoptr(GError) error = NULL;

  try_sync (mb, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);
}

static guint
counter (Mailbox    *mb,
         const char *name)
{
  guint value = 0;

  g_object_get (mb->provider, name, &value, NULL);
  return value;
}

static GPtrArray *
list_folders (Mailbox *mb)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  hir_store_list_folders_async (mb->store, hir_account_get_id (mb->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (mb->store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return folders;
}

static HirFolder *
find_folder (GPtrArray  *folders,
             const char *remote_id)
{
  for (guint i = 0; i < folders->len; i++)
    if (g_strcmp0 (hir_folder_get_remote_id (g_ptr_array_index (folders, i)), remote_id) == 0)
      return g_ptr_array_index (folders, i);
  return NULL;
}

static HirFolder *
find_role (GPtrArray     *folders,
           HirFolderRole  role)
{
  for (guint i = 0; i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == role)
      return g_ptr_array_index (folders, i);
  return NULL;
}

static GPtrArray *
load_messages (Mailbox    *mb,
               const char *remote_id)
{
  g_autoptr(GPtrArray) folders = list_folders (mb);
  HirFolder *folder = find_folder (folders, remote_id);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  g_assert_nonnull (folder);
  hir_store_load_messages_async (mb->store, hir_folder_get_id (folder), 0, 100000, NULL,
                                 hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (mb->store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return messages;
}

static HirMessage *
find_message (GPtrArray  *messages,
              const char *subject)
{
  for (guint i = 0; i < messages->len; i++)
    if (g_strcmp0 (hir_message_get_subject (g_ptr_array_index (messages, i)), subject) == 0)
      return g_ptr_array_index (messages, i);
  return NULL;
}

/* No two messages of a folder share a remote id, and the store has exactly what the
 * server has. */
static void
assert_folder_matches (Mailbox    *mb,
                       const char *folder)
{
  g_autoptr(GPtrArray) messages = load_messages (mb, folder);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < messages->len; i++)
    g_assert_true (g_hash_table_add (seen, (gpointer) hir_message_get_remote_id (
                                       g_ptr_array_index (messages, i))));
  g_assert_cmpuint (messages->len, ==, server_count (mb, folder));
}

static HirMessageBody *
fetch_body (Mailbox    *mb,
            HirMessage *message)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  HirMessageBody *body;

  hir_provider_fetch_body_async (HIR_PROVIDER (mb->provider), message, NULL, hir_test_async_cb,
                                 &result);
  body = hir_provider_fetch_body_finish (HIR_PROVIDER (mb->provider),
                                         hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return body;
}

/* /engine/imap/first-sync */

static void
test_first_sync (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-first");
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autofree char *uid = NULL;
  HirMessage *message;
  const HirFolderRole roles[] = {
    HIR_FOLDER_ROLE_INBOX, HIR_FOLDER_ROLE_DRAFTS, HIR_FOLDER_ROLE_SENT,
    HIR_FOLDER_ROLE_TRASH, HIR_FOLDER_ROLE_JUNK, HIR_FOLDER_ROLE_ARCHIVE,
  };
  const char *encoded =
    "From: =?UTF-8?Q?Z=C3=A9lie_M=C3=BCller?= <zelie@example.test>\n"
    "To: Alice <alice@example.test>, \"Bob, the builder\" <bob@example.test>\n"
    "Cc: carol@example.test\n"
    "Subject: =?UTF-8?B?SMOpbGxvIHfDtnJsZCDinJM=?=\n"
    "Date: Mon, 02 Nov 2026 09:30:00 +0000\n"
    "Message-ID: <imap-encoded-1@example.test>\n"
    "In-Reply-To: <parent-1@example.test>\n"
    "References: <root-1@example.test> <parent-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Bonjour, voilà le texte.\n";
  const char *latin1_subject =
    "From: =?ISO-8859-1?Q?J=FCrgen?= <jurgen@example.test>\n"
    "To: alice@example.test\n"
    "Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\n"
    "Date: Mon, 02 Nov 2026 08:00:00 +0000\n"
    "Message-ID: <imap-latin1-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Gr=FC=DFe!\n"
    "--b1\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--b1--\n";

  seed (mb, "150", "3");
  uid = append (mb, "INBOX", encoded, "\\Seen");
  g_free (uid);
  uid = append (mb, "INBOX", latin1_subject, NULL);

  mailbox_use_provider (mb, NULL);
  sync_now (mb);

  folders = list_folders (mb);
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    g_assert_nonnull (find_role (folders, roles[i]));
  g_assert_cmpstr (hir_folder_get_remote_id (find_role (folders, HIR_FOLDER_ROLE_INBOX)), ==,
                   "INBOX");

  /* Every folder the seed filled, counted on both sides. */
  for (guint i = 0; i < folders->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (folders, i);
      guint on_server = server_count (mb, hir_folder_get_remote_id (folder));

      g_assert_cmpuint (hir_folder_get_total_count (folder), ==, on_server);
    }

  inbox = load_messages (mb, "INBOX");
  message = find_message (inbox, "Héllo wörld ✓");
  g_assert_nonnull (message);
  g_assert_cmpstr (hir_message_get_from_name (message), ==, "Zélie Müller");
  g_assert_cmpstr (hir_message_get_from_address (message), ==, "zelie@example.test");
  g_assert_cmpstr (hir_message_get_to (message), ==,
                   "Alice <alice@example.test>, \"Bob, the builder\" <bob@example.test>");
  g_assert_cmpstr (hir_message_get_cc (message), ==, "carol@example.test");
  g_assert_cmpstr (hir_message_get_message_id (message), ==, "imap-encoded-1@example.test");
  g_assert_cmpstr (hir_message_get_in_reply_to (message), ==, "parent-1@example.test");
  g_assert_cmpstr (hir_message_get_references (message), ==,
                   "root-1@example.test parent-1@example.test");
  /* The thread rule: the first id of References. */
  g_assert_cmpstr (hir_message_get_thread_id (message), ==, "root-1@example.test");
  g_assert_cmpint (hir_message_get_date (message), ==, 1793611800);
  /* Cyrus lists PREVIEW but answers NIL without its preview settings: the preview comes
   * from the first bytes of the text part instead. */
  g_assert_cmpstr (hir_message_get_preview (message), ==, "Bonjour, voilà le texte.");
  g_assert_cmpint (hir_message_get_flags (message), ==, HIR_MESSAGE_FLAG_SEEN);
  g_assert_false (hir_message_get_has_attachment (message));
  g_assert_cmpuint (hir_message_get_size (message), >, 300);

  message = find_message (inbox, "Grüße aus Köln");
  g_assert_nonnull (message);
  g_assert_cmpstr (hir_message_get_preview (message), ==, "Grüße!");
  g_assert_cmpstr (hir_message_get_from_name (message), ==, "Jürgen");
  g_assert_true (hir_message_get_has_attachment (message));
  {
    g_autoptr(HirMessageBody) body = fetch_body (mb, message);
    HirAttachment *pdf;

    /* ISO-8859-1, quoted-printable. */
    g_assert_cmpstr (hir_message_body_get_text (body), ==, "Grüße!");
    g_assert_cmpuint (g_list_model_get_n_items (hir_message_body_get_attachments (body)), ==, 1);
    pdf = g_list_model_get_item (hir_message_body_get_attachments (body), 0);
    g_assert_cmpstr (hir_attachment_get_filename (pdf), ==, "report.pdf");
    g_assert_cmpstr (hir_attachment_get_blob_id (pdf), ==, "2");
    g_assert_false (hir_attachment_get_inline (pdf));
    g_object_unref (pdf);
  }
  g_assert_cmpstr (hir_message_get_thread_id (message), ==, "imap-latin1-1@example.test");

  /* Nothing the seed wrote is left RFC 2047-encoded. */
  for (guint i = 0; i < inbox->len; i++)
    {
      g_assert_null (strstr (hir_message_get_subject (g_ptr_array_index (inbox, i)), "=?"));
      g_assert_null (strstr (hir_message_get_sender_label (g_ptr_array_index (inbox, i)), "=?"));
    }

  assert_folder_matches (mb, "INBOX");
  g_assert_cmpuint (counter (mb, "messages-fetched"), >=, 152);

  /* The seed's bodies in Windows-1252 and ISO-2022-JP come out as the sender wrote them
   * (their sentences are in tests/servers/hir-seed), in every folder. */
  {
    const char *cp1252_subjects[] = { "Quote “v2” attached", "Price update – 2025",
                                      "Re: “Quick” sync", NULL };
    const char *jp_subjects[] = { "会議の資料について", "来週の予定", "お見積もりのご送付",
                                  "お疲れ様です", "出張報告書", NULL };
    guint cp1252 = 0, jp = 0;

    for (guint f = 0; f < folders->len; f++)
      {
        g_autoptr(GPtrArray) messages =
          load_messages (mb, hir_folder_get_remote_id (g_ptr_array_index (folders, f)));

        for (guint i = 0; i < messages->len; i++)
          {
            HirMessage *m = g_ptr_array_index (messages, i);
            const char *subject = hir_message_get_subject (m);
            g_autoptr(HirMessageBody) body = NULL;
            const char *text;

            if (!g_strv_contains (cp1252_subjects, subject) &&
                !g_strv_contains (jp_subjects, subject))
              continue;
            /* The preview came from the first kilobyte of the same part. */
            g_assert_true (g_utf8_validate (hir_message_get_preview (m), -1, NULL));
            g_assert_cmpuint (strlen (hir_message_get_preview (m)), >, 20);
            g_assert_null (strstr (hir_message_get_preview (m), "\xef\xbf\xbd"));
            body = fetch_body (mb, m);
            text = hir_message_body_get_text (body);
            g_assert_nonnull (text);
            g_assert_true (g_utf8_validate (text, -1, NULL));
            g_assert_null (strstr (text, "\xef\xbf\xbd"));
            if (g_strv_contains (cp1252_subjects, subject))
              {
                g_assert_true (strstr (text, "The “final” price is 120 € — not 150 €") ||
                               strstr (text, "We’ll need the signed copy by Friday") ||
                               strstr (text, "Our team’s “quick sync” took 90 minutes – again.") ||
                               strstr (text, "coffee 2,50 €, croissant 1,20 €"));
                cp1252++;
              }
            else
              {
                g_assert_true (strstr (text, "お疲れ様です。") || strstr (text, "ご確認のほど") ||
                               strstr (text, "日程の変更がございましたら") ||
                               strstr (text, "先日はありがとうございました。"));
                jp++;
              }
          }
      }
    g_test_message ("checked %u Windows-1252 and %u ISO-2022-JP bodies", cp1252, jp);
    g_assert_cmpuint (cp1252, >, 0);
    g_assert_cmpuint (jp, >, 0);
  }
}

/* /engine/imap/bodies */

static void
test_bodies (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-bodies");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uid = NULL;
  HirAttachment *attachment;
  HirMessage *message;
  /* "日本語のテキストです。" in ISO-2022-JP, base64. */
  const char *jis =
    "From: taro@example.test\n"
    "To: alice@example.test\n"
    "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\n"
    "Date: Mon, 02 Nov 2026 07:00:00 +0000\n"
    "Message-ID: <imap-jis@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=ISO-2022-JP\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "\x1b$BF|K\\8l$N%F%-%9%H$G$9!#\x1b(B\n";
  const char *cp1252 =
    "From: shop@example.test\n"
    "To: alice@example.test\n"
    "Subject: Windows text\n"
    "Date: Mon, 02 Nov 2026 07:01:00 +0000\n"
    "Message-ID: <imap-1252@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=windows-1252\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "=93Caf=E9=94 =96 10 =80\n"
    "--alt\n"
    "Content-Type: multipart/related; boundary=\"rel\"\n"
    "\n"
    "--rel\n"
    "Content-Type: text/html; charset=windows-1252\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<p>=93Caf=E9=94</p><img src=3D\"cid:logo@x\">\n"
    "--rel\n"
    "Content-Type: image/png\n"
    "Content-ID: <logo@x>\n"
    "Content-Disposition: inline\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "iVBORw0KGgo=\n"
    "--rel--\n"
    "--alt--\n";

  uid = append (mb, "INBOX", jis, NULL);
  g_free (uid);
  uid = append (mb, "INBOX", cp1252, NULL);

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  inbox = load_messages (mb, "INBOX");

  message = find_message (inbox, "日本語");
  g_assert_nonnull (message);
  body = fetch_body (mb, message);
  g_assert_cmpstr (hir_message_body_get_text (body), ==, "日本語のテキストです。\n");
  g_assert_null (hir_message_body_get_html (body));
  g_clear_object (&body);

  message = find_message (inbox, "Windows text");
  g_assert_nonnull (message);
  g_assert_false (hir_message_get_has_attachment (message));
  body = fetch_body (mb, message);
  g_assert_cmpstr (hir_message_body_get_text (body), ==, "“Café” – 10 €");
  g_assert_cmpstr (hir_message_body_get_html (body), ==,
                   "<p>“Café”</p><img src=\"cid:logo@x\">");
  attachment = hir_message_body_find_by_content_id (body, "logo@x");
  g_assert_nonnull (attachment);
  g_assert_true (hir_attachment_get_inline (attachment));
  g_assert_cmpstr (hir_attachment_get_content_type (attachment), ==, "image/png");

  hir_provider_fetch_attachment_async (HIR_PROVIDER (mb->provider), message, attachment, NULL,
                                       hir_test_async_cb, &result);
  bytes = hir_provider_fetch_attachment_finish (HIR_PROVIDER (mb->provider),
                                                hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 8);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), 8, "\x89PNG\r\n\x1a\n", 8);
}

/* /engine/imap/qresync-resume */

static void
test_qresync_resume (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-resume");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GPtrArray) archive = NULL;
  g_autofree char *uid_gone = NULL;
  g_autofree char *uid_flag = NULL;
  g_autofree char *uid_move = NULL;
  g_autofree char *out = NULL;
  guint fetched, commands, selects;
  char *eml;

  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Filler %u", i);
      g_autofree char *uid = NULL;

      eml = simple_message (subject, "x");
      uid = append (mb, "INBOX", eml, NULL);
      g_free (eml);
      if (i == 3)
        uid_gone = g_steal_pointer (&uid);
      else if (i == 4)
        uid_flag = g_steal_pointer (&uid);
      else if (i == 5)
        uid_move = g_steal_pointer (&uid);
    }

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched"), ==, 30);

  /* A second sync with nothing changed: STATUS says so, not one SELECT. */
  selects = counter (mb, "selects");
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "selects"), ==, selects);
  g_assert_cmpuint (counter (mb, "messages-fetched"), ==, 30);

  /* Behind the client's back: new, expunged, flagged, moved. */
  eml = simple_message ("Brand new", "y");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);
  out = mailctl (mb, "expunge", "INBOX", uid_gone, NULL);
  g_free (out);
  out = mailctl (mb, "flag", "INBOX", uid_flag, "+\\Flagged", "+\\Seen", NULL);
  g_free (out);
  out = mailctl (mb, "move", "INBOX", uid_move, "Archive", NULL);

  fetched = counter (mb, "messages-fetched");
  commands = counter (mb, "fetch-commands");
  sync_now (mb);

  /* Only the two messages new to a folder came down, in at most one command each. */
  g_assert_cmpuint (counter (mb, "messages-fetched") - fetched, ==, 2);
  g_assert_cmpuint (counter (mb, "fetch-commands") - commands, <=, 2);

  inbox = load_messages (mb, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 29);
  g_assert_nonnull (find_message (inbox, "Brand new"));
  g_assert_null (find_message (inbox, "Filler 3"));
  g_assert_null (find_message (inbox, "Filler 5"));
  g_assert_cmpint (hir_message_get_flags (find_message (inbox, "Filler 4")), ==,
                   HIR_MESSAGE_FLAG_FLAGGED | HIR_MESSAGE_FLAG_SEEN);
  archive = load_messages (mb, "Archive");
  g_assert_cmpuint (archive->len, ==, 1);
  g_assert_nonnull (find_message (archive, "Filler 5"));
  assert_folder_matches (mb, "INBOX");
}

/* /engine/imap/restart: a new provider over the same store (the app started again)
 * resumes from the stored UIDVALIDITY/HIGHESTMODSEQ: no folder is selected, nothing is
 * downloaded again; a change made meanwhile comes as a delta */

static void
test_restart (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-restart");
  g_autoptr(GPtrArray) inbox = NULL;
  char *eml;

  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Kept %u", i);

      eml = simple_message (subject, "k");
      g_free (append (mb, "INBOX", eml, NULL));
      g_free (eml);
    }
  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched"), ==, 12);

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched"), ==, 0);
  g_assert_cmpuint (counter (mb, "selects"), ==, 0);

  eml = simple_message ("While closed", "w");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);
  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched"), ==, 1);
  g_assert_cmpuint (counter (mb, "selects"), ==, 1);
  inbox = load_messages (mb, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 13);
}

/* /engine/imap/uid-fallback: a store state without HIGHESTMODSEQ (as a server without
 * CONDSTORE leaves it) takes the UID-range comparison */

static void
test_uid_fallback (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-uidcmp");
  g_autoptr(HirStoreChanges) changes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autofree char *uid_gone = NULL;
  g_autofree char *uid_flag = NULL;
  g_autofree char *out = NULL;
  guint fetched;
  char *eml;

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Old %u", i);
      g_autofree char *uid = NULL;

      eml = simple_message (subject, "x");
      uid = append (mb, "INBOX", eml, NULL);
      g_free (eml);
      if (i == 1)
        uid_gone = g_steal_pointer (&uid);
      else if (i == 2)
        uid_flag = g_steal_pointer (&uid);
    }
  mailbox_use_provider (mb, NULL);
  sync_now (mb);

  changes = hir_store_changes_new (hir_account_get_id (mb->account));
  hir_store_changes_set_state (changes, "imap:INBOX:highestmodseq", NULL);
  hir_store_apply_async (mb->store, changes, NULL, hir_test_async_cb, &result);
  hir_store_apply_finish (mb->store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  out = mailctl (mb, "expunge", "INBOX", uid_gone, NULL);
  g_free (out);
  out = mailctl (mb, "flag", "INBOX", uid_flag, "+\\Flagged", NULL);
  eml = simple_message ("Newer", "y");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);

  fetched = counter (mb, "messages-fetched");
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched") - fetched, ==, 1);
  inbox = load_messages (mb, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 5);
  g_assert_null (find_message (inbox, "Old 1"));
  g_assert_cmpint (hir_message_get_flags (find_message (inbox, "Old 2")), ==,
                   HIR_MESSAGE_FLAG_FLAGGED);
}

/* /engine/imap/folders: names in modified UTF-7, hierarchy, subscriptions, a folder
 * deleted and one recreated (new UIDVALIDITY: its old messages go, the new ones come) */

static HirImapClient *
connect_client (Mailbox *mb)
{
  g_autofree char *pin = pinned_fingerprint ();
  HirImapClient *client =
    hir_imap_client_new (hir_test_server_get ("HIR_TEST_HOST"),
                         atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")), HIR_SECURITY_TLS,
                         mb->address, mb->password, pin);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_imap_client_connect_async (client, NULL, hir_test_async_cb, &result);
  hir_imap_client_connect_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_true (hir_imap_client_get_qresync (client));
  g_assert_true (hir_imap_client_has_capability (client, "IDLE"));
  /* Cyrus offers COMPRESS=DEFLATE: every test runs through it. */
  g_assert_true (hir_imap_client_get_compressed (client));
  return client;
}

static void
client_command (HirImapClient *client,
                const char    *command)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirImapReply) reply = NULL;

  hir_imap_client_command_async (client, command, NULL, hir_test_async_cb, &result);
  reply = hir_imap_client_command_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static void
test_folders (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-folders");
  g_autoptr(HirImapClient) client = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *out = NULL;
  HirFolder *folder;
  char *eml;

  out = mailctl (mb, "create", "Projets/Reçus", NULL);
  g_free (out);
  out = mailctl (mb, "create", "Old", NULL);
  g_free (out);
  eml = simple_message ("In Reçus", "r");
  g_free (append (mb, "Projets/Reçus", eml, NULL));
  g_free (eml);
  eml = simple_message ("Before the rename", "o");
  g_free (append (mb, "Old", eml, NULL));
  g_free (eml);
  /* CREATE without SUBSCRIBE: a folder the user chose not to see. */
  client = connect_client (mb);
  client_command (client, "CREATE \"Hidden\"");

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  folders = list_folders (mb);
  g_assert_null (find_folder (folders, "Hidden"));
  folder = find_folder (folders, "Projets/Re&AOc-us");
  g_assert_nonnull (folder);
  g_assert_cmpstr (hir_folder_get_name (folder), ==, "Reçus");
  g_assert_cmpstr (hir_folder_get_parent_remote_id (folder), ==, "Projets");
  g_assert_cmpuint (hir_folder_get_total_count (folder), ==, 1);
  g_assert_nonnull (find_folder (folders, "Old"));
  g_clear_pointer (&folders, g_ptr_array_unref);

  /* Subscribing shows it; deleting "Old" and making it again renumbers it. */
  client_command (client, "SUBSCRIBE \"Hidden\"");
  out = mailctl (mb, "delete", "Old", NULL);
  g_free (out);
  out = mailctl (mb, "create", "Old", NULL);
  g_free (out);
  eml = simple_message ("After the rename", "n");
  g_free (append (mb, "Old", eml, NULL));
  g_free (eml);
  out = mailctl (mb, "delete", "Projets/Reçus", NULL);

  sync_now (mb);
  folders = list_folders (mb);
  g_assert_nonnull (find_folder (folders, "Hidden"));
  g_assert_null (find_folder (folders, "Projets/Re&AOc-us"));
  messages = load_messages (mb, "Old");
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_nonnull (find_message (messages, "After the rename"));
  hir_imap_client_close (client);
}

/* /engine/imap/idle */

static void
remote_changed_cb (HirProvider *provider,
                   guint       *count)
{
  (*count)++;
}

static gboolean
count_positive (gpointer data)
{
  return *(guint *) data > 0;
}

static gboolean
watch_mode_is_idle (gpointer data)
{
  return g_strcmp0 (hir_imap_provider_get_watch_mode (data), "idle") == 0;
}

static gboolean
watch_mode_is_poll (gpointer data)
{
  return g_strcmp0 (hir_imap_provider_get_watch_mode (data), "poll") == 0;
}

static gboolean
watch_mode_is_not_poll (gpointer data)
{
  return !watch_mode_is_poll (data);
}

static void
test_idle (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-idle");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autofree char *out = NULL;
  guint changed = 0;
  char *eml;

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  g_signal_connect (mb->provider, "remote-changed", G_CALLBACK (remote_changed_cb), &changed);
  hir_provider_start_watching (HIR_PROVIDER (mb->provider));
  g_assert_true (hir_test_wait_until (watch_mode_is_idle, mb->provider, 20000));

  eml = simple_message ("Pushed by IDLE", "z");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);

  g_assert_true (hir_test_wait_until (count_positive, &changed, 20000));
  sync_now (mb);
  inbox = load_messages (mb, "INBOX");
  g_assert_nonnull (find_message (inbox, "Pushed by IDLE"));

  /* Flags changed elsewhere wake it too. */
  changed = 0;
  out = mailctl (mb, "list", "INBOX", NULL);
  {
    g_autofree char *uid = g_strndup (out, strcspn (out, "\t"));
    g_autofree char *out2 = mailctl (mb, "flag", "INBOX", uid, "+\\Flagged", NULL);
  }
  g_assert_true (hir_test_wait_until (count_positive, &changed, 20000));
  g_assert_cmpstr (hir_imap_provider_get_watch_mode (mb->provider), ==, "idle");

  hir_provider_stop_watching (HIR_PROVIDER (mb->provider));
  g_assert_cmpstr (hir_imap_provider_get_watch_mode (mb->provider), ==, "none");
}

/* /engine/imap/tls */

static void
test_tls (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-tls");
  g_autoptr(GError) error = NULL;
  g_autofree char *eml = simple_message ("Over TLS", "t");
  g_autoptr(GPtrArray) inbox = NULL;

  g_free (append (mb, "INBOX", eml, NULL));
  hir_account_set_imap_port (mb->account, atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")));
  hir_account_set_imap_security (mb->account, HIR_SECURITY_TLS);

  /* Not pinned: the self-signed certificate is refused, with its fingerprint. */
  hir_account_set_trusted_certificate (mb->account, NULL);
  mailbox_use_provider (mb, NULL);
  g_assert_false (try_sync (mb, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
  g_assert_nonnull (strstr (error->message, "sha256:"));
  g_assert_cmpint (hir_account_get_status (mb->account), ==,
                   HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED);
  g_clear_error (&error);

  /* STARTTLS without the pin: refused the same way. */
  hir_account_set_imap_port (mb->account, atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
  hir_account_set_imap_security (mb->account, HIR_SECURITY_STARTTLS);
  mailbox_use_provider (mb, NULL);
  g_assert_false (try_sync (mb, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
  g_clear_error (&error);

  /* What account setup shows the user before pinning: the same fingerprint on both
   * ports, with what is wrong with it. */
  {
    const char *ports[] = { "HIR_TEST_IMAPS_PORT", "HIR_TEST_IMAP_PORT" };
    const HirSecurity modes[] = { HIR_SECURITY_TLS, HIR_SECURITY_STARTTLS };
    g_autofree char *pin = pinned_fingerprint ();

    for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
      {
        g_autoptr(GAsyncResult) result = NULL;
        g_autofree char *fingerprint = NULL;
        GTlsCertificateFlags flags = 0;

        hir_imap_fetch_certificate_async (hir_test_server_get ("HIR_TEST_HOST"),
                                          atoi (hir_test_server_get (ports[i])), modes[i], NULL,
                                          hir_test_async_cb, &result);
        fingerprint = hir_imap_fetch_certificate_finish (hir_test_async_wait (&result), &flags,
                                                         &error);
        g_assert_no_error (error);
        g_assert_cmpstr (fingerprint, ==, pin);
        g_assert_true (flags & G_TLS_CERTIFICATE_UNKNOWN_CA);
      }
  }

  /* Pinned, implicit TLS: works. */
  {
    g_autofree char *pin = pinned_fingerprint ();

    hir_account_set_trusted_certificate (mb->account, pin);
  }
  hir_account_set_imap_port (mb->account, atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")));
  hir_account_set_imap_security (mb->account, HIR_SECURITY_TLS);
  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  inbox = load_messages (mb, "INBOX");
  g_assert_nonnull (find_message (inbox, "Over TLS"));
}

/* /engine/imap/idle-reconnect: the watch connection drops (the relay goes away) and comes
 * back by itself; IDLE is renewed on its timer without losing a change */

static gboolean
watch_mode_is_connecting (gpointer data)
{
  return g_strcmp0 (hir_imap_provider_get_watch_mode (data), "connecting") == 0;
}

static void
test_idle_reconnect (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-idle-re");
  g_autoptr(HirTestRelay) relay = hir_test_relay_new (atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
  g_autoptr(GPtrArray) inbox = NULL;
  guint changed = 0;
  char *eml;

  hir_account_set_imap_port (mb->account, hir_test_relay_get_port (relay));
  mailbox_use_provider (mb, NULL);
  g_object_set (mb->provider, "idle-interval", 1, NULL);
  sync_now (mb);
  g_signal_connect (mb->provider, "remote-changed", G_CALLBACK (remote_changed_cb), &changed);
  hir_provider_start_watching (HIR_PROVIDER (mb->provider));
  g_assert_true (hir_test_wait_until (watch_mode_is_idle, mb->provider, 20000));

  hir_test_relay_down (relay);
  g_assert_true (hir_test_wait_until (watch_mode_is_connecting, mb->provider, 20000));
  hir_test_relay_up (relay);
  g_assert_true (hir_test_wait_until (watch_mode_is_idle, mb->provider, 20000));

  /* Past a few renewals of IDLE (every second here), a delivery still wakes it. */
  {
    guint ticks = 0;

    g_assert_false (hir_test_wait_until (count_positive, &ticks, 2500));
  }
  changed = 0;
  eml = simple_message ("After the reconnection", "r");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);
  g_assert_true (hir_test_wait_until (count_positive, &changed, 20000));
  sync_now (mb);
  inbox = load_messages (mb, "INBOX");
  g_assert_nonnull (find_message (inbox, "After the reconnection"));
  hir_provider_stop_watching (HIR_PROVIDER (mb->provider));
}

/* /engine/imap/starttls-required: a server that does not offer STARTTLS is refused
 * before the password is sent. No test server lacks STARTTLS, so a listener here plays
 * one: it greets, lists its capabilities and records what the client sends. */

typedef struct
{
  GSocketService *service;
  guint16 port;
  GString *received;
  GSocketConnection *connection;
  guint8 buffer[1024];
} NoTlsServer;

static void
notls_read_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  NoTlsServer *server = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);
  GOutputStream *out;

  if (n <= 0)
    return;
  g_string_append_len (server->received, (const char *) server->buffer, n);
  out = g_io_stream_get_output_stream (G_IO_STREAM (server->connection));
  if (strstr (server->received->str, "CAPABILITY") != NULL)
    {
      const char *answer = "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nH1 OK done\r\n";

      g_output_stream_write_all (out, answer, strlen (answer), NULL, NULL, NULL);
    }
  g_input_stream_read_async (G_INPUT_STREAM (object), server->buffer, sizeof server->buffer,
                             G_PRIORITY_DEFAULT, NULL, notls_read_cb, server);
}

static gboolean
notls_incoming_cb (GSocketService    *service,
                   GSocketConnection *connection,
                   GObject           *source,
                   NoTlsServer       *server)
{
  const char *greeting = "* OK plain text only\r\n";

  g_set_object (&server->connection, connection);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             greeting, strlen (greeting), NULL, NULL, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             server->buffer, sizeof server->buffer, G_PRIORITY_DEFAULT, NULL,
                             notls_read_cb, server);
  return TRUE;
}

static void
test_starttls_required (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-notls");
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;
  NoTlsServer server = { NULL, };

  server.received = g_string_new (NULL);
  server.service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server.service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective,
                                 &error);
  g_assert_no_error (error);
  g_signal_connect (server.service, "incoming", G_CALLBACK (notls_incoming_cb), &server);
  g_socket_service_start (server.service);

  hir_account_set_imap_port (mb->account,
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  mailbox_use_provider (mb, NULL);
  g_assert_false (try_sync (mb, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "STARTTLS"));
  /* Nothing but CAPABILITY went out: no LOGIN, no AUTHENTICATE, no password. */
  g_assert_null (strstr (server.received->str, "AUTHENTICATE"));
  g_assert_null (strstr (server.received->str, "LOGIN"));
  g_assert_null (strstr (server.received->str, mb->password));

  g_socket_service_stop (server.service);
  g_socket_listener_close (G_SOCKET_LISTENER (server.service));
  g_clear_object (&server.service);
  g_clear_object (&server.connection);
  g_string_free (server.received, TRUE);
}

/* /engine/imap/auth-failed */

static void
test_auth_failed (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-auth");
  g_autoptr(GError) error = NULL;

  mailbox_use_provider (mb, "not-the-password");
  g_assert_false (try_sync (mb, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_AUTH_FAILED);
  g_clear_error (&error);

  /* Watching does not loop on a refused password: it gives up and says so. */
  hir_provider_start_watching (HIR_PROVIDER (mb->provider));
  g_assert_true (hir_test_wait_until (watch_mode_is_poll, mb->provider, 20000));
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_AUTH_FAILED);
  /* And it stays there: no reconnection is scheduled. */
  g_assert_false (hir_test_wait_until (watch_mode_is_not_poll, mb->provider, 2500));
  hir_provider_stop_watching (HIR_PROVIDER (mb->provider));

  /* The right password, given later, works. */
  hir_provider_set_password (HIR_PROVIDER (mb->provider), mb->password);
  sync_now (mb);
}

/* /engine/imap/set-flags */

static void
test_set_flags (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-flags");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *eml = simple_message ("Flag me", "f");
  g_autofree char *out = NULL;

  g_free (append (mb, "INBOX", eml, "\\Seen"));
  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  inbox = load_messages (mb, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 1);

  hir_provider_set_flags_async (HIR_PROVIDER (mb->provider), g_ptr_array_index (inbox, 0),
                                HIR_MESSAGE_FLAG_FLAGGED, NULL, hir_test_async_cb, &result);
  hir_provider_set_flags_finish (HIR_PROVIDER (mb->provider), hir_test_async_wait (&result),
                                 &error);
  g_assert_no_error (error);

  out = mailctl (mb, "list", "INBOX", NULL);
  g_assert_nonnull (strstr (out, "\\Flagged"));
  g_assert_null (strstr (out, "\\Seen"));
}

/* /engine/imap/append-move */

static void
test_append_move (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-append");
  g_autoptr(GPtrArray) drafts = NULL;
  g_autoptr(GPtrArray) trash = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *eml = simple_message ("Appended draft", "d");
  g_autoptr(GString) crlf = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *second = NULL;

  for (const char *p = eml; *p; p++)
    {
      if (*p == '\n')
        g_string_append_c (crlf, '\r');
      g_string_append_c (crlf, *p);
    }
  bytes = g_bytes_new (crlf->str, crlf->len);

  mailbox_use_provider (mb, NULL);
  sync_now (mb);
  hir_imap_provider_append_async (mb->provider, "Drafts", "\\Draft \\Seen", bytes, NULL,
                                  hir_test_async_cb, &result);
  remote_id = hir_imap_provider_append_finish (mb->provider, hir_test_async_wait (&result),
                                               &error);
  g_assert_no_error (error);
  g_assert_nonnull (remote_id);
  g_assert_true (g_str_has_prefix (remote_id, "Drafts\n"));
  g_clear_object (&result);

  /* A draft saved again: the new copy in, the previous one out. */
  hir_imap_provider_append_async (mb->provider, "Drafts", "\\Draft \\Seen", bytes, NULL,
                                  hir_test_async_cb, &result);
  second = hir_imap_provider_append_finish (mb->provider, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  hir_imap_provider_delete_async (mb->provider, remote_id, NULL, hir_test_async_cb, &result);
  hir_imap_provider_delete_finish (mb->provider, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (server_count (mb, "Drafts"), ==, 1);

  sync_now (mb);
  drafts = load_messages (mb, "Drafts");
  g_assert_cmpuint (drafts->len, ==, 1);
  g_assert_cmpstr (hir_message_get_remote_id (g_ptr_array_index (drafts, 0)), ==, second);
  g_assert_cmpint (hir_message_get_flags (g_ptr_array_index (drafts, 0)), ==,
                   HIR_MESSAGE_FLAG_DRAFT | HIR_MESSAGE_FLAG_SEEN);

  hir_imap_provider_move_async (mb->provider, g_ptr_array_index (drafts, 0), "Trash", NULL,
                                hir_test_async_cb, &result);
  hir_imap_provider_move_finish (mb->provider, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  sync_now (mb);
  g_clear_pointer (&drafts, g_ptr_array_unref);
  drafts = load_messages (mb, "Drafts");
  trash = load_messages (mb, "Trash");
  g_assert_cmpuint (drafts->len, ==, 0);
  g_assert_cmpuint (trash->len, ==, 1);
  g_assert_cmpuint (server_count (mb, "Trash"), ==, 1);
}

/* /engine/imap/old-server: the paths a server without the extensions takes. Cyrus has
 * them all, so the provider is told to ignore them: LIST + LSUB and roles by name, the
 * UID comparison instead of QRESYNC, AUTHENTICATE PLAIN without SASL-IR (and LOGIN),
 * APPEND with a synchronizing literal, COPY + STORE + EXPUNGE instead of MOVE, polling
 * instead of IDLE. */

static gboolean
watch_mode_is_poll_cb (gpointer data)
{
  return g_strcmp0 (hir_imap_provider_get_watch_mode (data), "poll") == 0;
}

static void
test_old_server (void)
{
  const char *ignored[] = { "QRESYNC", "CONDSTORE", "LIST-EXTENDED", "SPECIAL-USE",
                            "COMPRESS=DEFLATE", "SASL-IR", "LITERAL+", "LITERAL-", "MOVE",
                            "IDLE", "ID", "ENABLE", "PREVIEW", NULL };
  const char *no_plain[] = { "AUTH=PLAIN", NULL };
  g_autoptr(Mailbox) mb = mailbox_new ("imap-old");
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GPtrArray) drafts = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uid_gone = NULL;
  g_autofree char *uid_flag = NULL;
  g_autofree char *out = NULL;
  const HirFolderRole roles[] = {
    HIR_FOLDER_ROLE_INBOX, HIR_FOLDER_ROLE_DRAFTS, HIR_FOLDER_ROLE_SENT,
    HIR_FOLDER_ROLE_TRASH, HIR_FOLDER_ROLE_JUNK, HIR_FOLDER_ROLE_ARCHIVE,
  };
  guint fetched;
  char *eml;

  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Old server %u", i);
      g_autofree char *uid = NULL;

      eml = simple_message (subject, "o");
      uid = append (mb, "INBOX", eml, NULL);
      g_free (eml);
      if (i == 1)
        uid_gone = g_steal_pointer (&uid);
      else if (i == 2)
        uid_flag = g_steal_pointer (&uid);
    }

  mailbox_use_provider (mb, NULL);
  g_object_set (mb->provider, "ignored-capabilities", ignored, NULL);
  sync_now (mb);
  folders = list_folders (mb);
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    g_assert_nonnull (find_role (folders, roles[i]));
  g_assert_cmpuint (hir_folder_get_total_count (find_role (folders, HIR_FOLDER_ROLE_INBOX)), ==, 4);

  out = mailctl (mb, "expunge", "INBOX", uid_gone, NULL);
  g_free (out);
  out = mailctl (mb, "flag", "INBOX", uid_flag, "+\\Seen", NULL);
  eml = simple_message ("Old server new", "n");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);
  fetched = counter (mb, "messages-fetched");
  sync_now (mb);
  g_assert_cmpuint (counter (mb, "messages-fetched") - fetched, ==, 1);
  inbox = load_messages (mb, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 4);
  g_assert_null (find_message (inbox, "Old server 1"));
  g_assert_cmpint (hir_message_get_flags (find_message (inbox, "Old server 2")), ==,
                   HIR_MESSAGE_FLAG_SEEN);

  /* APPEND with a synchronizing literal, then the move without MOVE. */
  eml = simple_message ("Old server draft", "d");
  {
    g_autoptr(GString) crlf = g_string_new (NULL);

    for (const char *p = eml; *p; p++)
      {
        if (*p == '\n')
          g_string_append_c (crlf, '\r');
        g_string_append_c (crlf, *p);
      }
    bytes = g_bytes_new (crlf->str, crlf->len);
  }
  g_free (eml);
  hir_imap_provider_append_async (mb->provider, "Drafts", "\\Draft", bytes, NULL,
                                  hir_test_async_cb, &result);
  g_free (hir_imap_provider_append_finish (mb->provider, hir_test_async_wait (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  sync_now (mb);
  drafts = load_messages (mb, "Drafts");
  g_assert_cmpuint (drafts->len, ==, 1);
  hir_imap_provider_move_async (mb->provider, g_ptr_array_index (drafts, 0), "Trash", NULL,
                                hir_test_async_cb, &result);
  hir_imap_provider_move_finish (mb->provider, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (server_count (mb, "Drafts"), ==, 0);
  g_assert_cmpuint (server_count (mb, "Trash"), ==, 1);

  /* No IDLE: the watch polls. */
  hir_provider_start_watching (HIR_PROVIDER (mb->provider));
  g_assert_true (hir_test_wait_until (watch_mode_is_poll_cb, mb->provider, 20000));
  hir_provider_stop_watching (HIR_PROVIDER (mb->provider));

  /* Without AUTH=PLAIN: the LOGIN command (or AUTHENTICATE LOGIN where offered). */
  mailbox_use_provider (mb, NULL);
  g_object_set (mb->provider, "ignored-capabilities", no_plain, NULL);
  sync_now (mb);
}

/* /engine/imap/fault: the server goes away in the middle of a first sync */

static gboolean
fetched_some (gpointer data)
{
  Mailbox *mb = data;

  return counter (mb, "messages-fetched") > 0;
}

static void
test_fault (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-fault");
  g_autoptr(HirTestRelay) relay = hir_test_relay_new (atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint before;

  seed (mb, "3000", "2");
  hir_account_set_imap_port (mb->account, hir_test_relay_get_port (relay));
  mailbox_use_provider (mb, NULL);

  hir_provider_sync_async (HIR_PROVIDER (mb->provider), NULL, hir_test_async_cb, &result);
  g_assert_true (hir_test_wait_until (fetched_some, mb, 60000));
  hir_test_relay_down (relay);
  hir_provider_sync_finish (HIR_PROVIDER (mb->provider), hir_test_async_wait (&result), &error);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_UNREACHABLE);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_UNREACHABLE);
  g_clear_error (&error);
  before = counter (mb, "messages-fetched");
  g_assert_cmpuint (before, <, 3000);

  /* While it is down, a sync fails at once with the same status. */
  g_assert_false (try_sync (mb, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_UNREACHABLE);
  g_clear_error (&error);

  hir_test_relay_up (relay);
  sync_now (mb);
  assert_folder_matches (mb, "INBOX");
  {
    g_autoptr(GPtrArray) folders = list_folders (mb);

    for (guint i = 0; i < folders->len; i++)
      assert_folder_matches (mb, hir_folder_get_remote_id (g_ptr_array_index (folders, i)));
  }
}

/* /engine/imap/cancel: a sync cancelled halfway stops with G_IO_ERROR_CANCELLED, leaves
 * the account's status alone, and the next sync completes the folder exactly */

static void
test_cancel (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-cancel");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  seed (mb, "2000", "1");
  mailbox_use_provider (mb, NULL);
  hir_account_set_status (mb->account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
  hir_provider_sync_async (HIR_PROVIDER (mb->provider), cancellable, hir_test_async_cb, &result);
  g_assert_true (hir_test_wait_until (fetched_some, mb, 60000));
  g_cancellable_cancel (cancellable);
  hir_provider_sync_finish (HIR_PROVIDER (mb->provider), hir_test_async_wait (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);
  g_assert_false (hir_account_get_syncing (mb->account));

  sync_now (mb);
  assert_folder_matches (mb, "INBOX");
}

/* /engine/imap/engine: the engine with an IMAP account: add (one sync), bodies and flags
 * through the engine, and a delivery reaching the store by IDLE alone, no manual sync */

typedef struct
{
  HirEngine *engine;
  gint64 folder_id;
  guint want;
} CountWait;

static gboolean
inbox_has (gpointer data)
{
  CountWait *w = data;
  HirStore *store = hir_engine_get_store (w->engine);
  g_autoptr(GAsyncResult) result = NULL;
  guint n;

  hir_store_count_messages_async (store, w->folder_id, NULL, hir_test_async_cb, &result);
  n = hir_store_count_messages_finish (store, hir_test_async_wait (&result), NULL);
  return n >= w->want;
}

static void
test_engine (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-engine");
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  g_autofree char *pw_path = g_build_filename (mb->dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);
  g_autofree char *out = NULL;
  HirStore *store = hir_engine_get_store (engine);
  CountWait wait = { engine, 0, 2 };
  char *eml;

  eml = simple_message ("Before the engine", "Read me through the engine.");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);

  g_file_set_contents_full (pw_path, mb->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  hir_account_set_password_command (mb->account, command);
  hir_engine_add_account_async (engine, mb->account, mb->password, NULL, hir_test_async_cb,
                                &result);
  hir_engine_add_account_finish (engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (HIR_IS_IMAP_PROVIDER (hir_engine_get_provider (engine, mb->account)));
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);

  hir_store_list_folders_async (store, hir_account_get_id (mb->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  wait.folder_id = hir_folder_get_id (find_role (folders, HIR_FOLDER_ROLE_INBOX));
  hir_store_load_messages_async (store, wait.folder_id, 0, 10, NULL, hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (messages->len, ==, 1);

  hir_engine_load_body_async (engine, g_ptr_array_index (messages, 0), NULL, hir_test_async_cb,
                              &result);
  body = hir_engine_load_body_finish (engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpstr (hir_message_body_get_text (body), ==, "Read me through the engine.\n");

  hir_engine_set_flags_async (engine, g_ptr_array_index (messages, 0), HIR_MESSAGE_FLAG_SEEN,
                              NULL, hir_test_async_cb, &result);
  hir_engine_set_flags_finish (engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  out = mailctl (mb, "list", "INBOX", NULL);
  g_assert_nonnull (strstr (out, "\\Seen"));

  /* Watching: IDLE wakes the engine, whose sync brings the message in. */
  hir_engine_start (engine);
  g_assert_true (hir_test_wait_until (watch_mode_is_idle,
                                      hir_engine_get_provider (engine, mb->account), 20000));
  eml = simple_message ("Delivered while watching", "w");
  g_free (append (mb, "INBOX", eml, NULL));
  g_free (eml);
  g_assert_true (hir_test_wait_until (inbox_has, &wait, 30000));
  hir_engine_stop (engine);
}

/* /engine/imap/timeout: a silent connection counts as dead after the I/O timeout */

static gboolean
client_closed (gpointer data)
{
  return !hir_imap_client_is_connected (data);
}

static void
test_timeout (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("imap-timeout");
  g_autofree char *pin = pinned_fingerprint ();
  g_autoptr(HirImapClient) client =
    hir_imap_client_new (hir_test_server_get ("HIR_TEST_HOST"),
                         atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")),
                         HIR_SECURITY_STARTTLS, mb->address, mb->password, pin);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_imap_client_set_timeout (client, 2);
  hir_imap_client_connect_async (client, NULL, hir_test_async_cb, &result);
  hir_imap_client_connect_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_true (hir_imap_client_is_connected (client));
  g_assert_true (hir_test_wait_until (client_closed, client, 15000));
}

/* /engine/imap/client: the connection on its own (capabilities, quoting, UID sets) */

static void
test_client_helpers (void)
{
  g_autofree char *q = hir_imap_quote ("a \"b\" \\c");
  g_autofree char *d = hir_imap_mailbox_decode ("Re&AOc-us/&ZeVnLIqe-/a&-b");
  const guint32 uids[] = { 1, 2, 3, 5, 7, 8 };
  g_autofree char *set = hir_imap_uid_set (uids, G_N_ELEMENTS (uids));

  g_assert_cmpstr (q, ==, "\"a \\\"b\\\" \\\\c\"");
  g_assert_null (hir_imap_quote ("line\nbreak"));
  g_assert_cmpstr (d, ==, "Reçus/日本語/a&b");
  g_assert_cmpstr (set, ==, "1:3,5,7:8");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/imap/client-helpers", test_client_helpers);
  g_test_add_func ("/engine/imap/first-sync", test_first_sync);
  g_test_add_func ("/engine/imap/bodies", test_bodies);
  g_test_add_func ("/engine/imap/qresync-resume", test_qresync_resume);
  g_test_add_func ("/engine/imap/restart", test_restart);
  g_test_add_func ("/engine/imap/uid-fallback", test_uid_fallback);
  g_test_add_func ("/engine/imap/folders", test_folders);
  g_test_add_func ("/engine/imap/idle", test_idle);
  g_test_add_func ("/engine/imap/idle-reconnect", test_idle_reconnect);
  g_test_add_func ("/engine/imap/tls", test_tls);
  g_test_add_func ("/engine/imap/starttls-required", test_starttls_required);
  g_test_add_func ("/engine/imap/auth-failed", test_auth_failed);
  g_test_add_func ("/engine/imap/set-flags", test_set_flags);
  g_test_add_func ("/engine/imap/append-move", test_append_move);
  g_test_add_func ("/engine/imap/old-server", test_old_server);
  g_test_add_func ("/engine/imap/fault", test_fault);
  g_test_add_func ("/engine/imap/cancel", test_cancel);
  g_test_add_func ("/engine/imap/timeout", test_timeout);
  g_test_add_func ("/engine/imap/engine", test_engine);

  return g_test_run ();
}
