/* hir-composer-view.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "hir-composer-view.h"
#include "hir-web-context.h"

/* Our scripts live in a world of their own: the page (a quoted message among it) cannot
 * reach them, and the page's CSP, which forbids every script, does not apply to them. */
#define WORLD "hirondelle-composer"

/* script-src 'none' keeps a quoted message's scripts and event handlers dead even though
 * JavaScript is on for our own world; images come only from cid: and data:. */
static const char document_template[] =
  "<!DOCTYPE html>\n"
  "<html><head><meta charset=\"utf-8\">"
  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
  "img-src cid: data:; style-src 'unsafe-inline'\">"
  "<style>"
  ":root { color-scheme: light dark; }"
  "body { font-family: sans-serif; font-size: 11pt; line-height: 1.4; margin: 12px 18px;"
  " min-height: 80vh; outline: none; overflow-wrap: anywhere; }"
  "blockquote { margin: 0.5em 0 0.5em 0.4em; padding-left: 0.8em;"
  " border-left: 3px solid rgba(127,127,127,0.45); color: GrayText; }"
  "img { max-width: 100%%; }"
  "</style></head><body>%s</body></html>";

static const char changed_script[] =
  "document.addEventListener('input', function () {"
  "  window.webkit.messageHandlers.changed.postMessage('');"
  "}, true);";

/* The plain-text alternative: the rendered text (innerText follows the layout: list
 * items, paragraphs, line breaks), with quotes marked "> " per level. The text is taken
 * from a rendered copy so the edited document and its undo history stay untouched. */
static const char content_script[] =
  "(function () {"
  "  var box = document.createElement('div');"
  "  box.style.cssText = 'position:absolute;left:-100000px;top:0;width:' +"
  "    Math.max(document.body.clientWidth, 400) + 'px';"
  "  box.innerHTML = document.body.innerHTML;"
  "  document.documentElement.appendChild(box);"
  "  var quotes = Array.prototype.slice.call(box.querySelectorAll('blockquote')).reverse();"
  "  quotes.forEach(function (q) {"
  "    var lines = q.innerText.replace(/\\n+$/, '').split('\\n');"
  "    var pre = document.createElement('div');"
  "    pre.style.whiteSpace = 'pre-wrap';"
  "    pre.textContent = lines.map(function (l) { return l.length ? '> ' + l : '>'; }).join('\\n');"
  "    q.replaceWith(pre);"
  "  });"
  "  var text = box.innerText;"
  "  box.remove();"
  "  var inert = document.implementation.createHTMLDocument('');"
  "  var copy = inert.importNode(document.body, true);"
  "  copy.querySelectorAll('img[data-hir-cid]').forEach(function (img) {"
  "    img.setAttribute('src', 'cid:' + img.getAttribute('data-hir-cid'));"
  "    img.removeAttribute('data-hir-cid');"
  "  });"
  "  return { html: copy.innerHTML, text: text };"
  "})();";

struct _HirComposerView
{
  WebKitWebView  parent_instance;

  GListModel    *parts;
  char          *pending_html;
  GCancellable  *cancellable;
  /* GTasks of get_content waiting for the document */
  GPtrArray     *waiting;

  guint          ready : 1;
  guint          filter_ready : 1;
};

G_DEFINE_FINAL_TYPE (HirComposerView, hir_composer_view, WEBKIT_TYPE_WEB_VIEW)

enum {
  PROP_0,
  PROP_READY,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_content (HirComposerView *self, GTask *task);

/* The web context of composers: the reader's (one set of web processes, the same
 * ephemeral network session and content filters). Spell checking is a setting of the
 * context; it only ever applies to editable content, so message views are untouched. */
static WebKitWebContext *
get_web_context (void)
{
  WebKitWebContext *context = hir_web_context_get_web_context (hir_web_context_get_default ());

  if (!webkit_web_context_get_spell_checking_enabled (context))
    {
      const char * const *languages = g_get_language_names ();
      g_autoptr(GPtrArray) spell = g_ptr_array_new ();

      /* "en_GB", "fr": the dictionaries' names, without encodings or modifiers. */
      for (guint i = 0; languages[i] != NULL; i++)
        if (g_strcmp0 (languages[i], "C") != 0 && strchr (languages[i], '.') == NULL &&
            strchr (languages[i], '@') == NULL)
          g_ptr_array_add (spell, (gpointer) languages[i]);
      g_ptr_array_add (spell, NULL);
      webkit_web_context_set_spell_checking_enabled (context, TRUE);
      if (spell->len > 1)
        webkit_web_context_set_spell_checking_languages (context, (const char * const *) spell->pdata);
    }
  return context;
}

/* Loading */

static char *
extract_body (const char *html)
{
  const char *start;
  const char *end;
  g_autofree char *lower = NULL;

  if (html == NULL)
    return g_strdup ("<p><br></p>");

  /* A whole document: only its body goes in ours (our head carries the CSP). */
  lower = g_ascii_strdown (html, -1);
  start = strstr (lower, "<body");
  if (start == NULL)
    return g_strdup (html);
  start = strchr (start, '>');
  if (start == NULL)
    return g_strdup (html);
  start++;
  end = g_strrstr (start, "</body");
  if (end == NULL)
    end = lower + strlen (lower);
  return g_strndup (html + (start - lower), end - start);
}

static HirOutgoingAttachment *
find_part (HirComposerView *self,
           const char      *content_id)
{
  for (guint i = 0; self->parts != NULL && i < g_list_model_get_n_items (self->parts); i++)
    {
      g_autoptr(HirOutgoingAttachment) part = g_list_model_get_item (self->parts, i);

      if (g_strcmp0 (hir_outgoing_attachment_get_content_id (part), content_id) == 0)
        return g_steal_pointer (&part);
    }
  return NULL;
}

static char *
make_data_uri (HirOutgoingAttachment *part)
{
  GBytes *data = hir_outgoing_attachment_get_data (part);
  g_autofree char *base64 = g_base64_encode (g_bytes_get_data (data, NULL), g_bytes_get_size (data));

  return g_strdup_printf ("data:%s;base64,%s", hir_outgoing_attachment_get_content_type (part), base64);
}

static gboolean
replace_cid_cb (const GMatchInfo *match,
                GString          *result,
                gpointer          user_data)
{
  HirComposerView *self = user_data;
  g_autofree char *whole = g_match_info_fetch (match, 0);
  g_autofree char *escaped = g_match_info_fetch (match, 2);
  g_autofree char *content_id = g_uri_unescape_string (escaped, NULL);
  g_autoptr(HirOutgoingAttachment) part = find_part (self, content_id);
  g_autofree char *uri = NULL;
  g_autofree char *quoted_id = NULL;

  if (part == NULL)
    {
      g_string_append (result, whole);
      return FALSE;
    }
  uri = make_data_uri (part);
  quoted_id = g_markup_escape_text (content_id, -1);
  g_string_append_printf (result, "src=\"%s\" data-hir-cid=\"%s\"", uri, quoted_id);
  return FALSE;
}

/* The editor shows inline parts from data: URLs (marked with their content id, which
 * reading back turns into cid: again): the cid: scheme is the reader's, and a document
 * being edited has nothing to ask a server for. */
static char *
inline_parts (HirComposerView *self,
              const char      *body)
{
  g_autoptr(GRegex) regex = NULL;

  regex = g_regex_new ("src\\s*=\\s*([\"'])cid:([^\"']+)\\1", G_REGEX_CASELESS, 0, NULL);
  return g_regex_replace_eval (regex, body, -1, 0, 0, replace_cid_cb, self, NULL);
}

static void
set_ready (HirComposerView *self,
           gboolean         ready)
{
  ready = !!ready;
  if (self->ready == ready)
    return;
  self->ready = ready;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

static void
load_pending (HirComposerView *self)
{
  g_autofree char *body = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *document = NULL;

  if (!self->filter_ready || self->pending_html == NULL)
    return;

  body = extract_body (self->pending_html[0] != '\0' ? self->pending_html : NULL);
  shown = inline_parts (self, body);
  document = g_strdup_printf (document_template, shown != NULL ? shown : body);
  g_clear_pointer (&self->pending_html, g_free);
  webkit_web_view_load_html (WEBKIT_WEB_VIEW (self), document, "about:blank");
}

static void
filters_loaded_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  HirComposerView *self;
  WebKitUserContentManager *manager;

  hir_web_context_load_filters_finish (HIR_WEB_CONTEXT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = user_data;
  if (error != NULL)
    {
      /* Without the filter a quoted message could load remote content: stay empty. */
      g_warning ("%s", error->message);
      return;
    }

  manager = webkit_web_view_get_user_content_manager (WEBKIT_WEB_VIEW (self));
  webkit_user_content_manager_add_filter (manager, hir_web_context_get_filter (HIR_WEB_CONTEXT (object), FALSE));
  self->filter_ready = TRUE;
  load_pending (self);
}

static void
load_changed_cb (HirComposerView *self,
                 WebKitLoadEvent  event)
{
  g_autoptr(GPtrArray) waiting = NULL;

  if (event != WEBKIT_LOAD_FINISHED)
    return;

  set_ready (self, TRUE);
  waiting = g_steal_pointer (&self->waiting);
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiting->len; i++)
    start_content (self, g_object_ref (g_ptr_array_index (waiting, i)));
}

static void
script_changed_cb (HirComposerView *self,
                   JSCValue        *value)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Reading back */

static void
content_evaluated_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JSCValue) value = NULL;
  g_autoptr(JSCValue) html = NULL;
  g_autoptr(JSCValue) text = NULL;
  g_auto(GStrv) pair = NULL;

  value = webkit_web_view_evaluate_javascript_finish (WEBKIT_WEB_VIEW (object), result, &error);
  if (value == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!jsc_value_is_object (value))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("Could not read the message text"));
      return;
    }

  html = jsc_value_object_get_property (value, "html");
  text = jsc_value_object_get_property (value, "text");
  pair = g_new0 (char *, 3);
  pair[0] = g_strdup_printf ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
                             "<body>%s</body></html>\n",
                             jsc_value_to_string (html) != NULL ? jsc_value_to_string (html) : "");
  pair[1] = jsc_value_to_string (text);
  g_task_return_pointer (task, g_steal_pointer (&pair), (GDestroyNotify) g_strfreev);
}

static void
start_content (HirComposerView *self,
               GTask           *task)
{
  webkit_web_view_evaluate_javascript (WEBKIT_WEB_VIEW (self), content_script, -1, WORLD, NULL,
                                       g_task_get_cancellable (task), content_evaluated_cb,
                                       task);
}

/* WebKitWebView */

static gboolean
hir_composer_view_decide_policy (WebKitWebView            *view,
                                 WebKitPolicyDecision     *decision,
                                 WebKitPolicyDecisionType  type)
{
  WebKitNavigationAction *action;

  /* Our own load_html is the one navigation: a link clicked while editing, a dropped
   * URL or a quoted message's meta refresh go nowhere. */
  if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION)
    {
      action = webkit_navigation_policy_decision_get_navigation_action (WEBKIT_NAVIGATION_POLICY_DECISION (decision));
      if (g_strcmp0 (webkit_uri_request_get_uri (webkit_navigation_action_get_request (action)),
                     "about:blank") == 0 &&
          webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_OTHER)
        {
          webkit_policy_decision_use (decision);
          return TRUE;
        }
    }
  else if (type == WEBKIT_POLICY_DECISION_TYPE_RESPONSE)
    {
      webkit_policy_decision_use (decision);
      return TRUE;
    }
  webkit_policy_decision_ignore (decision);
  return TRUE;
}

static gboolean
hir_composer_view_context_menu (WebKitWebView       *view,
                                WebKitContextMenu   *menu,
                                WebKitHitTestResult *hit_test_result)
{
  GList *items = g_list_copy (webkit_context_menu_get_items (menu));

  /* Editing and spelling only: no reload, inspector or "open link". */
  for (GList *l = items; l != NULL; l = l->next)
    {
      WebKitContextMenuItem *item = l->data;

      switch (webkit_context_menu_item_get_stock_action (item))
        {
        case WEBKIT_CONTEXT_MENU_ACTION_OPEN_LINK:
        case WEBKIT_CONTEXT_MENU_ACTION_OPEN_LINK_IN_NEW_WINDOW:
        case WEBKIT_CONTEXT_MENU_ACTION_DOWNLOAD_LINK_TO_DISK:
        case WEBKIT_CONTEXT_MENU_ACTION_OPEN_IMAGE_IN_NEW_WINDOW:
        case WEBKIT_CONTEXT_MENU_ACTION_DOWNLOAD_IMAGE_TO_DISK:
        case WEBKIT_CONTEXT_MENU_ACTION_RELOAD:
        case WEBKIT_CONTEXT_MENU_ACTION_GO_BACK:
        case WEBKIT_CONTEXT_MENU_ACTION_GO_FORWARD:
        case WEBKIT_CONTEXT_MENU_ACTION_STOP:
        case WEBKIT_CONTEXT_MENU_ACTION_INSPECT_ELEMENT:
          webkit_context_menu_remove (menu, item);
          break;
        default:
          break;
        }
    }
  g_list_free (items);
  return FALSE;
}

static gboolean
hir_composer_view_permission_request (WebKitWebView           *view,
                                      WebKitPermissionRequest *request)
{
  webkit_permission_request_deny (request);
  return TRUE;
}

static gboolean
hir_composer_view_run_file_chooser (WebKitWebView            *view,
                                    WebKitFileChooserRequest *request)
{
  webkit_file_chooser_request_cancel (request);
  return TRUE;
}

/* GObject */

static void
hir_composer_view_constructed (GObject *object)
{
  HirComposerView *self = (HirComposerView *)object;
  WebKitUserContentManager *manager;
  WebKitSettings *settings;
  g_autoptr(WebKitUserScript) script = NULL;

  G_OBJECT_CLASS (hir_composer_view_parent_class)->constructed (object);

  manager = webkit_web_view_get_user_content_manager (WEBKIT_WEB_VIEW (self));
  settings = webkit_web_view_get_settings (WEBKIT_WEB_VIEW (self));

  /* These settings are this view's own: message views keep JavaScript off. */
  webkit_settings_set_enable_javascript (settings, TRUE);
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
  /* Encrypted media would also have WebKit keep a media keys folder on disk. */
  webkit_settings_set_enable_encrypted_media (settings, FALSE);
  webkit_settings_set_enable_fullscreen (settings, FALSE);
  webkit_settings_set_enable_html5_local_storage (settings, FALSE);
  webkit_settings_set_enable_html5_database (settings, FALSE);
  webkit_settings_set_enable_developer_extras (settings, FALSE);
  webkit_settings_set_enable_back_forward_navigation_gestures (settings, FALSE);
  webkit_settings_set_allow_file_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_universal_access_from_file_urls (settings, FALSE);
  webkit_settings_set_allow_modal_dialogs (settings, FALSE);
  webkit_settings_set_default_charset (settings, "utf-8");

  script = webkit_user_script_new_for_world (changed_script, WEBKIT_USER_CONTENT_INJECT_TOP_FRAME,
                                             WEBKIT_USER_SCRIPT_INJECT_AT_DOCUMENT_END, WORLD,
                                             NULL, NULL);
  webkit_user_content_manager_add_script (manager, script);
  webkit_user_content_manager_register_script_message_handler (manager, "changed", WORLD);
  g_signal_connect_object (manager, "script-message-received::changed",
                           G_CALLBACK (script_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "load-changed", G_CALLBACK (load_changed_cb), NULL);

  webkit_web_view_set_editable (WEBKIT_WEB_VIEW (self), TRUE);

  hir_web_context_load_filters_async (hir_web_context_get_default (), self->cancellable,
                                      filters_loaded_cb, self);
}

static void
hir_composer_view_dispose (GObject *object)
{
  HirComposerView *self = (HirComposerView *)object;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->parts);

  G_OBJECT_CLASS (hir_composer_view_parent_class)->dispose (object);
}

static void
hir_composer_view_finalize (GObject *object)
{
  HirComposerView *self = (HirComposerView *)object;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pending_html, g_free);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);

  G_OBJECT_CLASS (hir_composer_view_parent_class)->finalize (object);
}

static void
hir_composer_view_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  HirComposerView *self = HIR_COMPOSER_VIEW (object);

  switch (prop_id)
    {
    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_composer_view_class_init (HirComposerViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  WebKitWebViewClass *web_view_class = WEBKIT_WEB_VIEW_CLASS (klass);

  object_class->constructed = hir_composer_view_constructed;
  object_class->dispose = hir_composer_view_dispose;
  object_class->finalize = hir_composer_view_finalize;
  object_class->get_property = hir_composer_view_get_property;

  web_view_class->decide_policy = hir_composer_view_decide_policy;
  web_view_class->context_menu = hir_composer_view_context_menu;
  web_view_class->permission_request = hir_composer_view_permission_request;
  web_view_class->run_file_chooser = hir_composer_view_run_file_chooser;

  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hir_composer_view_init (HirComposerView *self)
{
  self->cancellable = g_cancellable_new ();
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
}

GtkWidget *
hir_composer_view_new (void)
{
  g_autoptr(WebKitUserContentManager) manager = webkit_user_content_manager_new ();

  return g_object_new (HIR_TYPE_COMPOSER_VIEW,
                       "web-context", get_web_context (),
                       "network-session", hir_web_context_get_network_session (hir_web_context_get_default ()),
                       "user-content-manager", manager,
                       NULL);
}

void
hir_composer_view_load (HirComposerView *self,
                        const char      *html,
                        GListModel      *parts)
{
  g_return_if_fail (HIR_IS_COMPOSER_VIEW (self));

  g_set_object (&self->parts, parts);
  g_free (self->pending_html);
  self->pending_html = g_strdup (html != NULL ? html : "");
  set_ready (self, FALSE);
  load_pending (self);
}

gboolean
hir_composer_view_get_ready (HirComposerView *self)
{
  g_return_val_if_fail (HIR_IS_COMPOSER_VIEW (self), FALSE);

  return self->ready;
}

void
hir_composer_view_get_content_async (HirComposerView     *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (HIR_IS_COMPOSER_VIEW (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hir_composer_view_get_content_async);
  if (!self->ready)
    {
      g_ptr_array_add (self->waiting, g_steal_pointer (&task));
      return;
    }
  start_content (self, g_steal_pointer (&task));
}

gboolean
hir_composer_view_get_content_finish (HirComposerView  *self,
                                      GAsyncResult     *result,
                                      char            **html,
                                      char            **text,
                                      GError          **error)
{
  g_auto(GStrv) pair = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  pair = g_task_propagate_pointer (G_TASK (result), error);
  if (pair == NULL)
    return FALSE;
  if (html != NULL)
    *html = g_steal_pointer (&pair[0]);
  if (text != NULL)
    *text = g_steal_pointer (&pair[1]);
  return TRUE;
}

static void
image_inserted_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(JSCValue) value = NULL;
  g_autoptr(GError) error = NULL;

  value = webkit_web_view_evaluate_javascript_finish (WEBKIT_WEB_VIEW (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (value == NULL)
    g_warning ("Could not insert the image: %s", error->message);
  g_signal_emit (object, signals[CHANGED], 0);
}

void
hir_composer_view_insert_image (HirComposerView *self,
                                const char      *content_id,
                                double           x,
                                double           y)
{
  g_autoptr(HirOutgoingAttachment) part = NULL;
  g_autoptr(GString) script = g_string_new (NULL);
  g_autofree char *uri = NULL;
  g_autofree char *quoted_id = NULL;
  char xs[G_ASCII_DTOSTR_BUF_SIZE], ys[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_if_fail (HIR_IS_COMPOSER_VIEW (self));
  g_return_if_fail (content_id != NULL);

  part = find_part (self, content_id);
  g_return_if_fail (part != NULL);
  uri = make_data_uri (part);
  quoted_id = g_markup_escape_text (content_id, -1);

  /* Where it was dropped (not where the caret happened to be), as an edit the user can
   * undo. Base64 and a markup-escaped id need no further quoting in a JS string. */
  g_string_append (script, "(function () {");
  if (x >= 0)
    g_string_append_printf (script,
                            "var r = document.caretRangeFromPoint(%s, %s);"
                            "if (r) { var s = getSelection(); s.removeAllRanges(); s.addRange(r); }",
                            g_ascii_dtostr (xs, sizeof xs, x), g_ascii_dtostr (ys, sizeof ys, y));
  g_string_append_printf (script,
                          "document.body.focus();"
                          "document.execCommand('insertHTML', false, '<img src=\"%s\" data-hir-cid=\"%s\">');"
                          "})();",
                          uri, quoted_id);
  webkit_web_view_evaluate_javascript (WEBKIT_WEB_VIEW (self), script->str, script->len, WORLD,
                                       NULL, self->cancellable, image_inserted_cb, NULL);
}

void
hir_composer_view_insert_link (HirComposerView *self,
                               const char      *uri)
{
  g_return_if_fail (HIR_IS_COMPOSER_VIEW (self));

  webkit_web_view_execute_editing_command_with_argument (WEBKIT_WEB_VIEW (self), "CreateLink", uri);
  g_signal_emit (self, signals[CHANGED], 0);
}
