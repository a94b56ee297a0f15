/* hir-outgoing-attachment-row.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-outgoing-attachment-row.h"

struct _HirOutgoingAttachmentRow
{
  GtkWidget              parent_instance;

  HirOutgoingAttachment *attachment;
};

G_DEFINE_FINAL_TYPE (HirOutgoingAttachmentRow, hir_outgoing_attachment_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ATTACHMENT,
  N_PROPS
};

enum {
  REMOVE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static GIcon *
content_type_icon (gpointer    this,
                   const char *content_type)
{
  g_autofree char *type = NULL;

  if (content_type == NULL)
    return g_themed_icon_new ("text-x-generic-symbolic");
  type = g_content_type_from_mime_type (content_type);
  return g_content_type_get_symbolic_icon (type != NULL ? type : content_type);
}

static char *
format_size (gpointer this,
             guint64  size)
{
  return g_format_size (size);
}

static void
remove_clicked_cb (HirOutgoingAttachmentRow *self)
{
  g_signal_emit (self, signals[REMOVE], 0);
}

static void
hir_outgoing_attachment_row_dispose (GObject *object)
{
  HirOutgoingAttachmentRow *self = (HirOutgoingAttachmentRow *)object;
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_OUTGOING_ATTACHMENT_ROW);
  /* Children without an id are not the template's to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->attachment);

  G_OBJECT_CLASS (hir_outgoing_attachment_row_parent_class)->dispose (object);
}

static void
hir_outgoing_attachment_row_get_property (GObject    *object,
                                          guint       prop_id,
                                          GValue     *value,
                                          GParamSpec *pspec)
{
  HirOutgoingAttachmentRow *self = HIR_OUTGOING_ATTACHMENT_ROW (object);

  switch (prop_id)
    {
    case PROP_ATTACHMENT:
      g_value_set_object (value, self->attachment);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_attachment_row_set_property (GObject      *object,
                                          guint         prop_id,
                                          const GValue *value,
                                          GParamSpec   *pspec)
{
  HirOutgoingAttachmentRow *self = HIR_OUTGOING_ATTACHMENT_ROW (object);

  switch (prop_id)
    {
    case PROP_ATTACHMENT:
      self->attachment = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_attachment_row_class_init (HirOutgoingAttachmentRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_outgoing_attachment_row_dispose;
  object_class->get_property = hir_outgoing_attachment_row_get_property;
  object_class->set_property = hir_outgoing_attachment_row_set_property;

  properties[PROP_ATTACHMENT] =
    g_param_spec_object ("attachment", NULL, NULL, HIR_TYPE_OUTGOING_ATTACHMENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[REMOVE] = g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-outgoing-attachment-row.ui");
  gtk_widget_class_bind_template_callback (widget_class, content_type_icon);
  gtk_widget_class_bind_template_callback (widget_class, format_size);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  /* The reader's attachment look, from the same style rules. */
  gtk_widget_class_set_css_name (widget_class, "attachmentrow");
}

static void
hir_outgoing_attachment_row_init (HirOutgoingAttachmentRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
hir_outgoing_attachment_row_new (HirOutgoingAttachment *attachment)
{
  return g_object_new (HIR_TYPE_OUTGOING_ATTACHMENT_ROW, "attachment", attachment, NULL);
}

HirOutgoingAttachment *
hir_outgoing_attachment_row_get_attachment (HirOutgoingAttachmentRow *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT_ROW (self), NULL);

  return self->attachment;
}
