/* drag-source.c: a window that drags files, for tests of dropping onto Hirondelle
 *
 *   drag-source [--uri-list] FILE...
 *
 * The whole window is a GtkDragSource offering the files as a GdkFileList (which GTK
 * also serialises as text/uri-list and for the portal), or with --uri-list as bare
 * text/uri-list bytes only, the way some programs offer files. Tests move the pointer
 * with xdotool: press on this window, move onto the target, release. It prints "ready"
 * once its window is shown.
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gtk/gtk.h>

static GSList *files;
static gboolean uri_list_only;

static GdkContentProvider *
prepare_cb (GtkDragSource *source,
            double         x,
            double         y,
            gpointer       user_data)
{
  if (uri_list_only)
    {
      g_autoptr(GString) list = g_string_new (NULL);
      g_autoptr(GBytes) bytes = NULL;

      for (GSList *l = files; l != NULL; l = l->next)
        {
          g_autofree char *uri = g_file_get_uri (l->data);

          g_string_append_printf (list, "%s\r\n", uri);
        }
      bytes = g_string_free_to_bytes (g_steal_pointer (&list));
      return gdk_content_provider_new_for_bytes ("text/uri-list", bytes);
    }
  return gdk_content_provider_new_typed (GDK_TYPE_FILE_LIST, files);
}

static void
drag_end_cb (GtkDragSource *source,
             GdkDrag       *drag,
             gboolean       delete_data)
{
  g_print ("drag-end\n");
}

static void
mapped_cb (GtkWidget *window)
{
  g_print ("ready\n");
}

static void
activate_cb (GtkApplication *app,
             gpointer        user_data)
{
  GtkWidget *window = gtk_application_window_new (app);
  GtkWidget *label = gtk_label_new ("Drag these files");
  GtkDragSource *source = gtk_drag_source_new ();

  gtk_window_set_title (GTK_WINDOW (window), "Hirondelle drag source");
  gtk_window_set_default_size (GTK_WINDOW (window), 300, 200);
  gtk_window_set_decorated (GTK_WINDOW (window), FALSE);
  gtk_drag_source_set_actions (source, GDK_ACTION_COPY);
  g_signal_connect (source, "prepare", G_CALLBACK (prepare_cb), NULL);
  g_signal_connect (source, "drag-end", G_CALLBACK (drag_end_cb), NULL);
  gtk_widget_add_controller (label, GTK_EVENT_CONTROLLER (source));
  gtk_window_set_child (GTK_WINDOW (window), label);
  g_signal_connect (window, "map", G_CALLBACK (mapped_cb), NULL);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) app = NULL;
  int first = 1;

  if (argc > 1 && g_str_equal (argv[1], "--uri-list"))
    {
      uri_list_only = TRUE;
      first = 2;
    }
  for (int i = argc - 1; i >= first; i--)
    files = g_slist_prepend (files, g_file_new_for_commandline_arg (argv[i]));

  app = gtk_application_new (NULL, G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  return g_application_run (G_APPLICATION (app), 1, argv);
}
