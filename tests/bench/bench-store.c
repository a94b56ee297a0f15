/* bench-store.c: how long a folder of a million messages takes to open
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Prints figures; asserts nothing about time (tests never time things).
 *
 *   bench-store [N [DB-PATH]]
 *
 * Fills a folder with N messages (default 1,000,000) in sync steps of 10,000, then opens
 * it three times on a freshly opened store, as the window does: the count and the first
 * page of 64. With an existing DB-PATH the fill is skipped, so the open can be measured
 * again on its own (e.g. after dropping the page cache).
 */
#include "hirondelle-engine.h"

#include <glib/gstdio.h>

#define ACCOUNT "bench@example.test"

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static HirStore *
open_store (const char *path)
{
  g_autoptr(HirStore) store = hir_store_new (path);
  g_autoptr(GError) error = NULL;

  if (!hir_store_open_sync (store, NULL, &error))
    g_error ("%s", error->message);
  return g_steal_pointer (&store);
}

static void
apply (HirStore        *store,
       HirStoreChanges *changes)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_apply_async (store, changes, NULL, result_cb, &result);
  if (!hir_store_apply_finish (store, wait_result (&result), &error))
    g_error ("%s", error->message);
}

static void
add_messages (HirStore *store,
              guint     first,
              guint     n)
{
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
  const char *folders[] = { "inbox", NULL };

  for (guint i = first; i < first + n; i++)
    {
      g_autoptr(HirMessage) message = hir_message_new ();
      g_autofree char *remote_id = g_strdup_printf ("M%08u", i);
      g_autofree char *subject = g_strdup_printf ("Quarterly report number %u, as discussed", i);

      hir_message_set_remote_id (message, remote_id);
      hir_message_set_thread_id (message, remote_id);
      hir_message_set_subject (message, subject);
      hir_message_set_from_name (message, "Robert Example");
      hir_message_set_from_address (message, "bob@example.test");
      hir_message_set_to (message, "Alice <alice@example.test>");
      hir_message_set_date (message, 1600000000 + i * 60);
      hir_message_set_preview (message, "Hello Alice, here are the figures for this quarter; "
                               "the summary is attached and the details follow below.");
      hir_message_set_size (message, 20000);
      hir_message_set_flags (message, i % 5 ? HIR_MESSAGE_FLAG_SEEN : 0);
      hir_store_changes_upsert_message (changes, message, folders);
    }
  {
    g_autofree char *state = g_strdup_printf ("s%u", first + n);

    hir_store_changes_set_state (changes, "jmap:Email", state);
  }
  apply (store, changes);
}

static gint64
inbox_id (HirStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_list_folders_async (store, ACCOUNT, NULL, result_cb, &result);
  folders = hir_store_list_folders_finish (store, wait_result (&result), &error);
  if (folders == NULL || folders->len == 0)
    g_error ("no inbox");
  return hir_folder_get_id (folders->pdata[0]);
}

static gboolean
first_page_loaded (HirMessageList *list)
{
  g_autoptr(HirMessage) last = NULL;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (list));

  if (hir_message_list_get_loading (list))
    return FALSE;
  if (n == 0)
    return TRUE;
  last = g_list_model_get_item (G_LIST_MODEL (list), MIN (n, 64) - 1);
  return hir_message_get_loaded (last);
}

int
main (int   argc,
      char *argv[])
{
  guint n = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 1000000;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(HirStore) store = NULL;
  gint64 folder_id;
  double t0, t1;
  gboolean fill;

  if (argc > 2)
    path = g_strdup (argv[2]);
  else
    {
      dir = g_dir_make_tmp ("hir-bench-XXXXXX", NULL);
      path = g_build_filename (dir, "hirondelle.db", NULL);
    }

  fill = !g_file_test (path, G_FILE_TEST_EXISTS);

  store = open_store (path);
  if (fill)
    {
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (ACCOUNT);
      g_autoptr(HirFolder) inbox = hir_folder_new (ACCOUNT, "inbox", "Inbox", HIR_FOLDER_ROLE_INBOX);

      hir_store_changes_upsert_folder (changes, inbox);
      apply (store, changes);

      t0 = now_ms ();
      for (guint first = 0; first < n; first += 10000)
        {
          double b0 = now_ms ();

          add_messages (store, first, MIN (10000, n - first));
          if (first == 0 || first + 10000 >= n)
            g_print ("apply of %u new messages (folder at %u): %.1f ms\n",
                     MIN (10000, n - first), first, now_ms () - b0);
        }
      g_print ("filled %u messages in %.1f s\n", n, (now_ms () - t0) / 1000);

      /* A sync step that only changes flags of 10k stored messages. */
      {
        g_autoptr(HirStoreChanges) changes2 = hir_store_changes_new (ACCOUNT);

        for (guint i = 0; i < MIN (n, 10000); i++)
          {
            g_autofree char *remote_id = g_strdup_printf ("M%08u", i);

            hir_store_changes_update_message (changes2, remote_id, HIR_MESSAGE_FLAG_FLAGGED, NULL);
          }
        t0 = now_ms ();
        apply (store, changes2);
        g_print ("apply of 10000 flag updates: %.1f ms\n", now_ms () - t0);
      }
    }
  folder_id = inbox_id (store);
  g_clear_object (&store);

  /* Open the folder as the window does, on a freshly opened store. */
  for (guint run = 0; run < 3; run++)
    {
      g_autoptr(HirMessageList) list = NULL;

      t0 = now_ms ();
      store = open_store (path);
      g_print ("open store: %.2f ms\n", now_ms () - t0);
      t0 = now_ms ();
      list = hir_message_list_new (store, folder_id);
      while (!first_page_loaded (list))
        g_main_context_iteration (NULL, TRUE);
      t1 = now_ms ();
      g_print ("open folder of %u messages (count + first page of 64), run %u: %.2f ms\n",
               g_list_model_get_n_items (G_LIST_MODEL (list)), run + 1, t1 - t0);

      /* Jumps of the scrollbar: the oldest page, and the farthest from either end. */
      {
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(GPtrArray) rows = NULL;
        guint total = g_list_model_get_n_items (G_LIST_MODEL (list));

        t0 = now_ms ();
        hir_store_load_messages_async (store, folder_id, total > 64 ? total - 64 : 0, 64, NULL,
                                       result_cb, &result);
        rows = hir_store_load_messages_finish (store, wait_result (&result), NULL);
        g_print ("  last page (offset %u): %.2f ms\n", total > 64 ? total - 64 : 0, now_ms () - t0);
        g_clear_object (&result);
        g_clear_pointer (&rows, g_ptr_array_unref);
        t0 = now_ms ();
        hir_store_load_messages_async (store, folder_id, total / 2, 64, NULL, result_cb, &result);
        rows = hir_store_load_messages_finish (store, wait_result (&result), NULL);
        g_print ("  middle page (offset %u): %.2f ms\n", total / 2, now_ms () - t0);
      }
      g_clear_object (&list);
      g_clear_object (&store);
    }

  if (dir != NULL)
    {
      g_autofree char *command = g_strdup_printf ("rm -rf %s", dir);

      if (system (command) != 0)
        g_printerr ("could not remove %s\n", dir);
    }
  return 0;
}
