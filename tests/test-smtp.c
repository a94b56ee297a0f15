/* test-smtp.c: submission through the real Postfix, delivery checked over IMAP
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One user sends, another finds the message in the INBOX of the real Cyrus (Postfix
 * delivers by LMTP). Both submission ports run: STARTTLS on 587's stand-in and implicit
 * TLS on 465's.
 */
#include "config.h"

#include <gmime/gmime.h>

#include "hir-imap-client.h"
#include "hir-jmap-client.h"
#include "hir-smtp-transport.h"
#include "hir-test-util.h"

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)

typedef struct
{
  char *address;
  char *password;
} User;

static void
user_free (User *user)
{
  g_free (user->address);
  g_free (user->password);
  g_free (user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

static User *
user_new (const char *prefix)
{
  User *user = g_new0 (User, 1);

  hir_test_new_user (prefix, &user->address, &user->password);
  return user;
}

static char *
pinned_fingerprint (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert =
    g_tls_certificate_new_from_file (hir_test_server_get ("HIR_TEST_CA_FILE"), &error);

  g_assert_no_error (error);
  return hir_jmap_certificate_fingerprint (cert);
}

static HirSmtpTransport *
transport_for (User       *user,
               const char *port_key,
               HirSecurity security,
               gboolean    pinned,
               const char *password)
{
  g_autofree char *pin = pinned ? pinned_fingerprint () : NULL;

  return hir_smtp_transport_new (hir_test_server_get ("HIR_TEST_HOST"),
                                 atoi (hir_test_server_get (port_key)), security,
                                 user->address, password ? password : user->password, pin);
}

static gboolean
send_bytes (HirSmtpTransport   *transport,
            const char         *eml,
            gsize               len,
            const char         *from,
            const char * const *rcpts,
            GError            **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (eml, len);
  g_autoptr(GAsyncResult) result = NULL;

  hir_smtp_transport_send_async (transport, bytes, from, rcpts, NULL, hir_test_async_cb,
                                 &result);
  return hir_smtp_transport_send_finish (transport, hir_test_async_wait (&result), error);
}

/* IMAP, as the recipient: the raw messages of the INBOX. */
static GPtrArray *
inbox_messages (User *user)
{
  g_autofree char *pin = pinned_fingerprint ();
  g_autoptr(HirImapClient) client =
    hir_imap_client_new (hir_test_server_get ("HIR_TEST_HOST"),
                         atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")), HIR_SECURITY_TLS,
                         user->address, user->password, pin);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirImapReply) reply = NULL;
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);

  hir_imap_client_connect_async (client, NULL, hir_test_async_cb, &result);
  hir_imap_client_connect_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  hir_imap_client_select_async (client, "INBOX", NULL, NULL, hir_test_async_cb, &result);
  reply = hir_imap_client_select_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, hir_imap_reply_free);
  g_clear_object (&result);

  hir_imap_client_command_async (client, "UID FETCH 1:* (BODY.PEEK[])", NULL,
                                 hir_test_async_cb, &result);
  reply = hir_imap_client_command_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < reply->untagged->len; i++)
    {
      HirImapResponse *response = g_ptr_array_index (reply->untagged, i);
      HirImapValue *items = hir_imap_value_get_item (response->data, 2);
      HirImapValue *body = hir_imap_value_lookup (items, "BODY[]");

      if (hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 1), "FETCH") &&
          body != NULL && body->data != NULL)
        g_ptr_array_add (messages, g_strndup (body->data, body->len));
    }
  hir_imap_client_close (client);
  return messages;
}

/* Delivery goes Postfix → LMTP → Cyrus: wait for it, never a fixed sleep. */
typedef struct
{
  User *user;
  const char *needle;
  char *found;
} Waiting;

static gboolean
delivered (gpointer data)
{
  Waiting *w = data;
  g_autoptr(GPtrArray) messages = inbox_messages (w->user);

  for (guint i = 0; i < messages->len; i++)
    if (strstr (g_ptr_array_index (messages, i), w->needle) != NULL)
      {
        w->found = g_strdup (g_ptr_array_index (messages, i));
        return TRUE;
      }
  return FALSE;
}

static char *
wait_for_delivery (User       *user,
                   const char *needle)
{
  Waiting w = { user, needle, NULL };

  g_assert_true (hir_test_wait_until (delivered, &w, 30000));
  return w.found;
}

static char *
make_message (User       *from,
              User       *to,
              const char *subject,
              const char *body)
{
  return g_strdup_printf ("From: Sender <%s>\n"
                          "To: <%s>\n"
                          "Subject: %s\n"
                          "Date: Wed, 25 Nov 2026 09:00:00 +0000\n"
                          "Message-ID: <smtp-%u@example.test>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n"
                          "Content-Transfer-Encoding: 8bit\n"
                          "\n"
                          "%s", from->address, to->address, subject, g_random_int (), body);
}

/* /engine/smtp/starttls */

static void
test_starttls (void)
{
  g_autoptr(User) alice = user_new ("smtp-a");
  g_autoptr(User) bob = user_new ("smtp-b");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSION_PORT", HIR_SECURITY_STARTTLS, TRUE, NULL);
  g_autofree char *subject = g_strdup_printf ("Over STARTTLS %u", g_random_int ());
  /* Lines starting with dots must arrive as they were written; 8-bit text too. */
  g_autofree char *eml = make_message (alice, bob, subject,
                                       "Hello Bob,\n.\n..two dots\n.leading\nvoilà\n");
  g_autofree char *found = NULL;
  const char *rcpts[] = { bob->address, NULL };
  g_autoptr(GError) error = NULL;

  send_bytes (transport, eml, strlen (eml), alice->address, rcpts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hir_smtp_transport_get_messages_sent (transport), ==, 1);
  g_assert_true (hir_smtp_transport_get_8bitmime (transport));
  g_assert_cmpuint (hir_smtp_transport_get_size_limit (transport), ==, 52428800);

  found = wait_for_delivery (bob, subject);
  g_assert_nonnull (strstr (found, "\r\n.\r\n..two dots\r\n.leading\r\nvoilà\r\n"));
}

/* /engine/smtp/tls: implicit TLS, a GMimeMessage with Bcc */

static void
test_tls_mime (void)
{
  g_autoptr(User) alice = user_new ("smtp-tls-a");
  g_autoptr(User) bob = user_new ("smtp-tls-b");
  g_autoptr(User) carol = user_new ("smtp-tls-c");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSIONS_PORT", HIR_SECURITY_TLS, TRUE, NULL);
  g_autofree char *subject = g_strdup_printf ("Implicit TLS %u", g_random_int ());
  g_autoptr(GMimeMessage) message = g_mime_message_new (TRUE);
  g_autoptr(GMimeTextPart) part = g_mime_text_part_new_with_subtype ("plain");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *to_bob = NULL;
  g_autofree char *to_carol = NULL;

  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_FROM, "Alice", alice->address);
  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_TO, "Bob", bob->address);
  g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_BCC, "Carol", carol->address);
  g_mime_message_set_subject (message, subject, NULL);
  g_mime_text_part_set_text (part, "Grüße\n");
  g_mime_message_set_mime_part (message, GMIME_OBJECT (part));

  hir_smtp_transport_send_message_async (transport, message, NULL, NULL, NULL,
                                         hir_test_async_cb, &result);
  hir_smtp_transport_send_message_finish (transport, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  to_bob = wait_for_delivery (bob, subject);
  to_carol = wait_for_delivery (carol, subject);
  g_assert_null (strstr (to_bob, carol->address));
  g_assert_null (strstr (to_carol, "Bcc:"));
  /* The caller's message is left as it was. */
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_bcc (message)), ==, 1);
}

/* /engine/smtp/auth-failed */

static void
test_auth_failed (void)
{
  g_autoptr(User) alice = user_new ("smtp-auth");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSION_PORT", HIR_SECURITY_STARTTLS, TRUE, "wrong");
  g_autofree char *eml = make_message (alice, alice, "never", "x\n");
  const char *rcpts[] = { alice->address, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_false (send_bytes (transport, eml, strlen (eml), alice->address, rcpts, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
}

/* /engine/smtp/certificate */

static void
test_certificate (void)
{
  g_autoptr(User) alice = user_new ("smtp-cert");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSIONS_PORT", HIR_SECURITY_TLS, FALSE, NULL);
  g_autofree char *eml = make_message (alice, alice, "never", "x\n");
  const char *rcpts[] = { alice->address, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_false (send_bytes (transport, eml, strlen (eml), alice->address, rcpts, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
  g_assert_nonnull (strstr (error->message, "sha256:"));
}

/* /engine/smtp/too-big: refused before sending, with the server's limit */

static void
test_too_big (void)
{
  g_autoptr(User) alice = user_new ("smtp-big");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSION_PORT", HIR_SECURITY_STARTTLS, TRUE, NULL);
  gsize size = 60 * 1024 * 1024;
  g_autofree char *eml = g_malloc (size);
  const char *rcpts[] = { alice->address, NULL };
  g_autoptr(GError) error = NULL;
  const char *header = "Subject: big\n\n";

  memset (eml, 'a', size);
  memcpy (eml, header, strlen (header));
  for (gsize i = 100; i < size; i += 100)
    eml[i] = '\n';
  g_assert_false (send_bytes (transport, eml, size, alice->address, rcpts, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "52428800"));
}

/* /engine/smtp/rejected: a 5xx reply becomes HIR_ERROR_SERVER with the server's text */

static void
test_rejected (void)
{
  g_autoptr(User) alice = user_new ("smtp-rej");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSION_PORT", HIR_SECURITY_STARTTLS, TRUE, NULL);
  g_autofree char *eml = make_message (alice, alice, "never", "x\n");
  const char *rcpts[] = { "bob@[1.2.3]", NULL };
  g_autoptr(GError) error = NULL;

  g_assert_false (send_bytes (transport, eml, strlen (eml), alice->address, rcpts, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "bob@[1.2.3]"));
  g_assert_nonnull (strstr (error->message, "501 5.1.3 Bad recipient address syntax"));
}

/* /engine/smtp/temporary: a 4xx reply (here Postfix's recipient limit) is an error the
 * outbox retries, not a final one */

static void
test_temporary (void)
{
  g_autoptr(User) alice = user_new ("smtp-tmp");
  g_autoptr(HirSmtpTransport) transport =
    transport_for (alice, "HIR_TEST_SUBMISSION_PORT", HIR_SECURITY_STARTTLS, TRUE, NULL);
  g_autofree char *eml = make_message (alice, alice, "never", "x\n");
  g_autoptr(GPtrArray) rcpts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 1001; i++)
    g_ptr_array_add (rcpts, g_strdup_printf ("r%u@elsewhere.test", i));
  g_ptr_array_add (rcpts, NULL);
  g_assert_false (send_bytes (transport, eml, strlen (eml), alice->address,
                              (const char * const *) rcpts->pdata, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "452"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/engine/smtp/starttls", test_starttls);
  g_test_add_func ("/engine/smtp/tls-mime", test_tls_mime);
  g_test_add_func ("/engine/smtp/auth-failed", test_auth_failed);
  g_test_add_func ("/engine/smtp/certificate", test_certificate);
  g_test_add_func ("/engine/smtp/too-big", test_too_big);
  g_test_add_func ("/engine/smtp/rejected", test_rejected);
  g_test_add_func ("/engine/smtp/temporary", test_temporary);

  return g_test_run ();
}
