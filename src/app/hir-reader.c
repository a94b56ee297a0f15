/* hir-reader.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "hir-attachment-row.h"
#include "hir-reader.h"
#include "hir-settings.h"

struct _HirReader
{
  GtkWidget               parent_instance;

  HirEngine              *engine;
  HirMessage             *message;
  HirMessageBody         *body;
  GSettings              *settings;
  GCancellable           *cancellable;
  HirRemoteContentPolicy  policy;

  GtkStack               *stack;
  GtkStack               *body_stack;
  GtkBox                 *view_box;
  HirMessageView         *view;
  GtkFlowBox             *attachments;
  GtkRevealer            *remote_revealer;
  GtkButton              *trust_button;
  GtkLabel               *trust_label;
  AdwStatusPage          *error_page;
  GtkLabel               *link_preview;

  guint                   loading : 1;
  guint                   trust_pending : 1;
  guint                   allow_remote : 1;
};

G_DEFINE_FINAL_TYPE (HirReader, hir_reader, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_MESSAGE,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
show_toast (HirReader  *self,
            const char *text)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (text));
  else
    g_warning ("%s", text);
}

static void
set_loading (HirReader *self,
             gboolean   loading)
{
  loading = !!loading;
  if (self->loading == loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* Template closures */

static char *
sender_name (gpointer    this,
             const char *name,
             const char *address)
{
  return g_strdup (name != NULL && name[0] != '\0' ? name : address);
}

static char *
sender_address (gpointer    this,
                const char *name,
                const char *address)
{
  if (name == NULL || name[0] == '\0' || address == NULL)
    return g_strdup ("");
  return g_strdup_printf ("<%s>", address);
}

static gboolean
has_text (gpointer    this,
          const char *text)
{
  return text != NULL && text[0] != '\0';
}

static char *
full_date (gpointer this,
           gint64   date)
{
  g_autoptr(GDateTime) local = NULL;

  if (date <= 0)
    return g_strdup ("");
  local = g_date_time_new_from_unix_local (date);
  if (local == NULL)
    return g_strdup ("");
  /* TRANSLATORS: the date of the message in the reader, see strftime(3) */
  return g_date_time_format (local, _("%a, %e %b %Y, %H:%M"));
}

static char *
star_icon (gpointer this,
           gboolean flagged)
{
  return g_strdup (flagged ? "starred-symbolic" : "non-starred-symbolic");
}

static char *
star_tooltip (gpointer this,
              gboolean flagged)
{
  return g_strdup (flagged ? _("Unstar") : _("Star"));
}

static char *
subject_or_placeholder (gpointer    this,
                        const char *subject)
{
  return g_strdup (subject != NULL && subject[0] != '\0' ? subject : _("(No subject)"));
}

/* Cid parts come from this message only, through the engine's attachment cache. */

static void
part_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *bytes;

  bytes = hir_engine_load_attachment_finish (HIR_ENGINE (object), result, &error);
  if (bytes == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

static void
load_part (HirAttachment *attachment,
           GTask         *task,
           gpointer       user_data)
{
  HirReader *self = user_data;

  if (self->engine == NULL || self->message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No message"));
      g_object_unref (task);
      return;
    }
  hir_engine_load_attachment_async (self->engine, self->message, attachment,
                                    g_task_get_cancellable (task), part_loaded_cb, task);
}

static gboolean
is_attachment_visible (gpointer item,
                       gpointer user_data)
{
  /* Inline parts the HTML shows itself are not listed again. */
  return !hir_attachment_get_inline (HIR_ATTACHMENT (item));
}

static GtkWidget *
create_attachment_row (gpointer item,
                       gpointer user_data)
{
  return hir_attachment_row_new (HIR_ATTACHMENT (item));
}

/* Where a link really goes, shown before the click (the text of a link can say anything). */
static void
mouse_target_changed_cb (HirReader           *self,
                         WebKitHitTestResult *hit,
                         guint                modifiers)
{
  const char *uri = NULL;

  if (webkit_hit_test_result_context_is_link (hit))
    uri = webkit_hit_test_result_get_link_uri (hit);
  gtk_label_set_text (self->link_preview, uri != NULL ? uri : "");
  gtk_widget_set_visible (GTK_WIDGET (self->link_preview), uri != NULL && uri[0] != '\0');
}

static void
update_remote_bar (HirReader *self)
{
  gboolean blocked = hir_message_view_get_remote_content_blocked (self->view);

  gtk_revealer_set_reveal_child (self->remote_revealer,
                                 blocked && self->policy != HIR_REMOTE_CONTENT_NEVER);
}

static void
show_body_if_ready (HirReader *self)
{
  g_autoptr(GtkFilterListModel) visible = NULL;
  GtkCustomFilter *filter;

  if (self->body == NULL || self->trust_pending)
    return;

  filter = gtk_custom_filter_new (is_attachment_visible, NULL, NULL);
  visible = gtk_filter_list_model_new (g_object_ref (hir_message_body_get_attachments (self->body)),
                                       GTK_FILTER (filter));
  gtk_flow_box_bind_model (self->attachments, G_LIST_MODEL (visible),
                           create_attachment_row, NULL, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->attachments),
                          g_list_model_get_n_items (G_LIST_MODEL (visible)) > 0);

  if (hir_message_body_get_html (self->body) != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->view_box), "html");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->view_box), "html");
  hir_message_view_show_body (self->view, self->body, self->allow_remote);
  gtk_stack_set_visible_child_name (self->body_stack, "view");
  set_loading (self, FALSE);
}

static void
body_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(GError) error = NULL;
  HirReader *self;

  body = hir_engine_load_body_finish (HIR_ENGINE (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  if (body == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->body_stack, "error");
      set_loading (self, FALSE);
      return;
    }

  g_set_object (&self->body, body);
  show_body_if_ready (self);
}

static void
trust_checked_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  HirReader *self;
  gboolean trusted;

  trusted = hir_store_is_sender_trusted_finish (HIR_STORE (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  if (error != NULL)
    g_debug ("Could not check whether the sender is trusted: %s", error->message);
  self->allow_remote = trusted;
  self->trust_pending = FALSE;
  show_body_if_ready (self);
}

static void
load_message (HirReader *self)
{
  const char *address;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->body);
  gtk_revealer_set_reveal_child (self->remote_revealer, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->link_preview), FALSE);
  gtk_flow_box_bind_model (self->attachments, NULL, NULL, NULL, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->attachments), FALSE);

  if (self->message == NULL || self->engine == NULL)
    {
      hir_message_view_show_body (self->view, NULL, FALSE);
      gtk_stack_set_visible_child_name (self->stack, "empty");
      set_loading (self, FALSE);
      return;
    }

  self->cancellable = g_cancellable_new ();
  gtk_stack_set_visible_child_name (self->stack, "message");
  gtk_stack_set_visible_child_name (self->body_stack, "loading");
  set_loading (self, TRUE);

  address = hir_message_get_from_address (self->message);
  self->policy = hir_settings_get_remote_content_policy (self->settings);
  self->allow_remote = self->policy == HIR_REMOTE_CONTENT_ALWAYS;
  self->trust_pending = FALSE;

  if (address != NULL && address[0] != '\0')
    {
      g_autofree char *label = g_strdup_printf (_("Always Show From %s"), address);

      gtk_label_set_text (self->trust_label, label);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->trust_button), label);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->trust_button), address != NULL && address[0] != '\0');

  if (self->policy == HIR_REMOTE_CONTENT_ASK && address != NULL && address[0] != '\0')
    {
      self->trust_pending = TRUE;
      hir_store_is_sender_trusted_async (hir_engine_get_store (self->engine), address,
                                         self->cancellable, trust_checked_cb, self);
    }

  hir_engine_load_body_async (self->engine, self->message, self->cancellable,
                              body_loaded_cb, self);
}

/* Actions */

static void
show_remote_content_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  HirReader *self = HIR_READER (widget);

  self->allow_remote = TRUE;
  hir_message_view_set_allow_remote (self->view, TRUE);
}

static void
sender_trusted_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(HirReader) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_set_sender_trusted_finish (HIR_STORE (object), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not remember the sender: %s"),
                                               error->message);
      show_toast (self, text);
    }
}

static void
trust_sender_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  HirReader *self = HIR_READER (widget);
  const char *address;

  if (self->message == NULL || self->engine == NULL)
    return;
  address = hir_message_get_from_address (self->message);
  if (address == NULL || address[0] == '\0')
    return;

  hir_store_set_sender_trusted_async (hir_engine_get_store (self->engine), address, TRUE,
                                      NULL, sender_trusted_cb, g_object_ref (self));
  self->allow_remote = TRUE;
  hir_message_view_set_allow_remote (self->view, TRUE);
}

static void
reload_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  load_message (HIR_READER (widget));
}

static HirAttachment *
find_attachment (HirReader  *self,
                 const char *part_id)
{
  GListModel *attachments;

  if (self->body == NULL)
    return NULL;
  attachments = hir_message_body_get_attachments (self->body);
  for (guint i = 0; i < g_list_model_get_n_items (attachments); i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (attachments, i);

      if (g_strcmp0 (hir_attachment_get_part_id (attachment), part_id) == 0)
        return g_steal_pointer (&attachment);
    }
  return NULL;
}

typedef struct
{
  HirReader *self;
  GFile     *file;
  char      *name;
  gboolean   open;
} AttachmentJob;

static void
attachment_job_free (AttachmentJob *job)
{
  g_clear_object (&job->self);
  g_clear_object (&job->file);
  g_free (job->name);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AttachmentJob, attachment_job_free)

static void
file_written_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(AttachmentJob) job = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not save “%s”: %s"), job->name,
                                               error->message);
      show_toast (job->self, text);
      return;
    }

  if (job->open)
    {
      g_autofree char *uri = g_file_get_uri (job->file);
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (job->self));

      gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
    }
  else
    {
      g_autofree char *text = g_strdup_printf (_("Saved “%s”"), job->name);

      show_toast (job->self, text);
    }
}

static void
attachment_loaded_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(AttachmentJob) job = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes = hir_engine_load_attachment_finish (HIR_ENGINE (object), result, &error);
  if (bytes == NULL)
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = g_strdup_printf (_("Could not download “%s”: %s"), job->name, error->message);
      show_toast (job->self, text);
      return;
    }

  g_file_replace_contents_bytes_async (job->file, bytes, NULL, FALSE,
                                       job->open ? G_FILE_CREATE_PRIVATE : G_FILE_CREATE_NONE,
                                       NULL, file_written_cb, job);
  g_steal_pointer (&job);
}

static void
start_attachment_job (HirReader     *self,
                      HirAttachment *attachment,
                      GFile         *file,
                      gboolean       open)
{
  AttachmentJob *job = g_new0 (AttachmentJob, 1);

  job->self = g_object_ref (self);
  job->file = g_object_ref (file);
  job->name = hir_attachment_dup_display_name (attachment);
  job->open = open;
  hir_engine_load_attachment_async (self->engine, self->message, attachment, NULL,
                                    attachment_loaded_cb, job);
}

/* A file name from a sender must not climb out of the directory it is saved in. */
static char *
dup_safe_file_name (HirAttachment *attachment)
{
  g_autofree char *name = hir_attachment_dup_display_name (attachment);
  char *base;

  g_strdelimit (name, "/\\", '_');
  base = g_strstrip (g_strdup (name));
  if (base[0] == '\0' || base[0] == '.')
    {
      /* Translators: the start of a saved attachment's file name when the sender gave it
       * none, or one that starts with a dot. */
      char *prefixed = g_strconcat (_("attachment"), base, NULL);

      g_free (base);
      base = prefixed;
    }
  return base;
}

static void
open_attachment_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  HirReader *self = HIR_READER (widget);
  g_autoptr(HirAttachment) attachment = find_attachment (self, g_variant_get_string (parameter, NULL));
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;

  if (attachment == NULL)
    return;

  /* A private directory per opened file, so names never collide or get guessed. */
  dir = g_dir_make_tmp ("hirondelle-XXXXXX", &error);
  if (dir == NULL)
    {
      show_toast (self, error->message);
      return;
    }
  name = dup_safe_file_name (attachment);
  path = g_build_filename (dir, name, NULL);
  file = g_file_new_for_path (path);
  start_attachment_job (self, attachment, file, TRUE);
}

static void
save_response_cb (GtkNativeDialog *chooser,
                  int              response,
                  gpointer         user_data)
{
  g_autoptr(HirReader) self = user_data;
  g_autoptr(HirAttachment) attachment = g_object_steal_data (G_OBJECT (chooser), "hir-attachment");
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT && attachment != NULL && self->engine != NULL &&
      self->message != NULL)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      if (file != NULL)
        start_attachment_job (self, attachment, file, FALSE);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
save_attachment_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  HirReader *self = HIR_READER (widget);
  g_autoptr(HirAttachment) attachment = find_attachment (self, g_variant_get_string (parameter, NULL));
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;
  GtkRoot *root;

  if (attachment == NULL)
    return;

  root = gtk_widget_get_root (widget);
  chooser = gtk_file_chooser_native_new (_("Save Attachment"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  name = dup_safe_file_name (attachment);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "hir-attachment", g_steal_pointer (&attachment),
                          g_object_unref);
  g_signal_connect (chooser, "response", G_CALLBACK (save_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* GObject */

static void
hir_reader_dispose (GObject *object)
{
  HirReader *self = (HirReader *)object;
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->view != NULL)
    hir_message_view_set_part_loader (self->view, NULL, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_READER);
  /* Children without an id are not the template's to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  self->view = NULL;
  g_clear_object (&self->body);
  g_clear_object (&self->message);
  g_clear_object (&self->engine);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (hir_reader_parent_class)->dispose (object);
}

static void
hir_reader_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  HirReader *self = HIR_READER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_MESSAGE:
      g_value_set_object (value, self->message);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_reader_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  HirReader *self = HIR_READER (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      hir_reader_set_engine (self, g_value_get_object (value));
      break;
    case PROP_MESSAGE:
      hir_reader_set_message (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_reader_class_init (HirReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_reader_dispose;
  object_class->get_property = hir_reader_get_property;
  object_class->set_property = hir_reader_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, HIR_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_object ("message", NULL, NULL, HIR_TYPE_MESSAGE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-reader.ui");
  gtk_widget_class_bind_template_child (widget_class, HirReader, stack);
  gtk_widget_class_bind_template_child (widget_class, HirReader, body_stack);
  gtk_widget_class_bind_template_child (widget_class, HirReader, view_box);
  gtk_widget_class_bind_template_child (widget_class, HirReader, attachments);
  gtk_widget_class_bind_template_child (widget_class, HirReader, remote_revealer);
  gtk_widget_class_bind_template_child (widget_class, HirReader, trust_button);
  gtk_widget_class_bind_template_child (widget_class, HirReader, trust_label);
  gtk_widget_class_bind_template_child (widget_class, HirReader, error_page);
  gtk_widget_class_bind_template_callback (widget_class, sender_name);
  gtk_widget_class_bind_template_callback (widget_class, sender_address);
  gtk_widget_class_bind_template_callback (widget_class, has_text);
  gtk_widget_class_bind_template_callback (widget_class, full_date);
  gtk_widget_class_bind_template_callback (widget_class, star_icon);
  gtk_widget_class_bind_template_callback (widget_class, star_tooltip);
  gtk_widget_class_bind_template_callback (widget_class, subject_or_placeholder);

  gtk_widget_class_install_action (widget_class, "reader.show-remote-content", NULL,
                                   show_remote_content_action);
  gtk_widget_class_install_action (widget_class, "reader.trust-sender", NULL,
                                   trust_sender_action);
  gtk_widget_class_install_action (widget_class, "reader.reload", NULL, reload_action);
  gtk_widget_class_install_action (widget_class, "reader.open-attachment", "s",
                                   open_attachment_action);
  gtk_widget_class_install_action (widget_class, "reader.save-attachment", "s",
                                   save_attachment_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "reader");

  g_type_ensure (HIR_TYPE_MESSAGE);
}

static void
hir_reader_init (HirReader *self)
{
  GtkWidget *overlay;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = hir_settings_new ();
  self->policy = hir_settings_get_remote_content_policy (self->settings);

  /* Made in code, not in the template: every view must share the one web context and
   * network session, which are construct-only properties. */
  self->view = HIR_MESSAGE_VIEW (hir_message_view_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->view), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->view), TRUE);
  overlay = gtk_overlay_new ();
  gtk_overlay_set_child (GTK_OVERLAY (overlay), GTK_WIDGET (self->view));
  self->link_preview = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_ellipsize (self->link_preview, PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (self->link_preview, 80);
  gtk_widget_set_halign (GTK_WIDGET (self->link_preview), GTK_ALIGN_START);
  gtk_widget_set_valign (GTK_WIDGET (self->link_preview), GTK_ALIGN_END);
  gtk_widget_set_can_target (GTK_WIDGET (self->link_preview), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->link_preview), FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self->link_preview), "link-preview");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (self->link_preview));
  gtk_box_append (self->view_box, overlay);
  g_signal_connect_object (self->view, "mouse-target-changed",
                           G_CALLBACK (mouse_target_changed_cb), self, G_CONNECT_SWAPPED);
  hir_message_view_set_part_loader (self->view, load_part, self, NULL);
  g_signal_connect_object (self->view, "notify::remote-content-blocked",
                           G_CALLBACK (update_remote_bar), self, G_CONNECT_SWAPPED);
}

GtkWidget *
hir_reader_new (HirEngine *engine)
{
  return g_object_new (HIR_TYPE_READER, "engine", engine, NULL);
}

HirEngine *
hir_reader_get_engine (HirReader *self)
{
  g_return_val_if_fail (HIR_IS_READER (self), NULL);

  return self->engine;
}

void
hir_reader_set_engine (HirReader *self,
                       HirEngine *engine)
{
  g_return_if_fail (HIR_IS_READER (self));
  g_return_if_fail (engine == NULL || HIR_IS_ENGINE (engine));

  if (!g_set_object (&self->engine, engine))
    return;
  load_message (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
}

HirMessage *
hir_reader_get_message (HirReader *self)
{
  g_return_val_if_fail (HIR_IS_READER (self), NULL);

  return self->message;
}

void
hir_reader_set_message (HirReader  *self,
                        HirMessage *message)
{
  g_return_if_fail (HIR_IS_READER (self));
  g_return_if_fail (message == NULL || HIR_IS_MESSAGE (message));

  if (!g_set_object (&self->message, message))
    return;
  load_message (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}

gboolean
hir_reader_get_loading (HirReader *self)
{
  g_return_val_if_fail (HIR_IS_READER (self), FALSE);

  return self->loading;
}

HirMessageView *
hir_reader_get_view (HirReader *self)
{
  g_return_val_if_fail (HIR_IS_READER (self), NULL);

  return self->view;
}
