/* hir-message-row.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-message-row.h"

struct _HirMessageRow
{
  GtkWidget   parent_instance;

  HirMessage *message;
};

G_DEFINE_FINAL_TYPE (HirMessageRow, hir_message_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

char *
hir_message_row_format_date (gint64     date,
                             GDateTime *now)
{
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GDateTime) yesterday = NULL;
  char *formatted;

  if (date <= 0)
    return g_strdup ("");

  local = g_date_time_new_from_unix_local (date);
  if (local == NULL)
    return g_strdup ("");

  if (g_date_time_get_year (local) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (now))
    /* TRANSLATORS: time of a message received today, see strftime(3) */
    return g_date_time_format (local, _("%H:%M"));

  yesterday = g_date_time_add_days (now, -1);
  if (g_date_time_get_year (local) == g_date_time_get_year (yesterday) &&
      g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (yesterday))
    return g_strdup (_("Yesterday"));

  if (g_date_time_get_year (local) == g_date_time_get_year (now))
    /* TRANSLATORS: date of a message received this year, see strftime(3) */
    formatted = g_date_time_format (local, _("%e %b"));
  else
    formatted = g_date_time_format (local, "%x");

  return g_strstrip (formatted);
}

static char *
format_date (gpointer this,
             gint64   date)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  return hir_message_row_format_date (date, now);
}

static gboolean
show_unread_dot (gpointer this,
                 gboolean seen,
                 gboolean loaded)
{
  return loaded && !seen;
}

static GStrv
row_css_classes (gpointer this,
                 gboolean seen,
                 gboolean loaded)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_add (builder, "message-row");
  if (loaded && !seen)
    g_strv_builder_add (builder, "unread");
  return g_strv_builder_end (builder);
}

static void
hir_message_row_dispose (GObject *object)
{
  HirMessageRow *self = (HirMessageRow *)object;
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_MESSAGE_ROW);
  /* Children without an id are not the template's to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->message);

  G_OBJECT_CLASS (hir_message_row_parent_class)->dispose (object);
}

static void
hir_message_row_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  HirMessageRow *self = HIR_MESSAGE_ROW (object);

  switch (prop_id)
    {
    case PROP_MESSAGE:
      g_value_set_object (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_row_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  HirMessageRow *self = HIR_MESSAGE_ROW (object);

  switch (prop_id)
    {
    case PROP_MESSAGE:
      hir_message_row_set_message (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_row_class_init (HirMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_message_row_dispose;
  object_class->get_property = hir_message_row_get_property;
  object_class->set_property = hir_message_row_set_property;

  properties[PROP_MESSAGE] =
    g_param_spec_object ("message", NULL, NULL, HIR_TYPE_MESSAGE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-message-row.ui");
  gtk_widget_class_bind_template_callback (widget_class, format_date);
  gtk_widget_class_bind_template_callback (widget_class, show_unread_dot);
  gtk_widget_class_bind_template_callback (widget_class, row_css_classes);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "messagerow");
}

static void
hir_message_row_init (HirMessageRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

HirMessage *
hir_message_row_get_message (HirMessageRow *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_ROW (self), NULL);

  return self->message;
}

void
hir_message_row_set_message (HirMessageRow *self,
                             HirMessage    *message)
{
  g_return_if_fail (HIR_IS_MESSAGE_ROW (self));
  g_return_if_fail (message == NULL || HIR_IS_MESSAGE (message));

  if (g_set_object (&self->message, message))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}
