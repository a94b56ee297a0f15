/* hir-store.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-store.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "hir-engine-resources.h"
#include "hir-error.h"
#include "hir-store-changes-private.h"

#define SQL_RESOURCE_DIR "/app/hirondelle/Hirondelle/sql/"

/* Everything SQLite lives in the worker: the connection is used by the worker thread
 * only, and the GObject never touches it. The thread owns the worker and frees it when
 * it leaves, so the store can be finalized from any thread, even the worker's own (the
 * last reference to a store can be a task the worker is just dropping). */
typedef struct
{
  GAsyncQueue *queue;
  char *path;
  sqlite3 *db;
  GHashTable *statements;   /* static SQL text → sqlite3_stmt */
} StoreWorker;

struct _HirStore
{
  GObject parent_instance;

  char *path;
  StoreWorker *worker;
  GThread *thread;
};

G_DEFINE_FINAL_TYPE (HirStore, hir_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

enum {
  FOLDERS_CHANGED,
  MESSAGES_CHANGED,
  MESSAGE_UPDATED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

typedef void (*StoreJobFunc) (StoreWorker *worker,
                              GTask       *task,
                              gpointer     task_data);

typedef struct
{
  GTask *task;
  StoreJobFunc func;
} StoreJob;

/* Pushed by finalize: the worker closes the database and exits. */
static StoreJob quit_job;

/* What a write changed, for the signals emitted on the caller's context after commit. */
typedef struct
{
  char *account_id;
  gboolean folders_changed;
  GArray *folder_ids;       /* gint64: messages-changed */
  GPtrArray *updated;       /* HirMessage: message-updated */
} StoreNotify;

static StoreNotify *
store_notify_new (const char *account_id)
{
  StoreNotify *notify = g_new0 (StoreNotify, 1);

  notify->account_id = g_strdup (account_id);
  notify->folder_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  notify->updated = g_ptr_array_new_with_free_func (g_object_unref);
  return notify;
}

static void
store_notify_free (StoreNotify *notify)
{
  g_free (notify->account_id);
  g_array_unref (notify->folder_ids);
  g_ptr_array_unref (notify->updated);
  g_free (notify);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreNotify, store_notify_free)

/* Statements are cached and reused, so "releasing" one means resetting it for the next
 * use, never finalizing it: g_autoptr(CachedStmt) does exactly that at scope exit. */
typedef sqlite3_stmt CachedStmt;

static void
cached_stmt_release (CachedStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CachedStmt, cached_stmt_release)

/* ------------------------------------------------------------------------------------ */
/* Worker-side helpers                                                                  */

static void
set_not_open_error (StoreWorker  *w,
                    GError      **error)
{
  /* Translators: %s is the mail cache's path (a database file). */
  g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, _("Mail cache %s: not open"), w->path);
}

static void
set_sqlite_error (StoreWorker  *w,
                  GError      **error)
{
  int code;
  int system_errno;

  if (w->db == NULL)
    {
      set_not_open_error (w, error);
      return;
    }

  /* "disk I/O error" alone does not tell a person what to do; the system's reason
   * ("No space left on device", "Permission denied") does. */
  code = sqlite3_errcode (w->db) & 0xff;
  system_errno = sqlite3_system_errno (w->db);
  if ((code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN) &&
      system_errno != 0)
    /* Translators: the first %s is the mail cache's path, the second SQLite's message
     * (in English), the third the system's reason ("No space left on device"). */
    g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, _("Mail cache %s: %s (%s)"),
                 w->path, sqlite3_errmsg (w->db), g_strerror (system_errno));
  else
    /* Translators: the first %s is the mail cache's path, the second SQLite's message
     * (in English). */
    g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, _("Mail cache %s: %s"),
                 w->path, sqlite3_errmsg (w->db));
}

static CachedStmt *
worker_prepare (StoreWorker  *w,
                const char   *sql,
                GError      **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (w->statements, sql);

  if (stmt != NULL)
    return stmt;

  if (sqlite3_prepare_v3 (w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (w, error);
      return NULL;
    }
  g_hash_table_insert (w->statements, (gpointer) sql, stmt);
  return stmt;
}

/* Returns SQLITE_ROW or SQLITE_DONE, or 0 with @error set. */
static int
worker_step (StoreWorker   *w,
             sqlite3_stmt  *stmt,
             GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;
  set_sqlite_error (w, error);
  return 0;
}

static gboolean
worker_exec (StoreWorker  *w,
             const char   *sql,
             GError      **error)
{
  if (sqlite3_exec (w->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    {
      set_sqlite_error (w, error);
      return FALSE;
    }
  return TRUE;
}

static void
worker_rollback (StoreWorker *w)
{
  /* Nothing useful to do if this fails too: the first error is the one to report. */
  if (!sqlite3_get_autocommit (w->db))
    sqlite3_exec (w->db, "ROLLBACK", NULL, NULL, NULL);
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  /* The strings outlive the step: no copy. NULL binds SQL NULL. */
  sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
}

static char *
dup_column_text (sqlite3_stmt *stmt,
                 int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

static void
store_worker_free (StoreWorker *w)
{
  GHashTableIter iter;
  gpointer stmt;

  g_hash_table_iter_init (&iter, w->statements);
  while (g_hash_table_iter_next (&iter, NULL, &stmt))
    sqlite3_finalize (stmt);
  g_hash_table_unref (w->statements);
  if (w->db != NULL)
    sqlite3_close_v2 (w->db);
  g_async_queue_unref (w->queue);
  g_free (w->path);
  g_free (w);
}

static void job_open (StoreWorker *w, GTask *task, gpointer task_data);

static gpointer
store_worker_thread (gpointer data)
{
  StoreWorker *w = data;
  StoreJob *job;

  while ((job = g_async_queue_pop (w->queue)) != &quit_job)
    {
      if (g_cancellable_is_cancelled (g_task_get_cancellable (job->task)))
        g_task_return_error_if_cancelled (job->task);
      else if (w->db == NULL && job->func != job_open)
        {
          GError *error = NULL;

          set_not_open_error (w, &error);
          g_task_return_error (job->task, error);
        }
      else
        job->func (w, job->task, g_task_get_task_data (job->task));

      g_object_unref (job->task);
      g_free (job);
    }

  store_worker_free (w);
  return NULL;
}

static void
store_queue (HirStore     *self,
             GTask        *task,
             StoreJobFunc  func)
{
  StoreJob *job = g_new0 (StoreJob, 1);

  job->task = g_object_ref (task);
  job->func = func;
  g_async_queue_push (self->worker->queue, job);
}

#define MESSAGE_COLUMNS \
  "m.id, m.account_id, m.remote_id, m.thread_id, m.message_id, m.in_reply_to, m.refs, " \
  "m.subject, m.from_name, m.from_address, m.to_list, m.cc_list, m.date, m.preview, " \
  "m.size, m.flags, m.has_attachment"

static HirMessage *
message_from_row (sqlite3_stmt *stmt)
{
  return g_object_new (HIR_TYPE_MESSAGE,
                       "id", (gint64) sqlite3_column_int64 (stmt, 0),
                       "account-id", (const char *) sqlite3_column_text (stmt, 1),
                       "remote-id", (const char *) sqlite3_column_text (stmt, 2),
                       "thread-id", (const char *) sqlite3_column_text (stmt, 3),
                       "message-id", (const char *) sqlite3_column_text (stmt, 4),
                       "in-reply-to", (const char *) sqlite3_column_text (stmt, 5),
                       "references", (const char *) sqlite3_column_text (stmt, 6),
                       "subject", (const char *) sqlite3_column_text (stmt, 7),
                       "from-name", (const char *) sqlite3_column_text (stmt, 8),
                       "from-address", (const char *) sqlite3_column_text (stmt, 9),
                       "to", (const char *) sqlite3_column_text (stmt, 10),
                       "cc", (const char *) sqlite3_column_text (stmt, 11),
                       "date", (gint64) sqlite3_column_int64 (stmt, 12),
                       "preview", (const char *) sqlite3_column_text (stmt, 13),
                       "size", (guint64) sqlite3_column_int64 (stmt, 14),
                       "flags", (HirMessageFlags) sqlite3_column_int (stmt, 15),
                       "has-attachment", sqlite3_column_int (stmt, 16) != 0,
                       "loaded", TRUE,
                       NULL);
}

static const char SQL_MESSAGE_BY_ID[] =
  "SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.id = ?1";

/* NULL without an error when there is no such message. */
static HirMessage *
worker_load_message (StoreWorker  *w,
                     gint64        message_id,
                     GError      **error)
{
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_MESSAGE_BY_ID, error);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, message_id);
  rc = worker_step (w, stmt, error);
  if (rc != SQLITE_ROW)
    return NULL;
  return message_from_row (stmt);
}

/* ------------------------------------------------------------------------------------ */
/* Open and migrations                                                                  */

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* Migrations are resources named "NNNN-what.sql", applied in order, each in its own
 * transaction together with the new user_version, so a crash never leaves a half
 * upgraded schema. */
static gboolean
worker_migrate (StoreWorker  *w,
                GError      **error)
{
  g_auto(GStrv) names = NULL;
  sqlite3_stmt *stmt = NULL;
  guint64 version = 0;
  guint64 latest = 0;

  names = g_resource_enumerate_children (hir_engine_get_resource (), SQL_RESOURCE_DIR,
                                         G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (names == NULL)
    return FALSE;
  qsort (names, g_strv_length (names), sizeof (char *), compare_names);

  if (sqlite3_prepare_v2 (w->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sqlite_error (w, error);
      return FALSE;
    }
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *path = NULL;
      g_autofree char *set_version = NULL;
      g_autoptr(GError) local_error = NULL;
      char *end = NULL;
      guint64 number = g_ascii_strtoull (names[i], &end, 10);

      if (end == names[i] || *end != '-' || !g_str_has_suffix (names[i], ".sql"))
        continue;
      latest = MAX (latest, number);
      if (number <= version)
        continue;

      path = g_strconcat (SQL_RESOURCE_DIR, names[i], NULL);
      bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
      if (bytes == NULL)
        return FALSE;
      set_version = g_strdup_printf ("PRAGMA user_version = %" G_GUINT64_FORMAT, number);

      /* Resource data is always followed by a NUL byte: it is a C string. */
      if (!worker_exec (w, "BEGIN IMMEDIATE", &local_error) ||
          !worker_exec (w, g_bytes_get_data (bytes, NULL), &local_error) ||
          !worker_exec (w, set_version, &local_error) ||
          !worker_exec (w, "COMMIT", &local_error))
        {
          worker_rollback (w);
          /* Translators: the first %s is a schema file's name ("0002-outbox.sql"), the
           * second says why. */
          g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE,
                       _("Could not upgrade the mail cache to schema %s: %s"),
                       names[i], local_error->message);
          return FALSE;
        }
      g_debug ("Mail cache %s: applied %s", w->path, names[i]);
    }

  if (version > latest)
    {
      /* Translators: %s is the mail cache's path; the numbers are schema versions. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE,
                   _("The mail cache %s was written by a newer version of Hirondelle "
                     "(schema %u, this one knows %u)"),
                   w->path, (guint) version, (guint) latest);
      return FALSE;
    }

  return TRUE;
}

static void
job_open (StoreWorker *w,
          GTask       *task,
          gpointer     task_data)
{
  g_autoptr(GError) error = NULL;
  int rc;

  if (w->db != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (g_strcmp0 (w->path, ":memory:") != 0)
    {
      g_autofree char *dir = g_path_get_dirname (w->path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved_errno = errno;

          /* Translators: a folder on the disk (a directory); the second %s says why. */
          g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_STORAGE,
                                   _("Cannot create the folder %s: %s"), dir,
                                   g_strerror (saved_errno));
          return;
        }
    }

  /* NOMUTEX: only the worker thread ever uses this connection. */
  rc = sqlite3_open_v2 (w->path, &w->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (w, &error);
      g_clear_pointer (&w->db, sqlite3_close_v2);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  sqlite3_extended_result_codes (w->db, TRUE);

  /* The GUI and the headless command line may have the same file open: wait for the
   * other's write rather than failing with SQLITE_BUSY at once. */
  sqlite3_busy_timeout (w->db, 5000);

  if (!worker_exec (w, "PRAGMA journal_mode = WAL", &error) ||
      !worker_exec (w, "PRAGMA synchronous = NORMAL", &error) ||
      !worker_exec (w, "PRAGMA foreign_keys = ON", &error) ||
      !worker_exec (w, "PRAGMA temp_store = MEMORY", &error) ||
      !worker_migrate (w, &error))
    {
      g_clear_pointer (&w->db, sqlite3_close_v2);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/* ------------------------------------------------------------------------------------ */
/* Apply                                                                                */

static const char SQL_FOLDER_UPSERT[] =
  "INSERT INTO folders (account_id, remote_id, parent_remote_id, name, role, sort_order) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
  "ON CONFLICT (account_id, remote_id) DO UPDATE SET "
  "parent_remote_id = excluded.parent_remote_id, name = excluded.name, "
  "role = excluded.role, sort_order = excluded.sort_order "
  /* An unchanged folder is not a change: no folders-changed after every sync. */
  "WHERE parent_remote_id IS NOT excluded.parent_remote_id OR name IS NOT excluded.name "
  "OR role IS NOT excluded.role OR sort_order IS NOT excluded.sort_order";
static const char SQL_FOLDER_ID[] =
  "SELECT id FROM folders WHERE account_id = ?1 AND remote_id = ?2";
static const char SQL_FOLDER_DELETE[] =
  "DELETE FROM folders WHERE id = ?1";
static const char SQL_ORPHANS_DELETE[] =
  "DELETE FROM messages WHERE account_id = ?1 AND NOT EXISTS "
  "(SELECT 1 FROM message_folders mf WHERE mf.message_id = messages.id)";
static const char SQL_MESSAGE_LOOKUP[] =
  "SELECT id, date, flags FROM messages WHERE account_id = ?1 AND remote_id = ?2";
static const char SQL_MESSAGE_INSERT[] =
  "INSERT INTO messages (account_id, remote_id, thread_id, message_id, in_reply_to, refs, "
  "subject, from_name, from_address, to_list, cc_list, date, preview, size, flags, "
  "has_attachment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
  "?15, ?16)";
static const char SQL_MESSAGE_UPDATE[] =
  "UPDATE messages SET thread_id = ?3, message_id = ?4, in_reply_to = ?5, refs = ?6, "
  "subject = ?7, from_name = ?8, from_address = ?9, to_list = ?10, cc_list = ?11, "
  "date = ?12, preview = ?13, size = ?14, flags = ?15, has_attachment = ?16 "
  "WHERE id = ?17 AND (thread_id IS NOT ?3 OR message_id IS NOT ?4 OR "
  "in_reply_to IS NOT ?5 OR refs IS NOT ?6 OR subject IS NOT ?7 OR from_name IS NOT ?8 OR "
  "from_address IS NOT ?9 OR to_list IS NOT ?10 OR cc_list IS NOT ?11 OR date IS NOT ?12 "
  "OR preview IS NOT ?13 OR size IS NOT ?14 OR flags IS NOT ?15 OR "
  "has_attachment IS NOT ?16)";
static const char SQL_MESSAGE_SET_FLAGS[] =
  "UPDATE messages SET flags = ?2 WHERE id = ?1";
static const char SQL_MESSAGE_DELETE[] =
  "DELETE FROM messages WHERE id = ?1";
static const char SQL_MEMBERSHIP_LIST[] =
  "SELECT folder_id FROM message_folders WHERE message_id = ?1";
static const char SQL_MEMBERSHIP_INSERT[] =
  "INSERT INTO message_folders (message_id, folder_id, date, unread) "
  "VALUES (?1, ?2, ?3, ?4)";
static const char SQL_MEMBERSHIP_DELETE[] =
  "DELETE FROM message_folders WHERE message_id = ?1 AND folder_id = ?2";
static const char SQL_STATE_SET[] =
  "INSERT INTO sync_state (account_id, key, value) VALUES (?1, ?2, ?3) "
  "ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value";
static const char SQL_STATE_DELETE[] =
  "DELETE FROM sync_state WHERE account_id = ?1 AND key = ?2";

typedef struct
{
  StoreWorker *w;
  HirStoreChanges *changes;
  GHashTable *folder_ids;        /* remote id → gint64 local id, this batch's cache */
  GHashTable *changed_folders;   /* gint64 set: messages-changed */
  GHashTable *updated;           /* gint64 set: message-updated */
  gboolean folders_changed;
} ApplyContext;

static void
apply_context_clear (ApplyContext *ctx)
{
  g_clear_pointer (&ctx->folder_ids, g_hash_table_unref);
  g_clear_pointer (&ctx->changed_folders, g_hash_table_unref);
  g_clear_pointer (&ctx->updated, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ApplyContext, apply_context_clear)

static void
add_id (GHashTable *set,
        gint64      id)
{
  gint64 *key = g_new (gint64, 1);

  *key = id;
  g_hash_table_add (set, key);
}

/* 0 with @error set if the folder is unknown: a provider must store a folder before the
 * messages in it, and silently dropping the membership would lose mail. */
static gint64
apply_resolve_folder (ApplyContext  *ctx,
                      const char    *remote_id,
                      gboolean       must_exist,
                      GError       **error)
{
  gpointer cached = g_hash_table_lookup (ctx->folder_ids, remote_id);
  g_autoptr(CachedStmt) stmt = NULL;
  gint64 *id;
  int rc;

  if (cached != NULL)
    return *(gint64 *) cached;

  stmt = worker_prepare (ctx->w, SQL_FOLDER_ID, error);
  if (stmt == NULL)
    return 0;
  bind_text (stmt, 1, ctx->changes->account_id);
  bind_text (stmt, 2, remote_id);
  rc = worker_step (ctx->w, stmt, error);
  if (rc == 0)
    return 0;
  if (rc == SQLITE_DONE)
    {
      if (must_exist)
        /* Translators: %s is the server's identifier for the folder. */
        g_set_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                     _("The folder %s is not in the mail cache"), remote_id);
      return 0;
    }

  id = g_new (gint64, 1);
  *id = sqlite3_column_int64 (stmt, 0);
  g_hash_table_insert (ctx->folder_ids, g_strdup (remote_id), id);
  return *id;
}

static gboolean
apply_folders (ApplyContext  *ctx,
               GError       **error)
{
  for (guint i = 0; i < ctx->changes->folders->len; i++)
    {
      HirStoreFolderRow *row = g_ptr_array_index (ctx->changes->folders, i);
      g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_FOLDER_UPSERT, error);

      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, ctx->changes->account_id);
      bind_text (stmt, 2, row->remote_id);
      bind_text (stmt, 3, row->parent_remote_id);
      bind_text (stmt, 4, row->name != NULL ? row->name : row->remote_id);
      sqlite3_bind_int (stmt, 5, row->role);
      sqlite3_bind_int64 (stmt, 6, row->sort_order);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      if (sqlite3_changes (ctx->w->db) > 0)
        ctx->folders_changed = TRUE;
    }
  return TRUE;
}

static GArray *
apply_list_membership (ApplyContext  *ctx,
                       gint64         message_id,
                       GError       **error)
{
  g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_MEMBERSHIP_LIST, error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, message_id);
  while ((rc = worker_step (ctx->w, stmt, error)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (ids, id);
    }
  if (rc == 0)
    return NULL;
  return g_steal_pointer (&ids);
}

static gboolean
array_contains (GArray *ids,
                gint64  id)
{
  for (guint i = 0; i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == id)
      return TRUE;
  return FALSE;
}

/* Makes the message's folders exactly @folder_remote_ids; every folder gained or lost
 * is recorded for messages-changed. Sets @changed if anything moved. */
static gboolean
apply_membership (ApplyContext       *ctx,
                  gint64              message_id,
                  gint64              date,
                  HirMessageFlags     flags,
                  const char * const *folder_remote_ids,
                  gboolean           *changed,
                  GError            **error)
{
  g_autoptr(GArray) old_ids = apply_list_membership (ctx, message_id, error);
  g_autoptr(GArray) new_ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  *changed = FALSE;
  if (old_ids == NULL)
    return FALSE;

  for (guint i = 0; folder_remote_ids[i] != NULL; i++)
    {
      gint64 folder_id = apply_resolve_folder (ctx, folder_remote_ids[i], TRUE, error);

      if (folder_id == 0)
        return FALSE;
      if (!array_contains (new_ids, folder_id))
        g_array_append_val (new_ids, folder_id);
    }

  for (guint i = 0; i < old_ids->len; i++)
    {
      gint64 folder_id = g_array_index (old_ids, gint64, i);
      g_autoptr(CachedStmt) stmt = NULL;

      if (array_contains (new_ids, folder_id))
        continue;
      stmt = worker_prepare (ctx->w, SQL_MEMBERSHIP_DELETE, error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, message_id);
      sqlite3_bind_int64 (stmt, 2, folder_id);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      add_id (ctx->changed_folders, folder_id);
      *changed = TRUE;
    }

  for (guint i = 0; i < new_ids->len; i++)
    {
      gint64 folder_id = g_array_index (new_ids, gint64, i);
      g_autoptr(CachedStmt) stmt = NULL;

      if (array_contains (old_ids, folder_id))
        continue;
      stmt = worker_prepare (ctx->w, SQL_MEMBERSHIP_INSERT, error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, message_id);
      sqlite3_bind_int64 (stmt, 2, folder_id);
      sqlite3_bind_int64 (stmt, 3, date);
      sqlite3_bind_int (stmt, 4, (flags & HIR_MESSAGE_FLAG_SEEN) == 0);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      add_id (ctx->changed_folders, folder_id);
      *changed = TRUE;
    }

  if (*changed)
    ctx->folders_changed = TRUE;
  return TRUE;
}

/* Removes a message, recording the folders it leaves. */
static gboolean
apply_delete_message (ApplyContext  *ctx,
                      gint64         message_id,
                      GError       **error)
{
  g_autoptr(GArray) old_ids = apply_list_membership (ctx, message_id, error);
  g_autoptr(CachedStmt) stmt = NULL;

  if (old_ids == NULL)
    return FALSE;
  for (guint i = 0; i < old_ids->len; i++)
    add_id (ctx->changed_folders, g_array_index (old_ids, gint64, i));

  stmt = worker_prepare (ctx->w, SQL_MESSAGE_DELETE, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, message_id);
  if (worker_step (ctx->w, stmt, error) == 0)
    return FALSE;

  g_hash_table_remove (ctx->updated, &message_id);
  ctx->folders_changed = TRUE;
  return TRUE;
}

/* Looks a message up by remote id: FALSE with @error on failure, else TRUE with
 * *id = 0 when it is not stored. */
static gboolean
apply_lookup_message (ApplyContext     *ctx,
                      const char       *remote_id,
                      gint64           *id,
                      gint64           *date,
                      HirMessageFlags  *flags,
                      GError          **error)
{
  g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_MESSAGE_LOOKUP, error);
  int rc;

  *id = 0;
  if (stmt == NULL)
    return FALSE;
  bind_text (stmt, 1, ctx->changes->account_id);
  bind_text (stmt, 2, remote_id);
  rc = worker_step (ctx->w, stmt, error);
  if (rc == 0)
    return FALSE;
  if (rc == SQLITE_ROW)
    {
      *id = sqlite3_column_int64 (stmt, 0);
      *date = sqlite3_column_int64 (stmt, 1);
      *flags = sqlite3_column_int (stmt, 2);
    }
  return TRUE;
}

static const char SQL_THREAD_OF[] =
  "SELECT thread_id FROM messages WHERE message_id = ?2 AND account_id = ?1 "
  "AND thread_id IS NOT NULL LIMIT 1";

/* IMAP has no thread ids: the store makes them. A message joins the thread of the
 * nearest ancestor it knows (In-Reply-To, then References from the end); failing that
 * it is named after its root (the first of References), so that relatives arriving in
 * any order still meet. JMAP's own threadId is kept as it is. */
static char *
apply_compute_thread_id (ApplyContext        *ctx,
                         HirStoreMessageRow  *row,
                         GError             **error)
{
  g_autoptr(GPtrArray) ancestors = g_ptr_array_new ();
  g_auto(GStrv) references = NULL;

  if (row->thread_id != NULL)
    return g_strdup (row->thread_id);

  if (row->in_reply_to != NULL && *row->in_reply_to != '\0')
    g_ptr_array_add (ancestors, row->in_reply_to);
  if (row->references != NULL)
    {
      references = g_strsplit_set (row->references, " \t\r\n", -1);
      for (guint i = g_strv_length (references); i > 0; i--)
        if (*references[i - 1] != '\0')
          g_ptr_array_add (ancestors, references[i - 1]);
    }

  for (guint i = 0; i < ancestors->len; i++)
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_THREAD_OF, error);
      int rc;

      if (stmt == NULL)
        return NULL;
      bind_text (stmt, 1, ctx->changes->account_id);
      bind_text (stmt, 2, ancestors->pdata[i]);
      rc = worker_step (ctx->w, stmt, error);
      if (rc == 0)
        return NULL;
      if (rc == SQLITE_ROW)
        return dup_column_text (stmt, 0);
    }

  /* The root is the last ancestor in the list: References' first entry. */
  if (ancestors->len > 0)
    return g_strdup (ancestors->pdata[ancestors->len - 1]);
  if (row->message_id != NULL && *row->message_id != '\0')
    return g_strdup (row->message_id);
  return g_strconcat ("remote:", row->remote_id, NULL);
}

static void
bind_message_row (sqlite3_stmt       *stmt,
                  const char         *account_id,
                  HirStoreMessageRow *row,
                  const char         *thread_id)
{
  bind_text (stmt, 1, account_id);
  bind_text (stmt, 2, row->remote_id);
  bind_text (stmt, 3, thread_id);
  bind_text (stmt, 4, row->message_id);
  bind_text (stmt, 5, row->in_reply_to);
  bind_text (stmt, 6, row->references);
  bind_text (stmt, 7, row->subject);
  bind_text (stmt, 8, row->from_name);
  bind_text (stmt, 9, row->from_address);
  bind_text (stmt, 10, row->to);
  bind_text (stmt, 11, row->cc);
  sqlite3_bind_int64 (stmt, 12, row->date);
  bind_text (stmt, 13, row->preview);
  sqlite3_bind_int64 (stmt, 14, (sqlite3_int64) row->size);
  sqlite3_bind_int (stmt, 15, row->flags);
  sqlite3_bind_int (stmt, 16, row->has_attachment ? 1 : 0);
}

static gboolean
apply_upsert_message (ApplyContext        *ctx,
                      HirStoreMessageRow  *row,
                      GError             **error)
{
  g_autofree char *thread_id = NULL;
  gint64 id = 0;
  gint64 old_date = 0;
  HirMessageFlags old_flags = 0;
  gboolean moved = FALSE;

  if (!apply_lookup_message (ctx, row->remote_id, &id, &old_date, &old_flags, error))
    return FALSE;

  if (row->folder_remote_ids == NULL && id == 0)
    {
      g_debug ("Message %s in no known folder not stored", row->remote_id);
      return TRUE;
    }
  if (row->folder_remote_ids != NULL && row->folder_remote_ids[0] == NULL)
    {
      /* In no folder is not stored at all (JMAP: every Email is in a Mailbox). */
      return id == 0 || apply_delete_message (ctx, id, error);
    }

  thread_id = apply_compute_thread_id (ctx, row, error);
  if (thread_id == NULL)
    return FALSE;

  if (id == 0)
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_MESSAGE_INSERT, error);

      if (stmt == NULL)
        return FALSE;
      bind_message_row (stmt, ctx->changes->account_id, row, thread_id);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      id = sqlite3_last_insert_rowid (ctx->w->db);
      return apply_membership (ctx, id, row->date, row->flags,
                               (const char * const *) row->folder_remote_ids, &moved, error);
    }
  else
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_MESSAGE_UPDATE, error);
      gboolean summary_changed;

      if (stmt == NULL)
        return FALSE;
      bind_message_row (stmt, ctx->changes->account_id, row, thread_id);
      sqlite3_bind_int64 (stmt, 17, id);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      summary_changed = sqlite3_changes (ctx->w->db) > 0;

      if (row->folder_remote_ids != NULL &&
          !apply_membership (ctx, id, row->date, row->flags,
                             (const char * const *) row->folder_remote_ids, &moved, error))
        return FALSE;

      if ((old_flags ^ row->flags) & HIR_MESSAGE_FLAG_SEEN)
        ctx->folders_changed = TRUE;

      if (old_date != row->date)
        {
          /* A new date moves the row in every list it is in. */
          g_autoptr(GArray) folder_ids = apply_list_membership (ctx, id, error);

          if (folder_ids == NULL)
            return FALSE;
          for (guint i = 0; i < folder_ids->len; i++)
            add_id (ctx->changed_folders, g_array_index (folder_ids, gint64, i));
        }
      else if (summary_changed)
        add_id (ctx->updated, id);
      return TRUE;
    }
}

static gboolean
apply_update_message (ApplyContext       *ctx,
                      HirStoreUpdateRow  *row,
                      GError            **error)
{
  gint64 id = 0;
  gint64 date = 0;
  HirMessageFlags old_flags = 0;
  gboolean moved = FALSE;

  if (!apply_lookup_message (ctx, row->remote_id, &id, &date, &old_flags, error))
    return FALSE;
  if (id == 0)
    {
      /* Changed on the server before we ever stored it: the next fetch brings it whole. */
      g_debug ("Update for unknown message %s ignored", row->remote_id);
      return TRUE;
    }

  if (row->folder_remote_ids != NULL && row->folder_remote_ids[0] == NULL)
    return apply_delete_message (ctx, id, error);

  if (old_flags != row->flags)
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (ctx->w, SQL_MESSAGE_SET_FLAGS, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, id);
      sqlite3_bind_int (stmt, 2, row->flags);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      add_id (ctx->updated, id);
      if ((old_flags ^ row->flags) & HIR_MESSAGE_FLAG_SEEN)
        ctx->folders_changed = TRUE;
    }

  if (row->folder_remote_ids != NULL &&
      !apply_membership (ctx, id, date, row->flags,
                         (const char * const *) row->folder_remote_ids, &moved, error))
    return FALSE;

  return TRUE;
}

static gboolean
apply_remove_message (ApplyContext  *ctx,
                      const char    *remote_id,
                      GError       **error)
{
  gint64 id = 0;
  gint64 date = 0;
  HirMessageFlags flags = 0;

  if (!apply_lookup_message (ctx, remote_id, &id, &date, &flags, error))
    return FALSE;
  if (id == 0)
    return TRUE;
  return apply_delete_message (ctx, id, error);
}

static gboolean
apply_remove_folders (ApplyContext  *ctx,
                      GError       **error)
{
  g_autoptr(CachedStmt) orphans = NULL;

  if (ctx->changes->removed_folders->len == 0)
    return TRUE;

  for (guint i = 0; i < ctx->changes->removed_folders->len; i++)
    {
      const char *remote_id = g_ptr_array_index (ctx->changes->removed_folders, i);
      g_autoptr(CachedStmt) stmt = NULL;
      g_autoptr(GError) local_error = NULL;
      gint64 folder_id = apply_resolve_folder (ctx, remote_id, FALSE, &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (folder_id == 0)
        continue;

      stmt = worker_prepare (ctx->w, SQL_FOLDER_DELETE, error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, folder_id);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
      g_hash_table_remove (ctx->folder_ids, remote_id);
      add_id (ctx->changed_folders, folder_id);
      ctx->folders_changed = TRUE;
    }

  /* Folder removal is rare: one sweep over the account finds what was only there. */
  orphans = worker_prepare (ctx->w, SQL_ORPHANS_DELETE, error);
  if (orphans == NULL)
    return FALSE;
  bind_text (orphans, 1, ctx->changes->account_id);
  return worker_step (ctx->w, orphans, error) != 0;
}

static gboolean
apply_state (ApplyContext  *ctx,
             GError       **error)
{
  for (guint i = 0; i < ctx->changes->state_keys->len; i++)
    {
      const char *key = g_ptr_array_index (ctx->changes->state_keys, i);
      const char *value = g_ptr_array_index (ctx->changes->state_values, i);
      g_autoptr(CachedStmt) stmt = NULL;

      stmt = worker_prepare (ctx->w, value != NULL ? SQL_STATE_SET : SQL_STATE_DELETE, error);
      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, ctx->changes->account_id);
      bind_text (stmt, 2, key);
      if (value != NULL)
        bind_text (stmt, 3, value);
      if (worker_step (ctx->w, stmt, error) == 0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
apply_all (ApplyContext  *ctx,
           GError       **error)
{
  HirStoreChanges *changes = ctx->changes;

  /* Folders first (messages refer to them), folder removals last (a message may move
   * out of a folder that goes in the same step). */
  if (!apply_folders (ctx, error))
    return FALSE;
  for (guint i = 0; i < changes->messages->len; i++)
    if (!apply_upsert_message (ctx, g_ptr_array_index (changes->messages, i), error))
      return FALSE;
  for (guint i = 0; i < changes->updates->len; i++)
    if (!apply_update_message (ctx, g_ptr_array_index (changes->updates, i), error))
      return FALSE;
  for (guint i = 0; i < changes->removed_messages->len; i++)
    if (!apply_remove_message (ctx, g_ptr_array_index (changes->removed_messages, i), error))
      return FALSE;
  if (!apply_remove_folders (ctx, error))
    return FALSE;
  return apply_state (ctx, error);
}

static void
job_apply (StoreWorker *w,
           GTask       *task,
           gpointer     task_data)
{
  g_auto(ApplyContext) ctx = { 0, };
  g_autoptr(StoreNotify) notify = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key;

  ctx.w = w;
  ctx.changes = task_data;
  ctx.folder_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx.changed_folders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  ctx.updated = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  if (!worker_exec (w, "BEGIN IMMEDIATE", &error) ||
      !apply_all (&ctx, &error) ||
      !worker_exec (w, "COMMIT", &error))
    {
      worker_rollback (w);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  notify = store_notify_new (ctx.changes->account_id);
  notify->folders_changed = ctx.folders_changed;

  g_hash_table_iter_init (&iter, ctx.changed_folders);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (*(gint64 *) key != 0)
      g_array_append_val (notify->folder_ids, *(gint64 *) key);

  /* Rows that moved are refreshed by messages-changed; message-updated is for the rest. */
  g_hash_table_iter_init (&iter, ctx.updated);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr(HirMessage) message = worker_load_message (w, *(gint64 *) key, &error);

      if (error != NULL)
        {
          /* Committed already: the signal is lost, not the data. */
          g_warning ("%s", error->message);
          g_clear_error (&error);
        }
      else if (message != NULL)
        g_ptr_array_add (notify->updated, g_steal_pointer (&message));
    }

  g_task_return_pointer (task, g_steal_pointer (&notify), (GDestroyNotify) store_notify_free);
}

/* ------------------------------------------------------------------------------------ */
/* Reads                                                                                */

typedef struct
{
  char *account_id;
  char *key;
  gint64 id;
  guint offset;
  guint limit;
  HirMessageFlags flags;
  gboolean flag;
} QueryData;

static void
query_data_free (QueryData *data)
{
  g_free (data->account_id);
  g_free (data->key);
  g_free (data);
}

static QueryData *
query_data_new (const char *account_id,
                const char *key,
                gint64      id)
{
  QueryData *data = g_new0 (QueryData, 1);

  data->account_id = g_strdup (account_id);
  data->key = g_strdup (key);
  data->id = id;
  return data;
}

static const char SQL_STATE_GET[] =
  "SELECT value FROM sync_state WHERE account_id = ?1 AND key = ?2";

static void
job_get_state (StoreWorker *w,
               GTask       *task,
               gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_STATE_GET, &error);
  int rc;

  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bind_text (stmt, 1, data->account_id);
  bind_text (stmt, 2, data->key);
  rc = worker_step (w, stmt, &error);
  if (rc == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (rc == SQLITE_ROW)
    g_task_return_pointer (task, dup_column_text (stmt, 0), g_free);
  else
    g_task_return_pointer (task, NULL, NULL);
}

static const char SQL_FOLDERS_LIST[] =
  "SELECT id, account_id, remote_id, parent_remote_id, name, role, sort_order, total, "
  "unread FROM folders WHERE account_id = ?1 "
  "ORDER BY role = 0, role, name COLLATE NOCASE, id";

static void
job_list_folders (StoreWorker *w,
                  GTask       *task,
                  gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_FOLDERS_LIST, &error);
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bind_text (stmt, 1, data->account_id);
  while ((rc = worker_step (w, stmt, &error)) == SQLITE_ROW)
    {
      g_ptr_array_add (folders,
                       g_object_new (HIR_TYPE_FOLDER,
                                     "id", (gint64) sqlite3_column_int64 (stmt, 0),
                                     "account-id", (const char *) sqlite3_column_text (stmt, 1),
                                     "remote-id", (const char *) sqlite3_column_text (stmt, 2),
                                     "parent-remote-id", (const char *) sqlite3_column_text (stmt, 3),
                                     "name", (const char *) sqlite3_column_text (stmt, 4),
                                     "role", (HirFolderRole) sqlite3_column_int (stmt, 5),
                                     "sort-order", (guint) sqlite3_column_int64 (stmt, 6),
                                     "total-count", (guint) MAX (0, sqlite3_column_int64 (stmt, 7)),
                                     "unread-count", (guint) MAX (0, sqlite3_column_int64 (stmt, 8)),
                                     NULL));
    }
  if (rc == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&folders), (GDestroyNotify) g_ptr_array_unref);
}

/* The count is maintained by triggers: one row read, whatever the folder's size. */
static const char SQL_FOLDER_COUNT[] =
  "SELECT total FROM folders WHERE id = ?1";

static void
job_count_messages (StoreWorker *w,
                    GTask       *task,
                    gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_FOLDER_COUNT, &error);
  int rc;

  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->id);
  rc = worker_step (w, stmt, &error);
  if (rc == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (rc == SQLITE_DONE)
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND, "%s",
                             _("The folder is no longer in the mail cache"));
  else
    g_task_return_int (task, MAX (0, sqlite3_column_int64 (stmt, 0)));
}

/* The membership index (folder_id, date DESC, message_id DESC) gives the order: a page
 * is an index walk, never a sort of the folder. OFFSET still steps over every row before
 * the page, so the walk is kept to the covering index (the inner query: no row of
 * messages is read for a skipped row, 8× faster deep down), and pages in the older half
 * walk it from the other end. The outer ORDER BY sorts the page's own 64 rows. */
static const char SQL_FOLDER_PAGE[] =
  "SELECT " MESSAGE_COLUMNS " FROM "
  "(SELECT message_id, date FROM message_folders WHERE folder_id = ?1 "
  " ORDER BY date DESC, message_id DESC LIMIT ?2 OFFSET ?3) mf "
  "JOIN messages m ON m.id = mf.message_id ORDER BY mf.date DESC, mf.message_id DESC";
static const char SQL_FOLDER_PAGE_FROM_END[] =
  "SELECT " MESSAGE_COLUMNS " FROM "
  "(SELECT message_id, date FROM message_folders WHERE folder_id = ?1 "
  " ORDER BY date ASC, message_id ASC LIMIT ?2 OFFSET ?3) mf "
  "JOIN messages m ON m.id = mf.message_id ORDER BY mf.date ASC, mf.message_id ASC";

static void
job_load_messages (StoreWorker *w,
                   GTask       *task,
                   gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 total = -1;
  gint64 offset = data->offset;
  gint64 limit = data->limit;
  gboolean from_end = FALSE;
  int rc;

  {
    g_autoptr(CachedStmt) count = worker_prepare (w, SQL_FOLDER_COUNT, &error);

    if (count == NULL)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    sqlite3_bind_int64 (count, 1, data->id);
    rc = worker_step (w, count, &error);
    if (rc == 0)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    if (rc == SQLITE_ROW)
      total = sqlite3_column_int64 (count, 0);
  }

  if (total >= 0 && offset > total / 2)
    {
      gint64 end = MIN (total, offset + limit);

      from_end = TRUE;
      limit = MAX (0, end - offset);
      offset = total - end;
    }

  stmt = worker_prepare (w, from_end ? SQL_FOLDER_PAGE_FROM_END : SQL_FOLDER_PAGE, &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->id);
  sqlite3_bind_int64 (stmt, 2, limit);
  sqlite3_bind_int64 (stmt, 3, offset);
  while ((rc = worker_step (w, stmt, &error)) == SQLITE_ROW)
    g_ptr_array_add (messages, message_from_row (stmt));
  if (rc == 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (from_end)
    {
      for (guint i = 0; i < messages->len / 2; i++)
        {
          gpointer tmp = messages->pdata[i];

          messages->pdata[i] = messages->pdata[messages->len - 1 - i];
          messages->pdata[messages->len - 1 - i] = tmp;
        }
    }

  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);
}

static void
job_get_message (StoreWorker *w,
                 GTask       *task,
                 gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessage) message = worker_load_message (w, data->id, &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (message == NULL)
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND, "%s",
                             _("The message is no longer in the mail cache"));
  else
    g_task_return_pointer (task, g_steal_pointer (&message), g_object_unref);
}

static const char SQL_MESSAGE_BY_REMOTE_ID[] =
  "SELECT " MESSAGE_COLUMNS " FROM messages m WHERE m.account_id = ?1 AND m.remote_id = ?2";

static void
job_find_message (StoreWorker *w,
                  GTask       *task,
                  gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_MESSAGE_BY_REMOTE_ID, &error);
  int rc;

  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bind_text (stmt, 1, data->account_id);
  bind_text (stmt, 2, data->key);
  rc = worker_step (w, stmt, &error);
  if (rc == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (rc == SQLITE_DONE)
    /* Translators: %s is the server's identifier for the message. */
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                             _("The message %s is not in the mail cache"), data->key);
  else
    g_task_return_pointer (task, message_from_row (stmt), g_object_unref);
}

static const char SQL_MESSAGE_ACCOUNT_FLAGS[] =
  "SELECT account_id, flags FROM messages WHERE id = ?1";

static void
job_set_flags (StoreWorker *w,
               GTask       *task,
               gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoreNotify) notify = NULL;
  g_autoptr(HirMessage) message = NULL;
  HirMessageFlags old_flags;
  int rc;

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_MESSAGE_ACCOUNT_FLAGS, &error);

    if (stmt == NULL)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    sqlite3_bind_int64 (stmt, 1, data->id);
    rc = worker_step (w, stmt, &error);
    if (rc == 0)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    if (rc == SQLITE_DONE)
      {
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND, "%s",
                                 _("The message is no longer in the mail cache"));
        return;
      }
    notify = store_notify_new ((const char *) sqlite3_column_text (stmt, 0));
    old_flags = sqlite3_column_int (stmt, 1);
  }

  if (old_flags != data->flags)
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_MESSAGE_SET_FLAGS, &error);

      /* One statement is one transaction: the triggers fix every folder's count in it. */
      if (stmt == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      sqlite3_bind_int64 (stmt, 1, data->id);
      sqlite3_bind_int (stmt, 2, data->flags);
      if (worker_step (w, stmt, &error) == 0)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      notify->folders_changed = ((old_flags ^ data->flags) & HIR_MESSAGE_FLAG_SEEN) != 0;

      message = worker_load_message (w, data->id, &error);
      if (message != NULL)
        g_ptr_array_add (notify->updated, g_steal_pointer (&message));
      else if (error != NULL)
        g_warning ("%s", error->message);
    }

  g_task_return_pointer (task, g_steal_pointer (&notify), (GDestroyNotify) store_notify_free);
}

static const char SQL_BODY_GET[] =
  "SELECT text, html FROM bodies WHERE message_id = ?1";
static const char SQL_ATTACHMENTS_GET[] =
  "SELECT part_id, blob_id, filename, content_type, size, content_id, inline "
  "FROM attachments WHERE message_id = ?1 ORDER BY position";

static void
job_load_body (StoreWorker *w,
               GTask       *task,
               gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  int rc;

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_BODY_GET, &error);

    if (stmt == NULL)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    sqlite3_bind_int64 (stmt, 1, data->id);
    rc = worker_step (w, stmt, &error);
    if (rc == 0)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    if (rc == SQLITE_DONE)
      {
        g_task_return_pointer (task, NULL, NULL);
        return;
      }
    body = hir_message_body_new ((const char *) sqlite3_column_text (stmt, 0),
                                 (const char *) sqlite3_column_text (stmt, 1));
  }

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_ATTACHMENTS_GET, &error);

    if (stmt == NULL)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
    sqlite3_bind_int64 (stmt, 1, data->id);
    while ((rc = worker_step (w, stmt, &error)) == SQLITE_ROW)
      {
        g_autoptr(HirAttachment) attachment = NULL;

        attachment = hir_attachment_new ((const char *) sqlite3_column_text (stmt, 0),
                                         (const char *) sqlite3_column_text (stmt, 1),
                                         (const char *) sqlite3_column_text (stmt, 2),
                                         (const char *) sqlite3_column_text (stmt, 3),
                                         (guint64) sqlite3_column_int64 (stmt, 4));
        hir_attachment_set_content_id (attachment, (const char *) sqlite3_column_text (stmt, 5));
        hir_attachment_set_inline (attachment, sqlite3_column_int (stmt, 6) != 0);
        hir_message_body_add_attachment (body, attachment);
      }
    if (rc == 0)
      {
        g_task_return_error (task, g_steal_pointer (&error));
        return;
      }
  }

  g_task_return_pointer (task, g_steal_pointer (&body), g_object_unref);
}

/* A body copied out of its GObject on the caller's thread. */
typedef struct
{
  gint64 message_id;
  char *text;
  char *html;
  GPtrArray *attachments;   /* GStrv-like rows: see save_body_data_new() */
} SaveBodyData;

typedef struct
{
  char *part_id;
  char *blob_id;
  char *filename;
  char *content_type;
  guint64 size;
  char *content_id;
  gboolean is_inline;
} AttachmentRow;

static void
attachment_row_free (gpointer data)
{
  AttachmentRow *row = data;

  g_free (row->part_id);
  g_free (row->blob_id);
  g_free (row->filename);
  g_free (row->content_type);
  g_free (row->content_id);
  g_free (row);
}

static void
save_body_data_free (SaveBodyData *data)
{
  g_free (data->text);
  g_free (data->html);
  g_ptr_array_unref (data->attachments);
  g_free (data);
}

static SaveBodyData *
save_body_data_new (gint64          message_id,
                    HirMessageBody *body)
{
  SaveBodyData *data = g_new0 (SaveBodyData, 1);
  GListModel *attachments = hir_message_body_get_attachments (body);
  guint n = g_list_model_get_n_items (attachments);

  data->message_id = message_id;
  data->text = g_strdup (hir_message_body_get_text (body));
  data->html = g_strdup (hir_message_body_get_html (body));
  data->attachments = g_ptr_array_new_with_free_func (attachment_row_free);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirAttachment) attachment = g_list_model_get_item (attachments, i);
      AttachmentRow *row = g_new0 (AttachmentRow, 1);

      row->part_id = g_strdup (hir_attachment_get_part_id (attachment));
      row->blob_id = g_strdup (hir_attachment_get_blob_id (attachment));
      row->filename = g_strdup (hir_attachment_get_filename (attachment));
      row->content_type = g_strdup (hir_attachment_get_content_type (attachment));
      row->size = hir_attachment_get_size (attachment);
      row->content_id = g_strdup (hir_attachment_get_content_id (attachment));
      row->is_inline = hir_attachment_get_inline (attachment);
      g_ptr_array_add (data->attachments, row);
    }
  return data;
}

static const char SQL_MESSAGE_EXISTS[] =
  "SELECT 1 FROM messages WHERE id = ?1";
static const char SQL_BODY_SET[] =
  "INSERT OR REPLACE INTO bodies (message_id, text, html) VALUES (?1, ?2, ?3)";
static const char SQL_ATTACHMENTS_DELETE[] =
  "DELETE FROM attachments WHERE message_id = ?1";
static const char SQL_ATTACHMENT_INSERT[] =
  "INSERT INTO attachments (message_id, position, part_id, blob_id, filename, "
  "content_type, size, content_id, inline) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static gboolean
save_body_all (StoreWorker   *w,
               SaveBodyData  *data,
               GError       **error)
{
  int rc;

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_MESSAGE_EXISTS, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, data->message_id);
    rc = worker_step (w, stmt, error);
    if (rc == 0)
      return FALSE;
    if (rc == SQLITE_DONE)
      {
        g_set_error_literal (error, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                             _("The message is no longer in the mail cache"));
        return FALSE;
      }
  }

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_BODY_SET, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, data->message_id);
    bind_text (stmt, 2, data->text);
    bind_text (stmt, 3, data->html);
    if (worker_step (w, stmt, error) == 0)
      return FALSE;
  }

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_ATTACHMENTS_DELETE, error);

    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_int64 (stmt, 1, data->message_id);
    if (worker_step (w, stmt, error) == 0)
      return FALSE;
  }

  for (guint i = 0; i < data->attachments->len; i++)
    {
      AttachmentRow *row = g_ptr_array_index (data->attachments, i);
      g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_ATTACHMENT_INSERT, error);

      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, data->message_id);
      sqlite3_bind_int (stmt, 2, i);
      bind_text (stmt, 3, row->part_id);
      bind_text (stmt, 4, row->blob_id);
      bind_text (stmt, 5, row->filename);
      bind_text (stmt, 6, row->content_type);
      sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) row->size);
      bind_text (stmt, 8, row->content_id);
      sqlite3_bind_int (stmt, 9, row->is_inline ? 1 : 0);
      if (worker_step (w, stmt, error) == 0)
        return FALSE;
    }

  return TRUE;
}

static void
job_save_body (StoreWorker *w,
               GTask       *task,
               gpointer     task_data)
{
  g_autoptr(GError) error = NULL;

  if (!worker_exec (w, "BEGIN IMMEDIATE", &error) ||
      !save_body_all (w, task_data, &error) ||
      !worker_exec (w, "COMMIT", &error))
    {
      worker_rollback (w);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static const char SQL_TRUSTED_ADD[] =
  "INSERT OR IGNORE INTO trusted_senders (address) VALUES (?1)";
static const char SQL_TRUSTED_REMOVE[] =
  "DELETE FROM trusted_senders WHERE address = ?1";
static const char SQL_TRUSTED_GET[] =
  "SELECT 1 FROM trusted_senders WHERE address = ?1";

static void
job_set_sender_trusted (StoreWorker *w,
                        GTask       *task,
                        gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = NULL;

  stmt = worker_prepare (w, data->flag ? SQL_TRUSTED_ADD : SQL_TRUSTED_REMOVE, &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bind_text (stmt, 1, data->key);
  if (worker_step (w, stmt, &error) == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
job_is_sender_trusted (StoreWorker *w,
                       GTask       *task,
                       gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_TRUSTED_GET, &error);
  int rc;

  if (stmt == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  bind_text (stmt, 1, data->key);
  rc = worker_step (w, stmt, &error);
  if (rc == 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, rc == SQLITE_ROW);
}

static const char SQL_ACCOUNT_FOLDER_IDS[] =
  "SELECT id FROM folders WHERE account_id = ?1";
static const char SQL_ACCOUNT_DELETE_FOLDERS[] =
  "DELETE FROM folders WHERE account_id = ?1";
static const char SQL_ACCOUNT_DELETE_MESSAGES[] =
  "DELETE FROM messages WHERE account_id = ?1";
static const char SQL_ACCOUNT_DELETE_STATE[] =
  "DELETE FROM sync_state WHERE account_id = ?1";
static const char SQL_ACCOUNT_DELETE_OPERATIONS[] =
  "DELETE FROM pending_operations WHERE account_id = ?1";

static gboolean
clear_account_all (StoreWorker  *w,
                   StoreNotify  *notify,
                   GError      **error)
{
  const char *deletes[] = {
    SQL_ACCOUNT_DELETE_FOLDERS, SQL_ACCOUNT_DELETE_MESSAGES, SQL_ACCOUNT_DELETE_STATE,
    SQL_ACCOUNT_DELETE_OPERATIONS,
  };
  int rc;

  {
    g_autoptr(CachedStmt) stmt = worker_prepare (w, SQL_ACCOUNT_FOLDER_IDS, error);

    if (stmt == NULL)
      return FALSE;
    bind_text (stmt, 1, notify->account_id);
    while ((rc = worker_step (w, stmt, error)) == SQLITE_ROW)
      {
        gint64 id = sqlite3_column_int64 (stmt, 0);

        g_array_append_val (notify->folder_ids, id);
      }
    if (rc == 0)
      return FALSE;
  }

  for (guint i = 0; i < G_N_ELEMENTS (deletes); i++)
    {
      g_autoptr(CachedStmt) stmt = worker_prepare (w, deletes[i], error);

      if (stmt == NULL)
        return FALSE;
      bind_text (stmt, 1, notify->account_id);
      if (worker_step (w, stmt, error) == 0)
        return FALSE;
    }

  notify->folders_changed = TRUE;
  return TRUE;
}

static void
job_clear_account (StoreWorker *w,
                   GTask       *task,
                   gpointer     task_data)
{
  QueryData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoreNotify) notify = store_notify_new (data->account_id);

  if (!worker_exec (w, "BEGIN IMMEDIATE", &error) ||
      !clear_account_all (w, notify, &error) ||
      !worker_exec (w, "COMMIT", &error))
    {
      worker_rollback (w);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&notify), (GDestroyNotify) store_notify_free);
}

/* ------------------------------------------------------------------------------------ */
/* The GObject                                                                          */

static void
hir_store_finalize (GObject *object)
{
  HirStore *self = (HirStore *) object;

  /* Queued jobs hold the store through their tasks, so the queue is empty but for the
   * job that may be finishing now. When that job's task is what held the last reference,
   * we are on the worker thread itself and must not wait for it. */
  g_async_queue_push (self->worker->queue, &quit_job);
  if (g_thread_self () == self->thread)
    g_thread_unref (self->thread);
  else
    g_thread_join (self->thread);
  self->worker = NULL;
  self->thread = NULL;

  g_clear_pointer (&self->path, g_free);

  G_OBJECT_CLASS (hir_store_parent_class)->finalize (object);
}

static void
hir_store_constructed (GObject *object)
{
  HirStore *self = (HirStore *) object;

  G_OBJECT_CLASS (hir_store_parent_class)->constructed (object);

  self->worker = g_new0 (StoreWorker, 1);
  self->worker->queue = g_async_queue_new ();
  self->worker->path = g_strdup (self->path != NULL ? self->path : ":memory:");
  self->worker->statements = g_hash_table_new (NULL, NULL);
  self->thread = g_thread_new ("hir-store", store_worker_thread, self->worker);
}

static void
hir_store_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  HirStore *self = HIR_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_store_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  HirStore *self = HIR_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_store_class_init (HirStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = hir_store_constructed;
  object_class->finalize = hir_store_finalize;
  object_class->get_property = hir_store_get_property;
  object_class->set_property = hir_store_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[FOLDERS_CHANGED] =
    g_signal_new ("folders-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[MESSAGES_CHANGED] =
    g_signal_new ("messages-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[MESSAGE_UPDATED] =
    g_signal_new ("message-updated",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, HIR_TYPE_MESSAGE);
}

static void
hir_store_init (HirStore *self)
{
}

HirStore *
hir_store_new (const char *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (HIR_TYPE_STORE, "path", path, NULL);
}

/* Queues @func with @data on a new task for the caller's callback. */
static void
store_run (HirStore            *self,
           gpointer             source_tag,
           StoreJobFunc         func,
           gpointer             data,
           GDestroyNotify       data_free,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, data_free);
  store_queue (self, task, func);
}

static void
store_emit (HirStore    *self,
            StoreNotify *notify)
{
  if (notify->folders_changed)
    g_signal_emit (self, signals[FOLDERS_CHANGED], 0, notify->account_id);
  for (guint i = 0; i < notify->folder_ids->len; i++)
    g_signal_emit (self, signals[MESSAGES_CHANGED], 0,
                   g_array_index (notify->folder_ids, gint64, i));
  for (guint i = 0; i < notify->updated->len; i++)
    g_signal_emit (self, signals[MESSAGE_UPDATED], 0,
                   g_ptr_array_index (notify->updated, i));
}

static void
store_write_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  HirStore *self = HIR_STORE (source);
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoreNotify) notify = g_task_propagate_pointer (G_TASK (result), &error);

  if (notify == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Committed: every listener hears of it before the caller goes on. */
  store_emit (self, notify);
  g_task_return_boolean (task, TRUE);
}

/* Like store_run() for a job that returns a StoreNotify: the signals are emitted on the
 * caller's context, after the commit and before the caller's callback. */
static void
store_run_write (HirStore            *self,
                 gpointer             source_tag,
                 StoreJobFunc         func,
                 gpointer             data,
                 GDestroyNotify       data_free,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) inner = NULL;

  g_task_set_source_tag (task, source_tag);
  inner = g_task_new (self, cancellable, store_write_done_cb, g_object_ref (task));
  g_task_set_source_tag (inner, store_run_write);
  g_task_set_task_data (inner, data, data_free);
  store_queue (self, inner, func);
}

static gboolean
store_finish_boolean (HirStore      *self,
                      GAsyncResult  *result,
                      gpointer       source_tag,
                      GError       **error)
{
  g_return_val_if_fail (HIR_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static gpointer
store_finish_pointer (HirStore      *self,
                      GAsyncResult  *result,
                      gpointer       source_tag,
                      GError       **error)
{
  g_return_val_if_fail (HIR_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
hir_store_open_async (HirStore            *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));

  store_run (self, hir_store_open_async, job_open, NULL, NULL,
             cancellable, callback, user_data);
}

gboolean
hir_store_open_finish (HirStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return store_finish_boolean (self, result, hir_store_open_async, error);
}

static void
sync_result_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

gboolean
hir_store_open_sync (HirStore      *self,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (HIR_IS_STORE (self), FALSE);

  /* The same open, on the same worker, completed on a private context we spin here. */
  g_main_context_push_thread_default (context);
  hir_store_open_async (self, cancellable, sync_result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return hir_store_open_finish (self, result, error);
}

void
hir_store_apply_async (HirStore            *self,
                       HirStoreChanges     *changes,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (changes != NULL);

  store_run_write (self, hir_store_apply_async, job_apply,
                   hir_store_changes_ref (changes), (GDestroyNotify) hir_store_changes_unref,
                   cancellable, callback, user_data);
}

gboolean
hir_store_apply_finish (HirStore      *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  return store_finish_boolean (self, result, hir_store_apply_async, error);
}

void
hir_store_get_state_async (HirStore            *self,
                           const char          *account_id,
                           const char          *key,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (account_id != NULL);
  g_return_if_fail (key != NULL);

  store_run (self, hir_store_get_state_async, job_get_state,
             query_data_new (account_id, key, 0), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

char *
hir_store_get_state_finish (HirStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return store_finish_pointer (self, result, hir_store_get_state_async, error);
}

void
hir_store_list_folders_async (HirStore            *self,
                              const char          *account_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (account_id != NULL);

  store_run (self, hir_store_list_folders_async, job_list_folders,
             query_data_new (account_id, NULL, 0), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

GPtrArray *
hir_store_list_folders_finish (HirStore      *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  return store_finish_pointer (self, result, hir_store_list_folders_async, error);
}

void
hir_store_count_messages_async (HirStore            *self,
                                gint64               folder_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));

  store_run (self, hir_store_count_messages_async, job_count_messages,
             query_data_new (NULL, NULL, folder_id), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

guint
hir_store_count_messages_finish (HirStore      *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  gssize count;

  g_return_val_if_fail (HIR_IS_STORE (self), 0);
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_store_count_messages_async, 0);

  count = g_task_propagate_int (G_TASK (result), error);
  return count < 0 ? 0 : (guint) MIN (count, G_MAXUINT);
}

void
hir_store_load_messages_async (HirStore            *self,
                               gint64               folder_id,
                               guint                offset,
                               guint                limit,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  QueryData *data;

  g_return_if_fail (HIR_IS_STORE (self));

  data = query_data_new (NULL, NULL, folder_id);
  data->offset = offset;
  data->limit = limit;
  store_run (self, hir_store_load_messages_async, job_load_messages,
             data, (GDestroyNotify) query_data_free, cancellable, callback, user_data);
}

GPtrArray *
hir_store_load_messages_finish (HirStore      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return store_finish_pointer (self, result, hir_store_load_messages_async, error);
}

void
hir_store_get_message_async (HirStore            *self,
                             gint64               message_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));

  store_run (self, hir_store_get_message_async, job_get_message,
             query_data_new (NULL, NULL, message_id), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

HirMessage *
hir_store_get_message_finish (HirStore      *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return store_finish_pointer (self, result, hir_store_get_message_async, error);
}

void
hir_store_find_message_async (HirStore            *self,
                              const char          *account_id,
                              const char          *remote_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (account_id != NULL);
  g_return_if_fail (remote_id != NULL);

  store_run (self, hir_store_find_message_async, job_find_message,
             query_data_new (account_id, remote_id, 0), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

HirMessage *
hir_store_find_message_finish (HirStore      *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  return store_finish_pointer (self, result, hir_store_find_message_async, error);
}

void
hir_store_set_flags_async (HirStore            *self,
                           gint64               message_id,
                           HirMessageFlags      flags,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  QueryData *data;

  g_return_if_fail (HIR_IS_STORE (self));

  data = query_data_new (NULL, NULL, message_id);
  data->flags = flags;
  store_run_write (self, hir_store_set_flags_async, job_set_flags,
                   data, (GDestroyNotify) query_data_free, cancellable, callback, user_data);
}

gboolean
hir_store_set_flags_finish (HirStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return store_finish_boolean (self, result, hir_store_set_flags_async, error);
}

void
hir_store_load_body_async (HirStore            *self,
                           gint64               message_id,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));

  store_run (self, hir_store_load_body_async, job_load_body,
             query_data_new (NULL, NULL, message_id), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

HirMessageBody *
hir_store_load_body_finish (HirStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return store_finish_pointer (self, result, hir_store_load_body_async, error);
}

void
hir_store_save_body_async (HirStore            *self,
                           gint64               message_id,
                           HirMessageBody      *body,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (HIR_IS_MESSAGE_BODY (body));

  store_run (self, hir_store_save_body_async, job_save_body,
             save_body_data_new (message_id, body), (GDestroyNotify) save_body_data_free,
             cancellable, callback, user_data);
}

gboolean
hir_store_save_body_finish (HirStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return store_finish_boolean (self, result, hir_store_save_body_async, error);
}

void
hir_store_set_sender_trusted_async (HirStore            *self,
                                    const char          *address,
                                    gboolean             trusted,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  QueryData *data;

  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (address != NULL);

  data = query_data_new (NULL, address, 0);
  data->flag = trusted;
  store_run (self, hir_store_set_sender_trusted_async, job_set_sender_trusted,
             data, (GDestroyNotify) query_data_free, cancellable, callback, user_data);
}

gboolean
hir_store_set_sender_trusted_finish (HirStore      *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return store_finish_boolean (self, result, hir_store_set_sender_trusted_async, error);
}

void
hir_store_is_sender_trusted_async (HirStore            *self,
                                   const char          *address,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (address != NULL);

  store_run (self, hir_store_is_sender_trusted_async, job_is_sender_trusted,
             query_data_new (NULL, address, 0), (GDestroyNotify) query_data_free,
             cancellable, callback, user_data);
}

gboolean
hir_store_is_sender_trusted_finish (HirStore      *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return store_finish_boolean (self, result, hir_store_is_sender_trusted_async, error);
}

void
hir_store_clear_account_async (HirStore            *self,
                               const char          *account_id,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (account_id != NULL);

  store_run_write (self, hir_store_clear_account_async, job_clear_account,
                   query_data_new (account_id, NULL, 0), (GDestroyNotify) query_data_free,
                   cancellable, callback, user_data);
}

gboolean
hir_store_clear_account_finish (HirStore      *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return store_finish_boolean (self, result, hir_store_clear_account_async, error);
}

/* ------------------------------------------------------------------------------------ */
/* The generic hook                                                                     */

static void
job_run (StoreWorker *w,
         GTask       *task,
         gpointer     task_data)
{
  HirStoreRunFunc func = (HirStoreRunFunc) g_object_get_data (G_OBJECT (task), "hir-run-func");
  g_autoptr(GError) error = NULL;

  if (!worker_exec (w, "BEGIN IMMEDIATE", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!func (w->db, task_data, &error) || !worker_exec (w, "COMMIT", &error))
    {
      worker_rollback (w);
      if (error == NULL)
        g_set_error_literal (&error, HIR_ERROR, HIR_ERROR_STORAGE, "Mail cache: job failed");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
hir_store_run_async (HirStore            *self,
                     HirStoreRunFunc      func,
                     gpointer             data,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HIR_IS_STORE (self));
  g_return_if_fail (func != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_store_run_async);
  g_task_set_task_data (task, data, NULL);
  g_object_set_data (G_OBJECT (task), "hir-run-func", (gpointer) func);
  store_queue (self, task, job_run);
}

gboolean
hir_store_run_finish (HirStore      *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  return store_finish_boolean (self, result, hir_store_run_async, error);
}
