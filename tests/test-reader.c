/* test-reader.c: hostile messages must not reach the network; plain text renders well
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "hir-message-document.h"
#include "hir-message-view.h"
#include "hir-test-util.h"
#include "hir-web-context.h"

/* How long to watch for a load that must not happen, once the page has finished loading.
 * This waits for a negative, so it cannot be a signal; it is bounded and short. */
#define QUIET_PERIOD_MS 1500
#define TIMEOUT_MS      20000

/* A loopback HTTP server that counts every accepted TCP connection and every request. */
typedef struct
{
  GSocketService *service;
  guint16         port;
  guint           n_connections;
  GPtrArray      *paths;           /* every request's path, in order */
} Server;

typedef struct
{
  Server            *server;
  GSocketConnection *connection;
  GString           *request;
  char               buffer[4096];
} Client;

/* 1×1 transparent GIF */
static const guint8 gif[] = {
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
  0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
  0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b
};

static void
client_free (Client *client)
{
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_object_unref (client->connection);
  g_string_free (client->request, TRUE);
  g_free (client);
}

static void client_read (Client *client);

static void
client_written_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  client_free (user_data);
}

static void
client_read_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *client = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);
  const char *end;

  if (n <= 0)
    {
      client_free (client);
      return;
    }
  g_string_append_len (client->request, client->buffer, n);

  end = strstr (client->request->str, "\r\n\r\n");
  if (end == NULL)
    {
      client_read (client);
      return;
    }

  {
    g_auto(GStrv) words = g_strsplit (client->request->str, " ", 3);
    g_autoptr(GString) response = g_string_new (NULL);
    GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));
    char *payload;
    gsize length;

    g_ptr_array_add (client->server->paths, g_strdup (words[0] != NULL && words[1] != NULL
                                                      ? words[1] : "?"));
    g_test_message ("HTTP request: %s", (char *) g_ptr_array_index (client->server->paths,
                                                                     client->server->paths->len - 1));

    g_string_append_printf (response,
                            "HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\n"
                            "Content-Length: %u\r\nConnection: close\r\n\r\n",
                            (guint) sizeof gif);
    g_string_append_len (response, (const char *) gif, sizeof gif);
    length = response->len;
    payload = g_string_free (g_steal_pointer (&response), FALSE);
    g_object_set_data_full (G_OBJECT (client->connection), "payload", payload, g_free);
    g_output_stream_write_all_async (out, payload, length, G_PRIORITY_DEFAULT, NULL,
                                     client_written_cb, client);
  }
}

static void
client_read (Client *client)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client->connection));

  g_input_stream_read_async (in, client->buffer, sizeof client->buffer, G_PRIORITY_DEFAULT,
                             NULL, client_read_cb, client);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  Server *server = user_data;
  Client *client = g_new0 (Client, 1);

  server->n_connections++;
  g_test_message ("TCP connection accepted");
  client->server = server;
  client->connection = g_object_ref (connection);
  client->request = g_string_new (NULL);
  client_read (client);
  return TRUE;
}

static Server *
server_new (void)
{
  Server *server = g_new0 (Server, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  server->paths = g_ptr_array_new_with_free_func (g_free);
  server->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &effective, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (server->service, "incoming", G_CALLBACK (incoming_cb), server);
  g_socket_service_start (server->service);
  return server;
}

static void
server_free (Server *server)
{
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_object_unref (server->service);
  g_ptr_array_unref (server->paths);
  g_free (server);
}

static guint
server_count (Server     *server,
              const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < server->paths->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (server->paths, i), prefix))
      n++;
  return n;
}

/* Waiting */

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context for @ms or until @server saw anything. */
static void
watch_for_traffic (Server *server,
                   guint   ms)
{
  gboolean done = FALSE;
  guint id = g_timeout_add (ms, timeout_cb, &done);

  while (!done && server->n_connections == 0 && server->paths->len == 0)
    g_main_context_iteration (NULL, TRUE);
  if (!done)
    g_source_remove (id);
}

static void
quiet_period (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
load_changed_cb (WebKitWebView   *view,
                 WebKitLoadEvent  event,
                 gpointer         user_data)
{
  guint *n_finished = user_data;

  if (event == WEBKIT_LOAD_FINISHED)
    (*n_finished)++;
}

typedef struct
{
  guint *counter;
  guint  target;
} CountCondition;

static gboolean
counter_reached (gpointer data)
{
  CountCondition *condition = data;

  return *condition->counter >= condition->target;
}

static void
wait_for_load (guint *n_finished,
               guint  target)
{
  CountCondition condition = { n_finished, target };

  g_assert_true (hir_test_wait_until (counter_reached, &condition, TIMEOUT_MS));
}

typedef struct
{
  Server     *server;
  const char *prefix;
} ServerCondition;

static gboolean
server_saw (gpointer data)
{
  ServerCondition *condition = data;

  return server_count (condition->server, condition->prefix) > 0;
}

/* A window to render in, as the app does. */
static GtkWidget *
show_in_window (GtkWidget *view)
{
  GtkWidget *window = gtk_window_new ();

  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static char *
hostile_html (guint16 port)
{
  const char *template =
    "<html><head><title>Hostile</title>"
    "<base href='http://127.0.0.1:PORT/base/'>"
    "<meta http-equiv='refresh' content='0; url=http://127.0.0.1:PORT/refresh'>"
    "<link rel='preconnect' href='http://127.0.0.1:PORT'>"
    "<link rel='dns-prefetch' href='http://127.0.0.1:PORT'>"
    "<link rel='prefetch' href='http://127.0.0.1:PORT/prefetch'>"
    "<link rel='preload' href='http://127.0.0.1:PORT/preload' as='fetch' crossorigin>"
    "<link rel='stylesheet' href='http://127.0.0.1:PORT/stylesheet.css'>"
    "<style>"
    "@import url('http://127.0.0.1:PORT/import.css');"
    "@font-face { font-family: Tracker; src: url('http://127.0.0.1:PORT/font.woff'); }"
    ".tracked { font-family: Tracker; background: url('http://127.0.0.1:PORT/bg.png'); }"
    "</style>"
    "<script>document.title = 'pwned'; new Image().src = 'http://127.0.0.1:PORT/script-image';</script>"
    "<script src='http://127.0.0.1:PORT/script.js'></script>"
    "</head>"
    "<body background='http://127.0.0.1:PORT/body-bg.png'>"
    "<p class='tracked'>Hello, reader.</p>"
    "<img src='http://127.0.0.1:PORT/img.png' alt='remote'>"
    "<img src='http://127.0.0.1:PORT/pixel.gif' width='1' height='1'>"
    "<img srcset='http://127.0.0.1:PORT/srcset.png 1x, http://127.0.0.1:PORT/srcset2.png 2x'>"
    "<picture><source srcset='http://127.0.0.1:PORT/picture.png'><img alt='p'></picture>"
    "<img src='//127.0.0.1:PORT/protocol-relative.png'>"
    "<img src='base-relative.png'>"
    "<iframe src='http://127.0.0.1:PORT/iframe'></iframe>"
    "<iframe srcdoc=\"<img src='http://127.0.0.1:PORT/srcdoc.png'>\"></iframe>"
    "<object data='http://127.0.0.1:PORT/object.html' type='text/html'></object>"
    "<object data='data:text/html,<img src=http://127.0.0.1:PORT/data-object.png>'></object>"
    "<embed src='http://127.0.0.1:PORT/embed.swf' type='application/x-shockwave-flash'>"
    "<video src='http://127.0.0.1:PORT/video.webm' poster='http://127.0.0.1:PORT/poster.png' autoplay></video>"
    "<audio src='http://127.0.0.1:PORT/audio.ogg' autoplay></audio>"
    "<form id='f' action='http://127.0.0.1:PORT/form' method='post'><input name='q' value='x' autofocus onfocus='this.form.submit()'></form>"
    "<noscript><img src='http://127.0.0.1:PORT/noscript.png'></noscript>"
    "<table background='http://127.0.0.1:PORT/table-bg.png'><tr><td>cell</td></tr></table>"
    "</body></html>";
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_auto(GStrv) parts = g_strsplit (template, "PORT", -1);

  return g_strjoinv (port_text, parts);
}

static void
test_hostile_html (void)
{
  Server *server = server_new ();
  g_autofree char *html = hostile_html (server->port);
  g_autoptr(HirMessageBody) body = hir_message_body_new (NULL, html);
  GtkWidget *view = hir_message_view_new ();
  GtkWidget *window;
  guint n_finished = 0;
  const char *title;
  ServerCondition image_condition = { server, "/img.png" };
  static const char *never[] = {
    "/iframe", "/srcdoc", "/object", "/data-object", "/embed", "/video", "/audio",
    "/script", "/preload", "/prefetch", "/refresh", "/form", "/protocol-relative",
    "/base", NULL
  };

  g_object_ref_sink (view);
  window = show_in_window (view);
  g_signal_connect (view, "load-changed", G_CALLBACK (load_changed_cb), &n_finished);

  /* Blocked: not one request, not one bare connection (preconnect). */
  hir_message_view_show_body (HIR_MESSAGE_VIEW (view), body, FALSE);
  wait_for_load (&n_finished, 1);
  watch_for_traffic (server, QUIET_PERIOD_MS);
  g_assert_cmpuint (server->paths->len, ==, 0);
  g_assert_cmpuint (server->n_connections, ==, 0);
  g_assert_true (hir_message_view_get_remote_content_blocked (HIR_MESSAGE_VIEW (view)));

  /* JavaScript is off: the script did not rename the page. */
  title = webkit_web_view_get_title (WEBKIT_WEB_VIEW (view));
  g_assert_cmpstr (title, !=, "pwned");

  /* The document carries our CSP, in the header and in the head. */
  g_assert_nonnull (strstr (hir_message_view_get_document (HIR_MESSAGE_VIEW (view)),
                            "Content-Security-Policy"));

  /* Allowed: passive content arrives, active content still never asks. */
  hir_message_view_set_allow_remote (HIR_MESSAGE_VIEW (view), TRUE);
  g_assert_false (hir_message_view_get_remote_content_blocked (HIR_MESSAGE_VIEW (view)));
  wait_for_load (&n_finished, 2);
  g_assert_true (hir_test_wait_until (server_saw, &image_condition, TIMEOUT_MS));
  quiet_period (QUIET_PERIOD_MS);

  g_assert_cmpuint (server_count (server, "/pixel.gif"), >, 0);
  for (guint i = 0; never[i] != NULL; i++)
    {
      if (server_count (server, never[i]) != 0)
        g_error ("%s was requested after remote content was allowed", never[i]);
    }
  g_assert_cmpstr (webkit_web_view_get_title (WEBKIT_WEB_VIEW (view)), !=, "pwned");

  /* Still in our document: the meta refresh and the form went nowhere. */
  g_assert_true (g_str_has_prefix (webkit_web_view_get_uri (WEBKIT_WEB_VIEW (view)),
                                   HIR_WEB_CONTEXT_MESSAGE_SCHEME ":"));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (view);
  server_free (server);
}

/* cid: parts */

static const guint8 png[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
  0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
  0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
  0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
  0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82
};

typedef struct
{
  GPtrArray *loaded;   /* content ids the loader was asked for */
} PartLog;

static void
log_part_loader (HirAttachment *attachment,
                 GTask         *task,
                 gpointer       user_data)
{
  PartLog *log = user_data;

  g_ptr_array_add (log->loaded, g_strdup (hir_attachment_get_content_id (attachment)));
  g_task_return_pointer (task, g_bytes_new_static (png, sizeof png),
                         (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static gboolean
part_requested (gpointer data)
{
  PartLog *log = data;

  return log->loaded->len > 0;
}

static void
test_cid_parts (void)
{
  g_autoptr(HirMessageBody) body = NULL;
  g_autoptr(HirMessageBody) other_body = NULL;
  g_autoptr(HirAttachment) part = NULL;
  g_autoptr(HirAttachment) other_part = NULL;
  PartLog log = { g_ptr_array_new_with_free_func (g_free) };
  GtkWidget *view = hir_message_view_new ();
  GtkWidget *window;
  guint n_finished = 0;

  body = hir_message_body_new (NULL,
                               "<p>Logo: <img src='cid:logo@example.test' width='16' height='16'></p>"
                               "<p>Someone else's: <img src='cid:secret@example.test'></p>");
  part = hir_attachment_new ("2", "blob-logo", "logo.png", "image/png", sizeof png);
  hir_attachment_set_content_id (part, "logo@example.test");
  hir_attachment_set_inline (part, TRUE);
  hir_message_body_add_attachment (body, part);

  /* The part the second <img> names belongs to another message. */
  other_body = hir_message_body_new (NULL, "<p>secret</p>");
  other_part = hir_attachment_new ("2", "blob-secret", "secret.png", "image/png", sizeof png);
  hir_attachment_set_content_id (other_part, "secret@example.test");
  hir_message_body_add_attachment (other_body, other_part);

  g_object_ref_sink (view);
  window = show_in_window (view);
  hir_message_view_set_part_loader (HIR_MESSAGE_VIEW (view), log_part_loader, &log, NULL);
  g_signal_connect (view, "load-changed", G_CALLBACK (load_changed_cb), &n_finished);
  hir_message_view_show_body (HIR_MESSAGE_VIEW (view), body, FALSE);

  wait_for_load (&n_finished, 1);
  g_assert_true (hir_test_wait_until (part_requested, &log, TIMEOUT_MS));
  g_assert_false (hir_message_view_get_remote_content_blocked (HIR_MESSAGE_VIEW (view)));

  for (guint i = 0; i < log.loaded->len; i++)
    {
      g_assert_cmpstr (g_ptr_array_index (log.loaded, i), ==, "logo@example.test");
    }

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (view);
  g_ptr_array_unref (log.loaded);
}

/* Plain text */

static void
test_plain_text (void)
{
  const char *text =
    "Hi <Bob> & co,\n"
    "see https://example.test/a?b=1&c=2. Or (http://example.test/wiki/X_(y)).\n"
    "Write to mailto:bob@example.test, not javascript:alert(1) or www.example.test\n"
    "> You wrote:\n"
    "> > Deeper, with http://quoted.example.test/\n"
    ">> still deep\n"
    "> back to one\n"
    "done\n";
  g_autofree char *html = hir_message_document_text_to_html (text);

  g_test_message ("%s", html);

  /* Escaped */
  g_assert_nonnull (strstr (html, "Hi &lt;Bob&gt; &amp; co,"));
  g_assert_null (strstr (html, "<Bob>"));

  /* Links: the sentence's full stop and the closing parenthesis stay outside */
  g_assert_nonnull (strstr (html, "<a href=\"https://example.test/a?b=1&amp;c=2\">https://example.test/a?b=1&amp;c=2</a>. Or"));
  g_assert_nonnull (strstr (html, "<a href=\"http://example.test/wiki/X_(y)\">http://example.test/wiki/X_(y)</a>)."));
  g_assert_nonnull (strstr (html, "<a href=\"mailto:bob@example.test\">mailto:bob@example.test</a>,"));
  g_assert_null (strstr (html, "href=\"javascript"));
  g_assert_null (strstr (html, "href=\"www"));

  /* Quote levels nest and close */
  g_assert_nonnull (strstr (html, "<blockquote class=\"hir-quote\">You wrote:"
                                  "<blockquote class=\"hir-quote\">Deeper, with "
                                  "<a href=\"http://quoted.example.test/\">http://quoted.example.test/</a>\n"
                                  "still deep</blockquote>back to one</blockquote>done</div>"));
}

static void
test_document (void)
{
  g_autofree char *csp = hir_message_document_dup_csp (FALSE);
  g_autofree char *csp_remote = hir_message_document_dup_csp (TRUE);
  g_autofree char *doc = hir_message_document_build (NULL, "a <b>", FALSE, FALSE);
  g_autofree char *html_doc = hir_message_document_build ("<p>x</p>", NULL, FALSE, TRUE);

  g_assert_true (g_str_has_prefix (csp, "default-src 'none'"));
  g_assert_null (strstr (csp, "http"));
  g_assert_nonnull (strstr (csp_remote, "img-src cid: data: http: https:"));
  g_assert_null (strstr (csp_remote, "script-src"));

  /* Our head comes first: charset, then the CSP, before anything of the sender's. */
  g_assert_nonnull (strstr (doc, "<meta http-equiv=\"Content-Security-Policy\""));
  g_assert_nonnull (strstr (doc, "a &lt;b&gt;"));
  g_assert_true (strstr (html_doc, "Content-Security-Policy") < strstr (html_doc, "<p>x</p>"));
  /* HTML keeps its light page under a dark theme */
  g_assert_nonnull (strstr (html_doc, "<html class=\"page\">"));

  g_assert_true (hir_message_document_has_remote_content ("<img src=\"https://t.example/p.gif\">"));
  g_assert_true (hir_message_document_has_remote_content ("<div style=\"background:url(//t.example/x)\">"));
  g_assert_true (hir_message_document_has_remote_content ("<style>@import 'http://t.example/a.css';</style>"));
  g_assert_true (hir_message_document_has_remote_content ("<link rel=preconnect href=https://t.example>"));
  g_assert_false (hir_message_document_has_remote_content ("<a href=\"https://example.test/\">link</a>"));
  g_assert_false (hir_message_document_has_remote_content ("<img src=\"cid:x@y\"> https://plain.text/"));
}

int
main (int   argc,
      char *argv[])
{
  /* The loopback server must be reached directly, never through a proxy. */
  g_unsetenv ("http_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("https_proxy");
  g_unsetenv ("all_proxy");
  g_setenv ("no_proxy", "*", TRUE);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/reader/document/plain-text", test_plain_text);
  g_test_add_func ("/reader/document/head", test_document);
  g_test_add_func ("/reader/view/hostile-html", test_hostile_html);
  g_test_add_func ("/reader/view/cid-parts", test_cid_parts);

  return g_test_run ();
}
