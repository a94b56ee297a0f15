/* hir-jmap-provider.c: HirProvider over JMAP (RFC 8620, RFC 8621)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "hir-error.h"
#include "hir-jmap-mail.h"
#include "hir-jmap-provider.h"

#define STATE_MAILBOX "jmap:Mailbox"
#define STATE_EMAIL   "jmap:Email"

#define DEFAULT_POLL_INTERVAL 60
#define FIRST_PAGE_SIZE       100

struct _HirJmapProvider
{
  GObject parent_instance;

  HirAccount *account;
  HirStore *store;
  HirJmapClient *client;
  char *password;

  guint poll_interval;
  guint page_size;
  char *event_source_url;
  const char *watch_mode;

  /* Watching: set between start_watching and stop_watching. */
  gboolean watching;
  GCancellable *watch_cancellable;
  GDataInputStream *events;
  char *event_type;
  GString *event_data;
  guint poll_source;
  /* The server has had a stream open before: when it breaks, each poll also tries to
   * get it back. A server that answered 204 is not asked again until restarted. */
  gboolean push_seen;
  gboolean opening;

  guint emails_fetched;
  guint email_queries;
  guint email_changes;
};

static void hir_jmap_provider_iface_init (HirProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HirJmapProvider, hir_jmap_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (HIR_TYPE_PROVIDER,
                                                      hir_jmap_provider_iface_init))

enum {
  PROP_0,
  PROP_POLL_INTERVAL,
  PROP_PAGE_SIZE,
  PROP_EVENT_SOURCE_URL,
  PROP_WATCH_MODE,
  PROP_CLIENT,
  PROP_EMAILS_FETCHED,
  PROP_EMAIL_QUERIES,
  PROP_EMAIL_CHANGES,
  N_PROPS,

  /* The interface's, overridden. */
  PROP_ACCOUNT = N_PROPS,
  PROP_STORE,
};

static GParamSpec *properties[N_PROPS];

static void stop_watching (HirJmapProvider *self);

/* g_set_str() is GLib 2.76. */
static gboolean
replace_str (char       **slot,
             const char  *value)
{
  if (g_strcmp0 (*slot, value) == 0)
    return FALSE;
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

static void
hir_jmap_provider_dispose (GObject *object)
{
  HirJmapProvider *self = (HirJmapProvider *) object;

  stop_watching (self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (hir_jmap_provider_parent_class)->dispose (object);
}

static void
hir_jmap_provider_finalize (GObject *object)
{
  HirJmapProvider *self = (HirJmapProvider *) object;

  g_clear_object (&self->account);
  g_clear_object (&self->store);
  g_clear_pointer (&self->event_source_url, g_free);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_clear_pointer (&self->password, g_free);

  G_OBJECT_CLASS (hir_jmap_provider_parent_class)->finalize (object);
}

static void
hir_jmap_provider_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      g_value_set_object (value, self->account);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_POLL_INTERVAL:
      g_value_set_uint (value, self->poll_interval);
      break;
    case PROP_PAGE_SIZE:
      g_value_set_uint (value, self->page_size);
      break;
    case PROP_EVENT_SOURCE_URL:
      g_value_set_string (value, self->event_source_url);
      break;
    case PROP_WATCH_MODE:
      g_value_set_string (value, self->watch_mode);
      break;
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_EMAILS_FETCHED:
      g_value_set_uint (value, self->emails_fetched);
      break;
    case PROP_EMAIL_QUERIES:
      g_value_set_uint (value, self->email_queries);
      break;
    case PROP_EMAIL_CHANGES:
      g_value_set_uint (value, self->email_changes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_jmap_provider_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      self->account = g_value_dup_object (value);
      break;
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_POLL_INTERVAL:
      hir_jmap_provider_set_poll_interval (self, g_value_get_uint (value));
      break;
    case PROP_PAGE_SIZE:
      if (self->page_size != g_value_get_uint (value))
        {
          self->page_size = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_EVENT_SOURCE_URL:
      hir_jmap_provider_set_event_source_url (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_jmap_provider_class_init (HirJmapProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_jmap_provider_dispose;
  object_class->finalize = hir_jmap_provider_finalize;
  object_class->get_property = hir_jmap_provider_get_property;
  object_class->set_property = hir_jmap_provider_set_property;

  properties[PROP_POLL_INTERVAL] =
    g_param_spec_uint ("poll-interval", NULL, NULL, 1, G_MAXUINT / 1000, DEFAULT_POLL_INTERVAL,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_PAGE_SIZE] =
    g_param_spec_uint ("page-size", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EVENT_SOURCE_URL] =
    g_param_spec_string ("event-source-url", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_WATCH_MODE] =
    g_param_spec_string ("watch-mode", NULL, NULL, "none",
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, HIR_TYPE_JMAP_CLIENT,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_EMAILS_FETCHED] =
    g_param_spec_uint ("emails-fetched", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EMAIL_QUERIES] =
    g_param_spec_uint ("email-queries", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EMAIL_CHANGES] =
    g_param_spec_uint ("email-changes", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_ACCOUNT, "account");
  g_object_class_override_property (object_class, PROP_STORE, "store");
}

static void
hir_jmap_provider_init (HirJmapProvider *self)
{
  self->poll_interval = DEFAULT_POLL_INTERVAL;
  self->watch_mode = "none";
}

/* The client is made from the account's server settings; when those change (the user
 * trusted a certificate, fixed the URL) the next request must use the new ones. */
static void
rebuild_client (HirJmapProvider *self)
{
  const char *url = hir_account_get_jmap_url (self->account);
  const char *username = hir_account_get_username (self->account);
  gboolean was_watching = self->watching;

  if (username == NULL || *username == '\0')
    username = hir_account_get_address (self->account);

  if (was_watching)
    stop_watching (self);
  g_clear_object (&self->client);
  /* Without a URL there is no client; sync then says what is missing. */
  if (url != NULL && *url != '\0' && username != NULL)
    self->client = hir_jmap_client_new (url, username, self->password,
                                        hir_account_get_trusted_certificate (self->account));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
  if (was_watching)
    hir_provider_start_watching (HIR_PROVIDER (self));
}

static void
account_server_changed_cb (HirJmapProvider *self)
{
  HirJmapClient *client = self->client;
  g_autofree char *url = NULL;
  g_autofree char *username = NULL;
  g_autofree char *pin = NULL;
  const char *account_username = hir_account_get_username (self->account);

  if (account_username == NULL || *account_username == '\0')
    account_username = hir_account_get_address (self->account);
  if (client != NULL)
    g_object_get (client, "session-url", &url, "username", &username,
                  "trusted-certificate", &pin, NULL);
  if (client == NULL ||
      g_strcmp0 (url, hir_account_get_jmap_url (self->account)) != 0 ||
      g_strcmp0 (username, account_username) != 0 ||
      g_strcmp0 (pin, hir_account_get_trusted_certificate (self->account)) != 0)
    rebuild_client (self);
}

HirJmapProvider *
hir_jmap_provider_new (HirAccount *account,
                       HirStore   *store,
                       const char *password)
{
  HirJmapProvider *self;
  const char * const watched[] = { "notify::jmap-url", "notify::username", "notify::address",
                                   "notify::trusted-certificate" };

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (HIR_IS_STORE (store), NULL);

  self = g_object_new (HIR_TYPE_JMAP_PROVIDER,
                       "account", account,
                       "store", store,
                       NULL);
  self->password = g_strdup (password);
  rebuild_client (self);
  for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
    g_signal_connect_object (account, watched[i], G_CALLBACK (account_server_changed_cb), self,
                             G_CONNECT_SWAPPED);
  return self;
}

HirJmapClient *
hir_jmap_provider_get_client (HirJmapProvider *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_PROVIDER (self), NULL);

  return self->client;
}

guint
hir_jmap_provider_get_poll_interval (HirJmapProvider *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_PROVIDER (self), 0);

  return self->poll_interval;
}

const char *
hir_jmap_provider_get_event_source_url (HirJmapProvider *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_PROVIDER (self), NULL);

  return self->event_source_url;
}

void
hir_jmap_provider_set_event_source_url (HirJmapProvider *self,
                                        const char      *url)
{
  g_return_if_fail (HIR_IS_JMAP_PROVIDER (self));

  if (replace_str (&self->event_source_url, url))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVENT_SOURCE_URL]);
}

const char *
hir_jmap_provider_get_watch_mode (HirJmapProvider *self)
{
  g_return_val_if_fail (HIR_IS_JMAP_PROVIDER (self), NULL);

  return self->watch_mode;
}

static void
set_watch_mode (HirJmapProvider *self,
                const char      *mode)
{
  if (g_strcmp0 (self->watch_mode, mode) == 0)
    return;
  g_debug ("%s: watching by %s", hir_account_get_id (self->account), mode);
  self->watch_mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WATCH_MODE]);
}

static void
add_counter (HirJmapProvider *self,
             guint           *counter,
             guint            amount,
             guint            prop_id)
{
  if (amount == 0)
    return;
  *counter += amount;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static gboolean
check_client (HirJmapProvider  *self,
              GError          **error)
{
  if (self->client != NULL)
    return TRUE;
  /* Translators: %s is the account (its e-mail address). */
  g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG,
               _("The account %s has no JMAP server address"), hir_account_get_id (self->account));
  return FALSE;
}

/* Building requests */

/* Starts ["Name", {"accountId": …, — the caller adds its arguments and calls
 * end_invocation(). */
static void
begin_invocation (HirJmapProvider *self,
                  JsonBuilder     *builder,
                  const char      *name)
{
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, name);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "accountId");
  json_builder_add_string_value (builder, hir_jmap_client_get_account_id (self->client));
}

static void
end_invocation (JsonBuilder *builder,
                const char  *call_id)
{
  json_builder_end_object (builder);
  json_builder_add_string_value (builder, call_id);
  json_builder_end_array (builder);
}

static void
add_strings (JsonBuilder        *builder,
             const char         *member,
             const char * const *strings)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; strings[i] != NULL; i++)
    json_builder_add_string_value (builder, strings[i]);
  json_builder_end_array (builder);
}

/* "#ids": {"resultOf": …, "name": …, "path": …} (RFC 8620 §3.7) */
static void
add_ids_reference (JsonBuilder *builder,
                   const char  *result_of,
                   const char  *name,
                   const char  *path)
{
  json_builder_set_member_name (builder, "#ids");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "resultOf");
  json_builder_add_string_value (builder, result_of);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  json_builder_end_object (builder);
}

static const char * const mailbox_properties[] = {
  "id", "name", "parentId", "role", "sortOrder", NULL
};

static JsonArray *
get_array_member (JsonObject *object,
                  const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* Sync */

typedef struct
{
  char *mailbox_state;
  char *email_state;
  /* Full sync: the Email state of the first page, stored with the last one so changes
   * made while paging are picked up by the next delta. */
  char *full_email_state;
  guint position;
  gboolean cleared;
  gboolean refolded;
  char *email_state_before;
  /* What runs after the store applied a step. */
  void (*next) (GTask *task);

  /* The full sync's pipeline. */
  guint request_position;
  guint total;
  gboolean requesting;
  gboolean applying;
  gboolean applying_last;
  gpointer ready_page;
  GError *page_error;
  /* The task has been returned; late callbacks only drop their references. */
  gboolean finished;
} SyncOp;

static void page_free (gpointer page);

static void
sync_op_free (SyncOp *op)
{
  g_clear_pointer (&op->ready_page, page_free);
  g_clear_error (&op->page_error);
  g_free (op->mailbox_state);
  g_free (op->email_state);
  g_free (op->email_state_before);
  g_free (op->full_email_state);
  g_free (op);
}

static void sync_mailboxes (GTask *task);
static void sync_emails (GTask *task);
static void sync_restart (GTask *task);

static void
sync_fail (GTask  *task,
           GError *error)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  op->finished = TRUE;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    hir_account_set_status_from_error (self->account, error);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
sync_done (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  op->finished = TRUE;
  hir_account_set_status (self->account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

typedef void (*SyncStep) (GTask *task);

static void
apply_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    {
      /* A message in a folder the store does not know: the folder was made on the
       * server after our Mailbox step. Fetch all folders once more, then the same
       * changes again (nothing of this step was written). */
      if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND) && !op->refolded)
        {
          HirJmapProvider *self = g_task_get_source_object (task);

          g_debug ("%s: %s; fetching the folders again", hir_account_get_id (self->account),
                   error->message);
          op->refolded = TRUE;
          g_clear_pointer (&op->mailbox_state, g_free);
          if (op->email_state_before != NULL)
            {
              g_free (op->email_state);
              op->email_state = g_steal_pointer (&op->email_state_before);
            }
          sync_mailboxes (task);
          return;
        }
      sync_fail (task, g_steal_pointer (&error));
      return;
    }
  op->next (task);
}

/* Applies @changes in one transaction, then runs @next. */
static void
apply_then (GTask           *task,
            HirStoreChanges *changes,
            SyncStep         next)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  op->next = next;
  hir_store_apply_async (self->store, changes, g_task_get_cancellable (task), apply_cb, task);
}

/* Mailboxes: full */

static void
mailboxes_list_local_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GTask *task = user_data;
  HirStoreChanges *changes = g_object_get_data (G_OBJECT (task), "hir-changes");
  GHashTable *seen = g_object_get_data (G_OBJECT (task), "hir-seen");
  g_autoptr(GPtrArray) local = NULL;
  g_autoptr(GError) error = NULL;

  local = hir_store_list_folders_finish (HIR_STORE (object), result, &error);
  if (local == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  /* A full Mailbox/get is the whole truth: what the store has beyond it is gone. */
  for (guint i = 0; i < local->len; i++)
    {
      const char *remote_id = hir_folder_get_remote_id (g_ptr_array_index (local, i));

      if (!g_hash_table_contains (seen, remote_id))
        hir_store_changes_remove_folder (changes, remote_id);
    }

  apply_then (task, changes, sync_emails);
}

static void
mailboxes_get_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  HirJmapProvider *self = g_task_get_source_object (task);
  const char *account_id = hir_account_get_id (self->account);
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirStoreChanges) changes = NULL;
  g_autoptr(GHashTable) seen = NULL;
  JsonObject *get;
  JsonArray *list;
  const char *state;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL ||
      (get = hir_jmap_get_response (responses, 0, "Mailbox/get", &error)) == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  list = get_array_member (get, "list");
  state = json_object_get_string_member_with_default (get, "state", NULL);
  if (list == NULL || state == NULL)
    {
      /* Translators: Mailbox/get, list and state are JMAP protocol words: do not
       * translate them. */
      sync_fail (task, g_error_new_literal (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                            _("The server's Mailbox/get answer has no list "
                                              "or state")));
      return;
    }

  changes = hir_store_changes_new (account_id);
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *mailbox = json_array_get_object_element (list, i);
      g_autoptr(HirFolder) folder = hir_jmap_folder_from_json (account_id, mailbox);

      if (folder == NULL)
        continue;
      g_hash_table_add (seen, g_strdup (hir_folder_get_remote_id (folder)));
      hir_store_changes_upsert_folder (changes, folder);
    }
  hir_store_changes_set_state (changes, STATE_MAILBOX, state);

  g_object_set_data_full (G_OBJECT (task), "hir-changes", g_steal_pointer (&changes),
                          (GDestroyNotify) hir_store_changes_unref);
  g_object_set_data_full (G_OBJECT (task), "hir-seen", g_steal_pointer (&seen),
                          (GDestroyNotify) g_hash_table_unref);
  hir_store_list_folders_async (self->store, account_id, g_task_get_cancellable (task),
                                mailboxes_list_local_cb, task);
}

/* Mailboxes: delta */

static void
mailboxes_changes_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  GTask *task = user_data;
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  const char *account_id = hir_account_get_id (self->account);
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirStoreChanges) changes = NULL;
  JsonObject *delta;
  JsonArray *destroyed;
  const char *new_state;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  delta = hir_jmap_get_response (responses, 0, "Mailbox/changes", &error);
  if (delta == NULL && g_error_matches (error, HIR_ERROR, HIR_ERROR_STATE_MISMATCH))
    {
      /* Folders are few: fetch them all and drop what the server no longer has. */
      g_debug ("%s: %s; fetching all mailboxes", account_id, error->message);
      g_clear_pointer (&op->mailbox_state, g_free);
      sync_mailboxes (task);
      return;
    }
  if (delta == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  changes = hir_store_changes_new (account_id);
  for (guint r = 1; r <= 2; r++)
    {
      JsonObject *get = hir_jmap_get_response (responses, r, "Mailbox/get", &error);
      JsonArray *list;

      if (get == NULL)
        {
          sync_fail (task, g_steal_pointer (&error));
          return;
        }
      list = get_array_member (get, "list");
      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        {
          g_autoptr(HirFolder) folder =
            hir_jmap_folder_from_json (account_id, json_array_get_object_element (list, i));

          if (folder != NULL)
            hir_store_changes_upsert_folder (changes, folder);
        }
    }

  destroyed = get_array_member (delta, "destroyed");
  for (guint i = 0; destroyed != NULL && i < json_array_get_length (destroyed); i++)
    hir_store_changes_remove_folder (changes, json_array_get_string_element (destroyed, i));

  new_state = json_object_get_string_member_with_default (delta, "newState", NULL);
  if (new_state == NULL)
    {
      /* Translators: Mailbox/changes and newState are JMAP protocol words: do not
       * translate them. */
      sync_fail (task, g_error_new_literal (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                            _("The server's Mailbox/changes answer has no "
                                              "newState")));
      return;
    }
  hir_store_changes_set_state (changes, STATE_MAILBOX, new_state);
  g_free (op->mailbox_state);
  op->mailbox_state = g_strdup (new_state);

  apply_then (task, changes,
              json_object_get_boolean_member_with_default (delta, "hasMoreChanges", FALSE)
                ? sync_mailboxes : sync_emails);
}

static void
sync_mailboxes (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;

  json_builder_begin_array (builder);
  if (op->mailbox_state == NULL)
    {
      begin_invocation (self, builder, "Mailbox/get");
      json_builder_set_member_name (builder, "ids");
      json_builder_add_null_value (builder);
      add_strings (builder, "properties", mailbox_properties);
      end_invocation (builder, "m");
    }
  else
    {
      begin_invocation (self, builder, "Mailbox/changes");
      json_builder_set_member_name (builder, "sinceState");
      json_builder_add_string_value (builder, op->mailbox_state);
      end_invocation (builder, "c");

      begin_invocation (self, builder, "Mailbox/get");
      add_ids_reference (builder, "c", "Mailbox/changes", "/created");
      add_strings (builder, "properties", mailbox_properties);
      end_invocation (builder, "g1");

      begin_invocation (self, builder, "Mailbox/get");
      add_ids_reference (builder, "c", "Mailbox/changes", "/updated");
      add_strings (builder, "properties", mailbox_properties);
      end_invocation (builder, "g2");
    }
  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task),
                              op->mailbox_state == NULL ? mailboxes_get_cb : mailboxes_changes_cb,
                              task);
}

/* Emails */

/* Objects per Email/get: the server's limit, or less when a test asks for small pages. */
static guint
get_page_size (HirJmapProvider *self)
{
  guint max = hir_jmap_client_get_max_objects_in_get (self->client);

  return self->page_size > 0 ? MIN (self->page_size, max) : max;
}

/* Adds the summaries of an Email/get answer to @changes; returns how many. */
static guint
add_emails (HirJmapProvider *self,
            HirStoreChanges *changes,
            JsonObject      *get)
{
  const char *account_id = hir_account_get_id (self->account);
  JsonArray *list = get_array_member (get, "list");
  guint n = list ? json_array_get_length (list) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) folder_ids = NULL;
      g_autoptr(HirMessage) message =
        hir_jmap_message_from_json (account_id, json_array_get_object_element (list, i),
                                    &folder_ids);

      if (hir_message_get_remote_id (message) == NULL)
        continue;
      hir_store_changes_upsert_message (changes, message, (const char * const *) folder_ids);
    }
  add_counter (self, &self->emails_fetched, n, PROP_EMAILS_FETCHED);
  return n;
}

/* Full sync: pages of Email/query + Email/get, pipelined. While the store writes page k
 * the request for page k+1 is already at the server, so the server's time and ours
 * overlap; at most one page waits, so memory stays at two pages whatever the mailbox. */

typedef struct
{
  JsonArray *responses;
  gboolean last;
} Page;

static void
page_free (gpointer data)
{
  Page *page = data;

  g_clear_pointer (&page->responses, json_array_unref);
  g_free (page);
}

static void request_email_page (GTask *task);
static void apply_email_page (GTask *task,
                              Page  *page);

static void
page_applied_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean was_last = op->applying_last;
  Page *next;

  op->applying = FALSE;
  if (!hir_store_apply_finish (HIR_STORE (object), result, &error) && !op->finished)
    {
      sync_fail (g_object_ref (task), g_steal_pointer (&error));
      return;
    }
  if (op->finished)
    return;
  if (op->page_error != NULL)
    {
      sync_fail (g_object_ref (task), g_steal_pointer (&op->page_error));
      return;
    }
  if (was_last)
    {
      sync_done (g_object_ref (task));
      return;
    }

  next = g_steal_pointer (&op->ready_page);
  if (next != NULL)
    {
      if (!next->last && !op->requesting)
        request_email_page (task);
      apply_email_page (task, next);
    }
  /* Else the next page is on its way and is applied when it arrives. */
}

/* Takes @page. */
static void
apply_email_page (GTask *task,
                  Page  *page)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (hir_account_get_id (self->account));
  g_autoptr(GError) error = NULL;
  JsonObject *get;

  get = hir_jmap_get_response (page->responses, 1, "Email/get", &error);
  if (get == NULL)
    {
      page_free (page);
      sync_fail (g_object_ref (task), g_steal_pointer (&error));
      return;
    }

  /* Pages are applied in order, so the first one seen holds the state from before any
   * page was read: changes made while paging are picked up by the next delta. */
  if (op->full_email_state == NULL)
    {
      op->full_email_state = g_strdup (json_object_get_string_member_with_default (get, "state",
                                                                                   NULL));
      if (op->full_email_state == NULL)
        {
          page_free (page);
          /* Translators: Email/get and state are JMAP protocol words: do not translate
           * them. */
          sync_fail (g_object_ref (task),
                     g_error_new_literal (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                          _("The server's Email/get answer has no state")));
          return;
        }
    }

  op->position += add_emails (self, changes, get);
  if (page->last)
    hir_store_changes_set_state (changes, STATE_EMAIL, op->full_email_state);
  g_debug ("%s: full sync, %u of %u messages", hir_account_get_id (self->account),
           op->position, op->total);

  op->applying = TRUE;
  op->applying_last = page->last;
  page_free (page);
  hir_store_apply_async (self->store, changes, g_task_get_cancellable (task), page_applied_cb,
                         g_object_ref (task));
}

static void
email_page_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *query;
  JsonArray *ids;
  guint n_ids;
  Page *page;

  op->requesting = FALSE;
  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (op->finished)
    return;
  if (responses == NULL ||
      (query = hir_jmap_get_response (responses, 0, "Email/query", &error)) == NULL)
    {
      /* A page being written finishes first; its callback reports the error. */
      if (op->applying)
        op->page_error = g_steal_pointer (&error);
      else
        sync_fail (g_object_ref (task), g_steal_pointer (&error));
      return;
    }

  ids = get_array_member (query, "ids");
  n_ids = ids ? json_array_get_length (ids) : 0;
  op->total = (guint) CLAMP (json_object_get_int_member_with_default (query, "total", 0),
                             0, G_MAXUINT);
  op->request_position += n_ids;

  page = g_new0 (Page, 1);
  page->responses = g_steal_pointer (&responses);
  page->last = n_ids == 0 || op->request_position >= op->total;

  if (op->applying)
    {
      op->ready_page = page;
      return;
    }
  if (!page->last)
    request_email_page (task);
  apply_email_page (task, page);
}

static void
request_email_page (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;

  json_builder_begin_array (builder);

  begin_invocation (self, builder, "Email/query");
  json_builder_set_member_name (builder, "sort");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "property");
  json_builder_add_string_value (builder, "receivedAt");
  json_builder_set_member_name (builder, "isAscending");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "position");
  json_builder_add_int_value (builder, op->request_position);
  json_builder_set_member_name (builder, "limit");
  /* The first page is small: the newest messages reach the list after one quick round
   * trip, and the rest follow in large pages. */
  json_builder_add_int_value (builder, op->request_position == 0
                                       ? MIN (FIRST_PAGE_SIZE, get_page_size (self))
                                       : get_page_size (self));
  json_builder_set_member_name (builder, "calculateTotal");
  json_builder_add_boolean_value (builder, TRUE);
  end_invocation (builder, "q");

  /* One round trip per page: the ids come from the query by back-reference. */
  begin_invocation (self, builder, "Email/get");
  add_ids_reference (builder, "q", "Email/query", "/ids");
  add_strings (builder, "properties", hir_jmap_summary_properties);
  end_invocation (builder, "g");

  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  op->requesting = TRUE;
  add_counter (self, &self->email_queries, 1, PROP_EMAIL_QUERIES);
  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task),
                              email_page_cb, g_object_ref (task));
}

/* Owns the chain's reference to @task from here to sync_done/sync_fail; every request
 * and write in flight holds its own. */
static void
sync_all_emails (GTask *task)
{
  SyncOp *op = g_task_get_task_data (task);

  op->position = 0;
  op->request_position = 0;
  op->total = 0;
  g_clear_pointer (&op->full_email_state, g_free);
  request_email_page (task);
  g_object_unref (task);
}

static void
clear_account_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_store_clear_account_finish (HIR_STORE (object), result, &error))
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }
  sync_restart (task);
}

static void
email_changes_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  const char *account_id = hir_account_get_id (self->account);
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(HirStoreChanges) changes = NULL;
  JsonObject *delta;
  JsonArray *destroyed;
  const char *new_state;
  gboolean more;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  delta = hir_jmap_get_response (responses, 0, "Email/changes", &error);
  if (delta == NULL && g_error_matches (error, HIR_ERROR, HIR_ERROR_STATE_MISMATCH) &&
      !op->cleared)
    {
      /* The server no longer knows our state: what we have may hide deletions we will
       * never hear of, so start over from nothing. */
      g_debug ("%s: %s; clearing the cache for a full sync", account_id, error->message);
      op->cleared = TRUE;
      hir_store_clear_account_async (self->store, account_id, g_task_get_cancellable (task),
                                     clear_account_cb, task);
      return;
    }
  if (delta == NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  changes = hir_store_changes_new (account_id);
  for (guint r = 1; r <= 2; r++)
    {
      JsonObject *get = hir_jmap_get_response (responses, r, "Email/get", &error);

      if (get == NULL)
        {
          sync_fail (task, g_steal_pointer (&error));
          return;
        }
      add_emails (self, changes, get);
    }

  destroyed = get_array_member (delta, "destroyed");
  for (guint i = 0; destroyed != NULL && i < json_array_get_length (destroyed); i++)
    hir_store_changes_remove_message (changes, json_array_get_string_element (destroyed, i));

  new_state = json_object_get_string_member_with_default (delta, "newState", NULL);
  if (new_state == NULL)
    {
      /* Translators: Email/changes and newState are JMAP protocol words: do not
       * translate them. */
      sync_fail (task, g_error_new_literal (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                            _("The server's Email/changes answer has no "
                                              "newState")));
      return;
    }
  hir_store_changes_set_state (changes, STATE_EMAIL, new_state);
  more = json_object_get_boolean_member_with_default (delta, "hasMoreChanges", FALSE) &&
         g_strcmp0 (new_state, op->email_state) != 0;
  /* Kept until the step is written: a retry of the step starts from it. */
  g_free (op->email_state_before);
  op->email_state_before = g_steal_pointer (&op->email_state);
  op->email_state = g_strdup (new_state);

  apply_then (task, changes, more ? sync_emails : sync_done);
}

static void
sync_emails (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) calls = NULL;

  if (op->email_state == NULL)
    {
      sync_all_emails (task);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_array (builder);

  begin_invocation (self, builder, "Email/changes");
  json_builder_set_member_name (builder, "sinceState");
  json_builder_add_string_value (builder, op->email_state);
  json_builder_set_member_name (builder, "maxChanges");
  json_builder_add_int_value (builder, get_page_size (self));
  end_invocation (builder, "c");

  /* Created and updated both need their summary: an update may be a move (mailboxIds)
   * as well as a flag change, and the summary is small. */
  begin_invocation (self, builder, "Email/get");
  add_ids_reference (builder, "c", "Email/changes", "/created");
  add_strings (builder, "properties", hir_jmap_summary_properties);
  end_invocation (builder, "g1");

  begin_invocation (self, builder, "Email/get");
  add_ids_reference (builder, "c", "Email/changes", "/updated");
  add_strings (builder, "properties", hir_jmap_summary_properties);
  end_invocation (builder, "g2");

  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  add_counter (self, &self->email_changes, 1, PROP_EMAIL_CHANGES);
  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task),
                              email_changes_cb, task);
}

static void
get_email_state_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GTask *task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  op->email_state = hir_store_get_state_finish (HIR_STORE (object), result, &error);
  if (error != NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  /* Folders known but no Email state: a full sync was interrupted. Its pages are in the
   * store, but messages deleted since would never be reported: start clean. */
  if (op->email_state == NULL && op->mailbox_state != NULL && !op->cleared)
    {
      HirJmapProvider *self = g_task_get_source_object (task);

      g_debug ("%s: resuming an interrupted first sync from scratch",
               hir_account_get_id (self->account));
      op->cleared = TRUE;
      hir_store_clear_account_async (self->store, hir_account_get_id (self->account),
                                     g_task_get_cancellable (task), clear_account_cb, task);
      return;
    }
  sync_mailboxes (task);
}

static void
get_mailbox_state_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  GTask *task = user_data;
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  op->mailbox_state = hir_store_get_state_finish (HIR_STORE (object), result, &error);
  if (error != NULL)
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }
  hir_store_get_state_async (self->store, hir_account_get_id (self->account), STATE_EMAIL,
                             g_task_get_cancellable (task), get_email_state_cb, task);
}

/* From the stored states, as at the start and after the cache was cleared. */
static void
sync_restart (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  g_clear_pointer (&op->mailbox_state, g_free);
  g_clear_pointer (&op->email_state, g_free);
  hir_store_get_state_async (self->store, hir_account_get_id (self->account), STATE_MAILBOX,
                             g_task_get_cancellable (task), get_mailbox_state_cb, task);
}

static void
sync_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (HIR_JMAP_CLIENT (object), result, &error))
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }
  sync_restart (task);
}

static void
hir_jmap_provider_sync_async (HirProvider         *provider,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (provider);
  GTask *task;
  g_autoptr(GError) error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_provider_sync_async);
  g_task_set_task_data (task, g_new0 (SyncOp, 1), (GDestroyNotify) sync_op_free);

  if (!check_client (self, &error))
    {
      sync_fail (task, g_steal_pointer (&error));
      return;
    }

  /* The session is fetched on the first sync, and again whenever an API response says
   * it changed; in between a sync costs only its API requests. */
  if (hir_jmap_client_has_session (self->client))
    sync_restart (task);
  else
    hir_jmap_client_connect_async (self->client, cancellable, sync_connect_cb, task);
}

static gboolean
hir_jmap_provider_sync_finish (HirProvider   *provider,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Requests outside sync name the account, which comes with the session: fetch it first
 * when the engine asks for a body before any sync (offline start, then online). */
typedef void (*SessionReady) (GTask *task);

static void
session_ready_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  SessionReady ready = (SessionReady) g_object_get_data (G_OBJECT (task), "hir-session-ready");
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (HIR_JMAP_CLIENT (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  ready (task);
}

/* Takes over @task; @ready runs with the session loaded. */
static void
with_session (HirJmapProvider *self,
              GTask           *task,
              SessionReady     ready)
{
  g_autoptr(GError) error = NULL;

  if (!check_client (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (hir_jmap_client_has_session (self->client))
    {
      ready (task);
      return;
    }
  g_object_set_data (G_OBJECT (task), "hir-session-ready", (gpointer) ready);
  hir_jmap_client_connect_async (self->client, g_task_get_cancellable (task), session_ready_cb,
                                 task);
}

/* Bodies and attachments */

static void
fetch_body_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *get;
  JsonArray *list;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL ||
      (get = hir_jmap_get_response (responses, 0, "Email/get", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  list = get_array_member (get, "list");
  if (list == NULL || json_array_get_length (list) == 0 ||
      !JSON_NODE_HOLDS_OBJECT (json_array_get_element (list, 0)))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND, "%s",
                               _("The message is no longer on the server"));
      return;
    }

  g_task_return_pointer (task, hir_jmap_body_from_json (json_array_get_object_element (list, 0)),
                         g_object_unref);
}

static void
fetch_body_send (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;
  const char *ids[] = { g_task_get_task_data (task), NULL };

  json_builder_begin_array (builder);
  begin_invocation (self, builder, "Email/get");
  add_strings (builder, "ids", ids);
  add_strings (builder, "properties", hir_jmap_body_properties);
  add_strings (builder, "bodyProperties", hir_jmap_body_part_properties);
  json_builder_set_member_name (builder, "fetchTextBodyValues");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_set_member_name (builder, "fetchHTMLBodyValues");
  json_builder_add_boolean_value (builder, TRUE);
  /* No maxBodyValueBytes: the reader needs the whole text. */
  end_invocation (builder, "b");
  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task), fetch_body_cb,
                              task);
}

static void
hir_jmap_provider_fetch_body_async (HirProvider         *provider,
                                    HirMessage          *message,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (provider);
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_provider_fetch_body_async);
  g_task_set_task_data (task, g_strdup (hir_message_get_remote_id (message)), g_free);
  with_session (self, task, fetch_body_send);
}

static HirMessageBody *
hir_jmap_provider_fetch_body_finish (HirProvider   *provider,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fetch_attachment_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *bytes = hir_jmap_client_download_finish (HIR_JMAP_CLIENT (object), result, &error);

  if (bytes == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

static void
hir_jmap_provider_fetch_attachment_async (HirProvider         *provider,
                                          HirMessage          *message,
                                          HirAttachment       *attachment,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (provider);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_jmap_provider_fetch_attachment_async);

  if (!check_client (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  name = hir_attachment_dup_display_name (attachment);
  hir_jmap_client_download_async (self->client, hir_attachment_get_blob_id (attachment), name,
                                  hir_attachment_get_content_type (attachment), cancellable,
                                  fetch_attachment_cb, g_steal_pointer (&task));
}

static GBytes *
hir_jmap_provider_fetch_attachment_finish (HirProvider   *provider,
                                           GAsyncResult  *result,
                                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Flags, moves and destroys: one Email/set each */

typedef enum
{
  SET_FLAGS,
  SET_MOVE,
  SET_DESTROY,
} SetKind;

typedef struct
{
  SetKind kind;
  char *remote_id;
  HirMessageFlags flags;
  char *mailbox_id;
} SetFlags;

static void
set_flags_free (SetFlags *data)
{
  g_free (data->remote_id);
  g_free (data->mailbox_id);
  g_free (data);
}

static void
set_flags_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SetFlags *data = g_task_get_task_data (task);
  const char *remote_id = data->remote_id;
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *set;
  JsonNode *not_updated;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL ||
      (set = hir_jmap_get_response (responses, 0, "Email/set", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  not_updated = json_object_get_member (set, data->kind == SET_DESTROY ? "notDestroyed"
                                                                        : "notUpdated");
  if (not_updated != NULL && JSON_NODE_HOLDS_OBJECT (not_updated) &&
      json_object_has_member (json_node_get_object (not_updated), remote_id))
    {
      JsonObject *problem = json_object_get_object_member (json_node_get_object (not_updated),
                                                           remote_id);
      const char *type = json_object_get_string_member_with_default (problem, "type", "error");
      const char *description = json_object_get_string_member_with_default (problem,
                                                                            "description", NULL);
      /* A move to a mailbox that is gone is refused as invalidProperties on mailboxIds:
       * for the caller that is "not found" as well. */
      HirErrorCode code = g_str_equal (type, "notFound") ||
                          (data->kind == SET_MOVE && g_str_equal (type, "invalidProperties"))
                          ? HIR_ERROR_NOT_FOUND : HIR_ERROR_SERVER;

      if (description != NULL)
        /* Translators: the first %s is the server's error type (a JMAP word such as
         * "notFound"), the second its description. */
        g_task_return_new_error (task, HIR_ERROR, code,
                                 _("The server did not change the message: %s: %s"),
                                 type, description);
      else
        /* Translators: %s is the server's error type (a JMAP word such as "notFound"). */
        g_task_return_new_error (task, HIR_ERROR, code,
                                 _("The server did not change the message: %s"), type);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

static void
set_flags_send (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SetFlags *data = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;

  json_builder_begin_array (builder);
  begin_invocation (self, builder, "Email/set");
  if (data->kind == SET_DESTROY)
    {
      json_builder_set_member_name (builder, "destroy");
      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, data->remote_id);
      json_builder_end_array (builder);
    }
  else
    {
      json_builder_set_member_name (builder, "update");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, data->remote_id);
      json_builder_begin_object (builder);
      if (data->kind == SET_MOVE)
        {
          /* The whole set: a move leaves the message in the destination only. */
          json_builder_set_member_name (builder, "mailboxIds");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, data->mailbox_id);
          json_builder_add_boolean_value (builder, TRUE);
          json_builder_end_object (builder);
        }
      else
        {
          /* A patch of the four keywords only: other keywords ($forwarded, labels) stay. */
          hir_jmap_add_keywords_patch (builder, data->flags);
        }
      json_builder_end_object (builder);
      json_builder_end_object (builder);
    }
  end_invocation (builder, "s");
  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task), set_flags_cb,
                              task);
}

/* A move first asks whether the destination still exists: Cyrus takes mailboxIds
 * naming a mailbox destroyed meanwhile, which would leave the message in no mailbox. */
static void
move_check_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SetFlags *data = g_task_get_task_data (task);
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *get;
  JsonNode *list;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL ||
      (get = hir_jmap_get_response (responses, 0, "Mailbox/get", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  list = json_object_get_member (get, "list");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list) ||
      json_array_get_length (json_node_get_array (list)) == 0)
    {
      /* Translators: %s is a folder's id on the server. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("The folder %s is gone from the server"), data->mailbox_id);
      return;
    }
  set_flags_send (g_steal_pointer (&task));
}

static void
move_check_send (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SetFlags *data = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;
  const char *ids[] = { data->mailbox_id, NULL };
  const char *wanted[] = { "id", NULL };

  json_builder_begin_array (builder);
  begin_invocation (self, builder, "Mailbox/get");
  add_strings (builder, "ids", ids);
  add_strings (builder, "properties", wanted);
  end_invocation (builder, "m");
  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task), move_check_cb,
                              task);
}

/* A destroy first asks where the message is: only a message in Trash alone is removed
 * for good. One queued while offline may have been moved elsewhere meanwhile; that one
 * is kept (the sync brings it back where it now is). */
static void
destroy_check_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonArray) responses = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) roles = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) ids = NULL;
  JsonObject *emails, *mailboxes, *email;
  JsonArray *list;
  JsonNode *mailbox_ids;

  responses = hir_jmap_client_call_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (responses == NULL ||
      (emails = hir_jmap_get_response (responses, 0, "Email/get", &error)) == NULL ||
      (mailboxes = hir_jmap_get_response (responses, 1, "Mailbox/get", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  list = json_object_get_array_member (mailboxes, "list");
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *mailbox = json_array_get_object_element (list, i);

      g_hash_table_insert (roles,
                           (gpointer) json_object_get_string_member_with_default (mailbox, "id", ""),
                           (gpointer) json_object_get_string_member_with_default (mailbox, "role", ""));
    }

  list = json_object_get_array_member (emails, "list");
  if (list == NULL || json_array_get_length (list) == 0)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("The message is gone from the server"));
      return;
    }
  email = json_array_get_object_element (list, 0);
  mailbox_ids = json_object_get_member (email, "mailboxIds");
  if (mailbox_ids != NULL && JSON_NODE_HOLDS_OBJECT (mailbox_ids))
    ids = json_object_get_members (json_node_get_object (mailbox_ids));
  for (GList *l = ids; l != NULL; l = l->next)
    if (g_strcmp0 (g_hash_table_lookup (roles, l->data), "trash") != 0)
      {
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER,
                                 _("The message was moved out of Trash meanwhile and is kept"));
        return;
      }
  set_flags_send (g_steal_pointer (&task));
}

static void
destroy_check_send (GTask *task)
{
  HirJmapProvider *self = g_task_get_source_object (task);
  SetFlags *data = g_task_get_task_data (task);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) calls = NULL;
  const char *ids[] = { data->remote_id, NULL };
  const char *email_wanted[] = { "mailboxIds", NULL };
  const char *mailbox_wanted[] = { "id", "role", NULL };

  json_builder_begin_array (builder);
  begin_invocation (self, builder, "Email/get");
  add_strings (builder, "ids", ids);
  add_strings (builder, "properties", email_wanted);
  end_invocation (builder, "e");
  begin_invocation (self, builder, "Mailbox/get");
  json_builder_set_member_name (builder, "ids");
  json_builder_add_null_value (builder);
  add_strings (builder, "properties", mailbox_wanted);
  end_invocation (builder, "m");
  json_builder_end_array (builder);
  calls = json_builder_get_root (builder);

  hir_jmap_client_call_async (self->client, calls, g_task_get_cancellable (task),
                              destroy_check_cb, task);
}

static void
start_set (HirJmapProvider     *self,
           SetFlags            *data,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) set_flags_free);
  with_session (self, task,
                data->kind == SET_MOVE ? move_check_send :
                data->kind == SET_DESTROY ? destroy_check_send : set_flags_send);
}

static void
hir_jmap_provider_set_flags_async (HirProvider         *provider,
                                   HirMessage          *message,
                                   HirMessageFlags      flags,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  SetFlags *data = g_new0 (SetFlags, 1);

  data->kind = SET_FLAGS;
  data->remote_id = g_strdup (hir_message_get_remote_id (message));
  data->flags = flags;
  start_set (HIR_JMAP_PROVIDER (provider), data, hir_jmap_provider_set_flags_async,
             cancellable, callback, user_data);
}

static void
hir_jmap_provider_move_async (HirProvider         *provider,
                              HirMessage          *message,
                              HirFolder           *destination,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  SetFlags *data = g_new0 (SetFlags, 1);

  data->kind = SET_MOVE;
  data->remote_id = g_strdup (hir_message_get_remote_id (message));
  data->mailbox_id = g_strdup (hir_folder_get_remote_id (destination));
  start_set (HIR_JMAP_PROVIDER (provider), data, hir_jmap_provider_move_async,
             cancellable, callback, user_data);
}

static void
hir_jmap_provider_delete_async (HirProvider         *provider,
                                HirMessage          *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  SetFlags *data = g_new0 (SetFlags, 1);

  data->kind = SET_DESTROY;
  data->remote_id = g_strdup (hir_message_get_remote_id (message));
  start_set (HIR_JMAP_PROVIDER (provider), data, hir_jmap_provider_delete_async,
             cancellable, callback, user_data);
}

static gboolean
hir_jmap_provider_set_flags_finish (HirProvider   *provider,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Watching */

static void open_event_source (HirJmapProvider *self);

static gboolean
poll_cb (gpointer user_data)
{
  HirJmapProvider *self = user_data;

  hir_provider_emit_remote_changed (HIR_PROVIDER (self));
  if (self->push_seen && self->events == NULL && !self->opening)
    open_event_source (self);
  return G_SOURCE_CONTINUE;
}

static void
start_polling (HirJmapProvider *self)
{
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (!self->watching)
    return;
  self->poll_source = g_timeout_add (self->poll_interval * 1000, poll_cb, self);
  set_watch_mode (self, "poll");
}

void
hir_jmap_provider_set_poll_interval (HirJmapProvider *self,
                                     guint            seconds)
{
  g_return_if_fail (HIR_IS_JMAP_PROVIDER (self));
  g_return_if_fail (seconds > 0);

  if (self->poll_interval == seconds)
    return;
  self->poll_interval = seconds;
  if (self->poll_source != 0)
    start_polling (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLL_INTERVAL]);
}

/* A StateChange (RFC 8620 §7.1) that names our account means something changed. */
static void
dispatch_event (HirJmapProvider *self)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  JsonObject *changed;
  const char *account_id;

  if (g_strcmp0 (self->event_type, "state") != 0 || self->event_data->len == 0)
    return;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, self->event_data->str, self->event_data->len, NULL))
    {
      g_debug ("%s: ignoring an event that is not JSON", hir_account_get_id (self->account));
      return;
    }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "changed") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (root), "changed")))
    return;
  changed = json_object_get_object_member (json_node_get_object (root), "changed");
  account_id = hir_jmap_client_get_account_id (self->client);
  if (account_id != NULL && json_object_has_member (changed, account_id))
    hir_provider_emit_remote_changed (HIR_PROVIDER (self));
}

/* One line of text/event-stream (the HTML Living Standard's EventSource format). */
static void
handle_event_line (HirJmapProvider *self,
                   const char      *line)
{
  const char *colon;
  g_autofree char *field = NULL;
  const char *value;

  if (*line == '\0')
    {
      dispatch_event (self);
      g_clear_pointer (&self->event_type, g_free);
      g_string_truncate (self->event_data, 0);
      return;
    }
  if (line[0] == ':')
    return;

  colon = strchr (line, ':');
  if (colon != NULL)
    {
      field = g_strndup (line, colon - line);
      value = colon + 1;
      if (*value == ' ')
        value++;
    }
  else
    {
      field = g_strdup (line);
      value = "";
    }

  if (g_str_equal (field, "event"))
    replace_str (&self->event_type, value);
  else if (g_str_equal (field, "data"))
    {
      if (self->event_data->len > 0)
        g_string_append_c (self->event_data, '\n');
      g_string_append (self->event_data, value);
    }
}

static void
close_events (HirJmapProvider *self)
{
  if (self->events != NULL)
    g_input_stream_close_async (G_INPUT_STREAM (self->events), G_PRIORITY_DEFAULT, NULL,
                                NULL, NULL);
  g_clear_object (&self->events);
  g_clear_pointer (&self->event_type, g_free);
  if (self->event_data != NULL)
    g_string_truncate (self->event_data, 0);
}

static void
read_event_line_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(HirJmapProvider) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize len = 0;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object), result, &len,
                                                    &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      G_INPUT_STREAM (object) != G_INPUT_STREAM (self->events))
    return;

  if (line == NULL)
    {
      /* The stream ended or broke: what happened meanwhile is unknown, so sync once,
       * and keep up by polling. */
      g_debug ("%s: event stream ended%s%s", hir_account_get_id (self->account),
               error ? ": " : "", error ? error->message : "");
      close_events (self);
      start_polling (self);
      hir_provider_emit_remote_changed (HIR_PROVIDER (self));
      return;
    }

  /* Lines end in LF, CRLF or CR; the data stream splits on any of them. */
  handle_event_line (self, line);

  g_data_input_stream_read_line_async (self->events, G_PRIORITY_DEFAULT, self->watch_cancellable,
                                       read_event_line_cb, g_object_ref (self));
}

static void
open_event_source_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(HirJmapProvider) self = user_data;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  stream = hir_jmap_client_open_event_source_finish (HIR_JMAP_CLIENT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->watching)
    return;
  self->opening = FALSE;

  if (stream == NULL)
    {
      g_debug ("%s: no push (%s); polling every %u s", hir_account_get_id (self->account),
               error->message, self->poll_interval);
      if (self->poll_source == 0)
        start_polling (self);
      return;
    }

  /* Push is back (or here for the first time): polling is no longer needed. */
  self->push_seen = TRUE;
  g_clear_handle_id (&self->poll_source, g_source_remove);
  self->events = g_data_input_stream_new (stream);
  g_data_input_stream_set_newline_type (self->events, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  if (self->event_data == NULL)
    self->event_data = g_string_new (NULL);
  set_watch_mode (self, "push");
  g_data_input_stream_read_line_async (self->events, G_PRIORITY_DEFAULT, self->watch_cancellable,
                                       read_event_line_cb, g_object_ref (self));
}

static void
open_event_source (HirJmapProvider *self)
{
  const char *template = self->event_source_url;
  g_autofree char *url = NULL;

  if (template == NULL)
    template = hir_jmap_client_get_event_source_url (self->client);
  if (template == NULL)
    {
      start_polling (self);
      return;
    }

  /* closeafter=no keeps one stream open; the server's pings show it is alive. */
  url = hir_jmap_expand_template (template,
                                  "types", "Email,Mailbox",
                                  "closeafter", "no",
                                  "ping", "30",
                                  NULL);
  /* While polling, a reconnection attempt stays quiet: the mode says what works now. */
  if (self->poll_source == 0)
    set_watch_mode (self, "connecting");
  self->opening = TRUE;
  hir_jmap_client_open_event_source_async (self->client, url, self->watch_cancellable,
                                           open_event_source_cb, g_object_ref (self));
}

static void
watch_connect_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(HirJmapProvider) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_jmap_client_connect_finish (HIR_JMAP_CLIENT (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->watching)
        return;
      start_polling (self);
      return;
    }
  if (self->watching)
    open_event_source (self);
}

static void
hir_jmap_provider_start_watching (HirProvider *provider)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (provider);

  if (self->watching || self->client == NULL)
    return;

  self->watching = TRUE;
  self->watch_cancellable = g_cancellable_new ();

  if (!hir_jmap_client_has_session (self->client))
    hir_jmap_client_connect_async (self->client, self->watch_cancellable, watch_connect_cb,
                                   g_object_ref (self));
  else
    open_event_source (self);
}

static void
stop_watching (HirJmapProvider *self)
{
  self->watching = FALSE;
  self->opening = FALSE;
  self->push_seen = FALSE;
  g_cancellable_cancel (self->watch_cancellable);
  g_clear_object (&self->watch_cancellable);
  close_events (self);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->event_data != NULL)
    {
      g_string_free (self->event_data, TRUE);
      self->event_data = NULL;
    }
  set_watch_mode (self, "none");
}

static void
hir_jmap_provider_stop_watching (HirProvider *provider)
{
  stop_watching (HIR_JMAP_PROVIDER (provider));
}

static void
hir_jmap_provider_set_password (HirProvider *provider,
                                const char  *password)
{
  HirJmapProvider *self = HIR_JMAP_PROVIDER (provider);

  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  if (self->client != NULL)
    hir_jmap_client_set_password (self->client, password);
}

static void
hir_jmap_provider_iface_init (HirProviderInterface *iface)
{
  iface->sync_async = hir_jmap_provider_sync_async;
  iface->sync_finish = hir_jmap_provider_sync_finish;
  iface->fetch_body_async = hir_jmap_provider_fetch_body_async;
  iface->fetch_body_finish = hir_jmap_provider_fetch_body_finish;
  iface->fetch_attachment_async = hir_jmap_provider_fetch_attachment_async;
  iface->fetch_attachment_finish = hir_jmap_provider_fetch_attachment_finish;
  iface->set_flags_async = hir_jmap_provider_set_flags_async;
  iface->set_flags_finish = hir_jmap_provider_set_flags_finish;
  iface->move_async = hir_jmap_provider_move_async;
  iface->move_finish = hir_jmap_provider_set_flags_finish;
  iface->delete_async = hir_jmap_provider_delete_async;
  iface->delete_finish = hir_jmap_provider_set_flags_finish;
  iface->start_watching = hir_jmap_provider_start_watching;
  iface->stop_watching = hir_jmap_provider_stop_watching;
  iface->set_password = hir_jmap_provider_set_password;
}
