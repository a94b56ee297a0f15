/* hir-folder-row.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-folder-row.h"

struct _HirFolderRow
{
  GtkWidget       parent_instance;

  GtkTreeListRow *list_row;
  GObject        *item;
};

G_DEFINE_FINAL_TYPE (HirFolderRow, hir_folder_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_LIST_ROW,
  PROP_ITEM,
  PROP_ACCOUNT,
  PROP_FOLDER,
  PROP_IS_FOLDER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char *
account_title (gpointer    this,
               const char *display_name,
               const char *address)
{
  return g_strdup (display_name != NULL && display_name[0] != '\0' ? display_name : address);
}

static char *
account_subtitle (gpointer    this,
                  const char *display_name,
                  const char *address)
{
  /* The address is the title already when there is no name. */
  return g_strdup (display_name != NULL && display_name[0] != '\0' ? address : "");
}

static gboolean
has_text (gpointer    this,
          const char *text)
{
  return text != NULL && text[0] != '\0';
}

static gboolean
invert (gpointer this,
        gboolean value)
{
  return !value;
}

static const char *
status_icon_name (HirAccountStatus status)
{
  switch (status)
    {
    case HIR_ACCOUNT_STATUS_AUTH_FAILED:
      return "dialog-password-symbolic";
    case HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED:
      return "channel-insecure-symbolic";
    case HIR_ACCOUNT_STATUS_UNREACHABLE:
      return "network-error-symbolic";
    case HIR_ACCOUNT_STATUS_OFFLINE:
    case HIR_ACCOUNT_STATUS_ONLINE:
    default:
      return NULL;
    }
}

static char *
status_icon (gpointer         this,
             HirAccountStatus status)
{
  return g_strdup (status_icon_name (status));
}

static gboolean
status_visible (gpointer         this,
                HirAccountStatus status)
{
  return status_icon_name (status) != NULL;
}

static char *
unread_label (gpointer this,
              guint    unread)
{
  return unread > 0 ? g_strdup_printf ("%u", unread) : g_strdup ("");
}

static gboolean
unread_visible (gpointer this,
                guint    unread)
{
  return unread > 0;
}

static void
hir_folder_row_dispose (GObject *object)
{
  HirFolderRow *self = (HirFolderRow *)object;
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), HIR_TYPE_FOLDER_ROW);
  /* Children without an id are not the template's to clear. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->item);
  g_clear_object (&self->list_row);

  G_OBJECT_CLASS (hir_folder_row_parent_class)->dispose (object);
}

static void
hir_folder_row_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  HirFolderRow *self = HIR_FOLDER_ROW (object);

  switch (prop_id)
    {
    case PROP_LIST_ROW:
      g_value_set_object (value, self->list_row);
      break;
    case PROP_ITEM:
      g_value_set_object (value, self->item);
      break;
    case PROP_ACCOUNT:
      g_value_set_object (value, hir_folder_row_get_account (self));
      break;
    case PROP_FOLDER:
      g_value_set_object (value, hir_folder_row_get_folder (self));
      break;
    case PROP_IS_FOLDER:
      g_value_set_boolean (value, hir_folder_row_get_folder (self) != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_folder_row_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  HirFolderRow *self = HIR_FOLDER_ROW (object);

  switch (prop_id)
    {
    case PROP_LIST_ROW:
      hir_folder_row_set_list_row (self, g_value_get_object (value));
      break;
    case PROP_ITEM:
      hir_folder_row_set_item (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_folder_row_class_init (HirFolderRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hir_folder_row_dispose;
  object_class->get_property = hir_folder_row_get_property;
  object_class->set_property = hir_folder_row_set_property;

  properties[PROP_LIST_ROW] =
    g_param_spec_object ("list-row", NULL, NULL, GTK_TYPE_TREE_LIST_ROW,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ITEM] =
    g_param_spec_object ("item", NULL, NULL, G_TYPE_OBJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACCOUNT] =
    g_param_spec_object ("account", NULL, NULL, HIR_TYPE_ACCOUNT,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOLDER] =
    g_param_spec_object ("folder", NULL, NULL, HIR_TYPE_FOLDER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_IS_FOLDER] =
    g_param_spec_boolean ("is-folder", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/app/hirondelle/Hirondelle/hir-folder-row.ui");
  gtk_widget_class_bind_template_callback (widget_class, account_title);
  gtk_widget_class_bind_template_callback (widget_class, account_subtitle);
  gtk_widget_class_bind_template_callback (widget_class, has_text);
  gtk_widget_class_bind_template_callback (widget_class, invert);
  gtk_widget_class_bind_template_callback (widget_class, status_icon);
  gtk_widget_class_bind_template_callback (widget_class, status_visible);
  gtk_widget_class_bind_template_callback (widget_class, unread_label);
  gtk_widget_class_bind_template_callback (widget_class, unread_visible);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "folderrow");
}

static void
hir_folder_row_init (HirFolderRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GObject *
hir_folder_row_get_item (HirFolderRow *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER_ROW (self), NULL);

  return self->item;
}

void
hir_folder_row_set_item (HirFolderRow *self,
                         GObject      *item)
{
  gboolean was_folder;

  g_return_if_fail (HIR_IS_FOLDER_ROW (self));
  g_return_if_fail (item == NULL || HIR_IS_ACCOUNT (item) || HIR_IS_FOLDER (item));

  was_folder = hir_folder_row_get_folder (self) != NULL;
  if (!g_set_object (&self->item, item))
    return;

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ITEM]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCOUNT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLDER]);
  if (was_folder != (hir_folder_row_get_folder (self) != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_FOLDER]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
hir_folder_row_set_list_row (HirFolderRow   *self,
                             GtkTreeListRow *row)
{
  g_autoptr(GObject) item = NULL;
  guint depth = 0;

  g_return_if_fail (HIR_IS_FOLDER_ROW (self));
  g_return_if_fail (row == NULL || GTK_IS_TREE_LIST_ROW (row));

  if (!g_set_object (&self->list_row, row))
    return;

  if (row != NULL)
    {
      item = gtk_tree_list_row_get_item (row);
      depth = gtk_tree_list_row_get_depth (row);
    }
  /* Depth 0 is an account, 1 its folders; subfolders step in under their parent. */
  gtk_widget_set_margin_start (GTK_WIDGET (self), depth > 1 ? (int) (depth - 1) * 18 : 0);
  hir_folder_row_set_item (self, item);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIST_ROW]);
}

HirAccount *
hir_folder_row_get_account (HirFolderRow *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER_ROW (self), NULL);

  return HIR_IS_ACCOUNT (self->item) ? HIR_ACCOUNT (self->item) : NULL;
}

HirFolder *
hir_folder_row_get_folder (HirFolderRow *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER_ROW (self), NULL);

  return HIR_IS_FOLDER (self->item) ? HIR_FOLDER (self->item) : NULL;
}
