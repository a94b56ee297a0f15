/* hir-folder.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-folder.h"

#include <glib/gi18n-lib.h>

struct _HirFolder
{
  GObject parent_instance;

  gint64 id;
  char *account_id;
  char *remote_id;
  char *parent_remote_id;
  char *name;
  HirFolderRole role;
  guint sort_order;
  guint total_count;
  guint unread_count;
};

G_DEFINE_FINAL_TYPE (HirFolder, hir_folder, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_ACCOUNT_ID,
  PROP_REMOTE_ID,
  PROP_PARENT_REMOTE_ID,
  PROP_NAME,
  PROP_ROLE,
  PROP_SORT_ORDER,
  PROP_TOTAL_COUNT,
  PROP_UNREAD_COUNT,
  PROP_ICON_NAME,
  PROP_DISPLAY_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What people see: special folders by their role, in the user's language, whatever the
 * server calls them ("INBOX", "Sent Items"); other folders by their name. */
static const char *
get_display_name (HirFolder *self)
{
  switch (self->role)
    {
    case HIR_FOLDER_ROLE_INBOX:
      /* Translators: the special folder where new mail arrives. */
      return C_("folder", "Inbox");
    case HIR_FOLDER_ROLE_DRAFTS:
      return C_("folder", "Drafts");
    case HIR_FOLDER_ROLE_SENT:
      return C_("folder", "Sent");
    case HIR_FOLDER_ROLE_ARCHIVE:
      return C_("folder", "Archive");
    case HIR_FOLDER_ROLE_JUNK:
      /* Translators: the special folder for spam. */
      return C_("folder", "Junk");
    case HIR_FOLDER_ROLE_TRASH:
      return C_("folder", "Trash");
    case HIR_FOLDER_ROLE_NONE:
    default:
      return hir_folder_get_name (self);
    }
}

static void
hir_folder_finalize (GObject *object)
{
  HirFolder *self = (HirFolder *) object;

  g_clear_pointer (&self->account_id, g_free);
  g_clear_pointer (&self->remote_id, g_free);
  g_clear_pointer (&self->parent_remote_id, g_free);
  g_clear_pointer (&self->name, g_free);

  G_OBJECT_CLASS (hir_folder_parent_class)->finalize (object);
}

static void
hir_folder_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  HirFolder *self = HIR_FOLDER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case PROP_ACCOUNT_ID:
      g_value_set_string (value, self->account_id);
      break;
    case PROP_REMOTE_ID:
      g_value_set_string (value, self->remote_id);
      break;
    case PROP_PARENT_REMOTE_ID:
      g_value_set_string (value, self->parent_remote_id);
      break;
    case PROP_NAME:
      g_value_set_string (value, hir_folder_get_name (self));
      break;
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_SORT_ORDER:
      g_value_set_uint (value, self->sort_order);
      break;
    case PROP_TOTAL_COUNT:
      g_value_set_uint (value, self->total_count);
      break;
    case PROP_UNREAD_COUNT:
      g_value_set_uint (value, self->unread_count);
      break;
    case PROP_ICON_NAME:
      g_value_set_string (value, hir_folder_get_icon_name (self));
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, get_display_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_folder_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  HirFolder *self = HIR_FOLDER (object);

  switch (prop_id)
    {
    case PROP_ID:
      hir_folder_set_id (self, g_value_get_int64 (value));
      break;
    case PROP_ACCOUNT_ID:
      self->account_id = g_value_dup_string (value);
      break;
    case PROP_REMOTE_ID:
      self->remote_id = g_value_dup_string (value);
      break;
    case PROP_PARENT_REMOTE_ID:
      hir_folder_set_parent_remote_id (self, g_value_get_string (value));
      break;
    case PROP_NAME:
      hir_folder_set_name (self, g_value_get_string (value));
      break;
    case PROP_ROLE:
      hir_folder_set_role (self, g_value_get_enum (value));
      break;
    case PROP_SORT_ORDER:
      hir_folder_set_sort_order (self, g_value_get_uint (value));
      break;
    case PROP_TOTAL_COUNT:
      hir_folder_set_total_count (self, g_value_get_uint (value));
      break;
    case PROP_UNREAD_COUNT:
      hir_folder_set_unread_count (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_folder_class_init (HirFolderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_folder_finalize;
  object_class->get_property = hir_folder_get_property;
  object_class->set_property = hir_folder_set_property;

  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACCOUNT_ID] =
    g_param_spec_string ("account-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PARENT_REMOTE_ID] =
    g_param_spec_string ("parent-remote-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, HIR_TYPE_FOLDER_ROLE, HIR_FOLDER_ROLE_NONE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SORT_ORDER] =
    g_param_spec_uint ("sort-order", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOTAL_COUNT] =
    g_param_spec_uint ("total-count", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_UNREAD_COUNT] =
    g_param_spec_uint ("unread-count", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ICON_NAME] =
    g_param_spec_string ("icon-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* The name to show (see get_display_name()); "name" stays the server's. */
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_folder_init (HirFolder *self)
{
}

HirFolder *
hir_folder_new (const char    *account_id,
                const char    *remote_id,
                const char    *name,
                HirFolderRole  role)
{
  return g_object_new (HIR_TYPE_FOLDER,
                       "account-id", account_id,
                       "remote-id", remote_id,
                       "name", name,
                       "role", role,
                       NULL);
}

gint64
hir_folder_get_id (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), 0);

  return self->id;
}

void
hir_folder_set_id (HirFolder *self,
                   gint64     id)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

const char *
hir_folder_get_account_id (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), NULL);

  return self->account_id;
}

const char *
hir_folder_get_remote_id (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), NULL);

  return self->remote_id;
}

const char *
hir_folder_get_parent_remote_id (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), NULL);

  return self->parent_remote_id;
}

void
hir_folder_set_parent_remote_id (HirFolder  *self,
                                 const char *parent_remote_id)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (g_strcmp0 (self->parent_remote_id, parent_remote_id) == 0)
    return;
  g_free (self->parent_remote_id);
  self->parent_remote_id = g_strdup (parent_remote_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARENT_REMOTE_ID]);
}

const char *
hir_folder_get_name (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), NULL);

  /* A label bound to the name must never get NULL; the remote id is the best we have. */
  if (self->name != NULL)
    return self->name;
  return self->remote_id != NULL ? self->remote_id : "";
}

void
hir_folder_set_name (HirFolder  *self,
                     const char *name)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (g_strcmp0 (self->name, name) == 0)
    return;
  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  if (self->role == HIR_FOLDER_ROLE_NONE)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
}

HirFolderRole
hir_folder_get_role (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), HIR_FOLDER_ROLE_NONE);

  return self->role;
}

void
hir_folder_set_role (HirFolder     *self,
                     HirFolderRole  role)
{
  const char *old_icon;
  const char *old_display_name;

  g_return_if_fail (HIR_IS_FOLDER (self));

  if (self->role == role)
    return;
  old_icon = hir_folder_get_icon_name (self);
  old_display_name = get_display_name (self);
  self->role = role;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROLE]);
  if (g_strcmp0 (old_icon, hir_folder_get_icon_name (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ICON_NAME]);
  if (g_strcmp0 (old_display_name, get_display_name (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
}

guint
hir_folder_get_sort_order (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), 0);

  return self->sort_order;
}

void
hir_folder_set_sort_order (HirFolder *self,
                           guint      sort_order)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (self->sort_order == sort_order)
    return;
  self->sort_order = sort_order;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SORT_ORDER]);
}

guint
hir_folder_get_total_count (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), 0);

  return self->total_count;
}

void
hir_folder_set_total_count (HirFolder *self,
                            guint      count)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (self->total_count == count)
    return;
  self->total_count = count;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL_COUNT]);
}

guint
hir_folder_get_unread_count (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), 0);

  return self->unread_count;
}

void
hir_folder_set_unread_count (HirFolder *self,
                             guint      count)
{
  g_return_if_fail (HIR_IS_FOLDER (self));

  if (self->unread_count == count)
    return;
  self->unread_count = count;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UNREAD_COUNT]);
}

/* Only names that adwaita-icon-theme 43 ships: it has no mail-inbox or archive icon. */
const char *
hir_folder_get_icon_name (HirFolder *self)
{
  g_return_val_if_fail (HIR_IS_FOLDER (self), NULL);

  switch (self->role)
    {
    case HIR_FOLDER_ROLE_INBOX:
      return "mail-unread-symbolic";
    case HIR_FOLDER_ROLE_DRAFTS:
      return "document-edit-symbolic";
    case HIR_FOLDER_ROLE_SENT:
      return "mail-send-symbolic";
    case HIR_FOLDER_ROLE_ARCHIVE:
      return "package-x-generic-symbolic";
    case HIR_FOLDER_ROLE_JUNK:
      return "mail-mark-junk-symbolic";
    case HIR_FOLDER_ROLE_TRASH:
      return "user-trash-symbolic";
    case HIR_FOLDER_ROLE_NONE:
    default:
      return "folder-symbolic";
    }
}

void
hir_folder_update_from (HirFolder *self,
                        HirFolder *other)
{
  g_return_if_fail (HIR_IS_FOLDER (self));
  g_return_if_fail (HIR_IS_FOLDER (other));

  g_object_freeze_notify (G_OBJECT (self));
  hir_folder_set_id (self, other->id);
  hir_folder_set_parent_remote_id (self, other->parent_remote_id);
  hir_folder_set_name (self, other->name);
  hir_folder_set_role (self, other->role);
  hir_folder_set_sort_order (self, other->sort_order);
  hir_folder_set_total_count (self, other->total_count);
  hir_folder_set_unread_count (self, other->unread_count);
  g_object_thaw_notify (G_OBJECT (self));
}

static const struct {
  HirFolderRole role;
  const char *name;
} role_names[] = {
  { HIR_FOLDER_ROLE_INBOX, "inbox" },
  { HIR_FOLDER_ROLE_DRAFTS, "drafts" },
  { HIR_FOLDER_ROLE_SENT, "sent" },
  { HIR_FOLDER_ROLE_ARCHIVE, "archive" },
  { HIR_FOLDER_ROLE_JUNK, "junk" },
  { HIR_FOLDER_ROLE_TRASH, "trash" },
};

HirFolderRole
hir_folder_role_from_string (const char *role)
{
  if (role == NULL)
    return HIR_FOLDER_ROLE_NONE;

  /* IMAP SPECIAL-USE (RFC 6154) spells the same roles as flags: "\\Sent". */
  if (role[0] == '\\')
    role++;

  for (guint i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (g_ascii_strcasecmp (role, role_names[i].name) == 0)
      return role_names[i].role;

  /* Older servers (XLIST, some JMAP servers) say "spam" for junk. */
  if (g_ascii_strcasecmp (role, "spam") == 0)
    return HIR_FOLDER_ROLE_JUNK;

  return HIR_FOLDER_ROLE_NONE;
}

const char *
hir_folder_role_to_string (HirFolderRole role)
{
  for (guint i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (role_names[i].role == role)
      return role_names[i].name;
  return NULL;
}
