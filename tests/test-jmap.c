/* test-jmap.c: the JMAP provider and the engine against the real Cyrus
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every test makes its own user (hir_test_new_user), changes the mailbox behind the
 * client's back with hir-mailctl, and checks what reached the store. Push is exercised
 * with a local EventSource endpoint (Cyrus on Debian has none) that announces changes
 * while the data still comes from Cyrus.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "hir-jmap-client.h"
#include "hir-jmap-provider.h"
#include "hir-test-util.h"

typedef struct
{
  char *address;
  char *password;
  char *dir;
  HirEngine *engine;
  HirAccount *account;
} Mailbox;

static gboolean
engine_gone (gpointer data)
{
  return *(HirEngine **) data == NULL;
}

static void
mailbox_free (Mailbox *mb)
{
  g_clear_object (&mb->account);
  if (mb->engine != NULL)
    {
      /* Nothing keeps a stopped engine alive once its owner lets go: no cycles, no
       * callbacks still holding it. */
      HirEngine *engine = g_steal_pointer (&mb->engine);

      hir_engine_stop (engine);
      g_object_add_weak_pointer (G_OBJECT (engine), (gpointer *) &engine);
      g_object_unref (engine);
      g_assert_true (hir_test_wait_until (engine_gone, &engine, 10000));
    }
  g_free (mb->address);
  g_free (mb->password);
  g_free (mb->dir);
  g_free (mb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Mailbox, mailbox_free)

static Mailbox *
mailbox_new (const char *prefix)
{
  Mailbox *mb = g_new0 (Mailbox, 1);

  hir_test_new_user (prefix, &mb->address, &mb->password);
  mb->dir = hir_test_make_tmpdir (prefix);
  return mb;
}

/* hir-mailctl as this user. */
#define mailctl(mb, ...) hir_test_mailctl ((mb)->address, (mb)->password, __VA_ARGS__)

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
                          "Message-ID: <simple-%u-%u@example.test>\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n"
                          "\n"
                          "%s\n", subject, n % 60, n, g_random_int (), body);
}

static HirAccount *
new_account (Mailbox    *mb,
             const char *url)
{
  g_autofree char *pw_path = g_build_filename (mb->dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);
  g_autoptr(GError) error = NULL;
  HirAccount *account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, mb->address);

  /* A password command keeps the test off the keyring; the file is the user's. */
  g_file_set_contents_full (pw_path, mb->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  hir_account_set_jmap_url (account, url);
  hir_account_set_display_name (account, "Test User");
  hir_account_set_password_command (account, command);
  return account;
}

static gboolean
add_account (HirEngine   *engine,
             HirAccount  *account,
             const char  *password,
             GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  hir_engine_add_account_async (engine, account, password, NULL, hir_test_async_cb, &result);
  return hir_engine_add_account_finish (engine, hir_test_async_wait (&result), error);
}

/* A user with an engine and an account, first sync done. */
static void
mailbox_connect (Mailbox *mb)
{
  g_autoptr(GError) error = NULL;

  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  add_account (mb->engine, mb->account, mb->password, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);
}

static void
sync_now (Mailbox *mb)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_engine_sync_account_async (mb->engine, mb->account, NULL, hir_test_async_cb, &result);
  hir_engine_sync_account_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static HirJmapProvider *
provider_of (Mailbox *mb)
{
  HirProvider *provider = hir_engine_get_provider (mb->engine, mb->account);

  g_assert_true (HIR_IS_JMAP_PROVIDER (provider));
  return HIR_JMAP_PROVIDER (provider);
}

static guint
provider_counter (Mailbox    *mb,
                  const char *name)
{
  guint value = 0;

  g_object_get (provider_of (mb), name, &value, NULL);
  return value;
}

static GPtrArray *
list_folders (Mailbox *mb)
{
  HirStore *store = hir_engine_get_store (mb->engine);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  hir_store_list_folders_async (store, hir_account_get_id (mb->account), NULL,
                                hir_test_async_cb, &result);
  folders = hir_store_list_folders_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  return folders;
}

static HirFolder *
find_folder (GPtrArray     *folders,
             HirFolderRole  role)
{
  for (guint i = 0; i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == role)
      return g_ptr_array_index (folders, i);
  g_assert_not_reached ();
  return NULL;
}

static GPtrArray *
load_messages (Mailbox       *mb,
               HirFolderRole  role)
{
  HirStore *store = hir_engine_get_store (mb->engine);
  g_autoptr(GPtrArray) folders = list_folders (mb);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  hir_store_load_messages_async (store, hir_folder_get_id (find_folder (folders, role)), 0, 1000,
                                 NULL, hir_test_async_cb, &result);
  messages = hir_store_load_messages_finish (store, hir_test_async_wait (&result), &error);
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

/* /engine/jmap/first-sync */

static void
test_first_sync (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-first");
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GPtrArray) archive = NULL;
  g_autofree char *m1 = NULL;
  g_autofree char *m3 = NULL;
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
    "Message-ID: <encoded-1@example.test>\n"
    "In-Reply-To: <parent-1@example.test>\n"
    "References: <root-1@example.test> <parent-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Bonjour, voilà le texte.\n";

  m1 = simple_message ("Plain first", "One");
  m3 = simple_message ("Archived one", "Three");
  uid = append (mb, "INBOX", m1, NULL);
  g_free (uid);
  uid = append (mb, "INBOX", encoded, "\\Seen");
  g_free (uid);
  uid = append (mb, "Archive", m3, "\\Flagged");

  mailbox_connect (mb);

  folders = list_folders (mb);
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    g_assert_nonnull (find_folder (folders, roles[i]));
  g_assert_cmpuint (hir_folder_get_total_count (find_folder (folders, HIR_FOLDER_ROLE_INBOX)), ==, 2);
  g_assert_cmpuint (hir_folder_get_unread_count (find_folder (folders, HIR_FOLDER_ROLE_INBOX)), ==, 1);
  g_assert_cmpuint (hir_folder_get_total_count (find_folder (folders, HIR_FOLDER_ROLE_ARCHIVE)), ==, 1);
  g_assert_cmpuint (hir_folder_get_total_count (find_folder (folders, HIR_FOLDER_ROLE_SENT)), ==, 0);

  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpuint (inbox->len, ==, 2);
  message = find_message (inbox, "Héllo wörld ✓");
  g_assert_nonnull (message);
  g_assert_cmpstr (hir_message_get_from_name (message), ==, "Zélie Müller");
  g_assert_cmpstr (hir_message_get_from_address (message), ==, "zelie@example.test");
  g_assert_cmpstr (hir_message_get_to (message), ==,
                   "Alice <alice@example.test>, \"Bob, the builder\" <bob@example.test>");
  g_assert_cmpstr (hir_message_get_cc (message), ==, "carol@example.test");
  g_assert_cmpstr (hir_message_get_message_id (message), ==, "encoded-1@example.test");
  g_assert_cmpstr (hir_message_get_in_reply_to (message), ==, "parent-1@example.test");
  g_assert_cmpstr (hir_message_get_references (message), ==,
                   "root-1@example.test parent-1@example.test");
  g_assert_cmpint (hir_message_get_date (message), ==, 1793611800);
  g_assert_true (g_str_has_prefix (hir_message_get_preview (message), "Bonjour, voilà"));
  g_assert_cmpint (hir_message_get_flags (message), ==, HIR_MESSAGE_FLAG_SEEN);
  g_assert_false (hir_message_get_has_attachment (message));
  g_assert_nonnull (hir_message_get_thread_id (message));
  g_assert_cmpuint (hir_message_get_size (message), >, 300);

  message = find_message (inbox, "Plain first");
  g_assert_nonnull (message);
  g_assert_cmpint (hir_message_get_flags (message), ==, HIR_MESSAGE_FLAG_NONE);
  g_assert_cmpstr (hir_message_get_sender_label (message), ==, "Carol Example");

  archive = load_messages (mb, HIR_FOLDER_ROLE_ARCHIVE);
  g_assert_cmpuint (archive->len, ==, 1);
  g_assert_cmpint (hir_message_get_flags (g_ptr_array_index (archive, 0)), ==,
                   HIR_MESSAGE_FLAG_FLAGGED);

  /* One full query: three messages fit one page. */
  g_assert_cmpuint (provider_counter (mb, "email-queries"), ==, 1);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched"), ==, 3);
}

/* /engine/jmap/delta */

static void
test_delta (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-delta");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GPtrArray) archive = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autofree char *uid_keep = NULL;
  g_autofree char *uid_gone = NULL;
  g_autofree char *uid_flag = NULL;
  g_autofree char *uid_move = NULL;
  g_autofree char *uid_new = NULL;
  g_autofree char *out = NULL;
  guint fetched;
  guint queries;
  char *eml;

  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Filler %u", i);
      g_autofree char *uid = NULL;

      eml = simple_message (subject, "filler");
      uid = append (mb, "INBOX", eml, NULL);
      g_free (eml);
    }
  eml = simple_message ("Keep me", "keep");
  uid_keep = append (mb, "INBOX", eml, NULL);
  g_free (eml);
  eml = simple_message ("Delete me", "gone");
  uid_gone = append (mb, "INBOX", eml, NULL);
  g_free (eml);
  eml = simple_message ("Flag me", "flag");
  uid_flag = append (mb, "INBOX", eml, NULL);
  g_free (eml);
  eml = simple_message ("Move me", "move");
  uid_move = append (mb, "INBOX", eml, NULL);
  g_free (eml);

  mailbox_connect (mb);
  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpuint (inbox->len, ==, 12);
  g_clear_pointer (&inbox, g_ptr_array_unref);

  /* Behind the client's back: one new, one expunged, one flagged, one moved. */
  eml = simple_message ("Brand new", "new");
  uid_new = append (mb, "INBOX", eml, NULL);
  g_free (eml);
  out = mailctl (mb, "expunge", "INBOX", uid_gone, NULL);
  g_free (out);
  out = mailctl (mb, "flag", "INBOX", uid_flag, "+\\Flagged", "+\\Seen", NULL);
  g_free (out);
  out = mailctl (mb, "move", "INBOX", uid_move, "Archive", NULL);

  fetched = provider_counter (mb, "emails-fetched");
  queries = provider_counter (mb, "email-queries");
  sync_now (mb);

  /* A delta: no new query, and only the three changed messages were fetched, not the
   * twelve. */
  g_assert_cmpuint (provider_counter (mb, "email-queries"), ==, queries);
  g_assert_cmpuint (provider_counter (mb, "email-changes"), >=, 1);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched") - fetched, <=, 3);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched") - fetched, >=, 1);

  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  archive = load_messages (mb, HIR_FOLDER_ROLE_ARCHIVE);
  g_assert_cmpuint (inbox->len, ==, 11);
  g_assert_nonnull (find_message (inbox, "Brand new"));
  g_assert_nonnull (find_message (inbox, "Keep me"));
  g_assert_null (find_message (inbox, "Delete me"));
  g_assert_null (find_message (inbox, "Move me"));
  g_assert_nonnull (find_message (archive, "Move me"));
  g_assert_cmpint (hir_message_get_flags (find_message (inbox, "Flag me")), ==,
                   HIR_MESSAGE_FLAG_FLAGGED | HIR_MESSAGE_FLAG_SEEN);

  folders = list_folders (mb);
  g_assert_cmpuint (hir_folder_get_total_count (find_folder (folders, HIR_FOLDER_ROLE_INBOX)), ==, 11);
  g_assert_cmpuint (hir_folder_get_unread_count (find_folder (folders, HIR_FOLDER_ROLE_INBOX)), ==, 10);
  g_assert_cmpuint (hir_folder_get_total_count (find_folder (folders, HIR_FOLDER_ROLE_ARCHIVE)), ==, 1);

  /* Nothing changed: nothing fetched. */
  fetched = provider_counter (mb, "emails-fetched");
  sync_now (mb);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched"), ==, fetched);
}

/* /engine/jmap/folders-live */

static void
test_folders_live (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-folders");
  g_autoptr(HirFolder) inbox = NULL;
  g_autofree char *out = NULL;
  GListModel *model;
  guint n;

  mailbox_connect (mb);
  model = hir_engine_get_folders (mb->engine, mb->account);
  g_assert_true (model == hir_engine_get_folders (mb->engine, mb->account));
  while (g_list_model_get_n_items (model) == 0)
    g_main_context_iteration (NULL, TRUE);
  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n && inbox == NULL; i++)
    {
      g_autoptr(HirFolder) folder = g_list_model_get_item (model, i);

      if (hir_folder_get_role (folder) == HIR_FOLDER_ROLE_INBOX)
        inbox = g_steal_pointer (&folder);
    }
  g_assert_nonnull (inbox);
  g_assert_cmpuint (hir_folder_get_total_count (inbox), ==, 0);

  /* A new folder and a new message: the same HirFolder object shows the new count. */
  out = mailctl (mb, "create", "Projects", NULL);
  {
    g_autofree char *eml = simple_message ("Counted", "count me");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }
  sync_now (mb);
  while (g_list_model_get_n_items (model) != n + 1 || hir_folder_get_total_count (inbox) != 1)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(HirFolder) folder = g_list_model_get_item (model, i);

      if (hir_folder_get_role (folder) == HIR_FOLDER_ROLE_INBOX)
        g_assert_true (folder == inbox);
    }
  g_assert_cmpuint (hir_folder_get_unread_count (inbox), ==, 1);

  /* Renamed on the server: the same object, the new name. */
  {
    g_autoptr(HirFolder) projects = NULL;
    g_autofree char *renamed = NULL;
    g_autofree char *deleted = NULL;

    for (guint i = 0; i < g_list_model_get_n_items (model) && projects == NULL; i++)
      {
        g_autoptr(HirFolder) folder = g_list_model_get_item (model, i);

        if (g_strcmp0 (hir_folder_get_name (folder), "Projects") == 0)
          projects = g_steal_pointer (&folder);
      }
    g_assert_nonnull (projects);

    renamed = mailctl (mb, "rename", "Projects", "Projets", NULL);
    sync_now (mb);
    while (g_strcmp0 (hir_folder_get_name (projects), "Projets") != 0)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (g_list_model_get_n_items (model), ==, n + 1);

    deleted = mailctl (mb, "delete", "Projets", NULL);
    sync_now (mb);
    while (g_list_model_get_n_items (model) != n)
      g_main_context_iteration (NULL, TRUE);
  }
}

/* /engine/jmap/unknown-folder: a message arrives in a folder the Mailbox step missed */

static gboolean inbox_has (Mailbox    *mb,
                           const char *subject);

static char *
server_mailbox_state (Mailbox *mb)
{
  HirJmapClient *client = hir_jmap_provider_get_client (provider_of (mb));
  g_autofree char *text = g_strdup_printf ("[[\"Mailbox/get\",{\"accountId\":\"%s\","
                                           "\"ids\":[]},\"m\"]]", mb->address);
  g_autoptr(JsonNode) calls = json_from_string (text, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) responses = NULL;
  JsonObject *get;

  hir_jmap_client_call_async (client, calls, NULL, hir_test_async_cb, &result);
  responses = hir_jmap_client_call_finish (client, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  get = hir_jmap_get_response (responses, 0, "Mailbox/get", &error);
  g_assert_no_error (error);
  return g_strdup (json_object_get_string_member (get, "state"));
}

static void
test_unknown_folder (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-unknown");
  g_autoptr(HirStoreChanges) changes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *state = NULL;
  g_autofree char *out = NULL;
  HirStore *store;
  gboolean found = FALSE;

  {
    g_autofree char *eml = simple_message ("Wanderer", "w");

    uid = append (mb, "INBOX", eml, NULL);
  }
  mailbox_connect (mb);
  store = hir_engine_get_store (mb->engine);

  /* The folder is made and the message moved; the stored Mailbox state is made to
   * claim we already saw that, as if the folder came between our two steps. */
  out = mailctl (mb, "create", "Side", NULL);
  g_free (out);
  out = mailctl (mb, "move", "INBOX", uid, "Side", NULL);
  state = server_mailbox_state (mb);
  changes = hir_store_changes_new (hir_account_get_id (mb->account));
  hir_store_changes_set_state (changes, "jmap:Mailbox", state);
  hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &result);
  hir_store_apply_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  sync_now (mb);
  folders = list_folders (mb);
  for (guint i = 0; i < folders->len; i++)
    if (g_strcmp0 (hir_folder_get_name (g_ptr_array_index (folders, i)), "Side") == 0)
      {
        found = TRUE;
        g_assert_cmpuint (hir_folder_get_total_count (g_ptr_array_index (folders, i)), ==, 1);
      }
  g_assert_true (found);
  g_assert_false (inbox_has (mb, "Wanderer"));
}

/* /engine/jmap/push: a local EventSource endpoint, data from Cyrus */

typedef struct
{
  SoupServer *server;
  GPtrArray *streams;   /* SoupServerMessage, open */
  guint requests;
  char *accept;
  char *types;
} EventServer;

static void
stream_finished_cb (SoupServerMessage *msg,
                    EventServer       *es)
{
  g_ptr_array_remove (es->streams, msg);
}

static void
events_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  EventServer *es = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *hello = ": hello\n\n";

  es->requests++;
  g_free (es->accept);
  es->accept = g_strdup (soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                       "Accept"));
  g_free (es->types);
  es->types = g_strdup (query ? g_hash_table_lookup (query, "types") : NULL);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC,
                            hello, strlen (hello));
  g_ptr_array_add (es->streams, msg);
  g_signal_connect (msg, "finished", G_CALLBACK (stream_finished_cb), es);
}

static void
event_server_send (EventServer *es,
                   const char  *text)
{
  for (guint i = 0; i < es->streams->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (es->streams, i);

      soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                                text, strlen (text));
      soup_server_message_unpause (msg);
    }
}

/* @port 0: any free one. */
static char *
event_server_start (EventServer *es,
                    guint        port)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;
  char *url;

  es->streams = g_ptr_array_new ();
  es->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (es->server, "/events", events_handler, es, NULL);
  soup_server_listen_local (es->server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (es->server);
  url = g_strdup_printf ("http://127.0.0.1:%d/events?types={types}&closeafter={closeafter}"
                         "&ping={ping}", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return url;
}

static void
event_server_stop (EventServer *es)
{
  soup_server_disconnect (es->server);
  g_clear_object (&es->server);
  g_clear_pointer (&es->streams, g_ptr_array_unref);
  g_clear_pointer (&es->accept, g_free);
  g_clear_pointer (&es->types, g_free);
}

static gboolean
watch_mode_is (gpointer data)
{
  gpointer *pair = data;

  return g_strcmp0 (hir_jmap_provider_get_watch_mode (pair[0]), pair[1]) == 0;
}

static void
wait_watch_mode (HirJmapProvider *provider,
                 const char      *mode)
{
  gpointer pair[] = { provider, (gpointer) mode };

  g_assert_true (hir_test_wait_until (watch_mode_is, pair, 20000));
}

static void
count_cb (gpointer  instance,
          gpointer  account,
          guint    *counter)
{
  (*counter)++;
}

static void
count_error_cb (gpointer      instance,
                gpointer      account,
                const GError *error,
                guint        *counter)
{
  (*counter)++;
}

typedef struct
{
  guint *counter;
  guint at_least;
} CountWait;

static gboolean
count_reached (gpointer data)
{
  CountWait *wait = data;

  return *wait->counter >= wait->at_least;
}

/* Signals come from the servers' pace: wait for them, never for a fixed time. */
static void
wait_count (guint *counter,
            guint  at_least)
{
  CountWait wait = { counter, at_least };

  g_assert_true (hir_test_wait_until (count_reached, &wait, 30000));
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

static gboolean
inbox_has (Mailbox    *mb,
           const char *subject)
{
  g_autoptr(GPtrArray) inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);

  return find_message (inbox, subject) != NULL;
}

static void
test_push (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-push");
  EventServer es = { 0 };
  g_autofree char *url = event_server_start (&es, 0);
  g_autofree char *event = NULL;
  g_autofree char *other = NULL;
  HirJmapProvider *provider;
  guint finished = 0;
  guint pings;

  mailbox_connect (mb);
  provider = provider_of (mb);
  /* Only push may wake the engine in this test. */
  hir_jmap_provider_set_poll_interval (provider, 3600);
  hir_jmap_provider_set_event_source_url (provider, url);
  g_signal_connect (mb->engine, "sync-finished", G_CALLBACK (count_cb), &finished);

  hir_engine_start (mb->engine);
  wait_watch_mode (provider, "push");
  g_assert_cmpuint (es.requests, ==, 1);
  g_assert_cmpstr (es.accept, ==, "text/event-stream");
  g_assert_cmpstr (es.types, ==, "Email,Mailbox");
  wait_count (&finished, 1);

  {
    g_autofree char *eml = simple_message ("Pushed", "push");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }
  g_assert_false (inbox_has (mb, "Pushed"));

  /* A change of some other account is not ours; a ping is nothing. */
  pings = finished;
  other = g_strdup ("event: ping\ndata: {\"interval\":30}\n\n"
                    "event: state\ndata: {\"@type\":\"StateChange\",\"changed\":"
                    "{\"nobody@example.test\":{\"Email\":\"9\"}}}\n\n");
  event_server_send (&es, other);

  event = g_strdup_printf ("event: state\r\ndata: {\"@type\":\"StateChange\",\r\n"
                           "data: \"changed\":{\"%s\":{\"Email\":\"42\"}}}\r\n\r\n",
                           mb->address);
  event_server_send (&es, event);
  wait_count (&finished, pings + 1);
  g_assert_true (inbox_has (mb, "Pushed"));
  g_assert_cmpstr (hir_jmap_provider_get_watch_mode (provider), ==, "push");

  /* The stream ends: the provider falls back to polling… */
  hir_jmap_provider_set_poll_interval (provider, 1);
  {
    g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_PARSE_RELAXED, NULL);
    guint port = g_uri_get_port (uri);
    g_autofree char *again = NULL;

    event_server_stop (&es);
    wait_watch_mode (provider, "poll");

    /* …and gets push back when the server returns. */
    again = event_server_start (&es, port);
    wait_watch_mode (provider, "push");
    g_assert_cmpuint (es.requests, >=, 1);
    event_server_stop (&es);
  }
}

/* /engine/jmap/coalesce: a burst of announcements costs two syncs, not ten */

static void
test_coalesce (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-coalesce");
  HirJmapProvider *provider;
  guint finished = 0;
  guint before;

  mailbox_connect (mb);
  provider = provider_of (mb);
  hir_jmap_provider_set_poll_interval (provider, 3600);
  g_signal_connect (mb->engine, "sync-finished", G_CALLBACK (count_cb), &finished);
  hir_engine_start (mb->engine);
  wait_count (&finished, 1);
  wait_watch_mode (provider, "poll");

  /* One sync runs, one more is pending however many follow. */
  before = finished;
  for (guint i = 0; i < 10; i++)
    hir_provider_emit_remote_changed (HIR_PROVIDER (provider));
  g_assert_true (hir_account_get_syncing (mb->account));
  wait_count (&finished, before + 2);
  g_assert_false (hir_account_get_syncing (mb->account));
  g_assert_cmpuint (finished, ==, before + 2);
}

/* /engine/jmap/poll-fallback: Cyrus's own eventSourceUrl answers 204 */

static void
test_poll_fallback (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-poll");
  HirJmapProvider *provider;
  guint finished = 0;
  guint before;

  mailbox_connect (mb);
  provider = provider_of (mb);
  g_assert_nonnull (hir_jmap_client_get_event_source_url (hir_jmap_provider_get_client (provider)));
  hir_jmap_provider_set_poll_interval (provider, 1);
  g_signal_connect (mb->engine, "sync-finished", G_CALLBACK (count_cb), &finished);

  hir_engine_start (mb->engine);
  wait_watch_mode (provider, "poll");

  {
    g_autofree char *eml = simple_message ("Polled", "poll");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }
  before = finished;
  while (!inbox_has (mb, "Polled"))
    {
      g_assert_cmpuint (finished, <, before + 20);
      wait_count (&finished, finished + 1);
    }
}

/* /engine/jmap/restart */

static void
test_restart (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-restart");
  g_autofree char *profile = NULL;

  {
    g_autofree char *eml = simple_message ("Before restart", "before");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }
  mailbox_connect (mb);
  profile = g_strdup (hir_test_engine_get_profile (mb->engine));

  g_clear_object (&mb->account);
  hir_engine_stop (mb->engine);
  {
    HirEngine *engine = g_steal_pointer (&mb->engine);

    g_object_add_weak_pointer (G_OBJECT (engine), (gpointer *) &engine);
    g_object_unref (engine);
    g_assert_true (hir_test_wait_until (engine_gone, &engine, 10000));
  }

  {
    g_autofree char *eml = simple_message ("After restart", "after");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }

  /* The same profile: accounts.conf, the store and its states are all there. */
  mb->engine = hir_test_engine_new_in (profile);
  mb->account = hir_engine_find_account (mb->engine, mb->address);
  g_assert_nonnull (mb->account);
  g_object_ref (mb->account);
  sync_now (mb);

  g_assert_cmpuint (provider_counter (mb, "email-queries"), ==, 0);
  g_assert_cmpuint (provider_counter (mb, "email-changes"), >=, 1);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched"), ==, 1);
  g_assert_true (inbox_has (mb, "Before restart"));
  g_assert_true (inbox_has (mb, "After restart"));
}

/* /engine/jmap/state-mismatch */

static void
test_state_mismatch (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-mismatch");
  g_autoptr(HirStoreChanges) changes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  HirStore *store;

  {
    g_autofree char *eml = simple_message ("Survivor", "s");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }
  mailbox_connect (mb);
  store = hir_engine_get_store (mb->engine);

  /* A state the server cannot compute changes from. */
  changes = hir_store_changes_new (hir_account_get_id (mb->account));
  hir_store_changes_set_state (changes, "jmap:Email", "0000-no-such-state");
  hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &result);
  hir_store_apply_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  sync_now (mb);
  g_assert_true (inbox_has (mb, "Survivor"));
  g_assert_cmpuint (provider_counter (mb, "email-queries"), >=, 2);
}

/* /engine/jmap/interrupted-first-sync */

static void
test_interrupted_first_sync (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-interrupt");
  g_autoptr(HirStoreChanges) changes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *out = NULL;
  HirStore *store;
  guint queries;

  {
    g_autofree char *eml = simple_message ("Stays", "s");
    g_autofree char *uid_stays = append (mb, "INBOX", eml, NULL);
  }
  {
    g_autofree char *eml = simple_message ("Goes while we are away", "g");

    uid = append (mb, "INBOX", eml, NULL);
  }
  mailbox_connect (mb);
  store = hir_engine_get_store (mb->engine);

  /* As if the first sync had stopped after its pages but before its last step: folders
   * known, no Email state. Meanwhile a message goes. */
  changes = hir_store_changes_new (hir_account_get_id (mb->account));
  hir_store_changes_set_state (changes, "jmap:Email", NULL);
  hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &result);
  hir_store_apply_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  out = mailctl (mb, "expunge", "INBOX", uid, NULL);

  queries = provider_counter (mb, "email-queries");
  sync_now (mb);
  g_assert_cmpuint (provider_counter (mb, "email-queries"), ==, queries + 1);
  g_assert_true (inbox_has (mb, "Stays"));
  g_assert_false (inbox_has (mb, "Goes while we are away"));
}

/* /engine/jmap/paging: full sync in several pipelined pages, deltas in several rounds */

static void
forget_email_state (Mailbox *mb)
{
  HirStore *store = hir_engine_get_store (mb->engine);
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (hir_account_get_id (mb->account));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_store_changes_set_state (changes, "jmap:Email", NULL);
  hir_store_apply_async (store, changes, NULL, hir_test_async_cb, &result);
  hir_store_apply_finish (store, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static void
test_paging (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-paging");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GPtrArray) uids = g_ptr_array_new_with_free_func (g_free);
  HirJmapProvider *provider;
  guint queries;
  guint changes;
  guint fetched;

  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Paged %02u", i);
      g_autofree char *eml = simple_message (subject, "p");

      g_ptr_array_add (uids, append (mb, "INBOX", eml, NULL));
    }
  mailbox_connect (mb);
  provider = provider_of (mb);
  g_object_set (provider, "page-size", 5, NULL);

  /* A full sync again, in pages of 5, 5 and 2. */
  forget_email_state (mb);
  queries = provider_counter (mb, "email-queries");
  fetched = provider_counter (mb, "emails-fetched");
  sync_now (mb);
  g_assert_cmpuint (provider_counter (mb, "email-queries") - queries, ==, 3);
  g_assert_cmpuint (provider_counter (mb, "emails-fetched") - fetched, ==, 12);
  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpuint (inbox->len, ==, 12);
  for (guint i = 0; i < 12; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Paged %02u", i);

      g_assert_nonnull (find_message (inbox, subject));
    }

  /* Eleven changes, at most two per round: the delta loops until it has them all. */
  g_object_set (provider, "page-size", 2, NULL);
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *out = mailctl (mb, "flag", "INBOX", g_ptr_array_index (uids, i),
                                      "+\\Seen", NULL);
    }
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Later %u", i);
      g_autofree char *eml = simple_message (subject, "l");
      g_autofree char *uid = append (mb, "INBOX", eml, NULL);
    }
  changes = provider_counter (mb, "email-changes");
  sync_now (mb);
  g_assert_cmpuint (provider_counter (mb, "email-changes") - changes, >=, 3);
  g_clear_pointer (&inbox, g_ptr_array_unref);
  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpuint (inbox->len, ==, 17);
  {
    g_autoptr(GPtrArray) folders = list_folders (mb);

    g_assert_cmpuint (hir_folder_get_unread_count (find_folder (folders, HIR_FOLDER_ROLE_INBOX)),
                      ==, 11);
  }
}

/* /engine/jmap/body */

static char *
wrap_base64 (const guchar *data,
             gsize         len)
{
  g_autofree char *b64 = g_base64_encode (data, len);
  GString *out = g_string_new (NULL);
  gsize total = strlen (b64);

  for (gsize i = 0; i < total; i += 76)
    {
      g_string_append_len (out, b64 + i, MIN (76, total - i));
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static void
test_body (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-body");
  guchar pdf[5000];
  guchar png[700];
  g_autofree char *pdf_b64 = NULL;
  g_autofree char *png_b64 = NULL;
  g_autofree char *eml = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *pdf_sum = NULL;
  g_autofree char *png_sum = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(HirAttachment) image = NULL;
  g_autoptr(HirAttachment) file = NULL;
  g_autofree char *cache_path = NULL;
  g_autofree char *blob_hash = NULL;
  HirMessage *message;
  GListModel *attachments;

  for (guint i = 0; i < sizeof pdf; i++)
    pdf[i] = (guchar) g_random_int ();
  for (guint i = 0; i < sizeof png; i++)
    png[i] = (guchar) (i * 7);
  pdf_b64 = wrap_base64 (pdf, sizeof pdf);
  png_b64 = wrap_base64 (png, sizeof png);
  pdf_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, pdf, sizeof pdf);
  png_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, png, sizeof png);

  eml = g_strdup_printf (
    "From: Dan <dan@example.test>\n"
    "To: alice@example.test\n"
    "Subject: Report with pictures\n"
    "Date: Wed, 04 Nov 2026 08:00:00 +0000\n"
    "Message-ID: <body-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/related; boundary=\"rel\"\n"
    "\n"
    "--rel\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Voil=E0 the report.\n"
    "--alt\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>Voilà the <b>report</b>.</p><img src=\"cid:chart@example.test\">\n"
    "--alt--\n"
    "--rel\n"
    "Content-Type: image/png\n"
    "Content-ID: <chart@example.test>\n"
    "Content-Disposition: inline; filename=\"chart.png\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "%s"
    "--rel--\n"
    "--outer\n"
    "Content-Type: application/pdf\n"
    "Content-Disposition: attachment;\n"
    " filename*=utf-8''Rapport%%20%%C3%%A9t%%C3%%A9%%20%%2F%%20%%3F%%232026.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "%s"
    "--outer--\n", png_b64, pdf_b64);
  uid = append (mb, "INBOX", eml, NULL);
  mailbox_connect (mb);

  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  message = find_message (inbox, "Report with pictures");
  g_assert_nonnull (message);
  g_assert_true (hir_message_get_has_attachment (message));

  hir_engine_load_body_async (mb->engine, message, NULL, hir_test_async_cb, &result);
  body = hir_engine_load_body_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hir_message_body_get_text (body), ==, "Voilà the report.");
  g_assert_nonnull (hir_message_body_get_html (body));
  g_assert_nonnull (strstr (hir_message_body_get_html (body), "<b>report</b>"));
  g_assert_nonnull (strstr (hir_message_body_get_html (body), "cid:chart@example.test"));

  attachments = hir_message_body_get_attachments (body);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 2);
  image = g_list_model_get_item (attachments, 0);
  file = g_list_model_get_item (attachments, 1);
  g_assert_cmpstr (hir_attachment_get_content_type (image), ==, "image/png");
  g_assert_cmpstr (hir_attachment_get_content_id (image), ==, "chart@example.test");
  g_assert_true (hir_attachment_get_inline (image));
  g_assert_true (hir_message_body_find_by_content_id (body, "chart@example.test") == image);
  /* A name that needs escaping in the download URL: spaces, accents, / ? #. */
  g_assert_cmpstr (hir_attachment_get_filename (file), ==, "Rapport été / ?#2026.pdf");
  g_assert_cmpstr (hir_attachment_get_content_type (file), ==, "application/pdf");
  g_assert_false (hir_attachment_get_inline (file));

  g_clear_object (&result);
  hir_engine_load_attachment_async (mb->engine, message, file, NULL, hir_test_async_cb, &result);
  bytes = hir_engine_load_attachment_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  {
    g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);

    g_assert_cmpstr (sum, ==, pdf_sum);
  }

  /* Cached under the account, named by the blob id's hash. */
  blob_hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, hir_attachment_get_blob_id (file),
                                             -1);
  cache_path = g_build_filename (hir_test_engine_get_profile (mb->engine), "cache", mb->address,
                                 blob_hash, NULL);
  g_assert_true (g_file_test (cache_path, G_FILE_TEST_IS_REGULAR));

  g_clear_object (&result);
  hir_engine_load_attachment_async (mb->engine, message, image, NULL, hir_test_async_cb, &result);
  again = hir_engine_load_attachment_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  {
    g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, again);

    g_assert_cmpstr (sum, ==, png_sum);
  }

  /* The second time, the body comes from the store: no request. */
  {
    HirJmapClient *client = hir_jmap_provider_get_client (provider_of (mb));
    guint requests = hir_jmap_client_get_request_count (client);
    g_autoptr(HirMessageBody) cached = NULL;

    g_clear_object (&result);
    hir_engine_load_body_async (mb->engine, message, NULL, hir_test_async_cb, &result);
    cached = hir_engine_load_body_finish (mb->engine, hir_test_async_wait (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpstr (hir_message_body_get_text (cached), ==, "Voilà the report.");
    g_assert_cmpuint (hir_jmap_client_get_request_count (client), ==, requests);
  }
}

/* /engine/jmap/set-flags */

static void
test_set_flags (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-flags");
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *uid = NULL;
  HirMessage *message;

  {
    g_autofree char *eml = simple_message ("Mark me", "m");

    uid = append (mb, "INBOX", eml, NULL);
  }
  mailbox_connect (mb);
  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  message = g_ptr_array_index (inbox, 0);

  hir_engine_set_flags_async (mb->engine, message,
                              HIR_MESSAGE_FLAG_SEEN | HIR_MESSAGE_FLAG_FLAGGED, NULL,
                              hir_test_async_cb, &result);
  hir_engine_set_flags_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  listing = mailctl (mb, "list", "INBOX", NULL);
  g_assert_nonnull (strstr (listing, "\\Seen"));
  g_assert_nonnull (strstr (listing, "\\Flagged"));
  g_clear_pointer (&inbox, g_ptr_array_unref);
  inbox = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
  g_assert_cmpint (hir_message_get_flags (g_ptr_array_index (inbox, 0)), ==,
                   HIR_MESSAGE_FLAG_SEEN | HIR_MESSAGE_FLAG_FLAGGED);

  /* Back to unread: the patch removes only what the flags cover. */
  g_clear_object (&result);
  hir_engine_set_flags_async (mb->engine, g_ptr_array_index (inbox, 0), HIR_MESSAGE_FLAG_FLAGGED,
                              NULL, hir_test_async_cb, &result);
  hir_engine_set_flags_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_free (listing);
  listing = mailctl (mb, "list", "INBOX", NULL);
  g_assert_null (strstr (listing, "\\Seen"));
  g_assert_nonnull (strstr (listing, "\\Flagged"));

  /* Gone on the server before we heard of it: refused, and the store is put back. */
  {
    g_autofree char *out = mailctl (mb, "expunge", "INBOX", uid, NULL);
    HirMessage *stale = g_ptr_array_index (inbox, 0);
    g_autoptr(GPtrArray) again = NULL;

    g_clear_object (&result);
    hir_engine_set_flags_async (mb->engine, stale, HIR_MESSAGE_FLAG_SEEN, NULL,
                                hir_test_async_cb, &result);
    g_assert_false (hir_engine_set_flags_finish (mb->engine, hir_test_async_wait (&result),
                                                 &error));
    g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
    g_assert_cmpint (hir_message_get_flags (stale), ==, HIR_MESSAGE_FLAG_FLAGGED);
    again = load_messages (mb, HIR_FOLDER_ROLE_INBOX);
    g_assert_cmpint (hir_message_get_flags (g_ptr_array_index (again, 0)), ==,
                     HIR_MESSAGE_FLAG_FLAGGED);
  }
}

/* /engine/jmap/auth-failed */

static void
test_auth_failed (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-auth");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *config = NULL;
  g_autofree char *pw_path = NULL;
  g_autofree char *profile = NULL;
  HirJmapClient *client;
  guint errors = 0;
  guint requests;

  /* Adding with a wrong password: refused, and nothing is saved. */
  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  g_assert_false (add_account (mb->engine, mb->account, "not-the-password", &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_AUTH_FAILED);
  g_assert_cmpuint (g_list_model_get_n_items (hir_engine_get_accounts (mb->engine)), ==, 0);
  config = g_build_filename (hir_test_engine_get_profile (mb->engine), "config", "accounts.conf",
                             NULL);
  g_assert_false (g_file_test (config, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* A configured account whose password has changed since: one refusal, no retries. */
  profile = g_strdup (hir_test_engine_get_profile (mb->engine));
  g_ptr_array_add (accounts, g_object_ref (mb->account));
  hir_account_config_save (config, accounts, &error);
  g_assert_no_error (error);
  pw_path = g_build_filename (mb->dir, "password", NULL);
  g_file_set_contents (pw_path, "changed-since", -1, &error);
  g_assert_no_error (error);
  g_clear_object (&mb->account);
  g_clear_object (&mb->engine);

  mb->engine = hir_test_engine_new_in (profile);
  mb->account = g_object_ref (hir_engine_find_account (mb->engine, mb->address));
  g_signal_connect (mb->engine, "sync-error", G_CALLBACK (count_error_cb), &errors);
  hir_engine_start (mb->engine);
  wait_count (&errors, 1);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_AUTH_FAILED);
  g_assert_nonnull (hir_account_get_status_message (mb->account));
  client = hir_jmap_provider_get_client (provider_of (mb));
  requests = hir_jmap_client_get_request_count (client);
  g_assert_cmpuint (requests, ==, 1);

  /* Longer than the first network retry (5 s): an auth failure is not retried. */
  hir_test_wait_until (never, NULL, 6500);
  g_assert_cmpuint (errors, ==, 1);
  g_assert_cmpuint (hir_jmap_client_get_request_count (client), ==, requests);
  g_assert_cmpstr (hir_jmap_provider_get_watch_mode (provider_of (mb)), ==, "none");

  /* The right password brings it back. */
  {
    g_autoptr(GAsyncResult) result = NULL;

    hir_engine_set_password_async (mb->engine, mb->account, mb->password, NULL,
                                   hir_test_async_cb, &result);
    hir_engine_set_password_finish (mb->engine, hir_test_async_wait (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);
  }
}

/* /engine/jmap/unreachable */

static void
test_unreachable (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-unreach");
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  guint16 port;

  /* A port that was just free: nothing listens there once the listener is gone. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
  url = g_strdup_printf ("http://127.0.0.1:%u/.well-known/jmap", port);

  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb, url);
  g_assert_false (add_account (mb->engine, mb->account, mb->password, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_UNREACHABLE);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_UNREACHABLE);
  g_clear_error (&error);

  /* A configured account whose server is down: the engine tries again by itself (the
   * first retry comes after 5 s). */
  {
    g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);
    g_autofree char *profile = g_strdup (hir_test_engine_get_profile (mb->engine));
    g_autofree char *config = g_build_filename (profile, "config", "accounts.conf", NULL);
    guint errors = 0;

    g_ptr_array_add (accounts, g_object_ref (mb->account));
    hir_account_config_save (config, accounts, &error);
    g_assert_no_error (error);
    g_clear_object (&mb->account);
    g_clear_object (&mb->engine);

    mb->engine = hir_test_engine_new_in (profile);
    mb->account = g_object_ref (hir_engine_find_account (mb->engine, mb->address));
    g_signal_connect (mb->engine, "sync-error", G_CALLBACK (count_error_cb), &errors);
    hir_engine_start (mb->engine);
    wait_count (&errors, 1);
    g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_UNREACHABLE);
    g_assert_false (hir_account_get_syncing (mb->account));
    wait_count (&errors, 2);
  }
}

/* /engine/jmap/certificate */

static void
test_certificate (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-tls");
  const char *url = hir_test_server_get ("HIR_TEST_JMAPS_URL");
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *fingerprint = NULL;
  GTlsCertificateFlags flags = 0;

  {
    g_autofree char *eml = simple_message ("Over TLS", "tls");
    g_autofree char *uid = append (mb, "INBOX", eml, NULL);
  }

  /* Not pinned: refused, with the fingerprint in the message for the user to check. */
  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb, url);
  g_assert_false (add_account (mb->engine, mb->account, mb->password, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
  g_assert_nonnull (strstr (error->message, "sha256:"));
  g_assert_cmpint (hir_account_get_status (mb->account), ==,
                   HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED);
  g_clear_error (&error);

  hir_jmap_fetch_certificate_async (url, NULL, hir_test_async_cb, &result);
  fingerprint = hir_jmap_fetch_certificate_finish (hir_test_async_wait (&result), &flags, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (fingerprint, "sha256:"));
  g_assert_cmpint (flags & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
  {
    g_autofree char *reasons = hir_jmap_describe_certificate_errors (flags);

    g_assert_nonnull (strstr (reasons, "unknown authority"));
  }

  /* A wrong pin is no better than none. */
  hir_account_set_trusted_certificate (mb->account, "sha256:0000");
  g_assert_false (add_account (mb->engine, mb->account, mb->password, &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
  g_clear_error (&error);

  /* Pinned, in upper case with colons as some tools print it. */
  {
    g_autoptr(GString) shown = g_string_new ("SHA256:");

    for (const char *p = fingerprint + 7; *p; p += 2)
      g_string_append_printf (shown, "%s%c%c", p == fingerprint + 7 ? "" : ":",
                              g_ascii_toupper (p[0]), g_ascii_toupper (p[1]));
    hir_account_set_trusted_certificate (mb->account, shown->str);
  }
  add_account (mb->engine, mb->account, mb->password, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_status (mb->account), ==, HIR_ACCOUNT_STATUS_ONLINE);
  g_assert_true (inbox_has (mb, "Over TLS"));
}

/* /engine/jmap/keyring: the password in the Secret Service (build-aux/test runs a
 * private keyring; without one the test is skipped) */

static gboolean
keyring_available (void)
{
  g_autoptr(HirAccount) probe = hir_account_new (HIR_ACCOUNT_KIND_JMAP, "probe@example.test");
  g_autoptr(GError) error = NULL;

  if (hir_secrets_store_sync (probe, "probe", NULL, &error))
    {
      hir_secrets_clear_sync (probe, NULL, NULL);
      return TRUE;
    }
  g_test_message ("no keyring: %s", error->message);
  return FALSE;
}

static void
test_keyring (void)
{
  g_autoptr(Mailbox) mb = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *stored = NULL;

  if (!keyring_available ())
    {
      g_test_skip ("No Secret Service here");
      return;
    }

  mb = mailbox_new ("jmap-keyring");
  mb->engine = hir_test_engine_new ();
  mb->account = new_account (mb, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  hir_account_set_password_command (mb->account, NULL);

  /* Refused: the password that was stored for the attempt is gone again. */
  g_assert_false (add_account (mb->engine, mb->account, "wrong", &error));
  g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
  g_clear_error (&error);
  stored = hir_secrets_lookup_sync (mb->account, NULL, &error);
  g_assert_null (stored);
  g_clear_error (&error);

  add_account (mb->engine, mb->account, mb->password, &error);
  g_assert_no_error (error);
  stored = hir_secrets_lookup_sync (mb->account, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stored, ==, mb->password);
  g_clear_pointer (&stored, g_free);

  /* A restart finds it there. */
  {
    g_autofree char *profile = g_strdup (hir_test_engine_get_profile (mb->engine));

    g_clear_object (&mb->account);
    g_clear_object (&mb->engine);
    mb->engine = hir_test_engine_new_in (profile);
    mb->account = g_object_ref (hir_engine_find_account (mb->engine, mb->address));
    sync_now (mb);
  }

  hir_engine_remove_account_async (mb->engine, mb->account, NULL, hir_test_async_cb, &result);
  hir_engine_remove_account_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  stored = hir_secrets_lookup_sync (mb->account, NULL, &error);
  g_assert_null (stored);
}

/* /engine/jmap/remove-account */

static void
test_remove_account (void)
{
  g_autoptr(Mailbox) mb = mailbox_new ("jmap-remove");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  mailbox_connect (mb);
  hir_engine_remove_account_async (mb->engine, mb->account, NULL, hir_test_async_cb, &result);
  hir_engine_remove_account_finish (mb->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_null (hir_engine_find_account (mb->engine, mb->address));
  folders = list_folders (mb);
  g_assert_cmpuint (folders->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/jmap/first-sync", test_first_sync);
  g_test_add_func ("/engine/jmap/delta", test_delta);
  g_test_add_func ("/engine/jmap/folders-live", test_folders_live);
  g_test_add_func ("/engine/jmap/unknown-folder", test_unknown_folder);
  g_test_add_func ("/engine/jmap/push", test_push);
  g_test_add_func ("/engine/jmap/poll-fallback", test_poll_fallback);
  g_test_add_func ("/engine/jmap/coalesce", test_coalesce);
  g_test_add_func ("/engine/jmap/restart", test_restart);
  g_test_add_func ("/engine/jmap/state-mismatch", test_state_mismatch);
  g_test_add_func ("/engine/jmap/interrupted-first-sync", test_interrupted_first_sync);
  g_test_add_func ("/engine/jmap/paging", test_paging);
  g_test_add_func ("/engine/jmap/body", test_body);
  g_test_add_func ("/engine/jmap/set-flags", test_set_flags);
  g_test_add_func ("/engine/jmap/auth-failed", test_auth_failed);
  g_test_add_func ("/engine/jmap/unreachable", test_unreachable);
  g_test_add_func ("/engine/jmap/certificate", test_certificate);
  g_test_add_func ("/engine/jmap/keyring", test_keyring);
  g_test_add_func ("/engine/jmap/remove-account", test_remove_account);

  return g_test_run ();
}
