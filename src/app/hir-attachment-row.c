/* hir-attachment-row.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-attachment-row.h"

struct _HirAttachmentRow
{
  GtkWidget      parent_instance;

  HirAttachment *attachment;

  GtkButton     *open_button;
  GtkButton     *save_button;
};

G_DEFINE_FINAL_TYPE (HirAttachmentRow, hir_attachment_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ATTACHMENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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
display_name (gpointer       this,
              HirAttachment *attachment)
{
  if (attachment == NULL)
    return NULL;
  return hir_attachment_dup_display_name (attachment);
}

static char *
format_size (gpointer this,
             guint64  size)
{
  return g_format_size (size);
}

static void
hir_attachment_row_set_attachment (HirAttachmentRow *self,
                                   HirAttachment    *attachment)
{
  const char *part_id;

  if (!g_set_object (&self->attachment, attachment))
    return;

  part_id = attachment != NULL ? hir_attachment_get_part_id (attachment) : NULL;
  if (part_id == NULL)
    part_id = "";
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->open_button), "s", part_id);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->save_button), "s", part_id);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTACHMENT]);
}

static void
hir_attachment_row_dispose (GObject *object)
{
  HirAttachmentRow *self = (HirAttachmentRow *)object;
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_ATTACHMENT_ROW);
  /* Children without an id are not the template's to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->attachment);

  G_OBJECT_CLASS (hir_attachment_row_parent_class)->dispose (object);
}

static void
hir_attachment_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  HirAttachmentRow *self = HIR_ATTACHMENT_ROW (object);

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
hir_attachment_row_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  HirAttachmentRow *self = HIR_ATTACHMENT_ROW (object);

  switch (prop_id)
    {
    case PROP_ATTACHMENT:
      hir_attachment_row_set_attachment (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_attachment_row_class_init (HirAttachmentRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_attachment_row_dispose;
  object_class->get_property = hir_attachment_row_get_property;
  object_class->set_property = hir_attachment_row_set_property;

  properties[PROP_ATTACHMENT] =
    g_param_spec_object ("attachment", NULL, NULL, HIR_TYPE_ATTACHMENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-attachment-row.ui");
  gtk_widget_class_bind_template_child (widget_class, HirAttachmentRow, open_button);
  gtk_widget_class_bind_template_child (widget_class, HirAttachmentRow, save_button);
  gtk_widget_class_bind_template_callback (widget_class, content_type_icon);
  gtk_widget_class_bind_template_callback (widget_class, display_name);
  gtk_widget_class_bind_template_callback (widget_class, format_size);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "attachmentrow");
}

static void
hir_attachment_row_init (HirAttachmentRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
hir_attachment_row_new (HirAttachment *attachment)
{
  return g_object_new (HIR_TYPE_ATTACHMENT_ROW, "attachment", attachment, NULL);
}

HirAttachment *
hir_attachment_row_get_attachment (HirAttachmentRow *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT_ROW (self), NULL);

  return self->attachment;
}
