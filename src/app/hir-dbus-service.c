/* hir-dbus-service.c: the application's side of messaging for other programs
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <unistd.h>

#include <adwaita.h>
#include <glib/gi18n.h>

#include "hir-composer.h"
#include "hir-dbus.h"
#include "hir-dbus-service.h"
#include "hir-mailto.h"
#include "hir-messaging.h"

struct _HirDBusService
{
  GObject parent_instance;

  GtkApplication *application;   /* not owned */
  HirDBus *dbus;
  HirEngine *engine;
  HirMessaging *messaging;
  GArray *lock_fds;
  GPtrArray *pending_mailto;     /* URIs that came before the engine */
  GHashTable *holding;           /* ids of messages on their way (the application is held) */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (HirDBusService, hir_dbus_service, G_TYPE_OBJECT)

static void
hir_dbus_service_dispose (GObject *object)
{
  HirDBusService *self = HIR_DBUS_SERVICE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->holding != NULL && self->application != NULL)
    {
      for (guint i = g_hash_table_size (self->holding); i > 0; i--)
        g_application_release (G_APPLICATION (self->application));
      g_hash_table_remove_all (self->holding);
    }
  g_clear_object (&self->dbus);
  g_clear_object (&self->messaging);
  g_clear_object (&self->engine);
  if (self->lock_fds != NULL)
    {
      for (guint i = 0; i < self->lock_fds->len; i++)
        close (g_array_index (self->lock_fds, int, i));
      g_array_set_size (self->lock_fds, 0);
    }

  G_OBJECT_CLASS (hir_dbus_service_parent_class)->dispose (object);
}

static void
hir_dbus_service_finalize (GObject *object)
{
  HirDBusService *self = HIR_DBUS_SERVICE (object);

  g_clear_pointer (&self->lock_fds, g_array_unref);
  g_clear_pointer (&self->pending_mailto, g_ptr_array_unref);
  g_clear_pointer (&self->holding, g_hash_table_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (hir_dbus_service_parent_class)->finalize (object);
}

static void
hir_dbus_service_class_init (HirDBusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_dbus_service_dispose;
  object_class->finalize = hir_dbus_service_finalize;
}

static void
hir_dbus_service_init (HirDBusService *self)
{
  self->dbus = hir_dbus_new ();
  self->lock_fds = g_array_new (FALSE, FALSE, sizeof (int));
  self->pending_mailto = g_ptr_array_new_with_free_func (g_free);
  self->holding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cancellable = g_cancellable_new ();
}

HirDBusService *
hir_dbus_service_new (GtkApplication *application)
{
  HirDBusService *self;

  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);

  self = g_object_new (HIR_TYPE_DBUS_SERVICE, NULL);
  self->application = application;
  hir_dbus_set_application (self->dbus, G_APPLICATION (application));
  return self;
}

gboolean
hir_dbus_service_register (HirDBusService   *self,
                           GDBusConnection  *connection,
                           const char       *object_path,
                           GError          **error)
{
  g_return_val_if_fail (HIR_IS_DBUS_SERVICE (self), FALSE);

  return hir_dbus_export (self->dbus, connection, object_path, error);
}

void
hir_dbus_service_unregister (HirDBusService  *self,
                             GDBusConnection *connection)
{
  g_return_if_fail (HIR_IS_DBUS_SERVICE (self));

  hir_dbus_unexport (self->dbus, connection);
}

/* Composers ---------------------------------------------------------------------------- */

typedef struct
{
  GTask *task;     /* NULL once answered */
} ComposeWait;

static void
composer_queued_cb (HirComposer *composer,
                    gint64       id,
                    guint        delay,
                    ComposeWait *wait)
{
  if (wait->task == NULL)
    return;
  g_task_return_int (wait->task, id);
  g_clear_object (&wait->task);
}

static void
composer_destroy_cb (HirComposer *composer,
                     ComposeWait *wait)
{
  if (wait->task != NULL)
    {
      g_task_return_new_error (wait->task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_CANCELLED,
                               _("The message was not sent: the composer was closed"));
      g_clear_object (&wait->task);
    }
  g_free (wait);
}

static HirComposer *
open_composer (HirDBusService *self,
               HirOutgoing    *outgoing)
{
  HirComposer *composer = hir_composer_new (self->application, self->engine, outgoing);

  gtk_window_present (GTK_WINDOW (composer));
  return composer;
}

/* HirMessagingComposeFunc: an interactive Send. */
static void
compose_cb (HirOutgoing *outgoing,
            GTask       *task,
            gpointer     user_data)
{
  HirDBusService *self = user_data;
  ComposeWait *wait = g_new0 (ComposeWait, 1);
  HirComposer *composer = open_composer (self, outgoing);

  wait->task = task;
  g_signal_connect (composer, "queued", G_CALLBACK (composer_queued_cb), wait);
  g_signal_connect (composer, "destroy", G_CALLBACK (composer_destroy_cb), wait);
}

static void
show_problem (HirDBusService *self,
              const char     *heading,
              const char     *body)
{
  GtkWindow *parent = gtk_application_get_active_window (self->application);
  GtkWidget *dialog = adw_message_dialog_new (parent, heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_set_application (GTK_WINDOW (dialog), self->application);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
open_mailto_now (HirDBusService *self,
                 const char     *uri)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMailto) mailto = hir_mailto_parse (uri, &error);
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GSList) files = NULL;
  g_autofree char *to = NULL;
  g_autofree char *cc = NULL;
  g_autofree char *bcc = NULL;
  GListModel *accounts;
  g_autoptr(HirAccount) account = NULL;
  HirComposer *composer;

  if (mailto == NULL)
    {
      show_problem (self, _("Cannot Open the Mail Link"), error->message);
      return;
    }
  if (self->engine == NULL)
    {
      show_problem (self, _("Cannot Open the Mail Link"), _("The mail store could not be opened."));
      return;
    }

  accounts = hir_engine_get_accounts (self->engine);
  if (g_list_model_get_n_items (accounts) > 0)
    account = g_list_model_get_item (accounts, 0);
  outgoing = hir_outgoing_new (account);
  to = g_strjoinv (", ", mailto->to);
  cc = g_strjoinv (", ", mailto->cc);
  bcc = g_strjoinv (", ", mailto->bcc);
  hir_outgoing_set_to (outgoing, to);
  hir_outgoing_set_cc (outgoing, cc);
  hir_outgoing_set_bcc (outgoing, bcc);
  if (mailto->subject != NULL)
    hir_outgoing_set_subject (outgoing, mailto->subject);
  if (mailto->body != NULL)
    hir_outgoing_set_text (outgoing, mailto->body);
  if (mailto->in_reply_to != NULL)
    hir_outgoing_set_in_reply_to (outgoing, mailto->in_reply_to);

  composer = open_composer (self, outgoing);
  /* Attachments a link asks for are shown in the composer, where the user sees them
   * (and removes them) before anything is sent; one that cannot be read says so there. */
  for (guint i = 0; mailto->attachments[i] != NULL; i++)
    files = g_slist_append (files, g_file_new_for_uri (mailto->attachments[i]));
  if (files != NULL)
    hir_composer_add_files (composer, files, FALSE, -1, -1);
  g_slist_free_full (g_steal_pointer (&files), g_object_unref);
}

void
hir_dbus_service_open_mailto (HirDBusService *self,
                              const char     *uri)
{
  g_return_if_fail (HIR_IS_DBUS_SERVICE (self));

  if (self->engine == NULL && self->pending_mailto != NULL)
    g_ptr_array_add (self->pending_mailto, g_strdup (uri));
  else
    open_mailto_now (self, uri);
}

/* Starting ----------------------------------------------------------------------------- */

/* The application stays up while a message it was given is on its way, even with no
 * window (D-Bus activation for one silent Send). */
static void
status_changed_cb (HirMessaging   *messaging,
                   const char     *id,
                   const char     *state,
                   const char     *reason,
                   HirDBusService *self)
{
  gboolean travelling = g_str_equal (state, "queued") || g_str_equal (state, "sending");

  if (travelling && !g_hash_table_contains (self->holding, id))
    {
      g_hash_table_add (self->holding, g_strdup (id));
      g_application_hold (G_APPLICATION (self->application));
    }
  else if (!travelling && g_hash_table_remove (self->holding, id))
    g_application_release (G_APPLICATION (self->application));
}

static void
lock_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GStrv ids = task_data;
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; ids[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      int fd = hir_messaging_lock_account (ids[i], FALSE, &error);

      /* A command line is sending or syncing this account: it finishes first. */
      if (fd < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          g_clear_error (&error);
          fd = hir_messaging_lock_account (ids[i], TRUE, &error);
        }
      if (fd < 0)
        g_warning ("%s", error->message);
      else
        g_array_append_val (fds, fd);
    }
  g_task_return_pointer (task, g_steal_pointer (&fds), (GDestroyNotify) g_array_unref);
}

static void
locked_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  HirDBusService *self = HIR_DBUS_SERVICE (object);
  g_autoptr(GArray) fds = g_task_propagate_pointer (G_TASK (result), NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *socket_path = hir_messaging_get_socket_path ();

  if (fds == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;
  g_array_append_vals (self->lock_fds, fds->data, fds->len);
  g_array_set_size (fds, 0);

  if (!hir_dbus_listen (self->dbus, socket_path, &error))
    g_warning ("Command lines without a session bus cannot reach this instance: %s",
               error->message);
  hir_engine_start (self->engine);
}

void
hir_dbus_service_start (HirDBusService *self,
                        HirEngine      *engine)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  GListModel *accounts;
  GPtrArray *ids = g_ptr_array_new ();

  g_return_if_fail (HIR_IS_DBUS_SERVICE (self));
  g_return_if_fail (HIR_IS_ENGINE (engine));
  g_return_if_fail (self->engine == NULL);

  self->engine = g_object_ref (engine);
  self->messaging = hir_messaging_new (engine);
  hir_messaging_set_compose_func (self->messaging, compose_cb, self);
  g_signal_connect_object (self->messaging, "status-changed", G_CALLBACK (status_changed_cb),
                           self, 0);
  hir_dbus_set_messaging (self->dbus, self->messaging);

  accounts = hir_engine_get_accounts (engine);
  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);

      g_ptr_array_add (ids, g_strdup (hir_account_get_id (account)));
    }
  g_ptr_array_add (ids, NULL);
  task = g_task_new (self, self->cancellable, locked_cb, NULL);
  g_task_set_task_data (task, g_ptr_array_free (ids, FALSE), (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, lock_thread);

  pending = g_steal_pointer (&self->pending_mailto);
  for (guint i = 0; i < pending->len; i++)
    open_mailto_now (self, g_ptr_array_index (pending, i));
}

void
hir_dbus_service_set_error (HirDBusService *self,
                            const char     *message)
{
  g_autoptr(GPtrArray) pending = NULL;

  g_return_if_fail (HIR_IS_DBUS_SERVICE (self));

  hir_dbus_set_error (self->dbus, message);
  pending = g_steal_pointer (&self->pending_mailto);
  for (guint i = 0; pending != NULL && i < pending->len; i++)
    open_mailto_now (self, g_ptr_array_index (pending, i));
}
