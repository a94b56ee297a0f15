/* hir-store-changes.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-store-changes-private.h"

G_DEFINE_BOXED_TYPE (HirStoreChanges, hir_store_changes,
                     hir_store_changes_ref, hir_store_changes_unref)

static void
folder_row_free (gpointer data)
{
  HirStoreFolderRow *row = data;

  g_free (row->remote_id);
  g_free (row->parent_remote_id);
  g_free (row->name);
  g_free (row);
}

static void
message_row_free (gpointer data)
{
  HirStoreMessageRow *row = data;

  g_free (row->remote_id);
  g_free (row->thread_id);
  g_free (row->message_id);
  g_free (row->in_reply_to);
  g_free (row->references);
  g_free (row->subject);
  g_free (row->from_name);
  g_free (row->from_address);
  g_free (row->to);
  g_free (row->cc);
  g_free (row->preview);
  g_strfreev (row->folder_remote_ids);
  g_free (row);
}

static void
update_row_free (gpointer data)
{
  HirStoreUpdateRow *row = data;

  g_free (row->remote_id);
  g_strfreev (row->folder_remote_ids);
  g_free (row);
}

HirStoreChanges *
hir_store_changes_new (const char *account_id)
{
  HirStoreChanges *self;

  g_return_val_if_fail (account_id != NULL, NULL);

  self = g_new0 (HirStoreChanges, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->account_id = g_strdup (account_id);
  self->folders = g_ptr_array_new_with_free_func (folder_row_free);
  self->removed_folders = g_ptr_array_new_with_free_func (g_free);
  self->messages = g_ptr_array_new_with_free_func (message_row_free);
  self->updates = g_ptr_array_new_with_free_func (update_row_free);
  self->removed_messages = g_ptr_array_new_with_free_func (g_free);
  self->state_keys = g_ptr_array_new_with_free_func (g_free);
  self->state_values = g_ptr_array_new_with_free_func (g_free);
  return self;
}

HirStoreChanges *
hir_store_changes_ref (HirStoreChanges *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
hir_store_changes_unref (HirStoreChanges *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_free (self->account_id);
  g_ptr_array_unref (self->folders);
  g_ptr_array_unref (self->removed_folders);
  g_ptr_array_unref (self->messages);
  g_ptr_array_unref (self->updates);
  g_ptr_array_unref (self->removed_messages);
  g_ptr_array_unref (self->state_keys);
  g_ptr_array_unref (self->state_values);
  g_free (self);
}

const char *
hir_store_changes_get_account_id (HirStoreChanges *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->account_id;
}

void
hir_store_changes_upsert_folder (HirStoreChanges *self,
                                 HirFolder       *folder)
{
  HirStoreFolderRow *row;

  g_return_if_fail (self != NULL);
  g_return_if_fail (HIR_IS_FOLDER (folder));
  g_return_if_fail (hir_folder_get_remote_id (folder) != NULL);

  row = g_new0 (HirStoreFolderRow, 1);
  row->remote_id = g_strdup (hir_folder_get_remote_id (folder));
  row->parent_remote_id = g_strdup (hir_folder_get_parent_remote_id (folder));
  row->name = g_strdup (hir_folder_get_name (folder));
  row->role = hir_folder_get_role (folder);
  row->sort_order = hir_folder_get_sort_order (folder);
  g_ptr_array_add (self->folders, row);
}

void
hir_store_changes_remove_folder (HirStoreChanges *self,
                                 const char      *remote_id)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (remote_id != NULL);

  g_ptr_array_add (self->removed_folders, g_strdup (remote_id));
}

void
hir_store_changes_upsert_message (HirStoreChanges    *self,
                                  HirMessage         *message,
                                  const char * const *folder_remote_ids)
{
  HirStoreMessageRow *row;

  g_return_if_fail (self != NULL);
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (hir_message_get_remote_id (message) != NULL);

  row = g_new0 (HirStoreMessageRow, 1);
  row->remote_id = g_strdup (hir_message_get_remote_id (message));
  row->thread_id = g_strdup (hir_message_get_thread_id (message));
  row->message_id = g_strdup (hir_message_get_message_id (message));
  row->in_reply_to = g_strdup (hir_message_get_in_reply_to (message));
  row->references = g_strdup (hir_message_get_references (message));
  row->subject = g_strdup (hir_message_get_subject (message));
  row->from_name = g_strdup (hir_message_get_from_name (message));
  row->from_address = g_strdup (hir_message_get_from_address (message));
  row->to = g_strdup (hir_message_get_to (message));
  row->cc = g_strdup (hir_message_get_cc (message));
  row->date = hir_message_get_date (message);
  row->preview = g_strdup (hir_message_get_preview (message));
  row->size = hir_message_get_size (message);
  row->flags = hir_message_get_flags (message);
  row->has_attachment = hir_message_get_has_attachment (message);
  /* NULL keeps the stored membership, as for an update: a provider that does not know
   * the folders must not make the store drop the message. */
  row->folder_remote_ids = g_strdupv ((char **) folder_remote_ids);
  g_ptr_array_add (self->messages, row);
}

void
hir_store_changes_update_message (HirStoreChanges    *self,
                                  const char         *remote_id,
                                  HirMessageFlags     flags,
                                  const char * const *folder_remote_ids)
{
  HirStoreUpdateRow *row;

  g_return_if_fail (self != NULL);
  g_return_if_fail (remote_id != NULL);

  row = g_new0 (HirStoreUpdateRow, 1);
  row->remote_id = g_strdup (remote_id);
  row->flags = flags;
  row->folder_remote_ids = g_strdupv ((char **) folder_remote_ids);
  g_ptr_array_add (self->updates, row);
}

void
hir_store_changes_remove_message (HirStoreChanges *self,
                                  const char      *remote_id)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (remote_id != NULL);

  g_ptr_array_add (self->removed_messages, g_strdup (remote_id));
}

void
hir_store_changes_set_state (HirStoreChanges *self,
                             const char      *key,
                             const char      *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (key != NULL);

  /* The last value given for a key wins, as it would if each were written in turn. */
  for (guint i = 0; i < self->state_keys->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (self->state_keys, i), key))
        {
          g_free (self->state_values->pdata[i]);
          self->state_values->pdata[i] = g_strdup (value);
          return;
        }
    }
  g_ptr_array_add (self->state_keys, g_strdup (key));
  g_ptr_array_add (self->state_values, g_strdup (value));
}

gboolean
hir_store_changes_is_empty (HirStoreChanges *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->folders->len == 0 &&
         self->removed_folders->len == 0 &&
         self->messages->len == 0 &&
         self->updates->len == 0 &&
         self->removed_messages->len == 0 &&
         self->state_keys->len == 0;
}
