/* hir-window.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-account-assistant.h"
#include "hir-account-preferences.h"
#include "hir-certificate.h"
#include "hir-certificate-dialog.h"
#include "hir-compose-controller.h"
#include "hir-folder-row.h"
#include "hir-message-row.h"
#include "hir-reader.h"
#include "hir-settings.h"
#include "hir-window.h"

struct _HirWindow
{
  AdwApplicationWindow  parent_instance;

  HirEngine            *engine;
  GSettings            *settings;
  HirComposeController *compose;

  GtkTreeListModel     *folder_tree;
  GtkSingleSelection   *folder_selection;
  HirFolder            *folder;
  HirAccount           *account;
  HirMessageList       *messages;
  GtkSingleSelection   *message_selection;
  HirMessage           *pending_message;
  guint                 mark_read_source;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  AdwStatusPage        *error_page;
  AdwLeaflet           *leaflet;
  AdwLeaflet           *content_leaflet;
  GtkWidget            *sidebar_pane;
  GtkWidget            *list_pane;
  GtkWidget            *reader_pane;
  GtkListView          *sidebar_list;
  GtkListView          *message_list;
  GtkStack             *list_stack;
  AdwWindowTitle       *list_title;
  GtkSpinner           *sync_spinner;
  GtkRevealer          *banner;
  GtkLabel             *banner_label;
  GtkButton            *banner_password_button;
  GtkButton            *banner_certificate_button;
  HirReader            *reader;
  GtkWidget            *read_button;

  /* Move to…: the folders of the shown message's account, as a menu. */
  GMenu                *move_menu;
  GListModel           *move_folders;
  /* What Undo on the last "moved" toast puts back. */
  HirMessage           *undo_message;
  HirFolder            *undo_folder;
};

G_DEFINE_FINAL_TYPE (HirWindow, hir_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_ENGINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
show_toast (HirWindow  *self,
            const char *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

/* Account status: the banner above the list and the spinner in its header. */

static const char *
describe_status (HirAccountStatus status)
{
  switch (status)
    {
    case HIR_ACCOUNT_STATUS_AUTH_FAILED:
      return _("The server did not accept the password.");
    case HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED:
      return _("The server’s certificate is not trusted.");
    case HIR_ACCOUNT_STATUS_UNREACHABLE:
      return _("The server cannot be reached.");
    case HIR_ACCOUNT_STATUS_OFFLINE:
      return _("You are offline.");
    case HIR_ACCOUNT_STATUS_ONLINE:
    default:
      return NULL;
    }
}

static void
update_account_status (HirWindow *self)
{
  HirAccountStatus status;
  const char *message;
  g_autofree char *text = NULL;
  gboolean show;

  if (self->account == NULL)
    {
      gtk_revealer_set_reveal_child (self->banner, FALSE);
      gtk_spinner_set_spinning (self->sync_spinner, FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->sync_spinner), FALSE);
      return;
    }

  status = hir_account_get_status (self->account);
  message = hir_account_get_status_message (self->account);

  /* "Offline" with no reason is only "not connected yet"; anything with a reason is a
   * failure the user must see, never a silent log line. */
  show = status != HIR_ACCOUNT_STATUS_ONLINE &&
         (status != HIR_ACCOUNT_STATUS_OFFLINE || (message != NULL && message[0] != '\0'));
  if (show)
    {
      const char *what = describe_status (status);

      if (message != NULL && message[0] != '\0' && g_strcmp0 (message, what) != 0)
        text = g_strdup_printf ("%s %s", what, message);
      else
        text = g_strdup (what);
      gtk_label_set_text (self->banner_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->banner_password_button),
                          status == HIR_ACCOUNT_STATUS_AUTH_FAILED);
  gtk_widget_set_visible (GTK_WIDGET (self->banner_certificate_button),
                          status == HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED);
  gtk_revealer_set_reveal_child (self->banner, show);

  gtk_spinner_set_spinning (self->sync_spinner, hir_account_get_syncing (self->account));
  gtk_widget_set_visible (GTK_WIDGET (self->sync_spinner),
                          hir_account_get_syncing (self->account));
}

static void
set_account (HirWindow  *self,
             HirAccount *account)
{
  if (self->account == account)
    return;

  if (self->account != NULL)
    g_signal_handlers_disconnect_by_func (self->account, update_account_status, self);
  g_set_object (&self->account, account);
  if (self->account != NULL)
    {
      g_signal_connect_swapped (self->account, "notify::status",
                                G_CALLBACK (update_account_status), self);
      g_signal_connect_swapped (self->account, "notify::status-message",
                                G_CALLBACK (update_account_status), self);
      g_signal_connect_swapped (self->account, "notify::syncing",
                                G_CALLBACK (update_account_status), self);
    }
  update_account_status (self);
}

/* Messages */

static void
flags_set_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(HirWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_engine_set_flags_finish (HIR_ENGINE (object), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not change the message: %s"),
                                               error->message);
      show_toast (self, text);
    }
}

static void
set_message_flags (HirWindow       *self,
                   HirMessage      *message,
                   HirMessageFlags  flags)
{
  if (flags == hir_message_get_flags (message))
    return;
  hir_engine_set_flags_async (self->engine, message, flags, NULL, flags_set_cb,
                              g_object_ref (self));
}

static gboolean
mark_read_cb (gpointer user_data)
{
  HirWindow *self = user_data;
  HirMessage *message = hir_reader_get_message (self->reader);

  self->mark_read_source = 0;
  if (message != NULL && !hir_message_get_seen (message))
    set_message_flags (self, message, hir_message_get_flags (message) | HIR_MESSAGE_FLAG_SEEN);
  return G_SOURCE_REMOVE;
}

static void
open_message (HirWindow  *self,
              HirMessage *message)
{
  guint delay = 0;

  g_clear_handle_id (&self->mark_read_source, g_source_remove);
  hir_reader_set_message (self->reader, message);
  if (message == NULL || hir_message_get_seen (message))
    return;

  /* Opening marks it read, at once or after the delay the user chose. */
  if (self->settings != NULL)
    delay = g_settings_get_uint (self->settings, "mark-read-delay");
  if (delay == 0)
    mark_read_cb (self);
  else
    self->mark_read_source = g_timeout_add (delay, mark_read_cb, self);
}

static void
pending_message_loaded_cb (HirWindow *self)
{
  g_autoptr(HirMessage) message = g_steal_pointer (&self->pending_message);

  g_signal_handlers_disconnect_by_func (message, pending_message_loaded_cb, self);
  if (hir_message_get_loaded (message) &&
      gtk_single_selection_get_selected_item (self->message_selection) == (gpointer) message)
    open_message (self, message);
}

static void
message_selection_changed_cb (HirWindow *self)
{
  HirMessage *message = gtk_single_selection_get_selected_item (self->message_selection);

  if (self->pending_message != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->pending_message, pending_message_loaded_cb, self);
      g_clear_object (&self->pending_message);
    }

  /* A placeholder row has no message yet: open it when its page arrives. */
  if (message != NULL && !hir_message_get_loaded (message))
    {
      self->pending_message = g_object_ref (message);
      g_signal_connect_swapped (message, "notify::loaded",
                                G_CALLBACK (pending_message_loaded_cb), self);
      return;
    }

  if (message != hir_reader_get_message (self->reader))
    open_message (self, message);
}

static void
message_activated_cb (HirWindow   *self,
                      guint        position,
                      GtkListView *list)
{
  gtk_single_selection_set_selected (self->message_selection, position);
  message_selection_changed_cb (self);
  /* A draft is for writing: it opens in a composer. */
  if (self->compose != NULL && self->folder != NULL &&
      hir_folder_get_role (self->folder) == HIR_FOLDER_ROLE_DRAFTS &&
      gtk_single_selection_get_selected_item (self->message_selection) != NULL)
    {
      hir_compose_controller_open_draft (self->compose,
                                         gtk_single_selection_get_selected_item (self->message_selection));
      return;
    }
  if (adw_leaflet_get_folded (self->content_leaflet))
    adw_leaflet_set_visible_child (self->content_leaflet, self->reader_pane);
}

/* Folded, the reader is off screen: a click on a message goes there (Enter does too,
 * through activate); arrow keys only move the selection. */
static void
message_list_clicked_cb (HirWindow       *self,
                         int              n_press,
                         double           x,
                         double           y,
                         GtkGestureClick *gesture)
{
  if (n_press == 1 && adw_leaflet_get_folded (self->content_leaflet) &&
      self->message_selection != NULL &&
      gtk_single_selection_get_selected_item (self->message_selection) != NULL)
    adw_leaflet_set_visible_child (self->content_leaflet, self->reader_pane);
}

static void
update_list_page (HirWindow *self)
{
  const char *page = "list";

  if (self->messages == NULL)
    page = "none";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->messages)) == 0 &&
           !hir_message_list_get_loading (self->messages))
    page = "empty";
  gtk_stack_set_visible_child_name (self->list_stack, page);
}

static void
show_folder (HirWindow *self,
             HirFolder *folder)
{
  HirAccount *account = NULL;

  if (self->folder == folder)
    return;

  open_message (self, NULL);
  if (self->messages != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->messages, update_list_page, self);
      g_signal_handlers_disconnect_by_func (self->message_selection,
                                            message_selection_changed_cb, self);
    }
  g_clear_object (&self->message_selection);
  g_clear_object (&self->messages);
  g_set_object (&self->folder, folder);

  if (folder != NULL)
    {
      self->messages = hir_engine_open_folder (self->engine, folder);
      self->message_selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->messages)));
      gtk_single_selection_set_autoselect (self->message_selection, FALSE);
      gtk_single_selection_set_can_unselect (self->message_selection, TRUE);
      gtk_single_selection_set_selected (self->message_selection, GTK_INVALID_LIST_POSITION);
      g_signal_connect_swapped (self->message_selection, "notify::selected-item",
                                G_CALLBACK (message_selection_changed_cb), self);
      g_signal_connect_swapped (self->messages, "items-changed",
                                G_CALLBACK (update_list_page), self);
      g_signal_connect_swapped (self->messages, "notify::loading",
                                G_CALLBACK (update_list_page), self);
      account = hir_engine_find_account (self->engine, hir_folder_get_account_id (folder));
      adw_window_title_set_title (self->list_title, hir_folder_get_name (folder));
      adw_window_title_set_subtitle (self->list_title,
                                     account != NULL ? hir_account_get_address (account) : NULL);
    }
  else
    {
      adw_window_title_set_title (self->list_title, "");
      adw_window_title_set_subtitle (self->list_title, NULL);
    }

  gtk_list_view_set_model (self->message_list, GTK_SELECTION_MODEL (self->message_selection));
  if (self->compose != NULL)
    hir_compose_controller_set_address_source (self->compose, G_LIST_MODEL (self->messages));
  set_account (self, account);
  update_list_page (self);
}

/* Sidebar */

static gboolean
has_remote_id (GListModel *folders,
               const char *remote_id)
{
  for (guint i = 0; i < g_list_model_get_n_items (folders); i++)
    {
      g_autoptr(HirFolder) folder = g_list_model_get_item (folders, i);

      if (g_strcmp0 (hir_folder_get_remote_id (folder), remote_id) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Top level: no parent, or a parent the account does not list (never lose a folder). */
static gboolean
is_top_level_folder (gpointer item,
                     gpointer user_data)
{
  const char *parent = hir_folder_get_parent_remote_id (HIR_FOLDER (item));

  return parent == NULL || parent[0] == '\0' || !has_remote_id (G_LIST_MODEL (user_data), parent);
}

static gboolean
is_child_folder (gpointer item,
                 gpointer user_data)
{
  return g_strcmp0 (hir_folder_get_parent_remote_id (HIR_FOLDER (item)), user_data) == 0;
}

/* Accounts hold their top-level folders, folders their subfolders: the tree list model
 * flattens that into the sidebar, in the store's order at each level. */
static GListModel *
create_folder_model (gpointer item,
                     gpointer user_data)
{
  HirWindow *self = user_data;
  GListModel *folders;
  GtkCustomFilter *filter;

  if (HIR_IS_ACCOUNT (item))
    {
      folders = hir_engine_get_folders (self->engine, HIR_ACCOUNT (item));
      filter = gtk_custom_filter_new (is_top_level_folder, g_object_ref (folders), g_object_unref);
    }
  else
    {
      HirFolder *folder = HIR_FOLDER (item);
      HirAccount *account = hir_engine_find_account (self->engine, hir_folder_get_account_id (folder));

      if (account == NULL)
        return NULL;
      folders = hir_engine_get_folders (self->engine, account);
      filter = gtk_custom_filter_new (is_child_folder, g_strdup (hir_folder_get_remote_id (folder)),
                                      g_free);
    }

  return G_LIST_MODEL (gtk_filter_list_model_new (g_object_ref (folders), GTK_FILTER (filter)));
}

static HirFolder *
folder_at (HirWindow *self,
           guint      position)
{
  g_autoptr(GtkTreeListRow) row = g_list_model_get_item (G_LIST_MODEL (self->folder_tree), position);
  gpointer item = row != NULL ? gtk_tree_list_row_get_item (row) : NULL;

  if (HIR_IS_FOLDER (item))
    return item;
  g_clear_object (&item);
  return NULL;
}

static void
folder_selection_changed_cb (HirWindow *self)
{
  guint position = gtk_single_selection_get_selected (self->folder_selection);
  g_autoptr(HirFolder) folder = NULL;

  if (position == GTK_INVALID_LIST_POSITION)
    return;
  folder = folder_at (self, position);
  if (folder != NULL)
    show_folder (self, folder);
}

static void
select_default_folder (HirWindow *self)
{
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->folder_tree));
  guint first_folder = GTK_INVALID_LIST_POSITION;

  if (gtk_single_selection_get_selected (self->folder_selection) != GTK_INVALID_LIST_POSITION)
    return;

  /* The first account's inbox, else its first folder. */
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(HirFolder) folder = folder_at (self, i);

      if (folder == NULL)
        continue;
      if (first_folder == GTK_INVALID_LIST_POSITION)
        first_folder = i;
      if (hir_folder_get_role (folder) == HIR_FOLDER_ROLE_INBOX)
        {
          gtk_single_selection_set_selected (self->folder_selection, i);
          return;
        }
    }
  if (first_folder != GTK_INVALID_LIST_POSITION)
    gtk_single_selection_set_selected (self->folder_selection, first_folder);
}

static gboolean
sidebar_item_is_folder (gpointer  this,
                        GObject  *item)
{
  return HIR_IS_FOLDER (item);
}


static void
folder_activated_cb (HirWindow   *self,
                     guint        position,
                     GtkListView *list)
{
  g_autoptr(HirFolder) folder = folder_at (self, position);

  if (folder == NULL)
    return;
  gtk_single_selection_set_selected (self->folder_selection, position);
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->content_leaflet));
}

static void
accounts_changed_cb (HirWindow *self)
{
  GListModel *accounts = hir_engine_get_accounts (self->engine);

  if (g_list_model_get_n_items (accounts) == 0)
    gtk_stack_set_visible_child_name (self->main_stack, "no-accounts");
  else
    gtk_stack_set_visible_child_name (self->main_stack, "mail");
}

/* Sync */

static void
sync_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* Failures reach the user through the account's status (banner, sidebar icon) and
   * the engine's sync-error signal; nothing else to do here. */
  if (!hir_engine_sync_account_finish (HIR_ENGINE (object), result, &error))
    g_debug ("Sync failed: %s", error->message);
}

static void
sync_error_cb (HirWindow  *self,
               HirAccount *account,
               GError     *error)
{
  /* The banner speaks for the account shown; others get a toast. */
  if (account != self->account)
    {
      g_autofree char *text = g_strdup_printf (_("Could not check mail for %s: %s"),
                                               hir_account_get_address (account),
                                               error->message);
      show_toast (self, text);
    }
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  GListModel *accounts = hir_engine_get_accounts (self->engine);

  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);

      hir_engine_sync_account_async (self->engine, account, NULL, sync_done_cb, NULL);
    }
}

static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);

  if (self->account == NULL)
    return;
  gtk_revealer_set_reveal_child (self->banner, FALSE);
  hir_engine_sync_account_async (self->engine, self->account, NULL, sync_done_cb, NULL);
}

static void
password_set_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(HirWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_engine_set_password_finish (HIR_ENGINE (object), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not log in: %s"), error->message);
      show_toast (self, text);
    }
}

static void
password_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      HirWindow        *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  HirAccount *account = g_object_get_data (G_OBJECT (dialog), "hir-account");
  const char *password = gtk_editable_get_text (entry);

  if (g_strcmp0 (response, "log-in") == 0 && account != NULL && password[0] != '\0')
    hir_engine_set_password_async (self->engine, account, password, NULL, password_set_cb,
                                   g_object_ref (self));
  gtk_editable_set_text (entry, "");
}

static void
password_entry_activate_cb (GtkWidget *dialog)
{
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "log-in");
  gtk_window_close (GTK_WINDOW (dialog));
}

static void
enter_password_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  g_autofree char *body = NULL;
  GtkWidget *dialog;
  GtkWidget *entry;

  if (self->account == NULL)
    return;

  body = g_strdup_printf (_("The server did not accept the password for %s. Enter the current password to check for mail again."),
                          hir_account_get_address (self->account));
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Enter Password"), body);
  entry = gtk_password_entry_new ();
  gtk_password_entry_set_show_peek_icon (GTK_PASSWORD_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Password"), -1);
  g_signal_connect_swapped (entry, "activate", G_CALLBACK (password_entry_activate_cb), dialog);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "log-in", _("_Log In"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "log-in",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "log-in");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "hir-account", g_object_ref (self->account),
                          g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (password_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
toggle_flag_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  HirMessage *message = hir_reader_get_message (self->reader);

  if (message == NULL)
    return;
  set_message_flags (self, message, hir_message_get_flags (message) ^ HIR_MESSAGE_FLAG_FLAGGED);
}

static void
toggle_read_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  HirMessage *message = hir_reader_get_message (self->reader);

  if (message == NULL)
    return;
  g_clear_handle_id (&self->mark_read_source, g_source_remove);
  set_message_flags (self, message, hir_message_get_flags (message) ^ HIR_MESSAGE_FLAG_SEEN);
}

/* Moving and deleting: the store changes at once (the engine queues what the server
 * cannot hear yet), so the list loses the message now and the next one is selected. */

typedef enum
{
  REMOVE_DELETE,
  REMOVE_ARCHIVE,
  REMOVE_MOVE,
} RemoveKind;

static void
removed_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(HirWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean done;

  /* The three finish functions are alike: the task says which began it. */
  if (g_async_result_is_tagged (result, hir_engine_delete_async))
    done = hir_engine_delete_finish (HIR_ENGINE (object), result, &error);
  else if (g_async_result_is_tagged (result, hir_engine_archive_async))
    done = hir_engine_archive_finish (HIR_ENGINE (object), result, &error);
  else
    done = hir_engine_move_finish (HIR_ENGINE (object), result, &error);
  if (!done)
    {
      g_autofree char *text = g_strdup_printf (_("Could not move the message: %s"),
                                               error->message);
      show_toast (self, text);
    }
}

/* The message leaves the list: the one after it (else the one before) takes its place. */
static void
select_next_message (HirWindow  *self,
                     HirMessage *message)
{
  guint position, n_items;

  if (self->message_selection == NULL ||
      gtk_single_selection_get_selected_item (self->message_selection) != (gpointer) message)
    return;
  position = gtk_single_selection_get_selected (self->message_selection);
  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->message_selection));
  if (position + 1 < n_items)
    gtk_single_selection_set_selected (self->message_selection, position + 1);
  else if (position > 0)
    gtk_single_selection_set_selected (self->message_selection, position - 1);
  else
    gtk_single_selection_set_selected (self->message_selection, GTK_INVALID_LIST_POSITION);
}

static void
undo_move_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  g_autoptr(HirMessage) message = g_steal_pointer (&self->undo_message);
  g_autoptr(HirFolder) folder = g_steal_pointer (&self->undo_folder);

  if (message == NULL || folder == NULL)
    return;
  hir_engine_move_async (self->engine, message, folder, NULL, removed_cb, g_object_ref (self));
}

static void
remove_message (HirWindow  *self,
                RemoveKind  kind,
                HirFolder  *destination)
{
  HirMessage *message = hir_reader_get_message (self->reader);
  g_autoptr(HirMessage) keep = NULL;
  g_autofree char *text = NULL;
  gboolean can_undo;
  AdwToast *toast;

  if (message == NULL)
    return;
  keep = g_object_ref (message);
  /* A delete in Trash is for good: nothing to undo. */
  can_undo = self->folder != NULL &&
             !(kind == REMOVE_DELETE && hir_folder_get_role (self->folder) == HIR_FOLDER_ROLE_TRASH);

  select_next_message (self, message);
  switch (kind)
    {
    case REMOVE_DELETE:
      hir_engine_delete_async (self->engine, keep, NULL, removed_cb, g_object_ref (self));
      text = g_strdup (can_undo ? _("Message moved to Trash") : _("Message deleted"));
      break;
    case REMOVE_ARCHIVE:
      hir_engine_archive_async (self->engine, keep, NULL, removed_cb, g_object_ref (self));
      text = g_strdup (_("Message archived"));
      break;
    case REMOVE_MOVE:
    default:
      hir_engine_move_async (self->engine, keep, destination, NULL, removed_cb,
                             g_object_ref (self));
      /* Translators: %s is a folder's name. */
      text = g_strdup_printf (_("Message moved to %s"), hir_folder_get_name (destination));
      break;
    }

  toast = adw_toast_new (text);
  if (can_undo)
    {
      g_set_object (&self->undo_message, keep);
      g_set_object (&self->undo_folder, self->folder);
      adw_toast_set_button_label (toast, _("_Undo"));
      adw_toast_set_action_name (toast, "message.undo-move");
    }
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
delete_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  remove_message (HIR_WINDOW (widget), REMOVE_DELETE, NULL);
}

static void
archive_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  remove_message (HIR_WINDOW (widget), REMOVE_ARCHIVE, NULL);
}

static HirFolder *
find_move_folder (HirWindow  *self,
                  const char *remote_id)
{
  for (guint i = 0; self->move_folders != NULL &&
                    i < g_list_model_get_n_items (self->move_folders); i++)
    {
      g_autoptr(HirFolder) folder = g_list_model_get_item (self->move_folders, i);

      if (g_strcmp0 (hir_folder_get_remote_id (folder), remote_id) == 0)
        return g_steal_pointer (&folder);
    }
  return NULL;
}

/* message.move-to("folder remote id") */
static void
move_to_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  g_autoptr(HirFolder) folder = find_move_folder (self, g_variant_get_string (parameter, NULL));

  if (folder != NULL)
    remove_message (self, REMOVE_MOVE, folder);
}

static void
update_move_menu (HirWindow *self)
{
  g_menu_remove_all (self->move_menu);
  for (guint i = 0; self->move_folders != NULL &&
                    i < g_list_model_get_n_items (self->move_folders); i++)
    {
      g_autoptr(HirFolder) folder = g_list_model_get_item (self->move_folders, i);
      g_autoptr(GMenuItem) item = NULL;

      /* Not where it already is. */
      if (self->folder != NULL && hir_folder_get_id (folder) == hir_folder_get_id (self->folder))
        continue;
      item = g_menu_item_new (hir_folder_get_name (folder), NULL);
      g_menu_item_set_action_and_target_value (item, "message.move-to",
                                               g_variant_new_string (hir_folder_get_remote_id (folder)));
      g_menu_append_item (self->move_menu, item);
    }
}

static void
set_move_folders (HirWindow  *self,
                  GListModel *folders)
{
  if (self->move_folders != folders)
    {
      if (self->move_folders != NULL)
        g_signal_handlers_disconnect_by_func (self->move_folders, update_move_menu, self);
      g_set_object (&self->move_folders, folders);
      if (self->move_folders != NULL)
        g_signal_connect_swapped (self->move_folders, "items-changed",
                                  G_CALLBACK (update_move_menu), self);
    }
  update_move_menu (self);
}

/* Writing mail: the compose controller does the work. */

static void
compose_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);

  if (self->compose != NULL)
    hir_compose_controller_compose (self->compose, self->account, NULL);
}

static void
reply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  HirMessage *message = hir_reader_get_message (self->reader);

  if (self->compose == NULL || message == NULL)
    return;
  if (g_str_equal (action_name, "message.forward") ||
      g_str_equal (action_name, "message.forward-attachment"))
    hir_compose_controller_forward (self->compose, message,
                                    g_str_equal (action_name, "message.forward-attachment"));
  else
    hir_compose_controller_reply (self->compose, message,
                                  g_str_equal (action_name, "message.reply-all"));
}

/* Files dropped on the window start a message with them attached. */
static gboolean
files_dropped_cb (HirWindow    *self,
                  const GValue *value,
                  double        x,
                  double        y)
{
  g_autoptr(GSList) files = gdk_file_list_get_files (g_value_get_boxed (value));

  if (self->compose == NULL || files == NULL)
    return FALSE;
  hir_compose_controller_compose (self->compose, self->account, files);
  return TRUE;
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);

  if (adw_leaflet_get_folded (self->content_leaflet) &&
      adw_leaflet_get_visible_child (self->content_leaflet) == self->reader_pane)
    adw_leaflet_navigate (self->content_leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  else if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  /* Reserved: search arrives with the store's full-text index. */
}

static char *
read_button_icon (gpointer this,
                  gboolean seen)
{
  return g_strdup (seen ? "mail-unread-symbolic" : "mail-read-symbolic");
}

static char *
read_button_tooltip (gpointer this,
                     gboolean seen)
{
  return g_strdup (seen ? _("Mark as Unread") : _("Mark as Read"));
}

/* The header's read button follows the shown message's state; "this" is the reader. */
static void
bind_read_button (HirWindow *self)
{
  GtkExpression *seen;
  GtkExpression *icon;
  GtkExpression *tooltip;

  seen = gtk_property_expression_new (HIR_TYPE_MESSAGE,
                                      gtk_property_expression_new (HIR_TYPE_READER, NULL, "message"),
                                      "seen");
  icon = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 1, (GtkExpression *[]) { gtk_expression_ref (seen) },
                                      G_CALLBACK (read_button_icon), NULL, NULL);
  tooltip = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 1, (GtkExpression *[]) { seen },
                                         G_CALLBACK (read_button_tooltip), NULL, NULL);
  gtk_expression_bind (icon, self->read_button, "icon-name", self->reader);
  gtk_expression_bind (tooltip, self->read_button, "tooltip-text", self->reader);
}

static void
update_message_actions (HirWindow *self)
{
  HirMessage *message = hir_reader_get_message (self->reader);
  gboolean has_message = message != NULL;
  HirAccount *account = NULL;

  if (message != NULL)
    account = hir_engine_find_account (self->engine, hir_message_get_account_id (message));
  set_move_folders (self, account != NULL ? hir_engine_get_folders (self->engine, account) : NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.delete", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.archive", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.move-to", has_message);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.toggle-flag", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.toggle-read", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.reply", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.reply-all", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.forward", has_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.forward-attachment", has_message);
}

/* GtkWindow */

static gboolean
hir_window_close_request (GtkWindow *window)
{
  HirWindow *self = HIR_WINDOW (window);
  int width, height;

  if (self->settings != NULL)
    {
      gtk_window_get_default_size (window, &width, &height);
      g_settings_delay (self->settings);
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
      g_settings_set_boolean (self->settings, "window-maximized",
                              gtk_window_is_maximized (window));
      g_settings_apply (self->settings);
    }

  return GTK_WINDOW_CLASS (hir_window_parent_class)->close_request (window);
}

/* GObject */

static void
hir_window_constructed (GObject *object)
{
  HirWindow *self = (HirWindow *)object;
  GListModel *accounts;

  G_OBJECT_CLASS (hir_window_parent_class)->constructed (object);

  if (self->settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }

  if (self->engine == NULL)
    return;

  hir_reader_set_engine (self->reader, self->engine);
  self->compose = hir_compose_controller_new (self->engine, GTK_WINDOW (self), self->toast_overlay);

  accounts = hir_engine_get_accounts (self->engine);
  self->folder_tree = gtk_tree_list_model_new (g_object_ref (accounts), FALSE, TRUE,
                                               create_folder_model, self, NULL);
  self->folder_selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->folder_tree)));
  gtk_single_selection_set_autoselect (self->folder_selection, FALSE);
  gtk_single_selection_set_selected (self->folder_selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect_swapped (self->folder_selection, "notify::selected",
                            G_CALLBACK (folder_selection_changed_cb), self);
  g_signal_connect_swapped (self->folder_tree, "items-changed",
                            G_CALLBACK (select_default_folder), self);
  gtk_list_view_set_model (self->sidebar_list, GTK_SELECTION_MODEL (self->folder_selection));

  g_signal_connect_object (accounts, "items-changed",
                           G_CALLBACK (accounts_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "sync-error",
                           G_CALLBACK (sync_error_cb), self, G_CONNECT_SWAPPED);
  accounts_changed_cb (self);
  select_default_folder (self);
  update_list_page (self);

  /* Up and Down move through the messages from the start. */
  gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->message_list));
}

static void
hir_window_dispose (GObject *object)
{
  HirWindow *self = (HirWindow *)object;

  g_clear_handle_id (&self->mark_read_source, g_source_remove);
  if (self->pending_message != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->pending_message, pending_message_loaded_cb, self);
      g_clear_object (&self->pending_message);
    }
  set_account (self, NULL);
  if (self->move_folders != NULL)
    g_signal_handlers_disconnect_by_func (self->move_folders, update_move_menu, self);
  g_clear_object (&self->move_folders);
  g_clear_object (&self->undo_message);
  g_clear_object (&self->undo_folder);
  if (self->messages != NULL)
    g_signal_handlers_disconnect_by_func (self->messages, update_list_page, self);
  if (self->message_selection != NULL)
    g_signal_handlers_disconnect_by_func (self->message_selection,
                                          message_selection_changed_cb, self);
  if (self->folder_tree != NULL)
    g_signal_handlers_disconnect_by_func (self->folder_tree, select_default_folder, self);
  if (self->folder_selection != NULL)
    g_signal_handlers_disconnect_by_func (self->folder_selection,
                                          folder_selection_changed_cb, self);

  g_clear_object (&self->compose);
  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_WINDOW);

  g_clear_object (&self->message_selection);
  g_clear_object (&self->messages);
  g_clear_object (&self->folder);
  g_clear_object (&self->folder_selection);
  g_clear_object (&self->folder_tree);
  g_clear_object (&self->settings);
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (hir_window_parent_class)->dispose (object);
}

static void
hir_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  HirWindow *self = HIR_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_window_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  HirWindow *self = HIR_WINDOW (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Account setup and certificates */

static void
add_account_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);

  gtk_window_present (GTK_WINDOW (hir_account_assistant_new (GTK_WINDOW (self), self->engine)));
}

static void
certificate_response_cb (HirCertificateDialog *dialog,
                         const char           *response,
                         HirWindow            *self)
{
  HirAccount *account = g_object_get_data (G_OBJECT (dialog), "hir-account");
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "trust") || account == NULL)
    return;
  /* Exactly this certificate, saved with the account; a different one asks again. */
  hir_account_set_trusted_certificate (account, hir_certificate_dialog_get_fingerprint (dialog));
  if (!hir_account_preferences_save_accounts (self->engine, &error))
    {
      show_toast (self, error->message);
      return;
    }
  gtk_revealer_set_reveal_child (self->banner, FALSE);
  hir_engine_sync_account_async (self->engine, account, NULL, sync_done_cb, NULL);
}

static void
certificate_fetched_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(HirWindow) self = user_data;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificateFlags errors = 0;
  HirCertificateDialog *dialog;
  const char *host = g_object_get_data (G_OBJECT (self), "hir-certificate-host");

  certificate = hir_certificate_fetch_finish (result, &errors, &error);
  if (certificate == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  if (self->account == NULL)
    return;
  dialog = hir_certificate_dialog_new (GTK_WINDOW (self), certificate, errors, host);
  g_object_set_data_full (G_OBJECT (dialog), "hir-account", g_object_ref (self->account),
                          g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (certificate_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
show_certificate_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  HirWindow *self = HIR_WINDOW (widget);
  g_autofree char *host = NULL;
  guint port;
  HirCertificateProtocol protocol = HIR_CERTIFICATE_PROTOCOL_IMAP;
  HirSecurity security;

  if (self->account == NULL)
    return;
  if (hir_account_get_kind (self->account) == HIR_ACCOUNT_KIND_JMAP)
    {
      g_autoptr(GUri) uri = g_uri_parse (hir_account_get_jmap_url (self->account),
                                         G_URI_FLAGS_NONE, NULL);

      if (uri == NULL || g_uri_get_host (uri) == NULL)
        return;
      host = g_strdup (g_uri_get_host (uri));
      port = g_uri_get_port (uri) > 0 ? (guint) g_uri_get_port (uri) : 443;
      protocol = HIR_CERTIFICATE_PROTOCOL_HTTPS;
      security = HIR_SECURITY_TLS;
    }
  else
    {
      host = g_strdup (hir_account_get_imap_host (self->account));
      port = hir_account_get_imap_port (self->account);
      security = hir_account_get_imap_security (self->account);
    }
  /* The dialog names where the certificate came from. */
  g_object_set_data_full (G_OBJECT (self), "hir-certificate-host",
                          g_strdup_printf ("%s:%u", host, port), g_free);
  hir_certificate_fetch_async (host, port, protocol, security, NULL, certificate_fetched_cb,
                               g_object_ref (self));
}

static void
hir_window_class_init (HirWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = hir_window_constructed;
  object_class->dispose = hir_window_dispose;
  object_class->get_property = hir_window_get_property;
  object_class->set_property = hir_window_set_property;

  window_class->close_request = hir_window_close_request;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, HIR_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (HIR_TYPE_FOLDER_ROW);
  g_type_ensure (HIR_TYPE_MESSAGE_ROW);
  g_type_ensure (HIR_TYPE_READER);
  g_type_ensure (HIR_TYPE_ACCOUNT);
  g_type_ensure (HIR_TYPE_FOLDER);
  g_type_ensure (HIR_TYPE_MESSAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-window.ui");
  gtk_widget_class_bind_template_child (widget_class, HirWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, move_menu);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, content_leaflet);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, sidebar_pane);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, list_pane);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, reader_pane);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, sidebar_list);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, message_list);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, list_stack);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, list_title);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, sync_spinner);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, banner);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, banner_password_button);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, banner_certificate_button);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, reader);
  gtk_widget_class_bind_template_child (widget_class, HirWindow, read_button);
  gtk_widget_class_bind_template_callback (widget_class, folder_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, message_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, message_list_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, update_message_actions);

  gtk_widget_class_install_action (widget_class, "win.refresh", NULL, refresh_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.refresh", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.refresh", NULL);

  gtk_widget_class_install_action (widget_class, "win.retry", NULL, retry_action);
  gtk_widget_class_install_action (widget_class, "win.enter-password", NULL, enter_password_action);
  gtk_widget_class_install_action (widget_class, "win.show-certificate", NULL, show_certificate_action);
  gtk_widget_class_install_action (widget_class, "win.add-account", NULL, add_account_action);

  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);

  gtk_widget_class_install_action (widget_class, "win.compose", NULL, compose_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.compose", NULL);

  /* Ctrl+R stays "check for mail" for now; reply takes Ctrl+Shift+R. */
  gtk_widget_class_install_action (widget_class, "message.reply", NULL, reply_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "message.reply", NULL);
  gtk_widget_class_install_action (widget_class, "message.reply-all", NULL, reply_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "message.reply-all", NULL);
  gtk_widget_class_install_action (widget_class, "message.forward", NULL, reply_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "message.forward", NULL);
  gtk_widget_class_install_action (widget_class, "message.forward-attachment", NULL, reply_action);

  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.back", NULL);

  gtk_widget_class_install_action (widget_class, "message.toggle-flag", NULL, toggle_flag_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, 0, "message.toggle-flag", NULL);

  gtk_widget_class_install_action (widget_class, "message.delete", NULL, delete_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "message.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "message.delete", NULL);
  gtk_widget_class_install_action (widget_class, "message.archive", NULL, archive_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "message.archive", NULL);
  gtk_widget_class_install_action (widget_class, "message.move-to", "s", move_to_action);
  gtk_widget_class_install_action (widget_class, "message.undo-move", NULL, undo_move_action);

  gtk_widget_class_install_action (widget_class, "message.toggle-read", NULL, toggle_read_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK, "message.toggle-read", NULL);
}

static void
hir_window_init (HirWindow *self)
{
  g_autoptr(GtkBuilderScope) scope = gtk_builder_cscope_new ();
  g_autoptr(GtkListItemFactory) factory = NULL;
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_swapped (target, "drop", G_CALLBACK (files_dropped_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  /* The sidebar's factory needs a closure of ours, so it is made here with a scope. */
  gtk_builder_cscope_add_callback_symbol (GTK_BUILDER_CSCOPE (scope), "hir_sidebar_item_is_folder",
                                          G_CALLBACK (sidebar_item_is_folder));
  factory = gtk_builder_list_item_factory_new_from_resource (scope, "/app/hirondelle/Hirondelle/hir-sidebar-item.ui");
  gtk_list_view_set_factory (self->sidebar_list, factory);

  self->settings = hir_settings_new ();
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", FALSE);
  update_message_actions (self);
  bind_read_button (self);

#if DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

HirWindow *
hir_window_new (AdwApplication *application,
                HirEngine      *engine)
{
  return g_object_new (HIR_TYPE_WINDOW,
                       "application", application,
                       "engine", engine,
                       NULL);
}

HirEngine *
hir_window_get_engine (HirWindow *self)
{
  g_return_val_if_fail (HIR_IS_WINDOW (self), NULL);

  return self->engine;
}

HirFolder *
hir_window_get_folder (HirWindow *self)
{
  g_return_val_if_fail (HIR_IS_WINDOW (self), NULL);

  return self->folder;
}

void
hir_window_select_folder (HirWindow *self,
                          HirFolder *folder)
{
  guint n_items;

  g_return_if_fail (HIR_IS_WINDOW (self));
  g_return_if_fail (HIR_IS_FOLDER (folder));

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->folder_tree));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(HirFolder) candidate = folder_at (self, i);

      if (candidate == folder)
        {
          gtk_single_selection_set_selected (self->folder_selection, i);
          return;
        }
    }
}

GtkSingleSelection *
hir_window_get_message_selection (HirWindow *self)
{
  g_return_val_if_fail (HIR_IS_WINDOW (self), NULL);

  return self->message_selection;
}

HirReader *
hir_window_get_reader (HirWindow *self)
{
  g_return_val_if_fail (HIR_IS_WINDOW (self), NULL);

  return self->reader;
}

void
hir_window_show_error (HirWindow  *self,
                       const char *message)
{
  g_return_if_fail (HIR_IS_WINDOW (self));

  adw_status_page_set_description (self->error_page, message);
  gtk_stack_set_visible_child_name (self->main_stack, "error");
}
