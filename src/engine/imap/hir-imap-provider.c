/* hir-imap-provider.c: HirProvider over IMAP4rev1 (+CONDSTORE/QRESYNC, IDLE)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <gmime/gmime.h>

#include "hir-error.h"
#include "hir-imap-mail.h"
#include "hir-imap-provider.h"

#define DEFAULT_POLL_INTERVAL  300
#define DEFAULT_IDLE_INTERVAL  (25 * 60)
#define MAX_BACKOFF            300
/* Headers come in chunks of this many UIDs, this many chunks in flight: big enough to
 * keep the link busy, small enough that one transaction stays short and a dropped
 * connection loses little. */
#define FETCH_CHUNK            400
#define FETCH_WINDOW           3
/* VANISHED (EARLIER) ranges may cover UIDs never seen; past this many, do not expand. */
#define MAX_VANISHED_EXPAND    200000

#define HEADER_ITEMS \
  "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE " \
  "BODY.PEEK[HEADER.FIELDS (REFERENCES)]"

struct _HirImapProvider
{
  GObject parent_instance;

  HirAccount *account;
  HirStore *store;
  char *password;

  /* The pool: each connection has one job, so a long sync never delays opening a
   * message, and IDLE never blocks either. */
  HirImapClient *sync_client;
  HirImapClient *ops_client;
  HirImapClient *idle_client;

  /* Sync: one at a time; callers meanwhile share its result. */
  GTask *sync_task;
  GPtrArray *sync_waiters;

  /* The operations connection runs one operation at a time: each may SELECT. */
  GQueue ops_queue;
  gboolean ops_busy;

  /* Watching */
  gboolean watching;
  GCancellable *watch_cancellable;
  const char *watch_mode;
  guint poll_interval;
  guint idle_interval;
  guint poll_source;
  guint reidle_source;
  guint reconnect_source;
  guint changed_source;
  guint backoff;
  gboolean idling;

  GStrv ignored_capabilities;

  guint fetch_commands;
  guint messages_fetched;
  guint selects;
};

static void hir_imap_provider_iface_init (HirProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HirImapProvider, hir_imap_provider, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (HIR_TYPE_PROVIDER,
                                                      hir_imap_provider_iface_init))

enum {
  PROP_0,
  PROP_POLL_INTERVAL,
  PROP_IDLE_INTERVAL,
  PROP_WATCH_MODE,
  PROP_FETCH_COMMANDS,
  PROP_MESSAGES_FETCHED,
  PROP_SELECTS,
  PROP_IGNORED_CAPABILITIES,
  N_PROPS,

  PROP_ACCOUNT = N_PROPS,
  PROP_STORE,
};

static GParamSpec *properties[N_PROPS];

static void stop_watching (HirImapProvider *self);
static void ops_next (HirImapProvider *self);

static void
drop_client (HirImapClient **slot)
{
  if (*slot == NULL)
    return;
  hir_imap_client_close (*slot);
  g_clear_object (slot);
}

static void
hir_imap_provider_dispose (GObject *object)
{
  HirImapProvider *self = (HirImapProvider *) object;

  stop_watching (self);
  drop_client (&self->sync_client);
  drop_client (&self->ops_client);

  G_OBJECT_CLASS (hir_imap_provider_parent_class)->dispose (object);
}

static void
hir_imap_provider_finalize (GObject *object)
{
  HirImapProvider *self = (HirImapProvider *) object;

  g_clear_object (&self->account);
  g_clear_object (&self->store);
  g_clear_pointer (&self->sync_waiters, g_ptr_array_unref);
  g_strfreev (self->ignored_capabilities);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);

  G_OBJECT_CLASS (hir_imap_provider_parent_class)->finalize (object);
}

static void
hir_imap_provider_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (object);

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
    case PROP_IDLE_INTERVAL:
      g_value_set_uint (value, self->idle_interval);
      break;
    case PROP_WATCH_MODE:
      g_value_set_string (value, self->watch_mode);
      break;
    case PROP_FETCH_COMMANDS:
      g_value_set_uint (value, self->fetch_commands);
      break;
    case PROP_MESSAGES_FETCHED:
      g_value_set_uint (value, self->messages_fetched);
      break;
    case PROP_SELECTS:
      g_value_set_uint (value, self->selects);
      break;
    case PROP_IGNORED_CAPABILITIES:
      g_value_set_boxed (value, self->ignored_capabilities);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_imap_provider_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      self->account = g_value_dup_object (value);
      break;
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_POLL_INTERVAL:
      if (self->poll_interval != g_value_get_uint (value))
        {
          self->poll_interval = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_IDLE_INTERVAL:
      if (self->idle_interval != g_value_get_uint (value))
        {
          self->idle_interval = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_IGNORED_CAPABILITIES:
      /* Takes effect for the connections made from now on. */
      g_strfreev (self->ignored_capabilities);
      self->ignored_capabilities = g_value_dup_boxed (value);
      g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_imap_provider_class_init (HirImapProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_imap_provider_dispose;
  object_class->finalize = hir_imap_provider_finalize;
  object_class->get_property = hir_imap_provider_get_property;
  object_class->set_property = hir_imap_provider_set_property;

  properties[PROP_POLL_INTERVAL] =
    g_param_spec_uint ("poll-interval", NULL, NULL, 1, G_MAXUINT / 1000, DEFAULT_POLL_INTERVAL,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_IDLE_INTERVAL] =
    g_param_spec_uint ("idle-interval", NULL, NULL, 1, G_MAXUINT / 1000, DEFAULT_IDLE_INTERVAL,
                       (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_WATCH_MODE] =
    g_param_spec_string ("watch-mode", NULL, NULL, "none",
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_FETCH_COMMANDS] =
    g_param_spec_uint ("fetch-commands", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_MESSAGES_FETCHED] =
    g_param_spec_uint ("messages-fetched", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_IGNORED_CAPABILITIES] =
    g_param_spec_boxed ("ignored-capabilities", NULL, NULL, G_TYPE_STRV,
                        (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_SELECTS] =
    g_param_spec_uint ("selects", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_ACCOUNT, "account");
  g_object_class_override_property (object_class, PROP_STORE, "store");

  /* GMime decodes headers and bodies; its init is reference counted. */
  g_mime_init ();
}

static void
hir_imap_provider_init (HirImapProvider *self)
{
  self->poll_interval = DEFAULT_POLL_INTERVAL;
  self->idle_interval = DEFAULT_IDLE_INTERVAL;
  self->watch_mode = "none";
  self->sync_waiters = g_ptr_array_new ();
  g_queue_init (&self->ops_queue);
}

HirImapProvider *
hir_imap_provider_new (HirAccount *account,
                       HirStore   *store,
                       const char *password)
{
  HirImapProvider *self;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (HIR_IS_STORE (store), NULL);

  self = g_object_new (HIR_TYPE_IMAP_PROVIDER,
                       "account", account,
                       "store", store,
                       NULL);
  self->password = g_strdup (password);
  return self;
}

const char *
hir_imap_provider_get_watch_mode (HirImapProvider *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_PROVIDER (self), NULL);

  return self->watch_mode;
}

guint
hir_imap_provider_get_fetch_commands (HirImapProvider *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_PROVIDER (self), 0);

  return self->fetch_commands;
}

guint
hir_imap_provider_get_messages_fetched (HirImapProvider *self)
{
  g_return_val_if_fail (HIR_IS_IMAP_PROVIDER (self), 0);

  return self->messages_fetched;
}

static void
add_counter (HirImapProvider *self,
             guint           *counter,
             guint            amount,
             guint            prop_id)
{
  if (amount == 0)
    return;
  *counter += amount;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
set_watch_mode (HirImapProvider *self,
                const char      *mode)
{
  if (g_strcmp0 (self->watch_mode, mode) == 0)
    return;
  g_debug ("%s: watching by %s", hir_account_get_id (self->account), mode);
  self->watch_mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WATCH_MODE]);
}

/* Connections */

static HirImapClient *
new_client (HirImapProvider  *self,
            GError          **error)
{
  const char *host = hir_account_get_imap_host (self->account);
  const char *username = hir_account_get_username (self->account);
  HirImapClient *client;

  if (host == NULL || *host == '\0')
    {
      /* Translators: %s is an account's name (an email address, usually). */
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("The account %s has no IMAP server"),
                   hir_account_get_id (self->account));
      return NULL;
    }
  if (username == NULL || *username == '\0')
    username = hir_account_get_address (self->account);
  client = hir_imap_client_new (host, hir_account_get_imap_port (self->account),
                                hir_account_get_imap_security (self->account), username,
                                self->password,
                                hir_account_get_trusted_certificate (self->account));
  hir_imap_client_set_ignored_capabilities (client,
                                            (const char * const *) self->ignored_capabilities);
  return client;
}

static void
ensure_connected_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_imap_client_connect_finish (HIR_IMAP_CLIENT (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_object_ref (object), g_object_unref);
}

/* The connection in @slot, connected: reused when alive, else a new one. */
static void
ensure_client_async (HirImapProvider     *self,
                     HirImapClient      **slot,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, ensure_client_async);

  if (*slot != NULL && hir_imap_client_is_connected (*slot))
    {
      g_task_return_pointer (task, g_object_ref (*slot), g_object_unref);
      return;
    }
  drop_client (slot);
  *slot = new_client (self, &error);
  if (*slot == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  hir_imap_client_connect_async (*slot, cancellable, ensure_connected_cb,
                                 g_steal_pointer (&task));
}

static HirImapClient *
ensure_client_finish (HirImapProvider  *self,
                      GAsyncResult     *result,
                      GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Response helpers */

/* "* 3 FETCH (…)": the item list, or NULL. */
static const HirImapValue *
fetch_items (const HirImapResponse *response)
{
  if (response->status != HIR_IMAP_STATUS_NONE ||
      !hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 1), "FETCH"))
    return NULL;
  return hir_imap_value_get_item (response->data, 2);
}

static gboolean
code_number (const HirImapResponse *response,
             const char            *name,
             guint64               *number)
{
  if (response->code == NULL ||
      !hir_imap_value_is_atom (hir_imap_value_get_item (response->code, 0), name))
    return FALSE;
  return hir_imap_value_get_number (hir_imap_value_get_item (response->code, 1), number);
}

static char *
state_key (const char *mailbox,
           const char *what)
{
  return g_strdup_printf ("imap:%s:%s", mailbox, what);
}

static char *
flags_text (HirMessageFlags flags)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (flags & HIR_MESSAGE_FLAG_SEEN)
    g_string_append (out, " \\Seen");
  if (flags & HIR_MESSAGE_FLAG_FLAGGED)
    g_string_append (out, " \\Flagged");
  if (flags & HIR_MESSAGE_FLAG_ANSWERED)
    g_string_append (out, " \\Answered");
  if (flags & HIR_MESSAGE_FLAG_DRAFT)
    g_string_append (out, " \\Draft");
  return g_strdup (out->len > 0 ? out->str + 1 : "");
}

/* Calls @func for every UID of a sequence set "1:5,9"; ranges past @max are clipped. */
static void
foreach_uid (const char *set,
             guint32     max,
             void      (*func) (guint32 uid, gpointer data),
             gpointer    data)
{
  g_auto(GStrv) ranges = g_strsplit (set != NULL ? set : "", ",", -1);

  for (guint i = 0; ranges[i] != NULL; i++)
    {
      char *colon = strchr (ranges[i], ':');
      guint64 a = g_ascii_strtoull (ranges[i], NULL, 10);
      guint64 b = colon ? g_ascii_strtoull (colon + 1, NULL, 10) : a;

      if (a > b)
        {
          guint64 t = a;
          a = b;
          b = t;
        }
      if (b > max)
        b = max;
      if (a == 0 || b - a > MAX_VANISHED_EXPAND)
        continue;
      for (guint64 uid = a; uid <= b; uid++)
        func ((guint32) uid, data);
    }
}

/* Sync */

typedef struct
{
  char *name;           /* on the wire (modified UTF-7) */
  char delimiter;
  gboolean selectable;
  gboolean subscribed;
  HirFolderRole role;
  gboolean has_status;
  guint64 uidvalidity;
  guint64 uidnext;
  guint64 highestmodseq;
} FolderInfo;

static void
folder_info_free (FolderInfo *info)
{
  g_free (info->name);
  g_free (info);
}

typedef struct
{
  HirImapClient *client;
  GPtrArray *folders;           /* FolderInfo, INBOX first */
  GHashTable *local_folder_ids; /* remote id → local id */
  guint pending;                /* pipelined commands left (STATUS) */
  guint index;

  /* The folder being synced. */
  FolderInfo *folder;
  guint64 stored_uidvalidity;
  guint64 stored_modseq;
  guint64 stored_uidnext;
  guint64 uidvalidity;
  guint64 uidnext;
  guint64 modseq;
  gboolean qresync;
  GArray *server_uids;          /* UIDs, from UID FETCH … (FLAGS) */
  GArray *server_flags;
  GArray *to_fetch;             /* UIDs, newest first */
  guint fetch_pos;
  guint in_flight;
  gboolean failed;
  HirStoreChanges *changes;     /* removals and flag updates of this folder */
} SyncOp;

static void
sync_op_clear_folder (SyncOp *op)
{
  op->folder = NULL;
  op->stored_uidvalidity = op->stored_modseq = op->stored_uidnext = 0;
  op->uidvalidity = op->uidnext = op->modseq = 0;
  op->qresync = FALSE;
  op->fetch_pos = op->in_flight = 0;
  g_clear_pointer (&op->server_uids, g_array_unref);
  g_clear_pointer (&op->server_flags, g_array_unref);
  g_clear_pointer (&op->to_fetch, g_array_unref);
  g_clear_pointer (&op->changes, hir_store_changes_unref);
}

static void
sync_op_free (SyncOp *op)
{
  sync_op_clear_folder (op);
  g_clear_object (&op->client);
  g_clear_pointer (&op->folders, g_ptr_array_unref);
  g_clear_pointer (&op->local_folder_ids, g_hash_table_unref);
  g_free (op);
}

static void sync_next_folder (GTask *task);

static void
sync_finish_waiters (HirImapProvider *self,
                     const GError    *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->sync_waiters);

  self->sync_waiters = g_ptr_array_new ();
  for (guint i = 0; i < waiters->len; i++)
    {
      g_autoptr(GTask) waiter = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (waiter, g_error_copy (error));
      else
        g_task_return_boolean (waiter, TRUE);
    }
}

static void
sync_fail (GTask  *task,
           GError *error)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  if (op->failed)
    {
      g_error_free (error);
      return;
    }
  op->failed = TRUE;
  g_debug ("%s: sync failed: %s", hir_account_get_id (self->account), error->message);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    hir_account_set_status_from_error (self->account, error);
  /* A broken connection is not reused; the next sync makes a new one. */
  if (!g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER) &&
      !g_error_matches (error, HIR_ERROR, HIR_ERROR_STORAGE))
    drop_client (&self->sync_client);
  self->sync_task = NULL;
  hir_account_set_syncing (self->account, FALSE);
  sync_finish_waiters (self, error);
  g_task_return_error (task, error);
}

static void
sync_done (GTask *task)
{
  HirImapProvider *self = g_task_get_source_object (task);

  hir_account_set_status (self->account, HIR_ACCOUNT_STATUS_ONLINE, NULL);
  self->sync_task = NULL;
  hir_account_set_syncing (self->account, FALSE);
  sync_finish_waiters (self, NULL);
  g_task_return_boolean (task, TRUE);
}

/* Folder steps end here: the folder is done, on to the next. */
static void
folder_done (GTask *task)
{
  SyncOp *op = g_task_get_task_data (task);

  sync_op_clear_folder (op);
  op->index++;
  sync_next_folder (task);
}

static void
folder_state (SyncOp          *op,
              HirStoreChanges *changes)
{
  const char *mailbox = op->folder->name;
  g_autofree char *k1 = state_key (mailbox, "uidvalidity");
  g_autofree char *k2 = state_key (mailbox, "highestmodseq");
  g_autofree char *k3 = state_key (mailbox, "uidnext");
  g_autofree char *v1 = g_strdup_printf ("%" G_GUINT64_FORMAT, op->uidvalidity);
  g_autofree char *v2 = g_strdup_printf ("%" G_GUINT64_FORMAT, op->modseq);
  g_autofree char *v3 = g_strdup_printf ("%" G_GUINT64_FORMAT, op->uidnext);

  hir_store_changes_set_state (changes, k1, v1);
  /* Without CONDSTORE there is no modseq: no state rather than a false one. */
  hir_store_changes_set_state (changes, k2, op->modseq != 0 ? v2 : NULL);
  hir_store_changes_set_state (changes, k3, v3);
}

static void
apply_folder_done_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    {
      sync_fail (task, error);
      return;
    }
  folder_done (task);
}

static void
apply_chunk_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    sync_fail (task, error);
}

static void fetch_more (GTask *task);
static int compare_uid_asc (gconstpointer a, gconstpointer b);
static const HirImapValue *lookup_section (const HirImapValue *items, const char *section);

/* Servers without PREVIEW (or whose PREVIEW is NIL, as Debian's Cyrus without its
 * preview settings): the first bytes of the text part, fetched per group of messages that
 * share the part's section, make the preview. */
#define PREVIEW_BYTES 1024

typedef struct
{
  HirMessage *message;   /* borrowed from the chunk */
  char *encoding;
  char *charset;
  gboolean html;
} PreviewTarget;

static void
preview_target_free (PreviewTarget *target)
{
  g_free (target->encoding);
  g_free (target->charset);
  g_free (target);
}

typedef struct
{
  GPtrArray *messages;        /* HirMessage */
  GHashTable *targets;        /* "section\nuid" → PreviewTarget */
  guint pending;
} Chunk;

static void
chunk_free (Chunk *chunk)
{
  g_clear_pointer (&chunk->messages, g_ptr_array_unref);
  g_clear_pointer (&chunk->targets, g_hash_table_unref);
  g_free (chunk);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Chunk, chunk_free)

/* Takes @chunk: the messages go to the store; the last chunk of the folder carries its new
 * state. */
static void
chunk_ready (GTask *task,
             Chunk *chunk)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(Chunk) owned = chunk;
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (hir_account_get_id (self->account));
  const char *folders[2] = { op->folder->name, NULL };

  for (guint i = 0; i < chunk->messages->len; i++)
    hir_store_changes_upsert_message (changes, g_ptr_array_index (chunk->messages, i), folders);
  add_counter (self, &self->messages_fetched, chunk->messages->len, PROP_MESSAGES_FETCHED);

  if (op->fetch_pos >= op->to_fetch->len && op->in_flight == 0)
    {
      /* The last chunk carries the folder's new state: the store never claims a state
       * whose messages it does not have. */
      folder_state (op, changes);
      hir_store_apply_async (self->store, changes, g_task_get_cancellable (task),
                             apply_folder_done_cb, g_object_ref (task));
      return;
    }
  /* The store applies in call order, so this chunk lands before the last one. */
  hir_store_apply_async (self->store, changes, g_task_get_cancellable (task), apply_chunk_cb,
                         g_object_ref (task));
  fetch_more (task);
}

typedef struct
{
  GTask *task;
  Chunk *chunk;
  char *section;
} PreviewFetch;

static void
preview_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  PreviewFetch *fetch = user_data;
  g_autoptr(GTask) task = fetch->task;
  g_autofree char *section = fetch->section;
  Chunk *chunk = fetch->chunk;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;

  g_free (fetch);
  op->in_flight--;
  chunk->pending--;
  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (op->failed)
    {
      g_clear_error (&error);
      if (chunk->pending == 0)
        chunk_free (chunk);
      return;
    }
  if (reply == NULL)
    {
      if (chunk->pending == 0)
        chunk_free (chunk);
      sync_fail (task, error);
      return;
    }

  for (guint i = 0; i < reply->untagged->len; i++)
    {
      const HirImapValue *items = fetch_items (g_ptr_array_index (reply->untagged, i));
      g_autofree char *key = NULL;
      const HirImapValue *value;
      PreviewTarget *target;
      guint64 uid = 0;

      if (items == NULL || !hir_imap_value_get_number (hir_imap_value_lookup (items, "UID"), &uid))
        continue;
      key = g_strdup_printf ("%s\n%" G_GUINT64_FORMAT, section, uid);
      target = g_hash_table_lookup (chunk->targets, key);
      value = lookup_section (items, section);
      if (target != NULL && value != NULL && value->kind == HIR_IMAP_VALUE_STRING)
        {
          g_autofree char *preview = hir_imap_make_preview ((const guint8 *) value->data,
                                                            value->len, target->encoding,
                                                            target->charset, target->html);

          hir_message_set_preview (target->message, preview);
        }
    }

  if (chunk->pending == 0)
    chunk_ready (task, chunk);
}

/* Asks for the first bytes of the text part of every message of @chunk without a preview;
 * returns FALSE when none needs it. */
static gboolean
fetch_previews (GTask     *task,
                Chunk     *chunk,
                GPtrArray *structures)
{
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_array_unref);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < chunk->messages->len; i++)
    {
      HirMessage *message = g_ptr_array_index (chunk->messages, i);
      const HirImapValue *structure = g_ptr_array_index (structures, i);
      g_autoptr(GPtrArray) parts = NULL;
      HirImapPart *text, *html, *part;
      PreviewTarget *target;
      GArray *uids;
      guint32 uid = 0;

      if ((hir_message_get_preview (message) != NULL && *hir_message_get_preview (message)) ||
          structure == NULL ||
          !hir_imap_parse_remote_id (hir_message_get_remote_id (message), NULL, NULL, &uid))
        continue;
      parts = hir_imap_parts_from_bodystructure (structure);
      hir_imap_choose_parts (parts, &text, &html);
      part = text != NULL ? text : html;
      if (part == NULL)
        continue;

      target = g_new0 (PreviewTarget, 1);
      target->message = message;
      target->encoding = g_strdup (part->encoding);
      target->charset = g_strdup (part->charset);
      target->html = part == html;
      g_hash_table_insert (chunk->targets, g_strdup_printf ("%s\n%u", part->section, uid),
                           target);
      uids = g_hash_table_lookup (groups, part->section);
      if (uids == NULL)
        {
          uids = g_array_new (FALSE, FALSE, sizeof (guint32));
          g_hash_table_insert (groups, g_strdup (part->section), uids);
        }
      g_array_append_val (uids, uid);
    }

  if (g_hash_table_size (groups) == 0)
    return FALSE;

  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GArray *uids = value;
      PreviewFetch *fetch = g_new0 (PreviewFetch, 1);
      g_autofree char *set = NULL;
      g_autofree char *command = NULL;

      g_array_sort (uids, compare_uid_asc);
      set = hir_imap_uid_set ((const guint32 *) uids->data, uids->len);
      command = g_strdup_printf ("UID FETCH %s (UID BODY.PEEK[%s]<0.%u>)", set,
                                 (const char *) key, PREVIEW_BYTES);
      fetch->task = g_object_ref (task);
      fetch->chunk = chunk;
      fetch->section = g_strdup (key);
      chunk->pending++;
      op->in_flight++;
      hir_imap_client_command_async (op->client, command, g_task_get_cancellable (task),
                                     preview_cb, fetch);
    }
  return TRUE;
}

static void
fetch_chunk_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GPtrArray) structures = g_ptr_array_new ();
  Chunk *chunk;
  GError *error = NULL;

  op->in_flight--;
  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (op->failed)
    {
      g_clear_error (&error);
      return;
    }
  if (reply == NULL)
    {
      sync_fail (task, error);
      return;
    }

  chunk = g_new0 (Chunk, 1);
  chunk->messages = g_ptr_array_new_with_free_func (g_object_unref);
  chunk->targets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) preview_target_free);
  for (guint i = 0; i < reply->untagged->len; i++)
    {
      const HirImapValue *items = fetch_items (g_ptr_array_index (reply->untagged, i));
      HirMessage *message;

      if (items == NULL || hir_imap_value_lookup (items, "ENVELOPE") == NULL)
        continue;
      message = hir_imap_message_from_fetch (hir_account_get_id (self->account),
                                             op->folder->name, (guint32) op->uidvalidity,
                                             items);
      if (message == NULL)
        continue;
      g_ptr_array_add (chunk->messages, message);
      /* Borrowed from the reply, which lives until fetch_previews() returns. */
      g_ptr_array_add (structures, (gpointer) hir_imap_value_lookup (items, "BODYSTRUCTURE"));
    }

  if (!fetch_previews (task, chunk, structures))
    chunk_ready (task, chunk);
}

static void
fetch_more (GTask *task)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  while (op->in_flight < FETCH_WINDOW && op->fetch_pos < op->to_fetch->len)
    {
      guint n = MIN (FETCH_CHUNK, op->to_fetch->len - op->fetch_pos);
      g_autofree guint32 *uids = g_memdup2 (&g_array_index (op->to_fetch, guint32, op->fetch_pos),
                                            n * sizeof (guint32));
      g_autofree char *set = NULL;
      g_autofree char *command = NULL;
      guint32 *sorted = uids;

      /* Newest first across chunks; within a chunk the set is compact ascending. */
      for (guint i = 0; i < n / 2; i++)
        {
          guint32 t = sorted[i];
          sorted[i] = sorted[n - 1 - i];
          sorted[n - 1 - i] = t;
        }
      set = hir_imap_uid_set (sorted, n);
      command = g_strdup_printf ("UID FETCH %s (" HEADER_ITEMS "%s)", set,
                                 hir_imap_client_has_capability (op->client, "PREVIEW")
                                   ? " PREVIEW" : "");
      op->fetch_pos += n;
      op->in_flight++;
      add_counter (self, &self->fetch_commands, 1, PROP_FETCH_COMMANDS);
      hir_imap_client_command_async (op->client, command, g_task_get_cancellable (task),
                                     fetch_chunk_cb, g_object_ref (task));
    }
}

static int
compare_uid_asc (gconstpointer a,
                 gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static int
compare_uid_desc (gconstpointer a,
                  gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

/* Removals and flag updates are applied first; then the new headers, newest first. */
static void
fetch_new (GTask *task)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);

  g_array_sort (op->to_fetch, compare_uid_desc);
  g_debug ("%s: %s: %u new, state %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
           hir_account_get_id (self->account), op->folder->name, op->to_fetch->len,
           op->uidvalidity, op->modseq);

  if (op->to_fetch->len == 0)
    {
      folder_state (op, op->changes);
      hir_store_apply_async (self->store, op->changes, g_task_get_cancellable (task),
                             apply_folder_done_cb, g_object_ref (task));
      return;
    }
  if (!hir_store_changes_is_empty (op->changes))
    hir_store_apply_async (self->store, op->changes, g_task_get_cancellable (task),
                           apply_chunk_cb, g_object_ref (task));
  fetch_more (task);
}

static void
vanished_cb (guint32  uid,
             gpointer data)
{
  SyncOp *op = data;
  g_autofree char *remote_id = hir_imap_remote_id (op->folder->name, (guint32) op->uidvalidity,
                                                   uid);

  hir_store_changes_remove_message (op->changes, remote_id);
}

/* UID-range comparison: what the server has against what the store has. */
static void
load_local_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GPtrArray) local = NULL;
  g_autoptr(GHashTable) known = g_hash_table_new (NULL, NULL);
  GError *error = NULL;

  local = hir_store_load_messages_finish (HIR_STORE (object), result, &error);
  if (local == NULL)
    {
      sync_fail (task, error);
      return;
    }

  for (guint i = 0; i < op->server_uids->len; i++)
    g_hash_table_insert (known, GUINT_TO_POINTER (g_array_index (op->server_uids, guint32, i)),
                         GUINT_TO_POINTER (g_array_index (op->server_flags, guint, i) | 0x100));

  for (guint i = 0; i < local->len; i++)
    {
      HirMessage *message = g_ptr_array_index (local, i);
      const char *remote_id = hir_message_get_remote_id (message);
      g_autofree char *mailbox = NULL;
      guint32 uidvalidity = 0, uid = 0;
      gpointer value;

      if (!hir_imap_parse_remote_id (remote_id, &mailbox, &uidvalidity, &uid) ||
          uidvalidity != op->uidvalidity || g_strcmp0 (mailbox, op->folder->name) != 0 ||
          (value = g_hash_table_lookup (known, GUINT_TO_POINTER (uid))) == NULL)
        {
          /* Expunged, or from before a UIDVALIDITY change: the folder starts over. */
          hir_store_changes_remove_message (op->changes, remote_id);
          continue;
        }
      if ((GPOINTER_TO_UINT (value) & 0xff) != hir_message_get_flags (message))
        hir_store_changes_update_message (op->changes, remote_id,
                                          GPOINTER_TO_UINT (value) & 0xff, NULL);
      g_hash_table_insert (known, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (0x200));
    }

  for (guint i = 0; i < op->server_uids->len; i++)
    {
      guint32 uid = g_array_index (op->server_uids, guint32, i);

      if (GPOINTER_TO_UINT (g_hash_table_lookup (known, GUINT_TO_POINTER (uid))) != 0x200)
        g_array_append_val (op->to_fetch, uid);
    }
  fetch_new (task);
}

static void
all_flags_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;
  gint64 folder_id;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      sync_fail (task, error);
      return;
    }

  for (guint i = 0; i < reply->untagged->len; i++)
    {
      const HirImapValue *items = fetch_items (g_ptr_array_index (reply->untagged, i));
      guint64 uid = 0;
      guint flags;

      if (items == NULL || !hir_imap_value_get_number (hir_imap_value_lookup (items, "UID"), &uid))
        continue;
      flags = hir_imap_flags_from_value (hir_imap_value_lookup (items, "FLAGS"));
      if (op->qresync)
        {
          /* Resume: only UIDs past the stored UIDNEXT are new ("n:*" also names the
           * last message when nothing is new). */
          if (uid >= op->stored_uidnext)
            g_array_append_val (op->to_fetch, uid);
          continue;
        }
      g_array_append_val (op->server_uids, uid);
      g_array_append_val (op->server_flags, flags);
    }

  if (op->qresync)
    {
      fetch_new (task);
      return;
    }

  folder_id = GPOINTER_TO_SIZE (g_hash_table_lookup (op->local_folder_ids, op->folder->name));
  if (folder_id == 0)
    {
      for (guint i = 0; i < op->server_uids->len; i++)
        g_array_append_val (op->to_fetch, g_array_index (op->server_uids, guint32, i));
      fetch_new (task);
      return;
    }
  hir_store_load_messages_async (self->store, folder_id, 0, G_MAXUINT,
                                 g_task_get_cancellable (task), load_local_cb, g_object_ref (task));
}

static void
select_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autofree char *command = NULL;
  GError *error = NULL;

  reply = hir_imap_client_select_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      /* Gone between LIST and SELECT, or not selectable after all: skip it. */
      if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND) ||
          g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER))
        {
          g_debug ("%s: skipping %s: %s", hir_account_get_id (self->account),
                   op->folder->name, error->message);
          g_error_free (error);
          folder_done (task);
          return;
        }
      sync_fail (task, error);
      return;
    }

  op->changes = hir_store_changes_new (hir_account_get_id (self->account));
  op->to_fetch = g_array_new (FALSE, FALSE, sizeof (guint32));
  op->server_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  op->server_flags = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < reply->untagged->len; i++)
    {
      HirImapResponse *response = g_ptr_array_index (reply->untagged, i);

      code_number (response, "UIDVALIDITY", &op->uidvalidity);
      code_number (response, "UIDNEXT", &op->uidnext);
      code_number (response, "HIGHESTMODSEQ", &op->modseq);
    }
  code_number (reply->tagged, "UIDVALIDITY", &op->uidvalidity);

  /* QRESYNC only counts when the server agreed the UIDVALIDITY is the one we know. */
  if (op->qresync && op->uidvalidity != op->stored_uidvalidity)
    op->qresync = FALSE;

  if (op->qresync)
    {
      for (guint i = 0; i < reply->untagged->len; i++)
        {
          HirImapResponse *response = g_ptr_array_index (reply->untagged, i);
          const HirImapValue *items;
          guint64 uid = 0;

          if (response->status != HIR_IMAP_STATUS_NONE)
            continue;
          if (hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "VANISHED"))
            {
              /* (VANISHED (EARLIER) 3:5,9) or (VANISHED 3:5) */
              guint last = hir_imap_value_get_length (response->data) - 1;
              const HirImapValue *set = hir_imap_value_get_item (response->data, last);
              const char *text = set != NULL ? set->data : NULL;

              foreach_uid (text, (guint32) MIN (op->stored_uidnext, G_MAXUINT32), vanished_cb, op);
              continue;
            }
          items = fetch_items (response);
          if (items == NULL ||
              !hir_imap_value_get_number (hir_imap_value_lookup (items, "UID"), &uid) ||
              uid >= op->stored_uidnext)
            continue;
          {
            g_autofree char *remote_id = hir_imap_remote_id (op->folder->name,
                                                             (guint32) op->uidvalidity,
                                                             (guint32) uid);

            hir_store_changes_update_message (op->changes, remote_id,
                                              hir_imap_flags_from_value (
                                                hir_imap_value_lookup (items, "FLAGS")),
                                              NULL);
          }
        }
      if (op->uidnext != 0 && op->uidnext <= op->stored_uidnext)
        {
          fetch_new (task);
          return;
        }
      command = g_strdup_printf ("UID FETCH %" G_GUINT64_FORMAT ":* (UID FLAGS)",
                                 MAX (op->stored_uidnext, 1));
    }
  else
    command = g_strdup ("UID FETCH 1:* (UID FLAGS)");

  hir_imap_client_command_async (op->client, command, g_task_get_cancellable (task),
                                 all_flags_cb, g_object_ref (task));
}

static guint64
parse_state (const char *value)
{
  return value != NULL ? g_ascii_strtoull (value, NULL, 10) : 0;
}

static void
folder_select (GTask *task)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  FolderInfo *folder = op->folder;
  g_autofree char *args = NULL;
  gboolean condstore = hir_imap_client_has_capability (op->client, "CONDSTORE") ||
                       hir_imap_client_get_qresync (op->client);

  /* Unchanged since the last sync (same UIDVALIDITY, HIGHESTMODSEQ and UIDNEXT): not even
   * a SELECT. Without CONDSTORE a flag change would not show, so always look. */
  if (folder->has_status && condstore && op->stored_modseq != 0 &&
      folder->uidvalidity == op->stored_uidvalidity &&
      folder->highestmodseq == op->stored_modseq && folder->uidnext == op->stored_uidnext)
    {
      folder_done (task);
      return;
    }

  if (hir_imap_client_get_qresync (op->client) && op->stored_uidvalidity != 0 &&
      op->stored_modseq != 0 && op->stored_uidnext != 0)
    {
      op->qresync = TRUE;
      args = g_strdup_printf ("(QRESYNC (%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "))",
                              op->stored_uidvalidity, op->stored_modseq);
    }
  else if (condstore)
    args = g_strdup ("(CONDSTORE)");

  add_counter (self, &self->selects, 1, PROP_SELECTS);
  hir_imap_client_select_async (op->client, folder->name, args, g_task_get_cancellable (task),
                                select_cb, g_object_ref (task));
}

static void
state_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autofree char *value = NULL;
  g_autofree char *key = NULL;
  GError *error = NULL;
  guint which = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (task), "hir-state-step"));

  value = hir_store_get_state_finish (HIR_STORE (object), result, &error);
  if (error != NULL)
    {
      sync_fail (task, error);
      return;
    }
  switch (which)
    {
    case 0:
      op->stored_uidvalidity = parse_state (value);
      key = state_key (op->folder->name, "highestmodseq");
      break;
    case 1:
      op->stored_modseq = parse_state (value);
      key = state_key (op->folder->name, "uidnext");
      break;
    default:
      op->stored_uidnext = parse_state (value);
      folder_select (task);
      return;
    }
  g_object_set_data (G_OBJECT (task), "hir-state-step", GUINT_TO_POINTER (which + 1));
  hir_store_get_state_async (self->store, hir_account_get_id (self->account), key,
                             g_task_get_cancellable (task), state_cb, g_object_ref (task));
}

static void
sync_next_folder (GTask *task)
{
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autofree char *key = NULL;

  if (op->failed)
    return;
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      sync_fail (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            _("Sync cancelled")));
      return;
    }

  while (op->index < op->folders->len)
    {
      FolderInfo *folder = g_ptr_array_index (op->folders, op->index);

      if (folder->selectable && folder->subscribed)
        break;
      op->index++;
    }
  if (op->index >= op->folders->len)
    {
      sync_done (task);
      return;
    }

  op->folder = g_ptr_array_index (op->folders, op->index);
  key = state_key (op->folder->name, "uidvalidity");
  g_object_set_data (G_OBJECT (task), "hir-state-step", GUINT_TO_POINTER (0));
  hir_store_get_state_async (self->store, hir_account_get_id (self->account), key,
                             g_task_get_cancellable (task), state_cb, g_object_ref (task));
}

/* Folders */

static void
local_folders_after_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(GPtrArray) local = NULL;
  GError *error = NULL;

  local = hir_store_list_folders_finish (HIR_STORE (object), result, &error);
  if (local == NULL)
    {
      sync_fail (task, error);
      return;
    }
  for (guint i = 0; i < local->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (local, i);

      g_hash_table_insert (op->local_folder_ids, g_strdup (hir_folder_get_remote_id (folder)),
                           GSIZE_TO_POINTER ((gsize) hir_folder_get_id (folder)));
    }
  op->index = 0;
  sync_next_folder (task);
}

static void
apply_folders_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!hir_store_apply_finish (HIR_STORE (object), result, &error))
    {
      sync_fail (task, error);
      return;
    }
  hir_store_list_folders_async (self->store, hir_account_get_id (self->account),
                                g_task_get_cancellable (task), local_folders_after_cb, g_object_ref (task));
}

static HirFolderRole
role_from_name (const char *name)
{
  static const struct { const char *name; HirFolderRole role; } names[] = {
    { "Sent", HIR_FOLDER_ROLE_SENT },
    { "Sent Items", HIR_FOLDER_ROLE_SENT },
    { "Sent Messages", HIR_FOLDER_ROLE_SENT },
    { "Sent Mail", HIR_FOLDER_ROLE_SENT },
    { "Drafts", HIR_FOLDER_ROLE_DRAFTS },
    { "Trash", HIR_FOLDER_ROLE_TRASH },
    { "Deleted Items", HIR_FOLDER_ROLE_TRASH },
    { "Deleted Messages", HIR_FOLDER_ROLE_TRASH },
    { "Junk", HIR_FOLDER_ROLE_JUNK },
    { "Spam", HIR_FOLDER_ROLE_JUNK },
    { "Junk E-mail", HIR_FOLDER_ROLE_JUNK },
    { "Archive", HIR_FOLDER_ROLE_ARCHIVE },
    { "Archives", HIR_FOLDER_ROLE_ARCHIVE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (name, names[i].name) == 0)
      return names[i].role;
  return HIR_FOLDER_ROLE_NONE;
}

static void
local_folders_before_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  const char *account_id = hir_account_get_id (self->account);
  g_autoptr(GPtrArray) local = NULL;
  g_autoptr(HirStoreChanges) changes = hir_store_changes_new (account_id);
  g_autoptr(GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) ancestors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean role_taken[HIR_FOLDER_ROLE_TRASH + 1] = { FALSE, };
  GError *error = NULL;

  local = hir_store_list_folders_finish (HIR_STORE (object), result, &error);
  if (local == NULL)
    {
      sync_fail (task, error);
      return;
    }
  for (guint i = 0; i < op->folders->len; i++)
    g_hash_table_add (listed, ((FolderInfo *) g_ptr_array_index (op->folders, i))->name);

  for (guint i = 0; i < op->folders->len; i++)
    {
      FolderInfo *info = g_ptr_array_index (op->folders, i);

      role_taken[info->role] = TRUE;
    }

  /* The parents of subscribed folders, so that the tree has no holes. A parent the
   * server did not list (Cyrus makes none for "a/b") is added as a folder to hold it. */
  for (guint i = 0, n = op->folders->len; i < n; i++)
    {
      FolderInfo *info = g_ptr_array_index (op->folders, i);
      g_autofree char *path = NULL;
      char *cut;

      if (!info->subscribed || info->delimiter == '\0')
        continue;
      path = g_strdup (info->name);
      while ((cut = strrchr (path, info->delimiter)) != NULL)
        {
          *cut = '\0';
          if (g_hash_table_contains (ancestors, path))
            break;
          g_hash_table_add (ancestors, g_strdup (path));
          if (!g_hash_table_contains (listed, path))
            {
              FolderInfo *parent = g_new0 (FolderInfo, 1);

              parent->name = g_strdup (path);
              parent->delimiter = info->delimiter;
              g_ptr_array_add (op->folders, parent);
              g_hash_table_add (listed, parent->name);
            }
        }
    }

  for (guint i = 0; i < op->folders->len; i++)
    {
      FolderInfo *info = g_ptr_array_index (op->folders, i);
      g_autoptr(HirFolder) folder = NULL;
      g_autofree char *parent = NULL;
      g_autofree char *display = NULL;
      const char *leaf = info->name;

      /* Unsubscribed folders stay hidden, unless a shown folder lives below them. */
      if (!info->subscribed && !g_hash_table_contains (ancestors, info->name))
        continue;
      if (info->delimiter != '\0')
        {
          const char *last = strrchr (info->name, info->delimiter);

          if (last != NULL)
            {
              parent = g_strndup (info->name, last - info->name);
              leaf = last + 1;
            }
        }
      display = hir_imap_mailbox_decode (leaf);
      /* Servers without SPECIAL-USE: the usual names, where no folder has the role yet. */
      if (info->role == HIR_FOLDER_ROLE_NONE && parent == NULL)
        {
          HirFolderRole guess = role_from_name (display);

          if (guess != HIR_FOLDER_ROLE_NONE && !role_taken[guess])
            {
              info->role = guess;
              role_taken[guess] = TRUE;
            }
        }
      folder = hir_folder_new (account_id, info->name,
                               info->role == HIR_FOLDER_ROLE_INBOX ? "Inbox" : display,
                               info->role);
      hir_folder_set_parent_remote_id (folder, parent);
      hir_store_changes_upsert_folder (changes, folder);
      g_hash_table_add (present, info->name);
    }

  for (guint i = 0; i < local->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (local, i);
      const char *remote_id = hir_folder_get_remote_id (folder);

      if (!g_hash_table_contains (present, remote_id))
        {
          g_autofree char *k1 = state_key (remote_id, "uidvalidity");
          g_autofree char *k2 = state_key (remote_id, "highestmodseq");
          g_autofree char *k3 = state_key (remote_id, "uidnext");

          hir_store_changes_remove_folder (changes, remote_id);
          hir_store_changes_set_state (changes, k1, NULL);
          hir_store_changes_set_state (changes, k2, NULL);
          hir_store_changes_set_state (changes, k3, NULL);
        }
    }

  hir_store_apply_async (self->store, changes, g_task_get_cancellable (task), apply_folders_cb, g_object_ref (task));
}

static void
status_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = g_task_get_source_object (task);
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  op->pending--;

  if (reply != NULL)
    for (guint i = 0; i < reply->untagged->len; i++)
      {
        HirImapResponse *response = g_ptr_array_index (reply->untagged, i);
        const HirImapValue *name;
        const HirImapValue *items;

        if (response->status != HIR_IMAP_STATUS_NONE ||
            !hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "STATUS"))
          continue;
        name = hir_imap_value_get_item (response->data, 1);
        items = hir_imap_value_get_item (response->data, 2);
        for (guint j = 0; j < op->folders->len; j++)
          {
            FolderInfo *info = g_ptr_array_index (op->folders, j);

            if (name == NULL || name->data == NULL ||
                !(g_str_equal (info->name, name->data) ||
                  (g_str_equal (info->name, "INBOX") &&
                   g_ascii_strcasecmp (name->data, "INBOX") == 0)))
              continue;
            info->has_status = TRUE;
            hir_imap_value_get_number (hir_imap_value_lookup (items, "UIDVALIDITY"),
                                       &info->uidvalidity);
            hir_imap_value_get_number (hir_imap_value_lookup (items, "UIDNEXT"),
                                       &info->uidnext);
            hir_imap_value_get_number (hir_imap_value_lookup (items, "HIGHESTMODSEQ"),
                                       &info->highestmodseq);
          }
      }
  else if (!g_error_matches (error, HIR_ERROR, HIR_ERROR_SERVER) &&
           !g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND) && !op->failed)
    {
      /* The connection broke: the other STATUS commands fail the same way. */
      sync_fail (task, g_steal_pointer (&error));
    }

  if (op->pending > 0 || op->failed)
    return;
  hir_store_list_folders_async (self->store, hir_account_get_id (self->account),
                                g_task_get_cancellable (task), local_folders_before_cb, g_object_ref (task));
}

static FolderInfo *
folder_from_list (const HirImapResponse *response)
{
  const HirImapValue *attrs = hir_imap_value_get_item (response->data, 1);
  const HirImapValue *delim = hir_imap_value_get_item (response->data, 2);
  const HirImapValue *name = hir_imap_value_get_item (response->data, 3);
  FolderInfo *info;

  if (name == NULL || name->data == NULL)
    return NULL;
  info = g_new0 (FolderInfo, 1);
  info->name = g_ascii_strcasecmp (name->data, "INBOX") == 0 ? g_strdup ("INBOX")
                                                              : g_strdup (name->data);
  info->delimiter = delim != NULL && delim->data != NULL ? delim->data[0] : '\0';
  info->selectable = TRUE;
  if (g_str_equal (info->name, "INBOX"))
    info->role = HIR_FOLDER_ROLE_INBOX;
  for (guint i = 0; i < hir_imap_value_get_length (attrs); i++)
    {
      const char *attr = hir_imap_value_get_string (hir_imap_value_get_item (attrs, i));
      HirFolderRole role;

      if (attr == NULL)
        continue;
      if (g_ascii_strcasecmp (attr, "\\Noselect") == 0 ||
          g_ascii_strcasecmp (attr, "\\NonExistent") == 0)
        info->selectable = FALSE;
      else if (g_ascii_strcasecmp (attr, "\\Subscribed") == 0)
        info->subscribed = TRUE;
      else if (info->role == HIR_FOLDER_ROLE_NONE &&
               (role = hir_folder_role_from_string (attr)) != HIR_FOLDER_ROLE_NONE)
        info->role = role;
    }
  return info;
}

static void
list_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SyncOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GHashTable) subscribed = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean extended = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (task), "hir-extended"));
  gboolean condstore;
  GError *error = NULL;
  FolderInfo *inbox = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      sync_fail (task, error);
      return;
    }

  op->folders = g_ptr_array_new_with_free_func ((GDestroyNotify) folder_info_free);
  /* Without LIST-EXTENDED, LSUB answers came with LIST's in the same reply (pipelined,
   * LSUB right behind): both are in hir-lsub. */
  if (!extended)
    {
      GPtrArray *lsub = g_object_get_data (G_OBJECT (task), "hir-lsub");

      for (guint i = 0; lsub != NULL && i < lsub->len; i++)
        {
          HirImapResponse *response = g_ptr_array_index (lsub, i);
          const HirImapValue *name = hir_imap_value_get_item (response->data, 3);

          if (hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "LSUB") &&
              name != NULL && name->data != NULL)
            g_hash_table_add (subscribed, name->data);
        }
    }

  for (guint i = 0; i < reply->untagged->len; i++)
    {
      HirImapResponse *response = g_ptr_array_index (reply->untagged, i);
      FolderInfo *info;

      if (response->status != HIR_IMAP_STATUS_NONE ||
          !hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "LIST") ||
          (info = folder_from_list (response)) == NULL)
        continue;
      if (!extended && g_hash_table_contains (subscribed, info->name))
        info->subscribed = TRUE;
      /* The INBOX is always shown, subscribed or not. */
      if (g_str_equal (info->name, "INBOX"))
        {
          info->subscribed = TRUE;
          inbox = info;
          continue;
        }
      g_ptr_array_add (op->folders, info);
    }
  if (inbox != NULL)
    g_ptr_array_insert (op->folders, 0, inbox);

  /* STATUS of every folder, pipelined: with HIGHESTMODSEQ it tells which folders changed
   * without selecting them. */
  condstore = hir_imap_client_has_capability (op->client, "CONDSTORE");
  op->pending = 1;
  for (guint i = 0; i < op->folders->len; i++)
    {
      FolderInfo *info = g_ptr_array_index (op->folders, i);
      g_autofree char *quoted = hir_imap_quote (info->name);
      g_autofree char *command = NULL;

      if (!info->selectable || !info->subscribed || quoted == NULL)
        continue;
      command = g_strdup_printf ("STATUS %s (MESSAGES UNSEEN UIDNEXT UIDVALIDITY%s)", quoted,
                                 condstore ? " HIGHESTMODSEQ" : "");
      op->pending++;
      hir_imap_client_command_async (op->client, command, g_task_get_cancellable (task),
                                     status_cb, g_object_ref (task));
    }
  /* The extra count keeps the loop above from finishing early; drop it through the same
   * path as a reply. */
  op->pending--;
  if (op->pending == 0)
    {
      HirImapProvider *self = g_task_get_source_object (task);

      hir_store_list_folders_async (self->store, hir_account_get_id (self->account),
                                    g_task_get_cancellable (task), local_folders_before_cb, g_object_ref (task));
    }
}

static void
lsub_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapReply *reply;
  g_autoptr(GError) error = NULL;

  /* LSUB goes out right after LIST: its answers are kept for list_cb, which runs later
   * because LIST's completion is queued first… except that replies complete in order, so
   * LIST's callback would run before this one. list_cb is therefore started from here. */
  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply != NULL)
    {
      g_object_set_data_full (G_OBJECT (task), "hir-lsub", g_steal_pointer (&reply->untagged),
                              (GDestroyNotify) g_ptr_array_unref);
      hir_imap_reply_free (reply);
    }
  else
    g_debug ("LSUB failed: %s", error->message);

  list_cb (g_object_get_data (G_OBJECT (task), "hir-list-client"),
           g_object_get_data (G_OBJECT (task), "hir-list-result"), g_object_ref (task));
  g_object_set_data (G_OBJECT (task), "hir-list-result", NULL);
}

static void
plain_list_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* Kept until LSUB answers (see lsub_cb). */
  g_object_set_data (G_OBJECT (task), "hir-list-client", object);
  g_object_set_data_full (G_OBJECT (task), "hir-list-result", g_object_ref (result),
                          g_object_unref);
}

static void
sync_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirImapProvider *self = HIR_IMAP_PROVIDER (object);
  SyncOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  op->client = ensure_client_finish (self, result, &error);
  if (op->client == NULL)
    {
      sync_fail (task, error);
      return;
    }

  if (hir_imap_client_has_capability (op->client, "LIST-EXTENDED"))
    {
      g_object_set_data (G_OBJECT (task), "hir-extended", GUINT_TO_POINTER (TRUE));
      hir_imap_client_command_async (op->client,
                                     hir_imap_client_has_capability (op->client, "SPECIAL-USE")
                                       ? "LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)"
                                       : "LIST \"\" \"*\" RETURN (SUBSCRIBED)",
                                     g_task_get_cancellable (task), list_cb, g_object_ref (task));
      return;
    }
  hir_imap_client_command_async (op->client, "LIST \"\" \"*\"", g_task_get_cancellable (task),
                                 plain_list_cb, g_object_ref (task));
  hir_imap_client_command_async (op->client, "LSUB \"\" \"*\"", g_task_get_cancellable (task),
                                 lsub_cb, g_object_ref (task));
}

static void
hir_imap_provider_sync_async (HirProvider         *provider,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);
  GTask *task;
  SyncOp *op;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_sync_async);

  if (self->sync_task != NULL)
    {
      /* A sync is running: this caller gets its result. Changes announced meanwhile are
       * caught by the next one. */
      g_ptr_array_add (self->sync_waiters, g_object_ref (task));
      return;
    }

  op = g_new0 (SyncOp, 1);
  op->local_folder_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_task_data (task, op, (GDestroyNotify) sync_op_free);
  self->sync_task = task;
  hir_account_set_syncing (self->account, TRUE);
  ensure_client_async (self, &self->sync_client, cancellable, sync_connect_cb, g_object_ref (task));
}

static gboolean
hir_imap_provider_sync_finish (HirProvider   *provider,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The operations connection */

typedef void (*OpsReady) (GTask *task, HirImapClient *client);

typedef struct
{
  GTask *task;
  char *mailbox;
  guint32 uidvalidity;
  OpsReady ready;
} OpsEntry;

static void
ops_entry_free (OpsEntry *entry)
{
  g_free (entry->mailbox);
  g_free (entry);
}

static void
ops_task_completed_cb (GTask           *task,
                       GParamSpec      *pspec,
                       HirImapProvider *self)
{
  g_signal_handlers_disconnect_by_func (task, ops_task_completed_cb, self);
  self->ops_busy = FALSE;
  ops_next (self);
  g_object_unref (self);
}

static void
ops_select_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  OpsEntry *entry = user_data;
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;
  guint64 uidvalidity = 0;

  reply = hir_imap_client_select_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (entry->task, error);
      g_object_unref (entry->task);
      ops_entry_free (entry);
      return;
    }
  for (guint i = 0; i < reply->untagged->len; i++)
    code_number (g_ptr_array_index (reply->untagged, i), "UIDVALIDITY", &uidvalidity);
  if (entry->uidvalidity != 0 && uidvalidity != entry->uidvalidity)
    {
      g_task_return_new_error (entry->task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               /* Translators: %s is a folder's name on the server; the
                                * server gave its messages new numbers. */
                               _("The message is no longer on the server (the folder %s was "
                                 "renumbered)"), entry->mailbox);
      g_object_unref (entry->task);
      ops_entry_free (entry);
      return;
    }
  entry->ready (entry->task, HIR_IMAP_CLIENT (object));
  ops_entry_free (entry);
}

static void
ops_connect_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  OpsEntry *entry = user_data;
  HirImapProvider *self = HIR_IMAP_PROVIDER (object);
  g_autoptr(HirImapClient) client = NULL;
  GError *error = NULL;

  client = ensure_client_finish (self, result, &error);
  if (client == NULL)
    {
      g_task_return_error (entry->task, error);
      g_object_unref (entry->task);
      ops_entry_free (entry);
      return;
    }
  if (entry->mailbox != NULL &&
      g_strcmp0 (hir_imap_client_get_selected (client), entry->mailbox) != 0)
    {
      hir_imap_client_select_async (client, entry->mailbox, NULL,
                                    g_task_get_cancellable (entry->task), ops_select_cb, entry);
      return;
    }
  entry->ready (entry->task, client);
  ops_entry_free (entry);
}

static void
ops_next (HirImapProvider *self)
{
  OpsEntry *entry;

  if (self->ops_busy || (entry = g_queue_pop_head (&self->ops_queue)) == NULL)
    return;
  self->ops_busy = TRUE;
  g_signal_connect (entry->task, "notify::completed", G_CALLBACK (ops_task_completed_cb),
                    g_object_ref (self));
  ensure_client_async (self, &self->ops_client, g_task_get_cancellable (entry->task),
                       ops_connect_cb, entry);
}

/* Takes over @task: @ready runs on the operations connection with @mailbox selected (and
 * its UIDVALIDITY checked when not 0), alone on that connection until @task completes. */
static void
ops_run (HirImapProvider *self,
         GTask           *task,
         const char      *mailbox,
         guint32          uidvalidity,
         OpsReady         ready)
{
  OpsEntry *entry = g_new0 (OpsEntry, 1);

  entry->task = task;
  entry->mailbox = g_strdup (mailbox);
  entry->uidvalidity = uidvalidity;
  entry->ready = ready;
  g_queue_push_tail (&self->ops_queue, entry);
  ops_next (self);
}

/* Takes over @task when @message has no IMAP remote id: returns FALSE. */
static gboolean
parse_message (GTask       *task,
               HirMessage  *message,
               char       **mailbox,
               guint32     *uidvalidity,
               guint32     *uid)
{
  if (hir_imap_parse_remote_id (hir_message_get_remote_id (message), mailbox, uidvalidity, uid))
    return TRUE;
  g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                           /* Translators: %s is a message's identifier in Hirondelle. */
                           _("“%s” is not an IMAP message"),
                           hir_message_get_remote_id (message));
  g_object_unref (task);
  return FALSE;
}

static const HirImapValue *
first_fetch (HirImapReply *reply)
{
  for (guint i = 0; i < reply->untagged->len; i++)
    {
      const HirImapValue *items = fetch_items (g_ptr_array_index (reply->untagged, i));

      if (items != NULL)
        return items;
    }
  return NULL;
}

/* The value of a "BODY[section]" item (the server may spell it "BODY[1]<0>"). */
static const HirImapValue *
lookup_section (const HirImapValue *items,
                const char         *section)
{
  g_autofree char *key = g_strdup_printf ("BODY[%s]", section);
  gsize len = strlen (key);

  for (guint i = 0; i + 1 < hir_imap_value_get_length (items); i += 2)
    {
      const char *k = hir_imap_value_get_string (hir_imap_value_get_item (items, i));

      if (k != NULL && g_ascii_strncasecmp (k, key, len) == 0)
        return hir_imap_value_get_item (items, i + 1);
    }
  return NULL;
}

/* Bodies */

typedef struct
{
  guint32 uid;
  GPtrArray *parts;
  HirImapPart *text;
  HirImapPart *html;
} BodyOp;

static void
body_op_free (BodyOp *op)
{
  g_clear_pointer (&op->parts, g_ptr_array_unref);
  g_free (op);
}

static char *
decode_section (const HirImapValue *items,
                HirImapPart        *part)
{
  const HirImapValue *value;

  if (part == NULL || (value = lookup_section (items, part->section)) == NULL ||
      value->kind == HIR_IMAP_VALUE_NIL)
    return NULL;
  return hir_imap_decode_text ((const guint8 *) value->data, value->len, part->encoding,
                               part->charset);
}

static void
body_sections_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BodyOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  const HirImapValue *items;
  GError *error = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  items = first_fetch (reply);
  if (items == NULL && (op->text != NULL || op->html != NULL))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("The message is no longer on the server"));
      return;
    }
  text = decode_section (items, op->text);
  html = decode_section (items, op->html);
  body = hir_message_body_new (text, html);
  for (guint i = 0; i < op->parts->len; i++)
    {
      HirImapPart *part = g_ptr_array_index (op->parts, i);
      g_autoptr(HirAttachment) attachment = NULL;

      if (part == op->text || part == op->html)
        continue;
      attachment = hir_imap_attachment_new (part);
      hir_message_body_add_attachment (body, attachment);
    }
  g_task_return_pointer (task, g_steal_pointer (&body), g_object_unref);
}

static void
body_structure_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  BodyOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GString) command = NULL;
  const HirImapValue *items;
  GError *error = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  items = first_fetch (reply);
  if (items == NULL || hir_imap_value_lookup (items, "BODYSTRUCTURE") == NULL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("The message is no longer on the server"));
      return;
    }
  op->parts = hir_imap_parts_from_bodystructure (hir_imap_value_lookup (items, "BODYSTRUCTURE"));
  hir_imap_choose_parts (op->parts, &op->text, &op->html);

  /* Only the parts shown: attachments come when asked for. */
  command = g_string_new (NULL);
  g_string_append_printf (command, "UID FETCH %u (UID", op->uid);
  if (op->text != NULL)
    g_string_append_printf (command, " BODY.PEEK[%s]", op->text->section);
  if (op->html != NULL)
    g_string_append_printf (command, " BODY.PEEK[%s]", op->html->section);
  g_string_append_c (command, ')');
  hir_imap_client_command_async (HIR_IMAP_CLIENT (object), command->str,
                                 g_task_get_cancellable (task), body_sections_cb,
                                 g_object_ref (task));
}

static void
fetch_body_ready (GTask         *task,
                  HirImapClient *client)
{
  BodyOp *op = g_task_get_task_data (task);
  g_autofree char *command = g_strdup_printf ("UID FETCH %u (UID BODYSTRUCTURE)", op->uid);

  hir_imap_client_command_async (client, command, g_task_get_cancellable (task),
                                 body_structure_cb, task);
}

static void
hir_imap_provider_fetch_body_async (HirProvider         *provider,
                                    HirMessage          *message,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);
  g_autofree char *mailbox = NULL;
  guint32 uidvalidity = 0;
  BodyOp *op = g_new0 (BodyOp, 1);
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_fetch_body_async);
  g_task_set_task_data (task, op, (GDestroyNotify) body_op_free);
  if (!parse_message (task, message, &mailbox, &uidvalidity, &op->uid))
    return;
  ops_run (self, task, mailbox, uidvalidity, fetch_body_ready);
}

static HirMessageBody *
hir_imap_provider_fetch_body_finish (HirProvider   *provider,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Attachments */

typedef struct
{
  guint32 uid;
  char *section;
} PartOp;

static void
part_op_free (PartOp *op)
{
  g_free (op->section);
  g_free (op);
}

static void
fetch_attachment_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PartOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  const HirImapValue *items;
  const HirImapValue *value;
  const char *encoding = NULL;
  GError *error = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  items = first_fetch (reply);
  value = items != NULL ? lookup_section (items, op->section) : NULL;
  if (value == NULL || value->kind == HIR_IMAP_VALUE_NIL)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               _("The attachment is no longer on the server"));
      return;
    }
  /* The transfer encoding comes from the structure fetched with it. */
  parts = hir_imap_parts_from_bodystructure (hir_imap_value_lookup (items, "BODYSTRUCTURE"));
  for (guint i = 0; i < parts->len; i++)
    {
      HirImapPart *part = g_ptr_array_index (parts, i);

      if (g_str_equal (part->section, op->section))
        encoding = part->encoding;
    }
  g_task_return_pointer (task,
                         hir_imap_decode_bytes ((const guint8 *) value->data, value->len,
                                                encoding),
                         (GDestroyNotify) g_bytes_unref);
}

static void
fetch_attachment_ready (GTask         *task,
                        HirImapClient *client)
{
  PartOp *op = g_task_get_task_data (task);
  g_autofree char *command = g_strdup_printf ("UID FETCH %u (UID BODYSTRUCTURE BODY.PEEK[%s])",
                                              op->uid, op->section);

  hir_imap_client_command_async (client, command, g_task_get_cancellable (task),
                                 fetch_attachment_cb, task);
}

static void
hir_imap_provider_fetch_attachment_async (HirProvider         *provider,
                                          HirMessage          *message,
                                          HirAttachment       *attachment,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);
  g_autofree char *mailbox = NULL;
  guint32 uidvalidity = 0;
  PartOp *op = g_new0 (PartOp, 1);
  const char *section = hir_attachment_get_blob_id (attachment);
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_fetch_attachment_async);
  g_task_set_task_data (task, op, (GDestroyNotify) part_op_free);
  if (!parse_message (task, message, &mailbox, &uidvalidity, &op->uid))
    return;
  /* A section is digits and dots: anything else would be injected into the command. */
  if (section == NULL || *section == '\0' || strspn (section, "0123456789.") != strlen (section))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               /* Translators: %s is a part number in a message ("1.2");
                                * IMAP is a protocol name. */
                               _("“%s” is not an IMAP body section"), section ? section : "");
      g_object_unref (task);
      return;
    }
  op->section = g_strdup (section);
  ops_run (self, task, mailbox, uidvalidity, fetch_attachment_ready);
}

static GBytes *
hir_imap_provider_fetch_attachment_finish (HirProvider   *provider,
                                           GAsyncResult  *result,
                                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Flags */

typedef struct
{
  guint32 uid;
  HirMessageFlags flags;
  guint pending;
} FlagsOp;

static void
store_flags_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FlagsOp *op = g_task_get_task_data (task);
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;

  op->pending--;
  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (g_task_get_completed (task) || g_task_had_error (task))
    {
      g_clear_error (&error);
      return;
    }
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (op->pending == 0)
    g_task_return_boolean (task, TRUE);
}

static void
set_flags_ready (GTask         *task,
                 HirImapClient *client)
{
  FlagsOp *op = g_task_get_task_data (task);
  HirMessageFlags all = HIR_MESSAGE_FLAG_SEEN | HIR_MESSAGE_FLAG_FLAGGED |
                        HIR_MESSAGE_FLAG_ANSWERED | HIR_MESSAGE_FLAG_DRAFT;
  g_autofree char *add = flags_text (op->flags & all);
  g_autofree char *remove = flags_text (~op->flags & all);

  /* +FLAGS and -FLAGS rather than FLAGS: keywords set by other clients ($Forwarded,
   * labels) survive. Pipelined: one round trip. */
  op->pending = (*add != '\0') + (*remove != '\0');
  if (*add != '\0')
    {
      g_autofree char *command = g_strdup_printf ("UID STORE %u +FLAGS.SILENT (%s)", op->uid, add);

      hir_imap_client_command_async (client, command, g_task_get_cancellable (task),
                                     store_flags_cb, g_object_ref (task));
    }
  if (*remove != '\0')
    {
      g_autofree char *command = g_strdup_printf ("UID STORE %u -FLAGS.SILENT (%s)", op->uid,
                                                  remove);

      hir_imap_client_command_async (client, command, g_task_get_cancellable (task),
                                     store_flags_cb, g_object_ref (task));
    }
  g_object_unref (task);
}

static void
hir_imap_provider_set_flags_async (HirProvider         *provider,
                                   HirMessage          *message,
                                   HirMessageFlags      flags,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);
  g_autofree char *mailbox = NULL;
  guint32 uidvalidity = 0;
  FlagsOp *op = g_new0 (FlagsOp, 1);
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_set_flags_async);
  g_task_set_task_data (task, op, g_free);
  op->flags = flags;
  if (!parse_message (task, message, &mailbox, &uidvalidity, &op->uid))
    return;
  ops_run (self, task, mailbox, uidvalidity, set_flags_ready);
}

static gboolean
hir_imap_provider_set_flags_finish (HirProvider   *provider,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Append and move, for the outbox */

static void
append_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  const char *mailbox = g_object_get_data (G_OBJECT (task), "hir-mailbox");
  GError *error = NULL;
  guint32 uidvalidity = 0;
  guint32 uid;

  uid = hir_imap_client_append_finish (HIR_IMAP_CLIENT (object), result, &uidvalidity, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else if (uid == 0 || uidvalidity == 0)
    g_task_return_pointer (task, NULL, NULL);
  else
    g_task_return_pointer (task, hir_imap_remote_id (mailbox, uidvalidity, uid), g_free);
}

static void
append_ready (GTask         *task,
              HirImapClient *client)
{
  GBytes *message = g_object_get_data (G_OBJECT (task), "hir-message");
  const char *mailbox = g_object_get_data (G_OBJECT (task), "hir-mailbox");
  const char *flags = g_object_get_data (G_OBJECT (task), "hir-flags");

  hir_imap_client_append_async (client, mailbox, flags, message, g_task_get_cancellable (task),
                                append_cb, task);
}

void
hir_imap_provider_append_async (HirImapProvider     *self,
                                const char          *mailbox,
                                const char          *flags,
                                GBytes              *message,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_PROVIDER (self));
  g_return_if_fail (mailbox != NULL);
  g_return_if_fail (message != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_append_async);
  g_object_set_data_full (G_OBJECT (task), "hir-message", g_bytes_ref (message),
                          (GDestroyNotify) g_bytes_unref);
  g_object_set_data_full (G_OBJECT (task), "hir-mailbox", g_strdup (mailbox), g_free);
  g_object_set_data_full (G_OBJECT (task), "hir-flags", g_strdup (flags), g_free);
  /* APPEND needs no selected mailbox. */
  ops_run (self, task, NULL, 0, append_ready);
}

char *
hir_imap_provider_append_finish (HirImapProvider  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Delete */

static void
delete_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(HirImapReply) reply = NULL;
  GError *error = NULL;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (g_task_had_error (task))
    {
      g_clear_error (&error);
      return;
    }
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* STORE then EXPUNGE: the second answer completes the task. */
  if (g_object_get_data (G_OBJECT (task), "hir-stored") != NULL)
    g_task_return_boolean (task, TRUE);
  else
    g_object_set_data (G_OBJECT (task), "hir-stored", GUINT_TO_POINTER (TRUE));
}

static void
delete_ready (GTask         *task,
              HirImapClient *client)
{
  guint32 uid = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autofree char *store = g_strdup_printf ("UID STORE %u +FLAGS.SILENT (\\Deleted)", uid);
  g_autofree char *expunge = NULL;

  if (!hir_imap_client_has_capability (client, "UIDPLUS"))
    {
      /* A plain EXPUNGE would also remove what the user marked deleted elsewhere. */
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_SERVER,
                               /* Translators: UIDPLUS is the name of an IMAP extension. */
                               _("The server cannot remove one message alone (no UIDPLUS)"));
      g_object_unref (task);
      return;
    }
  expunge = g_strdup_printf ("UID EXPUNGE %u", uid);
  /* Pipelined: the server runs them in order. */
  hir_imap_client_command_async (client, store, g_task_get_cancellable (task), delete_cb,
                                 g_object_ref (task));
  hir_imap_client_command_async (client, expunge, g_task_get_cancellable (task), delete_cb,
                                 task);
}

void
hir_imap_provider_delete_async (HirImapProvider     *self,
                                const char          *remote_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autofree char *mailbox = NULL;
  guint32 uidvalidity = 0, uid = 0;
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_PROVIDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_delete_async);
  if (!hir_imap_parse_remote_id (remote_id, &mailbox, &uidvalidity, &uid))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_NOT_FOUND,
                               /* Translators: %s is a message's identifier in Hirondelle. */
                               _("“%s” is not an IMAP message"), remote_id ? remote_id : "");
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, GUINT_TO_POINTER (uid), NULL);
  ops_run (self, task, mailbox, uidvalidity, delete_ready);
}

gboolean
hir_imap_provider_delete_finish (HirImapProvider  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
move_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!hir_imap_client_move_finish (HIR_IMAP_CLIENT (object), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
move_ready (GTask         *task,
            HirImapClient *client)
{
  const char *destination = g_object_get_data (G_OBJECT (task), "hir-destination");
  g_autofree char *set = g_strdup_printf ("%u", GPOINTER_TO_UINT (g_task_get_task_data (task)));

  hir_imap_client_move_async (client, set, destination, g_task_get_cancellable (task), move_cb,
                              task);
}

void
hir_imap_provider_move_async (HirImapProvider     *self,
                              HirMessage          *message,
                              const char          *destination,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autofree char *mailbox = NULL;
  guint32 uidvalidity = 0, uid = 0;
  GTask *task;

  g_return_if_fail (HIR_IS_IMAP_PROVIDER (self));
  g_return_if_fail (HIR_IS_MESSAGE (message));
  g_return_if_fail (destination != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_imap_provider_move_async);
  if (!parse_message (task, message, &mailbox, &uidvalidity, &uid))
    return;
  g_task_set_task_data (task, GUINT_TO_POINTER (uid), NULL);
  g_object_set_data_full (G_OBJECT (task), "hir-destination", g_strdup (destination), g_free);
  ops_run (self, task, mailbox, uidvalidity, move_ready);
}

gboolean
hir_imap_provider_move_finish (HirImapProvider  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The provider interface's move and delete, over the functions above */

static void
iface_move_async (HirProvider         *provider,
                  HirMessage          *message,
                  HirFolder           *destination,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  /* An IMAP folder's remote id is its mailbox name. */
  hir_imap_provider_move_async (HIR_IMAP_PROVIDER (provider), message,
                                hir_folder_get_remote_id (destination), cancellable, callback,
                                user_data);
}

static gboolean
iface_move_finish (HirProvider   *provider,
                   GAsyncResult  *result,
                   GError       **error)
{
  return hir_imap_provider_move_finish (HIR_IMAP_PROVIDER (provider), result, error);
}

static void
iface_delete_async (HirProvider         *provider,
                    HirMessage          *message,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  hir_imap_provider_delete_async (HIR_IMAP_PROVIDER (provider),
                                  hir_message_get_remote_id (message), cancellable, callback,
                                  user_data);
}

static gboolean
iface_delete_finish (HirProvider   *provider,
                     GAsyncResult  *result,
                     GError       **error)
{
  return hir_imap_provider_delete_finish (HIR_IMAP_PROVIDER (provider), result, error);
}

/* Watching: IDLE on the INBOX, a poll for the rest */

static void watch_connect (HirImapProvider *self);
static void idle_start (HirImapProvider *self);

static gboolean
emit_changed_cb (gpointer user_data)
{
  HirImapProvider *self = user_data;

  self->changed_source = 0;
  hir_provider_emit_remote_changed (HIR_PROVIDER (self));
  return G_SOURCE_REMOVE;
}

/* Several responses usually come together (EXISTS then RECENT, FETCH for each flag):
 * one signal for the lot. */
static void
schedule_changed (HirImapProvider *self)
{
  if (self->changed_source == 0)
    self->changed_source = g_idle_add_full (G_PRIORITY_DEFAULT, emit_changed_cb, self, NULL);
}

static void
idle_untagged_cb (HirImapClient   *client,
                  HirImapResponse *response,
                  HirImapProvider *self)
{
  const HirImapValue *data = response->data;

  if (!self->idling || response->status != HIR_IMAP_STATUS_NONE || data == NULL)
    return;
  if (hir_imap_value_is_atom (hir_imap_value_get_item (data, 1), "EXISTS") ||
      hir_imap_value_is_atom (hir_imap_value_get_item (data, 1), "EXPUNGE") ||
      hir_imap_value_is_atom (hir_imap_value_get_item (data, 1), "FETCH") ||
      hir_imap_value_is_atom (hir_imap_value_get_item (data, 0), "VANISHED"))
    {
      g_debug ("%s: IDLE reported a change", hir_account_get_id (self->account));
      schedule_changed (self);
    }
}

static gboolean
reconnect_cb (gpointer user_data)
{
  HirImapProvider *self = user_data;

  self->reconnect_source = 0;
  watch_connect (self);
  return G_SOURCE_REMOVE;
}

static void
watch_failed (HirImapProvider *self,
              const GError    *error)
{
  self->idling = FALSE;
  g_clear_handle_id (&self->reidle_source, g_source_remove);
  if (self->idle_client != NULL)
    g_signal_handlers_disconnect_by_data (self->idle_client, self);
  drop_client (&self->idle_client);

  if (!self->watching || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* A wrong password does not get better by retrying: wait for set_password. */
  if (g_error_matches (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED) ||
      g_error_matches (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED) ||
      g_error_matches (error, HIR_ERROR, HIR_ERROR_CONFIG))
    {
      hir_account_set_status_from_error (self->account, error);
      set_watch_mode (self, "poll");
      return;
    }

  self->backoff = self->backoff == 0 ? 1 : MIN (self->backoff * 2, MAX_BACKOFF);
  g_debug ("%s: watch connection lost (%s); again in %u s",
           hir_account_get_id (self->account), error->message, self->backoff);
  set_watch_mode (self, "connecting");
  self->reconnect_source = g_timeout_add_seconds (self->backoff, reconnect_cb, self);
  /* Whatever happened while the connection was down is found by a sync. */
  schedule_changed (self);
}

static gboolean
reidle_cb (gpointer user_data)
{
  HirImapProvider *self = user_data;

  self->reidle_source = 0;
  /* RFC 2177: servers may drop a client idle for 30 minutes; renew before. */
  if (self->idle_client != NULL)
    hir_imap_client_idle_done (self->idle_client);
  return G_SOURCE_REMOVE;
}

static void
idle_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(HirImapProvider) self = user_data;
  g_autoptr(GError) error = NULL;

  self->idling = FALSE;
  if (!hir_imap_client_idle_finish (HIR_IMAP_CLIENT (object), result, &error))
    {
      if (HIR_IMAP_CLIENT (object) == self->idle_client)
        watch_failed (self, error);
      return;
    }
  if (self->watching && HIR_IMAP_CLIENT (object) == self->idle_client)
    idle_start (self);
}

static void
idle_start (HirImapProvider *self)
{
  self->idling = TRUE;
  g_clear_handle_id (&self->reidle_source, g_source_remove);
  self->reidle_source = g_timeout_add_seconds (self->idle_interval, reidle_cb, self);
  hir_imap_client_idle_async (self->idle_client, self->watch_cancellable, idle_cb,
                              g_object_ref (self));
}

static void
watch_select_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(HirImapProvider) self = user_data;
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = hir_imap_client_select_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (HIR_IMAP_CLIENT (object) != self->idle_client)
    return;
  if (reply == NULL)
    {
      watch_failed (self, error);
      return;
    }
  self->backoff = 0;
  set_watch_mode (self, "idle");
  idle_start (self);
}

static void
watch_connect_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(HirImapClient) client = HIR_IMAP_CLIENT (object);
  HirImapProvider *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_imap_client_connect_finish (client, result, &error))
    {
      if (client == self->idle_client)
        watch_failed (self, error);
      g_object_unref (self);
      return;
    }
  if (client != self->idle_client)
    {
      g_object_unref (self);
      return;
    }
  if (!hir_imap_client_has_capability (client, "IDLE"))
    {
      /* No IDLE: the poll covers the INBOX too. */
      drop_client (&self->idle_client);
      set_watch_mode (self, "poll");
      g_object_unref (self);
      return;
    }
  g_signal_connect (client, "untagged", G_CALLBACK (idle_untagged_cb), self);
  hir_imap_client_select_async (client, "INBOX", NULL, self->watch_cancellable, watch_select_cb,
                                self);
}

static void
watch_connect (HirImapProvider *self)
{
  g_autoptr(GError) error = NULL;

  if (!self->watching)
    return;
  set_watch_mode (self, "connecting");
  drop_client (&self->idle_client);
  self->idle_client = new_client (self, &error);
  if (self->idle_client == NULL)
    {
      set_watch_mode (self, "poll");
      return;
    }
  /* IDLE is silent until something happens: only a silence past the renewal is dead. */
  hir_imap_client_set_timeout (self->idle_client, self->idle_interval + 120);
  /* The client holds itself through its own callback. */
  hir_imap_client_connect_async (g_object_ref (self->idle_client), self->watch_cancellable,
                                 watch_connect_cb, g_object_ref (self));
}

static gboolean
poll_cb (gpointer user_data)
{
  HirImapProvider *self = user_data;

  hir_provider_emit_remote_changed (HIR_PROVIDER (self));
  return G_SOURCE_CONTINUE;
}

static void
hir_imap_provider_start_watching (HirProvider *provider)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);

  if (self->watching)
    return;
  self->watching = TRUE;
  self->backoff = 0;
  self->watch_cancellable = g_cancellable_new ();
  self->poll_source = g_timeout_add_seconds (self->poll_interval, poll_cb, self);
  watch_connect (self);
}

static void
stop_watching (HirImapProvider *self)
{
  self->watching = FALSE;
  self->idling = FALSE;
  g_cancellable_cancel (self->watch_cancellable);
  g_clear_object (&self->watch_cancellable);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_clear_handle_id (&self->reidle_source, g_source_remove);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_clear_handle_id (&self->changed_source, g_source_remove);
  if (self->idle_client != NULL)
    g_signal_handlers_disconnect_by_data (self->idle_client, self);
  drop_client (&self->idle_client);
  set_watch_mode (self, "none");
}

static void
hir_imap_provider_stop_watching (HirProvider *provider)
{
  stop_watching (HIR_IMAP_PROVIDER (provider));
}

static void
hir_imap_provider_set_password (HirProvider *provider,
                                const char  *password)
{
  HirImapProvider *self = HIR_IMAP_PROVIDER (provider);

  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  /* The connections log in again with the new password on their next use. */
  drop_client (&self->ops_client);
  if (self->sync_task == NULL)
    drop_client (&self->sync_client);
  if (self->watching)
    {
      g_clear_handle_id (&self->reconnect_source, g_source_remove);
      watch_connect (self);
    }
}

static void
hir_imap_provider_iface_init (HirProviderInterface *iface)
{
  iface->sync_async = hir_imap_provider_sync_async;
  iface->sync_finish = hir_imap_provider_sync_finish;
  iface->fetch_body_async = hir_imap_provider_fetch_body_async;
  iface->fetch_body_finish = hir_imap_provider_fetch_body_finish;
  iface->fetch_attachment_async = hir_imap_provider_fetch_attachment_async;
  iface->fetch_attachment_finish = hir_imap_provider_fetch_attachment_finish;
  iface->set_flags_async = hir_imap_provider_set_flags_async;
  iface->set_flags_finish = hir_imap_provider_set_flags_finish;
  iface->move_async = iface_move_async;
  iface->move_finish = iface_move_finish;
  iface->delete_async = iface_delete_async;
  iface->delete_finish = iface_delete_finish;
  iface->start_watching = hir_imap_provider_start_watching;
  iface->stop_watching = hir_imap_provider_stop_watching;
  iface->set_password = hir_imap_provider_set_password;
}
