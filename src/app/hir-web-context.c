/* hir-web-context.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-message-view.h"
#include "hir-web-context.h"

/* Content blocker rules (WebKit's JSON format). The trigger regexes are matched against the
 * full URL; WebKit's dialect has no alternation, hence one rule per allowed scheme. Rules
 * apply in order and "ignore-previous-rules" undoes the block for what follows it. */
static const char block_rules[] =
  "["
  "{\"trigger\":{\"url-filter\":\".*\"},\"action\":{\"type\":\"block\"}},"
  "{\"trigger\":{\"url-filter\":\"^" HIR_WEB_CONTEXT_MESSAGE_SCHEME ":\"},"
  "\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^cid:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^data:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^about:\"},\"action\":{\"type\":\"ignore-previous-rules\"}}"
  "]";

static const char remote_rules[] =
  "["
  "{\"trigger\":{\"url-filter\":\".*\"},\"action\":{\"type\":\"block\"}},"
  "{\"trigger\":{\"url-filter\":\"^" HIR_WEB_CONTEXT_MESSAGE_SCHEME ":\"},"
  "\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^cid:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^data:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^about:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  /* Passive resources only: never document, svg-document, script, media, raw (fetch,
   * XHR, beacons, preload of other types), popup, ping or websocket. */
  "{\"trigger\":{\"url-filter\":\"^https?://\","
  "\"resource-type\":[\"image\",\"style-sheet\",\"font\"]},"
  "\"action\":{\"type\":\"ignore-previous-rules\"}}"
  "]";

#define BLOCK_FILTER_ID  "hirondelle-block-remote-v1"
#define REMOTE_FILTER_ID "hirondelle-allow-passive-remote-v1"

struct _HirWebContext
{
  GObject                       parent_instance;

  WebKitWebContext             *web_context;
  WebKitNetworkSession         *network_session;
  WebKitUserContentFilterStore *filter_store;
  WebKitUserContentFilter      *block_filter;
  WebKitUserContentFilter      *remote_filter;
  /* GTasks waiting for the filters */
  GPtrArray                    *waiting;
  GError                       *filter_error;
  guint                         n_compiling;
};

G_DEFINE_FINAL_TYPE (HirWebContext, hir_web_context, G_TYPE_OBJECT)

static void
handle_scheme_request_cb (WebKitURISchemeRequest *request,
                          gpointer                user_data)
{
  WebKitWebView *view = webkit_uri_scheme_request_get_web_view (request);

  /* Only our message views may use these schemes, and only for their own message. */
  if (HIR_IS_MESSAGE_VIEW (view))
    {
      hir_message_view_handle_scheme_request (HIR_MESSAGE_VIEW (view), request);
    }
  else
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                                     _("Not a message view"));
      webkit_uri_scheme_request_finish_error (request, error);
    }
}

static void
hir_web_context_finalize (GObject *object)
{
  HirWebContext *self = (HirWebContext *)object;

  g_clear_object (&self->web_context);
  g_clear_object (&self->network_session);
  g_clear_object (&self->filter_store);
  g_clear_pointer (&self->block_filter, webkit_user_content_filter_unref);
  g_clear_pointer (&self->remote_filter, webkit_user_content_filter_unref);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_error (&self->filter_error);

  G_OBJECT_CLASS (hir_web_context_parent_class)->finalize (object);
}

static void
hir_web_context_class_init (HirWebContextClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hir_web_context_finalize;
}

static void
hir_web_context_init (HirWebContext *self)
{
  WebKitSecurityManager *security;
  g_autofree char *filter_dir = NULL;

  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);

  /* Ephemeral: messages leave no cookies, cache or local storage behind. */
  self->network_session = webkit_network_session_new_ephemeral ();
  self->web_context = webkit_web_context_new ();
  webkit_web_context_set_cache_model (self->web_context, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
  webkit_web_context_set_spell_checking_enabled (self->web_context, FALSE);

  webkit_web_context_register_uri_scheme (self->web_context, HIR_WEB_CONTEXT_MESSAGE_SCHEME,
                                          handle_scheme_request_cb, NULL, NULL);
  webkit_web_context_register_uri_scheme (self->web_context, HIR_WEB_CONTEXT_CID_SCHEME,
                                          handle_scheme_request_cb, NULL, NULL);

  security = webkit_web_context_get_security_manager (self->web_context);
  webkit_security_manager_register_uri_scheme_as_secure (security,
                                                         HIR_WEB_CONTEXT_MESSAGE_SCHEME);
  webkit_security_manager_register_uri_scheme_as_secure (security,
                                                         HIR_WEB_CONTEXT_CID_SCHEME);

  filter_dir = g_build_filename (g_get_user_cache_dir (), "hirondelle", "content-filters",
                                 NULL);
  self->filter_store = webkit_user_content_filter_store_new (filter_dir);
}

HirWebContext *
hir_web_context_get_default (void)
{
  static HirWebContext *instance;

  if (instance == NULL)
    instance = g_object_new (HIR_TYPE_WEB_CONTEXT, NULL);
  return instance;
}

WebKitWebContext *
hir_web_context_get_web_context (HirWebContext *self)
{
  g_return_val_if_fail (HIR_IS_WEB_CONTEXT (self), NULL);

  return self->web_context;
}

WebKitNetworkSession *
hir_web_context_get_network_session (HirWebContext *self)
{
  g_return_val_if_fail (HIR_IS_WEB_CONTEXT (self), NULL);

  return self->network_session;
}

const char *
hir_web_context_get_filter_source (gboolean allow_remote)
{
  return allow_remote ? remote_rules : block_rules;
}

WebKitUserContentFilter *
hir_web_context_get_filter (HirWebContext *self,
                            gboolean       allow_remote)
{
  g_return_val_if_fail (HIR_IS_WEB_CONTEXT (self), NULL);

  return allow_remote ? self->remote_filter : self->block_filter;
}

static gboolean
filters_ready (HirWebContext *self)
{
  return self->block_filter != NULL && self->remote_filter != NULL;
}

static void
complete_waiting (HirWebContext *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *task = g_ptr_array_index (waiting, i);

      if (self->filter_error != NULL)
        g_task_return_error (task, g_error_copy (self->filter_error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
filter_saved_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(HirWebContext) self = user_data;
  g_autoptr(GError) error = NULL;
  WebKitUserContentFilter *filter;
  const char *id;

  filter = webkit_user_content_filter_store_save_finish (WEBKIT_USER_CONTENT_FILTER_STORE (object),
                                                         result, &error);
  self->n_compiling--;
  if (filter == NULL)
    {
      if (self->filter_error == NULL)
        self->filter_error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                          _("Could not prepare the filter that blocks remote content: %s"),
                                          error->message);
    }
  else
    {
      id = webkit_user_content_filter_get_identifier (filter);
      if (g_strcmp0 (id, BLOCK_FILTER_ID) == 0)
        self->block_filter = filter;
      else
        self->remote_filter = filter;
    }

  if (self->n_compiling == 0)
    complete_waiting (self);
}

void
hir_web_context_load_filters_async (HirWebContext       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HIR_IS_WEB_CONTEXT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_web_context_load_filters_async);

  if (filters_ready (self))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_ptr_array_add (self->waiting, g_steal_pointer (&task));
  if (self->n_compiling > 0)
    return;

  /* Compiled at every start (a few milliseconds), so a rule change never meets a stale
   * compiled copy. */
  g_clear_error (&self->filter_error);
  self->n_compiling = 2;
  {
    g_autoptr(GBytes) block = g_bytes_new_static (block_rules, sizeof block_rules - 1);
    g_autoptr(GBytes) remote = g_bytes_new_static (remote_rules, sizeof remote_rules - 1);

    webkit_user_content_filter_store_save (self->filter_store, BLOCK_FILTER_ID, block, NULL,
                                           filter_saved_cb, g_object_ref (self));
    webkit_user_content_filter_store_save (self->filter_store, REMOTE_FILTER_ID, remote, NULL,
                                           filter_saved_cb, g_object_ref (self));
  }
}

gboolean
hir_web_context_load_filters_finish (HirWebContext  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
