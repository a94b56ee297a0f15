/* hir-engine.c: the one context object of Hirondelle's engine
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "hir-account-config.h"
#include "hir-engine.h"
#include "hir-error.h"
#include "hir-imap-provider.h"
#include "hir-jmap-provider.h"
#include "hir-outbox-private.h"
#include "hir-secrets.h"

/* Retries after a network failure: 5 s, doubling, at most every 5 minutes. */
#define RETRY_FIRST_SECONDS 5
#define RETRY_MAX_SECONDS   300

/* Everything the engine keeps per account. Reference-counted (g_rc_box) because async
 * callbacks may outlive the account's removal; they hold a reference and check `dead`
 * before touching anything. */
typedef struct
{
  HirEngine *engine;        /* not owned; valid while !dead */
  gboolean dead;

  HirAccount *account;
  HirProvider *provider;
  GListStore *folders;      /* NULL until somebody asks */

  /* Cancelled by hir_engine_stop() and when the slot dies. */
  GCancellable *cancellable;

  /* Password lookup in flight; tasks waiting for the provider. */
  gboolean preparing;
  GPtrArray *provider_waiters;

  /* One sync runs; at most one more is pending, however many changes are announced. */
  gboolean running;
  gboolean pending;
  GPtrArray *waiters;
  GPtrArray *pending_waiters;

  gboolean watching;
  gboolean auth_failed;
  guint retry_source;
  guint backoff;

  /* Pending operations (moves, deletes, flags made here): one replay runs at a time;
   * tasks waiting for it to stop, and callers waiting for their own operation (op id →
   * GTask). */
  gboolean replaying;
  guint replay_generation;  /* bumped by a halt: older replay callbacks stop */
  /* The operation the runner took last: written and read only on the store's worker
   * thread (by its jobs, one at a time), so a merge never lands in a row being sent. */
  gint64 replay_taken;
  GPtrArray *replay_waiters;
  GHashTable *op_tasks;
} AccountSlot;

struct _HirEngine
{
  GObject parent_instance;

  char *config_dir;
  char *data_dir;
  char *cache_dir;

  HirStore *store;
  GListStore *accounts;
  GHashTable *slots;        /* account id → AccountSlot */
  gboolean started;
  HirOutbox *outbox;        /* made by open */
};

G_DEFINE_FINAL_TYPE (HirEngine, hir_engine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONFIG_DIR,
  PROP_DATA_DIR,
  PROP_CACHE_DIR,
  PROP_STORE,
  PROP_ACCOUNTS,
  N_PROPS
};

enum {
  SYNC_ERROR,
  SYNC_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void request_sync (AccountSlot *slot,
                          GTask       *waiter);
static void complete_op_tasks (AccountSlot *slot);
static void reassert_ops (AccountSlot *slot);
static void kick_replayed_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data);
static void replay_async (AccountSlot         *slot,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data);
static gboolean replay_finish (GAsyncResult  *result,
                               GError       **error);

/* Account slots */

static void
fail_tasks (GPtrArray    *tasks,
            const GError *error)
{
  g_autoptr(GPtrArray) steal = NULL;

  if (tasks == NULL || tasks->len == 0)
    return;
  /* Completing a task may start another request that appends to the same array. */
  steal = g_ptr_array_copy (tasks, NULL, NULL);
  g_ptr_array_set_free_func (steal, g_object_unref);
  g_ptr_array_set_free_func (tasks, NULL);
  g_ptr_array_set_size (tasks, 0);
  g_ptr_array_set_free_func (tasks, g_object_unref);
  for (guint i = 0; i < steal->len; i++)
    {
      if (error != NULL)
        g_task_return_error (g_ptr_array_index (steal, i), g_error_copy (error));
      else
        g_task_return_boolean (g_ptr_array_index (steal, i), TRUE);
    }
}

static void
account_slot_clear (AccountSlot *slot)
{
  g_clear_object (&slot->account);
  g_clear_object (&slot->provider);
  g_clear_object (&slot->folders);
  g_clear_object (&slot->cancellable);
  g_clear_pointer (&slot->provider_waiters, g_ptr_array_unref);
  g_clear_pointer (&slot->waiters, g_ptr_array_unref);
  g_clear_pointer (&slot->pending_waiters, g_ptr_array_unref);
  g_clear_pointer (&slot->replay_waiters, g_ptr_array_unref);
  g_clear_pointer (&slot->op_tasks, g_hash_table_unref);
}

static AccountSlot *
account_slot_ref (AccountSlot *slot)
{
  return g_rc_box_acquire (slot);
}

static void
account_slot_unref (AccountSlot *slot)
{
  g_rc_box_release_full (slot, (GDestroyNotify) account_slot_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AccountSlot, account_slot_unref)

static AccountSlot *
account_slot_new (HirEngine  *engine,
                  HirAccount *account)
{
  AccountSlot *slot = g_rc_box_new0 (AccountSlot);

  slot->engine = engine;
  slot->account = g_object_ref (account);
  slot->cancellable = g_cancellable_new ();
  slot->provider_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  slot->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  slot->pending_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  slot->replay_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  slot->op_tasks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  return slot;
}

/* Cancels everything running for the account; waiting callers get CANCELLED. */
static void
account_slot_halt (AccountSlot *slot)
{
  g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                     "Syncing was stopped");

  g_cancellable_cancel (slot->cancellable);
  g_clear_object (&slot->cancellable);
  slot->cancellable = g_cancellable_new ();
  g_clear_handle_id (&slot->retry_source, g_source_remove);

  if (slot->provider != NULL && slot->watching)
    hir_provider_stop_watching (slot->provider);
  slot->watching = FALSE;
  slot->preparing = FALSE;
  slot->pending = FALSE;
  if (slot->running)
    {
      slot->running = FALSE;
      hir_account_set_syncing (slot->account, FALSE);
    }
  fail_tasks (slot->provider_waiters, cancelled);
  fail_tasks (slot->waiters, cancelled);
  fail_tasks (slot->pending_waiters, cancelled);
  slot->replaying = FALSE;
  slot->replay_generation++;
  fail_tasks (slot->replay_waiters, cancelled);
  complete_op_tasks (slot);
}

/* Called when the slot leaves the engine's table. */
static void
account_slot_kill (AccountSlot *slot)
{
  account_slot_halt (slot);
  if (slot->provider != NULL)
    g_signal_handlers_disconnect_by_data (slot->provider, slot);
  slot->dead = TRUE;
  slot->engine = NULL;
  account_slot_unref (slot);
}

static AccountSlot *
find_slot (HirEngine  *self,
           const char *account_id)
{
  return account_id != NULL ? g_hash_table_lookup (self->slots, account_id) : NULL;
}

/* Providers: the one place that knows which protocol an account speaks. */

static HirProvider *
make_provider (HirEngine   *self,
               HirAccount  *account,
               const char  *password,
               GError     **error)
{
  switch (hir_account_get_kind (account))
    {
    case HIR_ACCOUNT_KIND_JMAP:
      if (hir_account_get_jmap_url (account) == NULL || *hir_account_get_jmap_url (account) == '\0')
        break;
      return HIR_PROVIDER (hir_jmap_provider_new (account, self->store, password));

    case HIR_ACCOUNT_KIND_IMAP:
      if (hir_account_get_imap_host (account) == NULL || *hir_account_get_imap_host (account) == '\0')
        break;
      return HIR_PROVIDER (hir_imap_provider_new (account, self->store, password));

    default:
      break;
    }

  g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
               "The account %s has no server address", hir_account_get_id (account));
  return NULL;
}

static void
remote_changed_cb (HirProvider *provider,
                   AccountSlot *slot)
{
  /* A poll or push after a refused password would only be refused again. */
  if (slot->dead || slot->auth_failed)
    return;
  request_sync (slot, NULL);
}

static void
install_provider (AccountSlot *slot,
                  HirProvider *provider)
{
  if (slot->provider != NULL)
    {
      g_signal_handlers_disconnect_by_data (slot->provider, slot);
      hir_provider_stop_watching (slot->provider);
      slot->watching = FALSE;
    }
  g_set_object (&slot->provider, provider);
  g_signal_connect (provider, "remote-changed", G_CALLBACK (remote_changed_cb), slot);
}

static void
lookup_password_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  g_autoptr(HirProvider) provider = NULL;

  password = hir_secrets_lookup_finish (result, &error);
  if (slot->dead || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  slot->preparing = FALSE;

  if (password != NULL)
    provider = make_provider (slot->engine, slot->account, password, &error);
  if (provider == NULL)
    {
      fail_tasks (slot->provider_waiters, error);
      return;
    }

  install_provider (slot, provider);
  fail_tasks (slot->provider_waiters, NULL);
}

/* Completes when the account has a provider (the password looked up first). */
static void
ensure_provider_async (AccountSlot         *slot,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, ensure_provider_async);
  if (slot->provider != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  g_ptr_array_add (slot->provider_waiters, task);
  if (!slot->preparing)
    {
      slot->preparing = TRUE;
      hir_secrets_lookup_async (slot->account, slot->cancellable, lookup_password_cb,
                                account_slot_ref (slot));
    }
}

static gboolean
ensure_provider_finish (GAsyncResult  *result,
                        GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Sync scheduling */

static void run_sync (AccountSlot *slot);

static gboolean
retry_cb (gpointer user_data)
{
  AccountSlot *slot = user_data;

  slot->retry_source = 0;
  request_sync (slot, NULL);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (AccountSlot *slot)
{
  slot->backoff = slot->backoff == 0 ? RETRY_FIRST_SECONDS
                                     : MIN (slot->backoff * 2, RETRY_MAX_SECONDS);
  g_debug ("%s: retrying in %u s", hir_account_get_id (slot->account), slot->backoff);
  g_clear_handle_id (&slot->retry_source, g_source_remove);
  slot->retry_source = g_timeout_add_seconds (slot->backoff, retry_cb, slot);
}

/* Failures that a retry cannot fix: they wait for the user (new password, trusting a
 * certificate, fixing the account). */
static gboolean
error_needs_user (const GError *error)
{
  return g_error_matches (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED) ||
         g_error_matches (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED) ||
         g_error_matches (error, HIR_ERROR, HIR_ERROR_CONFIG) ||
         g_error_matches (error, HIR_ERROR, HIR_ERROR_NO_SECRET_SERVICE);
}

static void
sync_finished (AccountSlot  *slot,
               const GError *error)
{
  /* Completed callers and signal handlers may drop their last reference to the engine;
   * it must outlive this function. */
  g_autoptr(HirEngine) self = g_object_ref (slot->engine);

  slot->running = FALSE;
  hir_account_set_syncing (slot->account, FALSE);

  if (error == NULL)
    {
      slot->backoff = 0;
      slot->auth_failed = FALSE;
      g_clear_handle_id (&slot->retry_source, g_source_remove);
      fail_tasks (slot->waiters, NULL);
      g_signal_emit (self, signals[SYNC_FINISHED], 0, slot->account);
      if (slot->dead)
        return;
      /* The server answers: mail waiting to go need not wait out its backoff, nor
       * changes made while the sync ran. */
      if (self->outbox != NULL)
        hir_outbox_account_online (self->outbox, slot->account);
      if (!slot->pending)
        replay_async (slot, kick_replayed_cb, account_slot_ref (slot));

      /* Watching starts after the first good sync, so push and polls only ever ask for
       * deltas. */
      if (self->started && !slot->watching && slot->provider != NULL)
        {
          slot->watching = TRUE;
          hir_provider_start_watching (slot->provider);
        }
    }
  else
    {
      g_debug ("%s: sync failed: %s", hir_account_get_id (slot->account), error->message);
      hir_account_set_status_from_error (slot->account, error);
      /* Changes made meanwhile stay queued for a later sync: done, for their callers. */
      if (!slot->replaying)
        complete_op_tasks (slot);
      fail_tasks (slot->waiters, error);
      g_signal_emit (self, signals[SYNC_ERROR], 0, slot->account, error);
      if (slot->dead)
        return;

      if (error_needs_user (error))
        {
          slot->auth_failed = g_error_matches (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
          if (slot->provider != NULL && slot->watching)
            hir_provider_stop_watching (slot->provider);
          slot->watching = FALSE;
          slot->pending = FALSE;
          fail_tasks (slot->pending_waiters, error);
          return;
        }

      if (self->started)
        schedule_retry (slot);
    }

  if (slot->pending)
    {
      g_autoptr(GPtrArray) next = slot->pending_waiters;

      slot->pending = FALSE;
      slot->pending_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_extend_and_steal (slot->waiters, g_steal_pointer (&next));
      run_sync (slot);
    }
}

static void
provider_sync_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GError) error = NULL;

  hir_provider_sync_finish (HIR_PROVIDER (object), result, &error);
  if (slot->dead || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    {
      sync_finished (slot, error);
      return;
    }
  /* Operations made while this sync ran may have been written over by the server's
   * older view: they are put back before anyone hears the sync finished. */
  reassert_ops (slot);
}

static void
sync_replayed_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GError) error = NULL;

  if (!replay_finish (result, &error))
    {
      if (slot->dead || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Operations wait: syncing now would undo them in the list. */
      sync_finished (slot, error);
      return;
    }
  if (slot->dead)
    return;
  hir_provider_sync_async (slot->provider, slot->cancellable, provider_sync_cb,
                           account_slot_ref (slot));
}

static void
sync_provider_ready_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GError) error = NULL;

  if (!ensure_provider_finish (result, &error))
    {
      if (slot->dead || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      sync_finished (slot, error);
      return;
    }
  if (slot->dead)
    return;

  /* What was done here while the server could not hear it goes first, so the server's
   * older view does not bring moved or deleted messages back. */
  replay_async (slot, sync_replayed_cb, account_slot_ref (slot));
}

static void
run_sync (AccountSlot *slot)
{
  slot->running = TRUE;
  g_clear_handle_id (&slot->retry_source, g_source_remove);
  hir_account_set_syncing (slot->account, TRUE);
  ensure_provider_async (slot, slot->cancellable, sync_provider_ready_cb,
                         account_slot_ref (slot));
}

/* Asks for a sync; @waiter (may be NULL) completes when a sync that started after this
 * call has finished. */
static void
request_sync (AccountSlot *slot,
              GTask       *waiter)
{
  if (slot->running)
    {
      slot->pending = TRUE;
      if (waiter != NULL)
        g_ptr_array_add (slot->pending_waiters, waiter);
      return;
    }
  if (waiter != NULL)
    g_ptr_array_add (slot->waiters, waiter);
  run_sync (slot);
}

/* Folder models */

static gboolean
same_items (GListModel *model,
            GPtrArray  *items)
{
  if (g_list_model_get_n_items (model) != items->len)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      if (item != g_ptr_array_index (items, i))
        return FALSE;
    }
  return TRUE;
}

static void
list_folders_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GPtrArray) fresh = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  GListModel *model;

  fresh = hir_store_list_folders_finish (HIR_STORE (object), result, &error);
  if (slot->dead || slot->folders == NULL)
    return;
  if (fresh == NULL)
    {
      g_warning ("Cannot list the folders of %s: %s", hir_account_get_id (slot->account),
                 error->message);
      return;
    }

  /* Keep the HirFolder objects the UI already holds (its selection, its bindings) and
   * refresh them in place; only new folders get new objects. */
  model = G_LIST_MODEL (slot->folders);
  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < fresh->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (fresh, i);
      HirFolder *keep = NULL;

      for (guint j = 0; j < g_list_model_get_n_items (model) && keep == NULL; j++)
        {
          g_autoptr(HirFolder) old = g_list_model_get_item (model, j);

          if (g_strcmp0 (hir_folder_get_remote_id (old), hir_folder_get_remote_id (folder)) == 0)
            keep = g_steal_pointer (&old);
        }
      if (keep != NULL)
        hir_folder_update_from (keep, folder);
      g_ptr_array_add (items, keep != NULL ? keep : g_object_ref (folder));
    }

  if (!same_items (model, items))
    g_list_store_splice (slot->folders, 0, g_list_model_get_n_items (model), items->pdata,
                         items->len);
}

static void
refresh_folders (AccountSlot *slot)
{
  hir_store_list_folders_async (slot->engine->store, hir_account_get_id (slot->account), NULL,
                                list_folders_cb, account_slot_ref (slot));
}

static void
folders_changed_cb (HirStore   *store,
                    const char *account_id,
                    HirEngine  *self)
{
  AccountSlot *slot = find_slot (self, account_id);

  if (slot != NULL && slot->folders != NULL)
    refresh_folders (slot);
}

/* Back online: accounts waiting out a backoff try now instead of minutes later. */
static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    HirEngine       *self)
{
  GHashTableIter iter;
  gpointer value;

  if (!available || !self->started)
    return;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AccountSlot *slot = value;

      if (slot->retry_source != 0)
        {
          g_clear_handle_id (&slot->retry_source, g_source_remove);
          request_sync (slot, NULL);
        }
    }
}

/* GObject */

static void
hir_engine_dispose (GObject *object)
{
  HirEngine *self = (HirEngine *) object;

  if (self->slots != NULL)
    {
      GHashTableIter iter;
      gpointer key;
      gpointer value;

      g_hash_table_iter_init (&iter, self->slots);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_hash_table_iter_steal (&iter);
          g_free (key);
          account_slot_kill (value);
        }
    }
  if (self->outbox != NULL)
    hir_outbox_shutdown (self->outbox);
  g_clear_object (&self->outbox);
  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_clear_object (&self->store);
  g_clear_object (&self->accounts);

  G_OBJECT_CLASS (hir_engine_parent_class)->dispose (object);
}

static void
hir_engine_finalize (GObject *object)
{
  HirEngine *self = (HirEngine *) object;

  g_clear_pointer (&self->slots, g_hash_table_unref);
  g_clear_pointer (&self->config_dir, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->cache_dir, g_free);

  G_OBJECT_CLASS (hir_engine_parent_class)->finalize (object);
}

static void
hir_engine_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  HirEngine *self = HIR_ENGINE (object);

  switch (prop_id)
    {
    case PROP_CONFIG_DIR:
      g_value_set_string (value, self->config_dir);
      break;
    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;
    case PROP_CACHE_DIR:
      g_value_set_string (value, self->cache_dir);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_ACCOUNTS:
      g_value_set_object (value, self->accounts);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_engine_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  HirEngine *self = HIR_ENGINE (object);

  switch (prop_id)
    {
    case PROP_CONFIG_DIR:
      self->config_dir = g_value_dup_string (value);
      break;
    case PROP_DATA_DIR:
      self->data_dir = g_value_dup_string (value);
      break;
    case PROP_CACHE_DIR:
      self->cache_dir = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_engine_constructed (GObject *object)
{
  HirEngine *self = (HirEngine *) object;
  g_autofree char *db = NULL;

  G_OBJECT_CLASS (hir_engine_parent_class)->constructed (object);

  db = g_build_filename (self->data_dir, "hirondelle.db", NULL);
  self->store = hir_store_new (db);
  g_signal_connect (self->store, "folders-changed", G_CALLBACK (folders_changed_cb), self);
  g_signal_connect_object (g_network_monitor_get_default (), "network-changed",
                           G_CALLBACK (network_changed_cb), self, 0);
}

static void
hir_engine_class_init (HirEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_engine_dispose;
  object_class->finalize = hir_engine_finalize;
  object_class->get_property = hir_engine_get_property;
  object_class->set_property = hir_engine_set_property;
  object_class->constructed = hir_engine_constructed;

  properties[PROP_CONFIG_DIR] =
    g_param_spec_string ("config-dir", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CACHE_DIR] =
    g_param_spec_string ("cache-dir", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, HIR_TYPE_STORE,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_ACCOUNTS] =
    g_param_spec_object ("accounts", NULL, NULL, G_TYPE_LIST_MODEL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SYNC_ERROR] =
    g_signal_new ("sync-error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, HIR_TYPE_ACCOUNT, G_TYPE_ERROR);
  signals[SYNC_FINISHED] =
    g_signal_new ("sync-finished",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, HIR_TYPE_ACCOUNT);
}

static void
hir_engine_init (HirEngine *self)
{
  self->accounts = g_list_store_new (HIR_TYPE_ACCOUNT);
  self->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

HirEngine *
hir_engine_new (const char *config_dir,
                const char *data_dir,
                const char *cache_dir)
{
  g_return_val_if_fail (config_dir != NULL, NULL);
  g_return_val_if_fail (data_dir != NULL, NULL);
  g_return_val_if_fail (cache_dir != NULL, NULL);

  return g_object_new (HIR_TYPE_ENGINE,
                       "config-dir", config_dir,
                       "data-dir", data_dir,
                       "cache-dir", cache_dir,
                       NULL);
}

HirEngine *
hir_engine_new_default (void)
{
  g_autofree char *config = g_build_filename (g_get_user_config_dir (), "hirondelle", NULL);
  g_autofree char *data = g_build_filename (g_get_user_data_dir (), "hirondelle", NULL);
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "hirondelle", NULL);

  return hir_engine_new (config, data, cache);
}

/* Opening */

static char *
accounts_path (HirEngine *self)
{
  return g_build_filename (self->config_dir, "accounts.conf", NULL);
}

static gboolean
make_directories (HirEngine  *self,
                  GError    **error)
{
  const char *dirs[] = { self->config_dir, self->data_dir, self->cache_dir };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (g_mkdir_with_parents (dirs[i], 0700) != 0)
      {
        int saved = errno;

        g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, "Cannot create %s: %s", dirs[i],
                     g_strerror (saved));
        return FALSE;
      }
  return TRUE;
}

static void
add_slot (HirEngine  *self,
          HirAccount *account)
{
  g_hash_table_insert (self->slots, g_strdup (hir_account_get_id (account)),
                       account_slot_new (self, account));
}

/* accounts.conf is a few hundred bytes read once: reading it on the calling thread costs
 * less than a thread hop. */
static gboolean
load_accounts (HirEngine  *self,
               GError    **error)
{
  g_autofree char *path = accounts_path (self);
  g_autoptr(GPtrArray) accounts = hir_account_config_load (path, error);

  if (accounts == NULL)
    return FALSE;

  g_list_store_remove_all (self->accounts);
  for (guint i = 0; i < accounts->len; i++)
    {
      HirAccount *account = g_ptr_array_index (accounts, i);

      if (find_slot (self, hir_account_get_id (account)) != NULL)
        continue;
      add_slot (self, account);
      g_list_store_append (self->accounts, account);
    }
  return TRUE;
}

static gboolean
save_accounts (HirEngine  *self,
               GError    **error)
{
  g_autofree char *path = accounts_path (self);
  g_autoptr(GPtrArray) accounts = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->accounts)); i++)
    g_ptr_array_add (accounts, g_list_model_get_item (G_LIST_MODEL (self->accounts), i));
  return hir_account_config_save (path, accounts, error);
}

static void
store_open_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (!hir_store_open_finish (HIR_STORE (object), result, &error) ||
      !load_accounts (self, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    {
      if (self->outbox == NULL)
        self->outbox = hir_outbox_new (self, self->store);
      g_task_return_boolean (task, TRUE);
    }
}

void
hir_engine_open_async (HirEngine           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (HIR_IS_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_engine_open_async);

  if (!make_directories (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hir_store_open_async (self->store, cancellable, store_open_cb, g_steal_pointer (&task));
}

gboolean
hir_engine_open_finish (HirEngine     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
hir_engine_open_sync (HirEngine     *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_return_val_if_fail (HIR_IS_ENGINE (self), FALSE);

  if (!make_directories (self, error) ||
      !hir_store_open_sync (self->store, cancellable, error) ||
      !load_accounts (self, error))
    return FALSE;
  if (self->outbox == NULL)
    self->outbox = hir_outbox_new (self, self->store);
  return TRUE;
}

HirStore *
hir_engine_get_store (HirEngine *self)
{
  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);

  return self->store;
}

HirOutbox *
hir_engine_get_outbox (HirEngine *self)
{
  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);

  return self->outbox;
}

GListModel *
hir_engine_get_accounts (HirEngine *self)
{
  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);

  return G_LIST_MODEL (self->accounts);
}

HirAccount *
hir_engine_find_account (HirEngine  *self,
                         const char *id_or_address)
{
  GListModel *model;

  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);
  g_return_val_if_fail (id_or_address != NULL, NULL);

  model = G_LIST_MODEL (self->accounts);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (model, i);

      if (g_strcmp0 (hir_account_get_id (account), id_or_address) == 0)
        return account;
    }
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (model, i);
      const char *address = hir_account_get_address (account);

      if (address != NULL && g_ascii_strcasecmp (address, id_or_address) == 0)
        return account;
    }
  return NULL;
}

HirProvider *
hir_engine_get_provider (HirEngine  *self,
                         HirAccount *account)
{
  AccountSlot *slot;

  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);
  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);

  slot = find_slot (self, hir_account_get_id (account));
  return slot != NULL ? slot->provider : NULL;
}

/* Starting and stopping */

void
hir_engine_start (HirEngine *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (HIR_IS_ENGINE (self));

  if (self->started)
    return;
  self->started = TRUE;

  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    request_sync (value, NULL);
  if (self->outbox != NULL)
    hir_outbox_start (self->outbox);
}

void
hir_engine_stop (HirEngine *self)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (HIR_IS_ENGINE (self));

  self->started = FALSE;
  if (self->outbox != NULL)
    hir_outbox_stop (self->outbox);
  g_hash_table_iter_init (&iter, self->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    account_slot_halt (value);
}

static AccountSlot *
slot_for_task (HirEngine  *self,
               HirAccount *account,
               GTask      *task)
{
  AccountSlot *slot = find_slot (self, hir_account_get_id (account));

  if (slot == NULL)
    g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                             "There is no account %s", hir_account_get_id (account));
  return slot;
}

void
hir_engine_sync_account_async (HirEngine           *self,
                               HirAccount          *account,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  AccountSlot *slot;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_ACCOUNT (account));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_engine_sync_account_async);

  slot = slot_for_task (self, account, task);
  if (slot == NULL)
    {
      g_object_unref (task);
      return;
    }
  /* A manual sync is the user saying "try again": it runs even after a refusal. */
  request_sync (slot, task);
}

gboolean
hir_engine_sync_account_finish (HirEngine     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

GListModel *
hir_engine_get_folders (HirEngine  *self,
                        HirAccount *account)
{
  AccountSlot *slot;

  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);
  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);

  slot = find_slot (self, hir_account_get_id (account));
  g_return_val_if_fail (slot != NULL, NULL);

  if (slot->folders == NULL)
    {
      slot->folders = g_list_store_new (HIR_TYPE_FOLDER);
      refresh_folders (slot);
    }
  return G_LIST_MODEL (slot->folders);
}

HirMessageList *
hir_engine_open_folder (HirEngine *self,
                        HirFolder *folder)
{
  g_return_val_if_fail (HIR_IS_ENGINE (self), NULL);
  g_return_val_if_fail (HIR_IS_FOLDER (folder), NULL);

  return hir_message_list_new (self->store, hir_folder_get_id (folder));
}

/* Bodies */

typedef struct
{
  AccountSlot *slot;
  HirMessage *message;
  HirAttachment *attachment;
  HirMessageFlags flags;
  HirMessageFlags old_flags;
  GBytes *bytes;
  char *path;
  gint64 op_id;
} Request;

static void
request_free (Request *request)
{
  g_clear_pointer (&request->slot, account_slot_unref);
  g_clear_object (&request->message);
  g_clear_object (&request->attachment);
  g_clear_pointer (&request->bytes, g_bytes_unref);
  g_clear_pointer (&request->path, g_free);
  g_free (request);
}

/* A task for one message of a known account; NULL (task completed) if unknown. */
static GTask *
new_request_task (HirEngine           *self,
                  HirMessage          *message,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data,
                  gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  AccountSlot *slot = find_slot (self, hir_message_get_account_id (message));
  Request *request;

  g_task_set_source_tag (task, source_tag);
  if (slot == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               "The message belongs to no configured account");
      return NULL;
    }

  request = g_new0 (Request, 1);
  request->slot = account_slot_ref (slot);
  request->message = g_object_ref (message);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  return g_steal_pointer (&task);
}

static void
save_body_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* The reader still gets the body; it is only not cached for next time. */
  if (!hir_store_save_body_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot cache a message body: %s", error->message);
  g_task_return_pointer (task, g_object_ref (g_object_get_data (G_OBJECT (task), "hir-body")),
                         g_object_unref);
}

static void
fetch_body_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(GError) error = NULL;

  body = hir_provider_fetch_body_finish (HIR_PROVIDER (object), result, &error);
  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_object_set_data_full (G_OBJECT (task), "hir-body", g_object_ref (body), g_object_unref);
  hir_store_save_body_async (self->store, hir_message_get_id (request->message), body,
                             g_task_get_cancellable (task), save_body_cb,
                             g_object_ref (task));
}

static void
body_provider_ready_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!ensure_provider_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (request->slot->dead)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The account was removed");
      return;
    }
  hir_provider_fetch_body_async (request->slot->provider, request->message,
                                 g_task_get_cancellable (task), fetch_body_cb,
                                 g_object_ref (task));
}

static void
load_cached_body_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(GError) error = NULL;

  body = hir_store_load_body_finish (HIR_STORE (object), result, &error);
  if (body != NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&body), g_object_unref);
      return;
    }
  if (error != NULL)
    g_debug ("No cached body: %s", error->message);
  if (request->slot->dead)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The account was removed");
      return;
    }
  ensure_provider_async (request->slot, g_task_get_cancellable (task), body_provider_ready_cb,
                         g_object_ref (task));
}

void
hir_engine_load_body_async (HirEngine           *self,
                            HirMessage          *message,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  task = new_request_task (self, message, cancellable, callback, user_data,
                           hir_engine_load_body_async);
  if (task == NULL)
    return;
  hir_store_load_body_async (self->store, hir_message_get_id (message), cancellable,
                             load_cached_body_cb, task);
}

HirMessageBody *
hir_engine_load_body_finish (HirEngine     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Attachments */

static char *
attachment_cache_path (HirEngine     *self,
                       HirMessage    *message,
                       HirAttachment *attachment)
{
  g_autofree char *account = g_uri_escape_string (hir_message_get_account_id (message), "@+",
                                                  FALSE);
  g_autofree char *name = g_compute_checksum_for_string (G_CHECKSUM_SHA256,
                                                         hir_attachment_get_blob_id (attachment),
                                                         -1);

  /* Blob ids are the server's and may hold anything; their hash is a safe file name. */
  return g_build_filename (self->cache_dir, account, name, NULL);
}

static void
write_attachment_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    g_warning ("Cannot cache an attachment in %s: %s", request->path, error->message);
  g_task_return_pointer (task, g_bytes_ref (request->bytes), (GDestroyNotify) g_bytes_unref);
}

static void
fetch_attachment_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) parent = NULL;

  request->bytes = hir_provider_fetch_attachment_finish (HIR_PROVIDER (object), result, &error);
  if (request->bytes == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  file = g_file_new_for_path (request->path);
  parent = g_file_get_parent (file);
  if (g_mkdir_with_parents (g_file_peek_path (parent), 0700) != 0)
    {
      g_warning ("Cannot create %s", g_file_peek_path (parent));
      g_task_return_pointer (task, g_bytes_ref (request->bytes), (GDestroyNotify) g_bytes_unref);
      return;
    }
  /* g_file_replace writes a temporary file and renames it: a crash never leaves half an
   * attachment under the final name. */
  g_file_replace_contents_bytes_async (file, request->bytes, NULL, FALSE,
                                       G_FILE_CREATE_PRIVATE | G_FILE_CREATE_REPLACE_DESTINATION,
                                       g_task_get_cancellable (task), write_attachment_cb,
                                       g_object_ref (task));
}

static void
attachment_provider_ready_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!ensure_provider_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (request->slot->dead)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The account was removed");
      return;
    }
  hir_provider_fetch_attachment_async (request->slot->provider, request->message,
                                       request->attachment, g_task_get_cancellable (task),
                                       fetch_attachment_cb, g_object_ref (task));
}

static void
load_cached_attachment_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_file_load_bytes_finish (G_FILE (object), result, NULL, &error);
  if (bytes != NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&bytes), (GDestroyNotify) g_bytes_unref);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (request->slot->dead)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The account was removed");
      return;
    }
  ensure_provider_async (request->slot, g_task_get_cancellable (task),
                         attachment_provider_ready_cb, g_object_ref (task));
}

void
hir_engine_load_attachment_async (HirEngine           *self,
                                  HirMessage          *message,
                                  HirAttachment       *attachment,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;
  Request *request;
  g_autoptr(GFile) file = NULL;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (HIR_IS_ATTACHMENT (attachment));

  task = new_request_task (self, message, cancellable, callback, user_data,
                           hir_engine_load_attachment_async);
  if (task == NULL)
    return;
  request = g_task_get_task_data (task);
  request->attachment = g_object_ref (attachment);
  request->path = attachment_cache_path (self, message, attachment);

  file = g_file_new_for_path (request->path);
  g_file_load_bytes_async (file, cancellable, load_cached_attachment_cb, task);
}

GBytes *
hir_engine_load_attachment_finish (HirEngine     *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Operations: flags, moves and deletes
 *
 * Each is written to pending_operations and applied to the store at once (the lists
 * update), then replayed to the server in order by one runner per account. An operation
 * the server could not hear (offline, unreachable) stays queued, unreverted, until the
 * next sync, which replays the queue before it applies anything. An operation the server
 * refused (the message or the folder is gone, a flag it will not store) is forgotten and
 * the following sync shows what the server has: a queued operation never destroys a
 * message the server still holds elsewhere, and a delete queued while offline only ever
 * moves to Trash. */

typedef enum
{
  OP_FLAGS = 1,
  OP_MOVE = 2,
  OP_DESTROY = 3,
} OpKind;

typedef enum
{
  ASK_FLAGS,
  ASK_MOVE,
  ASK_DELETE,
  ASK_ARCHIVE,
} OpAsk;

typedef struct
{
  /* In */
  char *account_id;
  char *remote_id;
  gint64 message_id;
  OpAsk ask;
  HirMessageFlags flags;
  char *folder;
  gint64 *taken;            /* AccountSlot.replay_taken */
  /* Out (and, for the runner, the row read back) */
  gint64 op_id;
  OpKind kind;
  char *destination;
  char *source;
} OpJob;

static void
op_job_free (OpJob *job)
{
  g_free (job->account_id);
  g_free (job->remote_id);
  g_free (job->folder);
  g_free (job->destination);
  g_free (job->source);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpJob, op_job_free)

static gboolean
ops_sql_error (sqlite3  *db,
               GError  **error)
{
  g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, "Pending operations: %s",
               sqlite3_errmsg (db));
  return FALSE;
}

/* The remote id of the account's folder with @role, or NULL. */
static char *
sql_role_folder (sqlite3       *db,
                 const char    *account_id,
                 HirFolderRole  role)
{
  sqlite3_stmt *stmt = NULL;
  char *remote_id = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT remote_id FROM folders WHERE account_id = ? AND role = ? "
                              "ORDER BY id LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, account_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, role);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    remote_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return remote_id;
}

static gboolean
sql_in_role_folder (sqlite3       *db,
                    gint64         message_id,
                    HirFolderRole  role)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM message_folders mf JOIN folders f "
                              "ON f.id = mf.folder_id WHERE mf.message_id = ? AND f.role = ?",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, message_id);
  sqlite3_bind_int (stmt, 2, role);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_finalize (stmt);
  return found;
}

/* The remote ids of the folders a message is in, one a line, or NULL. */
static char *
sql_message_folders (sqlite3 *db,
                     gint64   message_id)
{
  sqlite3_stmt *stmt = NULL;
  GString *out = g_string_new (NULL);

  if (sqlite3_prepare_v2 (db, "SELECT f.remote_id FROM message_folders mf JOIN folders f "
                              "ON f.id = mf.folder_id WHERE mf.message_id = ?", -1, &stmt,
                          NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, message_id);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          if (out->len > 0)
            g_string_append_c (out, '\n');
          g_string_append (out, (const char *) sqlite3_column_text (stmt, 0));
        }
      sqlite3_finalize (stmt);
    }
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* Decides what the operation is (a delete outside Trash is a move to Trash), merges it
 * into the message's last queued operation where that is safe, else appends it. */
static gboolean
job_queue_op (sqlite3  *db,
              gpointer  data,
              GError  **error)
{
  OpJob *job = data;
  sqlite3_stmt *stmt = NULL;
  gint64 last_id = 0;
  int last_kind = 0;

  switch (job->ask)
    {
    case ASK_FLAGS:
      job->kind = OP_FLAGS;
      break;
    case ASK_MOVE:
      job->kind = OP_MOVE;
      job->destination = g_strdup (job->folder);
      break;
    case ASK_ARCHIVE:
      job->kind = OP_MOVE;
      job->destination = sql_role_folder (db, job->account_id, HIR_FOLDER_ROLE_ARCHIVE);
      if (job->destination == NULL)
        {
          g_set_error_literal (error, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("This account has no Archive folder"));
          return FALSE;
        }
      break;
    case ASK_DELETE:
    default:
      job->destination = sql_role_folder (db, job->account_id, HIR_FOLDER_ROLE_TRASH);
      if (job->destination != NULL &&
          !sql_in_role_folder (db, job->message_id, HIR_FOLDER_ROLE_TRASH))
        job->kind = OP_MOVE;
      else
        {
          job->kind = OP_DESTROY;
          g_clear_pointer (&job->destination, g_free);
        }
      break;
    }

  if (job->kind == OP_MOVE)
    job->source = sql_message_folders (db, job->message_id);

  if (sqlite3_prepare_v2 (db, "SELECT id, kind FROM pending_operations "
                              "WHERE account_id = ? AND remote_id = ? ORDER BY id DESC LIMIT 1",
                          -1, &stmt, NULL) != SQLITE_OK)
    return ops_sql_error (db, error);
  sqlite3_bind_text (stmt, 1, job->account_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, job->remote_id, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      last_id = sqlite3_column_int64 (stmt, 0);
      last_kind = sqlite3_column_int (stmt, 1);
    }
  sqlite3_finalize (stmt);

  /* Two flag changes are the last one, two moves the last destination; never the one
   * the runner is sending now. */
  if (last_id != 0 && last_id != *job->taken && last_kind == (int) job->kind &&
      job->kind != OP_DESTROY)
    {
      if (sqlite3_prepare_v2 (db, "UPDATE pending_operations SET flags = ?, folder = ? "
                                  "WHERE id = ?", -1, &stmt, NULL) != SQLITE_OK)
        return ops_sql_error (db, error);
      sqlite3_bind_int (stmt, 1, job->flags);
      if (job->destination != NULL)
        sqlite3_bind_text (stmt, 2, job->destination, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, 2);
      sqlite3_bind_int64 (stmt, 3, last_id);
      job->op_id = last_id;
    }
  else
    {
      if (sqlite3_prepare_v2 (db, "INSERT INTO pending_operations "
                                  "(account_id, remote_id, kind, flags, folder, source) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", -1, &stmt, NULL) != SQLITE_OK)
        return ops_sql_error (db, error);
      sqlite3_bind_text (stmt, 1, job->account_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, job->remote_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (stmt, 3, job->kind);
      sqlite3_bind_int (stmt, 4, job->flags);
      if (job->destination != NULL)
        sqlite3_bind_text (stmt, 5, job->destination, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, 5);
      if (job->source != NULL)
        sqlite3_bind_text (stmt, 6, job->source, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, 6);
    }
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return ops_sql_error (db, error);
    }
  sqlite3_finalize (stmt);
  if (job->op_id != 0)
    return TRUE;
  job->op_id = sqlite3_last_insert_rowid (db);

  /* Flags changed after a move still waiting go to the server before it: an IMAP move
   * gives the message a new UID that the flag change could no longer name. The two rows
   * swap places (their ids); the end state is the same for every protocol. */
  if (job->kind == OP_FLAGS && last_kind == OP_MOVE && last_id != *job->taken)
    {
      const char *swap[] = {
        "UPDATE pending_operations SET id = -?2 WHERE id = ?1",
        "UPDATE pending_operations SET id = ?1 WHERE id = ?2",
        "UPDATE pending_operations SET id = ?2 WHERE id = -?2",
      };

      for (guint i = 0; i < G_N_ELEMENTS (swap); i++)
        {
          if (sqlite3_prepare_v2 (db, swap[i], -1, &stmt, NULL) != SQLITE_OK)
            return ops_sql_error (db, error);
          sqlite3_bind_int64 (stmt, 1, last_id);
          sqlite3_bind_int64 (stmt, 2, job->op_id);
          if (sqlite3_step (stmt) != SQLITE_DONE)
            {
              sqlite3_finalize (stmt);
              return ops_sql_error (db, error);
            }
          sqlite3_finalize (stmt);
        }
      job->op_id = last_id;
    }
  return TRUE;
}

/* The account's first queued operation into @data (op_id 0 when none). */
static gboolean
job_next_op (sqlite3  *db,
             gpointer  data,
             GError  **error)
{
  OpJob *job = data;
  sqlite3_stmt *stmt = NULL;
  int rc;

  job->op_id = 0;
  g_clear_pointer (&job->remote_id, g_free);
  g_clear_pointer (&job->destination, g_free);
  g_clear_pointer (&job->source, g_free);
  if (sqlite3_prepare_v2 (db, "SELECT id, remote_id, kind, flags, folder, source "
                              "FROM pending_operations "
                              "WHERE account_id = ? ORDER BY id LIMIT 1", -1, &stmt,
                          NULL) != SQLITE_OK)
    return ops_sql_error (db, error);
  sqlite3_bind_text (stmt, 1, job->account_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      job->op_id = sqlite3_column_int64 (stmt, 0);
      job->remote_id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      job->kind = sqlite3_column_int (stmt, 2);
      job->flags = sqlite3_column_int (stmt, 3);
      job->destination = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      job->source = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return ops_sql_error (db, error);
  *job->taken = job->op_id;
  return TRUE;
}

static gboolean
job_forget_op (sqlite3  *db,
               gpointer  data,
               GError  **error)
{
  OpJob *job = data;
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "DELETE FROM pending_operations WHERE id = ?", -1, &stmt,
                          NULL) != SQLITE_OK)
    return ops_sql_error (db, error);
  sqlite3_bind_int64 (stmt, 1, job->op_id);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return ops_sql_error (db, error);
  return TRUE;
}

/* What the store must show for every message with operations still queued: the last
 * flags asked for (else the stored ones), the last destination, or nothing at all. */
typedef struct
{
  AccountSlot *slot;
  char *account_id;
  HirStoreChanges *changes;
} Reassert;

static void
reassert_free (Reassert *reassert)
{
  g_clear_pointer (&reassert->slot, account_slot_unref);
  g_free (reassert->account_id);
  g_clear_pointer (&reassert->changes, hir_store_changes_unref);
  g_free (reassert);
}

typedef struct
{
  gboolean has_flags;
  HirMessageFlags flags;
  char *destination;
  gboolean destroyed;
} PendingState;

static void
pending_state_free (PendingState *state)
{
  g_free (state->destination);
  g_free (state);
}

static gboolean
job_reassert (sqlite3  *db,
              gpointer  data,
              GError  **error)
{
  Reassert *reassert = data;
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) pending_state_free);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT remote_id, kind, flags, folder FROM pending_operations "
                              "WHERE account_id = ? ORDER BY id", -1, &stmt, NULL) != SQLITE_OK)
    return ops_sql_error (db, error);
  sqlite3_bind_text (stmt, 1, reassert->account_id, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *remote_id = (const char *) sqlite3_column_text (stmt, 0);
      PendingState *state = g_hash_table_lookup (states, remote_id);

      if (state == NULL)
        {
          char *key = g_strdup (remote_id);

          state = g_new0 (PendingState, 1);
          g_hash_table_insert (states, key, state);
          g_ptr_array_add (order, key);
        }
      switch (sqlite3_column_int (stmt, 1))
        {
        case OP_FLAGS:
          state->has_flags = TRUE;
          state->flags = sqlite3_column_int (stmt, 2);
          break;
        case OP_MOVE:
          g_free (state->destination);
          state->destination = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
          break;
        default:
          state->destroyed = TRUE;
          break;
        }
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return ops_sql_error (db, error);

  reassert->changes = hir_store_changes_new (reassert->account_id);
  for (guint i = 0; i < order->len; i++)
    {
      const char *remote_id = g_ptr_array_index (order, i);
      PendingState *state = g_hash_table_lookup (states, remote_id);
      const char *folders[] = { state->destination, NULL };

      if (state->destroyed)
        {
          hir_store_changes_remove_message (reassert->changes, remote_id);
          continue;
        }
      if (!state->has_flags)
        {
          if (sqlite3_prepare_v2 (db, "SELECT flags FROM messages WHERE account_id = ? AND "
                                      "remote_id = ?", -1, &stmt, NULL) != SQLITE_OK)
            return ops_sql_error (db, error);
          sqlite3_bind_text (stmt, 1, reassert->account_id, -1, SQLITE_TRANSIENT);
          sqlite3_bind_text (stmt, 2, remote_id, -1, SQLITE_TRANSIENT);
          rc = sqlite3_step (stmt);
          if (rc == SQLITE_ROW)
            state->flags = sqlite3_column_int (stmt, 0);
          sqlite3_finalize (stmt);
          /* Gone from the store: nothing to show. */
          if (rc != SQLITE_ROW)
            continue;
        }
      hir_store_changes_update_message (reassert->changes, remote_id, state->flags,
                                        state->destination != NULL ? folders : NULL);
    }
  return TRUE;
}

static void
reasserted_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Reassert *reassert = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot show queued changes again: %s", error->message);
  if (!reassert->slot->dead)
    sync_finished (reassert->slot, NULL);
  reassert_free (reassert);
}

static void
reassert_job_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Reassert *reassert = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot read the queued changes: %s", error->message);
  if (reassert->slot->dead)
    {
      reassert_free (reassert);
      return;
    }
  if (reassert->changes == NULL || hir_store_changes_is_empty (reassert->changes))
    {
      sync_finished (reassert->slot, NULL);
      reassert_free (reassert);
      return;
    }
  hir_store_apply_async (HIR_STORE (object), reassert->changes, NULL, reasserted_cb, reassert);
}

static void
reassert_ops (AccountSlot *slot)
{
  Reassert *reassert = g_new0 (Reassert, 1);

  reassert->slot = account_slot_ref (slot);
  reassert->account_id = g_strdup (hir_account_get_id (slot->account));
  hir_store_run_async (slot->engine->store, job_reassert, reassert, NULL, reassert_job_cb,
                       reassert);
}

/* Errors that mean "the server will not do it", as opposed to "could not ask". */
static gboolean
error_is_refusal (const GError *error)
{
  return g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER) ||
         g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
}

static void
revert_flags_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *server_error = g_object_steal_data (G_OBJECT (task), "hir-error");
  g_autoptr(GError) error = NULL;

  if (!hir_store_set_flags_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot put back a message's flags: %s", error->message);
  g_task_return_error (task, server_error);
}

/* A caller's operation is done: taken by the server or queued (@error NULL), or
 * refused. A refused flag change is put back at once; a refused move or delete comes
 * back with the next sync. */
static void
finish_op_task (GTask  *task,
                GError *error)
{
  HirEngine *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  if (error == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  if (g_task_get_source_tag (task) == hir_engine_set_flags_async &&
      hir_message_get_flags (request->message) == request->flags)
    {
      hir_message_set_flags (request->message, request->old_flags);
      g_object_set_data (G_OBJECT (task), "hir-error", error);
      hir_store_set_flags_async (self->store, hir_message_get_id (request->message),
                                 request->old_flags, NULL, revert_flags_cb, task);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
complete_op_task (AccountSlot *slot,
                  gint64       op_id,
                  GError      *error)
{
  gpointer key = NULL, value = NULL;

  if (!g_hash_table_steal_extended (slot->op_tasks, &op_id, &key, &value))
    {
      g_clear_error (&error);
      return;
    }
  g_free (key);
  finish_op_task (value, error);
}

/* Every waiting caller's operation stays queued: that is success for them. */
static void
complete_op_tasks (AccountSlot *slot)
{
  g_autoptr(GList) tasks = NULL;

  if (slot->op_tasks == NULL)
    return;
  tasks = g_hash_table_get_values (slot->op_tasks);
  g_hash_table_steal_all (slot->op_tasks);
  for (GList *l = tasks; l != NULL; l = l->next)
    finish_op_task (l->data, NULL);
}

static void replay_next (AccountSlot *slot);

static void
replay_stop (AccountSlot  *slot,
             const GError *error)
{
  slot->replaying = FALSE;
  if (error != NULL)
    complete_op_tasks (slot);
  fail_tasks (slot->replay_waiters, error);
}

typedef struct
{
  AccountSlot *slot;
  guint generation;
  OpJob *job;
} Replay;

static void
replay_free (Replay *replay)
{
  g_clear_pointer (&replay->slot, account_slot_unref);
  g_clear_pointer (&replay->job, op_job_free);
  g_free (replay);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Replay, replay_free)

/* The slot was removed or halted since this replay step began. */
static gboolean
replay_is_stale (Replay *replay)
{
  return replay->slot->dead || replay->generation != replay->slot->replay_generation;
}

static Replay *
replay_new (AccountSlot *slot)
{
  Replay *replay = g_new0 (Replay, 1);

  replay->slot = account_slot_ref (slot);
  replay->generation = slot->replay_generation;
  replay->job = g_new0 (OpJob, 1);
  replay->job->account_id = g_strdup (hir_account_get_id (slot->account));
  replay->job->taken = &slot->replay_taken;
  return replay;
}

static void
forget_op_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Replay) replay = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (!replay_is_stale (replay))
        replay_stop (replay->slot, error);
      return;
    }
  if (replay_is_stale (replay))
    return;
  replay_next (replay->slot);
}

static void
restore_op_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Replay *replay = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot put a message back in its folder: %s", error->message);
  if (replay_is_stale (replay))
    {
      replay_free (replay);
      return;
    }
  hir_store_run_async (replay->slot->engine->store, job_forget_op, replay->job, NULL,
                       forget_op_cb, replay);
}

static void
replay_op_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Replay) replay = user_data;
  AccountSlot *slot = replay->slot;
  g_autoptr(GError) error = NULL;
  gboolean done;

  if (replay->job->kind == OP_FLAGS)
    done = hir_provider_set_flags_finish (HIR_PROVIDER (object), result, &error);
  else if (replay->job->kind == OP_MOVE)
    done = hir_provider_move_finish (HIR_PROVIDER (object), result, &error);
  else
    done = hir_provider_delete_finish (HIR_PROVIDER (object), result, &error);
  if (replay_is_stale (replay))
    return;

  if (!done && !error_is_refusal (error))
    {
      /* Could not ask: everything waits for the next sync, in order. */
      g_debug ("%s: operations wait: %s", hir_account_get_id (slot->account), error->message);
      replay_stop (slot, error);
      return;
    }
  if (!done)
    {
      /* IMAP remote ids hold line breaks. */
      g_autofree char *shown = g_strescape (replay->job->remote_id, NULL);

      g_message ("%s: the server refused a change to %s, which is dropped: %s",
                 hir_account_get_id (slot->account), shown, error->message);
    }

  complete_op_task (slot, replay->job->op_id, done ? NULL : g_steal_pointer (&error));
  if (!done && replay->job->kind == OP_MOVE && replay->job->source != NULL)
    {
      /* Back where it was: the server kept it there (the destination is gone), or the
       * next sync removes it (the message is gone). */
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (replay->job->account_id);
      g_auto(GStrv) folders = g_strsplit (replay->job->source, "\n", -1);

      hir_store_changes_update_message (changes, replay->job->remote_id, replay->job->flags,
                                        (const char * const *) folders);
      hir_store_apply_async (slot->engine->store, changes, NULL, restore_op_cb,
                             g_steal_pointer (&replay));
      return;
    }
  hir_store_run_async (slot->engine->store, job_forget_op, replay->job, NULL, forget_op_cb,
                       replay);
  replay = NULL;
}

static void
replay_provider_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(Replay) replay = user_data;
  AccountSlot *slot = replay->slot;
  OpJob *job = replay->job;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirMessage) message = NULL;
  g_autoptr(HirFolder) folder = NULL;

  if (!ensure_provider_finish (result, &error))
    {
      if (!replay_is_stale (replay) && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        replay_stop (slot, error);
      return;
    }
  if (replay_is_stale (replay))
    return;

  /* The message as the server knows it: its remote id is all a provider needs. */
  message = hir_message_new ();
  hir_message_set_account_id (message, job->account_id);
  hir_message_set_remote_id (message, job->remote_id);
  hir_message_set_flags (message, job->flags);
  switch (job->kind)
    {
    case OP_FLAGS:
      hir_provider_set_flags_async (slot->provider, message, job->flags, slot->cancellable,
                                    replay_op_cb, g_steal_pointer (&replay));
      break;
    case OP_MOVE:
      folder = hir_folder_new (job->account_id, job->destination, job->destination,
                               HIR_FOLDER_ROLE_NONE);
      hir_provider_move_async (slot->provider, message, folder, slot->cancellable,
                               replay_op_cb, g_steal_pointer (&replay));
      break;
    case OP_DESTROY:
    default:
      hir_provider_delete_async (slot->provider, message, slot->cancellable, replay_op_cb,
                                 g_steal_pointer (&replay));
      break;
    }
}

static void
next_op_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Replay) replay = user_data;
  AccountSlot *slot = replay->slot;
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (!replay_is_stale (replay))
        replay_stop (slot, error);
      return;
    }
  if (replay_is_stale (replay))
    return;
  if (replay->job->op_id == 0)
    {
      replay_stop (slot, NULL);
      return;
    }
  ensure_provider_async (slot, slot->cancellable, replay_provider_cb, g_steal_pointer (&replay));
}

static void
replay_next (AccountSlot *slot)
{
  Replay *replay = replay_new (slot);

  hir_store_run_async (slot->engine->store, job_next_op, replay->job, NULL, next_op_cb,
                       replay);
}

/* Sends the account's queued operations in order; completes when the queue is empty
 * (TRUE) or when the server could not be reached (the error; the rest stays queued). */
static void
replay_async (AccountSlot         *slot,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, replay_async);
  g_ptr_array_add (slot->replay_waiters, task);
  if (slot->replaying)
    return;
  slot->replaying = TRUE;
  replay_next (slot);
}

static gboolean
replay_finish (GAsyncResult  *result,
               GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
kick_replayed_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(AccountSlot) slot = user_data;
  g_autoptr(GError) error = NULL;

  if (replay_finish (result, &error) || slot->dead ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* The server is out of reach: a sync says so on the account (the banner) and brings
   * the retries that will replay the queue. */
  if (!slot->running && slot->retry_source == 0 && !slot->auth_failed &&
      slot->engine->started)
    request_sync (slot, NULL);
}

static void
local_op_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  AccountSlot *slot = request->slot;
  g_autoptr(GError) error = NULL;
  gboolean done;
  OpJob *job = g_object_get_data (G_OBJECT (task), "hir-op");

  if (job->kind == OP_FLAGS)
    done = hir_store_set_flags_finish (HIR_STORE (object), result, &error);
  else
    done = hir_store_apply_finish (HIR_STORE (object), result, &error);
  if (!done)
    g_warning ("Cannot apply a change to the mail cache: %s", error->message);
  if (slot->dead)
    {
      complete_op_task (slot, request->op_id, NULL);
      return;
    }
  /* A sync running now fetched the server's view before this change: the change goes
   * when it has finished (and put queued changes back over that view). */
  if (slot->running)
    return;
  replay_async (slot, kick_replayed_cb, account_slot_ref (slot));
}

static void
queue_op_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  OpJob *job = g_object_get_data (G_OBJECT (task), "hir-op");
  AccountSlot *slot = request->slot;
  g_autoptr(GError) error = NULL;
  gint64 *key;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (slot->dead)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* An operation merged into an earlier one: the earlier caller is done. */
  request->op_id = job->op_id;
  complete_op_task (slot, job->op_id, NULL);
  key = g_new (gint64, 1);
  *key = job->op_id;
  g_hash_table_insert (slot->op_tasks, key, g_object_ref (task));

  /* The store at once, so every list shows the change now. */
  if (job->kind == OP_FLAGS)
    {
      hir_message_set_flags (request->message, request->flags);
      hir_store_set_flags_async (self->store, hir_message_get_id (request->message),
                                 request->flags, NULL, local_op_cb, g_steal_pointer (&task));
    }
  else
    {
      g_autoptr(HirStoreChanges) changes = hir_store_changes_new (job->account_id);

      if (job->kind == OP_MOVE)
        {
          const char *folders[] = { job->destination, NULL };

          hir_store_changes_update_message (changes, job->remote_id,
                                            hir_message_get_flags (request->message), folders);
        }
      else
        hir_store_changes_remove_message (changes, job->remote_id);
      hir_store_apply_async (self->store, changes, NULL, local_op_cb, g_steal_pointer (&task));
    }
}

static void
start_op (HirEngine           *self,
          HirMessage          *message,
          OpAsk                ask,
          HirMessageFlags      flags,
          HirFolder           *folder,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             source_tag)
{
  GTask *task;
  Request *request;
  OpJob *job;

  task = new_request_task (self, message, cancellable, callback, user_data, source_tag);
  if (task == NULL)
    return;
  request = g_task_get_task_data (task);
  request->flags = flags;
  request->old_flags = hir_message_get_flags (message);

  job = g_new0 (OpJob, 1);
  job->account_id = g_strdup (hir_message_get_account_id (message));
  job->remote_id = g_strdup (hir_message_get_remote_id (message));
  job->message_id = hir_message_get_id (message);
  job->ask = ask;
  job->flags = flags;
  job->folder = folder != NULL ? g_strdup (hir_folder_get_remote_id (folder)) : NULL;
  job->taken = &request->slot->replay_taken;
  g_object_set_data_full (G_OBJECT (task), "hir-op", job, (GDestroyNotify) op_job_free);
  hir_store_run_async (self->store, job_queue_op, job, NULL, queue_op_cb, task);
}

void
hir_engine_set_flags_async (HirEngine           *self,
                            HirMessage          *message,
                            HirMessageFlags      flags,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  start_op (self, message, ASK_FLAGS, flags, NULL, cancellable, callback, user_data,
            hir_engine_set_flags_async);
}

gboolean
hir_engine_set_flags_finish (HirEngine     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
hir_engine_move_async (HirEngine           *self,
                       HirMessage          *message,
                       HirFolder           *folder,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (HIR_IS_FOLDER (folder));

  if (g_strcmp0 (hir_folder_get_account_id (folder), hir_message_get_account_id (message)) != 0)
    {
      g_task_report_new_error (self, callback, user_data, hir_engine_move_async,
                               HIR_ERROR, HIR_ERROR_CONFIG,
                               "A message moves only within its own account");
      return;
    }
  start_op (self, message, ASK_MOVE, hir_message_get_flags (message), folder, cancellable,
            callback, user_data, hir_engine_move_async);
}

gboolean
hir_engine_move_finish (HirEngine     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
hir_engine_delete_async (HirEngine           *self,
                         HirMessage          *message,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  start_op (self, message, ASK_DELETE, hir_message_get_flags (message), NULL, cancellable,
            callback, user_data, hir_engine_delete_async);
}

gboolean
hir_engine_delete_finish (HirEngine     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
hir_engine_archive_async (HirEngine           *self,
                          HirMessage          *message,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));

  start_op (self, message, ASK_ARCHIVE, hir_message_get_flags (message), NULL, cancellable,
            callback, user_data, hir_engine_archive_async);
}

gboolean
hir_engine_archive_finish (HirEngine     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Adding, removing, passwords */

typedef struct
{
  HirAccount *account;
  char *password;
  HirProvider *provider;
  gboolean secret_stored;
  GError *error;
} AddAccount;

static void
add_account_free (AddAccount *add)
{
  g_clear_object (&add->account);
  if (add->password != NULL)
    memset (add->password, 0, strlen (add->password));
  g_clear_pointer (&add->password, g_free);
  g_clear_object (&add->provider);
  g_clear_error (&add->error);
  g_free (add);
}

static void
clear_secret_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  HirAccount *account = task_data;
  g_autoptr(GError) error = NULL;

  /* libsecret has no async clear in our API: a worker thread keeps the main loop free. */
  if (!hir_secrets_clear_sync (account, cancellable, &error))
    g_debug ("Cannot remove the password of %s: %s", hir_account_get_id (account),
             error->message);
  g_task_return_boolean (task, TRUE);
}

static void
clear_secret_async (HirAccount          *account,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, clear_secret_async);
  g_task_set_task_data (task, g_object_ref (account), g_object_unref);
  g_task_run_in_thread (task, clear_secret_thread);
}

static void
add_rollback_done_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AddAccount *add = g_task_get_task_data (task);

  g_task_return_error (task, g_steal_pointer (&add->error));
}

static void
add_rollback_store_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AddAccount *add = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!hir_store_clear_account_finish (HIR_STORE (object), result, &error))
    g_warning ("Cannot forget the messages of %s: %s", hir_account_get_id (add->account),
               error->message);
  if (add->secret_stored)
    clear_secret_async (add->account, add_rollback_done_cb, g_steal_pointer (&task));
  else
    g_task_return_error (task, g_steal_pointer (&add->error));
}

/* Undoes what a failed add left behind: nothing of the account may stay. */
static void
add_rollback (GTask  *task,
              GError *error)
{
  HirEngine *self = g_task_get_source_object (task);
  AddAccount *add = g_task_get_task_data (task);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    hir_account_set_status_from_error (add->account, error);
  add->error = error;
  if (add->provider != NULL)
    hir_provider_stop_watching (add->provider);
  hir_store_clear_account_async (self->store, hir_account_get_id (add->account), NULL,
                                 add_rollback_store_cb, task);
}

static void
add_verified_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  AddAccount *add = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  AccountSlot *slot;

  hir_account_set_syncing (add->account, FALSE);
  if (!hir_provider_sync_finish (HIR_PROVIDER (object), result, &error))
    {
      add_rollback (task, g_steal_pointer (&error));
      return;
    }

  if (find_slot (self, hir_account_get_id (add->account)) != NULL)
    {
      add_rollback (task, g_error_new (HIR_ERROR, HIR_ERROR_CONFIG,
                                       "The account %s already exists",
                                       hir_account_get_id (add->account)));
      return;
    }

  g_list_store_append (self->accounts, add->account);
  if (!save_accounts (self, &error))
    {
      guint position;

      if (g_list_store_find (self->accounts, add->account, &position))
        g_list_store_remove (self->accounts, position);
      add_rollback (task, g_steal_pointer (&error));
      return;
    }

  add_slot (self, add->account);
  slot = find_slot (self, hir_account_get_id (add->account));
  install_provider (slot, add->provider);
  if (self->started)
    {
      slot->watching = TRUE;
      hir_provider_start_watching (slot->provider);
    }
  g_signal_emit (self, signals[SYNC_FINISHED], 0, add->account);

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
add_verify (GTask *task)
{
  HirEngine *self = g_task_get_source_object (task);
  AddAccount *add = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  add->provider = make_provider (self, add->account, add->password, &error);
  if (add->provider == NULL)
    {
      add_rollback (task, g_steal_pointer (&error));
      return;
    }
  /* The first sync is the verification: session (login, certificate), then folders
   * and messages, which the user wants next anyway. */
  hir_account_set_syncing (add->account, TRUE);
  hir_provider_sync_async (add->provider, g_task_get_cancellable (task), add_verified_cb, task);
}

static void
add_password_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  AddAccount *add = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  add->password = hir_secrets_lookup_finish (result, &error);
  if (add->password == NULL)
    {
      add_rollback (task, g_steal_pointer (&error));
      return;
    }
  add_verify (task);
}

static void
add_secret_stored_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  GTask *task = user_data;
  AddAccount *add = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!hir_secrets_store_finish (result, &error))
    {
      add_rollback (task, g_steal_pointer (&error));
      return;
    }
  add->secret_stored = TRUE;
  add_verify (task);
}

void
hir_engine_add_account_async (HirEngine           *self,
                              HirAccount          *account,
                              const char          *password,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;
  AddAccount *add;
  const char *command;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_ACCOUNT (account));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_engine_add_account_async);

  if (hir_account_get_id (account) == NULL)
    hir_account_set_id (account, hir_account_get_address (account));
  if (hir_account_get_id (account) == NULL || *hir_account_get_id (account) == '\0')
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG, "The account has no address");
      g_object_unref (task);
      return;
    }
  if (find_slot (self, hir_account_get_id (account)) != NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               "The account %s already exists", hir_account_get_id (account));
      g_object_unref (task);
      return;
    }

  add = g_new0 (AddAccount, 1);
  add->account = g_object_ref (account);
  add->password = g_strdup (password);
  g_task_set_task_data (task, add, (GDestroyNotify) add_account_free);

  command = hir_account_get_password_command (account);
  if (command != NULL && *command != '\0')
    {
      /* The command is the password's home; it is checked by running it. */
      if (password == NULL)
        hir_secrets_lookup_async (account, cancellable, add_password_cb, task);
      else
        add_verify (task);
      return;
    }

  if (password == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                               "A password or a password command is needed");
      g_object_unref (task);
      return;
    }
  hir_secrets_store_async (account, password, cancellable, add_secret_stored_cb, task);
}

gboolean
hir_engine_add_account_finish (HirEngine     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
remove_cache_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  /* The account's cache folder holds only files named by hashes, no subfolders. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);

      g_unlink (file);
    }
  g_rmdir (path);
  g_task_return_boolean (task, TRUE);
}

static void
remove_secret_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  g_task_return_boolean (task, TRUE);
}

static void
remove_cache_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirAccount *account = g_object_get_data (G_OBJECT (task), "hir-account");
  const char *command = hir_account_get_password_command (account);

  if (command != NULL && *command != '\0')
    g_task_return_boolean (task, TRUE);
  else
    clear_secret_async (account, remove_secret_cb, g_steal_pointer (&task));
}

static void
remove_store_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  HirAccount *account = g_object_get_data (G_OBJECT (task), "hir-account");
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) cache_task = NULL;
  g_autofree char *escaped = NULL;

  if (!hir_store_clear_account_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  escaped = g_uri_escape_string (hir_account_get_id (account), "@+", FALSE);
  cache_task = g_task_new (NULL, NULL, remove_cache_cb, g_steal_pointer (&task));
  g_task_set_task_data (cache_task, g_build_filename (self->cache_dir, escaped, NULL), g_free);
  g_task_run_in_thread (cache_task, remove_cache_thread);
}

void
hir_engine_remove_account_async (HirEngine           *self,
                                 HirAccount          *account,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  AccountSlot *slot;
  guint position;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_ACCOUNT (account));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_engine_remove_account_async);
  g_object_set_data_full (G_OBJECT (task), "hir-account", g_object_ref (account),
                          g_object_unref);

  slot = find_slot (self, hir_account_get_id (account));
  if (slot == NULL || !g_list_store_find (self->accounts, account, &position))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG, "There is no account %s",
                               hir_account_get_id (account));
      return;
    }

  /* The configuration first: once it is saved, the account is gone for the user even if
   * cleaning its cache fails later. */
  g_list_store_remove (self->accounts, position);
  if (!save_accounts (self, &error))
    {
      g_list_store_insert (self->accounts, position, account);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  {
    g_autofree char *key = NULL;

    g_hash_table_steal_extended (self->slots, hir_account_get_id (account),
                                 (gpointer *) &key, NULL);
  }
  account_slot_kill (slot);

  hir_store_clear_account_async (self->store, hir_account_get_id (account), cancellable,
                                 remove_store_cb, g_steal_pointer (&task));
}

gboolean
hir_engine_remove_account_finish (HirEngine     *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
set_password_stored_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  GTask *task = user_data;
  HirEngine *self = g_task_get_source_object (task);
  HirAccount *account = g_object_get_data (G_OBJECT (task), "hir-account");
  const char *password = g_object_get_data (G_OBJECT (task), "hir-password");
  g_autoptr(GError) error = NULL;
  AccountSlot *slot;

  if (result != NULL && !hir_secrets_store_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  slot = slot_for_task (self, account, task);
  if (slot == NULL)
    {
      g_object_unref (task);
      return;
    }
  if (slot->provider != NULL)
    hir_provider_set_password (slot->provider, password);
  slot->auth_failed = FALSE;
  request_sync (slot, task);
}

static void
free_password (gpointer data)
{
  char *password = data;

  memset (password, 0, strlen (password));
  g_free (password);
}

void
hir_engine_set_password_async (HirEngine           *self,
                               HirAccount          *account,
                               const char          *password,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  const char *command;

  g_return_if_fail (HIR_IS_ENGINE (self));
  g_return_if_fail (HIR_IS_ACCOUNT (account));
  g_return_if_fail (password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_engine_set_password_async);
  g_object_set_data_full (G_OBJECT (task), "hir-account", g_object_ref (account),
                          g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "hir-password", g_strdup (password), free_password);

  command = hir_account_get_password_command (account);
  if (command != NULL && *command != '\0')
    {
      /* The command stays the source of truth; the new password is used until the
       * next start. */
      set_password_stored_cb (NULL, NULL, task);
      return;
    }
  hir_secrets_store_async (account, password, cancellable, set_password_stored_cb, task);
}

gboolean
hir_engine_set_password_finish (HirEngine     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
