/* hir-application.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-application.h"
#include "hir-dbus-service.h"
#include "hir-preferences-window.h"
#include "hir-window.h"

struct _HirApplication
{
  AdwApplication  parent_instance;

  HirEngine      *engine;
  GCancellable   *cancellable;
  GError         *open_error;
  HirDBusService *service;       /* the API for other programs */
  guint           engine_ready : 1;
  guint           activate_pending : 1;
};

G_DEFINE_FINAL_TYPE (HirApplication, hir_application, ADW_TYPE_APPLICATION)

static void
present_window (HirApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    {
      window = GTK_WINDOW (hir_window_new (ADW_APPLICATION (self),
                                           self->open_error == NULL ? self->engine : NULL));
      if (self->open_error != NULL)
        hir_window_show_error (HIR_WINDOW (window), self->open_error->message);
    }
  gtk_window_present (window);
}

static void
engine_opened_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(HirApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_engine_open_finish (HIR_ENGINE (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_application_release (G_APPLICATION (self));
          return;
        }
      /* Shown in the window, not only logged: the user must know why there is no mail. */
      g_printerr ("%s\n", error->message);
      self->open_error = g_steal_pointer (&error);
      hir_dbus_service_set_error (self->service, self->open_error->message);
    }
  else
    {
      /* Starts the engine once no command line is sending from these accounts. */
      hir_dbus_service_start (self->service, self->engine);
    }

  self->engine_ready = TRUE;
  if (self->activate_pending)
    {
      self->activate_pending = FALSE;
      present_window (self);
    }
  g_application_release (G_APPLICATION (self));
}

static void
hir_application_startup (GApplication *application)
{
  HirApplication *self = HIR_APPLICATION (application);

  G_APPLICATION_CLASS (hir_application_parent_class)->startup (application);

  gtk_window_set_default_icon_name (APP_ID);
  if (self->service == NULL)
    self->service = hir_dbus_service_new (GTK_APPLICATION (self));

  /* The window waits for the store (a few milliseconds); the engine connects to no
   * server until started. */
  self->engine = hir_engine_new_default ();
  self->cancellable = g_cancellable_new ();
  g_application_hold (application);
  hir_engine_open_async (self->engine, self->cancellable, engine_opened_cb, g_object_ref (self));
}

static void
hir_application_shutdown (GApplication *application)
{
  HirApplication *self = HIR_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  if (self->engine != NULL && self->engine_ready && self->open_error == NULL)
    hir_engine_stop (self->engine);

  G_APPLICATION_CLASS (hir_application_parent_class)->shutdown (application);
}

static void
hir_application_activate (GApplication *application)
{
  HirApplication *self = HIR_APPLICATION (application);

  if (!self->engine_ready)
    {
      self->activate_pending = TRUE;
      return;
    }
  present_window (self);
}

static void
hir_application_open (GApplication  *application,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  HirApplication *self = HIR_APPLICATION (application);
  gboolean other = FALSE;

  /* mailto: links (the desktop's handler, xdg-email, `hirondelle mailto:…`) open a
   * composer; anything else brings the window up, so nothing is silently ignored. */
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);

      if (g_ascii_strncasecmp (uri, "mailto:", 7) == 0)
        hir_dbus_service_open_mailto (self->service, uri);
      else
        other = TRUE;
    }
  if (other || n_files == 0)
    hir_application_activate (application);
}

static gboolean
hir_application_dbus_register (GApplication     *application,
                               GDBusConnection  *connection,
                               const char       *object_path,
                               GError          **error)
{
  HirApplication *self = HIR_APPLICATION (application);

  if (!G_APPLICATION_CLASS (hir_application_parent_class)->dbus_register (application, connection,
                                                                           object_path, error))
    return FALSE;
  if (self->service == NULL)
    self->service = hir_dbus_service_new (GTK_APPLICATION (self));
  return hir_dbus_service_register (self->service, connection, object_path, error);
}

static void
hir_application_dbus_unregister (GApplication    *application,
                                 GDBusConnection *connection,
                                 const char      *object_path)
{
  HirApplication *self = HIR_APPLICATION (application);

  if (self->service != NULL)
    hir_dbus_service_unregister (self->service, connection);
  G_APPLICATION_CLASS (hir_application_parent_class)->dbus_unregister (application, connection,
                                                                      object_path);
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  HirApplication *self = user_data;
  static const char *developers[] = { "Hirondelle developers", NULL };
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  adw_show_about_window (window,
                         "application-name", _("Hirondelle"),
                         "application-icon", APP_ID,
                         "developer-name", _("Hirondelle developers"),
                         "version", PACKAGE_VERSION,
                         "comments", _("Read, write and send email, and let other programs send it too"),
                         "developers", developers,
                         "copyright", "© 2026 Hirondelle developers",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  HirApplication *self = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Close the windows first so they save their size. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
  g_application_quit (G_APPLICATION (self));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  HirApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (self->engine == NULL)
    return;
  gtk_window_present (GTK_WINDOW (hir_preferences_window_new (window, self->engine)));
}

static const GActionEntry app_actions[] = {
  { "about", about_action },
  { "preferences", preferences_action },
  { "quit", quit_action },
};

static void
hir_application_dispose (GObject *object)
{
  HirApplication *self = (HirApplication *)object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->service);
  g_clear_object (&self->engine);
  g_clear_error (&self->open_error);

  G_OBJECT_CLASS (hir_application_parent_class)->dispose (object);
}

static void
hir_application_class_init (HirApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = hir_application_dispose;

  app_class->startup = hir_application_startup;
  app_class->shutdown = hir_application_shutdown;
  app_class->activate = hir_application_activate;
  app_class->open = hir_application_open;
  app_class->dbus_register = hir_application_dbus_register;
  app_class->dbus_unregister = hir_application_dbus_unregister;
}

static void
hir_application_init (HirApplication *self)
{
  static const char *quit_accels[] = { "<Control>q", NULL };

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         (const char *[]) { "<Control>comma", NULL });
}

HirApplication *
hir_application_new (void)
{
  return g_object_new (HIR_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/app/hirondelle/Hirondelle",
                       NULL);
}

HirEngine *
hir_application_get_engine (HirApplication *self)
{
  g_return_val_if_fail (HIR_IS_APPLICATION (self), NULL);

  return self->engine_ready && self->open_error == NULL ? self->engine : NULL;
}
