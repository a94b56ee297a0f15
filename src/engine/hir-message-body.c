/* hir-message-body.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-message-body.h"

struct _HirMessageBody
{
  GObject parent_instance;

  char *text;
  char *html;
  GListStore *attachments;
};

G_DEFINE_FINAL_TYPE (HirMessageBody, hir_message_body, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TEXT,
  PROP_HTML,
  PROP_ATTACHMENTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
hir_message_body_finalize (GObject *object)
{
  HirMessageBody *self = (HirMessageBody *) object;

  g_clear_pointer (&self->text, g_free);
  g_clear_pointer (&self->html, g_free);
  g_clear_object (&self->attachments);

  G_OBJECT_CLASS (hir_message_body_parent_class)->finalize (object);
}

static void
hir_message_body_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HirMessageBody *self = HIR_MESSAGE_BODY (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      g_value_set_string (value, self->text);
      break;
    case PROP_HTML:
      g_value_set_string (value, self->html);
      break;
    case PROP_ATTACHMENTS:
      g_value_set_object (value, self->attachments);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_body_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HirMessageBody *self = HIR_MESSAGE_BODY (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      self->text = g_value_dup_string (value);
      break;
    case PROP_HTML:
      self->html = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_body_class_init (HirMessageBodyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_message_body_finalize;
  object_class->get_property = hir_message_body_get_property;
  object_class->set_property = hir_message_body_set_property;

  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HTML] =
    g_param_spec_string ("html", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTACHMENTS] =
    g_param_spec_object ("attachments", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_message_body_init (HirMessageBody *self)
{
  self->attachments = g_list_store_new (HIR_TYPE_ATTACHMENT);
}

HirMessageBody *
hir_message_body_new (const char *text,
                      const char *html)
{
  return g_object_new (HIR_TYPE_MESSAGE_BODY,
                       "text", text,
                       "html", html,
                       NULL);
}

const char *
hir_message_body_get_text (HirMessageBody *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_BODY (self), NULL);

  return self->text;
}

const char *
hir_message_body_get_html (HirMessageBody *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_BODY (self), NULL);

  return self->html;
}

GListModel *
hir_message_body_get_attachments (HirMessageBody *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_BODY (self), NULL);

  return G_LIST_MODEL (self->attachments);
}

void
hir_message_body_add_attachment (HirMessageBody *self,
                                 HirAttachment  *attachment)
{
  g_return_if_fail (HIR_IS_MESSAGE_BODY (self));
  g_return_if_fail (HIR_IS_ATTACHMENT (attachment));

  g_list_store_append (self->attachments, attachment);
}

HirAttachment *
hir_message_body_find_by_content_id (HirMessageBody *self,
                                     const char     *content_id)
{
  g_autofree char *bare = NULL;
  guint n;

  g_return_val_if_fail (HIR_IS_MESSAGE_BODY (self), NULL);

  if (content_id == NULL || *content_id == '\0')
    return NULL;

  /* Content-ID headers keep their angle brackets in some senders' cid: URLs. */
  if (content_id[0] == '<' && g_str_has_suffix (content_id, ">"))
    bare = g_strndup (content_id + 1, strlen (content_id) - 2);
  else
    bare = g_strdup (content_id);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->attachments));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (G_LIST_MODEL (self->attachments), i);

      if (g_strcmp0 (hir_attachment_get_content_id (attachment), bare) == 0)
        return attachment;
    }
  return NULL;
}
