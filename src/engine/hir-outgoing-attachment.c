/* hir-outgoing-attachment.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-outgoing-attachment.h"

#include <glib/gi18n-lib.h>

#include "hir-error.h"

struct _HirOutgoingAttachment
{
  GObject parent_instance;

  char *filename;
  char *content_type;
  char *content_id;
  GBytes *data;
};

G_DEFINE_FINAL_TYPE (HirOutgoingAttachment, hir_outgoing_attachment, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_FILENAME,
  PROP_CONTENT_TYPE,
  PROP_SIZE,
  PROP_CONTENT_ID,
  PROP_DATA,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hir_outgoing_attachment_finalize (GObject *object)
{
  HirOutgoingAttachment *self = (HirOutgoingAttachment *) object;

  g_clear_pointer (&self->filename, g_free);
  g_clear_pointer (&self->content_type, g_free);
  g_clear_pointer (&self->content_id, g_free);
  g_clear_pointer (&self->data, g_bytes_unref);

  G_OBJECT_CLASS (hir_outgoing_attachment_parent_class)->finalize (object);
}

static void
hir_outgoing_attachment_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  HirOutgoingAttachment *self = HIR_OUTGOING_ATTACHMENT (object);

  switch (prop_id)
    {
    case PROP_FILENAME:
      g_value_set_string (value, self->filename);
      break;
    case PROP_CONTENT_TYPE:
      g_value_set_string (value, self->content_type);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, hir_outgoing_attachment_get_size (self));
      break;
    case PROP_CONTENT_ID:
      g_value_set_string (value, self->content_id);
      break;
    case PROP_DATA:
      g_value_set_boxed (value, self->data);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_attachment_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  HirOutgoingAttachment *self = HIR_OUTGOING_ATTACHMENT (object);

  switch (prop_id)
    {
    case PROP_CONTENT_ID:
      hir_outgoing_attachment_set_content_id (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_attachment_class_init (HirOutgoingAttachmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_outgoing_attachment_finalize;
  object_class->get_property = hir_outgoing_attachment_get_property;
  object_class->set_property = hir_outgoing_attachment_set_property;

  properties[PROP_FILENAME] =
    g_param_spec_string ("filename", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTENT_TYPE] =
    g_param_spec_string ("content-type", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTENT_ID] =
    g_param_spec_string ("content-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATA] =
    g_param_spec_boxed ("data", NULL, NULL, G_TYPE_BYTES,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_outgoing_attachment_init (HirOutgoingAttachment *self)
{
}

HirOutgoingAttachment *
hir_outgoing_attachment_new (const char *filename,
                             const char *content_type,
                             GBytes     *data)
{
  HirOutgoingAttachment *self;

  g_return_val_if_fail (data != NULL, NULL);

  self = g_object_new (HIR_TYPE_OUTGOING_ATTACHMENT, NULL);
  /* Translators: the file name of an attachment that has none, seen by the recipient. */
  self->filename = g_strdup (filename != NULL && *filename != '\0' ? filename : _("attachment"));
  if (content_type != NULL && *content_type != '\0')
    self->content_type = g_strdup (content_type);
  else
    {
      gsize size = 0;
      const guchar *bytes = g_bytes_get_data (data, &size);
      g_autofree char *guessed = g_content_type_guess (self->filename, bytes,
                                                       MIN (size, 4096), NULL);
      g_autofree char *mime = g_content_type_get_mime_type (guessed);

      self->content_type = g_strdup (mime != NULL ? mime : "application/octet-stream");
    }
  self->data = g_bytes_ref (data);
  return self;
}

/* From a file ------------------------------------------------------------------------ */

typedef struct
{
  GFile *file;
  char *name;
  char *content_type;
} FromFile;

static void
from_file_free (FromFile *ff)
{
  g_clear_object (&ff->file);
  g_free (ff->name);
  g_free (ff->content_type);
  g_free (ff);
}

static void
load_contents_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FromFile *ff = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;
  GBytes *bytes;

  if (!g_file_load_contents_finish (G_FILE (object), result, &contents, &length, NULL, &error))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               /* Translators: the first %s is a file name, the second
                                * the system's reason. */
                               _("Cannot read %s: %s"), ff->name, error->message);
      return;
    }
  bytes = g_bytes_new_take (contents, length);
  g_task_return_pointer (task, hir_outgoing_attachment_new (ff->name, ff->content_type, bytes),
                         g_object_unref);
  g_bytes_unref (bytes);
}

static void
query_info_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FromFile *ff = g_task_get_task_data (task);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  /* A file without info (some portal or GVfs files) is still worth attaching: the name
   * then comes from the URI and the type from the content. */
  info = g_file_query_info_finish (G_FILE (object), result, &error);
  if (info != NULL)
    {
      const char *name = g_file_info_get_display_name (info);
      const char *type = g_file_info_get_content_type (info);

      if (name != NULL)
        ff->name = g_strdup (name);
      if (type != NULL && !g_content_type_is_unknown (type))
        ff->content_type = g_content_type_get_mime_type (type);
    }
  if (ff->name == NULL)
    ff->name = g_file_get_basename (ff->file);

  g_file_load_contents_async (ff->file, g_task_get_cancellable (task), load_contents_cb,
                              g_object_ref (task));
}

void
hir_outgoing_attachment_new_from_file_async (GFile               *file,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FromFile *ff;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_outgoing_attachment_new_from_file_async);
  ff = g_new0 (FromFile, 1);
  ff->file = g_object_ref (file);
  g_task_set_task_data (task, ff, (GDestroyNotify) from_file_free);

  g_file_query_info_async (file,
                           G_FILE_ATTRIBUTE_STANDARD_DISPLAY_NAME ","
                           G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE,
                           G_FILE_QUERY_INFO_NONE, G_PRIORITY_DEFAULT, cancellable,
                           query_info_cb, g_steal_pointer (&task));
}

HirOutgoingAttachment *
hir_outgoing_attachment_new_from_file_finish (GAsyncResult  *result,
                                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        hir_outgoing_attachment_new_from_file_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Accessors -------------------------------------------------------------------------- */

const char *
hir_outgoing_attachment_get_filename (HirOutgoingAttachment *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self), NULL);
  return self->filename;
}

const char *
hir_outgoing_attachment_get_content_type (HirOutgoingAttachment *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self), NULL);
  return self->content_type;
}

guint64
hir_outgoing_attachment_get_size (HirOutgoingAttachment *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self), 0);
  return g_bytes_get_size (self->data);
}

const char *
hir_outgoing_attachment_get_content_id (HirOutgoingAttachment *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self), NULL);
  return self->content_id;
}

void
hir_outgoing_attachment_set_content_id (HirOutgoingAttachment *self,
                                        const char            *content_id)
{
  g_return_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self));

  if (content_id != NULL && *content_id == '\0')
    content_id = NULL;
  /* Not g_set_str(): that is GLib 2.76. */
  if (g_strcmp0 (self->content_id, content_id) == 0)
    return;
  g_free (self->content_id);
  self->content_id = g_strdup (content_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_ID]);
}

GBytes *
hir_outgoing_attachment_get_data (HirOutgoingAttachment *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING_ATTACHMENT (self), NULL);
  return self->data;
}
