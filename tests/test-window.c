/* test-window.c: the main window over a real engine and the real JMAP server
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "hir-message-row.h"
#include "hir-test-util.h"
#include "hir-window.h"

#define TIMEOUT_MS 30000

typedef struct
{
  char       *address;
  char       *password;
  char       *dir;
  HirEngine  *engine;
  HirAccount *account;
} Fixture;

static void
fixture_clear (Fixture *fx)
{
  g_clear_object (&fx->account);
  g_clear_object (&fx->engine);
  g_free (fx->address);
  g_free (fx->password);
  g_free (fx->dir);
}

#define mailctl(fx, ...) hir_test_mailctl ((fx)->address, (fx)->password, __VA_ARGS__)

static char *
append_full (Fixture    *fx,
             const char *subject,
             const char *minute,
             const char *flag,
             const char *content_type,
             const char *body)
{
  static guint n;
  g_autofree char *eml = NULL;

  n++;
  eml = g_strdup_printf ("From: Carol Example <carol@example.test>\n"
                         "To: %s\n"
                         "Subject: %s\n"
                         "Date: Tue, 03 Nov 2026 10:%s:00 +0100\n"
                         "Message-ID: <window-%u-%u@example.test>\n"
                         "MIME-Version: 1.0\n"
                         "Content-Type: %s; charset=utf-8\n"
                         "\n"
                         "%s\n",
                         fx->address, subject, minute, n, g_random_int (), content_type, body);
  return hir_test_append (fx->address, fx->password, "INBOX", eml, flag);
}

static char *
append (Fixture    *fx,
        const char *subject,
        const char *minute,
        const char *flag)
{
  return append_full (fx, subject, minute, flag, "text/plain",
                      "Hello,\n\n> a quoted line\n\nSee https://example.test/");
}

static void
fixture_connect (Fixture *fx)
{
  g_autofree char *pw_path = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;

  hir_test_new_user ("window", &fx->address, &fx->password);
  fx->dir = hir_test_make_tmpdir ("window");
  fx->engine = hir_test_engine_new ();

  /* A password command keeps the test off the keyring. */
  pw_path = g_build_filename (fx->dir, "password", NULL);
  g_file_set_contents_full (pw_path, fx->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  quoted = g_shell_quote (pw_path);
  command = g_strdup_printf ("cat %s", quoted);

  fx->account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, fx->address);
  hir_account_set_jmap_url (fx->account, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  hir_account_set_display_name (fx->account, "Window Test");
  hir_account_set_password_command (fx->account, command);
}

static void
fixture_add_account (Fixture *fx)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_engine_add_account_async (fx->engine, fx->account, fx->password, NULL,
                                hir_test_async_cb, &result);
  hir_engine_add_account_finish (fx->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  hir_engine_start (fx->engine);
}

/* Widget tree helpers: the test checks what the window shows. */

static GtkWidget *
find_widget (GtkWidget *root,
             gboolean  (*match) (GtkWidget *widget, gconstpointer data),
             gconstpointer data)
{
  if (match (root, data))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_mapped_label (GtkWidget     *widget,
                 gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
         g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0;
}

static gboolean
label_contains (GtkWidget     *widget,
                gconstpointer  text)
{
  return GTK_IS_LABEL (widget) && strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL;
}

static gboolean
is_row_of (GtkWidget     *widget,
           gconstpointer  message)
{
  return HIR_IS_MESSAGE_ROW (widget) &&
         hir_message_row_get_message (HIR_MESSAGE_ROW (widget)) == message;
}

static gboolean
has_css_class (GtkWidget     *widget,
               gconstpointer  name)
{
  return gtk_widget_has_css_class (widget, name);
}

static gboolean
is_mapped_status_page (GtkWidget     *widget,
                       gconstpointer  title)
{
  return ADW_IS_STATUS_PAGE (widget) && gtk_widget_get_mapped (widget) &&
         g_strcmp0 (adw_status_page_get_title (ADW_STATUS_PAGE (widget)), title) == 0;
}

static gboolean
is_list_view (GtkWidget     *widget,
              gconstpointer  css_class)
{
  return GTK_IS_LIST_VIEW (widget) && gtk_widget_has_css_class (widget, css_class);
}

/* Conditions */

typedef struct
{
  GtkWidget *root;
  gboolean (*match) (GtkWidget *widget, gconstpointer data);
  gconstpointer data;
} Find;

static gboolean
found (gpointer data)
{
  Find *find = data;

  return find_widget (find->root, find->match, find->data) != NULL;
}

static gboolean
inbox_shown (gpointer data)
{
  HirFolder *folder = hir_window_get_folder (data);

  return folder != NULL && hir_folder_get_role (folder) == HIR_FOLDER_ROLE_INBOX;
}

typedef struct
{
  HirWindow  *window;
  const char *subject;
  guint       position;
  HirMessage *message;
} Lookup;

/* Asks for every row (placeholders fill in place) until the subject shows up. */
static gboolean
message_listed (gpointer data)
{
  Lookup *lookup = data;
  GtkSingleSelection *selection = hir_window_get_message_selection (lookup->window);
  guint n;

  if (selection == NULL)
    return FALSE;
  n = g_list_model_get_n_items (G_LIST_MODEL (selection));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirMessage) message = g_list_model_get_item (G_LIST_MODEL (selection), i);

      if (hir_message_get_loaded (message) &&
          g_strcmp0 (hir_message_get_subject (message), lookup->subject) == 0)
        {
          lookup->position = i;
          g_set_object (&lookup->message, message);
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
message_seen (gpointer data)
{
  return hir_message_get_seen (data);
}

static gboolean
message_flagged (gpointer data)
{
  return hir_message_get_flagged (data);
}

static gboolean
message_unflagged (gpointer data)
{
  return !hir_message_get_flagged (data);
}

static gboolean
reader_done (gpointer data)
{
  HirReader *reader = data;

  return hir_reader_get_message (reader) != NULL && !hir_reader_get_loading (reader);
}

/* The server's view, through IMAP: polled at most every 300 ms. */
typedef struct
{
  Fixture    *fx;
  const char *uid;
  const char *flag;
  gboolean    present;
  gint64      last_poll;
  gboolean    seen;
} ServerFlag;

static gboolean
server_flag_is (gpointer data)
{
  ServerFlag *check = data;
  g_autofree char *listing = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 now = g_get_monotonic_time ();

  if (check->seen)
    return TRUE;
  if (now - check->last_poll < 300 * G_TIME_SPAN_MILLISECOND)
    {
      g_main_context_wakeup (NULL);
      return FALSE;
    }
  check->last_poll = now;

  listing = mailctl (check->fx, "list", "INBOX", NULL);
  lines = g_strsplit (listing, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 3);

      if (g_strv_length (fields) >= 2 && g_strcmp0 (fields[0], check->uid) == 0)
        {
          check->seen = (strstr (fields[1], check->flag) != NULL) == check->present;
          return check->seen;
        }
    }
  return FALSE;
}

static gboolean
timeout_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_for_server_flag (Fixture    *fx,
                      const char *uid,
                      const char *flag,
                      gboolean    present)
{
  ServerFlag check = { fx, uid, flag, present, 0, FALSE };
  guint tick = g_timeout_add (100, timeout_tick, NULL);

  if (!hir_test_wait_until (server_flag_is, &check, TIMEOUT_MS))
    {
      g_autofree char *listing = mailctl (fx, "list", "INBOX", NULL);

      g_error ("The server never %s %s on UID %s:\n%s", present ? "got" : "dropped", flag, uid,
               listing);
    }
  g_source_remove (tick);
}

static gboolean
message_unlisted (gpointer data)
{
  Lookup lookup = *(Lookup *) data;
  gboolean listed;

  lookup.message = NULL;
  listed = message_listed (&lookup);
  g_clear_object (&lookup.message);
  return !listed;
}

/* A subject in a server folder, polled at most every 300 ms. */
typedef struct
{
  Fixture    *fx;
  const char *folder;
  const char *subject;
  gint64      last_poll;
  gboolean    seen;
} ServerHas;

static gboolean
server_has (gpointer data)
{
  ServerHas *check = data;
  g_autofree char *listing = NULL;
  g_autofree char *needle = NULL;
  gint64 now = g_get_monotonic_time ();

  /* hir_test_wait_until asks once more after the answer: it must stay TRUE. */
  if (check->seen)
    return TRUE;
  if (now - check->last_poll < 300 * G_TIME_SPAN_MILLISECOND)
    {
      g_main_context_wakeup (NULL);
      return FALSE;
    }
  check->last_poll = now;
  listing = mailctl (check->fx, "list", check->folder, NULL);
  needle = g_strdup_printf ("\t%s\n", check->subject);
  check->seen = strstr (listing, needle) != NULL;
  return check->seen;
}

static gboolean
only_our_ref (gpointer data)
{
  return G_OBJECT (data)->ref_count == 1;
}

static void
test_open_and_flag (void)
{
  Fixture fx = { 0 };
  g_autofree char *uid = NULL;
  g_autofree char *old_uid = NULL;
  HirWindow *window;
  HirReader *reader;
  GtkWidget *list_view;
  GtkWidget *row;
  GtkWidget *dot;
  Lookup lookup = { NULL, "Window test: open me", 0, NULL };
  Find find;

  fixture_connect (&fx);
  old_uid = append (&fx, "An older message, already read", "01", "\\Seen");
  uid = append (&fx, lookup.subject, "30", NULL);
  fixture_add_account (&fx);

  window = hir_window_new (NULL, fx.engine);
  g_object_ref_sink (window);
  gtk_window_present (GTK_WINDOW (window));
  reader = hir_window_get_reader (window);

  /* The inbox is selected by default and lists the message. */
  g_assert_true (hir_test_wait_until (inbox_shown, window, TIMEOUT_MS));
  lookup.window = window;
  g_assert_true (hir_test_wait_until (message_listed, &lookup, TIMEOUT_MS));
  g_assert_false (hir_message_get_seen (lookup.message));
  g_assert_false (hir_message_get_flagged (lookup.message));

  /* Its row shows it unread. */
  find = (Find) { GTK_WIDGET (window), is_row_of, lookup.message };
  g_assert_true (hir_test_wait_until (found, &find, TIMEOUT_MS));
  row = find_widget (GTK_WIDGET (window), is_row_of, lookup.message);
  dot = find_widget (row, has_css_class, "unread-dot");
  g_assert_nonnull (dot);
  g_assert_true (gtk_widget_get_visible (dot));

  /* Open it the way Enter or a double click does. */
  list_view = find_widget (GTK_WIDGET (window), is_list_view, "message-list");
  g_assert_nonnull (list_view);
  gtk_widget_activate_action (list_view, "list.activate-item", "u", lookup.position);

  g_assert_true (hir_test_wait_until (reader_done, reader, TIMEOUT_MS));
  g_assert_true (hir_reader_get_message (reader) == lookup.message);
  find = (Find) { GTK_WIDGET (reader), is_mapped_label, lookup.subject };
  g_assert_true (hir_test_wait_until (found, &find, TIMEOUT_MS));

  /* Opening marked it read: in the engine at once, in the row, then on the server. */
  g_assert_true (hir_test_wait_until (message_seen, lookup.message, TIMEOUT_MS));
  g_assert_false (gtk_widget_get_visible (dot));
  wait_for_server_flag (&fx, uid, "\\Seen", TRUE);

  /* Star it with the action the S key and the reader's star button use. */
  gtk_widget_activate_action (GTK_WIDGET (window), "message.toggle-flag", NULL);
  g_assert_true (hir_test_wait_until (message_flagged, lookup.message, TIMEOUT_MS));
  wait_for_server_flag (&fx, uid, "\\Flagged", TRUE);

  /* And unstar it. */
  gtk_widget_activate_action (GTK_WIDGET (window), "message.toggle-flag", NULL);
  g_assert_true (hir_test_wait_until (message_unflagged, lookup.message, TIMEOUT_MS));
  wait_for_server_flag (&fx, uid, "\\Flagged", FALSE);

  /* Delete it with the action of the Delete key and the trash button: it leaves the
   * list at once, the older message takes its place, and the server has it in Trash. */
  {
    ServerHas in_trash = { &fx, "Trash", lookup.subject, 0, FALSE };
    guint tick = g_timeout_add (100, timeout_tick, NULL);
    HirMessage *selected;

    gtk_widget_activate_action (GTK_WIDGET (window), "message.delete", NULL);
    g_assert_true (hir_test_wait_until (message_unlisted, &lookup, TIMEOUT_MS));
    selected = gtk_single_selection_get_selected_item (hir_window_get_message_selection (window));
    g_assert_nonnull (selected);
    g_assert_cmpstr (hir_message_get_subject (selected), ==, "An older message, already read");
    g_assert_true (hir_test_wait_until (server_has, &in_trash, TIMEOUT_MS));

    /* Undo on the notice puts it back, here and on the server. */
    {
      ServerHas in_inbox = { &fx, "INBOX", lookup.subject, 0, FALSE };
      Lookup back = { window, lookup.subject, 0, NULL };

      gtk_widget_activate_action (GTK_WIDGET (window), "message.undo-move", NULL);
      g_assert_true (hir_test_wait_until (message_listed, &back, TIMEOUT_MS));
      g_assert_true (hir_test_wait_until (server_has, &in_inbox, TIMEOUT_MS));
      g_clear_object (&back.message);
    }
    g_source_remove (tick);
  }

  /* An account error shows in the banner with its reason, never only in a log. */
  hir_account_set_status (fx.account, HIR_ACCOUNT_STATUS_UNREACHABLE,
                          "Connection refused by the test");
  {
    GtkWidget *banner = find_widget (GTK_WIDGET (window), has_css_class, "banner");
    GtkWidget *revealer = gtk_widget_get_parent (banner);

    g_assert_true (GTK_IS_REVEALER (revealer));
    g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
    g_assert_nonnull (find_widget (banner, label_contains, "Connection refused by the test"));
  }

  g_clear_object (&lookup.message);
  gtk_window_destroy (GTK_WINDOW (window));
  /* Calls still in flight hold the window until they complete. */
  g_assert_true (hir_test_wait_until (only_our_ref, window, TIMEOUT_MS));
  g_assert_finalize_object (window);
  hir_engine_stop (fx.engine);
  fixture_clear (&fx);
}

static gboolean
remote_bar_revealed (gpointer data)
{
  GtkWidget *bar = find_widget (data, has_css_class, "remote-content-bar");

  return bar != NULL && gtk_revealer_get_reveal_child (GTK_REVEALER (gtk_widget_get_parent (bar)));
}

static gboolean
remote_bar_hidden (gpointer data)
{
  return !remote_bar_revealed (data);
}

typedef struct
{
  HirStore   *store;
  const char *address;
  gboolean    done;
  gboolean    trusted;
} TrustCheck;

static void
trust_checked_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TrustCheck *check = user_data;

  check->trusted = hir_store_is_sender_trusted_finish (HIR_STORE (object), result, NULL);
  check->done = TRUE;
}

static gboolean
trust_check_done (gpointer data)
{
  return ((TrustCheck *) data)->done;
}

static void
test_remote_content (void)
{
  Fixture fx = { 0 };
  g_autofree char *uid = NULL;
  HirWindow *window;
  HirReader *reader;
  GtkWidget *list_view;
  Lookup lookup = { NULL, "Window test: newsletter", 0, NULL };
  TrustCheck check = { NULL, "carol@example.test", FALSE, FALSE };
  GSettings *settings = g_settings_new (APP_ID);

  g_settings_set_string (settings, "remote-content-policy", "ask");
  fixture_connect (&fx);
  uid = append_full (&fx, lookup.subject, "40", NULL, "text/html",
                     "<p>News</p><img src=\"http://127.0.0.1:9/pixel.gif\">");
  fixture_add_account (&fx);

  window = hir_window_new (NULL, fx.engine);
  g_object_ref_sink (window);
  gtk_window_present (GTK_WINDOW (window));
  reader = hir_window_get_reader (window);
  lookup.window = window;
  g_assert_true (hir_test_wait_until (message_listed, &lookup, TIMEOUT_MS));

  list_view = find_widget (GTK_WIDGET (window), is_list_view, "message-list");
  gtk_widget_activate_action (list_view, "list.activate-item", "u", lookup.position);
  g_assert_true (hir_test_wait_until (reader_done, reader, TIMEOUT_MS));

  /* Blocked, and the bar says so. */
  g_assert_true (hir_message_view_get_remote_content_blocked (hir_reader_get_view (reader)));
  g_assert_true (hir_test_wait_until (remote_bar_revealed, reader, TIMEOUT_MS));

  /* "Show": this message only. */
  gtk_widget_activate_action (GTK_WIDGET (reader), "reader.show-remote-content", NULL);
  g_assert_true (hir_message_view_get_allow_remote (hir_reader_get_view (reader)));
  g_assert_true (hir_test_wait_until (remote_bar_hidden, reader, TIMEOUT_MS));

  /* "Always show from carol": remembered by the store. */
  gtk_widget_activate_action (GTK_WIDGET (reader), "reader.trust-sender", NULL);
  /* The store runs its calls in order on one thread: this question comes after the
   * answer was written. */
  check.store = hir_engine_get_store (fx.engine);
  hir_store_is_sender_trusted_async (check.store, check.address, NULL, trust_checked_cb, &check);
  g_assert_true (hir_test_wait_until (trust_check_done, &check, TIMEOUT_MS));
  g_assert_true (check.trusted);

  g_clear_object (&lookup.message);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_true (hir_test_wait_until (only_our_ref, window, TIMEOUT_MS));
  g_assert_finalize_object (window);
  hir_engine_stop (fx.engine);
  fixture_clear (&fx);
  g_object_unref (settings);
}

static void
test_row_dates (void)
{
  g_autoptr(GTimeZone) tz = g_time_zone_new_local ();
  g_autoptr(GDateTime) now = g_date_time_new (tz, 2026, 11, 25, 15, 30, 0);
  g_autoptr(GDateTime) morning = g_date_time_new (tz, 2026, 11, 25, 8, 5, 0);
  g_autoptr(GDateTime) yesterday = g_date_time_new (tz, 2026, 11, 24, 23, 0, 0);
  g_autoptr(GDateTime) march = g_date_time_new (tz, 2026, 3, 12, 10, 0, 0);
  g_autoptr(GDateTime) old = g_date_time_new (tz, 2019, 3, 12, 10, 0, 0);
  g_autofree char *today_text = hir_message_row_format_date (g_date_time_to_unix (morning), now);
  g_autofree char *yesterday_text = hir_message_row_format_date (g_date_time_to_unix (yesterday), now);
  g_autofree char *march_text = hir_message_row_format_date (g_date_time_to_unix (march), now);
  g_autofree char *old_text = hir_message_row_format_date (g_date_time_to_unix (old), now);
  g_autofree char *none_text = hir_message_row_format_date (0, now);

  /* No translations are loaded here, so the formats are the untranslated ones. */
  g_assert_cmpstr (today_text, ==, "08:05");
  g_assert_cmpstr (yesterday_text, ==, "Yesterday");
  g_assert_cmpstr (march_text, ==, "12 Mar");
  g_assert_nonnull (strstr (old_text, "19"));
  g_assert_cmpstr (none_text, ==, "");
}

static void
test_no_accounts (void)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  HirWindow *window = hir_window_new (NULL, engine);
  Find find = { GTK_WIDGET (window), is_mapped_status_page, "Welcome to Hirondelle" };

  g_object_ref_sink (window);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (hir_test_wait_until (found, &find, TIMEOUT_MS));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/window/row-dates", test_row_dates);
  g_test_add_func ("/window/no-accounts", test_no_accounts);
  g_test_add_func ("/window/open-and-flag", test_open_and_flag);
  g_test_add_func ("/window/remote-content", test_remote_content);

  return g_test_run ();
}
