/* hir-message.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-message.h"

struct _HirMessage
{
  GObject parent_instance;

  gint64 id;
  char *account_id;
  char *remote_id;
  char *thread_id;
  char *message_id;
  char *in_reply_to;
  char *references;
  char *subject;
  char *from_name;
  char *from_address;
  char *to;
  char *cc;
  char *preview;
  gint64 date;
  guint64 size;
  HirMessageFlags flags;
  guint has_attachment : 1;
  guint loaded : 1;
};

G_DEFINE_FINAL_TYPE (HirMessage, hir_message, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_ACCOUNT_ID,
  PROP_REMOTE_ID,
  PROP_THREAD_ID,
  PROP_MESSAGE_ID,
  PROP_IN_REPLY_TO,
  PROP_REFERENCES,
  PROP_SUBJECT,
  PROP_FROM_NAME,
  PROP_FROM_ADDRESS,
  PROP_TO,
  PROP_CC,
  PROP_PREVIEW,
  PROP_SENDER_LABEL,
  PROP_DATE,
  PROP_SIZE,
  PROP_FLAGS,
  PROP_SEEN,
  PROP_FLAGGED,
  PROP_HAS_ATTACHMENT,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Sets a string field and notifies its property, only when the value changed. */
static gboolean
set_string (HirMessage *self,
            char      **field,
            const char *value,
            guint       prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
  return TRUE;
}

static void
set_loaded (HirMessage *self,
            gboolean    loaded)
{
  loaded = !!loaded;
  if (self->loaded == loaded)
    return;
  self->loaded = loaded;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
}

static void
hir_message_finalize (GObject *object)
{
  HirMessage *self = (HirMessage *) object;

  g_clear_pointer (&self->account_id, g_free);
  g_clear_pointer (&self->remote_id, g_free);
  g_clear_pointer (&self->thread_id, g_free);
  g_clear_pointer (&self->message_id, g_free);
  g_clear_pointer (&self->in_reply_to, g_free);
  g_clear_pointer (&self->references, g_free);
  g_clear_pointer (&self->subject, g_free);
  g_clear_pointer (&self->from_name, g_free);
  g_clear_pointer (&self->from_address, g_free);
  g_clear_pointer (&self->to, g_free);
  g_clear_pointer (&self->cc, g_free);
  g_clear_pointer (&self->preview, g_free);

  G_OBJECT_CLASS (hir_message_parent_class)->finalize (object);
}

static void
hir_message_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  HirMessage *self = HIR_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case PROP_ACCOUNT_ID:
      g_value_set_string (value, hir_message_get_account_id (self));
      break;
    case PROP_REMOTE_ID:
      g_value_set_string (value, hir_message_get_remote_id (self));
      break;
    case PROP_THREAD_ID:
      g_value_set_string (value, hir_message_get_thread_id (self));
      break;
    case PROP_MESSAGE_ID:
      g_value_set_string (value, hir_message_get_message_id (self));
      break;
    case PROP_IN_REPLY_TO:
      g_value_set_string (value, hir_message_get_in_reply_to (self));
      break;
    case PROP_REFERENCES:
      g_value_set_string (value, hir_message_get_references (self));
      break;
    case PROP_SUBJECT:
      g_value_set_string (value, hir_message_get_subject (self));
      break;
    case PROP_FROM_NAME:
      g_value_set_string (value, hir_message_get_from_name (self));
      break;
    case PROP_FROM_ADDRESS:
      g_value_set_string (value, hir_message_get_from_address (self));
      break;
    case PROP_TO:
      g_value_set_string (value, hir_message_get_to (self));
      break;
    case PROP_CC:
      g_value_set_string (value, hir_message_get_cc (self));
      break;
    case PROP_PREVIEW:
      g_value_set_string (value, hir_message_get_preview (self));
      break;
    case PROP_SENDER_LABEL:
      g_value_set_string (value, hir_message_get_sender_label (self));
      break;
    case PROP_DATE:
      g_value_set_int64 (value, self->date);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;
    case PROP_SEEN:
      g_value_set_boolean (value, hir_message_get_seen (self));
      break;
    case PROP_FLAGGED:
      g_value_set_boolean (value, hir_message_get_flagged (self));
      break;
    case PROP_HAS_ATTACHMENT:
      g_value_set_boolean (value, self->has_attachment);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  HirMessage *self = HIR_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ID:
      hir_message_set_id (self, g_value_get_int64 (value));
      break;
    case PROP_ACCOUNT_ID:
      hir_message_set_account_id (self, g_value_get_string (value));
      break;
    case PROP_REMOTE_ID:
      hir_message_set_remote_id (self, g_value_get_string (value));
      break;
    case PROP_THREAD_ID:
      hir_message_set_thread_id (self, g_value_get_string (value));
      break;
    case PROP_MESSAGE_ID:
      hir_message_set_message_id (self, g_value_get_string (value));
      break;
    case PROP_IN_REPLY_TO:
      hir_message_set_in_reply_to (self, g_value_get_string (value));
      break;
    case PROP_REFERENCES:
      hir_message_set_references (self, g_value_get_string (value));
      break;
    case PROP_SUBJECT:
      hir_message_set_subject (self, g_value_get_string (value));
      break;
    case PROP_FROM_NAME:
      hir_message_set_from_name (self, g_value_get_string (value));
      break;
    case PROP_FROM_ADDRESS:
      hir_message_set_from_address (self, g_value_get_string (value));
      break;
    case PROP_TO:
      hir_message_set_to (self, g_value_get_string (value));
      break;
    case PROP_CC:
      hir_message_set_cc (self, g_value_get_string (value));
      break;
    case PROP_PREVIEW:
      hir_message_set_preview (self, g_value_get_string (value));
      break;
    case PROP_DATE:
      hir_message_set_date (self, g_value_get_int64 (value));
      break;
    case PROP_SIZE:
      hir_message_set_size (self, g_value_get_uint64 (value));
      break;
    case PROP_FLAGS:
      hir_message_set_flags (self, g_value_get_flags (value));
      break;
    case PROP_SEEN:
      if (g_value_get_boolean (value))
        hir_message_set_flags (self, self->flags | HIR_MESSAGE_FLAG_SEEN);
      else
        hir_message_set_flags (self, self->flags & ~HIR_MESSAGE_FLAG_SEEN);
      break;
    case PROP_FLAGGED:
      if (g_value_get_boolean (value))
        hir_message_set_flags (self, self->flags | HIR_MESSAGE_FLAG_FLAGGED);
      else
        hir_message_set_flags (self, self->flags & ~HIR_MESSAGE_FLAG_FLAGGED);
      break;
    case PROP_HAS_ATTACHMENT:
      hir_message_set_has_attachment (self, g_value_get_boolean (value));
      break;
    case PROP_LOADED:
      set_loaded (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_class_init (HirMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_message_finalize;
  object_class->get_property = hir_message_get_property;
  object_class->set_property = hir_message_set_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_THREAD_ID] =
    g_param_spec_string ("thread-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE_ID] =
    g_param_spec_string ("message-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IN_REPLY_TO] =
    g_param_spec_string ("in-reply-to", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REFERENCES] =
    g_param_spec_string ("references", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SUBJECT] =
    g_param_spec_string ("subject", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FROM_NAME] =
    g_param_spec_string ("from-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FROM_ADDRESS] =
    g_param_spec_string ("from-address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TO] =
    g_param_spec_string ("to", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CC] =
    g_param_spec_string ("cc", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PREVIEW] =
    g_param_spec_string ("preview", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SENDER_LABEL] =
    g_param_spec_string ("sender-label", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATE] =
    g_param_spec_int64 ("date", NULL, NULL, G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FLAGS] =
    g_param_spec_flags ("flags", NULL, NULL, HIR_TYPE_MESSAGE_FLAGS, HIR_MESSAGE_FLAG_NONE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SEEN] =
    g_param_spec_boolean ("seen", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FLAGGED] =
    g_param_spec_boolean ("flagged", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_ATTACHMENT] =
    g_param_spec_boolean ("has-attachment", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Writable so that the store can make loaded rows with g_object_new(); the list's
   * placeholders are the ones made with loaded = FALSE. */
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_message_init (HirMessage *self)
{
}

/* A message made by a provider or the store is loaded; only a list placeholder is not,
 * and the list makes those with g_object_new (HIR_TYPE_MESSAGE, "loaded", FALSE). */
HirMessage *
hir_message_new (void)
{
  return g_object_new (HIR_TYPE_MESSAGE, "loaded", TRUE, NULL);
}

gint64
hir_message_get_id (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), 0);

  return self->id;
}

void
hir_message_set_id (HirMessage *self,
                    gint64      id)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

const char *
hir_message_get_account_id (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->account_id;
}

void
hir_message_set_account_id (HirMessage *self,
                           const char *account_id)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->account_id, account_id, PROP_ACCOUNT_ID);
}

const char *
hir_message_get_remote_id (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->remote_id;
}

void
hir_message_set_remote_id (HirMessage *self,
                          const char *remote_id)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->remote_id, remote_id, PROP_REMOTE_ID);
}

const char *
hir_message_get_thread_id (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->thread_id;
}

void
hir_message_set_thread_id (HirMessage *self,
                          const char *thread_id)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->thread_id, thread_id, PROP_THREAD_ID);
}

const char *
hir_message_get_message_id (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->message_id;
}

void
hir_message_set_message_id (HirMessage *self,
                           const char *message_id)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->message_id, message_id, PROP_MESSAGE_ID);
}

const char *
hir_message_get_in_reply_to (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->in_reply_to;
}

void
hir_message_set_in_reply_to (HirMessage *self,
                            const char *in_reply_to)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->in_reply_to, in_reply_to, PROP_IN_REPLY_TO);
}

const char *
hir_message_get_references (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->references;
}

void
hir_message_set_references (HirMessage *self,
                           const char *references)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->references, references, PROP_REFERENCES);
}

const char *
hir_message_get_subject (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->subject != NULL ? self->subject : "";
}

void
hir_message_set_subject (HirMessage *self,
                        const char *subject)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->subject, subject, PROP_SUBJECT);
}

const char *
hir_message_get_to (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->to;
}

void
hir_message_set_to (HirMessage *self,
                   const char *to)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->to, to, PROP_TO);
}

const char *
hir_message_get_cc (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->cc;
}

void
hir_message_set_cc (HirMessage *self,
                   const char *cc)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->cc, cc, PROP_CC);
}

const char *
hir_message_get_preview (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->preview;
}

void
hir_message_set_preview (HirMessage *self,
                        const char *preview)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_string (self, &self->preview, preview, PROP_PREVIEW);
}

const char *
hir_message_get_from_name (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->from_name;
}

const char *
hir_message_get_from_address (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  return self->from_address;
}

/* The label depends on two fields: notify it only when what it shows changes. */
static void
set_sender_field (HirMessage *self,
                  char      **field,
                  const char *value,
                  guint       prop_id)
{
  g_autofree char *old_label = g_strdup (hir_message_get_sender_label (self));

  if (set_string (self, field, value, prop_id) &&
      g_strcmp0 (old_label, hir_message_get_sender_label (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SENDER_LABEL]);
}

void
hir_message_set_from_name (HirMessage *self,
                           const char *from_name)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_sender_field (self, &self->from_name, from_name, PROP_FROM_NAME);
}

void
hir_message_set_from_address (HirMessage *self,
                              const char *from_address)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  set_sender_field (self, &self->from_address, from_address, PROP_FROM_ADDRESS);
}

const char *
hir_message_get_sender_label (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), NULL);

  if (self->from_name != NULL && *self->from_name != '\0')
    return self->from_name;
  return self->from_address != NULL ? self->from_address : "";
}

gint64
hir_message_get_date (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), 0);

  return self->date;
}

void
hir_message_set_date (HirMessage *self,
                      gint64      date)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  if (self->date == date)
    return;
  self->date = date;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATE]);
}

guint64
hir_message_get_size (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), 0);

  return self->size;
}

void
hir_message_set_size (HirMessage *self,
                      guint64     size)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  if (self->size == size)
    return;
  self->size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIZE]);
}

HirMessageFlags
hir_message_get_flags (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), HIR_MESSAGE_FLAG_NONE);

  return self->flags;
}

void
hir_message_set_flags (HirMessage      *self,
                       HirMessageFlags  flags)
{
  HirMessageFlags changed;

  g_return_if_fail (HIR_IS_MESSAGE (self));

  changed = self->flags ^ flags;
  if (changed == 0)
    return;
  self->flags = flags;
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FLAGS]);
  if (changed & HIR_MESSAGE_FLAG_SEEN)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEEN]);
  if (changed & HIR_MESSAGE_FLAG_FLAGGED)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FLAGGED]);
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
hir_message_get_seen (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), FALSE);

  return (self->flags & HIR_MESSAGE_FLAG_SEEN) != 0;
}

gboolean
hir_message_get_flagged (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), FALSE);

  return (self->flags & HIR_MESSAGE_FLAG_FLAGGED) != 0;
}

gboolean
hir_message_get_has_attachment (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), FALSE);

  return self->has_attachment;
}

void
hir_message_set_has_attachment (HirMessage *self,
                                gboolean    has_attachment)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));

  has_attachment = !!has_attachment;
  if (self->has_attachment == (guint) has_attachment)
    return;
  self->has_attachment = has_attachment;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_ATTACHMENT]);
}

gboolean
hir_message_get_loaded (HirMessage *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE (self), FALSE);

  return self->loaded;
}

void
hir_message_update_from (HirMessage *self,
                         HirMessage *other)
{
  g_return_if_fail (HIR_IS_MESSAGE (self));
  g_return_if_fail (HIR_IS_MESSAGE (other));

  if (self == other)
    return;

  /* One batch of notifications: a row bound to several properties redraws once. */
  g_object_freeze_notify (G_OBJECT (self));
  hir_message_set_id (self, other->id);
  hir_message_set_account_id (self, other->account_id);
  hir_message_set_remote_id (self, other->remote_id);
  hir_message_set_thread_id (self, other->thread_id);
  hir_message_set_message_id (self, other->message_id);
  hir_message_set_in_reply_to (self, other->in_reply_to);
  hir_message_set_references (self, other->references);
  hir_message_set_subject (self, other->subject);
  hir_message_set_from_name (self, other->from_name);
  hir_message_set_from_address (self, other->from_address);
  hir_message_set_to (self, other->to);
  hir_message_set_cc (self, other->cc);
  hir_message_set_preview (self, other->preview);
  hir_message_set_date (self, other->date);
  hir_message_set_size (self, other->size);
  hir_message_set_flags (self, other->flags);
  hir_message_set_has_attachment (self, other->has_attachment);
  set_loaded (self, TRUE);
  g_object_thaw_notify (G_OBJECT (self));
}
