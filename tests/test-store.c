/* test-store.c: the store, its list model, the objects, accounts.conf and secrets
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#define ACCOUNT "alice@example.test"

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */

/* What the store said, in order. */
typedef struct
{
  GPtrArray *folders_changed;   /* char * account ids */
  GArray *messages_changed;     /* gint64 folder ids */
  GPtrArray *updated;           /* HirMessage */
} Signals;

static void
folders_changed_cb (HirStore   *store,
                    const char *account_id,
                    Signals    *signals)
{
  g_ptr_array_add (signals->folders_changed, g_strdup (account_id));
}

static void
messages_changed_cb (HirStore *store,
                     gint64    folder_id,
                     Signals  *signals)
{
  g_array_append_val (signals->messages_changed, folder_id);
}

static void
message_updated_cb (HirStore   *store,
                    HirMessage *message,
                    Signals    *signals)
{
  g_ptr_array_add (signals->updated, g_object_ref (message));
}

static void
signals_init (Signals  *signals,
              HirStore *store)
{
  signals->folders_changed = g_ptr_array_new_with_free_func (g_free);
  signals->messages_changed = g_array_new (FALSE, FALSE, sizeof (gint64));
  signals->updated = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (store, "folders-changed", G_CALLBACK (folders_changed_cb), signals);
  g_signal_connect (store, "messages-changed", G_CALLBACK (messages_changed_cb), signals);
  g_signal_connect (store, "message-updated", G_CALLBACK (message_updated_cb), signals);
}

static void
signals_reset (Signals *signals)
{
  g_ptr_array_set_size (signals->folders_changed, 0);
  g_array_set_size (signals->messages_changed, 0);
  g_ptr_array_set_size (signals->updated, 0);
}

static void
signals_clear (Signals  *signals,
               HirStore *store)
{
  g_signal_handlers_disconnect_by_data (store, signals);
  g_ptr_array_unref (signals->folders_changed);
  g_array_unref (signals->messages_changed);
  g_ptr_array_unref (signals->updated);
}

static gboolean
signals_has_folder (Signals *signals,
                    gint64   folder_id)
{
  for (guint i = 0; i < signals->messages_changed->len; i++)
    if (g_array_index (signals->messages_changed, gint64, i) == folder_id)
      return TRUE;
  return FALSE;
}

static char *
make_db_path (void)
{
  g_autofree char *dir = hir_test_make_tmpdir ("store");

  return g_build_filename (dir, "data", "hirondelle.db", NULL);
}

static HirStore *
open_store (const char *path)
{
  g_autoptr(HirStore) store = hir_store_new (path);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_open_async (store, NULL, hir_test_async_cb, &result);
  hir_store_open_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return g_steal_pointer (&store);
}

static HirStore *
open_new_store (void)
{
  g_autofree char *path = make_db_path ();

  return open_store (path);
}

static gboolean
apply (HirStore         *store,
       HirStoreChanges  *changes,
       GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &result);
  return hir_store_apply_finish (store, hir_test_async_wait (&result), error);
}

static void
apply_ok (HirStore        *store,
          HirStoreChanges *changes)
{
  g_autoptr(GError) error = NULL;

  apply (store, changes, &error);
  g_assert_no_error (error);
}

static GPtrArray *
list_folders (HirStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  hir_store_list_folders_async (store, ACCOUNT, NULL, hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return folders;
}

static HirFolder *
find_folder (HirStore   *store,
             const char *remote_id)
{
  g_autoptr(GPtrArray) folders = list_folders (store);

  for (guint i = 0; i < folders->len; i++)
    if (g_str_equal (hir_folder_get_remote_id (folders->pdata[i]), remote_id))
      return g_object_ref (folders->pdata[i]);
  return NULL;
}

static char *
get_state (HirStore   *store,
           const char *key)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *value;

  hir_store_get_state_async (store, ACCOUNT, key, NULL, hir_test_async_cb, &result);
  value = hir_store_get_state_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return value;
}

static GPtrArray *
load_messages (HirStore *store,
               gint64    folder_id,
               guint     offset,
               guint     limit)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  hir_store_load_messages_async (store, folder_id, offset, limit, NULL,
                                 hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return messages;
}

static HirMessage *
find_message (HirStore   *store,
              const char *remote_id,
              GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hir_store_find_message_async (store, ACCOUNT, remote_id, NULL, hir_test_async_cb, &result);
  return hir_store_find_message_finish (store, hir_test_async_wait (&result), error);
}

static HirMessage *
make_message (const char      *remote_id,
              gint64           date,
              HirMessageFlags  flags)
{
  HirMessage *message = hir_message_new ();
  g_autofree char *subject = g_strdup_printf ("Subject %s", remote_id);

  hir_message_set_account_id (message, ACCOUNT);
  hir_message_set_remote_id (message, remote_id);
  hir_message_set_subject (message, subject);
  hir_message_set_from_name (message, "Bob");
  hir_message_set_from_address (message, "bob@example.test");
  hir_message_set_to (message, "Alice <alice@example.test>");
  hir_message_set_date (message, date);
  hir_message_set_preview (message, "Hello there");
  hir_message_set_flags (message, flags);
  return message;
}

static void
add_message (HirStoreChanges *changes,
             const char      *remote_id,
             gint64           date,
             HirMessageFlags  flags,
             const char      *folder)
{
  g_autoptr(HirMessage) message = make_message (remote_id, date, flags);
  const char *folders[] = { folder, NULL };

  hir_store_changes_upsert_message (changes, message, folders);
}

/* An account with an inbox (m1…m3: m1 seen), an archive (m4) and an empty trash. */
static void
populate (HirStore *store)
{
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(HirFolder) inbox = hir_folder_new (ACCOUNT, "mb-inbox", "Inbox", HIR_FOLDER_ROLE_INBOX);
  g_autoptr(HirFolder) archive = hir_folder_new (ACCOUNT, "mb-archive", "Archive", HIR_FOLDER_ROLE_ARCHIVE);
  g_autoptr(HirFolder) trash = hir_folder_new (ACCOUNT, "mb-trash", "Trash", HIR_FOLDER_ROLE_TRASH);
  g_autoptr(HirFolder) lists = hir_folder_new (ACCOUNT, "mb-lists", "lists", HIR_FOLDER_ROLE_NONE);

  hir_store_changes_upsert_folder (changes, lists);
  hir_store_changes_upsert_folder (changes, trash);
  hir_store_changes_upsert_folder (changes, archive);
  hir_store_changes_upsert_folder (changes, inbox);
  add_message (changes, "m1", 1000, HIR_MESSAGE_FLAG_SEEN, "mb-inbox");
  add_message (changes, "m2", 3000, 0, "mb-inbox");
  add_message (changes, "m3", 2000, HIR_MESSAGE_FLAG_FLAGGED, "mb-inbox");
  add_message (changes, "m4", 500, 0, "mb-archive");
  hir_store_changes_set_state (changes, "jmap:Email", "s1");
  apply_ok (store, changes);
}

static void
assert_counts (HirStore   *store,
               const char *remote_id,
               guint       total,
               guint       unread)
{
  g_autoptr(HirFolder) folder = find_folder (store, remote_id);

  g_assert_nonnull (folder);
  g_assert_cmpuint (hir_folder_get_total_count (folder), ==, total);
  g_assert_cmpuint (hir_folder_get_unread_count (folder), ==, unread);
}

/* ------------------------------------------------------------------------------------ */
/* Store                                                                                */

static void
test_store_migrate (void)
{
  g_autofree char *path = make_db_path ();
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  /* From nothing: the directory and the file are made, the schema applied. */
  {
    g_autoptr(HirStore) store = hir_store_new (path);

    hir_store_open_sync (store, NULL, &error);
    g_assert_no_error (error);
    populate (store);
  }

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 3);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);

  /* Paging a folder must be a walk of the membership index, from either end, never a
   * sort of the whole folder (the store's queries, in the same shape). */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *sql = g_strdup_printf (
        "EXPLAIN QUERY PLAN SELECT m.id FROM (SELECT message_id, date FROM message_folders "
        "WHERE folder_id = 1 ORDER BY date %s, message_id %s LIMIT 64 OFFSET 64) mf "
        "JOIN messages m ON m.id = mf.message_id", i ? "ASC" : "DESC", i ? "ASC" : "DESC");
      gboolean uses_index = FALSE;

      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          const char *detail = (const char *) sqlite3_column_text (stmt, 3);

          g_test_message ("plan: %s", detail);
          if (strstr (detail, "COVERING INDEX message_folders_by_date") != NULL)
            uses_index = TRUE;
          g_assert_null (strstr (detail, "TEMP B-TREE"));
        }
      sqlite3_finalize (stmt);
      g_assert_true (uses_index);
    }

  /* A schema newer than this code is refused, not misread. */
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 999", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  {
    g_autoptr(HirStore) store = hir_store_new (path);

    g_assert_false (hir_store_open_sync (store, NULL, &error));
    g_assert_error (error, HIR_ERROR, HIR_ERROR_STORAGE);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
  }

  /* Reopening a current database applies nothing and keeps the data. */
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "PRAGMA user_version = 3", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  {
    g_autoptr(HirStore) store = open_store (path);
    g_autofree char *state = get_state (store, "jmap:Email");

    g_assert_cmpstr (state, ==, "s1");
    assert_counts (store, "mb-inbox", 3, 2);
  }
}

static void
test_store_apply (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirFolder) archive = NULL;
  g_autofree char *state = NULL;
  Signals signals;

  signals_init (&signals, store);
  populate (store);

  /* One folders-changed for the account, one messages-changed per folder touched. */
  g_assert_cmpuint (signals.folders_changed->len, ==, 1);
  g_assert_cmpstr (signals.folders_changed->pdata[0], ==, ACCOUNT);
  g_assert_cmpuint (signals.updated->len, ==, 0);

  /* Roles first in role order, then by name. */
  folders = list_folders (store);
  g_assert_cmpuint (folders->len, ==, 4);
  g_assert_cmpstr (hir_folder_get_remote_id (folders->pdata[0]), ==, "mb-inbox");
  g_assert_cmpstr (hir_folder_get_remote_id (folders->pdata[1]), ==, "mb-archive");
  g_assert_cmpstr (hir_folder_get_remote_id (folders->pdata[2]), ==, "mb-trash");
  g_assert_cmpstr (hir_folder_get_remote_id (folders->pdata[3]), ==, "mb-lists");
  g_assert_cmpstr (hir_folder_get_icon_name (folders->pdata[0]), ==, "mail-unread-symbolic");
  g_assert_cmpstr (hir_folder_get_account_id (folders->pdata[0]), ==, ACCOUNT);
  inbox = g_object_ref (folders->pdata[0]);
  archive = g_object_ref (folders->pdata[1]);
  g_assert_cmpint (hir_folder_get_id (inbox), >, 0);
  g_assert_cmpuint (signals.messages_changed->len, ==, 2);
  g_assert_true (signals_has_folder (&signals, hir_folder_get_id (inbox)));
  g_assert_true (signals_has_folder (&signals, hir_folder_get_id (archive)));

  assert_counts (store, "mb-inbox", 3, 2);
  assert_counts (store, "mb-archive", 1, 1);
  assert_counts (store, "mb-trash", 0, 0);
  state = get_state (store, "jmap:Email");
  g_assert_cmpstr (state, ==, "s1");
  g_clear_pointer (&state, g_free);
  state = get_state (store, "jmap:Mailbox");
  g_assert_null (state);

  /* Newest first; pages are windows of that order. */
  page = load_messages (store, hir_folder_get_id (inbox), 0, 10);
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpstr (hir_message_get_remote_id (page->pdata[0]), ==, "m2");
  g_assert_cmpstr (hir_message_get_remote_id (page->pdata[1]), ==, "m3");
  g_assert_cmpstr (hir_message_get_remote_id (page->pdata[2]), ==, "m1");
  g_assert_true (hir_message_get_loaded (page->pdata[0]));
  g_assert_cmpstr (hir_message_get_subject (page->pdata[0]), ==, "Subject m2");
  g_assert_cmpstr (hir_message_get_sender_label (page->pdata[0]), ==, "Bob");
  g_assert_cmpstr (hir_message_get_account_id (page->pdata[0]), ==, ACCOUNT);
  g_assert_true (hir_message_get_flagged (page->pdata[1]));
  g_assert_true (hir_message_get_seen (page->pdata[2]));
  g_clear_pointer (&page, g_ptr_array_unref);
  page = load_messages (store, hir_folder_get_id (inbox), 1, 1);
  g_assert_cmpuint (page->len, ==, 1);
  g_assert_cmpstr (hir_message_get_remote_id (page->pdata[0]), ==, "m3");
  g_clear_pointer (&page, g_ptr_array_unref);

  /* Applying the same folders again changes nothing and says nothing. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    hir_store_changes_upsert_folder (changes, inbox);
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_cmpuint (signals.folders_changed->len, ==, 0);
    g_assert_cmpuint (signals.messages_changed->len, ==, 0);
  }

  /* A flags-only update: message-updated, no messages-changed; the unread count follows. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    hir_store_changes_update_message (changes, "m2", HIR_MESSAGE_FLAG_SEEN, NULL);
    hir_store_changes_update_message (changes, "never-seen", HIR_MESSAGE_FLAG_SEEN, NULL);
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_cmpuint (signals.messages_changed->len, ==, 0);
    g_assert_cmpuint (signals.updated->len, ==, 1);
    g_assert_cmpstr (hir_message_get_remote_id (signals.updated->pdata[0]), ==, "m2");
    g_assert_true (hir_message_get_seen (signals.updated->pdata[0]));
    g_assert_cmpuint (signals.folders_changed->len, ==, 1);
    assert_counts (store, "mb-inbox", 3, 1);
  }

  /* An upsert that changes the subject only is an in-place update too. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    g_autoptr(HirMessage) message = make_message ("m3", 2000, HIR_MESSAGE_FLAG_FLAGGED);
    const char *in_inbox[] = { "mb-inbox", NULL };

    hir_message_set_subject (message, "Edited");
    hir_store_changes_upsert_message (changes, message, in_inbox);
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_cmpuint (signals.messages_changed->len, ==, 0);
    g_assert_cmpuint (signals.updated->len, ==, 1);
    g_assert_cmpstr (hir_message_get_subject (signals.updated->pdata[0]), ==, "Edited");
  }

  /* A move (membership update): both folders change, counts follow. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    const char *to_archive[] = { "mb-archive", NULL };

    hir_store_changes_update_message (changes, "m3", HIR_MESSAGE_FLAG_FLAGGED, to_archive);
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_true (signals_has_folder (&signals, hir_folder_get_id (inbox)));
    g_assert_true (signals_has_folder (&signals, hir_folder_get_id (archive)));
    g_assert_cmpuint (signals.folders_changed->len, ==, 1);
    assert_counts (store, "mb-inbox", 2, 0);
    assert_counts (store, "mb-archive", 2, 2);
  }

  /* In two folders at once (JMAP allows it), then back to one by a full upsert. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    const char *both[] = { "mb-archive", "mb-lists", NULL };

    hir_store_changes_update_message (changes, "m4", 0, both);
    apply_ok (store, changes);
    assert_counts (store, "mb-lists", 1, 1);
    assert_counts (store, "mb-archive", 2, 2);
  }
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    add_message (changes, "m4", 500, HIR_MESSAGE_FLAG_SEEN, "mb-lists");
    apply_ok (store, changes);
    assert_counts (store, "mb-lists", 1, 0);
    assert_counts (store, "mb-archive", 1, 1);
  }

  /* An upsert without folders keeps the membership; a new one without is not stored. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    g_autoptr(HirMessage) known = make_message ("m4", 500, HIR_MESSAGE_FLAG_SEEN);
    g_autoptr(HirMessage) unknown = make_message ("m-nowhere", 500, 0);
    g_autoptr(HirMessage) found = NULL;
    g_autoptr(GError) error = NULL;

    hir_message_set_subject (known, "Still in lists");
    hir_store_changes_upsert_message (changes, known, NULL);
    hir_store_changes_upsert_message (changes, unknown, NULL);
    signals_reset (&signals);
    apply_ok (store, changes);
    assert_counts (store, "mb-lists", 1, 0);
    g_assert_cmpuint (signals.updated->len, ==, 1);
    found = find_message (store, "m-nowhere", &error);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
    g_assert_null (found);
  }

  /* A new date reorders: messages-changed, not message-updated. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    add_message (changes, "m1", 9000, HIR_MESSAGE_FLAG_SEEN, "mb-inbox");
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_true (signals_has_folder (&signals, hir_folder_get_id (inbox)));
    g_assert_cmpuint (signals.updated->len, ==, 0);
    page = load_messages (store, hir_folder_get_id (inbox), 0, 10);
    g_assert_cmpstr (hir_message_get_remote_id (page->pdata[0]), ==, "m1");
    g_clear_pointer (&page, g_ptr_array_unref);
  }

  /* Removal, and a message moved out of every folder, both leave the store. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    const char *nowhere[] = { NULL };
    g_autoptr(HirMessage) gone = NULL;
    g_autoptr(GError) error = NULL;

    hir_store_changes_remove_message (changes, "m1");
    hir_store_changes_remove_message (changes, "not-stored");
    hir_store_changes_update_message (changes, "m2", HIR_MESSAGE_FLAG_SEEN, nowhere);
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_true (signals_has_folder (&signals, hir_folder_get_id (inbox)));
    assert_counts (store, "mb-inbox", 0, 0);
    gone = find_message (store, "m2", &error);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
    g_assert_null (gone);
  }

  /* A folder removed on the server takes its only-there messages with it. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
    g_autoptr(HirMessage) gone = NULL;
    g_autoptr(HirMessage) kept = NULL;
    g_autoptr(GError) error = NULL;
    const char *both[] = { "mb-archive", "mb-trash", NULL };

    hir_store_changes_update_message (changes, "m3", HIR_MESSAGE_FLAG_FLAGGED, both);
    apply_ok (store, changes);
    g_clear_pointer (&changes, hir_store_changes_unref);

    changes = hir_store_changes_new (ACCOUNT);
    hir_store_changes_remove_folder (changes, "mb-archive");
    signals_reset (&signals);
    apply_ok (store, changes);
    g_assert_true (signals_has_folder (&signals, hir_folder_get_id (archive)));
    g_assert_cmpuint (signals.folders_changed->len, ==, 1);
    g_assert_null (find_folder (store, "mb-archive"));
    assert_counts (store, "mb-trash", 1, 1);
    kept = find_message (store, "m3", &error);
    g_assert_no_error (error);
    g_assert_nonnull (kept);
  }

  signals_clear (&signals, store);
}

static void
test_store_apply_atomic (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessage) message = NULL;
  g_autofree char *state = NULL;
  Signals signals;

  populate (store);
  signals_init (&signals, store);

  /* A step that cannot be stored whole is not stored at all: a message in a folder the
   * store does not know fails the batch, and the state string stays where it was. */
  add_message (changes, "m5", 4000, 0, "mb-inbox");
  hir_store_changes_update_message (changes, "m2", HIR_MESSAGE_FLAG_SEEN, NULL);
  add_message (changes, "m6", 4000, 0, "mb-nonexistent");
  hir_store_changes_set_state (changes, "jmap:Email", "s2");
  g_assert_false (apply (store, changes, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  state = get_state (store, "jmap:Email");
  g_assert_cmpstr (state, ==, "s1");
  message = find_message (store, "m5", &error);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  message = find_message (store, "m2", &error);
  g_assert_no_error (error);
  g_assert_false (hir_message_get_seen (message));
  assert_counts (store, "mb-inbox", 3, 2);
  g_assert_cmpuint (signals.folders_changed->len, ==, 0);
  g_assert_cmpuint (signals.messages_changed->len, ==, 0);
  g_assert_cmpuint (signals.updated->len, ==, 0);

  /* The store goes on working after a failed step, and a NULL value clears a key. */
  g_clear_pointer (&changes, hir_store_changes_unref);
  changes = hir_store_changes_new (ACCOUNT);
  g_assert_true (hir_store_changes_is_empty (changes));
  hir_store_changes_set_state (changes, "jmap:Email", "s3");
  hir_store_changes_set_state (changes, "jmap:Email", NULL);
  g_assert_false (hir_store_changes_is_empty (changes));
  apply_ok (store, changes);
  g_clear_pointer (&state, g_free);
  state = get_state (store, "jmap:Email");
  g_assert_null (state);

  signals_clear (&signals, store);
}

/* The database file made read-only underneath an open store: the write fails with a
 * storage error that says so, the store does not crash, and nothing is half-written. */
static void
test_store_readonly (void)
{
  g_autofree char *path = make_db_path ();
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(GError) error = NULL;
  g_autoptr(HirStore) store = NULL;
  g_autofree char *state = NULL;

  if (getuid () == 0)
    {
      g_test_skip ("root ignores file permissions");
      return;
    }

  store = open_store (path);
  populate (store);
  g_clear_object (&store);

  g_assert_cmpint (g_chmod (path, 0400), ==, 0);
  store = open_store (path);
  add_message (changes, "m9", 9000, 0, "mb-inbox");
  hir_store_changes_set_state (changes, "jmap:Email", "s9");
  g_assert_false (apply (store, changes, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_STORAGE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "readonly"));

  state = get_state (store, "jmap:Email");
  g_assert_cmpstr (state, ==, "s1");
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
}

/* A full disk (here: a file size limit just above the database) fails the write with a
 * storage error that says so, leaves the last good state, and crashes nothing. In a
 * subprocess, because the limit cannot be lifted again. */
static void
test_store_disk_full (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = make_db_path ();
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_autoptr(HirStore) store = open_store (path);
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
      g_autoptr(GError) error = NULL;
      g_autofree char *state = NULL;
      g_autofree char *preview = g_strnfill (2000, 'x');
      struct rlimit limit;
      GStatBuf db_stat, wal_stat;

      populate (store);
      g_assert_cmpint (g_stat (path, &db_stat), ==, 0);
      if (g_stat (wal, &wal_stat) != 0)
        wal_stat.st_size = 0;

      for (guint i = 0; i < 2000; i++)
        {
          g_autofree char *remote_id = g_strdup_printf ("big%u", i);
          g_autoptr(HirMessage) message = make_message (remote_id, i, 0);
          const char *folders[] = { "mb-inbox", NULL };

          hir_message_set_preview (message, preview);
          hir_store_changes_upsert_message (changes, message, folders);
        }
      hir_store_changes_set_state (changes, "jmap:Email", "s2");

      /* Writes past the limit fail with EFBIG instead of killing the process. */
      signal (SIGXFSZ, SIG_IGN);
      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      limit.rlim_cur = MAX (db_stat.st_size, wal_stat.st_size) + 64 * 1024;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

      g_assert_false (apply (store, changes, &error));
      g_assert_error (error, HIR_ERROR, HIR_ERROR_STORAGE);
      g_printerr ("%s\n", error->message);
      g_clear_error (&error);

      state = get_state (store, "jmap:Email");
      g_assert_cmpstr (state, ==, "s1");
      assert_counts (store, "mb-inbox", 3, 2);
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*Mail cache*disk*");
}

/* Calls queued back to back run in order on the one worker, each in its own
 * transaction; a cancelled one is skipped without harming the others. */
static void
test_store_queue (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GAsyncResult *results[10] = { NULL, };
  g_autoptr(GAsyncResult) cancelled = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;

  populate (store);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
      g_autofree char *remote_id = g_strdup_printf ("q%u", i);
      g_autofree char *value = g_strdup_printf ("q-state-%u", i);

      add_message (changes, remote_id, 5000 + i, 0, "mb-inbox");
      hir_store_changes_set_state (changes, "jmap:Email", value);
      hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &results[i]);
      if (i == 4)
        {
          g_autoptr(HirStoreChanges) doomed = hir_store_changes_new (ACCOUNT);

          /* Cancelled before the worker reaches it (deterministic: before queueing). */
          add_message (doomed, "doomed", 1, 0, "mb-inbox");
          g_cancellable_cancel (cancellable);
          hir_store_apply_async (store, doomed, cancellable, hir_test_async_cb, &cancelled);
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      hir_store_apply_finish (store, hir_test_async_wait (&results[i]), &error);
      g_assert_no_error (error);
      g_clear_object (&results[i]);
    }
  g_assert_false (hir_store_apply_finish (store, hir_test_async_wait (&cancelled), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_null (find_message (store, "doomed", &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);

  state = get_state (store, "jmap:Email");
  g_assert_cmpstr (state, ==, "q-state-9");
  assert_counts (store, "mb-inbox", 13, 12);
}

static void
test_store_not_open (void)
{
  g_autoptr(HirStore) store = hir_store_new (":memory:");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_count_messages_async (store, 1, NULL, hir_test_async_cb, &result);
  hir_store_count_messages_finish (store, hir_test_async_wait (&result), &error);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_STORAGE);
}

static void
test_store_set_flags (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(HirMessage) message = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Signals signals;

  populate (store);
  signals_init (&signals, store);
  message = find_message (store, "m2", &error);
  g_assert_no_error (error);

  hir_store_set_flags_async (store, hir_message_get_id (message),
                             HIR_MESSAGE_FLAG_SEEN | HIR_MESSAGE_FLAG_FLAGGED,
                             NULL, hir_test_async_cb, &result);
  hir_store_set_flags_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  g_assert_cmpuint (signals.updated->len, ==, 1);
  g_assert_cmpint (hir_message_get_id (signals.updated->pdata[0]), ==, hir_message_get_id (message));
  g_assert_true (hir_message_get_flagged (signals.updated->pdata[0]));
  g_assert_cmpuint (signals.folders_changed->len, ==, 1);
  g_assert_cmpuint (signals.messages_changed->len, ==, 0);
  assert_counts (store, "mb-inbox", 3, 1);

  /* Flagging alone changes no count. */
  signals_reset (&signals);
  hir_store_set_flags_async (store, hir_message_get_id (message), HIR_MESSAGE_FLAG_SEEN,
                             NULL, hir_test_async_cb, &result);
  hir_store_set_flags_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (signals.updated->len, ==, 1);
  g_assert_cmpuint (signals.folders_changed->len, ==, 0);

  hir_store_set_flags_async (store, 999999, 0, NULL, hir_test_async_cb, &result);
  hir_store_set_flags_finish (store, hir_test_async_wait (&result), &error);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
  g_clear_object (&result);
  g_clear_error (&error);

  /* get_message by local id */
  {
    g_autoptr(HirMessage) again = NULL;

    hir_store_get_message_async (store, hir_message_get_id (message), NULL,
                                 hir_test_async_cb, &result);
    again = hir_store_get_message_finish (store, hir_test_async_wait (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpstr (hir_message_get_remote_id (again), ==, "m2");
    g_assert_cmpuint (hir_message_get_flags (again), ==, HIR_MESSAGE_FLAG_SEEN);
  }

  signals_clear (&signals, store);
}

static void
test_store_body (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(HirMessage) message = NULL;
  g_autoptr(HirMessageBody) body = hir_message_body_new ("Hello", "<p>Hello</p>");
  g_autoptr(HirAttachment) report = hir_attachment_new ("2", "blob-2", "report.pdf", "application/pdf", 1234);
  g_autoptr(HirAttachment) logo = hir_attachment_new ("3", "blob-3", NULL, "image/png", 99);
  g_autoptr(HirMessageBody) loaded = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *attachments;

  populate (store);
  message = find_message (store, "m1", &error);
  g_assert_no_error (error);

  /* Never downloaded: NULL, and no error. */
  hir_store_load_body_async (store, hir_message_get_id (message), NULL, hir_test_async_cb, &result);
  loaded = hir_store_load_body_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_null (loaded);
  g_clear_object (&result);

  hir_attachment_set_content_id (logo, "logo@x");
  hir_attachment_set_inline (logo, TRUE);
  hir_message_body_add_attachment (body, report);
  hir_message_body_add_attachment (body, logo);
  hir_store_save_body_async (store, hir_message_get_id (message), body, NULL, hir_test_async_cb, &result);
  hir_store_save_body_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  hir_store_load_body_async (store, hir_message_get_id (message), NULL, hir_test_async_cb, &result);
  loaded = hir_store_load_body_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_nonnull (loaded);
  g_assert_cmpstr (hir_message_body_get_text (loaded), ==, "Hello");
  g_assert_cmpstr (hir_message_body_get_html (loaded), ==, "<p>Hello</p>");
  attachments = hir_message_body_get_attachments (loaded);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 2);
  {
    g_autoptr(HirAttachment) first = g_list_model_get_item (attachments, 0);
    HirAttachment *cid = hir_message_body_find_by_content_id (loaded, "logo@x");

    g_assert_cmpstr (hir_attachment_get_filename (first), ==, "report.pdf");
    g_assert_cmpuint (hir_attachment_get_size (first), ==, 1234);
    g_assert_nonnull (cid);
    g_assert_true (hir_attachment_get_inline (cid));
    g_assert_cmpstr (hir_attachment_get_blob_id (cid), ==, "blob-3");
    g_assert_true (hir_message_body_find_by_content_id (loaded, "<logo@x>") == cid);
    g_assert_null (hir_message_body_find_by_content_id (loaded, "other@x"));
  }

  /* The body goes with its message. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    hir_store_changes_remove_message (changes, "m1");
    apply_ok (store, changes);
  }
  g_clear_object (&loaded);
  hir_store_load_body_async (store, hir_message_get_id (message), NULL, hir_test_async_cb, &result);
  loaded = hir_store_load_body_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_null (loaded);
  g_clear_object (&result);

  hir_store_save_body_async (store, hir_message_get_id (message), body, NULL, hir_test_async_cb, &result);
  hir_store_save_body_finish (store, hir_test_async_wait (&result), &error);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
}

static HirMessage *
make_threaded (const char *remote_id,
               const char *message_id,
               const char *in_reply_to,
               const char *references)
{
  HirMessage *message = make_message (remote_id, 100, 0);

  hir_message_set_message_id (message, message_id);
  hir_message_set_in_reply_to (message, in_reply_to);
  hir_message_set_references (message, references);
  return message;
}

static const char *
thread_of (HirStore   *store,
           const char *remote_id,
           char      **out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessage) message = find_message (store, remote_id, &error);

  g_assert_no_error (error);
  g_free (*out);
  *out = g_strdup (hir_message_get_thread_id (message));
  return *out;
}

/* IMAP gives no thread ids: the store computes them from the headers, whatever order
 * the messages come in; a provider's own thread id (JMAP) is kept. */
static void
test_store_threads (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(HirFolder) inbox = hir_folder_new (ACCOUNT, "mb-inbox", "Inbox", HIR_FOLDER_ROLE_INBOX);
  const char *folders[] = { "mb-inbox", NULL };
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *z = NULL, *j = NULL;
  struct {
    const char *remote_id, *message_id, *in_reply_to, *references;
  } mail[] = {
    { "a", "a@x", NULL, NULL },
    { "b", "b@x", "a@x", "a@x" },
    { "c", "c@x", "b@x", "a@x b@x" },
    { "d", "d@x", NULL, NULL },
    /* a child before its parent, and a reply whose References were cut */
    { "e", "e@x", "z@x", "z@x" },
    { "z", "z@x", NULL, NULL },
  };

  hir_store_changes_upsert_folder (changes, inbox);
  for (guint i = 0; i < G_N_ELEMENTS (mail); i++)
    {
      g_autoptr(HirMessage) message = make_threaded (mail[i].remote_id, mail[i].message_id,
                                                     mail[i].in_reply_to, mail[i].references);

      hir_store_changes_upsert_message (changes, message, folders);
    }
  apply_ok (store, changes);
  g_clear_pointer (&changes, hir_store_changes_unref);

  changes = hir_store_changes_new (ACCOUNT);
  {
    g_autoptr(HirMessage) late = make_threaded ("f", "f@x", "c@x", NULL);
    g_autoptr(HirMessage) jmap = make_threaded ("g", "g@x", "a@x", "a@x");

    hir_message_set_thread_id (jmap, "T-jmap");
    hir_store_changes_upsert_message (changes, late, folders);
    hir_store_changes_upsert_message (changes, jmap, folders);
  }
  apply_ok (store, changes);

  thread_of (store, "a", &a);
  g_assert_nonnull (a);
  g_assert_cmpstr (thread_of (store, "b", &b), ==, a);
  g_assert_cmpstr (thread_of (store, "c", &c), ==, a);
  g_assert_cmpstr (thread_of (store, "f", &c), ==, a);
  g_assert_cmpstr (thread_of (store, "d", &d), !=, a);
  g_assert_cmpstr (thread_of (store, "e", &e), ==, thread_of (store, "z", &z));
  g_assert_cmpstr (e, !=, a);
  g_assert_cmpstr (thread_of (store, "g", &j), ==, "T-jmap");
}

static gboolean
is_trusted (HirStore   *store,
            const char *address)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean trusted;

  hir_store_is_sender_trusted_async (store, address, NULL, hir_test_async_cb, &result);
  trusted = hir_store_is_sender_trusted_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return trusted;
}

static void
set_trusted (HirStore   *store,
             const char *address,
             gboolean    trusted)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_set_sender_trusted_async (store, address, trusted, NULL, hir_test_async_cb, &result);
  hir_store_set_sender_trusted_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static void
test_store_trusted_senders (void)
{
  g_autoptr(HirStore) store = open_new_store ();

  g_assert_false (is_trusted (store, "bob@example.test"));
  set_trusted (store, "bob@example.test", TRUE);
  set_trusted (store, "bob@example.test", TRUE);
  g_assert_true (is_trusted (store, "Bob@Example.Test"));
  set_trusted (store, "bob@example.test", FALSE);
  g_assert_false (is_trusted (store, "bob@example.test"));
}

static void
test_store_clear_account (void)
{
  g_autoptr(HirStore) store = open_new_store ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(HirFolder) inbox = NULL;
  g_autofree char *state = NULL;
  Signals signals;

  populate (store);
  inbox = find_folder (store, "mb-inbox");
  signals_init (&signals, store);

  hir_store_clear_account_async (store, ACCOUNT, NULL, hir_test_async_cb, &result);
  hir_store_clear_account_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  g_assert_cmpuint (signals.folders_changed->len, ==, 1);
  g_assert_true (signals_has_folder (&signals, hir_folder_get_id (inbox)));
  folders = list_folders (store);
  g_assert_cmpuint (folders->len, ==, 0);
  state = get_state (store, "jmap:Email");
  g_assert_null (state);
  g_assert_null (find_message (store, "m2", &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);

  signals_clear (&signals, store);
}

/* ------------------------------------------------------------------------------------ */
/* Message list                                                                         */

/* Live HirMessage objects handed out by a list, counted with weak references. */
static guint alive_messages;

static void
message_finalized_cb (gpointer  data,
                      GObject  *where_the_object_was)
{
  g_hash_table_remove (data, where_the_object_was);
  alive_messages--;
}

static void
track_message (GHashTable *tracked,
               HirMessage *message)
{
  if (g_hash_table_contains (tracked, message))
    return;
  g_hash_table_add (tracked, message);
  g_object_weak_ref (G_OBJECT (message), message_finalized_cb, tracked);
  alive_messages++;
}

static void
untrack_all (GHashTable *tracked)
{
  GHashTableIter iter;
  gpointer message;

  g_hash_table_iter_init (&iter, tracked);
  while (g_hash_table_iter_next (&iter, &message, NULL))
    {
      g_object_weak_unref (message, message_finalized_cb, tracked);
      alive_messages--;
      g_hash_table_iter_remove (&iter);
    }
}

static gboolean
list_is_loaded (gpointer data)
{
  return !hir_message_list_get_loading (data);
}

static gboolean
message_is_loaded (gpointer data)
{
  return hir_message_get_loaded (data);
}

/* @n messages in mb-inbox, m<i> dated i: position p holds m<n - 1 - p>. */
static double
fill_inbox (HirStore *store,
            guint     n)
{
  gint64 start = g_get_monotonic_time ();
  const guint batch = 10000;

  for (guint first = 0; first < n; first += batch)
    {
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

      for (guint i = first; i < MIN (n, first + batch); i++)
        {
          g_autofree char *remote_id = g_strdup_printf ("m%u", i);

          add_message (changes, remote_id, i, (i % 3) ? HIR_MESSAGE_FLAG_SEEN : 0, "mb-inbox");
        }
      apply_ok (store, changes);
    }
  return (g_get_monotonic_time () - start) / 1000.0;
}

static HirStore *
open_store_with_inbox (HirFolder **inbox)
{
  HirStore *store = open_new_store ();
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(HirFolder) folder = hir_folder_new (ACCOUNT, "mb-inbox", "Inbox", HIR_FOLDER_ROLE_INBOX);

  hir_store_changes_upsert_folder (changes, folder);
  apply_ok (store, changes);
  *inbox = find_folder (store, "mb-inbox");
  return store;
}

typedef struct
{
  guint calls;
  guint position, removed, added;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *record)
{
  record->calls++;
  record->position = position;
  record->removed = removed;
  record->added = added;
}

static gboolean
items_changed_called (gpointer data)
{
  return ((ItemsChanged *) data)->calls > 0;
}

static void
test_list_placeholders (void)
{
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirStore) store = open_store_with_inbox (&inbox);
  g_autoptr(HirMessageList) list = NULL;
  g_autoptr(HirMessage) item = NULL;
  g_autoptr(HirMessage) again = NULL;
  ItemsChanged record = { 0, };

  fill_inbox (store, 300);

  /* Pages from either end of the folder are windows of the same order. */
  {
    g_autoptr(GPtrArray) rows = load_messages (store, hir_folder_get_id (inbox), 290, 64);

    g_assert_cmpuint (rows->len, ==, 10);
    g_assert_cmpstr (hir_message_get_remote_id (rows->pdata[0]), ==, "m9");
    g_assert_cmpstr (hir_message_get_remote_id (rows->pdata[9]), ==, "m0");
    g_clear_pointer (&rows, g_ptr_array_unref);
    rows = load_messages (store, hir_folder_get_id (inbox), 151, 64);
    g_assert_cmpuint (rows->len, ==, 64);
    g_assert_cmpstr (hir_message_get_remote_id (rows->pdata[0]), ==, "m148");
    g_assert_cmpstr (hir_message_get_remote_id (rows->pdata[63]), ==, "m85");
    g_clear_pointer (&rows, g_ptr_array_unref);
    rows = load_messages (store, hir_folder_get_id (inbox), 300, 64);
    g_assert_cmpuint (rows->len, ==, 0);
  }

  list = hir_message_list_new (store, hir_folder_get_id (inbox));
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), &record);

  /* Nothing until the count is known, then one items-changed for all of it. */
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == HIR_TYPE_MESSAGE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 0);
  g_assert_true (hir_message_list_get_loading (list));
  g_assert_true (hir_test_wait_until (list_is_loaded, list, 10000));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 300);
  g_assert_cmpuint (record.calls, ==, 1);
  g_assert_cmpuint (record.removed, ==, 0);
  g_assert_cmpuint (record.added, ==, 300);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (list), 300));

  /* A row far down is a placeholder first, filled in place. */
  item = g_list_model_get_item (G_LIST_MODEL (list), 200);
  g_assert_false (hir_message_get_loaded (item));
  g_assert_cmpuint (hir_message_list_find (list, 99), ==, G_MAXUINT);
  g_assert_true (hir_test_wait_until (message_is_loaded, item, 10000));
  g_assert_cmpstr (hir_message_get_remote_id (item), ==, "m99");
  g_assert_cmpstr (hir_message_get_subject (item), ==, "Subject m99");
  g_assert_cmpuint (hir_message_list_find (list, hir_message_get_id (item)), ==, 200);

  /* The same object for the same row. */
  again = g_list_model_get_item (G_LIST_MODEL (list), 200);
  g_assert_true (again == item);
  g_clear_object (&again);

  /* Neighbours in the same page arrived with it. */
  again = g_list_model_get_item (G_LIST_MODEL (list), 201);
  g_assert_true (hir_message_get_loaded (again));
  g_assert_cmpstr (hir_message_get_remote_id (again), ==, "m98");
  g_clear_object (&again);

  /* The first page was loaded with the count. */
  again = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_true (hir_message_get_loaded (again));
  g_assert_cmpstr (hir_message_get_remote_id (again), ==, "m299");
  g_clear_object (&again);

  g_signal_handlers_disconnect_by_data (list, &record);
  g_clear_object (&item);
  g_assert_finalize_object (g_steal_pointer (&list));
}

static void
test_list_bounded (void)
{
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirStore) store = open_store_with_inbox (&inbox);
  g_autoptr(HirMessageList) list = NULL;
  g_autoptr(GHashTable) tracked = g_hash_table_new (NULL, NULL);
  const guint n = g_test_slow () ? 100000 : 100000;
  guint max_alive = 0;
  double ms;

  ms = fill_inbox (store, n);
  g_test_message ("stored %u messages in %.0f ms", n, ms);
  assert_counts (store, "mb-inbox", n, (n + 2) / 3);

  list = hir_message_list_new (store, hir_folder_get_id (inbox));
  g_assert_true (hir_test_wait_until (list_is_loaded, list, 10000));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n);

  /* Scroll through all of it, as a list view would: ask for each row, let it go. */
  for (guint position = 0; position < n; position++)
    {
      g_autoptr(HirMessage) item = g_list_model_get_item (G_LIST_MODEL (list), position);

      track_message (tracked, item);
      if (!hir_message_get_loaded (item))
        g_assert_true (hir_test_wait_until (message_is_loaded, item, 10000));
      if (position % 1000 == 0)
        {
          g_autofree char *expected = g_strdup_printf ("m%u", n - 1 - position);

          g_assert_cmpstr (hir_message_get_remote_id (item), ==, expected);
        }
      max_alive = MAX (max_alive, alive_messages);
    }

  g_test_message ("at most %u message objects alive while scrolling %u rows", max_alive, n);
  g_assert_cmpuint (max_alive, <=, 16 * 64 + 64);

  /* A fling to the end: a page asked for at every step, none waited for. The view keeps
   * the last screenful; the pages dropped on the way are not loaded for nothing. */
  {
    g_autoptr(GPtrArray) screen = g_ptr_array_new_with_free_func (g_object_unref);
    gint64 start = g_get_monotonic_time ();

    for (guint position = 0; position < n; position += 64)
      {
        g_autoptr(HirMessage) item = g_list_model_get_item (G_LIST_MODEL (list), position);

        track_message (tracked, item);
      }
    for (guint position = n - 10; position < n; position++)
      g_ptr_array_add (screen, g_list_model_get_item (G_LIST_MODEL (list), position));
    for (guint i = 0; i < screen->len; i++)
      g_assert_true (hir_test_wait_until (message_is_loaded, screen->pdata[i], 10000));
    g_test_message ("fling over %u rows settled in %.0f ms", n,
                    (g_get_monotonic_time () - start) / 1000.0);
    g_assert_cmpstr (hir_message_get_remote_id (screen->pdata[9]), ==, "m0");
    g_assert_cmpuint (alive_messages, <=, 16 * 64 + 64);
  }

  untrack_all (tracked);
  g_assert_finalize_object (g_steal_pointer (&list));
}

static void
test_list_new_mail (void)
{
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirStore) store = open_store_with_inbox (&inbox);
  g_autoptr(HirMessageList) list = NULL;
  g_autoptr(HirMessage) held = NULL;
  g_autoptr(HirMessage) first = NULL;
  ItemsChanged record = { 0, };

  fill_inbox (store, 100);
  list = hir_message_list_new (store, hir_folder_get_id (inbox));
  g_assert_true (hir_test_wait_until (list_is_loaded, list, 10000));
  held = g_list_model_get_item (G_LIST_MODEL (list), 5);
  g_assert_true (hir_test_wait_until (message_is_loaded, held, 10000));
  g_assert_cmpstr (hir_message_get_remote_id (held), ==, "m94");
  g_signal_connect (list, "items-changed", G_CALLBACK (items_changed_cb), &record);

  /* New mail on top: the whole list is replaced, and the row the view holds keeps its
   * identity at its new position, so a selection follows it. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    add_message (changes, "new-1", 5000, 0, "mb-inbox");
    add_message (changes, "new-2", 5001, 0, "mb-inbox");
    apply_ok (store, changes);
  }
  g_assert_true (hir_test_wait_until (items_changed_called, &record, 10000));
  g_assert_cmpuint (record.calls, ==, 1);
  g_assert_cmpuint (record.position, ==, 0);
  g_assert_cmpuint (record.removed, ==, 100);
  g_assert_cmpuint (record.added, ==, 102);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 102);
  g_assert_cmpstr (hir_message_get_remote_id (held), ==, "m94");
  g_assert_cmpuint (hir_message_list_find (list, hir_message_get_id (held)), ==, 7);
  {
    g_autoptr(HirMessage) same = g_list_model_get_item (G_LIST_MODEL (list), 7);

    g_assert_true (same == held);
  }
  first = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_true (hir_message_get_loaded (first));
  g_assert_cmpstr (hir_message_get_remote_id (first), ==, "new-2");

  /* A flag change elsewhere updates the held row in place, with no items-changed. */
  record.calls = 0;
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    hir_store_changes_update_message (changes, "m94", HIR_MESSAGE_FLAG_FLAGGED, NULL);
    apply_ok (store, changes);
  }
  g_assert_true (hir_message_get_flagged (held));
  g_assert_cmpuint (record.calls, ==, 0);

  /* Removal shrinks it. */
  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    hir_store_changes_remove_message (changes, "new-2");
    apply_ok (store, changes);
  }
  g_assert_true (hir_test_wait_until (items_changed_called, &record, 10000));
  g_assert_cmpuint (record.removed, ==, 102);
  g_assert_cmpuint (record.added, ==, 101);
  g_assert_cmpuint (hir_message_list_find (list, hir_message_get_id (held)), ==, 6);

  g_signal_handlers_disconnect_by_data (list, &record);
  g_clear_object (&first);
  g_assert_finalize_object (g_steal_pointer (&list));
}

/* What GtkSingleSelection and GtkListView do on items-changed: the selection asks for
 * every added item until it meets the selected one; the view keeps its visible rows. */
typedef struct
{
  HirMessage *selected;
  guint found_at;
  guint asked;
  GPtrArray *visible;
} FakeView;

static void
fake_view_items_changed_cb (GListModel *model,
                            guint       position,
                            guint       removed,
                            guint       added,
                            FakeView   *view)
{
  view->found_at = G_MAXUINT;
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(HirMessage) item = g_list_model_get_item (model, position + i);

      view->asked++;
      if (item == view->selected)
        {
          view->found_at = position + i;
          break;
        }
    }

  g_ptr_array_set_size (view->visible, 0);
  for (guint i = 0; i < MIN (added, 10); i++)
    g_ptr_array_add (view->visible, g_list_model_get_item (model, position + i));
}

static gboolean
fake_view_visible_loaded (gpointer data)
{
  FakeView *view = data;

  for (guint i = 0; i < view->visible->len; i++)
    if (!hir_message_get_loaded (view->visible->pdata[i]))
      return FALSE;
  return view->visible->len > 0;
}

static gboolean
items_changed_called_view (gpointer data)
{
  return ((FakeView *) data)->asked > 0;
}

static void
test_list_selection_scan (void)
{
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirStore) store = open_store_with_inbox (&inbox);
  g_autoptr(HirMessageList) list = NULL;
  g_autoptr(HirMessage) selected = NULL;
  g_autoptr(GHashTable) tracked = g_hash_table_new (NULL, NULL);
  FakeView view = { 0, };

  fill_inbox (store, 20000);
  list = hir_message_list_new (store, hir_folder_get_id (inbox));
  g_assert_true (hir_test_wait_until (list_is_loaded, list, 10000));

  /* The user scrolled far down and selected a message, then scrolled back up. */
  selected = g_list_model_get_item (G_LIST_MODEL (list), 12000);
  g_assert_true (hir_test_wait_until (message_is_loaded, selected, 10000));
  for (guint i = 0; i < 16 * 64; i += 64)
    {
      g_autoptr(HirMessage) item = g_list_model_get_item (G_LIST_MODEL (list), i);
    }

  view.selected = selected;
  view.visible = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (list, "items-changed", G_CALLBACK (fake_view_items_changed_cb), &view);

  {
    g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);

    add_message (changes, "new-1", 50000, 0, "mb-inbox");
    apply_ok (store, changes);
  }
  g_assert_true (hir_test_wait_until (items_changed_called_view, &view, 10000));

  /* Its page had left the cache, yet the selected object is found at its new place; the
   * rows asked for on the way cost no page load each, and only what the view kept is
   * loaded and alive afterwards. */
  g_test_message ("selection scan asked for %u rows", view.asked);
  g_assert_cmpuint (view.found_at, ==, 12001);
  g_assert_cmpuint (view.asked, ==, 12002);
  g_assert_cmpstr (hir_message_get_remote_id (selected), ==, "m7999");
  g_assert_true (hir_test_wait_until (fake_view_visible_loaded, &view, 10000));
  g_assert_cmpstr (hir_message_get_remote_id (view.visible->pdata[0]), ==, "new-1");

  for (guint i = 0; i < 20001; i += 97)
    {
      g_autoptr(HirMessage) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      track_message (tracked, item);
    }
  g_test_message ("%u sampled rows alive", alive_messages);
  g_assert_cmpuint (alive_messages, <=, 16 * 64 / 97 + 16 + 2);
  untrack_all (tracked);

  g_signal_handlers_disconnect_by_data (list, &view);
  g_ptr_array_unref (view.visible);
  g_assert_finalize_object (g_steal_pointer (&list));
}

/* Disposing the list with loads in flight must not touch it when they complete. */
static void
test_list_dispose_in_flight (void)
{
  g_autoptr(HirFolder) inbox = NULL;
  g_autoptr(HirStore) store = open_store_with_inbox (&inbox);
  g_autoptr(HirMessageList) list = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  fill_inbox (store, 10);
  list = hir_message_list_new (store, hir_folder_get_id (inbox));
  g_assert_finalize_object (g_steal_pointer (&list));

  /* Anything queued after the list's loads completes after them. */
  hir_store_count_messages_async (store, hir_folder_get_id (inbox), NULL, hir_test_async_cb, &result);
  g_assert_cmpuint (hir_store_count_messages_finish (store, hir_test_async_wait (&result), &error), ==, 10);
  g_assert_no_error (error);
}

/* ------------------------------------------------------------------------------------ */
/* Objects                                                                              */

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 GHashTable *counts)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pspec->name));

  g_hash_table_insert (counts, (gpointer) pspec->name, GUINT_TO_POINTER (n + 1));
}

static guint
notify_count (GHashTable *counts,
              const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

static void
test_objects_message (void)
{
  g_autoptr(HirMessage) message = hir_message_new ();
  g_autoptr(HirMessage) other = hir_message_new ();
  g_autoptr(HirMessage) placeholder = g_object_new (HIR_TYPE_MESSAGE, "loaded", FALSE, NULL);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);

  g_signal_connect (message, "notify", G_CALLBACK (count_notify_cb), counts);
  g_assert_cmpstr (hir_message_get_subject (message), ==, "");
  g_assert_cmpstr (hir_message_get_sender_label (message), ==, "");

  hir_message_set_from_address (message, "bob@example.test");
  g_assert_cmpstr (hir_message_get_sender_label (message), ==, "bob@example.test");
  hir_message_set_from_name (message, "Bob");
  g_assert_cmpstr (hir_message_get_sender_label (message), ==, "Bob");
  g_assert_cmpuint (notify_count (counts, "sender-label"), ==, 2);
  hir_message_set_from_address (message, "robert@example.test");
  g_assert_cmpuint (notify_count (counts, "sender-label"), ==, 2);
  hir_message_set_from_name (message, "Bob");
  g_assert_cmpuint (notify_count (counts, "from-name"), ==, 1);

  g_object_set (message, "seen", TRUE, NULL);
  g_assert_cmpuint (hir_message_get_flags (message), ==, HIR_MESSAGE_FLAG_SEEN);
  g_assert_cmpuint (notify_count (counts, "seen"), ==, 1);
  g_assert_cmpuint (notify_count (counts, "flagged"), ==, 0);
  hir_message_set_flags (message, HIR_MESSAGE_FLAG_SEEN | HIR_MESSAGE_FLAG_ANSWERED);
  g_assert_cmpuint (notify_count (counts, "seen"), ==, 1);
  g_assert_cmpuint (notify_count (counts, "flags"), ==, 2);

  g_assert_false (hir_message_get_loaded (placeholder));
  hir_message_set_subject (other, "Hi");
  hir_message_set_id (other, 42);
  hir_message_set_has_attachment (other, TRUE);
  hir_message_update_from (placeholder, other);
  g_assert_true (hir_message_get_loaded (placeholder));
  g_assert_cmpint (hir_message_get_id (placeholder), ==, 42);
  g_assert_cmpstr (hir_message_get_subject (placeholder), ==, "Hi");
  g_assert_true (hir_message_get_has_attachment (placeholder));
}

static void
test_objects_folder (void)
{
  g_autoptr(HirFolder) folder = hir_folder_new (ACCOUNT, "mb-x", "X", HIR_FOLDER_ROLE_NONE);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  const char *icons[] = {
    "folder-symbolic", "mail-unread-symbolic", "document-edit-symbolic", "mail-send-symbolic",
    "package-x-generic-symbolic", "mail-mark-junk-symbolic", "user-trash-symbolic",
  };

  g_signal_connect (folder, "notify", G_CALLBACK (count_notify_cb), counts);
  for (guint role = HIR_FOLDER_ROLE_NONE; role <= HIR_FOLDER_ROLE_TRASH; role++)
    {
      hir_folder_set_role (folder, role);
      g_assert_cmpstr (hir_folder_get_icon_name (folder), ==, icons[role]);

      /* The icon must exist in the theme we ship against (adwaita-icon-theme 43). */
      if (g_file_test ("/usr/share/icons/Adwaita/scalable", G_FILE_TEST_IS_DIR))
        {
          g_autofree char *quoted = g_shell_quote (icons[role]);
          g_autofree char *command = g_strdup_printf ("find /usr/share/icons/Adwaita -name %s.svg -print -quit", quoted);
          g_autofree char *found = NULL;

          g_assert_true (g_spawn_command_line_sync (command, &found, NULL, NULL, NULL));
          g_assert_cmpstr (g_strstrip (found), !=, "");
        }
    }
  g_assert_cmpuint (notify_count (counts, "role"), ==, 6);
  g_assert_cmpuint (notify_count (counts, "icon-name"), ==, 6);
  hir_folder_set_unread_count (folder, 3);
  hir_folder_set_unread_count (folder, 3);
  g_assert_cmpuint (notify_count (counts, "unread-count"), ==, 1);

  g_assert_cmpint (hir_folder_role_from_string ("inbox"), ==, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpint (hir_folder_role_from_string ("\\Sent"), ==, HIR_FOLDER_ROLE_SENT);
  g_assert_cmpint (hir_folder_role_from_string ("\\Junk"), ==, HIR_FOLDER_ROLE_JUNK);
  g_assert_cmpint (hir_folder_role_from_string ("TRASH"), ==, HIR_FOLDER_ROLE_TRASH);
  g_assert_cmpint (hir_folder_role_from_string ("\\Flagged"), ==, HIR_FOLDER_ROLE_NONE);
  g_assert_cmpint (hir_folder_role_from_string (NULL), ==, HIR_FOLDER_ROLE_NONE);
  g_assert_cmpstr (hir_folder_role_to_string (HIR_FOLDER_ROLE_DRAFTS), ==, "drafts");
  g_assert_null (hir_folder_role_to_string (HIR_FOLDER_ROLE_NONE));
}

static void
test_objects_attachment (void)
{
  struct {
    const char *filename;
    const char *type;
    const char *display;
  } cases[] = {
    { "report.pdf", "application/pdf", "report.pdf" },
    { NULL, "application/pdf", "attachment.pdf" },
    { "", "image/jpeg", "attachment.jpg" },
    { NULL, "image/webp", "attachment.webp" },
    { NULL, "application/octet-stream", "attachment" },
    { NULL, NULL, "attachment" },
    { "../../.bashrc", "text/plain", "_.._.bashrc" },
    { "a/b\\c.txt", "text/plain", "a_b_c.txt" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(HirAttachment) attachment = hir_attachment_new ("1", "b", cases[i].filename,
                                                                cases[i].type, 1);
      g_autofree char *display = hir_attachment_dup_display_name (attachment);

      g_assert_cmpstr (display, ==, cases[i].display);
    }
}

static void
test_objects_account (void)
{
  g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, ACCOUNT);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  struct {
    HirErrorCode code;
    HirAccountStatus status;
  } cases[] = {
    { HIR_ERROR_AUTH_FAILED, HIR_ACCOUNT_STATUS_AUTH_FAILED },
    { HIR_ERROR_CERTIFICATE_UNTRUSTED, HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED },
    { HIR_ERROR_UNREACHABLE, HIR_ACCOUNT_STATUS_UNREACHABLE },
    { HIR_ERROR_OFFLINE, HIR_ACCOUNT_STATUS_OFFLINE },
  };

  g_assert_cmpstr (hir_account_get_id (account), ==, ACCOUNT);
  g_assert_cmpstr (hir_account_get_username (account), ==, ACCOUNT);
  g_assert_cmpint (hir_account_get_status (account), ==, HIR_ACCOUNT_STATUS_OFFLINE);
  g_signal_connect (account, "notify", G_CALLBACK (count_notify_cb), counts);

  hir_account_set_status (account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
  hir_account_set_status (account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
  g_assert_cmpuint (notify_count (counts, "status"), ==, 1);
  g_assert_cmpuint (notify_count (counts, "status-message"), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new (HIR_ERROR, cases[i].code, "reason %u", i);
      g_autofree char *expected = g_strdup_printf ("reason %u", i);

      hir_account_set_status_from_error (account, error);
      g_assert_cmpint (hir_account_get_status (account), ==, cases[i].status);
      g_assert_cmpstr (hir_account_get_status_message (account), ==, expected);
    }

  /* Other errors say what went wrong but do not claim the connection state changed. */
  {
    g_autoptr(GError) error = g_error_new_literal (HIR_ERROR, HIR_ERROR_STORAGE, "disk full");

    hir_account_set_status (account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
    hir_account_set_status_from_error (account, error);
    g_assert_cmpint (hir_account_get_status (account), ==, HIR_ACCOUNT_STATUS_ONLINE);
    g_assert_cmpstr (hir_account_get_status_message (account), ==, "disk full");
  }

  hir_account_set_syncing (account, TRUE);
  hir_account_set_syncing (account, TRUE);
  g_assert_cmpuint (notify_count (counts, "syncing"), ==, 1);
  g_assert_cmpuint (hir_error_quark (), ==, g_quark_from_static_string ("hir-error-quark"));
}

static void
test_objects_changes_copy (void)
{
  g_autoptr(HirStore) store = NULL;
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  g_autoptr(HirFolder) inbox = hir_folder_new (ACCOUNT, "mb-inbox", "Inbox", HIR_FOLDER_ROLE_INBOX);
  g_autoptr(HirMessage) message = make_message ("m1", 10, 0);
  g_autoptr(HirMessage) stored = NULL;
  g_autoptr(GError) error = NULL;
  const char *folders[] = { "mb-inbox", NULL };
  GValue value = G_VALUE_INIT;

  /* The batch keeps copies: the provider may change or drop its objects at once. */
  hir_store_changes_upsert_folder (changes, inbox);
  hir_store_changes_upsert_message (changes, message, folders);
  hir_message_set_subject (message, "changed afterwards");
  g_clear_object (&message);
  g_clear_object (&inbox);

  /* And it is a boxed type, for signals and properties. */
  g_value_init (&value, HIR_TYPE_STORE_CHANGES);
  g_value_set_boxed (&value, changes);
  g_assert_true (g_value_get_boxed (&value) == changes);
  g_value_unset (&value);

  store = open_new_store ();
  apply_ok (store, changes);
  stored = find_message (store, "m1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hir_message_get_subject (stored), ==, "Subject m1");
}

/* ------------------------------------------------------------------------------------ */
/* accounts.conf                                                                        */

static void
test_config_round_trip (void)
{
  g_autofree char *dir = hir_test_make_tmpdir ("config");
  g_autofree char *path = g_build_filename (dir, "hirondelle", "accounts.conf", NULL);
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  HirAccount *jmap = hir_account_new (HIR_ACCOUNT_KIND_JMAP, ACCOUNT);
  HirAccount *imap = hir_account_new (HIR_ACCOUNT_KIND_IMAP, "bob@example.test");
  GStatBuf st;

  /* No file is no accounts. */
  loaded = hir_account_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->len, ==, 0);
  g_clear_pointer (&loaded, g_ptr_array_unref);

  hir_account_set_display_name (jmap, "Alice Liddell");
  hir_account_set_jmap_url (jmap, "https://jmap.example.test/.well-known/jmap");
  hir_account_set_trusted_certificate (jmap, "sha256:ABCD");
  hir_account_set_id (imap, "work");
  hir_account_set_username (imap, "bob");
  hir_account_set_imap_host (imap, "imap.example.test");
  hir_account_set_imap_port (imap, 143);
  hir_account_set_imap_security (imap, HIR_SECURITY_STARTTLS);
  hir_account_set_smtp_host (imap, "smtp.example.test");
  hir_account_set_smtp_port (imap, 587);
  hir_account_set_smtp_security (imap, HIR_SECURITY_NONE);
  hir_account_set_password_command (imap, "pass show mail/bob");
  g_ptr_array_add (accounts, jmap);
  g_ptr_array_add (accounts, imap);

  g_assert_true (hir_account_config_save (path, accounts, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Readable by a person: nicknames, property names. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_test_message ("%s", contents);
  g_assert_nonnull (strstr (contents, "[Account work]"));
  g_assert_nonnull (strstr (contents, "kind=imap"));
  g_assert_nonnull (strstr (contents, "imap-security=starttls"));
  g_assert_nonnull (strstr (contents, "smtp-security=none"));

  loaded = hir_account_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->len, ==, 2);
  {
    HirAccount *a = loaded->pdata[0];
    HirAccount *b = loaded->pdata[1];

    g_assert_cmpstr (hir_account_get_id (a), ==, ACCOUNT);
    g_assert_cmpint (hir_account_get_kind (a), ==, HIR_ACCOUNT_KIND_JMAP);
    g_assert_cmpstr (hir_account_get_display_name (a), ==, "Alice Liddell");
    g_assert_cmpstr (hir_account_get_address (a), ==, ACCOUNT);
    g_assert_cmpstr (hir_account_get_username (a), ==, ACCOUNT);
    g_assert_cmpstr (hir_account_get_jmap_url (a), ==, "https://jmap.example.test/.well-known/jmap");
    g_assert_cmpstr (hir_account_get_trusted_certificate (a), ==, "sha256:ABCD");
    g_assert_null (hir_account_get_password_command (a));

    g_assert_cmpstr (hir_account_get_id (b), ==, "work");
    g_assert_cmpint (hir_account_get_kind (b), ==, HIR_ACCOUNT_KIND_IMAP);
    g_assert_cmpstr (hir_account_get_address (b), ==, "bob@example.test");
    g_assert_cmpstr (hir_account_get_username (b), ==, "bob");
    g_assert_cmpstr (hir_account_get_imap_host (b), ==, "imap.example.test");
    g_assert_cmpuint (hir_account_get_imap_port (b), ==, 143);
    g_assert_cmpint (hir_account_get_imap_security (b), ==, HIR_SECURITY_STARTTLS);
    g_assert_cmpstr (hir_account_get_smtp_host (b), ==, "smtp.example.test");
    g_assert_cmpuint (hir_account_get_smtp_port (b), ==, 587);
    g_assert_cmpint (hir_account_get_smtp_security (b), ==, HIR_SECURITY_NONE);
    g_assert_cmpstr (hir_account_get_password_command (b), ==, "pass show mail/bob");
  }

  /* Saving fewer accounts drops the others. */
  g_ptr_array_remove_index (accounts, 0);
  g_assert_true (hir_account_config_save (path, accounts, &error));
  g_clear_pointer (&loaded, g_ptr_array_unref);
  loaded = hir_account_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->len, ==, 1);
}

static void
test_config_malformed (void)
{
  g_autofree char *dir = hir_test_make_tmpdir ("config");
  g_autofree char *path = g_build_filename (dir, "accounts.conf", NULL);
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad[] = {
    "[Account a@b]\naddress=a@b\nthis line is not a key\n",
    "[Account a@b]\naddress=a@b\nkind=pop3\n",
    "[Account a@b]\nkind=jmap\n",
    "[Account a@b]\naddress=a@b\nimap-port=99999\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
      loaded = hir_account_config_load (path, &error);
      g_assert_null (loaded);
      g_assert_error (error, HIR_ERROR, HIR_ERROR_CONFIG);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      if (i == 0)
        {
          g_autofree char *where = g_strconcat (path, ":3:", NULL);

          g_assert_true (g_str_has_prefix (error->message, where));
        }
      g_clear_error (&error);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Secrets                                                                              */

static void
test_secrets_command (void)
{
  g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, ACCOUNT);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;

  hir_account_set_password_command (account, "printf 'hunter2\\nsecond line\\n'");
  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "hunter2");
  g_clear_pointer (&password, g_free);

  hir_secrets_lookup_async (account, NULL, hir_test_async_cb, &result);
  password = hir_secrets_lookup_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "hunter2");
  g_clear_pointer (&password, g_free);

  /* A failing command: its stderr explains, its stdout (maybe a password) never shows. */
  hir_account_set_password_command (account, "echo hunter3; echo 'store is locked' >&2; exit 3");
  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CONFIG);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "store is locked"));
  g_assert_nonnull (strstr (error->message, "3"));
  g_assert_null (strstr (error->message, "hunter3"));
  g_clear_error (&error);

  hir_account_set_password_command (account, "true");
  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CONFIG);
  g_clear_error (&error);

  /* With a command, storing keeps nothing and needs no keyring. */
  g_assert_true (hir_secrets_store_sync (account, "ignored", NULL, &error));
  g_assert_no_error (error);
}

static gboolean
secret_service_available (void)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    return FALSE;
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", "org.freedesktop.secrets"),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &has_owner);
  return has_owner;
}

static void
test_secrets_keyring (void)
{
  g_autofree char *id = g_strdup_printf ("test-%u@example.test", g_random_int ());
  g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, id);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;

  if (!secret_service_available ())
    {
      g_test_skip ("No Secret Service on the session bus (build-aux/test provides one)");
      return;
    }

  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
  g_clear_error (&error);

  hir_secrets_store_async (account, "correct horse", NULL, hir_test_async_cb, &result);
  hir_secrets_store_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  hir_secrets_lookup_async (account, NULL, hir_test_async_cb, &result);
  password = hir_secrets_lookup_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "correct horse");
  g_clear_pointer (&password, g_free);

  g_assert_true (hir_secrets_store_sync (account, "battery staple", NULL, &error));
  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_cmpstr (password, ==, "battery staple");
  g_clear_pointer (&password, g_free);

  g_assert_true (hir_secrets_clear_sync (account, NULL, &error));
  g_assert_no_error (error);
  password = hir_secrets_lookup_sync (account, NULL, &error);
  g_assert_null (password);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
}

/* A session bus where nothing provides org.freedesktop.secrets, and no session bus at
 * all: a clear error that says how to use a password command instead. Each runs in a
 * subprocess so that its bus (or lack of one) does not leak into the other tests. */
static void
test_secrets_no_service (gconstpointer data)
{
  gboolean no_bus = GPOINTER_TO_INT (data);

  if (g_test_subprocess ())
    {
      g_autoptr(HirAccount) account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, ACCOUNT);
      g_autoptr(GTestDBus) bus = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *password = NULL;

      if (no_bus)
        {
          g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
          g_unsetenv ("DISPLAY");
          g_setenv ("XDG_RUNTIME_DIR", "/nonexistent", TRUE);
        }
      else
        {
          /* Left up at exit: libsecret keeps its connection, which GTestDBus's down
           * would wait for; the bus dies with this process. */
          bus = g_test_dbus_new (G_TEST_DBUS_NONE);
          g_test_dbus_up (bus);
        }

      password = hir_secrets_lookup_sync (account, NULL, &error);
      g_assert_null (password);
      g_assert_error (error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE);
      g_assert_nonnull (strstr (error->message, "password command"));
      g_clear_error (&error);
      g_assert_false (hir_secrets_store_sync (account, "pw", NULL, &error));
      g_assert_error (error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE);
      g_clear_error (&error);
      g_assert_true (hir_secrets_clear_sync (account, NULL, &error));
      g_assert_no_error (error);
      g_test_message ("done");
      if (bus != NULL)
        exit (0);
      return;
    }

  if (!no_bus && !g_file_test ("/usr/bin/dbus-daemon", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("dbus-daemon is not installed");
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/store/migrate", test_store_migrate);
  g_test_add_func ("/engine/store/apply", test_store_apply);
  g_test_add_func ("/engine/store/apply-atomic", test_store_apply_atomic);
  g_test_add_func ("/engine/store/readonly", test_store_readonly);
  g_test_add_func ("/engine/store/disk-full", test_store_disk_full);
  g_test_add_func ("/engine/store/queue", test_store_queue);
  g_test_add_func ("/engine/store/not-open", test_store_not_open);
  g_test_add_func ("/engine/store/set-flags", test_store_set_flags);
  g_test_add_func ("/engine/store/threads", test_store_threads);
  g_test_add_func ("/engine/store/body", test_store_body);
  g_test_add_func ("/engine/store/trusted-senders", test_store_trusted_senders);
  g_test_add_func ("/engine/store/clear-account", test_store_clear_account);
  g_test_add_func ("/engine/message-list/placeholders", test_list_placeholders);
  g_test_add_func ("/engine/message-list/bounded", test_list_bounded);
  g_test_add_func ("/engine/message-list/new-mail", test_list_new_mail);
  g_test_add_func ("/engine/message-list/selection-scan", test_list_selection_scan);
  g_test_add_func ("/engine/message-list/dispose-in-flight", test_list_dispose_in_flight);
  g_test_add_func ("/engine/objects/message", test_objects_message);
  g_test_add_func ("/engine/objects/folder", test_objects_folder);
  g_test_add_func ("/engine/objects/attachment", test_objects_attachment);
  g_test_add_func ("/engine/objects/account", test_objects_account);
  g_test_add_func ("/engine/objects/store-changes", test_objects_changes_copy);
  g_test_add_func ("/engine/account-config/round-trip", test_config_round_trip);
  g_test_add_func ("/engine/account-config/malformed", test_config_malformed);
  g_test_add_func ("/engine/secrets/command", test_secrets_command);
  g_test_add_func ("/engine/secrets/keyring", test_secrets_keyring);
  g_test_add_data_func ("/engine/secrets/no-service", GINT_TO_POINTER (FALSE),
                        test_secrets_no_service);
  g_test_add_data_func ("/engine/secrets/no-session-bus", GINT_TO_POINTER (TRUE),
                        test_secrets_no_service);

  return g_test_run ();
}
