/* hir-dbus.c: the app.hirondelle.Hirondelle.Messaging D-Bus object
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "hir-dbus.h"
#include "hir-dbus-generated.h"

struct _HirDBus
{
  GObject parent_instance;

  HirMessaging *messaging;
  char *error_message;
  GHashTable *registrations;     /* GDBusConnection → registration id */
  GPtrArray *waiting;            /* GDBusMethodInvocation, before the engine is open */
  GApplication *application;     /* not owned; held while a call is answered */
  GDBusServer *server;
  char *socket_path;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (HirDBus, hir_dbus, G_TYPE_OBJECT)

static void
register_errors (void)
{
  static const struct { HirMessagingError code; const char *name; } errors[] = {
    { HIR_MESSAGING_ERROR_FAILED, "app.hirondelle.Hirondelle.Error.Failed" },
    { HIR_MESSAGING_ERROR_INVALID_ARGS, "app.hirondelle.Hirondelle.Error.InvalidArgs" },
    { HIR_MESSAGING_ERROR_CANCELLED, "app.hirondelle.Hirondelle.Error.Cancelled" },
    { HIR_MESSAGING_ERROR_NOT_FOUND, "app.hirondelle.Hirondelle.Error.NotFound" },
    { HIR_MESSAGING_ERROR_SEND_FAILED, "app.hirondelle.Hirondelle.Error.SendFailed" },
    { HIR_MESSAGING_ERROR_NO_DISPLAY, "app.hirondelle.Hirondelle.Error.NoDisplay" },
  };
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
        g_dbus_error_register_error (HIR_MESSAGING_ERROR, errors[i].code, errors[i].name);
      g_once_init_leave (&done, 1);
    }
}

GDBusInterfaceInfo *
hir_dbus_get_interface_info (void)
{
  register_errors ();
  return hir_dbus_messaging_interface_info ();
}

/* Engine errors keep their words but travel as ours, so any client can tell them apart. */
static void
return_error (GDBusMethodInvocation *invocation,
              const GError          *error)
{
  if (error->domain == HIR_MESSAGING_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND))
    g_dbus_method_invocation_return_error_literal (invocation, HIR_MESSAGING_ERROR,
                                                   HIR_MESSAGING_ERROR_NOT_FOUND, error->message);
  else if (g_error_matches (error, HIR_ERROR, HIR_ERROR_CONFIG))
    g_dbus_method_invocation_return_error_literal (invocation, HIR_MESSAGING_ERROR,
                                                   HIR_MESSAGING_ERROR_INVALID_ARGS, error->message);
  else
    g_dbus_method_invocation_return_error_literal (invocation, HIR_MESSAGING_ERROR,
                                                   HIR_MESSAGING_ERROR_FAILED, error->message);
}

/* ------------------------------------------------------------------------------------ */
/* Send                                                                                 */

typedef struct
{
  HirDBus *self;
  GDBusMethodInvocation *invocation;
  GVariant *message;
  gboolean interactive;
} SendCall;

static void
send_call_free (SendCall *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_variant_unref (call->message);
  g_free (call);
}

static void
sent_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  SendCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = hir_messaging_send_finish (HIR_MESSAGING (object), result, &error);

  if (id == NULL)
    return_error (call->invocation, error);
  else
    g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(s)", id));
  send_call_free (call);
}

static void
fds_read_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  SendCall *call = user_data;
  HirMessaging *messaging = HIR_MESSAGING (object);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  g_autoptr(HirOutgoing) outgoing = NULL;

  attachments = hir_messaging_read_fds_finish (messaging, result, &error);
  if (attachments != NULL)
    outgoing = hir_messaging_make_outgoing (messaging, call->message, attachments,
                                            !call->interactive, &error);
  if (outgoing == NULL)
    {
      return_error (call->invocation, error);
      send_call_free (call);
      return;
    }
  hir_messaging_send_async (messaging, outgoing, call->interactive, NULL, sent_cb, call);
}

static void
handle_send (HirDBus               *self,
             GDBusMethodInvocation *invocation,
             GVariant              *parameters)
{
  GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list (g_dbus_method_invocation_get_message (invocation));
  g_autoptr(GVariant) handles = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree const char **names = NULL;
  SendCall *call = g_new0 (SendCall, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  g_variant_get (parameters, "(@a{sv}@ah@a{sv})", &call->message, &handles, &options);
  g_variant_lookup (options, "interactive", "b", &call->interactive);
  if (!g_variant_lookup (call->message, "attachment_names", "^a&s", &names))
    names = g_new0 (const char *, 1);

  for (gsize i = 0; i < g_variant_n_children (handles); i++)
    {
      g_autoptr(GError) error = NULL;
      gint32 handle;
      int fd = -1;

      g_variant_get_child (handles, i, "h", &handle);
      if (fd_list != NULL)
        fd = g_unix_fd_list_get (fd_list, handle, &error);
      if (fd < 0)
        {
          for (guint j = 0; j < fds->len; j++)
            close (g_array_index (fds, int, j));
          g_dbus_method_invocation_return_error (invocation, HIR_MESSAGING_ERROR,
                                                 HIR_MESSAGING_ERROR_INVALID_ARGS,
                                                 _("Attachment %u has no file descriptor"),
                                                 (guint) i + 1);
          send_call_free (call);
          return;
        }
      g_array_append_val (fds, fd);
    }
  hir_messaging_read_fds_async (self->messaging, fds, names, NULL, fds_read_cb, call);
}

/* ------------------------------------------------------------------------------------ */
/* The other methods                                                                    */

static void
status_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  g_autofree char *reason = NULL;

  if (!hir_messaging_get_status_finish (HIR_MESSAGING (object), result, &state, &reason, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ss)", state, reason));
}

static void
variant_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = g_task_propagate_pointer (G_TASK (result), &error);

  if (value == NULL)
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&value, 1));
}

/* A descriptor to read @bytes from: an unlinked temporary file, so the caller may take
 * its time and seek. */
static int
make_fd_for_bytes (GBytes  *bytes,
                   GError **error)
{
  g_autofree char *path = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  int fd = g_file_open_tmp ("hirondelle-attachment-XXXXXX", &path, error);

  if (fd < 0)
    return -1;
  g_unlink (path);
  while (size > 0)
    {
      gssize written = write (fd, data, size);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        {
          int saved = errno;

          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
          return -1;
        }
      data += written;
      size -= written;
    }
  lseek (fd, 0, SEEK_SET);
  return fd;
}

static void
read_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) headers = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GUnixFDList) fd_list = g_unix_fd_list_new ();
  GVariantBuilder handles;

  if (!hir_messaging_read_finish (HIR_MESSAGING (object), result, &headers, &attachments, &names,
                                  &error))
    {
      return_error (invocation, error);
      return;
    }
  g_variant_builder_init (&handles, G_VARIANT_TYPE ("ah"));
  for (guint i = 0; i < attachments->len; i++)
    {
      int fd = make_fd_for_bytes (g_ptr_array_index (attachments, i), &error);
      int handle;

      if (fd < 0 || (handle = g_unix_fd_list_append (fd_list, fd, &error)) < 0)
        {
          if (fd >= 0)
            close (fd);
          g_variant_builder_clear (&handles);
          return_error (invocation, error);
          return;
        }
      close (fd);
      g_variant_builder_add (&handles, "h", handle);
    }
  g_dbus_method_invocation_return_value_with_unix_fd_list (
    invocation, g_variant_new ("(@a{sv}ah^as)", headers, &handles, names), fd_list);
}

static void
mark_read_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_messaging_mark_read_finish (HIR_MESSAGING (object), result, &error))
    return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
dispatch (HirDBus               *self,
          GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);

  if (self->messaging == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, HIR_MESSAGING_ERROR,
                                             HIR_MESSAGING_ERROR_FAILED,
                                             _("The mail store cannot be opened: %s"),
                                             self->error_message != NULL ? self->error_message : "");
      return;
    }

  if (g_str_equal (method, "Send"))
    handle_send (self, invocation, parameters);
  else if (g_str_equal (method, "GetStatus"))
    {
      const char *id;

      g_variant_get (parameters, "(&s)", &id);
      hir_messaging_get_status_async (self->messaging, id, NULL, status_cb,
                                      g_object_ref (invocation));
    }
  else if (g_str_equal (method, "Resolve"))
    {
      const char *name;

      g_variant_get (parameters, "(&s)", &name);
      hir_messaging_resolve_async (self->messaging, name, NULL, variant_cb,
                                   g_object_ref (invocation));
    }
  else if (g_str_equal (method, "ListMessages"))
    {
      g_autoptr(GVariant) query = g_variant_get_child_value (parameters, 0);

      hir_messaging_list_async (self->messaging, query, NULL, variant_cb,
                                g_object_ref (invocation));
    }
  else if (g_str_equal (method, "ReadMessage"))
    {
      gint64 id;

      g_variant_get (parameters, "(x)", &id);
      hir_messaging_read_async (self->messaging, id, NULL, read_cb, g_object_ref (invocation));
    }
  else if (g_str_equal (method, "MarkRead"))
    {
      gint64 id;
      gboolean read;

      g_variant_get (parameters, "(xb)", &id, &read);
      hir_messaging_mark_read_async (self->messaging, id, read, NULL, mark_read_cb,
                                     g_object_ref (invocation));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s", method);
}

static void
invocation_done_cb (gpointer  data,
                    GObject  *where_the_invocation_was)
{
  g_application_release (G_APPLICATION (data));
  g_object_unref (data);
}

static void
method_call_cb (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  HirDBus *self = user_data;

  /* An application started by D-Bus activation for this call must not quit before it
   * answered: held until the invocation is gone (answered). */
  if (self->application != NULL)
    {
      g_application_hold (self->application);
      g_object_weak_ref (G_OBJECT (invocation), invocation_done_cb,
                         g_object_ref (self->application));
    }
  /* D-Bus activation delivers the call that started us before the store is open. */
  if (self->messaging == NULL && self->error_message == NULL)
    {
      g_ptr_array_add (self->waiting, invocation);
      return;
    }
  dispatch (self, invocation);
}

static const GDBusInterfaceVTable vtable = { method_call_cb, NULL, NULL, { 0 } };

/* ------------------------------------------------------------------------------------ */
/* Signals                                                                              */

static void
emit (HirDBus    *self,
      const char *name,
      GVariant   *parameters)
{
  GHashTableIter iter;
  gpointer connection;

  g_variant_ref_sink (parameters);
  g_hash_table_iter_init (&iter, self->registrations);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    g_dbus_connection_emit_signal (connection, NULL, HIR_DBUS_OBJECT_PATH, HIR_DBUS_INTERFACE,
                                   name, parameters, NULL);
  g_variant_unref (parameters);
}

static void
status_changed_cb (HirMessaging *messaging,
                   const char   *id,
                   const char   *state,
                   const char   *reason,
                   HirDBus      *self)
{
  emit (self, "StatusChanged", g_variant_new ("(sss)", id, state, reason));
}

static void
new_message_cb (HirMessaging *messaging,
                gint64        id,
                const char   *from,
                const char   *subject,
                HirDBus      *self)
{
  emit (self, "NewMessage", g_variant_new ("(xss)", id, from, subject));
}

/* ------------------------------------------------------------------------------------ */
/* The object                                                                           */

static void
hir_dbus_dispose (GObject *object)
{
  HirDBus *self = HIR_DBUS (object);
  GHashTableIter iter;
  gpointer connection;
  gpointer id;

  g_cancellable_cancel (self->cancellable);
  if (self->server != NULL)
    {
      g_dbus_server_stop (self->server);
      g_clear_object (&self->server);
      if (self->socket_path != NULL)
        g_unlink (self->socket_path);
    }
  if (self->registrations != NULL)
    {
      g_hash_table_iter_init (&iter, self->registrations);
      while (g_hash_table_iter_next (&iter, &connection, &id))
        g_dbus_connection_unregister_object (connection, GPOINTER_TO_UINT (id));
      g_hash_table_remove_all (self->registrations);
    }
  if (self->messaging != NULL)
    g_signal_handlers_disconnect_by_data (self->messaging, self);
  g_clear_object (&self->messaging);

  G_OBJECT_CLASS (hir_dbus_parent_class)->dispose (object);
}

static void
hir_dbus_finalize (GObject *object)
{
  HirDBus *self = HIR_DBUS (object);

  g_clear_pointer (&self->registrations, g_hash_table_unref);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_free (self->error_message);
  g_free (self->socket_path);

  G_OBJECT_CLASS (hir_dbus_parent_class)->finalize (object);
}

static void
hir_dbus_class_init (HirDBusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_dbus_dispose;
  object_class->finalize = hir_dbus_finalize;
  register_errors ();
}

static void
hir_dbus_init (HirDBus *self)
{
  self->registrations = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->waiting = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
}

HirDBus *
hir_dbus_new (void)
{
  return g_object_new (HIR_TYPE_DBUS, NULL);
}

static void
dispatch_waiting (HirDBus *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  self->waiting = g_ptr_array_new ();
  for (guint i = 0; i < waiting->len; i++)
    dispatch (self, g_ptr_array_index (waiting, i));
}

void
hir_dbus_set_messaging (HirDBus      *self,
                        HirMessaging *messaging)
{
  g_return_if_fail (HIR_IS_DBUS (self));
  g_return_if_fail (HIR_IS_MESSAGING (messaging));
  g_return_if_fail (self->messaging == NULL);

  self->messaging = g_object_ref (messaging);
  g_signal_connect_object (messaging, "status-changed", G_CALLBACK (status_changed_cb), self, 0);
  g_signal_connect_object (messaging, "new-message", G_CALLBACK (new_message_cb), self, 0);
  dispatch_waiting (self);
}

void
hir_dbus_set_application (HirDBus      *self,
                          GApplication *application)
{
  g_return_if_fail (HIR_IS_DBUS (self));

  self->application = application;
}

void
hir_dbus_set_error (HirDBus    *self,
                    const char *message)
{
  g_return_if_fail (HIR_IS_DBUS (self));

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  dispatch_waiting (self);
}

gboolean
hir_dbus_export (HirDBus          *self,
                 GDBusConnection  *connection,
                 const char       *object_path,
                 GError          **error)
{
  guint id;

  g_return_val_if_fail (HIR_IS_DBUS (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);

  id = g_dbus_connection_register_object (connection, object_path, hir_dbus_get_interface_info (),
                                          &vtable, self, NULL, error);
  if (id == 0)
    return FALSE;
  g_hash_table_insert (self->registrations, g_object_ref (connection), GUINT_TO_POINTER (id));
  return TRUE;
}

void
hir_dbus_unexport (HirDBus         *self,
                   GDBusConnection *connection)
{
  gpointer id;

  g_return_if_fail (HIR_IS_DBUS (self));

  if (g_hash_table_lookup_extended (self->registrations, connection, NULL, &id))
    {
      g_dbus_connection_unregister_object (connection, GPOINTER_TO_UINT (id));
      g_hash_table_remove (self->registrations, connection);
    }
}

static void
peer_closed_cb (GDBusConnection *connection,
                gboolean         remote_peer_vanished,
                GError          *error,
                HirDBus         *self)
{
  g_signal_handlers_disconnect_by_data (connection, self);
  hir_dbus_unexport (self, connection);
}

static gboolean
new_connection_cb (GDBusServer     *server,
                   GDBusConnection *connection,
                   HirDBus         *self)
{
  g_autoptr(GError) error = NULL;

  if (!hir_dbus_export (self, connection, HIR_DBUS_OBJECT_PATH, &error))
    {
      g_warning ("Cannot serve a command line: %s", error->message);
      return FALSE;
    }
  g_signal_connect_object (connection, "closed", G_CALLBACK (peer_closed_cb), self, 0);
  return TRUE;
}

gboolean
hir_dbus_listen (HirDBus     *self,
                 const char  *socket_path,
                 GError     **error)
{
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autofree char *escaped = NULL;
  g_autofree char *address = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (HIR_IS_DBUS (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  dir = g_path_get_dirname (socket_path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  /* A socket left by a crashed instance; only the holder of the account locks listens. */
  g_unlink (socket_path);
  escaped = g_dbus_address_escape_value (socket_path);
  address = g_strconcat ("unix:path=", escaped, NULL);
  self->server = g_dbus_server_new_sync (address,
                                         G_DBUS_SERVER_FLAGS_AUTHENTICATION_REQUIRE_SAME_USER,
                                         guid, NULL, NULL, error);
  if (self->server == NULL)
    return FALSE;
  self->socket_path = g_strdup (socket_path);
  g_signal_connect_object (self->server, "new-connection", G_CALLBACK (new_connection_cb), self, 0);
  g_dbus_server_start (self->server);
  return TRUE;
}
