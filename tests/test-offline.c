/* test-offline.c: moves, deletes and flag changes, online and queued while offline
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each test runs over JMAP and over IMAP against the real Cyrus. The account reaches the
 * server through a TCP relay (hir_test_relay) that the test takes away to go offline
 * and brings back on the same port; hir-mailctl changes the mailbox behind the client's
 * back and reads what the server really has.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hir-jmap-client.h"
#include "hir-test-util.h"

typedef struct
{
  HirAccountKind kind;
  char *address;
  char *password;
  char *dir;
  HirTestRelay *relay;
  HirEngine *engine;
  HirAccount *account;
} Mailbox;

static gboolean
engine_gone (gpointer data)
{
  return *(HirEngine **) data == NULL;
}

static void
drop_engine (Mailbox *mb)
{
  HirEngine *engine = g_steal_pointer (&mb->engine);

  g_clear_object (&mb->account);
  if (engine == NULL)
    return;
  /* Nothing keeps a stopped engine alive once its owner lets go. */
  hir_engine_stop (engine);
  g_object_add_weak_pointer (G_OBJECT (engine), (gpointer *) &engine);
  g_object_unref (engine);
  g_assert_true (hir_test_wait_until (engine_gone, &engine, 10000));
}

static void
mailbox_free (Mailbox *mb)
{
  drop_engine (mb);
  g_clear_pointer (&mb->relay, hir_test_relay_free);
  g_free (mb->address);
  g_free (mb->password);
  g_free (mb->dir);
  g_free (mb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Mailbox, mailbox_free)

#define mailctl(mb, ...) hir_test_mailctl ((mb)->address, (mb)->password, __VA_ARGS__)

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
new_account (Mailbox *mb)
{
  g_autofree char *pw_path = g_build_filename (mb->dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);
  g_autoptr(GError) error = NULL;
  HirAccount *account = hir_account_new (mb->kind, mb->address);
  guint16 port = hir_test_relay_get_port (mb->relay);

  /* A password command keeps the test off the keyring. */
  g_file_set_contents_full (pw_path, mb->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  hir_account_set_password_command (account, command);
  hir_account_set_display_name (account, "Test User");
  if (mb->kind == HIR_ACCOUNT_KIND_JMAP)
    {
      g_autofree char *url = g_strdup_printf ("http://%s:%u/.well-known/jmap",
                                              hir_test_server_get ("HIR_TEST_HOST"), port);

      hir_account_set_jmap_url (account, url);
    }
  else
    {
      g_autofree char *pin = pinned_fingerprint ();

      hir_account_set_imap_host (account, hir_test_server_get ("HIR_TEST_HOST"));
      hir_account_set_imap_port (account, port);
      hir_account_set_imap_security (account, HIR_SECURITY_STARTTLS);
      hir_account_set_trusted_certificate (account, pin);
    }
  return account;
}

/* A user, a relay to the server, an engine with the account, first sync done. */
static Mailbox *
mailbox_new (HirAccountKind  kind,
             const char     *prefix)
{
  Mailbox *mb = g_new0 (Mailbox, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *port_key = kind == HIR_ACCOUNT_KIND_JMAP ? "HIR_TEST_HTTP_PORT"
                                                        : "HIR_TEST_IMAP_PORT";

  mb->kind = kind;
  hir_test_new_user (prefix, &mb->address, &mb->password);
  mb->dir = hir_test_make_tmpdir (prefix);
  mb->relay = hir_test_relay_new (atoi (hir_test_server_get (port_key)));
  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb);
  hir_engine_add_account_async (mb->engine, mb->account, mb->password, NULL,
                                hir_test_async_cb, &result);
  hir_engine_add_account_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return mb;
}

static gboolean
try_sync (Mailbox  *mb,
          GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hir_engine_sync_account_async (mb->engine, mb->account, NULL, hir_test_async_cb, &result);
  return hir_engine_sync_account_finish (mb->engine, hir_test_async_wait (&result), error);
}

static void
sync_now (Mailbox *mb)
{
  g_autoptr(GError) error = NULL;

  try_sync (mb, &error);
  g_assert_no_error (error);
}

static char *
simple_message (const char *subject)
{
  static guint n;

  n++;
  return g_strdup_printf ("From: Carol Example <carol@example.test>\n"
                          "To: Alice <alice@example.test>\n"
                          "Subject: %s\n"
                          "Date: Tue, 03 Nov 2026 10:%02u:00 +0100\n"
                          "Message-ID: <offline-%u-%u@example.test>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n"
                          "\n"
                          "%s\n", subject, n % 60, n, g_random_int (), subject);
}

/* Appends messages with these subjects to the INBOX (NULL-terminated), then syncs. */
static void
seed (Mailbox    *mb,
      const char *subject,
      ...)
{
  va_list args;

  va_start (args, subject);
  for (const char *s = subject; s != NULL; s = va_arg (args, const char *))
    {
      g_autofree char *eml = simple_message (s);

      g_free (hir_test_append (mb->address, mb->password, "INBOX", eml, NULL));
    }
  va_end (args);
  sync_now (mb);
}

static HirFolder *
find_folder (Mailbox       *mb,
             HirFolderRole  role,
             const char    *name)
{
  HirStore *store = hir_engine_get_store (mb->engine);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  hir_store_list_folders_async (store, hir_account_get_id (mb->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < folders->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (folders, i);

      if (name != NULL ? g_strcmp0 (hir_folder_get_name (folder), name) == 0
                       : hir_folder_get_role (folder) == role)
        return g_object_ref (folder);
    }
  return NULL;
}

/* The store's messages of a folder (by role). */
static GPtrArray *
load_messages (Mailbox       *mb,
               HirFolderRole  role)
{
  HirStore *store = hir_engine_get_store (mb->engine);
  g_autoptr(HirFolder) folder = find_folder (mb, role, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  g_assert_nonnull (folder);
  hir_store_load_messages_async (store, hir_folder_get_id (folder), 0, 1000, NULL,
                                 hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return messages;
}

static HirMessage *
find_message (Mailbox       *mb,
              HirFolderRole  role,
              const char    *subject)
{
  g_autoptr(GPtrArray) messages = load_messages (mb, role);

  for (guint i = 0; i < messages->len; i++)
    if (g_strcmp0 (hir_message_get_subject (g_ptr_array_index (messages, i)), subject) == 0)
      return g_object_ref (g_ptr_array_index (messages, i));
  return NULL;
}

static gboolean
store_has (Mailbox       *mb,
           HirFolderRole  role,
           const char    *subject)
{
  g_autoptr(HirMessage) message = find_message (mb, role, subject);

  return message != NULL;
}

/* The server's line for @subject in @folder ("UID\t(FLAGS)\tSubject"), or NULL. */
static char *
server_line (Mailbox    *mb,
             const char *folder,
             const char *subject)
{
  g_autofree char *out = mailctl (mb, "list", folder, NULL);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *tab = strrchr (lines[i], '\t');

      if (tab != NULL && g_str_equal (tab + 1, subject))
        return g_strdup (lines[i]);
    }
  return NULL;
}

static gboolean
server_has (Mailbox    *mb,
            const char *folder,
            const char *subject)
{
  g_autofree char *line = server_line (mb, folder, subject);

  return line != NULL;
}

static char *
server_uid (Mailbox    *mb,
            const char *folder,
            const char *subject)
{
  g_autofree char *line = server_line (mb, folder, subject);

  g_assert_nonnull (line);
  return g_strndup (line, strcspn (line, "\t"));
}

typedef enum
{
  DO_MOVE,
  DO_DELETE,
  DO_ARCHIVE,
  DO_FLAGS,
} Action;

static gboolean
run_action (Mailbox          *mb,
            Action            action,
            HirFolderRole     role,
            const char       *subject,
            HirFolder        *destination,
            HirMessageFlags   flags,
            GError          **error)
{
  g_autoptr(HirMessage) message = find_message (mb, role, subject);
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_nonnull (message);
  switch (action)
    {
    case DO_MOVE:
      hir_engine_move_async (mb->engine, message, destination, NULL, hir_test_async_cb,
                             &result);
      return hir_engine_move_finish (mb->engine, hir_test_async_wait (&result), error);
    case DO_DELETE:
      hir_engine_delete_async (mb->engine, message, NULL, hir_test_async_cb, &result);
      return hir_engine_delete_finish (mb->engine, hir_test_async_wait (&result), error);
    case DO_ARCHIVE:
      hir_engine_archive_async (mb->engine, message, NULL, hir_test_async_cb, &result);
      return hir_engine_archive_finish (mb->engine, hir_test_async_wait (&result), error);
    case DO_FLAGS:
    default:
      hir_engine_set_flags_async (mb->engine, message, flags, NULL, hir_test_async_cb, &result);
      return hir_engine_set_flags_finish (mb->engine, hir_test_async_wait (&result), error);
    }
}

static void
act (Mailbox         *mb,
     Action           action,
     HirFolderRole    role,
     const char      *subject,
     HirFolder       *destination,
     HirMessageFlags  flags)
{
  g_autoptr(GError) error = NULL;

  run_action (mb, action, role, subject, destination, flags, &error);
  g_assert_no_error (error);
}

/* Online: every operation reaches the server. */
static void
test_online (gconstpointer data)
{
  g_autoptr(Mailbox) mb = mailbox_new (GPOINTER_TO_INT (data), "offline-online");
  g_autoptr(HirFolder) junk = NULL;

  seed (mb, "Moved", "Deleted", "Archived", NULL);
  junk = find_folder (mb, HIR_FOLDER_ROLE_JUNK, NULL);
  g_assert_nonnull (junk);

  act (mb, DO_MOVE, HIR_FOLDER_ROLE_INBOX, "Moved", junk, 0);
  /* The store at once. */
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Moved"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Moved"));
  g_assert_true (server_has (mb, "Junk", "Moved"));
  g_assert_false (server_has (mb, "INBOX", "Moved"));

  act (mb, DO_DELETE, HIR_FOLDER_ROLE_INBOX, "Deleted", NULL, 0);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Deleted"));
  g_assert_true (server_has (mb, "Trash", "Deleted"));
  g_assert_false (server_has (mb, "INBOX", "Deleted"));

  act (mb, DO_ARCHIVE, HIR_FOLDER_ROLE_INBOX, "Archived", NULL, 0);
  g_assert_true (server_has (mb, "Archive", "Archived"));

  /* A delete in Trash is for good. */
  sync_now (mb);
  act (mb, DO_DELETE, HIR_FOLDER_ROLE_TRASH, "Deleted", NULL, 0);
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Deleted"));
  g_assert_false (server_has (mb, "Trash", "Deleted"));

  sync_now (mb);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Moved"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_ARCHIVE, "Archived"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Moved"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Deleted"));
}

/* Offline: flags, a move and a delete show at once, wait, and reach the server in order
 * when it is back; the sync after does not bring anything back. */
static void
test_queue (gconstpointer data)
{
  g_autoptr(Mailbox) mb = mailbox_new (GPOINTER_TO_INT (data), "offline-queue");
  g_autoptr(HirFolder) junk = NULL;
  g_autoptr(HirMessage) read = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  seed (mb, "Read", "Flag then move", "Move then read", "Deleted", "Untouched", NULL);
  junk = find_folder (mb, HIR_FOLDER_ROLE_JUNK, NULL);
  hir_test_relay_down (mb->relay);

  act (mb, DO_FLAGS, HIR_FOLDER_ROLE_INBOX, "Read", NULL, HIR_MESSAGE_FLAG_SEEN);
  act (mb, DO_FLAGS, HIR_FOLDER_ROLE_INBOX, "Flag then move", NULL, HIR_MESSAGE_FLAG_FLAGGED);
  act (mb, DO_MOVE, HIR_FOLDER_ROLE_INBOX, "Flag then move", junk, 0);
  act (mb, DO_DELETE, HIR_FOLDER_ROLE_INBOX, "Deleted", NULL, 0);
  act (mb, DO_MOVE, HIR_FOLDER_ROLE_INBOX, "Move then read", junk, 0);
  act (mb, DO_FLAGS, HIR_FOLDER_ROLE_JUNK, "Move then read", NULL, HIR_MESSAGE_FLAG_SEEN);

  /* Shown at once, not undone. */
  read = find_message (mb, HIR_FOLDER_ROLE_INBOX, "Read");
  g_assert_cmpint (hir_message_get_flags (read), ==, HIR_MESSAGE_FLAG_SEEN);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Flag then move"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Flag then move"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Deleted"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Deleted"));

  /* A sync while offline fails and leaves them alone. */
  g_assert_false (try_sync (mb, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Flag then move"));
  g_assert_true (server_has (mb, "INBOX", "Flag then move"));

  hir_test_relay_up (mb->relay);
  sync_now (mb);

  line = server_line (mb, "INBOX", "Read");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "\\Seen"));
  g_clear_pointer (&line, g_free);
  /* In order: flagged first, then moved (the flag went along). */
  line = server_line (mb, "Junk", "Flag then move");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "\\Flagged"));
  g_assert_false (server_has (mb, "INBOX", "Flag then move"));
  g_assert_true (server_has (mb, "Trash", "Deleted"));
  g_assert_false (server_has (mb, "INBOX", "Deleted"));
  /* Read after it moved: the flag reaches the moved message (a new UID over IMAP). */
  g_clear_pointer (&line, g_free);
  line = server_line (mb, "Junk", "Move then read");
  g_assert_nonnull (line);
  g_assert_nonnull (strstr (line, "\\Seen"));

  /* Nothing comes back. */
  sync_now (mb);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Flag then move"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Flag then move"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Deleted"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Deleted"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Untouched"));
  g_clear_object (&read);
  read = find_message (mb, HIR_FOLDER_ROLE_INBOX, "Read");
  g_assert_cmpint (hir_message_get_flags (read), ==, HIR_MESSAGE_FLAG_SEEN);
}

/* Conflicts: the message is gone on the server, or the destination folder is: no crash,
 * nothing lost, the message stays where the server has it. */
static void
test_conflict (gconstpointer data)
{
  g_autoptr(Mailbox) mb = mailbox_new (GPOINTER_TO_INT (data), "offline-conflict");
  g_autoptr(HirFolder) junk = NULL;
  g_autoptr(HirFolder) projects = NULL;
  g_autofree char *uid = NULL;

  g_free (mailctl (mb, "create", "Projects", NULL));
  seed (mb, "Expunged there", "Folder gone", "Bystander", NULL);
  junk = find_folder (mb, HIR_FOLDER_ROLE_JUNK, NULL);
  projects = find_folder (mb, HIR_FOLDER_ROLE_NONE, "Projects");
  g_assert_nonnull (projects);

  hir_test_relay_down (mb->relay);
  act (mb, DO_MOVE, HIR_FOLDER_ROLE_INBOX, "Expunged there", junk, 0);
  act (mb, DO_MOVE, HIR_FOLDER_ROLE_INBOX, "Folder gone", projects, 0);
  uid = server_uid (mb, "INBOX", "Expunged there");
  g_free (mailctl (mb, "expunge", "INBOX", uid, NULL));
  g_free (mailctl (mb, "delete", "Projects", NULL));

  hir_test_relay_up (mb->relay);
  sync_now (mb);
  sync_now (mb);

  g_assert_false (server_has (mb, "Junk", "Expunged there"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_JUNK, "Expunged there"));
  /* Never destroyed: where the server has it. */
  g_assert_true (server_has (mb, "INBOX", "Folder gone"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Folder gone"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Bystander"));
  g_assert_true (server_has (mb, "INBOX", "Bystander"));
}

/* A delete in Trash waits offline while the server moves the message out of Trash: it
 * is kept, and shows where the server has it. */
static void
test_conflict_trash (gconstpointer data)
{
  g_autoptr(Mailbox) mb = mailbox_new (GPOINTER_TO_INT (data), "offline-trash");
  g_autofree char *uid = NULL;

  seed (mb, "Rescued", NULL);
  act (mb, DO_DELETE, HIR_FOLDER_ROLE_INBOX, "Rescued", NULL, 0);
  sync_now (mb);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Rescued"));

  hir_test_relay_down (mb->relay);
  act (mb, DO_DELETE, HIR_FOLDER_ROLE_TRASH, "Rescued", NULL, 0);
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_TRASH, "Rescued"));
  uid = server_uid (mb, "Trash", "Rescued");
  g_free (mailctl (mb, "move", "Trash", uid, "INBOX", NULL));

  hir_test_relay_up (mb->relay);
  sync_now (mb);
  sync_now (mb);
  g_assert_true (server_has (mb, "INBOX", "Rescued"));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Rescued"));
}

/* Queued operations survive a restart. */
static void
test_restart (gconstpointer data)
{
  g_autoptr(Mailbox) mb = mailbox_new (GPOINTER_TO_INT (data), "offline-restart");
  g_autofree char *profile = NULL;

  seed (mb, "Archived before restart", "Read before restart", NULL);
  hir_test_relay_down (mb->relay);
  act (mb, DO_ARCHIVE, HIR_FOLDER_ROLE_INBOX, "Archived before restart", NULL, 0);
  act (mb, DO_FLAGS, HIR_FOLDER_ROLE_INBOX, "Read before restart", NULL, HIR_MESSAGE_FLAG_SEEN);

  profile = g_strdup (hir_test_engine_get_profile (mb->engine));
  drop_engine (mb);
  mb->engine = hir_test_engine_new_in (profile);
  mb->account = g_object_ref (hir_engine_find_account (mb->engine, mb->address));
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_ARCHIVE, "Archived before restart"));

  hir_test_relay_up (mb->relay);
  sync_now (mb);
  g_assert_true (server_has (mb, "Archive", "Archived before restart"));
  g_assert_false (server_has (mb, "INBOX", "Archived before restart"));
  {
    g_autofree char *line = server_line (mb, "INBOX", "Read before restart");

    g_assert_nonnull (line);
    g_assert_nonnull (strstr (line, "\\Seen"));
  }
  sync_now (mb);
  g_assert_true (store_has (mb, HIR_FOLDER_ROLE_ARCHIVE, "Archived before restart"));
  g_assert_false (store_has (mb, HIR_FOLDER_ROLE_INBOX, "Archived before restart"));
}

int
main (int   argc,
      char *argv[])
{
  const struct
  {
    const char *name;
    HirAccountKind kind;
  } kinds[] = {
    { "jmap", HIR_ACCOUNT_KIND_JMAP },
    { "imap", HIR_ACCOUNT_KIND_IMAP },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      gconstpointer kind = GINT_TO_POINTER (kinds[i].kind);
      g_autofree char *online = g_strdup_printf ("/engine/offline/%s/online", kinds[i].name);
      g_autofree char *queue = g_strdup_printf ("/engine/offline/%s/queue", kinds[i].name);
      g_autofree char *conflict = g_strdup_printf ("/engine/offline/%s/conflict",
                                                   kinds[i].name);
      g_autofree char *restart = g_strdup_printf ("/engine/offline/%s/restart", kinds[i].name);
      g_autofree char *trash = g_strdup_printf ("/engine/offline/%s/conflict-trash",
                                                kinds[i].name);

      g_test_add_data_func (online, kind, test_online);
      g_test_add_data_func (queue, kind, test_queue);
      g_test_add_data_func (conflict, kind, test_conflict);
      g_test_add_data_func (trash, kind, test_conflict_trash);
      g_test_add_data_func (restart, kind, test_restart);
    }
  return g_test_run ();
}
