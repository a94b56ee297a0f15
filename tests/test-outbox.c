/* test-outbox.c: drafts and sending, against the real Cyrus and Postfix
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each test makes fresh users. The sender's engine sends; the recipient's engine syncs
 * its INBOX and the test checks what arrived — once, byte for byte. Offline is a closed
 * port in the sender's settings (the shared servers stay up for the tests running in
 * parallel); a crash is the helper outbox-sender killed right after a step marker.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "hir-jmap-client.h"
#include "hir-outbox-private.h"
#include "hir-test-util.h"

#include <unistd.h>

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
  if (user->engine != NULL)
    hir_engine_stop (user->engine);
  g_clear_object (&user->engine);
  g_clear_object (&user->account);
  g_free (user->address);
  g_free (user->password);
  g_free (user->dir);
  g_free (user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

static char *
pinned_fingerprint (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert =
    g_tls_certificate_new_from_file (hir_test_server_get ("HIR_TEST_CA_FILE"), &error);

  g_assert_no_error (error);
  return hir_jmap_certificate_fingerprint (cert);
}

static HirAccount *
make_account (User           *user,
              HirAccountKind  kind)
{
  g_autofree char *pw_path = g_build_filename (user->dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);
  g_autofree char *pin = pinned_fingerprint ();
  g_autoptr(GError) error = NULL;
  HirAccount *account = hir_account_new (kind, user->address);

  /* A password command keeps the tests off the keyring. */
  g_file_set_contents_full (pw_path, user->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  hir_account_set_display_name (account, "Test Sender");
  hir_account_set_password_command (account, command);
  if (kind == HIR_ACCOUNT_KIND_JMAP)
    hir_account_set_jmap_url (account, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  else
    {
      hir_account_set_imap_host (account, hir_test_server_get ("HIR_TEST_HOST"));
      hir_account_set_imap_port (account, atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
      hir_account_set_imap_security (account, HIR_SECURITY_STARTTLS);
      hir_account_set_smtp_host (account, hir_test_server_get ("HIR_TEST_HOST"));
      hir_account_set_smtp_port (account, atoi (hir_test_server_get ("HIR_TEST_SUBMISSION_PORT")));
      hir_account_set_smtp_security (account, HIR_SECURITY_STARTTLS);
      hir_account_set_trusted_certificate (account, pin);
    }
  return account;
}

/* A fresh user with an engine, its account added (first sync done) and started. */
static User *
user_new (const char     *prefix,
          HirAccountKind  kind)
{
  User *user = g_new0 (User, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_test_new_user (prefix, &user->address, &user->password);
  user->dir = hir_test_make_tmpdir (prefix);
  user->engine = hir_test_engine_new ();
  user->account = make_account (user, kind);
  hir_engine_add_account_async (user->engine, user->account, user->password, NULL,
                                hir_test_async_cb, &result);
  hir_engine_add_account_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  hir_engine_start (user->engine);
  return user;
}

static HirOutbox *
outbox_of (User *user)
{
  HirOutbox *outbox = hir_engine_get_outbox (user->engine);

  g_assert_true (HIR_IS_OUTBOX (outbox));
  return outbox;
}

static GBytes *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = g_random_int () & 0xff;
  return g_bytes_new_take (data, size);
}

static char *
sha256 (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static HirOutgoing *
make_message (User       *from,
              const char *to,
              const char *subject)
{
  HirOutgoing *outgoing = hir_outgoing_new (from->account);

  hir_outgoing_set_to (outgoing, to);
  hir_outgoing_set_subject (outgoing, subject);
  hir_outgoing_set_text (outgoing, "Hello Bob,\n\nthe figures are attached. Ça va ?\n");
  return outgoing;
}

static void
add_two_attachments (HirOutgoing *outgoing)
{
  g_autoptr(GBytes) binary = random_bytes (150 * 1024);
  g_autoptr(GBytes) text = g_bytes_new_static ("a,b\n1,2\n", 8);
  g_autoptr(HirOutgoingAttachment) a = hir_outgoing_attachment_new ("données.bin", NULL, binary);
  g_autoptr(HirOutgoingAttachment) b = hir_outgoing_attachment_new ("report 2026 (final).csv",
                                                                    "text/csv", text);

  hir_outgoing_add_attachment (outgoing, a);
  hir_outgoing_add_attachment (outgoing, b);
}

static gint64
queue (User        *user,
       HirOutgoing *outgoing,
       guint        delay)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id;

  hir_outbox_queue_async (outbox_of (user), outgoing, delay, NULL, hir_test_async_cb, &result);
  id = hir_outbox_queue_finish (outbox_of (user), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  return id;
}

typedef struct
{
  HirOutbox *outbox;
  gint64 id;
  HirOutgoingState state;
  gboolean need_error;
} StateWait;

static gboolean
state_reached (gpointer data)
{
  StateWait *wait = data;
  HirOutgoingState state;
  const char *message = NULL;

  return hir_outbox_get_state (wait->outbox, wait->id, &state, &message) &&
         state == wait->state && (!wait->need_error || message != NULL);
}

static void
wait_state (User             *user,
            gint64            id,
            HirOutgoingState  state)
{
  StateWait wait = { outbox_of (user), id, state, FALSE };
  HirOutgoingState now = 0;
  const char *message = NULL;

  if (!hir_test_wait_until (state_reached, &wait, 60000))
    {
      hir_outbox_get_state (wait.outbox, id, &now, &message);
      g_error ("message %" G_GINT64_FORMAT " is in state %d (%s), not %d", id, now,
               message ? message : "no error", state);
    }
}

static void
sync_now (User *user)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_engine_sync_account_async (user->engine, user->account, NULL, hir_test_async_cb, &result);
  hir_engine_sync_account_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static HirFolder *
find_role (User          *user,
           HirFolderRole  role)
{
  HirStore *store = hir_engine_get_store (user->engine);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  hir_store_list_folders_async (store, hir_account_get_id (user->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == role)
      return g_object_ref (g_ptr_array_index (folders, i));
  g_error ("no folder with role %d", role);
  return NULL;
}

/* The messages of a folder with this Message-ID (<> or not), after a sync. */
static GPtrArray *
find_messages (User          *user,
               HirFolderRole  role,
               const char    *message_id)
{
  HirStore *store = hir_engine_get_store (user->engine);
  g_autoptr(HirFolder) folder = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *bare = g_strndup (message_id + 1, strlen (message_id) - 2);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  sync_now (user);
  folder = find_role (user, role);
  hir_store_load_messages_async (store, hir_folder_get_id (folder), 0, 1000, NULL,
                                 hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    if (g_strcmp0 (hir_message_get_message_id (g_ptr_array_index (messages, i)), bare) == 0)
      g_ptr_array_add (found, g_object_ref (g_ptr_array_index (messages, i)));
  return found;
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
pause_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* Waits (syncing) until the message is in the folder; returns it. Delivery through
 * Postfix and LMTP takes a moment: poll, never a fixed sleep. */
static HirMessage *
wait_for_message (User          *user,
                  HirFolderRole  role,
                  const char    *message_id)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GPtrArray) found = find_messages (user, role, message_id);

      if (found->len > 0)
        {
          g_assert_cmpuint (found->len, ==, 1);
          return g_object_ref (g_ptr_array_index (found, 0));
        }
      pause_ms (150);
    }
  g_error ("%s never arrived", message_id);
  return NULL;
}

static void
assert_attachments (User       *user,
                    HirMessage *message,
                    GBytes     *first,
                    GBytes     *second)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  GListModel *attachments;
  GBytes *expected[] = { first, second };

  hir_engine_load_body_async (user->engine, message, NULL, hir_test_async_cb, &result);
  body = hir_engine_load_body_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_nonnull (strstr (hir_message_body_get_text (body), "Ça va ?"));
  attachments = hir_message_body_get_attachments (body);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (attachments, i);
      g_autoptr(GBytes) data = NULL;
      g_autofree char *want = sha256 (expected[i]);
      g_autofree char *got = NULL;

      hir_engine_load_attachment_async (user->engine, message, attachment, NULL,
                                        hir_test_async_cb, &result);
      data = hir_engine_load_attachment_finish (user->engine, hir_test_async_wait (&result),
                                                &error);
      g_assert_no_error (error);
      g_clear_object (&result);
      got = sha256 (data);
      g_assert_cmpstr (got, ==, want);
    }
  {
    g_autoptr(HirAttachment) a = g_list_model_get_item (attachments, 0);
    g_autoptr(HirAttachment) b = g_list_model_get_item (attachments, 1);

    g_assert_cmpstr (hir_attachment_get_filename (a), ==, "données.bin");
    g_assert_cmpstr (hir_attachment_get_filename (b), ==, "report 2026 (final).csv");
  }
}

static void
record_state_cb (HirOutbox        *outbox,
                 gint64            id,
                 HirOutgoingState  state,
                 const char       *error_message,
                 GArray           *states)
{
  int value = state;

  g_assert_null (error_message);
  g_array_append_val (states, value);
}

static void
send_and_check (HirAccountKind kind)
{
  g_autoptr(User) alice = user_new ("outbox-from", kind);
  g_autoptr(User) bob = user_new ("outbox-to", kind);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, bob->address, "Figures for Q3 — résumé");
  g_autoptr(HirMessage) received = NULL;
  g_autoptr(HirMessage) sent = NULL;
  g_autoptr(GArray) states = g_array_new (FALSE, FALSE, sizeof (int));
  GListModel *attachments;
  gint64 id;

  add_two_attachments (outgoing);
  attachments = hir_outgoing_get_attachments (outgoing);
  g_signal_connect (outbox_of (alice), "state-changed", G_CALLBACK (record_state_cb), states);
  id = queue (alice, outgoing, 0);
  wait_state (alice, id, HIR_OUTGOING_STATE_SENT);
  g_signal_handlers_disconnect_by_data (outbox_of (alice), states);
  /* Each state once, in order, and only for this message. */
  g_assert_cmpuint (states->len, ==, 3);
  g_assert_cmpint (g_array_index (states, int, 0), ==, HIR_OUTGOING_STATE_QUEUED);
  g_assert_cmpint (g_array_index (states, int, 1), ==, HIR_OUTGOING_STATE_SENDING);
  g_assert_cmpint (g_array_index (states, int, 2), ==, HIR_OUTGOING_STATE_SENT);

  received = wait_for_message (bob, HIR_FOLDER_ROLE_INBOX, hir_outgoing_get_message_id (outgoing));
  g_assert_cmpstr (hir_message_get_subject (received), ==, "Figures for Q3 — résumé");
  {
    g_autoptr(HirOutgoingAttachment) a = g_list_model_get_item (attachments, 0);
    g_autoptr(HirOutgoingAttachment) b = g_list_model_get_item (attachments, 1);

    assert_attachments (bob, received, hir_outgoing_attachment_get_data (a),
                        hir_outgoing_attachment_get_data (b));
  }
  sent = wait_for_message (alice, HIR_FOLDER_ROLE_SENT, hir_outgoing_get_message_id (outgoing));
  g_assert_true (hir_message_get_seen (sent));
  {
    g_autoptr(GPtrArray) drafts = find_messages (alice, HIR_FOLDER_ROLE_DRAFTS,
                                                 hir_outgoing_get_message_id (outgoing));

    g_assert_cmpuint (drafts->len, ==, 0);
  }
}

/* The composer warns with the server's own limit: Cyrus's JMAP session allows 10 MiB of
 * attachments per message; the harness's Postfix announces SIZE 52428800 in its EHLO. */
static void
size_limit_is (HirAccountKind kind,
               guint64        expected)
{
  User *user = user_new ("size-limit", kind);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint64 limit;

  hir_size_limit_lookup_async (user->engine, user->account, NULL, hir_test_async_cb, &result);
  limit = hir_size_limit_lookup_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (limit, ==, expected);
  user_free (user);
}

static void
test_size_limit (void)
{
  size_limit_is (HIR_ACCOUNT_KIND_JMAP, 10 * 1024 * 1024);
  size_limit_is (HIR_ACCOUNT_KIND_IMAP, 52428800);
}

static void
test_send_jmap (void)
{
  send_and_check (HIR_ACCOUNT_KIND_JMAP);
}

static void
test_send_smtp (void)
{
  send_and_check (HIR_ACCOUNT_KIND_IMAP);
}

static void
test_draft_restart (void)
{
  g_autoptr(User) alice = user_new ("outbox-draft", HIR_ACCOUNT_KIND_JMAP);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, "bob@example.test", "Draft");
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) drafts = NULL;
  g_autoptr(HirOutgoing) loaded = NULL;
  g_autofree char *profile = NULL;
  GListModel *before;
  GListModel *after;
  gint64 id;

  add_two_attachments (outgoing);
  hir_outgoing_set_html (outgoing, "<p>Hello <b>Bob</b></p>");
  hir_outbox_save_draft_async (outbox_of (alice), outgoing, NULL, hir_test_async_cb, &result);
  id = hir_outbox_save_draft_finish (outbox_of (alice), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpint (id, >, 0);
  g_assert_cmpint (hir_outgoing_get_id (outgoing), ==, id);

  /* Saved again: the same draft, not a second one. */
  hir_outgoing_set_subject (outgoing, "Draft, second version");
  hir_outbox_save_draft_async (outbox_of (alice), outgoing, NULL, hir_test_async_cb, &result);
  g_assert_cmpint (hir_outbox_save_draft_finish (outbox_of (alice), hir_test_async_wait (&result),
                                                 &error), ==, id);
  g_assert_no_error (error);
  g_clear_object (&result);

  /* Another engine on the same profile: the previous one is gone. */
  profile = g_strdup (hir_test_engine_get_profile (alice->engine));
  hir_engine_stop (alice->engine);
  g_clear_object (&alice->engine);
  engine = hir_test_engine_new_in (profile);

  hir_outbox_list_drafts_async (hir_engine_get_outbox (engine), NULL, NULL, hir_test_async_cb,
                                &result);
  drafts = hir_outbox_list_drafts_finish (hir_engine_get_outbox (engine),
                                          hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (drafts->len, ==, 1);
  g_assert_cmpstr (hir_outgoing_get_subject (g_ptr_array_index (drafts, 0)), ==,
                   "Draft, second version");

  hir_outbox_load_async (hir_engine_get_outbox (engine), id, NULL, hir_test_async_cb, &result);
  loaded = hir_outbox_load_finish (hir_engine_get_outbox (engine), hir_test_async_wait (&result),
                                   &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpint (hir_outgoing_get_state (loaded), ==, HIR_OUTGOING_STATE_DRAFT);
  g_assert_cmpstr (hir_outgoing_get_message_id (loaded), ==, hir_outgoing_get_message_id (outgoing));
  g_assert_cmpstr (hir_outgoing_get_html (loaded), ==, "<p>Hello <b>Bob</b></p>");
  g_assert_cmpstr (hir_outgoing_get_text (loaded), ==, hir_outgoing_get_text (outgoing));
  g_assert_cmpstr (hir_outgoing_get_to (loaded), ==, "bob@example.test");
  before = hir_outgoing_get_attachments (outgoing);
  after = hir_outgoing_get_attachments (loaded);
  g_assert_cmpuint (g_list_model_get_n_items (after), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(HirOutgoingAttachment) a = g_list_model_get_item (before, i);
      g_autoptr(HirOutgoingAttachment) b = g_list_model_get_item (after, i);

      g_assert_cmpstr (hir_outgoing_attachment_get_filename (a), ==,
                       hir_outgoing_attachment_get_filename (b));
      g_assert_cmpstr (hir_outgoing_attachment_get_content_type (a), ==,
                       hir_outgoing_attachment_get_content_type (b));
      g_assert_true (g_bytes_equal (hir_outgoing_attachment_get_data (a),
                                    hir_outgoing_attachment_get_data (b)));
    }

  /* Discarded: gone for good. */
  hir_outbox_discard_draft_async (hir_engine_get_outbox (engine), id, NULL, hir_test_async_cb,
                                  &result);
  g_assert_true (hir_outbox_discard_draft_finish (hir_engine_get_outbox (engine),
                                                  hir_test_async_wait (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  hir_outbox_load_async (hir_engine_get_outbox (engine), id, NULL, hir_test_async_cb, &result);
  g_assert_null (hir_outbox_load_finish (hir_engine_get_outbox (engine),
                                         hir_test_async_wait (&result), &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
}

/* The server's Drafts folder holds one copy of a draft, its latest version; sending it
 * removes that copy. */
static gboolean
drafts_show (User       *user,
             const char *message_id,
             const char *subject)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GPtrArray) found = find_messages (user, HIR_FOLDER_ROLE_DRAFTS, message_id);

      if (subject == NULL && found->len == 0)
        return TRUE;
      if (subject != NULL && found->len == 1 &&
          g_strcmp0 (hir_message_get_subject (g_ptr_array_index (found, 0)), subject) == 0)
        return TRUE;
      pause_ms (150);
    }
  return FALSE;
}

static void
server_draft (HirAccountKind kind)
{
  g_autoptr(User) alice = user_new ("outbox-sdraft", kind);
  g_autoptr(User) bob = user_new ("outbox-sdraft-to", kind);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, bob->address, "Draft one");
  g_autoptr(HirOutgoing) loaded = NULL;
  g_autoptr(HirMessage) arrived = NULL;
  g_autoptr(HirMessage) sent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *message_id = hir_outgoing_get_message_id (outgoing);
  gint64 id;

  add_two_attachments (outgoing);
  hir_outbox_save_draft_async (outbox_of (alice), outgoing, NULL, hir_test_async_cb, &result);
  id = hir_outbox_save_draft_finish (outbox_of (alice), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (drafts_show (alice, message_id, "Draft one"));

  hir_outgoing_set_subject (outgoing, "Draft two");
  hir_outbox_save_draft_async (outbox_of (alice), outgoing, NULL, hir_test_async_cb, &result);
  g_assert_cmpint (hir_outbox_save_draft_finish (outbox_of (alice), hir_test_async_wait (&result),
                                                 &error), ==, id);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (drafts_show (alice, message_id, "Draft two"));

  hir_outbox_load_async (outbox_of (alice), id, NULL, hir_test_async_cb, &result);
  loaded = hir_outbox_load_finish (outbox_of (alice), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_nonnull (hir_outgoing_get_draft_remote_id (loaded));

  g_assert_cmpint (queue (alice, loaded, 0), ==, id);
  wait_state (alice, id, HIR_OUTGOING_STATE_SENT);
  arrived = wait_for_message (bob, HIR_FOLDER_ROLE_INBOX, message_id);
  g_assert_cmpstr (hir_message_get_subject (arrived), ==, "Draft two");
  sent = wait_for_message (alice, HIR_FOLDER_ROLE_SENT, message_id);
  g_assert_true (drafts_show (alice, message_id, NULL));
}

static void
test_server_draft_jmap (void)
{
  server_draft (HIR_ACCOUNT_KIND_JMAP);
}

static void
test_server_draft_imap (void)
{
  server_draft (HIR_ACCOUNT_KIND_IMAP);
}

/* Undo: cancelled within the delay, the message comes back as a draft and never goes.
 * A second message queued after it (due later) arrives; the outbox sends in due order,
 * so had the first gone, it would be there already. */
static void
test_undo (void)
{
  g_autoptr(User) alice = user_new ("outbox-undo", HIR_ACCOUNT_KIND_IMAP);
  g_autoptr(User) bob = user_new ("outbox-undo-to", HIR_ACCOUNT_KIND_IMAP);
  g_autoptr(HirOutgoing) first = make_message (alice, bob->address, "Oops");
  g_autoptr(HirOutgoing) second = make_message (alice, bob->address, "Better");
  g_autoptr(HirOutgoing) back = NULL;
  g_autoptr(HirMessage) arrived = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  HirOutgoingState state;
  gint64 id;
  gint64 id2;

  id = queue (alice, first, 2);
  g_assert_true (hir_outbox_get_state (outbox_of (alice), id, &state, NULL));
  g_assert_cmpint (state, ==, HIR_OUTGOING_STATE_QUEUED);
  hir_outbox_list_async (outbox_of (alice), NULL, hir_test_async_cb, &result);
  {
    g_autoptr(GPtrArray) waiting = hir_outbox_list_finish (outbox_of (alice),
                                                           hir_test_async_wait (&result), &error);

    g_assert_no_error (error);
    g_assert_cmpuint (waiting->len, ==, 1);
    g_assert_cmpint (hir_outgoing_get_id (g_ptr_array_index (waiting, 0)), ==, id);
    g_assert_cmpint (hir_outgoing_get_send_at (g_ptr_array_index (waiting, 0)), >,
                     g_get_real_time () / G_USEC_PER_SEC);
  }
  g_clear_object (&result);
  hir_outbox_cancel_async (outbox_of (alice), id, NULL, hir_test_async_cb, &result);
  back = hir_outbox_cancel_finish (outbox_of (alice), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpint (hir_outgoing_get_state (back), ==, HIR_OUTGOING_STATE_DRAFT);
  g_assert_cmpint (hir_outgoing_get_id (back), ==, id);
  g_assert_cmpstr (hir_outgoing_get_subject (back), ==, "Oops");

  id2 = queue (alice, second, 3);
  wait_state (alice, id2, HIR_OUTGOING_STATE_SENT);
  arrived = wait_for_message (bob, HIR_FOLDER_ROLE_INBOX, hir_outgoing_get_message_id (second));
  found = find_messages (bob, HIR_FOLDER_ROLE_INBOX, hir_outgoing_get_message_id (first));
  g_assert_cmpuint (found->len, ==, 0);
  g_assert_true (hir_outbox_get_state (outbox_of (alice), id, &state, NULL));
  g_assert_cmpint (state, ==, HIR_OUTGOING_STATE_DRAFT);

  /* Once sent, there is nothing to undo. */
  hir_outbox_cancel_async (outbox_of (alice), id2, NULL, hir_test_async_cb, &result);
  g_assert_null (hir_outbox_cancel_finish (outbox_of (alice), hir_test_async_wait (&result), &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_FAILED);
}

/* Postfix refuses a recipient at RCPT with a 5xx: the message FAILS with the server's
 * text, and after an edit it goes. (This harness's Postfix accepts any local user —
 * local_recipient_maps is empty and Cyrus bounces unknown ones after LMTP — so the
 * refusal here is Postfix's own syntax check of a bad domain literal.) */
static void
rejected (HirAccountKind kind)
{
  g_autoptr(User) alice = user_new ("outbox-reject", kind);
  g_autoptr(User) bob = user_new ("outbox-reject-to", kind);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, "nosuchuser@[1.2.3]", "Lost");
  g_autoptr(HirOutgoing) loaded = NULL;
  g_autoptr(HirMessage) arrived = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *message = NULL;
  HirOutgoingState state;
  gint64 id;

  id = queue (alice, outgoing, 0);
  wait_state (alice, id, HIR_OUTGOING_STATE_FAILED);
  g_assert_true (hir_outbox_get_state (outbox_of (alice), id, &state, &message));
  g_test_message ("refused: %s", message);
  g_assert_nonnull (strstr (message, kind == HIR_ACCOUNT_KIND_IMAP ? "501 5.1.3" : "nosuchuser@[1.2.3]"));
  /* Nothing left behind in Drafts by the refused attempt. */
  g_assert_true (drafts_show (alice, hir_outgoing_get_message_id (outgoing), NULL));

  hir_outbox_load_async (outbox_of (alice), id, NULL, hir_test_async_cb, &result);
  loaded = hir_outbox_load_finish (outbox_of (alice), hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpint (hir_outgoing_get_state (loaded), ==, HIR_OUTGOING_STATE_FAILED);
  g_assert_nonnull (hir_outgoing_get_error_message (loaded));
  hir_outgoing_set_to (loaded, bob->address);
  g_assert_cmpint (queue (alice, loaded, 0), ==, id);
  wait_state (alice, id, HIR_OUTGOING_STATE_SENT);
  arrived = wait_for_message (bob, HIR_FOLDER_ROLE_INBOX, hir_outgoing_get_message_id (loaded));
}

static void
test_rejected_smtp (void)
{
  rejected (HIR_ACCOUNT_KIND_IMAP);
}

static void
test_rejected_jmap (void)
{
  rejected (HIR_ACCOUNT_KIND_JMAP);
}

/* Unreachable: the message waits, QUEUED with the reason, and goes when the account's
 * server answers again. */
static void
offline_and_back (HirAccountKind kind)
{
  g_autoptr(User) alice = user_new ("outbox-offline", kind);
  g_autoptr(User) bob = user_new ("outbox-offline-to", kind);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, bob->address, "Patience");
  g_autoptr(HirMessage) arrived = NULL;
  g_autofree char *jmap_url = g_strdup (hir_account_get_jmap_url (alice->account));
  guint smtp_port = hir_account_get_smtp_port (alice->account);
  StateWait wait;
  gint64 id;

  /* A port where nothing listens (the discard port of the servers' notes). */
  if (kind == HIR_ACCOUNT_KIND_JMAP)
    hir_account_set_jmap_url (alice->account, "http://127.0.0.1:9/.well-known/jmap");
  else
    hir_account_set_smtp_port (alice->account, 9);
  id = queue (alice, outgoing, 0);
  wait = (StateWait) { outbox_of (alice), id, HIR_OUTGOING_STATE_QUEUED, TRUE };
  g_assert_true (hir_test_wait_until (state_reached, &wait, 30000));

  if (kind == HIR_ACCOUNT_KIND_JMAP)
    hir_account_set_jmap_url (alice->account, jmap_url);
  else
    hir_account_set_smtp_port (alice->account, smtp_port);
  if (kind == HIR_ACCOUNT_KIND_IMAP)
    {
      /* A good sync is the engine's sign that the account is back. */
      sync_now (alice);
    }
  else
    {
      /* "Retry now" from the UI, without waiting out the backoff. */
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      hir_outbox_retry_async (outbox_of (alice), id, NULL, hir_test_async_cb, &result);
      g_assert_true (hir_outbox_retry_finish (outbox_of (alice), hir_test_async_wait (&result),
                                              &error));
      g_assert_no_error (error);
    }
  wait_state (alice, id, HIR_OUTGOING_STATE_SENT);
  arrived = wait_for_message (bob, HIR_FOLDER_ROLE_INBOX, hir_outgoing_get_message_id (outgoing));
}

static void
test_offline_smtp (void)
{
  offline_and_back (HIR_ACCOUNT_KIND_IMAP);
}

/* Crash safety -------------------------------------------------------------------------
 *
 * The sending engine runs in a child process: this very executable, started with
 * --outbox-sender. HIR_OUTBOX_CRASH_AFTER names a step marker; the child dies (_exit,
 * no cleanup, like a kill -9) right after that marker is committed. A second child on
 * the same profile resumes. The recipient must then have exactly one copy, and the
 * sender's Sent exactly one. */

static GBytes *
fixed_bytes (gsize  size,
             guint  seed)
{
  guint8 *data = g_malloc (size);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand) & 0xff;
  g_rand_free (rand);
  return g_bytes_new_take (data, size);
}

static void
sender_step_cb (gint64      id,
                const char *step,
                gpointer    user_data)
{
  const char *crash_after = user_data;
  static guint seen;
  g_autofree char *name = g_strdup (crash_after);
  char *colon = strchr (name, ':');
  guint nth = 1;

  /* "uploading:2": the second time that marker is written (JMAP writes it again with
   * the id of the copy it made in Drafts). */
  if (colon != NULL)
    {
      *colon = '\0';
      nth = atoi (colon + 1);
    }
  if (g_strcmp0 (step, name) == 0 && ++seen == nth)
    {
      g_printerr ("outbox-sender: dying after \"%s\"\n", step);
      _exit (137);
    }
}

/* --outbox-sender PROFILE queue TO SUBJECT | --outbox-sender PROFILE resume ID
 * Prints "ID MESSAGE-ID" after queueing; exits 0 once the message is SENT. */
static int
outbox_sender_main (int   argc,
                    char *argv[])
{
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(HirAccount) account = NULL;
  const char *crash_after = g_getenv ("HIR_OUTBOX_CRASH_AFTER");
  HirOutbox *outbox;
  HirOutgoingState state = HIR_OUTGOING_STATE_QUEUED;
  gint64 id;

  if (argc < 5)
    return 64;
  engine = hir_test_engine_new_in (argv[2]);
  outbox = hir_engine_get_outbox (engine);
  if (crash_after != NULL)
    hir_outbox_set_step_hook (outbox, sender_step_cb, (gpointer) crash_after);
  account = g_list_model_get_item (hir_engine_get_accounts (engine), 0);
  hir_engine_start (engine);

  if (g_str_equal (argv[3], "queue") && argc >= 6)
    {
      g_autoptr(HirOutgoing) outgoing = hir_outgoing_new (account);
      g_autoptr(GBytes) a = fixed_bytes (120 * 1024, 1);
      g_autoptr(GBytes) b = fixed_bytes (3000, 2);
      g_autoptr(HirOutgoingAttachment) att_a = hir_outgoing_attachment_new ("one.bin", NULL, a);
      g_autoptr(HirOutgoingAttachment) att_b = hir_outgoing_attachment_new ("two.bin", NULL, b);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      hir_outgoing_set_to (outgoing, argv[4]);
      hir_outgoing_set_subject (outgoing, argv[5]);
      hir_outgoing_set_text (outgoing, "Exactly once, please.\n");
      hir_outgoing_add_attachment (outgoing, att_a);
      hir_outgoing_add_attachment (outgoing, att_b);
      /* The id and Message-ID go out before queueing finishes: the hook may kill us
       * inside the queue call, and the parent needs them to resume and to count. */
      g_print ("%s\n", hir_outgoing_get_message_id (outgoing));
      fflush (stdout);
      hir_outbox_queue_async (outbox, outgoing, 0, NULL, hir_test_async_cb, &result);
      id = hir_outbox_queue_finish (outbox, hir_test_async_wait (&result), &error);
      if (id <= 0)
        {
          g_printerr ("outbox-sender: %s\n", error->message);
          return 1;
        }
    }
  else if (g_str_equal (argv[3], "resume"))
    id = g_ascii_strtoll (argv[4], NULL, 10);
  else
    return 64;

  /* The queue loads asynchronously after start: wait until the message is known, then
   * until it is done. */
  for (guint i = 0; i < 600; i++)
    {
      if (hir_outbox_get_state (outbox, id, &state, NULL) &&
          (state == HIR_OUTGOING_STATE_SENT || state == HIR_OUTGOING_STATE_FAILED))
        break;
      pause_ms (100);
    }
  hir_engine_stop (engine);
  return state == HIR_OUTGOING_STATE_SENT ? 0 : 2;
}

static int
run_sender (const char  *profile,
            const char  *crash_after,
            const char **args,
            char       **out)
{
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, self_exe);
  g_ptr_array_add (argv, (gpointer) "--outbox-sender");
  g_ptr_array_add (argv, (gpointer) profile);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  envp = g_environ_unsetenv (envp, "HIR_OUTBOX_CRASH_AFTER");
  if (crash_after != NULL)
    envp = g_environ_setenv (envp, "HIR_OUTBOX_CRASH_AFTER", crash_after, TRUE);
  envp = g_environ_setenv (envp, "G_MESSAGES_DEBUG", "", TRUE);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, out, &err,
                &status, &error);
  g_assert_no_error (error);
  g_test_message ("sender (crash after %s): status %d, stderr: %s", crash_after, status, err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* Waits for the message in @role, then keeps looking a little: a second copy would
 * arrive right behind the first. */
static guint
count_copies (User          *user,
              HirFolderRole  role,
              const char    *message_id)
{
  g_autoptr(HirMessage) first = wait_for_message (user, role, message_id);
  guint count = 0;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GPtrArray) found = NULL;

      pause_ms (200);
      found = find_messages (user, role, message_id);
      count = found->len;
    }
  return count;
}

static void
crash_at (HirAccountKind  kind,
          const char     *step)
{
  g_autoptr(User) alice = user_new ("outbox-crash", kind);
  g_autoptr(User) bob = user_new ("outbox-crash-to", kind);
  g_autofree char *profile = g_strdup (hir_test_engine_get_profile (alice->engine));
  g_autofree char *subject = g_strdup_printf ("Crash after %s", step);
  g_autofree char *out = NULL;
  g_autofree char *id_text = NULL;
  g_autofree char *message_id = NULL;
  const char *queue_args[] = { "queue", bob->address, subject, NULL };
  const char *resume_args[] = { "resume", NULL, NULL };

  /* The profile (accounts.conf, the store) is the child's alone from now on. */
  hir_engine_stop (alice->engine);
  g_clear_object (&alice->engine);

  g_assert_cmpint (run_sender (profile, step, queue_args, &out), ==, 137);
  message_id = g_strstrip (g_strdup (out));
  g_assert_true (g_str_has_prefix (message_id, "<"));
  /* A fresh profile: the message is the first row. */
  id_text = g_strdup ("1");
  resume_args[1] = id_text;
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_sender (profile, NULL, resume_args, &out), ==, 0);

  g_assert_cmpuint (count_copies (bob, HIR_FOLDER_ROLE_INBOX, message_id), ==, 1);
  alice->engine = hir_test_engine_new_in (profile);
  g_assert_cmpuint (count_copies (alice, HIR_FOLDER_ROLE_SENT, message_id), ==, 1);
}

static void
test_crash_smtp (void)
{
  static const char * const steps[] = { "queued", "uploading", "submitted", "filing" };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    crash_at (HIR_ACCOUNT_KIND_IMAP, steps[i]);
}

static void
test_crash_jmap (void)
{
  static const char * const steps[] = { "queued", "uploading", "uploading:2", "submitted",
                                        "filing" };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    crash_at (HIR_ACCOUNT_KIND_JMAP, steps[i]);
}

/* Over the server's advertised limit (Cyrus: 10 MiB of attachments per message): FAILED
 * at once with the limit in the message, nothing uploaded. */
static void
test_too_big_jmap (void)
{
  g_autoptr(User) alice = user_new ("outbox-big", HIR_ACCOUNT_KIND_JMAP);
  g_autoptr(HirOutgoing) outgoing = make_message (alice, "bob@example.test", "Too big");
  g_autoptr(GBytes) data = random_bytes (10 * 1024 * 1024 + 1);
  g_autoptr(HirOutgoingAttachment) attachment = hir_outgoing_attachment_new ("big.bin", NULL, data);
  const char *message = NULL;
  HirOutgoingState state;
  gint64 id;

  hir_outgoing_add_attachment (outgoing, attachment);
  id = queue (alice, outgoing, 0);
  wait_state (alice, id, HIR_OUTGOING_STATE_FAILED);
  g_assert_true (hir_outbox_get_state (outbox_of (alice), id, &state, &message));
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, "10485760"));
}

/* JMAP: the server is away (a closed port for the session URL), then back. */
static void
test_offline_jmap (void)
{
  offline_and_back (HIR_ACCOUNT_KIND_JMAP);
}

int
main (int   argc,
      char *argv[])
{
  if (argc > 1 && g_str_equal (argv[1], "--outbox-sender"))
    return outbox_sender_main (argc, argv);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/outbox/draft-restart", test_draft_restart);
  g_test_add_func ("/outbox/send-jmap", test_send_jmap);
  g_test_add_func ("/outbox/size-limit", test_size_limit);
  g_test_add_func ("/outbox/send-smtp", test_send_smtp);
  g_test_add_func ("/outbox/server-draft-jmap", test_server_draft_jmap);
  g_test_add_func ("/outbox/server-draft-imap", test_server_draft_imap);
  g_test_add_func ("/outbox/undo", test_undo);
  g_test_add_func ("/outbox/rejected-smtp", test_rejected_smtp);
  g_test_add_func ("/outbox/rejected-jmap", test_rejected_jmap);
  g_test_add_func ("/outbox/offline-smtp", test_offline_smtp);
  g_test_add_func ("/outbox/offline-jmap", test_offline_jmap);
  g_test_add_func ("/outbox/too-big-jmap", test_too_big_jmap);
  g_test_add_func ("/outbox/crash-smtp", test_crash_smtp);
  g_test_add_func ("/outbox/crash-jmap", test_crash_jmap);

  return g_test_run ();
}
