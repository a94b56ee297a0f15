/* hir-messaging.c: messaging for other programs, one implementation behind every door
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>
#include <sqlite3.h>

#include "hir-messaging.h"

G_DEFINE_QUARK (hir-messaging-error-quark, hir_messaging_error)

struct _HirMessaging
{
  GObject parent_instance;

  HirEngine *engine;
  HirMessagingComposeFunc compose_func;
  gpointer compose_data;

  /* New mail: the highest message id seen per inbox folder, and the accounts whose
   * first sync in this run finished (before that, arrivals are old mail). */
  GHashTable *inbox_high;        /* folder id → gint64 */
  GHashTable *synced_accounts;   /* account id set */
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (HirMessaging, hir_messaging, G_TYPE_OBJECT)

enum {
  STATUS_CHANGED,
  NEW_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
hir_messaging_state_to_string (HirOutgoingState state)
{
  switch (state)
    {
    case HIR_OUTGOING_STATE_DRAFT:
      return "draft";
    case HIR_OUTGOING_STATE_QUEUED:
      return "queued";
    case HIR_OUTGOING_STATE_SENDING:
      return "sending";
    case HIR_OUTGOING_STATE_SENT:
      return "sent";
    case HIR_OUTGOING_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
    }
}

/* ------------------------------------------------------------------------------------ */
/* Queries on the store's thread                                                        */

typedef struct
{
  /* in */
  char *text;
  char *folder;
  char *account;
  gboolean unread_only;
  gint64 since;
  gint64 above;       /* new mail: ids above this */
  gint64 folder_id;
  guint limit;
  /* out */
  GVariant *result;
  gint64 high;
} Query;

static void
query_free (Query *query)
{
  g_free (query->text);
  g_free (query->folder);
  g_free (query->account);
  g_clear_pointer (&query->result, g_variant_unref);
  g_free (query);
}

static gboolean
sql_failed (sqlite3  *db,
            GError  **error)
{
  g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, "%s", sqlite3_errmsg (db));
  return FALSE;
}

static const char *
column (sqlite3_stmt *stmt,
        int           i)
{
  const char *text = (const char *) sqlite3_column_text (stmt, i);

  return text != NULL ? text : "";
}

static char *
format_from (const char *name,
             const char *address)
{
  if (name == NULL || *name == '\0')
    return g_strdup (address != NULL ? address : "");
  if (address == NULL || *address == '\0')
    return g_strdup (name);
  {
    InternetAddress *mailbox = internet_address_mailbox_new (name, address);
    char *text = internet_address_to_string (mailbox, NULL, FALSE);

    g_object_unref (mailbox);
    return text;
  }
}

typedef struct
{
  char *name;
  char *address;
  guint count;
} Contact;

static void
contact_free (Contact *contact)
{
  g_free (contact->name);
  g_free (contact->address);
  g_free (contact);
}

static void
add_contact (GHashTable *contacts,
             const char *name,
             const char *address,
             const char *needle)
{
  g_autofree char *key = NULL;
  g_autofree char *folded_name = NULL;
  Contact *contact;

  if (address == NULL || strchr (address, '@') == NULL)
    return;
  key = g_utf8_casefold (address, -1);
  folded_name = g_utf8_casefold (name != NULL ? name : "", -1);
  if (strstr (key, needle) == NULL && strstr (folded_name, needle) == NULL)
    return;
  contact = g_hash_table_lookup (contacts, key);
  if (contact == NULL)
    {
      contact = g_new0 (Contact, 1);
      contact->address = g_strdup (address);
      g_hash_table_insert (contacts, g_steal_pointer (&key), contact);
    }
  contact->count++;
  if ((contact->name == NULL || *contact->name == '\0') && name != NULL && *name != '\0')
    {
      g_free (contact->name);
      contact->name = g_strdup (name);
    }
}

static void
add_contact_list (GHashTable *contacts,
                  const char *list,
                  const char *needle)
{
  InternetAddressList *addresses;

  if (list == NULL || *list == '\0')
    return;
  addresses = internet_address_list_parse (NULL, list);
  if (addresses == NULL)
    return;
  for (int i = 0; i < internet_address_list_length (addresses); i++)
    {
      InternetAddress *ia = internet_address_list_get_address (addresses, i);

      if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        add_contact (contacts, internet_address_get_name (ia),
                     internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia)), needle);
    }
  g_object_unref (addresses);
}

static int
compare_contacts (gconstpointer a,
                  gconstpointer b)
{
  const Contact *x = *(Contact **) a;
  const Contact *y = *(Contact **) b;

  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return g_utf8_collate (x->address, y->address);
}

static gboolean
resolve_in_db (sqlite3  *db,
               gpointer  data,
               GError  **error)
{
  Query *query = data;
  /* Received mail (senders and fellow recipients) and the user's own outgoing mail. */
  static const char *sql[] = {
    "SELECT from_name, from_address, to_list, cc_list FROM messages "
    "WHERE from_name LIKE ?1 ESCAPE '\\' OR from_address LIKE ?1 ESCAPE '\\' "
    "OR to_list LIKE ?1 ESCAPE '\\' OR cc_list LIKE ?1 ESCAPE '\\'",
    "SELECT NULL, NULL, to_list, cc_list || ', ' || coalesce(bcc_list, '') FROM outgoing "
    "WHERE to_list LIKE ?1 ESCAPE '\\' OR cc_list LIKE ?1 ESCAPE '\\' "
    "OR bcc_list LIKE ?1 ESCAPE '\\'",
  };
  g_autoptr(GHashTable) contacts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) contact_free);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  g_autoptr(GString) pattern = g_string_new ("%");
  g_autofree char *needle = g_utf8_casefold (query->text, -1);
  GVariantBuilder builder;
  GHashTableIter iter;
  gpointer value;

  for (const char *p = query->text; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');

  for (guint s = 0; s < G_N_ELEMENTS (sql); s++)
    {
      sqlite3_stmt *stmt = NULL;
      int rc;

      if (sqlite3_prepare_v2 (db, sql[s], -1, &stmt, NULL) != SQLITE_OK)
        return sql_failed (db, error);
      sqlite3_bind_text (stmt, 1, pattern->str, -1, SQLITE_TRANSIENT);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          add_contact (contacts, (const char *) sqlite3_column_text (stmt, 0),
                       (const char *) sqlite3_column_text (stmt, 1), needle);
          add_contact_list (contacts, (const char *) sqlite3_column_text (stmt, 2), needle);
          add_contact_list (contacts, (const char *) sqlite3_column_text (stmt, 3), needle);
        }
      sqlite3_finalize (stmt);
      if (rc != SQLITE_DONE)
        return sql_failed (db, error);
    }

  g_hash_table_iter_init (&iter, contacts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (sorted, value);
  g_ptr_array_sort (sorted, compare_contacts);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i < sorted->len && i < 50; i++)
    {
      Contact *contact = g_ptr_array_index (sorted, i);

      g_variant_builder_add (&builder, "(ss)", contact->name != NULL ? contact->name : "",
                             contact->address);
    }
  query->result = g_variant_ref_sink (g_variant_builder_end (&builder));
  return TRUE;
}

static int
parse_role (const char *name)
{
  static const char *roles[] = { "inbox", "drafts", "sent", "archive", "junk", "trash" };
  static const HirFolderRole values[] = {
    HIR_FOLDER_ROLE_INBOX, HIR_FOLDER_ROLE_DRAFTS, HIR_FOLDER_ROLE_SENT,
    HIR_FOLDER_ROLE_ARCHIVE, HIR_FOLDER_ROLE_JUNK, HIR_FOLDER_ROLE_TRASH,
  };

  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    if (g_ascii_strcasecmp (name, roles[i]) == 0)
      return values[i];
  return -1;
}

static GVariant *
message_row_to_variant (sqlite3_stmt *stmt)
{
  GVariantBuilder builder;
  g_autofree char *from = format_from (column (stmt, 2), column (stmt, 3));
  int flags = sqlite3_column_int (stmt, 5);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_int64 (sqlite3_column_int64 (stmt, 0)));
  g_variant_builder_add (&builder, "{sv}", "subject", g_variant_new_string (column (stmt, 1)));
  g_variant_builder_add (&builder, "{sv}", "from", g_variant_new_string (from));
  g_variant_builder_add (&builder, "{sv}", "date", g_variant_new_int64 (sqlite3_column_int64 (stmt, 4)));
  g_variant_builder_add (&builder, "{sv}", "unread",
                         g_variant_new_boolean ((flags & HIR_MESSAGE_FLAG_SEEN) == 0));
  g_variant_builder_add (&builder, "{sv}", "flagged",
                         g_variant_new_boolean ((flags & HIR_MESSAGE_FLAG_FLAGGED) != 0));
  g_variant_builder_add (&builder, "{sv}", "has_attachment",
                         g_variant_new_boolean (sqlite3_column_int (stmt, 6) != 0));
  g_variant_builder_add (&builder, "{sv}", "account", g_variant_new_string (column (stmt, 7)));
  return g_variant_builder_end (&builder);
}

static gboolean
list_in_db (sqlite3  *db,
            gpointer  data,
            GError  **error)
{
  Query *query = data;
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autoptr(GString) pattern = g_string_new ("%");
  sqlite3_stmt *stmt = NULL;
  GVariantBuilder builder;
  char *end = NULL;
  gint64 folder_id = 0;
  int role = HIR_FOLDER_ROLE_INBOX;
  int rc;

  if (query->folder != NULL)
    {
      folder_id = g_ascii_strtoll (query->folder, &end, 10);
      if (end == query->folder || *end != '\0')
        {
          folder_id = 0;
          role = parse_role (query->folder);
          if (role < 0)
            {
              g_set_error (error, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                           /* Translators: %s is what the user gave as a folder. */
                           _("“%s” is not a folder: give inbox, drafts, sent, archive, junk, "
                             "trash or a folder id"), query->folder);
              return FALSE;
            }
        }
    }

  g_string_append (sql,
                   "SELECT DISTINCT m.id, m.subject, m.from_name, m.from_address, m.date, "
                   "m.flags, m.has_attachment, m.account_id FROM messages m "
                   "JOIN message_folders mf ON mf.message_id = m.id "
                   "JOIN folders f ON f.id = mf.folder_id WHERE ");
  if (folder_id != 0)
    g_string_append (sql, "f.id = ?1");
  else
    g_string_append (sql, "f.role = ?2");
  if (query->account != NULL)
    g_string_append (sql, " AND m.account_id = ?3");
  if (query->unread_only)
    g_string_append (sql, " AND (m.flags & 1) = 0");
  if (query->since != 0)
    g_string_append (sql, " AND m.date >= ?4");
  if (query->text != NULL && *query->text != '\0')
    g_string_append (sql, " AND (m.subject LIKE ?5 ESCAPE '\\' OR m.from_name LIKE ?5 ESCAPE '\\'"
                          " OR m.from_address LIKE ?5 ESCAPE '\\' OR m.preview LIKE ?5 ESCAPE '\\')");
  g_string_append (sql, " ORDER BY m.date DESC, m.id DESC LIMIT ?6");

  if (query->text != NULL)
    for (const char *p = query->text; *p != '\0'; p++)
      {
        if (*p == '%' || *p == '_' || *p == '\\')
          g_string_append_c (pattern, '\\');
        g_string_append_c (pattern, *p);
      }
  g_string_append_c (pattern, '%');

  if (sqlite3_prepare_v2 (db, sql->str, -1, &stmt, NULL) != SQLITE_OK)
    return sql_failed (db, error);
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int (stmt, 2, role);
  sqlite3_bind_text (stmt, 3, query->account, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, query->since);
  sqlite3_bind_text (stmt, 5, pattern->str, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 6, query->limit);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_variant_builder_add_value (&builder, message_row_to_variant (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      g_variant_builder_clear (&builder);
      return sql_failed (db, error);
    }
  query->result = g_variant_ref_sink (g_variant_builder_end (&builder));
  return TRUE;
}

/* New mail: messages of one folder above an id, and the folder's role. */
static gboolean
arrivals_in_db (sqlite3  *db,
                gpointer  data,
                GError  **error)
{
  Query *query = data;
  sqlite3_stmt *stmt = NULL;
  GVariantBuilder builder;
  int rc;

  if (sqlite3_prepare_v2 (db,
                          "SELECT m.id, m.subject, m.from_name, m.from_address, m.date, m.flags, "
                          "m.has_attachment, m.account_id FROM messages m "
                          "JOIN message_folders mf ON mf.message_id = m.id "
                          "JOIN folders f ON f.id = mf.folder_id "
                          "WHERE f.id = ?1 AND f.role = ?2 AND m.id > ?3 ORDER BY m.id",
                          -1, &stmt, NULL) != SQLITE_OK)
    return sql_failed (db, error);
  sqlite3_bind_int64 (stmt, 1, query->folder_id);
  sqlite3_bind_int (stmt, 2, HIR_FOLDER_ROLE_INBOX);
  sqlite3_bind_int64 (stmt, 3, query->above);
  query->high = query->above;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      query->high = MAX (query->high, sqlite3_column_int64 (stmt, 0));
      g_variant_builder_add_value (&builder, message_row_to_variant (stmt));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      g_variant_builder_clear (&builder);
      return sql_failed (db, error);
    }
  query->result = g_variant_ref_sink (g_variant_builder_end (&builder));
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* The object                                                                           */

static void
state_changed_cb (HirOutbox        *outbox,
                  gint64            id,
                  HirOutgoingState  state,
                  const char       *error_message,
                  HirMessaging     *self)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, id);

  g_signal_emit (self, signals[STATUS_CHANGED], 0, text, hir_messaging_state_to_string (state),
                 error_message != NULL ? error_message : "");
}

static void
arrivals_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirMessaging *self = g_task_get_source_object (task);
  Query *query = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean announce;
  GVariantIter iter;
  GVariant *row;

  g_task_return_boolean (task, TRUE);   /* nobody waits: the task only keeps us alive */
  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Cannot look for new mail: %s", error->message);
      return;
    }
  announce = g_hash_table_contains (self->inbox_high, &query->folder_id);
  g_hash_table_insert (self->inbox_high, g_memdup2 (&query->folder_id, sizeof (gint64)),
                       g_memdup2 (&query->high, sizeof (gint64)));
  if (!announce)
    return;

  g_variant_iter_init (&iter, query->result);
  while ((row = g_variant_iter_next_value (&iter)) != NULL)
    {
      gint64 id = 0;
      const char *from = "";
      const char *subject = "";
      const char *account = "";

      g_variant_lookup (row, "id", "x", &id);
      g_variant_lookup (row, "from", "&s", &from);
      g_variant_lookup (row, "subject", "&s", &subject);
      g_variant_lookup (row, "account", "&s", &account);
      /* Before the account's first sync in this run completes, arrivals are the mail
       * that came while we were not looking: not news. */
      if (g_hash_table_contains (self->synced_accounts, account))
        g_signal_emit (self, signals[NEW_MESSAGE], 0, id, from, subject);
      g_variant_unref (row);
    }
}

static void
look_for_arrivals (HirMessaging *self,
                   gint64        folder_id)
{
  GTask *task = g_task_new (self, self->cancellable, NULL, NULL);
  Query *query = g_new0 (Query, 1);
  gint64 *high = g_hash_table_lookup (self->inbox_high, &folder_id);

  query->folder_id = folder_id;
  /* A folder seen for the first time: everything in it so far is the baseline. */
  query->above = high != NULL ? *high : 0;
  g_task_set_task_data (task, query, (GDestroyNotify) query_free);
  hir_store_run_async (hir_engine_get_store (self->engine), arrivals_in_db, query,
                       self->cancellable, arrivals_cb, task);
}

static void
messages_changed_cb (HirStore     *store,
                     gint64        folder_id,
                     HirMessaging *self)
{
  look_for_arrivals (self, folder_id);
}

static void
sync_finished_cb (HirEngine    *engine,
                  HirAccount   *account,
                  HirMessaging *self)
{
  g_hash_table_add (self->synced_accounts, g_strdup (hir_account_get_id (account)));
}

static void
baseline_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirMessaging *self = g_task_get_source_object (task);
  g_autoptr(GPtrArray) folders = NULL;

  g_task_return_boolean (task, TRUE);
  folders = hir_store_list_folders_finish (HIR_STORE (object), result, NULL);
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (folders, i);

      if (hir_folder_get_role (folder) == HIR_FOLDER_ROLE_INBOX)
        look_for_arrivals (self, hir_folder_get_id (folder));
    }
}

static void
hir_messaging_dispose (GObject *object)
{
  HirMessaging *self = HIR_MESSAGING (object);

  g_cancellable_cancel (self->cancellable);
  if (self->engine != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->engine, self);
      if (hir_engine_get_outbox (self->engine) != NULL)
        g_signal_handlers_disconnect_by_data (hir_engine_get_outbox (self->engine), self);
      g_signal_handlers_disconnect_by_data (hir_engine_get_store (self->engine), self);
    }
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (hir_messaging_parent_class)->dispose (object);
}

static void
hir_messaging_finalize (GObject *object)
{
  HirMessaging *self = HIR_MESSAGING (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->inbox_high, g_hash_table_unref);
  g_clear_pointer (&self->synced_accounts, g_hash_table_unref);

  G_OBJECT_CLASS (hir_messaging_parent_class)->finalize (object);
}

static void
hir_messaging_class_init (HirMessagingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_messaging_dispose;
  object_class->finalize = hir_messaging_finalize;

  signals[STATUS_CHANGED] =
    g_signal_new ("status-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[NEW_MESSAGE] =
    g_signal_new ("new-message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING);
}

static void
hir_messaging_init (HirMessaging *self)
{
  self->cancellable = g_cancellable_new ();
  self->inbox_high = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  self->synced_accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* @engine must be open (its outbox made). */
HirMessaging *
hir_messaging_new (HirEngine *engine)
{
  HirMessaging *self;
  GListModel *accounts;

  g_return_val_if_fail (HIR_IS_ENGINE (engine), NULL);

  g_mime_init ();
  self = g_object_new (HIR_TYPE_MESSAGING, NULL);
  self->engine = g_object_ref (engine);
  if (hir_engine_get_outbox (engine) != NULL)
    g_signal_connect_object (hir_engine_get_outbox (engine), "state-changed",
                             G_CALLBACK (state_changed_cb), self, 0);
  g_signal_connect_object (hir_engine_get_store (engine), "messages-changed",
                           G_CALLBACK (messages_changed_cb), self, 0);
  g_signal_connect_object (engine, "sync-finished", G_CALLBACK (sync_finished_cb), self, 0);

  accounts = hir_engine_get_accounts (engine);
  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);

      hir_store_list_folders_async (hir_engine_get_store (engine), hir_account_get_id (account),
                                    self->cancellable, baseline_cb,
                                    g_task_new (self, self->cancellable, NULL, NULL));
    }
  return self;
}

HirEngine *
hir_messaging_get_engine (HirMessaging *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGING (self), NULL);

  return self->engine;
}

void
hir_messaging_set_compose_func (HirMessaging            *self,
                                HirMessagingComposeFunc  func,
                                gpointer                 user_data)
{
  g_return_if_fail (HIR_IS_MESSAGING (self));

  self->compose_func = func;
  self->compose_data = user_data;
}

/* ------------------------------------------------------------------------------------ */
/* Attachments from file descriptors                                                    */

typedef struct
{
  GArray *fds;
  char **names;
} ReadFds;

static void
read_fds_free (ReadFds *data)
{
  for (guint i = 0; i < data->fds->len; i++)
    if (g_array_index (data->fds, int, i) >= 0)
      close (g_array_index (data->fds, int, i));
  g_array_unref (data->fds);
  g_strfreev (data->names);
  g_free (data);
}

static void
read_fds_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  ReadFds *data = task_data;
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < data->fds->len; i++)
    {
      g_autoptr(GInputStream) input = NULL;
      g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *type = NULL;
      const char *name = data->names[i];

      /* The stream closes the descriptor: it is no longer ours to close. */
      input = g_unix_input_stream_new (g_array_index (data->fds, int, i), TRUE);
      g_array_index (data->fds, int, i) = -1;
      if (g_output_stream_splice (output, input,
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                  cancellable, &error) < 0)
        {
          g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                                   /* Translators: %s is an attachment's name, then why. */
                                   _("Cannot read the attachment “%s”: %s"), name,
                                   error->message);
          return;
        }
      bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
      type = g_content_type_guess (name, g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes), NULL);
      {
        g_autofree char *mime_type = g_content_type_get_mime_type (type);

        g_ptr_array_add (attachments,
                         hir_outgoing_attachment_new (name,
                                                      mime_type != NULL ? mime_type
                                                                        : "application/octet-stream",
                                                      bytes));
      }
    }
  g_task_return_pointer (task, g_steal_pointer (&attachments), (GDestroyNotify) g_ptr_array_unref);
}

void
hir_messaging_read_fds_async (HirMessaging        *self,
                              GArray              *fds,
                              const char * const  *names,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadFds *data;
  guint n_names = names != NULL ? g_strv_length ((char **) names) : 0;

  g_return_if_fail (HIR_IS_MESSAGING (self));
  g_return_if_fail (fds != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_messaging_read_fds_async);
  data = g_new0 (ReadFds, 1);
  /* A copy: the descriptors are ours from now on, the caller's array is not. */
  data->fds = g_array_copy (fds);
  data->names = g_strdupv ((char **) names);
  g_task_set_task_data (task, data, (GDestroyNotify) read_fds_free);

  if (n_names != fds->len)
    {
      g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                               _("%u attachments but %u attachment names"), fds->len, n_names);
      return;
    }
  for (guint i = 0; i < n_names; i++)
    if (*names[i] == '\0' || strchr (names[i], '/') != NULL)
      {
        g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                                 _("“%s” is not a file name for an attachment"), names[i]);
        return;
      }
  g_task_run_in_thread (task, read_fds_thread);
}

GPtrArray *
hir_messaging_read_fds_finish (HirMessaging  *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* Send                                                                                 */

/* How many addresses @text lists: its non-empty parts between commas outside quotes,
 * angle brackets and comments. GMime skips what it cannot parse; this tells it did. */
static guint
count_list_parts (const char *text)
{
  gboolean quoted = FALSE;
  gboolean content = FALSE;
  int angle = 0;
  int comment = 0;
  guint parts = 0;

  for (const char *p = text; ; p++)
    {
      if (*p == '\0' || (*p == ',' && !quoted && angle == 0 && comment == 0))
        {
          parts += content;
          content = FALSE;
          if (*p == '\0')
            break;
          continue;
        }
      if (*p == '\\' && quoted && p[1] != '\0')
        p++;
      else if (*p == '"' && comment == 0)
        quoted = !quoted;
      else if (!quoted && *p == '<')
        angle++;
      else if (!quoted && *p == '>' && angle > 0)
        angle--;
      else if (!quoted && *p == '(')
        comment++;
      else if (!quoted && *p == ')' && comment > 0)
        comment--;
      if (!g_ascii_isspace (*p))
        content = TRUE;
    }
  return parts;
}

/* "a@x, Bob <b@y>" from an "as" of addresses, each checked: it parses and has a domain. */
static char *
join_addresses (GVariant    *message,
                const char  *key,
                guint       *count,
                GError     **error)
{
  g_autofree const char **list = NULL;
  g_autoptr(GString) joined = g_string_new (NULL);

  if (!g_variant_lookup (message, key, "^a&s", &list) || list == NULL)
    return NULL;
  for (guint i = 0; list[i] != NULL; i++)
    {
      g_autoptr(GObject) parsed_object = NULL;
      InternetAddressList *parsed;
      const char *text = list[i];
      gboolean good;

      while (g_ascii_isspace (*text))
        text++;
      if (*text == '\0')
        continue;
      parsed = internet_address_list_parse (NULL, text);
      parsed_object = (GObject *) parsed;
      good = parsed != NULL && internet_address_list_length (parsed) > 0 &&
             (guint) internet_address_list_length (parsed) == count_list_parts (text) &&
             strpbrk (text, "\r\n") == NULL;
      for (int j = 0; good && j < internet_address_list_length (parsed); j++)
        {
          InternetAddress *ia = internet_address_list_get_address (parsed, j);
          const char *addr;
          const char *at;

          if (!INTERNET_ADDRESS_IS_MAILBOX (ia))
            {
              good = FALSE;
              break;
            }
          addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia));
          at = addr != NULL ? strrchr (addr, '@') : NULL;
          good = at != NULL && at != addr && at[1] != '\0' && strchr (at + 1, '.') != NULL &&
                 strpbrk (addr, " \t<>,;") == NULL;
          if (good)
            {
              if (joined->len > 0)
                g_string_append (joined, ", ");
              g_string_append (joined, internet_address_to_string (ia, NULL, FALSE));
              (*count)++;
            }
        }
      if (!good)
        {
          g_set_error (error, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                       /* Translators: %s is what was given as an e-mail address. */
                       _("“%s” is not an e-mail address (name@domain)"), text);
          return NULL;
        }
    }
  return joined->len > 0 ? g_string_free (g_steal_pointer (&joined), FALSE) : NULL;
}

HirOutgoing *
hir_messaging_make_outgoing (HirMessaging  *self,
                             GVariant      *message,
                             GPtrArray     *attachments,
                             gboolean       require_recipient,
                             GError       **error)
{
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autofree char *to = NULL;
  g_autofree char *cc = NULL;
  g_autofree char *bcc = NULL;
  const char *account_id = NULL;
  const char *text = NULL;
  HirAccount *account = NULL;
  GError *local_error = NULL;
  guint count = 0;

  g_return_val_if_fail (HIR_IS_MESSAGING (self), NULL);
  g_return_val_if_fail (g_variant_is_of_type (message, G_VARIANT_TYPE_VARDICT), NULL);

  if (g_variant_lookup (message, "account", "&s", &account_id) && *account_id != '\0')
    {
      account = hir_engine_find_account (self->engine, account_id);
      if (account == NULL)
        {
          g_set_error (error, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                       /* Translators: %s is what was given as an account. */
                       _("There is no account “%s”"), account_id);
          return NULL;
        }
    }
  else
    {
      GListModel *accounts = hir_engine_get_accounts (self->engine);

      if (g_list_model_get_n_items (accounts) == 0)
        {
          g_set_error (error, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                       _("There is no mail account to send from; add one first"));
          return NULL;
        }
      account = g_list_model_get_item (accounts, 0);
      g_object_unref (account);   /* the list keeps it */
    }

  to = join_addresses (message, "to", &count, &local_error);
  if (local_error == NULL)
    cc = join_addresses (message, "cc", &count, &local_error);
  if (local_error == NULL)
    bcc = join_addresses (message, "bcc", &count, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  outgoing = hir_outgoing_new (account);
  hir_outgoing_set_to (outgoing, to);
  hir_outgoing_set_cc (outgoing, cc);
  hir_outgoing_set_bcc (outgoing, bcc);
  if (g_variant_lookup (message, "subject", "&s", &text))
    {
      g_autofree char *line = g_strdup (text);

      g_strdelimit (line, "\r\n", ' ');
      hir_outgoing_set_subject (outgoing, line);
    }
  if (g_variant_lookup (message, "body", "&s", &text))
    hir_outgoing_set_text (outgoing, text);
  if (g_variant_lookup (message, "html", "&s", &text) && *text != '\0')
    hir_outgoing_set_html (outgoing, text);
  for (guint i = 0; attachments != NULL && i < attachments->len; i++)
    hir_outgoing_add_attachment (outgoing, g_ptr_array_index (attachments, i));

  /* Checked last, so that a composer can still be filled without recipients. */
  if (count == 0 && require_recipient)
    {
      g_set_error (error, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_INVALID_ARGS,
                   _("The message has no recipient: give at least one address in to, cc or bcc"));
      return NULL;
    }
  return g_steal_pointer (&outgoing);
}

static void
queue_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  gint64 id = hir_outbox_queue_finish (HIR_OUTBOX (object), result, &error);

  if (id <= 0)
    {
      g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_FAILED,
                               _("Cannot queue the message: %s"),
                               error != NULL ? error->message : _("no id"));
      return;
    }
  g_task_return_pointer (task, g_strdup_printf ("%" G_GINT64_FORMAT, id), g_free);
}

static void
compose_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  gssize id = g_task_propagate_int (G_TASK (result), &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_strdup_printf ("%" G_GSSIZE_FORMAT, id), g_free);
}

void
hir_messaging_send_async (HirMessaging        *self,
                          HirOutgoing         *outgoing,
                          gboolean             interactive,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_MESSAGING (self));
  g_return_if_fail (HIR_IS_OUTGOING (outgoing));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_messaging_send_async);

  if (interactive)
    {
      if (self->compose_func == NULL)
        {
          g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_NO_DISPLAY,
                                   _("A composer window needs the running application "
                                     "and a display"));
          g_object_unref (task);
          return;
        }
      self->compose_func (outgoing, g_task_new (self, cancellable, compose_done_cb, task),
                          self->compose_data);
      return;
    }
  hir_outbox_queue_async (hir_engine_get_outbox (self->engine), outgoing, 0, cancellable,
                          queue_cb, task);
}

char *
hir_messaging_send_finish (HirMessaging  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* GetStatus                                                                            */

typedef struct
{
  char *state;
  char *reason;
} Status;

static void
status_free (Status *status)
{
  g_free (status->state);
  g_free (status->reason);
  g_free (status);
}

static gint64
parse_id (const char *text)
{
  char *end = NULL;
  gint64 id;

  if (text == NULL || *text == '\0')
    return 0;
  id = g_ascii_strtoll (text, &end, 10);
  return *end == '\0' && id > 0 ? id : 0;
}

static void
status_loaded_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirOutgoing) outgoing = hir_outbox_load_finish (HIR_OUTBOX (object), result, &error);
  Status *status;

  if (outgoing == NULL)
    {
      g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_NOT_FOUND,
                               _("No message %s was given to send"),
                               (const char *) g_task_get_task_data (task));
      return;
    }
  status = g_new0 (Status, 1);
  status->state = g_strdup (hir_messaging_state_to_string (hir_outgoing_get_state (outgoing)));
  status->reason = g_strdup (hir_outgoing_get_error_message (outgoing) ?: "");
  g_task_return_pointer (task, status, (GDestroyNotify) status_free);
}

void
hir_messaging_get_status_async (HirMessaging        *self,
                                const char          *id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  HirOutgoingState state;
  const char *reason = NULL;
  gint64 number = parse_id (id);

  g_return_if_fail (HIR_IS_MESSAGING (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_messaging_get_status_async);
  g_task_set_task_data (task, g_strdup (id), g_free);

  if (number == 0)
    {
      g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_NOT_FOUND,
                               _("No message %s was given to send"), id);
      g_object_unref (task);
      return;
    }
  if (hir_outbox_get_state (hir_engine_get_outbox (self->engine), number, &state, &reason))
    {
      Status *status = g_new0 (Status, 1);

      status->state = g_strdup (hir_messaging_state_to_string (state));
      status->reason = g_strdup (reason != NULL ? reason : "");
      g_task_return_pointer (task, status, (GDestroyNotify) status_free);
      g_object_unref (task);
      return;
    }
  hir_outbox_load_async (hir_engine_get_outbox (self->engine), number, cancellable,
                         status_loaded_cb, task);
}

gboolean
hir_messaging_get_status_finish (HirMessaging  *self,
                                 GAsyncResult  *result,
                                 char         **state,
                                 char         **reason,
                                 GError       **error)
{
  Status *status;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  status = g_task_propagate_pointer (G_TASK (result), error);
  if (status == NULL)
    return FALSE;
  if (state != NULL)
    *state = g_steal_pointer (&status->state);
  if (reason != NULL)
    *reason = g_steal_pointer (&status->reason);
  status_free (status);
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* Resolve, ListMessages                                                                */

static void
query_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Query *query = g_task_get_task_data (task);
  GError *error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_variant_ref (query->result), (GDestroyNotify) g_variant_unref);
}

static void
run_query (HirMessaging        *self,
           Query               *query,
           HirStoreRunFunc      func,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, query, (GDestroyNotify) query_free);
  hir_store_run_async (hir_engine_get_store (self->engine), func, query, cancellable, query_cb,
                       task);
}

void
hir_messaging_resolve_async (HirMessaging        *self,
                             const char          *name,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Query *query;

  g_return_if_fail (HIR_IS_MESSAGING (self));
  g_return_if_fail (name != NULL);

  query = g_new0 (Query, 1);
  query->text = g_strstrip (g_strdup (name));
  run_query (self, query, resolve_in_db, hir_messaging_resolve_async, cancellable, callback,
             user_data);
}

GVariant *
hir_messaging_resolve_finish (HirMessaging  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
hir_messaging_list_async (HirMessaging        *self,
                          GVariant            *vquery,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  Query *query;
  GVariant *value;
  guint32 limit = 50;
  gint64 folder_id;

  g_return_if_fail (HIR_IS_MESSAGING (self));
  g_return_if_fail (g_variant_is_of_type (vquery, G_VARIANT_TYPE_VARDICT));

  query = g_new0 (Query, 1);
  g_variant_lookup (vquery, "folder", "s", &query->folder);
  if (g_variant_lookup (vquery, "folder", "x", &folder_id))
    query->folder = g_strdup_printf ("%" G_GINT64_FORMAT, folder_id);
  g_variant_lookup (vquery, "account", "s", &query->account);
  g_variant_lookup (vquery, "unread_only", "b", &query->unread_only);
  g_variant_lookup (vquery, "since", "x", &query->since);
  g_variant_lookup (vquery, "text", "s", &query->text);
  value = g_variant_lookup_value (vquery, "limit", NULL);
  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    limit = g_variant_get_uint32 (value);
  else if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    limit = MAX (0, g_variant_get_int32 (value));
  g_clear_pointer (&value, g_variant_unref);
  query->limit = limit;
  if (query->account != NULL && *query->account != '\0')
    {
      HirAccount *account = hir_engine_find_account (self->engine, query->account);

      if (account != NULL)
        {
          g_free (query->account);
          query->account = g_strdup (hir_account_get_id (account));
        }
    }
  else
    g_clear_pointer (&query->account, g_free);

  run_query (self, query, list_in_db, hir_messaging_list_async, cancellable, callback, user_data);
}

GVariant *
hir_messaging_list_finish (HirMessaging  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* ReadMessage, MarkRead                                                                */

typedef struct
{
  HirMessage *message;
  HirMessageBody *body;
  GPtrArray *parts;         /* HirAttachment still to load */
  GPtrArray *bytes;         /* GBytes */
  GPtrArray *names;         /* char * */
  gint64 id;
  gboolean read;
} Read;

static void
read_free (Read *data)
{
  g_clear_object (&data->message);
  g_clear_object (&data->body);
  g_clear_pointer (&data->parts, g_ptr_array_unref);
  g_clear_pointer (&data->bytes, g_ptr_array_unref);
  g_clear_pointer (&data->names, g_ptr_array_unref);
  g_free (data);
}

static void read_next_attachment (GTask *task);

static void
attachment_loaded_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Read *data = g_task_get_task_data (task);
  GError *error = NULL;
  GBytes *bytes = hir_engine_load_attachment_finish (HIR_ENGINE (object), result, &error);

  if (bytes == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_ptr_array_add (data->bytes, bytes);
  read_next_attachment (g_steal_pointer (&task));
}

static void
read_next_attachment (GTask *task)
{
  HirMessaging *self = g_task_get_source_object (task);
  Read *data = g_task_get_task_data (task);
  guint done = data->bytes->len;

  if (done < data->parts->len)
    {
      HirAttachment *attachment = g_ptr_array_index (data->parts, done);

      hir_engine_load_attachment_async (self->engine, data->message, attachment,
                                        g_task_get_cancellable (task), attachment_loaded_cb,
                                        task);
      return;
    }
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
body_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  Read *data = g_task_get_task_data (task);
  GError *error = NULL;
  GListModel *list;

  data->body = hir_engine_load_body_finish (HIR_ENGINE (object), result, &error);
  if (data->body == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  list = hir_message_body_get_attachments (data->body);
  for (guint i = 0; list != NULL && i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (list, i);
      const char *name = hir_attachment_get_filename (attachment);
      g_autofree char *fallback = g_strdup_printf ("attachment-%u", i + 1);

      g_ptr_array_add (data->parts, g_object_ref (attachment));
      /* A name from the message may carry a path: only its last part is a name. */
      g_ptr_array_add (data->names, name != NULL && *name != '\0' ? g_path_get_basename (name)
                                                                 : g_steal_pointer (&fallback));
    }
  read_next_attachment (task);
}

static void
flags_set_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_engine_set_flags_finish (HIR_ENGINE (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
message_found_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  HirMessaging *self = g_task_get_source_object (task);
  Read *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  data->message = hir_store_get_message_finish (HIR_STORE (object), result, &error);
  if (data->message == NULL)
    {
      if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND))
        g_task_return_new_error (task, HIR_MESSAGING_ERROR, HIR_MESSAGING_ERROR_NOT_FOUND,
                                 _("There is no message %" G_GINT64_FORMAT), data->id);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  if (g_task_get_source_tag (task) == hir_messaging_mark_read_async)
    {
      HirMessageFlags flags = hir_message_get_flags (data->message);

      flags = data->read ? flags | HIR_MESSAGE_FLAG_SEEN : flags & ~HIR_MESSAGE_FLAG_SEEN;
      hir_engine_set_flags_async (self->engine, data->message, flags,
                                  g_task_get_cancellable (task), flags_set_cb, task);
      return;
    }
  hir_engine_load_body_async (self->engine, data->message, g_task_get_cancellable (task),
                              body_loaded_cb, task);
}

static GTask *
find_message (HirMessaging        *self,
              gint64               id,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Read *data = g_new0 (Read, 1);

  g_task_set_source_tag (task, source_tag);
  data->parts = g_ptr_array_new_with_free_func (g_object_unref);
  data->bytes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  data->names = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) read_free);
  data->id = id;
  return task;
}

void
hir_messaging_read_async (HirMessaging        *self,
                          gint64               id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_MESSAGING (self));

  task = find_message (self, id, hir_messaging_read_async, cancellable, callback, user_data);
  hir_store_get_message_async (hir_engine_get_store (self->engine), id, cancellable,
                               message_found_cb, task);
}

gboolean
hir_messaging_read_finish (HirMessaging   *self,
                           GAsyncResult   *result,
                           GVariant      **headers,
                           GPtrArray     **attachments,
                           char         ***names,
                           GError        **error)
{
  Read *data;
  HirMessage *message;
  GVariantBuilder builder;
  g_autofree char *from = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  message = data->message;
  from = format_from (hir_message_get_from_name (message), hir_message_get_from_address (message));

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
#define ADD_STRING(key, value) \
  g_variant_builder_add (&builder, "{sv}", key, g_variant_new_string ((value) != NULL ? (value) : ""))
  g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_int64 (hir_message_get_id (message)));
  ADD_STRING ("account", hir_message_get_account_id (message));
  ADD_STRING ("subject", hir_message_get_subject (message));
  ADD_STRING ("from", from);
  ADD_STRING ("to", hir_message_get_to (message));
  ADD_STRING ("cc", hir_message_get_cc (message));
  g_variant_builder_add (&builder, "{sv}", "date", g_variant_new_int64 (hir_message_get_date (message)));
  ADD_STRING ("message_id", hir_message_get_message_id (message));
  ADD_STRING ("text", hir_message_body_get_text (data->body));
  if (hir_message_body_get_html (data->body) != NULL)
    ADD_STRING ("html", hir_message_body_get_html (data->body));
  g_variant_builder_add (&builder, "{sv}", "unread",
                         g_variant_new_boolean (!hir_message_get_seen (message)));
#undef ADD_STRING

  if (headers != NULL)
    *headers = g_variant_ref_sink (g_variant_builder_end (&builder));
  else
    g_variant_builder_clear (&builder);
  if (attachments != NULL)
    *attachments = g_ptr_array_ref (data->bytes);
  if (names != NULL)
    {
      GPtrArray *copy = g_ptr_array_new ();

      for (guint i = 0; i < data->names->len; i++)
        g_ptr_array_add (copy, g_strdup (g_ptr_array_index (data->names, i)));
      g_ptr_array_add (copy, NULL);
      *names = (char **) g_ptr_array_free (copy, FALSE);
    }
  return TRUE;
}

void
hir_messaging_mark_read_async (HirMessaging        *self,
                               gint64               id,
                               gboolean             read,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_MESSAGING (self));

  task = find_message (self, id, hir_messaging_mark_read_async, cancellable, callback, user_data);
  ((Read *) g_task_get_task_data (task))->read = read;
  hir_store_get_message_async (hir_engine_get_store (self->engine), id, cancellable,
                               message_found_cb, task);
}

gboolean
hir_messaging_mark_read_finish (HirMessaging  *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------------------------ */
/* The lock between processes                                                           */

static char *
get_locks_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "hirondelle", "locks", NULL);
}

char *
hir_messaging_get_socket_path (void)
{
  g_autofree char *dir = get_locks_dir ();

  return g_build_filename (dir, "messaging.socket", NULL);
}

int
hir_messaging_lock_account (const char  *account_id,
                            gboolean     wait,
                            GError     **error)
{
  g_autofree char *dir = get_locks_dir ();
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  int fd;

  g_return_val_if_fail (account_id != NULL, -1);

  /* An account id is an address: keep it readable, but never a path. */
  escaped = g_uri_escape_string (account_id, "@+", FALSE);
  path = g_strconcat (dir, G_DIR_SEPARATOR_S, escaped, ".lock", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      (fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot make the lock file %s: %s"), path, g_strerror (saved));
      return -1;
    }
  while (flock (fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0)
    {
      int saved = errno;

      if (saved == EINTR)
        continue;
      close (fd);
      if (saved == EWOULDBLOCK)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                     /* Translators: %s is an account. */
                     _("Another Hirondelle is syncing or sending %s"), account_id);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     _("Cannot lock %s: %s"), path, g_strerror (saved));
      return -1;
    }
  return fd;
}
