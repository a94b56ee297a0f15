/* test-messaging.c: messaging for other programs, through D-Bus and the command line
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Against the real servers: a D-Bus Send (with file descriptors) reaches the recipient's
 * INBOX byte for byte; bad input is refused with nothing queued; Resolve, ListMessages,
 * ReadMessage, MarkRead and NewMessage answer with what the servers hold, from C and
 * from `gdbus call`; `hirondelle send` with no display and no bus sends and waits for the
 * server; two at once, or one beside a running instance, never send a message twice; an
 * interactive Send opens a filled composer (under Xvfb).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <adwaita.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <signal.h>

#include "hir-application.h"
#include "hir-composer.h"
#include "hir-dbus.h"
#include "hir-dbus-service.h"
#include "hir-messaging.h"
#include "hir-test-util.h"

/* The command line's profile (XDG directories), shared with engines made here by
 * hir_engine_new_default(): set before GLib reads them. */
static char *cli_home;

typedef struct
{
  char *address;
  char *password;
  char *dir;
  HirEngine *engine;
  HirAccount *account;
  HirMessaging *messaging;
} User;

static void
user_free (User *user)
{
  g_clear_object (&user->messaging);
  if (user->engine != NULL)
    hir_engine_stop (user->engine);
  g_clear_object (&user->engine);
  g_clear_object (&user->account);
  g_free (user->address);
  g_free (user->password);
  g_free (user->dir);
  g_free (user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

static char *
password_command (User *user)
{
  g_autofree char *path = g_build_filename (user->dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (path);
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (path, user->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  return g_strdup_printf ("cat %s", quoted);
}

/* A fresh user, with (when @engine) an engine whose account is added and started, and
 * a HirMessaging made before the start (so its first sync counts as the baseline). */
static User *
user_new (const char *prefix,
          gboolean    engine)
{
  User *user = g_new0 (User, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;

  hir_test_new_user (prefix, &user->address, &user->password);
  user->dir = hir_test_make_tmpdir (prefix);
  command = password_command (user);
  if (!engine)
    return user;

  user->engine = hir_test_engine_new ();
  user->account = hir_account_new (HIR_ACCOUNT_KIND_JMAP, user->address);
  hir_account_set_display_name (user->account, "Test User");
  hir_account_set_password_command (user->account, command);
  hir_account_set_jmap_url (user->account, hir_test_server_get ("HIR_TEST_JMAP_URL"));
  hir_engine_add_account_async (user->engine, user->account, user->password, NULL,
                                hir_test_async_cb, &result);
  hir_engine_add_account_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  user->messaging = hir_messaging_new (user->engine);
  hir_engine_start (user->engine);
  return user;
}

static void
sync_now (User *user)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  hir_engine_sync_account_async (user->engine, user->account, NULL, hir_test_async_cb, &result);
  hir_engine_sync_account_finish (user->engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
pause_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* Subjects in @user's INBOX, over IMAP (hir-mailctl), one per line. */
static char *
imap_inbox (User *user)
{
  const char *argv[] = { "--user", user->address, "list", "INBOX", NULL };

  return hir_test_run_tool ("hir-mailctl", user->password, argv);
}

static guint
count_lines_with (const char *text,
                  const char *needle)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint count = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      count++;
  return count;
}

/* Waits until @subject is in @user's INBOX over IMAP; fails the test if it shows twice. */
static void
wait_for_delivery (User       *user,
                   const char *subject)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *inbox = imap_inbox (user);
      guint count = count_lines_with (inbox, subject);

      if (count > 0)
        {
          g_assert_cmpuint (count, ==, 1);
          return;
        }
      pause_ms (150);
    }
  g_error ("“%s” never reached %s", subject, user->address);
}

static GBytes *
random_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_random_int ();
  return g_bytes_new_take (data, size);
}

static char *
write_file (const char *dir,
            const char *name,
            GBytes     *bytes)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  return path;
}

static char *
checksum (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static char *
unique_subject (const char *what)
{
  return g_strdup_printf ("%s %08x", what, g_random_int ());
}

/* ------------------------------------------------------------------------------------ */
/* The D-Bus side, served from this process                                             */

typedef struct
{
  HirDBus *dbus;
  GDBusConnection *connection;
  char *name;           /* our name on the session bus */
  guint owner_id;
  GDBusProxy *proxy;
} Service;

static void
service_free (Service *service)
{
  g_clear_object (&service->proxy);
  if (service->owner_id != 0)
    g_bus_unown_name (service->owner_id);
  if (service->dbus != NULL && service->connection != NULL)
    hir_dbus_unexport (service->dbus, service->connection);
  g_clear_object (&service->dbus);
  g_clear_object (&service->connection);
  g_free (service->name);
  g_free (service);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Service, service_free)

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* @user's messaging exported on the session bus under a name of its own (parallel tests
 * share the bus), and a proxy to it, as another program would make. */
static Service *
service_new (User *user)
{
  Service *service = g_new0 (Service, 1);
  g_autoptr(GError) error = NULL;
  gboolean acquired = FALSE;

  service->connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  service->dbus = hir_dbus_new ();
  hir_dbus_set_messaging (service->dbus, user->messaging);
  hir_dbus_export (service->dbus, service->connection, HIR_DBUS_OBJECT_PATH, &error);
  g_assert_no_error (error);
  service->name = g_strdup_printf ("app.hirondelle.Hirondelle.Test.p%u.r%08x", (guint) getpid (),
                                   g_random_int ());
  service->owner_id = g_bus_own_name_on_connection (service->connection, service->name,
                                                    G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired_cb,
                                                    NULL, &acquired, NULL);
  g_assert_true (hir_test_wait_until (is_true, &acquired, 10000));
  service->proxy = g_dbus_proxy_new_sync (service->connection,
                                          G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                          G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                          hir_dbus_get_interface_info (), service->name,
                                          HIR_DBUS_OBJECT_PATH, HIR_DBUS_INTERFACE, NULL, &error);
  g_assert_no_error (error);
  return service;
}

/* Calls @method through @proxy (asynchronously: the service is in this process). */
static GVariant *
call (GDBusProxy   *proxy,
      const char   *method,
      GVariant     *parameters,
      GUnixFDList  *fds_in,
      GUnixFDList **fds_out,
      GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_proxy_call_with_unix_fd_list (proxy, method, parameters, G_DBUS_CALL_FLAGS_NONE, 60000,
                                       fds_in, NULL, hir_test_async_cb, &result);
  return g_dbus_proxy_call_with_unix_fd_list_finish (proxy, fds_out, hir_test_async_wait (&result),
                                                     error);
}

static void
assert_remote_error (const GError *error,
                     const char   *name)
{
  g_autofree char *remote = NULL;

  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_test_message ("%s: %s", remote, error->message);
  /* Our names map back to our domain in any GIO client that registered them. */
  g_assert_true (error->domain == HIR_MESSAGING_ERROR || g_strcmp0 (remote, name) == 0);
}

typedef struct
{
  char *id;
  char *state;
  char *reason;
  gint64 new_id;
  char *new_subject;
} Signals;

static void
signals_clear (Signals *signals)
{
  g_free (signals->id);
  g_free (signals->state);
  g_free (signals->reason);
  g_free (signals->new_subject);
}

static void
proxy_signal_cb (GDBusProxy *proxy,
                 const char *sender,
                 const char *signal,
                 GVariant   *parameters,
                 Signals    *signals)
{
  if (g_str_equal (signal, "StatusChanged"))
    {
      const char *id, *state, *reason;

      g_variant_get (parameters, "(&s&s&s)", &id, &state, &reason);
      if (signals->id != NULL && g_str_equal (id, signals->id))
        {
          g_free (signals->state);
          g_free (signals->reason);
          signals->state = g_strdup (state);
          signals->reason = g_strdup (reason);
        }
    }
  else if (g_str_equal (signal, "NewMessage"))
    {
      const char *from, *subject;

      g_variant_get (parameters, "(x&s&s)", &signals->new_id, &from, &subject);
      g_free (signals->new_subject);
      signals->new_subject = g_strdup (subject);
    }
}

static gboolean
is_sent (gpointer data)
{
  Signals *signals = data;

  return g_strcmp0 (signals->state, "sent") == 0 || g_strcmp0 (signals->state, "failed") == 0;
}

static GVariant *
make_message (const char *to,
              const char *subject,
              const char *account,
              ...)
{
  GVariantBuilder builder;
  GPtrArray *names = g_ptr_array_new ();
  const char *name;
  va_list args;

  va_start (args, account);
  while ((name = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (names, (char *) name);
  va_end (args);
  g_ptr_array_add (names, NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "to", g_variant_new_strv (&to, 1));
  g_variant_builder_add (&builder, "{sv}", "subject", g_variant_new_string (subject));
  g_variant_builder_add (&builder, "{sv}", "body", g_variant_new_string ("From a program.\n"));
  if (account != NULL)
    g_variant_builder_add (&builder, "{sv}", "account", g_variant_new_string (account));
  g_variant_builder_add (&builder, "{sv}", "attachment_names",
                         g_variant_new_strv ((const char * const *) names->pdata, -1));
  g_ptr_array_free (names, TRUE);
  return g_variant_builder_end (&builder);
}

/* A Send with each path's descriptor; returns the reply or NULL with @error. */
static GVariant *
send_with_files (GDBusProxy  *proxy,
                 GVariant    *message,
                 gboolean     interactive,
                 const char **paths,
                 GError     **error)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  GVariantBuilder handles;
  GVariantBuilder options;

  g_variant_builder_init (&handles, G_VARIANT_TYPE ("ah"));
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      int fd = open (paths[i], O_RDONLY | O_CLOEXEC);
      int handle;

      g_assert_cmpint (fd, >=, 0);
      handle = g_unix_fd_list_append (fds, fd, NULL);
      close (fd);
      g_variant_builder_add (&handles, "h", handle);
    }
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "interactive", g_variant_new_boolean (interactive));
  return call (proxy, "Send", g_variant_new ("(@a{sv}aha{sv})", message, &handles, &options),
               fds, NULL, error);
}

/* A peer-to-peer connection to @user's messaging, as `hirondelle` without a session bus
 * makes: the service listens on a socket, the client connects. */
static GDBusProxy *
peer_proxy (User    *user,
            HirDBus *dbus)
{
  g_autofree char *dir = hir_test_make_tmpdir ("peer");
  g_autofree char *socket_path = g_build_filename (dir, "messaging.socket", NULL);
  g_autofree char *address = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GDBusProxy *proxy;

  hir_dbus_set_messaging (dbus, user->messaging);
  hir_dbus_listen (dbus, socket_path, &error);
  g_assert_no_error (error);
  address = g_strconcat ("unix:path=", socket_path, NULL);
  g_dbus_connection_new_for_address (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL,
                                     NULL, hir_test_async_cb, &result);
  connection = g_dbus_connection_new_for_address_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  proxy = g_dbus_proxy_new_sync (connection, G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES, 
                                 hir_dbus_get_interface_info (), NULL, HIR_DBUS_OBJECT_PATH,
                                 HIR_DBUS_INTERFACE, NULL, &error);
  g_assert_no_error (error);
  return proxy;
}

/* Finds @subject in @user's INBOX through ListMessages (syncing until it is there). */
static gint64
wait_in_list (User       *user,
              GDBusProxy *proxy,
              const char *subject)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) reply = NULL;
      g_autoptr(GVariant) list = NULL;
      GVariantBuilder query;

      sync_now (user);
      g_variant_builder_init (&query, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&query, "{sv}", "text", g_variant_new_string (subject));
      reply = call (proxy, "ListMessages", g_variant_new ("(@a{sv})", g_variant_builder_end (&query)),
                    NULL, NULL, &error);
      g_assert_no_error (error);
      list = g_variant_get_child_value (reply, 0);
      if (g_variant_n_children (list) > 0)
        {
          g_autoptr(GVariant) row = g_variant_get_child_value (list, 0);
          gint64 id = 0;

          g_assert_cmpuint (g_variant_n_children (list), ==, 1);
          g_assert_true (g_variant_lookup (row, "id", "x", &id));
          return id;
        }
      pause_ms (150);
    }
  g_error ("“%s” never listed", subject);
  return 0;
}

static char *gdbus_call_full (Service    *service,
                              const char *method,
                              const char *argument,
                              const char *argument2,
                              const char *argument3);

static void
test_dbus_send (void)
{
  g_autoptr(User) alice = user_new ("msg-send-from", TRUE);
  g_autoptr(User) bob = user_new ("msg-send-to", TRUE);
  g_autoptr(Service) service = service_new (alice);
  g_autoptr(HirDBus) bob_dbus = hir_dbus_new ();
  g_autoptr(GDBusProxy) bob_proxy = peer_proxy (bob, bob_dbus);
  g_autoptr(GBytes) big = random_bytes (300 * 1024 + 17);
  g_autoptr(GBytes) text = g_bytes_new_static ("a,b\n1,2\n", 8);
  g_autofree char *big_path = write_file (alice->dir, "report.bin", big);
  g_autofree char *text_path = write_file (alice->dir, "figures.csv", text);
  const char *paths[] = { big_path, text_path, NULL };
  g_autofree char *subject = unique_subject ("Nightly report");
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) read = NULL;
  g_autoptr(GVariant) headers = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GVariant) handles = NULL;
  const char *state, *reason, *text_body = NULL;
  Signals signals = { 0 };
  gint64 id;

  g_signal_connect (service->proxy, "g-signal", G_CALLBACK (proxy_signal_cb), &signals);
  reply = send_with_files (service->proxy,
                           make_message (bob->address, subject, alice->address, "report.bin",
                                         "figures.csv", NULL),
                           FALSE, paths, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(s)", &signals.id);
  g_assert_cmpstr (signals.id, !=, "");

  /* StatusChanged follows it to "sent", and GetStatus agrees. */
  g_assert_true (hir_test_wait_until (is_sent, &signals, 60000));
  g_assert_cmpstr (signals.state, ==, "sent");
  status = call (service->proxy, "GetStatus", g_variant_new ("(s)", signals.id), NULL, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (status, "(&s&s)", &state, &reason);
  g_assert_cmpstr (state, ==, "sent");

  /* In bob's INBOX over IMAP, once; and over JMAP with both attachments byte for byte,
   * read back through ReadMessage's descriptors. */
  wait_for_delivery (bob, subject);
  id = wait_in_list (bob, bob_proxy, subject);
  read = call (bob_proxy, "ReadMessage", g_variant_new ("(x)", id), NULL, &fds, &error);
  g_assert_no_error (error);
  g_variant_get (read, "(@a{sv}@ah^as)", &headers, &handles, &names);
  g_assert_true (g_variant_lookup (headers, "text", "&s", &text_body));
  g_assert_nonnull (strstr (text_body, "From a program."));
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpuint (g_variant_n_children (handles), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      GBytes *expected = g_str_equal (names[i], "report.bin") ? big : text;
      g_autoptr(GInputStream) input = NULL;
      g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
      g_autoptr(GBytes) got = NULL;
      g_autofree char *want_sum = checksum (expected);
      g_autofree char *got_sum = NULL;
      gint32 handle;

      g_variant_get_child (handles, i, "h", &handle);
      input = g_unix_input_stream_new (g_unix_fd_list_get (fds, handle, &error), TRUE);
      g_assert_no_error (error);
      g_output_stream_splice (output, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
      g_assert_no_error (error);
      got = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
      got_sum = checksum (got);
      g_assert_cmpstr (got_sum, ==, want_sum);
    }

  /* The same from a shell script, with gdbus (no attachment: gdbus passes no
   * descriptors). */
  {
    g_autofree char *subject2 = unique_subject ("From gdbus");
    g_autofree char *message = g_strdup_printf ("{'to': <['%s']>, 'subject': <'%s'>, "
                                                "'body': <'sent with gdbus call'>}",
                                                bob->address, subject2);
    g_autofree char *out = gdbus_call_full (service, "Send", message, "@ah []", "{}");

    g_assert_true (g_str_has_prefix (out, "('"));
    wait_for_delivery (bob, subject2);
  }
  signals_clear (&signals);
}

static void
test_bad_input (void)
{
  g_autoptr(User) alice = user_new ("msg-bad", TRUE);
  g_autoptr(Service) service = service_new (alice);
  g_autofree char *path = write_file (alice->dir, "a.txt", g_bytes_new_static ("a", 1));
  const char *one[] = { path, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) queued = NULL;
  g_autoptr(GError) error = NULL;
  struct { const char *to; const char *account; const char *name; } cases[] = {
    { "not an address", NULL, NULL },
    { "bob@", NULL, NULL },
    { "bob", NULL, NULL },
    { "Bob <bob@example.test>, @example.test", NULL, NULL },
    { "bob@example.test", "nobody@example.test", NULL },
    { "bob@example.test", NULL, "../escape" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) reply = NULL;

      g_clear_error (&error);
      reply = send_with_files (service->proxy,
                               make_message (cases[i].to, "never", cases[i].account,
                                             cases[i].name, NULL),
                               FALSE, cases[i].name != NULL ? one : NULL, &error);
      g_assert_null (reply);
      assert_remote_error (error, "app.hirondelle.Hirondelle.Error.InvalidArgs");
    }

  {
    /* More descriptors than names. */
    g_autoptr(GVariant) reply = NULL;

    g_clear_error (&error);
    reply = send_with_files (service->proxy,
                             make_message ("bob@example.test", "never", NULL, NULL), FALSE, one,
                             &error);
    g_assert_null (reply);
    assert_remote_error (error, "app.hirondelle.Hirondelle.Error.InvalidArgs");
  }
  {
    g_autoptr(GVariant) reply = NULL;

    g_clear_error (&error);
    reply = call (service->proxy, "GetStatus", g_variant_new ("(s)", "987654"), NULL, NULL, &error);
    g_assert_null (reply);
    assert_remote_error (error, "app.hirondelle.Hirondelle.Error.NotFound");
  }

  /* Nothing half-queued: the outbox is empty, and holds no draft either. */
  g_clear_error (&error);
  hir_outbox_list_async (hir_engine_get_outbox (alice->engine), NULL, hir_test_async_cb, &result);
  queued = hir_outbox_list_finish (hir_engine_get_outbox (alice->engine), hir_test_async_wait (&result),
                                   &error);
  g_assert_no_error (error);
  g_assert_cmpuint (queued->len, ==, 0);
  g_clear_object (&result);
  g_clear_pointer (&queued, g_ptr_array_unref);
  hir_outbox_list_drafts_async (hir_engine_get_outbox (alice->engine), NULL, NULL,
                                hir_test_async_cb, &result);
  queued = hir_outbox_list_drafts_finish (hir_engine_get_outbox (alice->engine),
                                          hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (queued->len, ==, 0);
}

/* Runs `gdbus call` against @service (asynchronously: we serve it) and returns stdout. */
static char *
gdbus_call_full (Service    *service,
                 const char *method,
                 const char *argument,
                 const char *argument2,
                 const char *argument3)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *full = g_strconcat (HIR_DBUS_INTERFACE ".", method, NULL);
  char *out = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "gdbus", "call", "--session",
                              "--dest", service->name, "--object-path", HIR_DBUS_OBJECT_PATH,
                              "--method", full, argument, argument2, argument3, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, hir_test_async_cb, &result);
  g_subprocess_communicate_utf8_finish (process, hir_test_async_wait (&result), &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  g_test_message ("gdbus call %s %s → %s", method, argument, out);
  return out;
}

static char *
gdbus_call (Service    *service,
            const char *method,
            const char *argument)
{
  return gdbus_call_full (service, method, argument, NULL, NULL);
}

static gboolean
new_message_seen (gpointer data)
{
  Signals *signals = data;

  return signals->new_subject != NULL && signals->id != NULL &&
         g_str_equal (signals->new_subject, signals->id);
}

static void
test_resolve_list_read (void)
{
  g_autoptr(User) bob = user_new ("msg-inbox", TRUE);
  g_autoptr(Service) service = service_new (bob);
  g_autofree char *subject = unique_subject ("Quarterly figures");
  g_autofree char *eml = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) matches = NULL;
  const char *deliver[] = { "deliver", "--from", "carol@example.test", NULL, NULL };
  Signals signals = { 0 };
  gboolean found = FALSE;
  const char *name, *address;
  GVariantIter iter;
  gint64 id;

  g_signal_connect (service->proxy, "g-signal", G_CALLBACK (proxy_signal_cb), &signals);
  signals.id = g_strdup (subject);   /* what NewMessage should announce */
  deliver[3] = bob->address;
  eml = g_strdup_printf ("From: Carol Example <carol@example.test>\r\nTo: %s\r\n"
                         "Cc: Dave Other <dave@example.test>\r\nSubject: %s\r\n"
                         "Message-ID: <%08x@example.test>\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n\r\nThe figures.\r\n",
                         bob->address, subject, g_random_int ());
  {
    g_autoptr(GSubprocess) process = NULL;
    g_autoptr(GAsyncResult) result = NULL;
    g_autofree char *tool = g_build_filename (g_getenv ("HIR_TEST_SERVERS_TOOLS"), "hir-mailctl",
                                              NULL);

    process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, tool, deliver[0],
                                deliver[1], deliver[2], deliver[3], NULL);
    g_assert_no_error (error);
    g_subprocess_communicate_utf8_async (process, eml, NULL, hir_test_async_cb, &result);
    g_subprocess_communicate_utf8_finish (process, hir_test_async_wait (&result), NULL, NULL,
                                          &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_get_successful (process));
  }

  /* NewMessage: announced once the engine notices (a sync, as a poll would do). */
  id = wait_in_list (bob, service->proxy, subject);
  g_assert_true (hir_test_wait_until (new_message_seen, &signals, 10000));
  g_assert_cmpint (signals.new_id, ==, id);

  /* Resolve finds the sender and the other recipient by name or address. */
  reply = call (service->proxy, "Resolve", g_variant_new ("(s)", "carol"), NULL, NULL, &error);
  g_assert_no_error (error);
  matches = g_variant_get_child_value (reply, 0);
  g_variant_iter_init (&iter, matches);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &address))
    if (g_str_equal (address, "carol@example.test"))
      {
        g_assert_cmpstr (name, ==, "Carol Example");
        found = TRUE;
      }
  g_assert_true (found);
  g_clear_pointer (&reply, g_variant_unref);
  out = gdbus_call (service, "Resolve", "Dave Oth");
  g_assert_nonnull (strstr (out, "'Dave Other', 'dave@example.test'"));
  g_clear_pointer (&out, g_free);

  /* ListMessages from gdbus, then unread, then MarkRead. */
  out = gdbus_call (service, "ListMessages", "{'unread_only': <true>, 'folder': <'inbox'>}");
  g_assert_nonnull (strstr (out, subject));
  g_clear_pointer (&out, g_free);
  reply = call (service->proxy, "MarkRead", g_variant_new ("(xb)", id, TRUE), NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  out = gdbus_call (service, "ListMessages", "{'unread_only': <true>}");
  g_assert_null (strstr (out, subject));
  g_clear_pointer (&out, g_free);
  out = gdbus_call (service, "ListMessages", "{'text': <'Quarterly'>, 'limit': <uint32 5>}");
  g_assert_nonnull (strstr (out, subject));
  g_assert_nonnull (strstr (out, "'unread': <false>"));
  g_clear_pointer (&out, g_free);

  /* And the read flag reached the server. */
  {
    g_autofree char *inbox = imap_inbox (bob);
    g_auto(GStrv) lines = g_strsplit (inbox, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      if (strstr (lines[i], subject) != NULL)
        g_assert_nonnull (strstr (lines[i], "\\Seen"));
  }

  /* ReadMessage from gdbus too. */
  {
    g_autofree char *argument = g_strdup_printf ("%" G_GINT64_FORMAT, id);

    out = gdbus_call (service, "ReadMessage", argument);
    g_assert_nonnull (strstr (out, "The figures."));
  }
  signals_clear (&signals);
}

/* ------------------------------------------------------------------------------------ */
/* The command line                                                                     */

static char *
binary_path (void)
{
  return g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "..", "src", "app", "hirondelle", NULL);
}

/* Starts `env -i PATH HOME XDG_*=cli_home… hirondelle ARGS…`: no display, no bus. */
static GSubprocess *
spawn_cli (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_ptr_array_add (argv, g_strdup ("env"));
  g_ptr_array_add (argv, g_strdup ("-i"));
  g_ptr_array_add (argv, g_strdup_printf ("PATH=%s", g_getenv ("PATH")));
  g_ptr_array_add (argv, g_strdup_printf ("HOME=%s", cli_home));
  g_ptr_array_add (argv, g_strdup_printf ("XDG_CONFIG_HOME=%s/config", cli_home));
  g_ptr_array_add (argv, g_strdup_printf ("XDG_DATA_HOME=%s/data", cli_home));
  g_ptr_array_add (argv, g_strdup_printf ("XDG_CACHE_HOME=%s/cache", cli_home));
  g_ptr_array_add (argv, binary_path ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  return process;
}

/* Waits for @process (the main loop runs: it may be talking to us); returns its status. */
static int
finish_cli (GSubprocess  *process,
            char        **out)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;

  g_subprocess_communicate_utf8_async (process, NULL, NULL, hir_test_async_cb, &result);
  g_subprocess_communicate_utf8_finish (process, hir_test_async_wait (&result), &stdout_text,
                                        &stderr_text, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_test_message ("hirondelle → %d\n%s%s", g_subprocess_get_exit_status (process), stdout_text,
                  stderr_text);
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  return g_subprocess_get_exit_status (process);
}

static int
run_cli (char **out,
         ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  const char *arg;
  va_list ap;

  va_start (ap, out);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  process = spawn_cli ((const char * const *) args->pdata);
  return finish_cli (process, out);
}

/* The command line's account: alice, added with `hirondelle account add`. */
static User *
cli_account (void)
{
  static User *alice;

  if (alice == NULL)
    {
      g_autofree char *command = NULL;

      alice = user_new ("msg-cli", FALSE);
      command = password_command (alice);
      g_assert_cmpint (run_cli (NULL, "account", "add", "--jmap",
                                hir_test_server_get ("HIR_TEST_JMAP_URL"), "--address",
                                alice->address, "--password-command", command, NULL), ==, 0);
    }
  return alice;
}

static void
test_cli_headless (void)
{
  User *alice = cli_account ();
  g_autoptr(User) bob = user_new ("msg-cli-to", FALSE);
  g_autoptr(GBytes) bytes = random_bytes (64 * 1024);
  g_autofree char *path = write_file (alice->dir, "inventory.pdf", bytes);
  g_autofree char *subject = unique_subject ("Inventory");
  g_autofree char *subject2 = unique_subject ("Inventory two");
  g_autofree char *subject3 = unique_subject ("Inventory three");
  g_autofree char *out = NULL;
  g_autofree char *bad = g_build_filename (alice->dir, "unreadable", NULL);
  g_autofree char *list_before = NULL;
  g_autofree char *list_after = NULL;
  const char *args2[] = { "send", "--to", bob->address, "--subject", subject2, "--body", "2", NULL };
  const char *args3[] = { "send", "--to", bob->address, "--subject", subject3, "--body", "3", NULL };
  g_autoptr(GSubprocess) two = NULL;
  g_autoptr(GSubprocess) three = NULL;

  /* Sent, and only then exit 0. */
  g_assert_cmpint (run_cli (&out, "send", "--to", bob->address, "--subject", subject, "--body",
                            "Tonight's inventory.", "--attach", path, "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"state\" : \"sent\""));
  wait_for_delivery (bob, subject);

  /* Two at once, no application: the lock makes them take turns; one copy each. */
  two = spawn_cli (args2);
  three = spawn_cli (args3);
  g_assert_cmpint (finish_cli (two, NULL), ==, 0);
  g_assert_cmpint (finish_cli (three, NULL), ==, 0);
  wait_for_delivery (bob, subject2);
  wait_for_delivery (bob, subject3);

  /* Bad input: a clear message, a non-zero status, nothing queued. */
  run_cli (&list_before, "list", "--folder", "sent", "--json", NULL);
  g_assert_cmpint (run_cli (NULL, "send", "--to", "no-domain", "--subject", "x", "--body", "x", NULL),
                   ==, 1);
  g_assert_cmpint (run_cli (NULL, "send", "--to", bob->address, "--subject", "x", "--body", "x",
                            "--attach", bad, NULL), ==, 1);
  g_assert_cmpint (run_cli (NULL, "send", "--to", bob->address, "--subject", "x", "--body", "x",
                            "--account", "nobody@example.test", NULL), ==, 1);
  g_assert_cmpint (run_cli (NULL, "--compose", "--to", bob->address, NULL), ==, 4);
  g_assert_cmpint (run_cli (NULL, "read", "999999", NULL), ==, 1);
  {
    g_autofree char *db = g_build_filename (cli_home, "data", "hirondelle", "hirondelle.db", NULL);
    g_autofree char *sql = NULL;
    const char *argv[] = { "sqlite3", db, "SELECT count(*) FROM outgoing", NULL };
    g_autoptr(GSubprocess) process = NULL;
    g_autoptr(GError) error = NULL;

    process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
    g_assert_no_error (error);
    g_subprocess_communicate_utf8 (process, NULL, NULL, &sql, NULL, &error);
    g_assert_no_error (error);
    /* The three sent ones, nothing else. */
    g_assert_cmpstr (g_strstrip (sql), ==, "3");
  }

  /* resolve and list from the command line. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, "resolve", "msg-cli-to", NULL), ==, 0);
  g_assert_nonnull (strstr (out, bob->address));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, "accounts", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, alice->address));
}

static void
test_cli_beside_running_instance (void)
{
  User *alice = cli_account ();
  g_autoptr(User) bob = user_new ("msg-beside-to", FALSE);
  g_autoptr(HirEngine) engine = hir_engine_new_default ();
  g_autoptr(HirMessaging) messaging = NULL;
  g_autoptr(HirDBus) dbus = hir_dbus_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *socket_path = hir_messaging_get_socket_path ();
  g_autofree char *subject = unique_subject ("Beside the app");
  g_autofree char *out = NULL;
  int lock;

  /* What the running application does: hold the account's lock, start the engine, and
   * listen for command lines that have no session bus. */
  g_assert_true (hir_engine_open_sync (engine, NULL, &error));
  g_assert_no_error (error);
  lock = hir_messaging_lock_account (alice->address, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lock, >=, 0);
  messaging = hir_messaging_new (engine);
  hir_dbus_set_messaging (dbus, messaging);
  hir_dbus_listen (dbus, socket_path, &error);
  g_assert_no_error (error);
  hir_engine_start (engine);

  /* A second process cannot take the lock... */
  {
    g_autoptr(GError) busy = NULL;
    /* flock is per open file: a new descriptor here conflicts like another process. */
    int again = hir_messaging_lock_account (alice->address, FALSE, &busy);

    g_assert_cmpint (again, <, 0);
    g_assert_error (busy, G_IO_ERROR, G_IO_ERROR_BUSY);
  }

  /* ...so `hirondelle send` with no bus hands the message to this instance, which sends
   * it; the command waits for the server's answer as before. */
  g_assert_cmpint (run_cli (&out, "send", "--to", bob->address, "--subject", subject, "--body",
                            "via the running instance", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"state\" : \"sent\""));
  {
    /* This engine's outbox knows it: it was this process that sent it. */
    g_autofree char *id = NULL;
    HirOutgoingState state;
    char *end = NULL;
    const char *p = strstr (out, "\"id\" : \"");

    g_assert_nonnull (p);
    id = g_strndup (p + 8, strchr (p + 8, '"') - (p + 8));
    g_assert_true (hir_outbox_get_state (hir_engine_get_outbox (engine),
                                         g_ascii_strtoll (id, &end, 10), &state, NULL));
    g_assert_cmpint (state, ==, HIR_OUTGOING_STATE_SENT);
  }
  wait_for_delivery (bob, subject);

  /* `hirondelle sync` leaves the account to the instance that holds it. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_cli (&out, "sync", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "keeps it in sync"));

  /* Stopped and let go: a later command line sends on its own, and the message sent
   * through the instance is not sent again. */
  hir_engine_stop (engine);
  g_clear_object (&dbus);
  close (lock);
  g_clear_pointer (&out, g_free);
  {
    g_autofree char *subject2 = unique_subject ("After the app");

    g_assert_cmpint (run_cli (&out, "send", "--to", bob->address, "--subject", subject2, "--body",
                              "alone again", NULL), ==, 0);
    wait_for_delivery (bob, subject2);
  }
  wait_for_delivery (bob, subject);
}

/* ------------------------------------------------------------------------------------ */
/* An interactive Send opens a filled composer                                          */

static HirComposer *
find_composer (GtkApplication *application)
{
  for (GList *l = gtk_application_get_windows (application); l != NULL; l = l->next)
    if (HIR_IS_COMPOSER (l->data))
      return l->data;
  return NULL;
}

static gboolean
composer_shown (gpointer data)
{
  HirComposer *composer = find_composer (data);

  return composer != NULL && !hir_composer_get_busy (composer);
}

static void
test_interactive (void)
{
  g_autoptr(User) alice = user_new ("msg-compose", TRUE);
  g_autoptr(User) bob = user_new ("msg-compose-to", FALSE);
  g_autoptr(GtkApplication) application = NULL;
  g_autoptr(HirDBusService) dbus_service = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GDBusProxy) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = random_bytes (2048);
  g_autofree char *path = write_file (alice->dir, "letter.odt", bytes);
  g_autofree char *subject = unique_subject ("Letter");
  g_autofree char *name = g_strdup_printf ("app.hirondelle.Hirondelle.Test.c%u", (guint) getpid ());
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  HirComposer *composer;
  HirOutgoing *outgoing;
  GListModel *attachments;
  GVariantBuilder handles, options;
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  int fd;

  if (!gtk_is_initialized ())
    {
      g_test_skip ("no display");
      return;
    }
  application = GTK_APPLICATION (adw_application_new (name, G_APPLICATION_NON_UNIQUE));
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);
  g_application_hold (G_APPLICATION (application));
  dbus_service = hir_dbus_service_new (application);
  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  hir_dbus_service_register (dbus_service, connection, "/app/hirondelle/Hirondelle/Test", &error);
  g_assert_no_error (error);
  /* The engine is already started by user_new: the service only adds its side. */
  hir_dbus_service_start (dbus_service, alice->engine);
  proxy = g_dbus_proxy_new_sync (connection, G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                                 hir_dbus_get_interface_info (),
                                 g_dbus_connection_get_unique_name (connection),
                                 "/app/hirondelle/Hirondelle/Test", HIR_DBUS_INTERFACE, NULL,
                                 &error);
  g_assert_no_error (error);

  /* Send with interactive: the composer opens with everything filled in... */
  fd = open (path, O_RDONLY | O_CLOEXEC);
  g_variant_builder_init (&handles, G_VARIANT_TYPE ("ah"));
  g_variant_builder_add (&handles, "h", g_unix_fd_list_append (fds, fd, NULL));
  close (fd);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "interactive", g_variant_new_boolean (TRUE));
  g_dbus_proxy_call_with_unix_fd_list (proxy, "Send",
                                       g_variant_new ("(@a{sv}aha{sv})",
                                                      make_message (bob->address, subject, NULL,
                                                                    "letter.odt", NULL),
                                                      &handles, &options),
                                       G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fds, NULL,
                                       hir_test_async_cb, &result);
  g_assert_true (hir_test_wait_until (composer_shown, application, 30000));
  composer = find_composer (application);
  outgoing = hir_composer_get_outgoing (composer);
  g_assert_nonnull (strstr (hir_outgoing_get_to (outgoing), bob->address));
  g_assert_cmpstr (hir_outgoing_get_subject (outgoing), ==, subject);
  attachments = hir_outgoing_get_attachments (outgoing);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 1);
  {
    g_autoptr(HirOutgoingAttachment) attachment = g_list_model_get_item (attachments, 0);

    g_assert_cmpstr (hir_outgoing_attachment_get_filename (attachment), ==, "letter.odt");
    g_assert_true (g_bytes_equal (hir_outgoing_attachment_get_data (attachment), bytes));
  }
  /* ...and the call is answered only when the user sends it. */
  g_assert_null (result);
  gtk_widget_activate_action (GTK_WIDGET (composer), "composer.send", NULL);
  reply = g_dbus_proxy_call_with_unix_fd_list_finish (proxy, NULL, hir_test_async_wait (&result),
                                                      &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  wait_for_delivery (bob, subject);

  /* Closing the composer instead answers Cancelled. */
  g_clear_object (&result);
  g_clear_pointer (&reply, g_variant_unref);
  g_dbus_proxy_call (proxy, "Send",
                     g_variant_new ("(@a{sv}@ah@a{sv})",
                                    make_message (bob->address, "closed unsent", NULL, NULL),
                                    g_variant_new_array (G_VARIANT_TYPE_HANDLE, NULL, 0),
                                    g_variant_new_parsed ("{'interactive': <true>}")),
                     G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, hir_test_async_cb, &result);
  g_assert_true (hir_test_wait_until (composer_shown, application, 30000));
  gtk_window_destroy (GTK_WINDOW (find_composer (application)));
  reply = g_dbus_proxy_call_finish (proxy, hir_test_async_wait (&result), &error);
  g_assert_null (reply);
  assert_remote_error (error, "app.hirondelle.Hirondelle.Error.Cancelled");
  g_assert_true (error->domain == HIR_MESSAGING_ERROR &&
                 error->code == HIR_MESSAGING_ERROR_CANCELLED);

  /* A mailto: link whose attachment cannot be read: the composer opens and says so; a
   * readable one is only shown. Nothing is queued either way. */
  {
    g_autofree char *uri = g_strdup_printf ("mailto:%s?subject=Link&attach=%s"
                                            "&attach=file:///nonexistent/secret.txt",
                                            bob->address, path);
    g_autoptr(GAsyncResult) listed = NULL;
    g_autoptr(GPtrArray) queued = NULL;

    g_clear_error (&error);

    hir_dbus_service_open_mailto (dbus_service, uri);
    g_assert_true (hir_test_wait_until (composer_shown, application, 30000));
    composer = find_composer (application);
    outgoing = hir_composer_get_outgoing (composer);
    g_assert_cmpstr (hir_outgoing_get_subject (outgoing), ==, "Link");
    g_assert_cmpuint (g_list_model_get_n_items (hir_outgoing_get_attachments (outgoing)), ==, 1);
    g_assert_cmpint (hir_outgoing_get_state (outgoing), ==, HIR_OUTGOING_STATE_DRAFT);
    hir_outbox_list_async (hir_engine_get_outbox (alice->engine), NULL, hir_test_async_cb, &listed);
    queued = hir_outbox_list_finish (hir_engine_get_outbox (alice->engine),
                                     hir_test_async_wait (&listed), &error);
    g_assert_no_error (error);
    for (guint i = 0; i < queued->len; i++)
      g_assert_cmpstr (hir_outgoing_get_subject (g_ptr_array_index (queued, i)), !=, "Link");
    gtk_window_destroy (GTK_WINDOW (composer));
  }

  hir_dbus_service_unregister (dbus_service, connection);
  g_application_release (G_APPLICATION (application));
}


/* ------------------------------------------------------------------------------------ */
/* xdg-email --attach, with Hirondelle as the desktop's mailto: handler                 */

static void
test_xdg_email (void)
{
  User *alice = cli_account ();
  g_autoptr(GtkApplication) application = NULL;
  g_autoptr(GBytes) bytes = random_bytes (4096);
  g_autofree char *path = write_file (alice->dir, "minutes of the meeting.odt", bytes);
  g_autofree char *subject = unique_subject ("Minutes");
  g_autofree char *applications = g_build_filename (cli_home, "data", "applications", NULL);
  g_autofree char *desktop = g_strconcat (applications, G_DIR_SEPARATOR_S, APP_ID ".desktop", NULL);
  g_autofree char *binary = binary_path ();
  g_autofree char *entry = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  HirComposer *composer;
  HirOutgoing *outgoing;
  GListModel *attachments;

  if (!gtk_is_initialized () || g_find_program_in_path ("xdg-email") == NULL)
    {
      g_test_skip ("no display or no xdg-email");
      return;
    }

  /* The desktop entry as installed, pointing at the binary under test. */
  g_mkdir_with_parents (applications, 0700);
  entry = g_strdup_printf ("[Desktop Entry]\nType=Application\nName=Hirondelle\n"
                           "Exec=%s %%U\nMimeType=x-scheme-handler/mailto;\n", binary);
  g_file_set_contents (desktop, entry, -1, &error);
  g_assert_no_error (error);

  /* The application, running in this process: the hirondelle that xdg-email starts
   * hands the link over to it, as on a desktop where Hirondelle is open. */
  application = GTK_APPLICATION (hir_application_new ());
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_application_get_is_remote (G_APPLICATION (application)));
  g_application_hold (G_APPLICATION (application));

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_unsetenv (launcher, "XDG_CURRENT_DESKTOP");
  g_subprocess_launcher_unsetenv (launcher, "DESKTOP_SESSION");
  g_subprocess_launcher_unsetenv (launcher, "KDE_FULL_SESSION");
  g_subprocess_launcher_unsetenv (launcher, "GNOME_DESKTOP_SESSION_ID");
  process = g_subprocess_launcher_spawn (launcher, &error, "xdg-mime", "default", APP_ID ".desktop",
                                         "x-scheme-handler/mailto", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&process);

  process = g_subprocess_launcher_spawn (launcher, &error, "xdg-email", "--attach", path,
                                         "--subject", subject, "bob@example.test", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check_async (process, NULL, hir_test_async_cb, &result);
  g_subprocess_wait_check_finish (process, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);

  /* A composer, filled in, with the file attached for the user to see. */
  g_assert_true (hir_test_wait_until (composer_shown, application, 30000));
  composer = find_composer (application);
  outgoing = hir_composer_get_outgoing (composer);
  g_assert_cmpstr (hir_outgoing_get_to (outgoing), ==, "bob@example.test");
  g_assert_cmpstr (hir_outgoing_get_subject (outgoing), ==, subject);
  attachments = hir_outgoing_get_attachments (outgoing);
  g_assert_cmpuint (g_list_model_get_n_items (attachments), ==, 1);
  {
    g_autoptr(HirOutgoingAttachment) attachment = g_list_model_get_item (attachments, 0);

    g_assert_cmpstr (hir_outgoing_attachment_get_filename (attachment), ==,
                     "minutes of the meeting.odt");
    g_assert_true (g_bytes_equal (hir_outgoing_attachment_get_data (attachment), bytes));
  }
  /* Nothing was sent or queued by the link itself. */
  g_assert_cmpint (hir_outgoing_get_state (outgoing), ==, HIR_OUTGOING_STATE_DRAFT);

  gtk_window_destroy (GTK_WINDOW (composer));
  g_application_release (G_APPLICATION (application));
  /* A registered GApplication is never really gone before exit (it keeps the command
   * line's account locked): this test runs last. */
}


/* ------------------------------------------------------------------------------------ */
/* D-Bus activation: a Send to a bus where Hirondelle is not running starts it          */

static gboolean
name_gone (gpointer data)
{
  GDBusConnection *bus = data;
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = TRUE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", APP_ID), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return !owned;
}

static void
test_activation (void)
{
  User *alice = cli_account ();
  g_autoptr(User) bob = user_new ("msg-activated-to", FALSE);
  g_autofree char *services = g_build_filename (cli_home, "data", "dbus-1", "services", NULL);
  g_autofree char *service = g_build_filename (services, APP_ID ".service", NULL);
  g_autofree char *binary = binary_path ();
  g_autofree char *text = g_strdup_printf ("[D-BUS Service]\nName=" APP_ID "\n"
                                           "Exec=%s --gapplication-service\n", binary);
  g_autofree char *subject = unique_subject ("Activated");
  g_autofree char *address = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder message;
  const char *to[] = { bob->address, NULL };
  const char *id = NULL;

  if (!gtk_is_initialized ())
    {
      g_test_skip ("no display");
      return;
    }
  (void) alice;

  /* A session bus of our own that knows the service file, as an installed Hirondelle
   * has it in $XDG_DATA_HOME/dbus-1/services. */
  g_mkdir_with_parents (services, 0700);
  g_file_set_contents (service, text, -1, &error);
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  daemon = g_subprocess_launcher_spawn (launcher, &error, "dbus-daemon", "--session", "--nofork",
                                        "--nopidfile", "--print-address=1", NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  address = g_data_input_stream_read_line (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (address);
  g_dbus_connection_new_for_address (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL,
                                     hir_test_async_cb, &result);
  bus = g_dbus_connection_new_for_address_finish (hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  /* The call starts Hirondelle, which answers once the message is queued... */
  g_variant_builder_init (&message, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&message, "{sv}", "to", g_variant_new_strv (to, -1));
  g_variant_builder_add (&message, "{sv}", "subject", g_variant_new_string (subject));
  g_variant_builder_add (&message, "{sv}", "body", g_variant_new_string ("Started for this."));
  g_dbus_connection_call (bus, APP_ID, HIR_DBUS_OBJECT_PATH, HIR_DBUS_INTERFACE, "Send",
                          g_variant_new ("(a{sv}@ah@a{sv})", &message,
                                         g_variant_new_array (G_VARIANT_TYPE_HANDLE, NULL, 0),
                                         g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)),
                          G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 60000, NULL,
                          hir_test_async_cb, &result);
  reply = g_dbus_connection_call_finish (bus, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &id);
  g_assert_cmpstr (id, !=, "");

  /* ...stays until it is sent, then goes away by itself. */
  wait_for_delivery (bob, subject);
  g_assert_true (hir_test_wait_until (name_gone, bus, 30000));

  g_dbus_connection_close_sync (bus, NULL, NULL);
  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  g_unlink (service);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = g_dir_make_tmp ("hir-messaging-cli-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (home, "config", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  g_autofree char *cache = g_build_filename (home, "cache", NULL);

  /* The command line's profile is this process's too (its locks, its socket). */
  cli_home = home;
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);

  g_test_init (&argc, &argv, NULL);
  /* g_test_init names the program after argv[0], an absolute path under meson, and
   * WebKit appends that name to its data directories (as a path, replacing them). */
  g_set_prgname ("test-messaging");
  if (gtk_init_check ())
    adw_init ();

  g_test_add_func ("/app/messaging/dbus-send", test_dbus_send);
  g_test_add_func ("/app/messaging/bad-input", test_bad_input);
  g_test_add_func ("/app/messaging/resolve-list-read", test_resolve_list_read);
  g_test_add_func ("/app/messaging/cli-headless", test_cli_headless);
  g_test_add_func ("/app/messaging/cli-beside-running-instance", test_cli_beside_running_instance);
  g_test_add_func ("/app/messaging/interactive", test_interactive);
  g_test_add_func ("/app/messaging/dbus-activation", test_activation);
  g_test_add_func ("/app/messaging/xdg-email", test_xdg_email);

  return g_test_run ();
}
