/* hir-compose-controller.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-compose-controller.h"
#include "hir-size-limit.h"

/* The message list pages rows in; completion looks at most at this many of them. */
#define MAX_ADDRESS_MESSAGES 2000

struct _HirComposeController
{
  GObject          parent_instance;

  HirEngine       *engine;
  HirOutbox       *outbox;
  GtkWindow       *window;
  AdwToastOverlay *toasts;
  GListModel      *address_source;
  GCancellable    *cancellable;
  /* id → subject of the messages sent from this window, for the toasts */
  GHashTable      *subjects;
};

G_DEFINE_FINAL_TYPE (HirComposeController, hir_compose_controller, G_TYPE_OBJECT)

static void
show_toast (HirComposeController *self,
            const char           *text)
{
  if (self->toasts != NULL)
    adw_toast_overlay_add_toast (self->toasts, adw_toast_new (text));
}

static const char *
subject_of (HirComposeController *self,
            gint64                id)
{
  const char *subject = g_hash_table_lookup (self->subjects, &id);

  return subject != NULL && subject[0] != '\0' ? subject : _("(No subject)");
}

/* Completion: every address of the messages the window lists. */

static void
add_addresses (GHashTable *seen,
               GPtrArray  *addresses,
               const char *list)
{
  InternetAddressList *parsed = NULL;

  if (list == NULL || list[0] == '\0')
    return;
  parsed = internet_address_list_parse (NULL, list);
  for (int i = 0; parsed != NULL && i < internet_address_list_length (parsed); i++)
    {
      InternetAddress *address = internet_address_list_get_address (parsed, i);
      g_autofree char *text = NULL;
      g_autofree char *key = NULL;

      if (!INTERNET_ADDRESS_IS_MAILBOX (address))
        continue;
      key = g_ascii_strdown (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)), -1);
      if (g_hash_table_contains (seen, key))
        continue;
      text = internet_address_to_string (address, NULL, FALSE);
      g_ptr_array_add (addresses, g_steal_pointer (&text));
      g_hash_table_add (seen, g_steal_pointer (&key));
    }
  g_clear_object (&parsed);
}

static GStrv
collect_addresses (HirComposeController *self)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  guint n;

  if (self->address_source == NULL)
    return NULL;
  n = MIN (g_list_model_get_n_items (self->address_source), MAX_ADDRESS_MESSAGES);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirMessage) message = g_list_model_get_item (self->address_source, i);
      InternetAddress *from = NULL;
      g_autofree char *from_text = NULL;

      /* Placeholders have nothing yet; asking for more rows would page them all in. */
      if (message == NULL || !hir_message_get_loaded (message))
        continue;
      if (hir_message_get_from_address (message) != NULL)
        {
          from = internet_address_mailbox_new (hir_message_get_from_name (message),
                                               hir_message_get_from_address (message));
          from_text = internet_address_to_string (from, NULL, FALSE);
          g_object_unref (from);
          add_addresses (seen, addresses, from_text);
        }
      add_addresses (seen, addresses, hir_message_get_to (message));
      add_addresses (seen, addresses, hir_message_get_cc (message));
    }
  g_ptr_array_add (addresses, NULL);
  return (GStrv) g_ptr_array_steal (addresses, NULL);
}

/* Sending and its toasts */

static void
cancelled_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(HirComposeController) self = user_data;
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GError) error = NULL;

  outgoing = hir_outbox_cancel_finish (HIR_OUTBOX (object), result, &error);
  if (outgoing == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not undo: %s"), error->message);

      show_toast (self, text);
      return;
    }
  gtk_window_present (GTK_WINDOW (hir_compose_controller_open (self, outgoing)));
}

static void
undo_clicked_cb (AdwToast             *toast,
                 HirComposeController *self)
{
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (toast), "hir-id"));

  hir_outbox_cancel_async (self->outbox, id, NULL, cancelled_cb, g_object_ref (self));
}

static void
queued_cb (HirComposeController *self,
           gint64                id,
           guint                 delay,
           HirComposer          *composer)
{
  AdwToast *toast;
  gint64 *key = g_new (gint64, 1);

  *key = id;
  g_hash_table_replace (self->subjects, key,
                        g_strdup (hir_outgoing_get_subject (hir_composer_get_outgoing (composer))));

  /* It goes by itself: libadwaita 1.2 can crash when a toast is dismissed while it
   * animates, and the undo delay and the toast's timeout end together. */
  toast = adw_toast_new (_("Sending…"));
  adw_toast_set_timeout (toast, 2);
  if (delay > 0)
    {
      adw_toast_set_button_label (toast, _("_Undo"));
      adw_toast_set_timeout (toast, delay);
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      g_object_set_data (G_OBJECT (toast), "hir-id", GSIZE_TO_POINTER (id));
      g_signal_connect_object (toast, "button-clicked", G_CALLBACK (undo_clicked_cb), self, 0);
    }
  if (self->toasts != NULL)
    adw_toast_overlay_add_toast (self->toasts, toast);
  else
    g_object_unref (toast);
}

typedef struct
{
  HirComposeController *self;
  char                 *error_message;
} FailedEdit;

static void
failed_loaded_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  FailedEdit *edit = user_data;
  g_autoptr(HirComposeController) self = edit->self;
  g_autofree char *message = edit->error_message;
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GError) error = NULL;
  HirComposer *composer;

  g_free (edit);

  outgoing = hir_outbox_cancel_finish (HIR_OUTBOX (object), result, &error);
  if (outgoing == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the message: %s"), error->message);

      show_toast (self, text);
      return;
    }
  /* Taken back as a draft, it no longer carries the error: the toast's words are kept. */
  if (message == NULL)
    message = g_strdup (hir_outgoing_get_error_message (outgoing));
  composer = hir_compose_controller_open (self, outgoing);
  if (message != NULL)
    hir_composer_show_error (composer, message);
  gtk_window_present (GTK_WINDOW (composer));
}

static void
edit_failed_cb (AdwToast             *toast,
                HirComposeController *self)
{
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (toast), "hir-id"));
  FailedEdit *edit = g_new0 (FailedEdit, 1);

  edit->self = g_object_ref (self);
  edit->error_message = g_strdup (g_object_get_data (G_OBJECT (toast), "hir-error"));
  /* Taken back as a draft, so that what the user changes is what gets sent. */
  hir_outbox_cancel_async (self->outbox, id, NULL, failed_loaded_cb, edit);
}

static void
state_changed_cb (HirComposeController *self,
                  gint64                id,
                  HirOutgoingState      state,
                  const char           *error_message)
{
  if (state == HIR_OUTGOING_STATE_SENT && g_hash_table_contains (self->subjects, &id))
    {
      show_toast (self, _("Message sent"));
      g_hash_table_remove (self->subjects, &id);
    }
  else if (state == HIR_OUTGOING_STATE_FAILED)
    {
      g_autofree char *text = g_strdup_printf (_("Could not send “%s”: %s"), subject_of (self, id),
                                               error_message != NULL ? error_message : _("unknown error"));
      AdwToast *toast = adw_toast_new (text);

      /* It stays until the user reads it: a message that did not go must not pass
       * unnoticed. */
      adw_toast_set_timeout (toast, 0);
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_set_button_label (toast, _("_Edit"));
      g_object_set_data (G_OBJECT (toast), "hir-id", GSIZE_TO_POINTER (id));
      g_object_set_data_full (G_OBJECT (toast), "hir-error", g_strdup (error_message), g_free);
      g_signal_connect_object (toast, "button-clicked", G_CALLBACK (edit_failed_cb), self, 0);
      if (self->toasts != NULL)
        adw_toast_overlay_add_toast (self->toasts, toast);
      else
        g_object_unref (toast);
    }
}

/* Opening composers */

static void
size_limit_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GWeakRef *composer_ref = user_data;
  g_autoptr(HirComposer) composer = g_weak_ref_get (composer_ref);
  g_autoptr(GError) error = NULL;
  guint64 limit = hir_size_limit_lookup_finish (result, &error);

  g_weak_ref_clear (composer_ref);
  g_free (composer_ref);
  /* Not knowing the limit is no error for the user: the composer keeps its usual
   * figure, and the outbox checks the server's own limit when it sends. */
  if (error != NULL)
    g_debug ("No size limit from the server: %s", error->message);
  if (composer != NULL && limit > 0)
    hir_composer_set_size_limit (composer, limit);
}

/* Tells @composer the largest message the account's server takes, for its warning. */
static void
look_up_size_limit (HirComposeController *self,
                    HirComposer          *composer,
                    HirOutgoing          *outgoing)
{
  const char *account_id = outgoing != NULL ? hir_outgoing_get_account_id (outgoing) : NULL;
  HirAccount *account = account_id != NULL ? hir_engine_find_account (self->engine, account_id) : NULL;
  GWeakRef *composer_ref;

  if (account == NULL)
    return;
  composer_ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (composer_ref, composer);
  hir_size_limit_lookup_async (self->engine, account, NULL, size_limit_cb, composer_ref);
}

HirComposer *
hir_compose_controller_open (HirComposeController *self,
                             HirOutgoing          *outgoing)
{
  GtkApplication *application = NULL;
  g_auto(GStrv) addresses = NULL;
  HirComposer *composer;

  g_return_val_if_fail (HIR_IS_COMPOSE_CONTROLLER (self), NULL);

  if (self->window != NULL)
    application = gtk_window_get_application (self->window);
  composer = hir_composer_new (application, self->engine, outgoing);
  addresses = collect_addresses (self);
  hir_composer_set_known_addresses (composer, (const char * const *) addresses);
  g_signal_connect_object (composer, "queued", G_CALLBACK (queued_cb), self, G_CONNECT_SWAPPED);
  look_up_size_limit (self, composer, hir_composer_get_outgoing (composer));
  return composer;
}

static HirAccount *
account_or_first (HirComposeController *self,
                  const char           *account_id)
{
  GListModel *accounts = hir_engine_get_accounts (self->engine);
  HirAccount *account = NULL;

  if (account_id != NULL)
    account = hir_engine_find_account (self->engine, account_id);
  if (account == NULL && g_list_model_get_n_items (accounts) > 0)
    {
      g_autoptr(HirAccount) first = g_list_model_get_item (accounts, 0);

      account = first;
    }
  return account;
}

HirComposer *
hir_compose_controller_compose (HirComposeController *self,
                                HirAccount           *account,
                                GSList               *files)
{
  g_autoptr(HirOutgoing) outgoing = NULL;
  HirComposer *composer;

  g_return_val_if_fail (HIR_IS_COMPOSE_CONTROLLER (self), NULL);

  if (account == NULL)
    account = account_or_first (self, NULL);
  outgoing = hir_outgoing_new (account);
  composer = hir_compose_controller_open (self, outgoing);
  if (files != NULL)
    hir_composer_add_files (composer, files, FALSE, -1, -1);
  gtk_window_present (GTK_WINDOW (composer));
  return composer;
}

/* Replies and forwards need the original's body, and the parts they carry along: the
 * inline images the quote shows, and for a forward the attachments too. */

typedef enum
{
  PREPARE_REPLY,
  PREPARE_REPLY_ALL,
  PREPARE_FORWARD,
  PREPARE_FORWARD_ATTACHMENT,
  PREPARE_DRAFT,
} PrepareKind;

typedef struct
{
  HirComposeController *self;
  HirMessage           *message;
  HirMessageBody       *body;
  PrepareKind           kind;
  GPtrArray            *parts;      /* HirOutgoingAttachment, in the original's order */
  guint                 n_pending;
  GError               *error;
} Prepare;

static void
unref_part (gpointer part)
{
  if (part != NULL)
    g_object_unref (part);
}

static void
prepare_free (Prepare *prepare)
{
  g_object_unref (prepare->self);
  g_object_unref (prepare->message);
  g_clear_object (&prepare->body);
  g_clear_pointer (&prepare->parts, g_ptr_array_unref);
  g_clear_error (&prepare->error);
  g_free (prepare);
}

static GBytes *
build_original (Prepare    *prepare,
                HirAccount *account)
{
  g_autoptr(HirOutgoing) copy = hir_outgoing_new (account);
  GMimeMessage *mime = NULL;
  g_autoptr(GDateTime) date = NULL;
  InternetAddress *from = NULL;
  g_autofree char *from_text = NULL;
  g_autofree char *text = NULL;
  HirMessage *message = prepare->message;
  gsize length;

  /* The engine offers no raw message yet: the original is rebuilt from what the store
   * has (headers that matter, text, HTML, every part), with its own Date and Message-ID. */
  from = internet_address_mailbox_new (hir_message_get_from_name (message),
                                       hir_message_get_from_address (message) ?: "");
  from_text = internet_address_to_string (from, NULL, FALSE);
  g_object_unref (from);
  hir_outgoing_set_from (copy, from_text);
  hir_outgoing_set_to (copy, hir_message_get_to (message));
  hir_outgoing_set_cc (copy, hir_message_get_cc (message));
  hir_outgoing_set_subject (copy, hir_message_get_subject (message));
  hir_outgoing_set_in_reply_to (copy, hir_message_get_in_reply_to (message));
  hir_outgoing_set_text (copy, hir_message_body_get_text (prepare->body) ?: "");
  hir_outgoing_set_html (copy, hir_message_body_get_html (prepare->body));
  for (guint i = 0; i < prepare->parts->len; i++)
    hir_outgoing_add_attachment (copy, g_ptr_array_index (prepare->parts, i));

  mime = hir_outgoing_build_mime (copy, TRUE);
  if (hir_message_get_message_id (message) != NULL)
    g_mime_message_set_message_id (mime, hir_message_get_message_id (message));
  if (hir_message_get_date (message) > 0)
    {
      date = g_date_time_new_from_unix_utc (hir_message_get_date (message));
      g_mime_message_set_date (mime, date);
    }
  text = g_mime_object_to_string (GMIME_OBJECT (mime), NULL);
  g_object_unref (mime);
  length = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), length);
}

static HirOutgoing *
outgoing_from_draft (Prepare    *prepare,
                     HirAccount *account)
{
  HirMessage *message = prepare->message;
  HirOutgoing *outgoing = hir_outgoing_new (account);
  InternetAddress *from = NULL;
  g_autofree char *from_text = NULL;
  g_autofree char *message_id = NULL;
  const char *remote_id = hir_message_get_remote_id (message);

  if (hir_message_get_from_address (message) != NULL)
    {
      from = internet_address_mailbox_new (hir_message_get_from_name (message),
                                           hir_message_get_from_address (message));
      from_text = internet_address_to_string (from, NULL, FALSE);
      g_object_unref (from);
      hir_outgoing_set_from (outgoing, from_text);
    }
  hir_outgoing_set_to (outgoing, hir_message_get_to (message));
  hir_outgoing_set_cc (outgoing, hir_message_get_cc (message));
  hir_outgoing_set_subject (outgoing, hir_message_get_subject (message));
  hir_outgoing_set_text (outgoing, hir_message_body_get_text (prepare->body) ?: "");
  hir_outgoing_set_html (outgoing, hir_message_body_get_html (prepare->body));
  if (hir_message_get_in_reply_to (message) != NULL)
    {
      g_autofree char *in_reply_to = g_strdup_printf ("<%s>", hir_message_get_in_reply_to (message));

      hir_outgoing_set_in_reply_to (outgoing, in_reply_to);
    }
  if (hir_message_get_references (message) != NULL)
    {
      g_auto(GStrv) ids = g_strsplit (hir_message_get_references (message), " ", -1);
      g_autoptr(GString) references = g_string_new (NULL);

      for (guint i = 0; ids[i] != NULL; i++)
        if (ids[i][0] != '\0')
          g_string_append_printf (references, "%s<%s>", references->len > 0 ? " " : "", ids[i]);
      hir_outgoing_set_references (outgoing, references->str);
    }
  if (hir_message_get_message_id (message) != NULL)
    {
      message_id = g_strdup_printf ("<%s>", hir_message_get_message_id (message));
      hir_outgoing_set_message_id (outgoing, message_id);
    }
  /* Saving replaces the server's copy: its id in the outbox's terms (JMAP: the Email
   * id; IMAP: "UIDVALIDITY:UID" of the store's "mailbox\nUIDVALIDITY\nUID"). */
  if (remote_id != NULL)
    {
      g_auto(GStrv) fields = g_strsplit (remote_id, "\n", -1);

      if (g_strv_length (fields) == 3)
        {
          g_autofree char *imap_id = g_strdup_printf ("%s:%s", fields[1], fields[2]);

          hir_outgoing_set_draft_remote_id (outgoing, imap_id);
        }
      else
        {
          hir_outgoing_set_draft_remote_id (outgoing, remote_id);
        }
    }
  for (guint i = 0; i < prepare->parts->len; i++)
    hir_outgoing_add_attachment (outgoing, g_ptr_array_index (prepare->parts, i));
  return outgoing;
}

static void
prepare_finish (Prepare *prepare)
{
  HirComposeController *self = prepare->self;
  HirAccount *account = account_or_first (self, hir_message_get_account_id (prepare->message));
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GBytes) original = NULL;

  if (prepare->error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the message: %s"),
                                               prepare->error->message);

      show_toast (self, text);
      prepare_free (prepare);
      return;
    }

  switch (prepare->kind)
    {
    case PREPARE_REPLY:
    case PREPARE_REPLY_ALL:
      outgoing = hir_outgoing_new_reply (account, prepare->message, prepare->body,
                                         prepare->kind == PREPARE_REPLY_ALL);
      for (guint i = 0; i < prepare->parts->len; i++)
        hir_outgoing_add_attachment (outgoing, g_ptr_array_index (prepare->parts, i));
      break;
    case PREPARE_FORWARD:
      outgoing = hir_outgoing_new_forward (account, prepare->message, prepare->body, FALSE, NULL);
      for (guint i = 0; i < prepare->parts->len; i++)
        hir_outgoing_add_attachment (outgoing, g_ptr_array_index (prepare->parts, i));
      break;
    case PREPARE_FORWARD_ATTACHMENT:
      original = build_original (prepare, account);
      outgoing = hir_outgoing_new_forward (account, prepare->message, prepare->body, TRUE, original);
      break;
    case PREPARE_DRAFT:
    default:
      outgoing = outgoing_from_draft (prepare, account);
      break;
    }

  gtk_window_present (GTK_WINDOW (hir_compose_controller_open (self, outgoing)));
  prepare_free (prepare);
}

typedef struct
{
  Prepare *prepare;
  guint    index;
  char    *filename;
  char    *content_type;
  char    *content_id;
} PartLoad;

static void
part_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  PartLoad *load = user_data;
  Prepare *prepare = load->prepare;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = hir_engine_load_attachment_finish (HIR_ENGINE (object), result, &error);
  if (bytes == NULL)
    {
      if (prepare->error == NULL)
        prepare->error = g_steal_pointer (&error);
    }
  else
    {
      g_autoptr(HirOutgoingAttachment) part = hir_outgoing_attachment_new (load->filename,
                                                                           load->content_type,
                                                                           bytes);

      if (load->content_id != NULL)
        hir_outgoing_attachment_set_content_id (part, load->content_id);
      g_ptr_array_index (prepare->parts, load->index) = g_steal_pointer (&part);
    }
  g_free (load->filename);
  g_free (load->content_type);
  g_free (load->content_id);
  g_free (load);

  if (--prepare->n_pending == 0)
    {
      /* Parts that failed to load leave holes; the error says so. */
      for (guint i = prepare->parts->len; i > 0; i--)
        if (g_ptr_array_index (prepare->parts, i - 1) == NULL)
          g_ptr_array_steal_index (prepare->parts, i - 1);
      prepare_finish (prepare);
    }
}

static gboolean
wants_part (Prepare       *prepare,
            HirAttachment *attachment)
{
  const char *html = hir_message_body_get_html (prepare->body);
  const char *content_id = hir_attachment_get_content_id (attachment);

  switch (prepare->kind)
    {
    case PREPARE_REPLY:
    case PREPARE_REPLY_ALL:
      /* Only the images the quote shows. */
      return content_id != NULL && html != NULL && strstr (html, content_id) != NULL;
    case PREPARE_FORWARD:
    case PREPARE_FORWARD_ATTACHMENT:
    case PREPARE_DRAFT:
    default:
      return TRUE;
    }
}

static void
body_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Prepare *prepare = user_data;
  GListModel *attachments;
  g_autoptr(GError) error = NULL;

  prepare->body = hir_engine_load_body_finish (HIR_ENGINE (object), result, &error);
  if (prepare->body == NULL)
    {
      prepare->error = g_steal_pointer (&error);
      prepare_finish (prepare);
      return;
    }

  attachments = hir_message_body_get_attachments (prepare->body);
  prepare->parts = g_ptr_array_new_with_free_func (unref_part);
  for (guint i = 0; i < g_list_model_get_n_items (attachments); i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (attachments, i);
      PartLoad *load;

      if (!wants_part (prepare, attachment))
        continue;
      load = g_new0 (PartLoad, 1);
      load->prepare = prepare;
      load->index = prepare->parts->len;
      load->filename = hir_attachment_dup_display_name (attachment);
      load->content_type = g_strdup (hir_attachment_get_content_type (attachment));
      /* Only inline parts keep their Content-ID: an ordinary attachment forwarded is an
       * ordinary attachment again. */
      if (hir_attachment_get_inline (attachment) || prepare->kind == PREPARE_REPLY ||
          prepare->kind == PREPARE_REPLY_ALL)
        load->content_id = g_strdup (hir_attachment_get_content_id (attachment));
      g_ptr_array_add (prepare->parts, NULL);
      prepare->n_pending++;
      hir_engine_load_attachment_async (prepare->self->engine, prepare->message, attachment,
                                        prepare->self->cancellable, part_loaded_cb, load);
    }
  if (prepare->n_pending == 0)
    prepare_finish (prepare);
}

static void
prepare_start (HirComposeController *self,
               HirMessage           *message,
               PrepareKind           kind)
{
  Prepare *prepare = g_new0 (Prepare, 1);

  prepare->self = g_object_ref (self);
  prepare->message = g_object_ref (message);
  prepare->kind = kind;
  prepare->parts = g_ptr_array_new_with_free_func (unref_part);
  hir_engine_load_body_async (self->engine, message, self->cancellable, body_loaded_cb, prepare);
}

void
hir_compose_controller_reply (HirComposeController *self,
                              HirMessage           *message,
                              gboolean              reply_all)
{
  g_return_if_fail (HIR_IS_COMPOSE_CONTROLLER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  prepare_start (self, message, reply_all ? PREPARE_REPLY_ALL : PREPARE_REPLY);
}

void
hir_compose_controller_forward (HirComposeController *self,
                                HirMessage           *message,
                                gboolean              as_attachment)
{
  g_return_if_fail (HIR_IS_COMPOSE_CONTROLLER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  prepare_start (self, message, as_attachment ? PREPARE_FORWARD_ATTACHMENT : PREPARE_FORWARD);
}

/* Drafts */

typedef struct
{
  HirComposeController *self;
  HirMessage           *message;
} DraftLookup;

static void
draft_lookup_free (DraftLookup *lookup)
{
  g_object_unref (lookup->self);
  g_object_unref (lookup->message);
  g_free (lookup);
}

static void
draft_loaded_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  DraftLookup *lookup = user_data;
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GError) error = NULL;

  outgoing = hir_outbox_load_finish (HIR_OUTBOX (object), result, &error);
  if (outgoing == NULL)
    prepare_start (lookup->self, lookup->message, PREPARE_DRAFT);
  else
    gtk_window_present (GTK_WINDOW (hir_compose_controller_open (lookup->self, outgoing)));
  draft_lookup_free (lookup);
}

static void
drafts_listed_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DraftLookup *lookup = user_data;
  g_autoptr(GPtrArray) drafts = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wanted = NULL;

  drafts = hir_outbox_list_drafts_finish (HIR_OUTBOX (object), result, &error);
  if (hir_message_get_message_id (lookup->message) != NULL)
    wanted = g_strdup_printf ("<%s>", hir_message_get_message_id (lookup->message));
  for (guint i = 0; drafts != NULL && wanted != NULL && i < drafts->len; i++)
    {
      HirOutgoing *draft = g_ptr_array_index (drafts, i);

      /* The Message-ID survives every save, on either protocol. */
      if (g_strcmp0 (hir_outgoing_get_message_id (draft), wanted) == 0)
        {
          hir_outbox_load_async (lookup->self->outbox, hir_outgoing_get_id (draft),
                                 lookup->self->cancellable, draft_loaded_cb, lookup);
          return;
        }
    }
  prepare_start (lookup->self, lookup->message, PREPARE_DRAFT);
  draft_lookup_free (lookup);
}

void
hir_compose_controller_open_draft (HirComposeController *self,
                                   HirMessage           *message)
{
  DraftLookup *lookup;

  g_return_if_fail (HIR_IS_COMPOSE_CONTROLLER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  lookup = g_new0 (DraftLookup, 1);
  lookup->self = g_object_ref (self);
  lookup->message = g_object_ref (message);
  hir_outbox_list_drafts_async (self->outbox, hir_message_get_account_id (message),
                                self->cancellable, drafts_listed_cb, lookup);
}

void
hir_compose_controller_set_address_source (HirComposeController *self,
                                           GListModel           *messages)
{
  g_return_if_fail (HIR_IS_COMPOSE_CONTROLLER (self));

  g_set_object (&self->address_source, messages);
}

/* GObject */

static void
hir_compose_controller_dispose (GObject *object)
{
  HirComposeController *self = (HirComposeController *)object;

  g_cancellable_cancel (self->cancellable);
  if (self->outbox != NULL)
    g_signal_handlers_disconnect_by_func (self->outbox, state_changed_cb, self);
  g_clear_object (&self->outbox);
  g_clear_object (&self->address_source);
  g_clear_weak_pointer (&self->toasts);
  g_clear_weak_pointer (&self->window);

  G_OBJECT_CLASS (hir_compose_controller_parent_class)->dispose (object);
}

static void
hir_compose_controller_finalize (GObject *object)
{
  HirComposeController *self = (HirComposeController *)object;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->subjects, g_hash_table_unref);

  G_OBJECT_CLASS (hir_compose_controller_parent_class)->finalize (object);
}

static void
hir_compose_controller_class_init (HirComposeControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_compose_controller_dispose;
  object_class->finalize = hir_compose_controller_finalize;

  /* Addresses are parsed with GMime here, and hir_outgoing_new_reply() parses before
   * the engine's HirOutgoing class has set GMime up. */
  g_mime_init ();
}

static void
hir_compose_controller_init (HirComposeController *self)
{
  self->cancellable = g_cancellable_new ();
  self->subjects = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
}

HirComposeController *
hir_compose_controller_new (HirEngine       *engine,
                            GtkWindow       *window,
                            AdwToastOverlay *toasts)
{
  HirComposeController *self;

  g_return_val_if_fail (HIR_IS_ENGINE (engine), NULL);

  self = g_object_new (HIR_TYPE_COMPOSE_CONTROLLER, NULL);
  self->engine = g_object_ref (engine);
  /* Calls in flight may keep the controller past its window. */
  g_set_weak_pointer (&self->window, window);
  g_set_weak_pointer (&self->toasts, toasts);
  self->outbox = hir_engine_get_outbox (engine);
  if (self->outbox != NULL)
    {
      g_object_ref (self->outbox);
      g_signal_connect_object (self->outbox, "state-changed", G_CALLBACK (state_changed_cb),
                               self, G_CONNECT_SWAPPED);
    }
  return self;
}
