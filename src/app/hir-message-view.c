/* hir-message-view.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>

#include "hir-message-document.h"
#include "hir-message-view.h"
#include "hir-web-context.h"

struct _HirMessageView
{
  WebKitWebView             parent_instance;

  HirMessageBody           *body;
  char                     *document;
  char                     *document_uri;
  guint                     serial;
  GCancellable             *cancellable;

  HirMessageViewPartLoader  loader;
  gpointer                  loader_data;
  GDestroyNotify            loader_destroy;

  guint                     allow_remote : 1;
  guint                     remote_content_blocked : 1;
  guint                     recovered : 1;
};

G_DEFINE_FINAL_TYPE (HirMessageView, hir_message_view, WEBKIT_TYPE_WEB_VIEW)

enum {
  PROP_0,
  PROP_ALLOW_REMOTE,
  PROP_REMOTE_CONTENT_BLOCKED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void render (HirMessageView *self);

static void
set_remote_content_blocked (HirMessageView *self,
                            gboolean        blocked)
{
  blocked = !!blocked;
  if (self->remote_content_blocked == blocked)
    return;
  self->remote_content_blocked = blocked;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REMOTE_CONTENT_BLOCKED]);
}

static gboolean
is_dark (void)
{
  return adw_style_manager_get_dark (adw_style_manager_get_default ());
}

static void
load_document (HirMessageView *self)
{
  HirWebContext *context = hir_web_context_get_default ();
  WebKitUserContentManager *manager = webkit_web_view_get_user_content_manager (WEBKIT_WEB_VIEW (self));
  WebKitUserContentFilter *filter = hir_web_context_get_filter (context, self->allow_remote);
  GdkRGBA background = { 1, 1, 1, 1 };

  /* The filter is in place before the document can ask for anything. */
  webkit_user_content_manager_remove_all_filters (manager);
  webkit_user_content_manager_add_filter (manager, filter);

  if (self->body != NULL && hir_message_body_get_html (self->body) == NULL && is_dark ())
    gdk_rgba_parse (&background, "#1e1e1e");
  webkit_web_view_set_background_color (WEBKIT_WEB_VIEW (self), &background);

  webkit_web_view_load_uri (WEBKIT_WEB_VIEW (self), self->document_uri);
}

static void
filters_loaded_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(HirMessageView) self = user_data;
  g_autoptr(GError) error = NULL;
  guint serial = GPOINTER_TO_UINT (g_task_get_task_data (G_TASK (result)));

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *escaped = NULL;
      g_autofree char *html = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || serial != self->serial)
        return;

      /* Without the filter a message is not shown at all: blocking is not optional. */
      g_warning ("%s", error->message);
      escaped = g_markup_escape_text (error->message, -1);
      html = g_strdup_printf ("<p>%s</p>", escaped);
      g_clear_pointer (&self->document, g_free);
      self->document = hir_message_document_build (html, NULL, FALSE, FALSE);
      set_remote_content_blocked (self, FALSE);
      webkit_web_view_load_uri (WEBKIT_WEB_VIEW (self), self->document_uri);
      return;
    }

  if (serial == self->serial)
    load_document (self);
}

static void
wait_for_filters_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_web_context_load_filters_finish (HIR_WEB_CONTEXT (object), result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
render (HirMessageView *self)
{
  HirWebContext *context = hir_web_context_get_default ();
  const char *html = NULL;
  const char *text = NULL;

  self->serial++;
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (self->body != NULL)
    {
      html = hir_message_body_get_html (self->body);
      text = hir_message_body_get_text (self->body);
    }

  g_clear_pointer (&self->document, g_free);
  self->document = hir_message_document_build (html, text, self->allow_remote, is_dark ());
  g_clear_pointer (&self->document_uri, g_free);
  self->document_uri = g_strdup_printf (HIR_WEB_CONTEXT_MESSAGE_SCHEME "://message/%u",
                                        self->serial);

  set_remote_content_blocked (self, !self->allow_remote &&
                                    hir_message_document_has_remote_content (html));

  if (hir_web_context_get_filter (context, self->allow_remote) != NULL)
    {
      load_document (self);
    }
  else
    {
      /* The serial travels with the task, so a late answer for an older message is
       * dropped. */
      GTask *task = g_task_new (self, self->cancellable, filters_loaded_cb, g_object_ref (self));

      g_task_set_source_tag (task, render);
      g_task_set_task_data (task, GUINT_TO_POINTER (self->serial), NULL);
      hir_web_context_load_filters_async (context, self->cancellable, wait_for_filters_cb, task);
    }
}

void
hir_message_view_show_body (HirMessageView *self,
                            HirMessageBody *body,
                            gboolean        allow_remote)
{
  g_return_if_fail (HIR_IS_MESSAGE_VIEW (self));
  g_return_if_fail (body == NULL || HIR_IS_MESSAGE_BODY (body));

  g_set_object (&self->body, body);
  self->recovered = FALSE;
  if (self->allow_remote != !!allow_remote)
    {
      self->allow_remote = !!allow_remote;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_REMOTE]);
    }
  render (self);
}

HirMessageBody *
hir_message_view_get_body (HirMessageView *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_VIEW (self), NULL);

  return self->body;
}

gboolean
hir_message_view_get_allow_remote (HirMessageView *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_VIEW (self), FALSE);

  return self->allow_remote;
}

void
hir_message_view_set_allow_remote (HirMessageView *self,
                                   gboolean        allow_remote)
{
  g_return_if_fail (HIR_IS_MESSAGE_VIEW (self));

  allow_remote = !!allow_remote;
  if (self->allow_remote == allow_remote)
    return;
  self->allow_remote = allow_remote;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOW_REMOTE]);
  render (self);
}

gboolean
hir_message_view_get_remote_content_blocked (HirMessageView *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_VIEW (self), FALSE);

  return self->remote_content_blocked;
}

const char *
hir_message_view_get_document (HirMessageView *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_VIEW (self), NULL);

  return self->document;
}

void
hir_message_view_set_part_loader (HirMessageView           *self,
                                  HirMessageViewPartLoader  loader,
                                  gpointer                  user_data,
                                  GDestroyNotify            destroy)
{
  g_return_if_fail (HIR_IS_MESSAGE_VIEW (self));

  if (self->loader_destroy != NULL)
    self->loader_destroy (self->loader_data);
  self->loader = loader;
  self->loader_data = user_data;
  self->loader_destroy = destroy;
}

static void
finish_with_bytes (WebKitURISchemeRequest *request,
                   GBytes                 *bytes,
                   const char             *content_type,
                   const char             *csp)
{
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(WebKitURISchemeResponse) response = NULL;
  SoupMessageHeaders *headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);

  response = webkit_uri_scheme_response_new (stream, g_bytes_get_size (bytes));
  webkit_uri_scheme_response_set_content_type (response, content_type);
  soup_message_headers_append (headers, "Content-Type", content_type);
  if (csp != NULL)
    soup_message_headers_append (headers, "Content-Security-Policy", csp);
  soup_message_headers_append (headers, "X-Content-Type-Options", "nosniff");
  webkit_uri_scheme_response_set_http_headers (response, headers);
  webkit_uri_scheme_request_finish_with_response (request, response);
}

static void
finish_not_found (WebKitURISchemeRequest *request)
{
  g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                         /* Translators: %s is an address (cid:…). */
                                         _("%s is not part of this message"),
                                         webkit_uri_scheme_request_get_uri (request));

  webkit_uri_scheme_request_finish_error (request, error);
}

static void
part_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(WebKitURISchemeRequest) request = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const char *content_type = g_object_get_data (G_OBJECT (result), "hir-content-type");

  bytes = g_task_propagate_pointer (G_TASK (result), &error);
  if (bytes == NULL)
    {
      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No data"));
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("cid part not loaded: %s", error->message);
      webkit_uri_scheme_request_finish_error (request, error);
      return;
    }

  finish_with_bytes (request, bytes,
                     content_type != NULL ? content_type : "application/octet-stream",
                     NULL);
}

static void
handle_cid (HirMessageView         *self,
            WebKitURISchemeRequest *request)
{
  const char *uri = webkit_uri_scheme_request_get_uri (request);
  g_autofree char *content_id = NULL;
  HirAttachment *attachment;
  GTask *task;

  if (self->body == NULL || self->loader == NULL ||
      g_ascii_strncasecmp (uri, "cid:", 4) != 0)
    {
      finish_not_found (request);
      return;
    }

  content_id = g_uri_unescape_string (uri + 4, NULL);
  if (content_id == NULL)
    {
      finish_not_found (request);
      return;
    }

  /* Only a part of this very message: never Content-Location or an external body. */
  attachment = hir_message_body_find_by_content_id (self->body, content_id);
  if (attachment == NULL)
    {
      finish_not_found (request);
      return;
    }

  task = g_task_new (self, self->cancellable, part_loaded_cb, g_object_ref (request));
  g_task_set_source_tag (task, handle_cid);
  g_object_set_data_full (G_OBJECT (task), "hir-content-type",
                          g_strdup (hir_attachment_get_content_type (attachment)), g_free);
  self->loader (attachment, task, self->loader_data);
}

void
hir_message_view_handle_scheme_request (HirMessageView         *self,
                                        WebKitURISchemeRequest *request)
{
  const char *scheme;

  g_return_if_fail (HIR_IS_MESSAGE_VIEW (self));

  scheme = webkit_uri_scheme_request_get_scheme (request);
  if (g_strcmp0 (scheme, HIR_WEB_CONTEXT_CID_SCHEME) == 0)
    {
      handle_cid (self, request);
    }
  else if (self->document != NULL &&
           g_strcmp0 (webkit_uri_scheme_request_get_uri (request), self->document_uri) == 0)
    {
      g_autofree char *csp = hir_message_document_dup_csp (self->allow_remote);
      g_autoptr(GBytes) bytes = g_bytes_new (self->document, strlen (self->document));

      finish_with_bytes (request, bytes, "text/html; charset=utf-8", csp);
    }
  else
    {
      finish_not_found (request);
    }
}

static gboolean
is_openable_link (const char *uri)
{
  g_autofree char *scheme = g_uri_parse_scheme (uri);

  return scheme != NULL && (g_ascii_strcasecmp (scheme, "http") == 0 ||
                            g_ascii_strcasecmp (scheme, "https") == 0 ||
                            g_ascii_strcasecmp (scheme, "mailto") == 0);
}

static void
open_link (HirMessageView *self,
           const char     *uri)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (!is_openable_link (uri))
    return;
  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
}

static gboolean
hir_message_view_decide_policy (WebKitWebView            *view,
                                WebKitPolicyDecision     *decision,
                                WebKitPolicyDecisionType  type)
{
  HirMessageView *self = HIR_MESSAGE_VIEW (view);

  switch (type)
    {
    case WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION:
    case WEBKIT_POLICY_DECISION_TYPE_NEW_WINDOW_ACTION:
      {
        WebKitNavigationAction *action =
          webkit_navigation_policy_decision_get_navigation_action (WEBKIT_NAVIGATION_POLICY_DECISION (decision));
        WebKitURIRequest *request = webkit_navigation_action_get_request (action);
        const char *uri = webkit_uri_request_get_uri (request);

        /* Our own document, loaded by us: the one navigation that happens here. */
        if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION &&
            self->document_uri != NULL && g_strcmp0 (uri, self->document_uri) == 0 &&
            !webkit_navigation_action_is_user_gesture (action))
          {
            webkit_policy_decision_use (decision);
            return TRUE;
          }

        /* A table of contents inside the message: scrolling within the same document. */
        if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION &&
            self->document_uri != NULL && g_str_has_prefix (uri, self->document_uri) &&
            uri[strlen (self->document_uri)] == '#' &&
            webkit_navigation_action_is_user_gesture (action))
          {
            webkit_policy_decision_use (decision);
            return TRUE;
          }

        /* A link the user clicked goes to the browser; nothing else goes anywhere
         * (meta refresh, forms, frames, window.open, redirects). */
        if (webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_LINK_CLICKED &&
            webkit_navigation_action_is_user_gesture (action))
          open_link (self, uri);

        webkit_policy_decision_ignore (decision);
        return TRUE;
      }

    case WEBKIT_POLICY_DECISION_TYPE_RESPONSE:
      {
        WebKitURIRequest *request =
          webkit_response_policy_decision_get_request (WEBKIT_RESPONSE_POLICY_DECISION (decision));

        if (g_strcmp0 (webkit_uri_request_get_uri (request), self->document_uri) == 0)
          webkit_policy_decision_use (decision);
        else
          webkit_policy_decision_ignore (decision);
        return TRUE;
      }

    default:
      webkit_policy_decision_ignore (decision);
      return TRUE;
    }
}

static gboolean
hir_message_view_context_menu (WebKitWebView       *view,
                               WebKitContextMenu   *menu,
                               WebKitHitTestResult *hit_test_result)
{
  GList *items = g_list_copy (webkit_context_menu_get_items (menu));

  /* Copying is all a message view offers: no reload, no inspector, no "open in new
   * window", no "download image". */
  for (GList *l = items; l != NULL; l = l->next)
    {
      WebKitContextMenuItem *item = l->data;

      switch (webkit_context_menu_item_get_stock_action (item))
        {
        case WEBKIT_CONTEXT_MENU_ACTION_COPY:
        case WEBKIT_CONTEXT_MENU_ACTION_COPY_LINK_TO_CLIPBOARD:
        case WEBKIT_CONTEXT_MENU_ACTION_SELECT_ALL:
          break;
        default:
          webkit_context_menu_remove (menu, item);
          break;
        }
    }
  g_list_free (items);

  return webkit_context_menu_get_n_items (menu) == 0;
}

static gboolean
hir_message_view_permission_request (WebKitWebView           *view,
                                     WebKitPermissionRequest *request)
{
  webkit_permission_request_deny (request);
  return TRUE;
}

static gboolean
hir_message_view_run_file_chooser (WebKitWebView            *view,
                                   WebKitFileChooserRequest *request)
{
  webkit_file_chooser_request_cancel (request);
  return TRUE;
}

/* A crashed web process leaves a blank view: show the message again, once. */
static void
hir_message_view_web_process_terminated (WebKitWebView                     *view,
                                         WebKitWebProcessTerminationReason  reason)
{
  HirMessageView *self = HIR_MESSAGE_VIEW (view);

  g_warning ("The web process showing a message ended (reason %d)", reason);
  if (reason == WEBKIT_WEB_PROCESS_TERMINATED_BY_API || self->recovered || self->body == NULL)
    return;
  self->recovered = TRUE;
  render (self);
}

static void
dark_changed_cb (HirMessageView *self)
{
  /* Plain text follows the theme; HTML keeps its white page either way. */
  if (self->body != NULL && hir_message_body_get_html (self->body) == NULL)
    render (self);
}

static void
hir_message_view_constructed (GObject *object)
{
  HirMessageView *self = (HirMessageView *)object;
  WebKitSettings *settings;

  G_OBJECT_CLASS (hir_message_view_parent_class)->constructed (object);

  settings = webkit_web_view_get_settings (WEBKIT_WEB_VIEW (self));
  webkit_settings_set_enable_javascript (settings, FALSE);
  webkit_settings_set_enable_javascript_markup (settings, FALSE);
  webkit_settings_set_javascript_can_open_windows_automatically (settings, FALSE);
  webkit_settings_set_javascript_can_access_clipboard (settings, FALSE);
  webkit_settings_set_enable_page_cache (settings, FALSE);
  webkit_settings_set_enable_webgl (settings, FALSE);
  webkit_settings_set_enable_webaudio (settings, FALSE);
  webkit_settings_set_enable_webrtc (settings, FALSE);
  webkit_settings_set_enable_media (settings, FALSE);
  webkit_settings_set_enable_media_stream (settings, FALSE);
  webkit_settings_set_enable_mediasource (settings, FALSE);
  webkit_settings_set_enable_encrypted_media (settings, FALSE);
  webkit_settings_set_enable_html5_local_storage (settings, FALSE);
  webkit_settings_set_enable_html5_database (settings, FALSE);
  webkit_settings_set_enable_fullscreen (settings, FALSE);
  webkit_settings_set_enable_developer_extras (settings, FALSE);
  webkit_settings_set_enable_back_forward_navigation_gestures (settings, FALSE);
  webkit_settings_set_allow_file_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_universal_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_top_navigation_to_data_urls (settings, FALSE);
  webkit_settings_set_allow_modal_dialogs (settings, FALSE);
  webkit_settings_set_auto_load_images (settings, TRUE);
  webkit_settings_set_default_charset (settings, "utf-8");

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
}

static void
hir_message_view_dispose (GObject *object)
{
  HirMessageView *self = (HirMessageView *)object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->body);
  hir_message_view_set_part_loader (self, NULL, NULL, NULL);

  G_OBJECT_CLASS (hir_message_view_parent_class)->dispose (object);
}

static void
hir_message_view_finalize (GObject *object)
{
  HirMessageView *self = (HirMessageView *)object;

  g_clear_pointer (&self->document, g_free);
  g_clear_pointer (&self->document_uri, g_free);

  G_OBJECT_CLASS (hir_message_view_parent_class)->finalize (object);
}

static void
hir_message_view_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HirMessageView *self = HIR_MESSAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ALLOW_REMOTE:
      g_value_set_boolean (value, self->allow_remote);
      break;
    case PROP_REMOTE_CONTENT_BLOCKED:
      g_value_set_boolean (value, self->remote_content_blocked);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_view_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HirMessageView *self = HIR_MESSAGE_VIEW (object);

  switch (prop_id)
    {
    case PROP_ALLOW_REMOTE:
      hir_message_view_set_allow_remote (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_view_class_init (HirMessageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  WebKitWebViewClass *web_view_class = WEBKIT_WEB_VIEW_CLASS (klass);

  object_class->constructed = hir_message_view_constructed;
  object_class->dispose = hir_message_view_dispose;
  object_class->finalize = hir_message_view_finalize;
  object_class->get_property = hir_message_view_get_property;
  object_class->set_property = hir_message_view_set_property;

  web_view_class->decide_policy = hir_message_view_decide_policy;
  web_view_class->context_menu = hir_message_view_context_menu;
  web_view_class->permission_request = hir_message_view_permission_request;
  web_view_class->run_file_chooser = hir_message_view_run_file_chooser;
  web_view_class->web_process_terminated = hir_message_view_web_process_terminated;

  properties[PROP_ALLOW_REMOTE] =
    g_param_spec_boolean ("allow-remote", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_REMOTE_CONTENT_BLOCKED] =
    g_param_spec_boolean ("remote-content-blocked", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_message_view_init (HirMessageView *self)
{
}

GtkWidget *
hir_message_view_new (void)
{
  HirWebContext *context = hir_web_context_get_default ();
  g_autoptr(WebKitUserContentManager) manager = webkit_user_content_manager_new ();

  return g_object_new (HIR_TYPE_MESSAGE_VIEW,
                       "web-context", hir_web_context_get_web_context (context),
                       "network-session", hir_web_context_get_network_session (context),
                       "user-content-manager", manager,
                       NULL);
}
