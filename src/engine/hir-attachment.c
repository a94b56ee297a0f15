/* hir-attachment.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-attachment.h"

#include <glib/gi18n-lib.h>

struct _HirAttachment
{
  GObject parent_instance;

  char *part_id;
  char *blob_id;
  char *filename;
  char *content_type;
  guint64 size;
  char *content_id;
  gboolean is_inline;
};

G_DEFINE_FINAL_TYPE (HirAttachment, hir_attachment, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PART_ID,
  PROP_BLOB_ID,
  PROP_FILENAME,
  PROP_CONTENT_TYPE,
  PROP_SIZE,
  PROP_CONTENT_ID,
  PROP_INLINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hir_attachment_finalize (GObject *object)
{
  HirAttachment *self = (HirAttachment *) object;

  g_clear_pointer (&self->part_id, g_free);
  g_clear_pointer (&self->blob_id, g_free);
  g_clear_pointer (&self->filename, g_free);
  g_clear_pointer (&self->content_type, g_free);
  g_clear_pointer (&self->content_id, g_free);

  G_OBJECT_CLASS (hir_attachment_parent_class)->finalize (object);
}

static void
hir_attachment_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  HirAttachment *self = HIR_ATTACHMENT (object);

  switch (prop_id)
    {
    case PROP_PART_ID:
      g_value_set_string (value, self->part_id);
      break;
    case PROP_BLOB_ID:
      g_value_set_string (value, self->blob_id);
      break;
    case PROP_FILENAME:
      g_value_set_string (value, self->filename);
      break;
    case PROP_CONTENT_TYPE:
      g_value_set_string (value, hir_attachment_get_content_type (self));
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_CONTENT_ID:
      g_value_set_string (value, self->content_id);
      break;
    case PROP_INLINE:
      g_value_set_boolean (value, self->is_inline);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_attachment_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  HirAttachment *self = HIR_ATTACHMENT (object);

  switch (prop_id)
    {
    case PROP_PART_ID:
      self->part_id = g_value_dup_string (value);
      break;
    case PROP_BLOB_ID:
      self->blob_id = g_value_dup_string (value);
      break;
    case PROP_FILENAME:
      self->filename = g_value_dup_string (value);
      break;
    case PROP_CONTENT_TYPE:
      self->content_type = g_value_dup_string (value);
      break;
    case PROP_SIZE:
      self->size = g_value_get_uint64 (value);
      break;
    case PROP_CONTENT_ID:
      hir_attachment_set_content_id (self, g_value_get_string (value));
      break;
    case PROP_INLINE:
      hir_attachment_set_inline (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_attachment_class_init (HirAttachmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_attachment_finalize;
  object_class->get_property = hir_attachment_get_property;
  object_class->set_property = hir_attachment_set_property;

  properties[PROP_PART_ID] =
    g_param_spec_string ("part-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BLOB_ID] =
    g_param_spec_string ("blob-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILENAME] =
    g_param_spec_string ("filename", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTENT_TYPE] =
    g_param_spec_string ("content-type", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTENT_ID] =
    g_param_spec_string ("content-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_INLINE] =
    g_param_spec_boolean ("inline", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_attachment_init (HirAttachment *self)
{
}

HirAttachment *
hir_attachment_new (const char *part_id,
                    const char *blob_id,
                    const char *filename,
                    const char *content_type,
                    guint64     size)
{
  return g_object_new (HIR_TYPE_ATTACHMENT,
                       "part-id", part_id,
                       "blob-id", blob_id,
                       "filename", filename,
                       "content-type", content_type,
                       "size", size,
                       NULL);
}

const char *
hir_attachment_get_part_id (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  return self->part_id;
}

const char *
hir_attachment_get_blob_id (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  return self->blob_id;
}

const char *
hir_attachment_get_filename (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  return self->filename;
}

/* GIO can describe a type but has no public way to name its usual extension, so the
 * common ones are listed; anything else gets a short, plain subtype or no extension. */
static const struct {
  const char *type;
  const char *extension;
} extensions[] = {
  { "application/pdf", "pdf" },
  { "application/zip", "zip" },
  { "application/gzip", "gz" },
  { "application/json", "json" },
  { "application/xml", "xml" },
  { "application/msword", "doc" },
  { "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx" },
  { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx" },
  { "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx" },
  { "application/vnd.ms-excel", "xls" },
  { "application/vnd.oasis.opendocument.text", "odt" },
  { "application/vnd.oasis.opendocument.spreadsheet", "ods" },
  { "application/vnd.oasis.opendocument.presentation", "odp" },
  { "application/pgp-signature", "asc" },
  { "application/pkcs7-signature", "p7s" },
  { "application/ics", "ics" },
  { "text/calendar", "ics" },
  { "text/vcard", "vcf" },
  { "text/x-vcard", "vcf" },
  { "text/plain", "txt" },
  { "text/html", "html" },
  { "text/csv", "csv" },
  { "text/markdown", "md" },
  { "message/rfc822", "eml" },
  { "image/jpeg", "jpg" },
  { "image/png", "png" },
  { "image/gif", "gif" },
  { "image/svg+xml", "svg" },
  { "image/webp", "webp" },
  { "audio/mpeg", "mp3" },
  { "video/mp4", "mp4" },
};

static const char *
guess_extension (const char *content_type)
{
  const char *subtype;

  if (content_type == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (extensions); i++)
    if (g_ascii_strcasecmp (content_type, extensions[i].type) == 0)
      return extensions[i].extension;

  subtype = strchr (content_type, '/');
  if (subtype == NULL)
    return NULL;
  subtype++;
  if (g_str_has_prefix (subtype, "x-"))
    subtype += 2;
  if (*subtype == '\0' || strlen (subtype) > 5)
    return NULL;
  for (const char *p = subtype; *p; p++)
    if (!g_ascii_isalnum (*p))
      return NULL;
  return subtype;
}

/* The name comes from the sender: it must never be a path ("../../.bashrc") or a hidden
 * file when the user saves it, so separators and control characters are replaced and
 * leading dots dropped. */
static char *
sanitize_filename (const char *filename)
{
  g_autoptr(GString) name = g_string_new (NULL);
  const char *p = filename;

  while (*p == '.' || g_ascii_isspace (*p))
    p++;
  for (; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '/' || c == '\\' || g_unichar_iscntrl (c))
        g_string_append_c (name, '_');
      else
        g_string_append_unichar (name, c);
    }
  g_strchomp (name->str);
  name->len = strlen (name->str);
  if (name->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&name), FALSE);
}

char *
hir_attachment_dup_display_name (HirAttachment *self)
{
  const char *extension;
  char *name = NULL;

  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  if (self->filename != NULL && g_utf8_validate (self->filename, -1, NULL))
    name = sanitize_filename (self->filename);
  if (name != NULL)
    return name;

  /* Translators: the file name of an attachment that came without one, shown in the
   * message and proposed when saving it; ".pdf" or another extension may follow. It is
   * a file name: no slash, and it must not start with a dot. */
  name = g_strdup (_("attachment"));
  extension = guess_extension (self->content_type);
  if (extension != NULL)
    {
      char *with_extension = g_strconcat (name, ".", extension, NULL);

      g_free (name);
      return with_extension;
    }
  return name;
}

const char *
hir_attachment_get_content_type (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  /* RFC 2045: a part without a type is application/octet-stream for an attachment. */
  return self->content_type != NULL ? self->content_type : "application/octet-stream";
}

guint64
hir_attachment_get_size (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), 0);

  return self->size;
}

const char *
hir_attachment_get_content_id (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), NULL);

  return self->content_id;
}

void
hir_attachment_set_content_id (HirAttachment *self,
                               const char    *content_id)
{
  g_return_if_fail (HIR_IS_ATTACHMENT (self));

  if (g_strcmp0 (self->content_id, content_id) == 0)
    return;
  g_free (self->content_id);
  self->content_id = g_strdup (content_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT_ID]);
}

gboolean
hir_attachment_get_inline (HirAttachment *self)
{
  g_return_val_if_fail (HIR_IS_ATTACHMENT (self), FALSE);

  return self->is_inline;
}

void
hir_attachment_set_inline (HirAttachment *self,
                           gboolean       is_inline)
{
  g_return_if_fail (HIR_IS_ATTACHMENT (self));

  is_inline = !!is_inline;
  if (self->is_inline == is_inline)
    return;
  self->is_inline = is_inline;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INLINE]);
}
