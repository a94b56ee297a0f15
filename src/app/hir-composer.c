/* hir-composer.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-composer.h"
#include "hir-composer-view.h"
#include "hir-outgoing-attachment-row.h"
#include "hir-settings.h"

/* Saved this long after the last edit: often enough that a crash loses little, seldom
 * enough that typing does not write on every key. */
#define AUTOSAVE_DELAY_MS 2500

/* What most providers accept when the server does not say (Gmail, Outlook.com, Fastmail
 * all sit at 20–25 MB); only a warning, the user may send anyway. */
#define DEFAULT_SIZE_LIMIT (25 * 1000 * 1000)

struct _HirComposer
{
  AdwApplicationWindow  parent_instance;

  HirEngine            *engine;
  HirOutgoing          *outgoing;
  GSettings            *settings;
  GCancellable         *cancellable;
  GtkListStore         *completions;
  guint64               size_limit;
  guint                 autosave_source;
  guint                 n_reading;
  char                 *error_message;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  GtkWidget            *main_box;
  AdwWindowTitle       *window_title;
  GtkRevealer          *banner;
  GtkLabel             *banner_label;
  GtkStack             *from_stack;
  GtkLabel             *from_label;
  GtkDropDown          *from_dropdown;
  GtkEntry             *to_entry;
  GtkEntry             *cc_entry;
  GtkEntry             *bcc_entry;
  GtkToggleButton      *cc_toggle;
  GtkToggleButton      *bcc_toggle;
  GtkEntry             *subject_entry;
  GtkWidget            *format_bar;
  GtkStack             *body_stack;
  HirComposerView      *view;
  GtkTextView          *text_view;
  GtkWidget            *attachments_box;
  GtkFlowBox           *attachments;
  GtkWidget            *send_button;

  guint                 plain_text : 1;
  guint                 loading : 1;     /* filling the fields: not an edit */
  guint                 dirty : 1;       /* edits not saved yet */
  guint                 saving : 1;
  guint                 save_again : 1;
  guint                 close_after_save : 1;
  guint                 send_after_save : 1;
  guint                 sending : 1;
  guint                 size_confirmed : 1;
  guint                 discarded : 1;
};

G_DEFINE_FINAL_TYPE (HirComposer, hir_composer, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_OUTGOING,
  PROP_PLAIN_TEXT,
  N_PROPS
};

enum {
  QUEUED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void save_draft (HirComposer *self);
static void send_now (HirComposer *self);
static void update_banner (HirComposer *self);

static void
show_toast (HirComposer *self,
            const char  *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

static HirOutbox *
get_outbox (HirComposer *self)
{
  return self->engine != NULL ? hir_engine_get_outbox (self->engine) : NULL;
}

/* Accounts and From */

static char *
format_identity (HirAccount *account)
{
  const char *name = hir_account_get_display_name (account);
  InternetAddress *address = NULL;
  char *text;

  if (name == NULL || name[0] == '\0')
    return g_strdup (hir_account_get_address (account));
  address = internet_address_mailbox_new (name, hir_account_get_address (account));
  text = internet_address_to_string (address, NULL, FALSE);
  g_object_unref (address);
  return text;
}

static HirAccount *
selected_account (HirComposer *self)
{
  GListModel *accounts;
  guint position;

  if (self->engine == NULL)
    return NULL;
  accounts = hir_engine_get_accounts (self->engine);
  position = gtk_drop_down_get_selected (self->from_dropdown);
  if (position == GTK_INVALID_LIST_POSITION || position >= g_list_model_get_n_items (accounts))
    return NULL;
  return g_list_model_get_item (accounts, position);
}

static void
fill_identities (HirComposer *self)
{
  g_autoptr(GtkStringList) identities = gtk_string_list_new (NULL);
  GListModel *accounts;
  guint selected = 0;
  const char *account_id = hir_outgoing_get_account_id (self->outgoing);
  guint n;

  accounts = hir_engine_get_accounts (self->engine);
  n = g_list_model_get_n_items (accounts);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);
      g_autofree char *identity = format_identity (account);

      gtk_string_list_append (identities, identity);
      if (g_strcmp0 (hir_account_get_id (account), account_id) == 0)
        selected = i;
    }
  gtk_drop_down_set_model (self->from_dropdown, G_LIST_MODEL (identities));
  gtk_drop_down_set_selected (self->from_dropdown, selected);

  /* One account: nothing to choose, just say who it is from. */
  if (n > 0)
    {
      const char *from = hir_outgoing_get_from (self->outgoing);
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, selected);
      g_autofree char *identity = format_identity (account);

      gtk_label_set_text (self->from_label, from != NULL && from[0] != '\0' && n == 1 ? from : identity);
    }
  gtk_stack_set_visible_child_name (self->from_stack, n > 1 ? "dropdown" : "label");
}

/* Edits and autosave */

static gboolean
autosave_cb (gpointer user_data)
{
  HirComposer *self = user_data;

  self->autosave_source = 0;
  save_draft (self);
  return G_SOURCE_REMOVE;
}

static void
mark_changed (HirComposer *self)
{
  if (self->loading || self->discarded || self->sending)
    return;
  self->dirty = TRUE;
  g_clear_handle_id (&self->autosave_source, g_source_remove);
  self->autosave_source = g_timeout_add (AUTOSAVE_DELAY_MS, autosave_cb, self);
}

static void
field_changed_cb (HirComposer *self)
{
  mark_changed (self);
}

static void
body_changed_cb (HirComposer *self)
{
  mark_changed (self);
}

static void
subject_changed_cb (HirComposer *self)
{
  const char *subject = gtk_editable_get_text (GTK_EDITABLE (self->subject_entry));

  adw_window_title_set_title (self->window_title,
                              subject[0] != '\0' ? subject : _("New Message"));
  gtk_window_set_title (GTK_WINDOW (self), subject[0] != '\0' ? subject : _("New Message"));
  mark_changed (self);
}

static void
from_selected_cb (HirComposer *self)
{
  g_autoptr(HirAccount) account = selected_account (self);

  if (account != NULL)
    adw_window_title_set_subtitle (self->window_title, hir_account_get_address (account));
  mark_changed (self);
}

/* Size */

static guint64
get_size_limit (HirComposer *self,
                gboolean    *known)
{
  if (known != NULL)
    *known = self->size_limit > 0;
  return self->size_limit > 0 ? self->size_limit : DEFAULT_SIZE_LIMIT;
}

static char *
describe_too_large (HirComposer *self)
{
  gboolean known;
  guint64 limit = get_size_limit (self, &known);
  guint64 size = hir_outgoing_get_total_size (self->outgoing);
  g_autofree char *size_text = NULL;
  g_autofree char *limit_text = NULL;

  /* Base64 makes attachments a third larger on the wire. */
  if (size + size / 3 <= limit)
    return NULL;
  size_text = g_format_size (size);
  limit_text = g_format_size (limit);
  if (known)
    return g_strdup_printf (_("This message is %s, more than the %s your server accepts. It will probably be refused."),
                            size_text, limit_text);
  return g_strdup_printf (_("This message is %s, more than the %s most servers accept. It may be refused."),
                          size_text, limit_text);
}

static void
update_banner (HirComposer *self)
{
  g_autofree char *too_large = describe_too_large (self);
  g_autofree char *failed = NULL;
  const char *text = NULL;

  if (self->error_message != NULL)
    {
      failed = g_strdup_printf (_("The message could not be sent: %s"), self->error_message);
      text = failed;
    }
  else if (too_large != NULL)
    {
      text = too_large;
    }

  if (text != NULL)
    gtk_label_set_text (self->banner_label, text);
  gtk_revealer_set_reveal_child (self->banner, text != NULL);
}

/* Attachments */

static gboolean
is_listed_attachment (gpointer item,
                      gpointer user_data)
{
  /* Inline images are shown in the body, not again in the list. */
  return hir_outgoing_attachment_get_content_id (HIR_OUTGOING_ATTACHMENT (item)) == NULL;
}

static void
remove_attachment_cb (HirComposer              *self,
                      HirOutgoingAttachmentRow *row)
{
  hir_outgoing_remove_attachment (self->outgoing, hir_outgoing_attachment_row_get_attachment (row));
}

static GtkWidget *
create_attachment_row (gpointer item,
                       gpointer user_data)
{
  GtkWidget *row = hir_outgoing_attachment_row_new (HIR_OUTGOING_ATTACHMENT (item));

  g_signal_connect_object (row, "remove", G_CALLBACK (remove_attachment_cb), user_data,
                           G_CONNECT_SWAPPED);
  return row;
}

static void
attachments_changed_cb (HirComposer *self)
{
  GListModel *listed = G_LIST_MODEL (g_object_get_data (G_OBJECT (self), "hir-listed-attachments"));

  gtk_widget_set_visible (self->attachments_box, g_list_model_get_n_items (listed) > 0);
  self->size_confirmed = FALSE;
  update_banner (self);
  mark_changed (self);
}

static void
bind_attachments (HirComposer *self)
{
  GtkCustomFilter *filter = gtk_custom_filter_new (is_listed_attachment, NULL, NULL);
  GtkFilterListModel *listed;

  listed = gtk_filter_list_model_new (g_object_ref (hir_outgoing_get_attachments (self->outgoing)),
                                      GTK_FILTER (filter));
  g_object_set_data_full (G_OBJECT (self), "hir-listed-attachments", listed, g_object_unref);
  gtk_flow_box_bind_model (self->attachments, G_LIST_MODEL (listed), create_attachment_row,
                           self, NULL);
  gtk_widget_set_visible (self->attachments_box,
                          g_list_model_get_n_items (G_LIST_MODEL (listed)) > 0);
  g_signal_connect_object (hir_outgoing_get_attachments (self->outgoing), "items-changed",
                           G_CALLBACK (attachments_changed_cb), self, G_CONNECT_SWAPPED);
}

typedef struct
{
  HirComposer *self;
  gboolean     inline_image;
  double       x, y;
  char        *name;
} AttachData;

static void
attach_data_free (AttachData *data)
{
  g_object_unref (data->self);
  g_free (data->name);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttachData, attach_data_free)

static gboolean
is_image_type (const char *content_type)
{
  return content_type != NULL && g_str_has_prefix (content_type, "image/") &&
         /* WebKit shows these; others (TIFF, HEIC…) are better sent as files. */
         (g_str_equal (content_type, "image/png") || g_str_equal (content_type, "image/jpeg") ||
          g_str_equal (content_type, "image/gif") || g_str_equal (content_type, "image/webp"));
}

static void
attachment_read_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(AttachData) data = user_data;
  g_autoptr(HirOutgoingAttachment) attachment = NULL;
  g_autoptr(GError) error = NULL;
  HirComposer *self = data->self;

  attachment = hir_outgoing_attachment_new_from_file_finish (result, &error);
  self->n_reading--;
  if (attachment == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("Could not attach “%s”: %s"), data->name,
                                                   error->message);
          show_toast (self, text);
        }
      return;
    }

  if (data->inline_image && !self->plain_text &&
      is_image_type (hir_outgoing_attachment_get_content_type (attachment)))
    {
      g_autofree char *uuid = g_uuid_string_random ();
      g_autofree char *content_id = g_strconcat (uuid, "@hirondelle", NULL);

      hir_outgoing_attachment_set_content_id (attachment, content_id);
      hir_outgoing_add_attachment (self->outgoing, attachment);
      hir_composer_view_insert_image (self->view, content_id, data->x, data->y);
      return;
    }
  hir_outgoing_add_attachment (self->outgoing, attachment);
}

void
hir_composer_add_files (HirComposer *self,
                        GSList      *files,
                        gboolean     inline_images,
                        double       x,
                        double       y)
{
  g_return_if_fail (HIR_IS_COMPOSER (self));

  for (GSList *l = files; l != NULL; l = l->next)
    {
      AttachData *data = g_new0 (AttachData, 1);

      data->self = g_object_ref (self);
      data->inline_image = inline_images;
      data->x = x;
      data->y = y;
      data->name = g_file_get_parse_name (l->data);
      self->n_reading++;
      /* Read once, now: a portal or a dropped file may not be readable later. */
      hir_outgoing_attachment_new_from_file_async (l->data, self->cancellable,
                                                   attachment_read_cb, data);
    }
}

/* Dropped files: on the body, images go inline where they fall; everything else, and
 * anything dropped elsewhere on the window, is attached. */
static gboolean
drop_cb (HirComposer   *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  GtkWidget *widget = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (target));
  GdkFileList *list = g_value_get_boxed (value);
  g_autoptr(GSList) files = NULL;
  graphene_point_t point = GRAPHENE_POINT_INIT (-1, -1);
  gboolean on_body = FALSE;

  if (list == NULL)
    return FALSE;
  files = gdk_file_list_get_files (list);
  if (files == NULL)
    return FALSE;

  if (!self->plain_text &&
      gtk_widget_compute_point (widget, GTK_WIDGET (self->view),
                                &GRAPHENE_POINT_INIT (x, y), &point) &&
      gtk_widget_contains (GTK_WIDGET (self->view), point.x, point.y))
    on_body = TRUE;

  hir_composer_add_files (self, files, on_body, point.x, point.y);
  return TRUE;
}

static void
clipboard_files_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value;
  g_autoptr(GSList) files = NULL;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (object), result, &error);
  if (value == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not paste the files: %s"), error->message);

      show_toast (self, text);
      return;
    }
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  hir_composer_add_files (self, files,
                          gtk_widget_has_focus (GTK_WIDGET (self->view)) ||
                          gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (self)), GTK_WIDGET (self->view)),
                          -1, -1);
}

/* Ctrl+V runs before the focused widget sees it: files on the clipboard are attached;
 * anything else (text, HTML, an image from a browser) is pasted by the entry or the
 * editor as usual. */
static gboolean
paste_cb (GtkWidget *widget,
          GVariant  *args,
          gpointer   user_data)
{
  HirComposer *self = HIR_COMPOSER (widget);
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);
  g_autoptr(GdkContentFormats) formats = NULL;

  formats = gdk_content_formats_union_deserialize_gtypes (gdk_content_formats_ref (gdk_clipboard_get_formats (clipboard)));
  if (!gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    return FALSE;
  gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT,
                                  self->cancellable, clipboard_files_cb, g_object_ref (self));
  return TRUE;
}

/* Address completion in To, Cc and Bcc: the list holds many addresses, so only the one
 * being typed (after the last comma) is completed. */

static const char *
last_address (const char *text)
{
  const char *comma = strrchr (text, ',');
  const char *start = comma != NULL ? comma + 1 : text;

  while (*start == ' ')
    start++;
  return start;
}

static gboolean
completion_match (GtkEntryCompletion *completion,
                  const char         *key,
                  GtkTreeIter        *iter,
                  gpointer            user_data)
{
  GtkTreeModel *model = gtk_entry_completion_get_model (completion);
  GtkWidget *entry = gtk_entry_completion_get_entry (completion);
  g_autofree char *candidate = NULL;
  g_autofree char *folded_candidate = NULL;
  g_autofree char *folded_typed = NULL;
  const char *typed = last_address (gtk_editable_get_text (GTK_EDITABLE (entry)));

  if (strlen (typed) < 1)
    return FALSE;
  gtk_tree_model_get (model, iter, 0, &candidate, -1);
  if (candidate == NULL)
    return FALSE;
  folded_candidate = g_utf8_casefold (candidate, -1);
  folded_typed = g_utf8_casefold (typed, -1);
  /* At the start of any word: "bo" finds "Bob <bob@…>", "exa" finds "…@example.test". */
  for (const char *p = folded_candidate; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    if ((p == folded_candidate || !g_unichar_isalnum (g_utf8_get_char (g_utf8_prev_char (p)))) &&
        g_str_has_prefix (p, folded_typed))
      return TRUE;
  return FALSE;
}

static gboolean
completion_selected_cb (GtkEntryCompletion *completion,
                        GtkTreeModel       *model,
                        GtkTreeIter        *iter,
                        gpointer            user_data)
{
  GtkEditable *entry = GTK_EDITABLE (gtk_entry_completion_get_entry (completion));
  const char *text = gtk_editable_get_text (entry);
  const char *typed = last_address (text);
  g_autofree char *candidate = NULL;
  g_autofree char *kept = g_strndup (text, typed - text);
  g_autofree char *new_text = NULL;

  gtk_tree_model_get (model, iter, 0, &candidate, -1);
  new_text = g_strconcat (kept, candidate, ", ", NULL);
  gtk_editable_set_text (entry, new_text);
  gtk_editable_set_position (entry, -1);
  return TRUE;
}

static void
setup_completion (HirComposer *self,
                  GtkEntry    *entry)
{
  g_autoptr(GtkEntryCompletion) completion = gtk_entry_completion_new ();

  gtk_entry_completion_set_model (completion, GTK_TREE_MODEL (self->completions));
  gtk_entry_completion_set_text_column (completion, 0);
  gtk_entry_completion_set_match_func (completion, completion_match, NULL, NULL);
  gtk_entry_completion_set_minimum_key_length (completion, 1);
  gtk_entry_completion_set_popup_completion (completion, TRUE);
  gtk_entry_completion_set_inline_completion (completion, FALSE);
  g_signal_connect (completion, "match-selected", G_CALLBACK (completion_selected_cb), NULL);
  gtk_entry_set_completion (entry, completion);
}

/* Filling the window from the message, and the message from the window */

static void
set_plain_text (HirComposer *self,
                gboolean     plain_text,
                const char  *text)
{
  plain_text = !!plain_text;
  self->plain_text = plain_text;
  gtk_stack_set_visible_child_name (self->body_stack, plain_text ? "text" : "html");
  gtk_widget_set_visible (self->format_bar, !plain_text);
  if (plain_text && text != NULL)
    {
      gboolean loading = self->loading;

      self->loading = TRUE;
      gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text, -1);
      self->loading = loading;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAIN_TEXT]);
}

static void
load_outgoing (HirComposer *self)
{
  const char *html = hir_outgoing_get_html (self->outgoing);
  const char *text = hir_outgoing_get_text (self->outgoing);
  const char *cc = hir_outgoing_get_cc (self->outgoing);
  const char *bcc = hir_outgoing_get_bcc (self->outgoing);

  self->loading = TRUE;
  gtk_editable_set_text (GTK_EDITABLE (self->to_entry), hir_outgoing_get_to (self->outgoing) ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->cc_entry), cc ?: "");
  gtk_editable_set_text (GTK_EDITABLE (self->bcc_entry), bcc ?: "");
  gtk_toggle_button_set_active (self->cc_toggle, cc != NULL && cc[0] != '\0');
  gtk_toggle_button_set_active (self->bcc_toggle, bcc != NULL && bcc[0] != '\0');
  gtk_editable_set_text (GTK_EDITABLE (self->subject_entry), hir_outgoing_get_subject (self->outgoing) ?: "");
  if (self->engine != NULL)
    fill_identities (self);

  /* A message saved as plain text comes back as plain text; anything else is rich. */
  if (html == NULL && text != NULL && text[0] != '\0')
    {
      set_plain_text (self, TRUE, text);
    }
  else
    {
      set_plain_text (self, FALSE, NULL);
      hir_composer_view_load (self->view, html, hir_outgoing_get_attachments (self->outgoing));
    }
  bind_attachments (self);
  if (hir_outgoing_get_state (self->outgoing) == HIR_OUTGOING_STATE_FAILED)
    hir_composer_show_error (self, hir_outgoing_get_error_message (self->outgoing));
  update_banner (self);
  self->loading = FALSE;

  /* New messages start at To; replies, which have one, in the body. */
  if (gtk_editable_get_text (GTK_EDITABLE (self->to_entry))[0] == '\0')
    gtk_widget_grab_focus (GTK_WIDGET (self->to_entry));
  else if (self->plain_text)
    gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
  else
    gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

static char *
dup_field (GtkEntry *entry)
{
  g_autofree char *text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry)));

  g_strstrip (text);
  /* "bob@x, " left by completion. */
  while (g_str_has_suffix (text, ","))
    {
      text[strlen (text) - 1] = '\0';
      g_strstrip (text);
    }
  return text[0] != '\0' ? g_steal_pointer (&text) : NULL;
}

/* Drops inline images the user deleted from the body. */
static void
prune_inline_parts (HirComposer *self,
                    const char  *html)
{
  GListModel *parts = hir_outgoing_get_attachments (self->outgoing);

  for (guint i = g_list_model_get_n_items (parts); i > 0; i--)
    {
      g_autoptr(HirOutgoingAttachment) part = g_list_model_get_item (parts, i - 1);
      const char *content_id = hir_outgoing_attachment_get_content_id (part);
      g_autofree char *escaped = NULL;
      g_autofree char *reference = NULL;

      if (content_id == NULL)
        continue;
      escaped = g_uri_escape_string (content_id, "@.-_", FALSE);
      reference = g_strconcat ("cid:", escaped, NULL);
      if (html == NULL || (strstr (html, reference) == NULL && strstr (html, content_id) == NULL))
        hir_outgoing_remove_attachment (self->outgoing, part);
    }
}

static void
collect_fields (HirComposer *self)
{
  g_autoptr(HirAccount) account = selected_account (self);
  g_autofree char *to = dup_field (self->to_entry);
  g_autofree char *cc = dup_field (self->cc_entry);
  g_autofree char *bcc = dup_field (self->bcc_entry);

  if (account != NULL)
    {
      g_autofree char *from = format_identity (account);

      /* A reply keeps the address the original was sent to (an alias of the account). */
      if (g_strcmp0 (hir_outgoing_get_account_id (self->outgoing), hir_account_get_id (account)) != 0 ||
          hir_outgoing_get_from (self->outgoing) == NULL)
        {
          hir_outgoing_set_account_id (self->outgoing, hir_account_get_id (account));
          hir_outgoing_set_from (self->outgoing, from);
        }
    }
  hir_outgoing_set_to (self->outgoing, to);
  hir_outgoing_set_cc (self->outgoing, cc);
  hir_outgoing_set_bcc (self->outgoing, bcc);
  hir_outgoing_set_subject (self->outgoing, gtk_editable_get_text (GTK_EDITABLE (self->subject_entry)));
}

static void
content_read_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirComposer *self = g_task_get_source_object (task);
  g_autofree char *html = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  if (!hir_composer_view_get_content_finish (HIR_COMPOSER_VIEW (object), result, &html, &text, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hir_outgoing_set_html (self->outgoing, html);
  hir_outgoing_set_text (self->outgoing, text != NULL ? text : "");
  prune_inline_parts (self, html);
  g_task_return_boolean (task, TRUE);
}

/* Brings the HirOutgoing up to date with the window (the body needs a round trip to the
 * web process). */
static void
collect_async (HirComposer         *self,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, collect_async);
  collect_fields (self);
  if (self->plain_text)
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
      GtkTextIter start, end;
      g_autofree char *text = NULL;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      hir_outgoing_set_text (self->outgoing, text);
      hir_outgoing_set_html (self->outgoing, NULL);
      prune_inline_parts (self, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }
  hir_composer_view_get_content_async (self->view, NULL, content_read_cb, g_steal_pointer (&task));
}

static gboolean
collect_finish (HirComposer   *self,
                GAsyncResult  *result,
                GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Drafts */

static void
finish_closing (HirComposer *self)
{
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  gtk_window_destroy (GTK_WINDOW (self));
  if (application != NULL)
    g_application_release (application);
}

static void
draft_saved_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  gint64 id;

  id = hir_outbox_save_draft_finish (HIR_OUTBOX (object), result, &error);
  self->saving = FALSE;
  if (id <= 0)
    {
      g_autofree char *text = g_strdup_printf (_("Could not save the draft: %s"), error->message);

      /* Nothing is lost while the window is open: try again on the next edit. */
      self->dirty = TRUE;
      if (!self->close_after_save)
        show_toast (self, text);
      else
        g_printerr ("%s\n", text);
    }
  else if (hir_outgoing_get_id (self->outgoing) != id)
    {
      hir_outgoing_set_id (self->outgoing, id);
    }

  if (self->send_after_save)
    {
      self->send_after_save = FALSE;
      send_now (self);
    }
  else if (self->close_after_save)
    {
      finish_closing (self);
    }
  else if (self->save_again)
    {
      self->save_again = FALSE;
      save_draft (self);
    }
}

static void
collected_for_save_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  HirOutbox *outbox = get_outbox (self);

  if (!collect_finish (self, result, &error) || outbox == NULL)
    {
      self->saving = FALSE;
      self->dirty = TRUE;
      g_warning ("Could not read the message to save it: %s",
                 error != NULL ? error->message : "no outbox");
      if (self->close_after_save)
        finish_closing (self);
      return;
    }
  hir_outbox_save_draft_async (outbox, self->outgoing, NULL, draft_saved_cb, g_object_ref (self));
}

static void
save_draft (HirComposer *self)
{
  g_clear_handle_id (&self->autosave_source, g_source_remove);
  if (self->discarded || self->sending)
    return;
  if (self->saving)
    {
      self->save_again = TRUE;
      return;
    }
  self->saving = TRUE;
  self->dirty = FALSE;
  collect_async (self, collected_for_save_cb, g_object_ref (self));
}

/* Sending */

static void
set_sending (HirComposer *self,
             gboolean     sending)
{
  self->sending = !!sending;
  gtk_widget_set_sensitive (self->main_box, !sending);
}

static void
queued_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  guint delay = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (self), "hir-delay"));
  gint64 id;

  id = hir_outbox_queue_finish (HIR_OUTBOX (object), result, &error);
  if (id <= 0)
    {
      g_autofree char *text = g_strdup_printf (_("Could not send: %s"), error->message);

      set_sending (self, FALSE);
      show_toast (self, text);
      mark_changed (self);
      return;
    }

  hir_outgoing_set_id (self->outgoing, id);
  g_signal_emit (self, signals[QUEUED], 0, id, delay);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
queue (HirComposer *self)
{
  guint delay = 5;

  if (self->settings != NULL)
    delay = g_settings_get_uint (self->settings, "undo-send-delay");
  g_object_set_data (G_OBJECT (self), "hir-delay", GUINT_TO_POINTER (delay));
  hir_outbox_queue_async (get_outbox (self), self->outgoing, delay, NULL, queued_cb,
                          g_object_ref (self));
}

static void
size_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  HirComposer      *self)
{
  if (g_strcmp0 (response, "send") == 0)
    {
      self->size_confirmed = TRUE;
      queue (self);
    }
  else
    {
      set_sending (self, FALSE);
    }
}

static void
collected_for_send_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *too_large = NULL;

  if (!collect_finish (self, result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not send: %s"), error->message);

      set_sending (self, FALSE);
      show_toast (self, text);
      return;
    }

  if (hir_outgoing_get_to (self->outgoing) == NULL && hir_outgoing_get_cc (self->outgoing) == NULL &&
      hir_outgoing_get_bcc (self->outgoing) == NULL)
    {
      set_sending (self, FALSE);
      show_toast (self, _("Add at least one recipient"));
      gtk_widget_grab_focus (GTK_WIDGET (self->to_entry));
      return;
    }

  too_large = describe_too_large (self);
  if (too_large != NULL && !self->size_confirmed)
    {
      AdwMessageDialog *dialog;

      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Message Too Large"),
                                                           too_large));
      adw_message_dialog_add_responses (dialog,
                                        "cancel", _("_Cancel"),
                                        "send", _("Send _Anyway"),
                                        NULL);
      adw_message_dialog_set_response_appearance (dialog, "send", ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (dialog, "cancel");
      adw_message_dialog_set_close_response (dialog, "cancel");
      g_signal_connect_object (dialog, "response", G_CALLBACK (size_response_cb), self, 0);
      gtk_window_present (GTK_WINDOW (dialog));
      return;
    }
  queue (self);
}

static void
send_now (HirComposer *self)
{
  if (get_outbox (self) == NULL)
    return;
  set_sending (self, TRUE);
  collect_async (self, collected_for_send_cb, g_object_ref (self));
}

/* Actions */

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HirComposer *self = HIR_COMPOSER (widget);

  if (self->sending || self->discarded)
    return;
  g_clear_handle_id (&self->autosave_source, g_source_remove);
  if (self->saving)
    {
      /* The draft being written must not land after the queued message. */
      self->send_after_save = TRUE;
      set_sending (self, TRUE);
      return;
    }
  send_now (self);
}

static void
files_chosen_cb (GtkNativeDialog *dialog,
                 int              response,
                 HirComposer     *self)
{
  gboolean inline_images = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "hir-inline"));

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GSList) list = NULL;

      for (guint i = g_list_model_get_n_items (files); i > 0; i--)
        list = g_slist_prepend (list, g_list_model_get_item (files, i - 1));
      hir_composer_add_files (self, list, inline_images, -1, -1);
      g_slist_free_full (g_steal_pointer (&list), g_object_unref);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
choose_files (HirComposer *self,
              gboolean     images)
{
  GtkFileChooserNative *chooser;

  /* The native chooser goes through the file chooser portal inside Flatpak; the files
   * it returns are the only ones we may read. */
  chooser = gtk_file_chooser_native_new (images ? _("Insert Image") : _("Attach Files"),
                                         GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         images ? _("_Insert") : _("_Attach"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  if (images)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("Images"));
      gtk_file_filter_add_mime_type (filter, "image/png");
      gtk_file_filter_add_mime_type (filter, "image/jpeg");
      gtk_file_filter_add_mime_type (filter, "image/gif");
      gtk_file_filter_add_mime_type (filter, "image/webp");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    }
  g_object_set_data (G_OBJECT (chooser), "hir-inline", GINT_TO_POINTER (images));
  g_signal_connect_object (chooser, "response", G_CALLBACK (files_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
attach_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  choose_files (HIR_COMPOSER (widget), FALSE);
}

static void
insert_image_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  choose_files (HIR_COMPOSER (widget), TRUE);
}

static void
draft_discarded_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!hir_outbox_discard_draft_finish (HIR_OUTBOX (object), result, &error))
    g_warning ("Could not delete the draft: %s", error->message);
}

static void
discard (HirComposer *self)
{
  gint64 id = hir_outgoing_get_id (self->outgoing);

  self->discarded = TRUE;
  g_clear_handle_id (&self->autosave_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (id > 0 && get_outbox (self) != NULL)
    hir_outbox_discard_draft_async (get_outbox (self), id, NULL, draft_discarded_cb, NULL);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
discard_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     HirComposer      *self)
{
  if (g_strcmp0 (response, "discard") == 0)
    discard (self);
}

static gboolean
has_content (HirComposer *self)
{
  return self->dirty || hir_outgoing_get_id (self->outgoing) > 0;
}

static void
discard_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HirComposer *self = HIR_COMPOSER (widget);
  AdwMessageDialog *dialog;

  if (self->sending)
    return;
  if (!has_content (self))
    {
      discard (self);
      return;
    }

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Discard Draft?"),
                                                       _("The message and its attachments will be deleted.")));
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (discard_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
close_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

static void
editing_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HirComposer *self = HIR_COMPOSER (widget);
  static const struct { const char *action; const char *command; } commands[] = {
    { "composer.bold", "Bold" },
    { "composer.italic", "Italic" },
    { "composer.underline", "Underline" },
    { "composer.bullets", "InsertUnorderedList" },
    { "composer.numbers", "InsertOrderedList" },
    { "composer.indent", "Indent" },
    { "composer.outdent", "Outdent" },
  };

  if (self->plain_text)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (action_name, commands[i].action))
      webkit_web_view_execute_editing_command (WEBKIT_WEB_VIEW (self->view), commands[i].command);
  gtk_widget_grab_focus (GTK_WIDGET (self->view));
  mark_changed (self);
}

static void
link_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  HirComposer      *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *uri = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (g_strcmp0 (response, "link") != 0 || uri[0] == '\0')
    return;
  /* "example.org" means the web site, not a relative path. */
  if (g_uri_peek_scheme (uri) == NULL)
    {
      g_autofree char *bare = g_steal_pointer (&uri);

      uri = strchr (bare, '@') != NULL ? g_strconcat ("mailto:", bare, NULL)
                                       : g_strconcat ("https://", bare, NULL);
    }
  hir_composer_view_insert_link (self->view, uri);
}

static void
link_activate_cb (GtkWidget *dialog)
{
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "link");
  gtk_window_close (GTK_WINDOW (dialog));
}

static void
link_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HirComposer *self = HIR_COMPOSER (widget);
  GtkWidget *dialog;
  GtkWidget *entry;

  if (self->plain_text)
    return;
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Insert Link"),
                                   _("The selected text will link to this address."));
  entry = gtk_entry_new ();
  gtk_entry_set_input_purpose (GTK_ENTRY (entry), GTK_INPUT_PURPOSE_URL);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "https://");
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Address"), -1);
  g_signal_connect_swapped (entry, "activate", G_CALLBACK (link_activate_cb), dialog);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "link", _("_Link"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "link",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "link");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (link_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static char *
text_to_html (const char *text)
{
  g_autoptr(GString) html = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *escaped = g_markup_escape_text (lines[i], -1);

      g_string_append_printf (html, "<div>%s</div>", escaped[0] != '\0' ? escaped : "<br>");
    }
  return g_string_free (g_steal_pointer (&html), FALSE);
}

static void
collected_for_toggle_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(HirComposer) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!collect_finish (self, result, &error))
    {
      show_toast (self, error->message);
      return;
    }
  set_plain_text (self, TRUE, hir_outgoing_get_text (self->outgoing));
  mark_changed (self);
}

static void
hir_composer_set_plain_text (HirComposer *self,
                             gboolean     plain_text)
{
  if (self->plain_text == !!plain_text)
    return;

  if (plain_text)
    {
      /* The rich text's own plain-text rendering becomes the text. */
      collect_async (self, collected_for_toggle_cb, g_object_ref (self));
      return;
    }
  else
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
      GtkTextIter start, end;
      g_autofree char *text = NULL;
      g_autofree char *html = NULL;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
      html = text_to_html (text);
      set_plain_text (self, FALSE, NULL);
      hir_composer_view_load (self->view, html, hir_outgoing_get_attachments (self->outgoing));
      mark_changed (self);
    }
}

/* GtkWindow */

static gboolean
hir_composer_close_request (GtkWindow *window)
{
  HirComposer *self = HIR_COMPOSER (window);
  GApplication *application = G_APPLICATION (gtk_window_get_application (window));

  if (self->sending || self->discarded)
    return TRUE;
  if (!self->dirty && !self->saving && self->n_reading == 0)
    return GTK_WINDOW_CLASS (hir_composer_parent_class)->close_request (window);

  /* Closing keeps what was written: hide now, save, then go. The application stays
   * until the draft is safe. */
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  if (application != NULL)
    g_application_hold (application);
  self->close_after_save = TRUE;
  if (!self->saving)
    save_draft (self);
  return TRUE;
}

/* GObject */

static void
hir_composer_constructed (GObject *object)
{
  HirComposer *self = (HirComposer *)object;

  G_OBJECT_CLASS (hir_composer_parent_class)->constructed (object);

  if (self->outgoing == NULL)
    {
      GListModel *accounts = self->engine != NULL ? hir_engine_get_accounts (self->engine) : NULL;
      g_autoptr(HirAccount) account = NULL;

      if (accounts != NULL && g_list_model_get_n_items (accounts) > 0)
        account = g_list_model_get_item (accounts, 0);
      self->outgoing = hir_outgoing_new (account);
    }
  load_outgoing (self);
  from_selected_cb (self);
  self->dirty = FALSE;
}

static void
hir_composer_dispose (GObject *object)
{
  HirComposer *self = (HirComposer *)object;

  g_clear_handle_id (&self->autosave_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (self->outgoing != NULL)
    g_signal_handlers_disconnect_by_func (hir_outgoing_get_attachments (self->outgoing),
                                          attachments_changed_cb, self);

  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_COMPOSER);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->completions);
  g_clear_object (&self->settings);
  g_clear_object (&self->outgoing);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->error_message, g_free);

  G_OBJECT_CLASS (hir_composer_parent_class)->dispose (object);
}

static void
hir_composer_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  HirComposer *self = HIR_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_OUTGOING:
      g_value_set_object (value, self->outgoing);
      break;
    case PROP_PLAIN_TEXT:
      g_value_set_boolean (value, self->plain_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_composer_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  HirComposer *self = HIR_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_OUTGOING:
      self->outgoing = g_value_dup_object (value);
      break;
    case PROP_PLAIN_TEXT:
      hir_composer_set_plain_text (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_composer_class_init (HirComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = hir_composer_constructed;
  object_class->dispose = hir_composer_dispose;
  object_class->get_property = hir_composer_get_property;
  object_class->set_property = hir_composer_set_property;

  window_class->close_request = hir_composer_close_request;

  /* The From identity is formatted with GMime. */
  g_mime_init ();

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, HIR_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OUTGOING] =
    g_param_spec_object ("outgoing", NULL, NULL, HIR_TYPE_OUTGOING,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PLAIN_TEXT] =
    g_param_spec_boolean ("plain-text", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[QUEUED] = g_signal_new ("queued", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_UINT);

  g_type_ensure (HIR_TYPE_COMPOSER_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, HirComposer, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, main_box);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, window_title);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, banner);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, banner_label);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, from_stack);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, from_label);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, from_dropdown);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, to_entry);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, cc_entry);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, bcc_entry);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, cc_toggle);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, bcc_toggle);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, subject_entry);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, format_bar);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, body_stack);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, view);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, text_view);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, attachments_box);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, attachments);
  gtk_widget_class_bind_template_child (widget_class, HirComposer, send_button);
  gtk_widget_class_bind_template_callback (widget_class, field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, subject_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, body_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, from_selected_cb);

  gtk_widget_class_install_action (widget_class, "composer.send", NULL, send_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "composer.send", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "composer.send", NULL);

  gtk_widget_class_install_action (widget_class, "composer.attach", NULL, attach_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "composer.attach", NULL);

  gtk_widget_class_install_action (widget_class, "composer.discard", NULL, discard_action);

  gtk_widget_class_install_action (widget_class, "composer.close", NULL, close_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "composer.close", NULL);

  gtk_widget_class_install_property_action (widget_class, "composer.plain-text", "plain-text");

  gtk_widget_class_install_action (widget_class, "composer.bold", NULL, editing_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_b, GDK_CONTROL_MASK, "composer.bold", NULL);
  gtk_widget_class_install_action (widget_class, "composer.italic", NULL, editing_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "composer.italic", NULL);
  gtk_widget_class_install_action (widget_class, "composer.underline", NULL, editing_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK, "composer.underline", NULL);
  gtk_widget_class_install_action (widget_class, "composer.bullets", NULL, editing_action);
  gtk_widget_class_install_action (widget_class, "composer.numbers", NULL, editing_action);
  gtk_widget_class_install_action (widget_class, "composer.indent", NULL, editing_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketright, GDK_CONTROL_MASK, "composer.indent", NULL);
  gtk_widget_class_install_action (widget_class, "composer.outdent", NULL, editing_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketleft, GDK_CONTROL_MASK, "composer.outdent", NULL);

  gtk_widget_class_install_action (widget_class, "composer.link", NULL, link_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, GDK_CONTROL_MASK, "composer.link", NULL);
  gtk_widget_class_install_action (widget_class, "composer.insert-image", NULL, insert_image_action);
}

static void
hir_composer_init (HirComposer *self)
{
  GtkDropTarget *target;
  GtkEventController *shortcuts;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->settings = hir_settings_new ();
  self->completions = gtk_list_store_new (1, G_TYPE_STRING);
  setup_completion (self, self->to_entry);
  setup_completion (self, self->cc_entry);
  setup_completion (self, self->bcc_entry);

  g_signal_connect_object (gtk_text_view_get_buffer (self->text_view), "changed",
                           G_CALLBACK (field_changed_cb), self, G_CONNECT_SWAPPED);

  /* Files from a file manager (GdkFileList, which also covers text/uri-list and the
   * portal's formats). In the capture phase, so the web view's own drop handling never
   * turns a dropped file into a navigation or a file:// link. */
  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (target), GTK_PHASE_CAPTURE);
  g_signal_connect_swapped (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (self->main_box, GTK_EVENT_CONTROLLER (target));

  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_v, GDK_CONTROL_MASK),
                                                          gtk_callback_action_new (paste_cb, NULL, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);

#if DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

HirComposer *
hir_composer_new (GtkApplication *application,
                  HirEngine      *engine,
                  HirOutgoing    *outgoing)
{
  return g_object_new (HIR_TYPE_COMPOSER,
                       "application", application,
                       "engine", engine,
                       "outgoing", outgoing,
                       NULL);
}

HirOutgoing *
hir_composer_get_outgoing (HirComposer *self)
{
  g_return_val_if_fail (HIR_IS_COMPOSER (self), NULL);

  return self->outgoing;
}

HirComposerView *
hir_composer_get_view (HirComposer *self)
{
  g_return_val_if_fail (HIR_IS_COMPOSER (self), NULL);

  return self->view;
}

void
hir_composer_set_known_addresses (HirComposer        *self,
                                  const char * const *addresses)
{
  g_return_if_fail (HIR_IS_COMPOSER (self));

  gtk_list_store_clear (self->completions);
  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    gtk_list_store_insert_with_values (self->completions, NULL, -1, 0, addresses[i], -1);
}

void
hir_composer_show_error (HirComposer *self,
                         const char  *message)
{
  g_return_if_fail (HIR_IS_COMPOSER (self));

  g_free (self->error_message);
  self->error_message = message != NULL && message[0] != '\0' ? g_strdup (message) : NULL;
  update_banner (self);
}

void
hir_composer_set_size_limit (HirComposer *self,
                             guint64      size_limit)
{
  g_return_if_fail (HIR_IS_COMPOSER (self));

  self->size_limit = size_limit;
  update_banner (self);
}

gboolean
hir_composer_get_busy (HirComposer *self)
{
  g_return_val_if_fail (HIR_IS_COMPOSER (self), FALSE);

  return self->n_reading > 0 || self->saving || self->sending;
}
