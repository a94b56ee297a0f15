/* hir-test-util.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>

#define ASYNC_TIMEOUT_MS 60000

static GHashTable *server_settings;
static GPtrArray *tmpdirs;

static void
load_server_settings (void)
{
  const char *path = g_getenv ("HIR_TEST_SERVERS_ENV");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;

  if (server_settings != NULL)
    return;

  if (path == NULL)
    g_error ("HIR_TEST_SERVERS_ENV is not set: this test needs the real mail servers; "
             "run the suite with build-aux/test");

  if (!g_file_get_contents (path, &contents, NULL, &error))
    g_error ("Cannot read the servers' settings %s: %s", path, error->message);

  server_settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *eq = strchr (lines[i], '=');
      g_autofree char *value = NULL;

      if (lines[i][0] == '#' || eq == NULL)
        continue;
      value = g_strdup (eq + 1);
      /* The file is shell-sourceable: strip one level of single or double quotes. */
      if (strlen (value) >= 2 && (value[0] == '\'' || value[0] == '"') &&
          value[strlen (value) - 1] == value[0])
        {
          char *inner = g_strndup (value + 1, strlen (value) - 2);
          g_free (value);
          value = inner;
        }
      g_hash_table_insert (server_settings, g_strndup (lines[i], eq - lines[i]),
                           g_steal_pointer (&value));
    }
}

const char *
hir_test_server_get (const char *key)
{
  const char *value;

  load_server_settings ();
  value = g_hash_table_lookup (server_settings, key);
  if (value == NULL)
    g_error ("The servers' settings have no %s", key);
  return value;
}

static char *
tool_path (const char *tool)
{
  const char *dir = g_getenv ("HIR_TEST_SERVERS_TOOLS");

  if (dir == NULL)
    g_error ("HIR_TEST_SERVERS_TOOLS is not set: run the tests through meson");
  return g_build_filename (dir, tool, NULL);
}

static char *
run_command (const char * const *argv,
             const char         *password)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (password != NULL)
    g_subprocess_launcher_setenv (launcher, "HIR_TEST_PASSWORD", password, TRUE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_error ("%s failed: %s", argv[0], err != NULL ? err : "(no output)");
  return g_steal_pointer (&out);
}

void
hir_test_new_user (const char  *localpart_prefix,
                   char       **address,
                   char       **password)
{
  g_autofree char *tool = tool_path ("hir-servers");
  g_autofree char *localpart = g_strdup_printf ("%s-%u-%u", localpart_prefix,
                                                (guint) getpid (), g_random_int ());
  const char *argv[] = { tool, "adduser", hir_test_server_get ("HIR_TEST_SERVERS_DIR"),
                         localpart, NULL };
  g_autofree char *out = run_command (argv, NULL);
  g_auto(GStrv) words = g_strsplit (g_strstrip (out), " ", 2);

  if (g_strv_length (words) != 2)
    g_error ("hir-servers adduser printed an unexpected line");
  *address = g_strdup (words[0]);
  *password = g_strdup (words[1]);
}

char *
hir_test_run_tool (const char         *tool,
                   const char         *password,
                   const char * const *argv)
{
  g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (full, tool_path (tool));
  for (guint i = 0; argv != NULL && argv[i] != NULL; i++)
    g_ptr_array_add (full, g_strdup (argv[i]));
  g_ptr_array_add (full, NULL);
  return run_command ((const char * const *) full->pdata, password);
}

char *
hir_test_mailctl (const char *address,
                  const char *password,
                  const char *command,
                  ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer) "--password-env");
  g_ptr_array_add (argv, (gpointer) "HIR_TEST_PASSWORD");
  g_ptr_array_add (argv, (gpointer) "--user");
  g_ptr_array_add (argv, (gpointer) address);
  g_ptr_array_add (argv, (gpointer) command);
  va_start (args, command);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  return hir_test_run_tool ("hir-mailctl", password, (const char * const *) argv->pdata);
}

char *
hir_test_append (const char *address,
                 const char *password,
                 const char *folder,
                 const char *eml,
                 const char *flag)
{
  static char *dir;
  static guint n;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (dir == NULL)
    dir = hir_test_make_tmpdir ("append");
  name = g_strdup_printf ("m%u.eml", ++n);
  path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, eml, -1, &error);
  g_assert_no_error (error);
  return g_strstrip (hir_test_mailctl (address, password, "append", folder, path, flag, NULL));
}

/* dnsmasq is listening once its address and port cannot be bound any more. */
static gboolean
dns_listening_cb (gpointer data)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (g_getenv ("HIR_TEST_DISCOVERY_DNS"));
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, 53);
  g_autoptr(GError) error = NULL;

  if (g_socket_bind (socket, address, FALSE, &error))
    return FALSE;
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
}

static gboolean
resolves_cb (gpointer data)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autolist (GInetAddress) addresses =
    g_resolver_lookup_by_name (resolver, "example.test", NULL, NULL);

  return addresses != NULL;
}

GSubprocess *
hir_test_dns_start (const char *srv_lines)
{
  g_autofree char *dir = hir_test_make_tmpdir ("dns");
  g_autofree char *conf = g_build_filename (dir, "dnsmasq.conf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *conf_arg = NULL;
  g_autofree char *listen_arg = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *dnsmasq;

  text = g_strdup_printf ("no-resolv\nno-hosts\nbind-interfaces\nport=53\n"
                          "address=/example.test/127.0.0.1\n%s\n",
                          srv_lines != NULL ? srv_lines : "");
  g_file_set_contents (conf, text, -1, &error);
  g_assert_no_error (error);
  conf_arg = g_strconcat ("--conf-file=", conf, NULL);
  listen_arg = g_strconcat ("--listen-address=", g_getenv ("HIR_TEST_DISCOVERY_DNS"), NULL);
  dnsmasq = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "dnsmasq",
                                  "--keep-in-foreground", "--pid-file=", conf_arg, listen_arg,
                                  NULL);
  g_assert_no_error (error);
  /* Nothing in the main loop wakes up when dnsmasq is ready: poll. */
  for (guint i = 0; !dns_listening_cb (NULL); i++)
    {
      g_assert_cmpuint (i, <, 1000);
      g_usleep (10 * 1000);
    }
  g_assert_true (resolves_cb (NULL));
  return dnsmasq;
}

void
hir_test_dns_stop (GSubprocess **dnsmasq)
{
  g_autoptr(GError) error = NULL;

  if (*dnsmasq == NULL)
    return;
  g_subprocess_send_signal (*dnsmasq, SIGTERM);
  g_subprocess_wait (*dnsmasq, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (dnsmasq);
}

static void
remove_tmpdirs (void)
{
  for (guint i = 0; tmpdirs != NULL && i < tmpdirs->len; i++)
    {
      g_autofree char *quoted = g_shell_quote (g_ptr_array_index (tmpdirs, i));
      g_autofree char *command = g_strdup_printf ("rm -rf %s", quoted);

      if (system (command) != 0)
        g_printerr ("could not remove %s\n", (char *) g_ptr_array_index (tmpdirs, i));
    }
}

char *
hir_test_make_tmpdir (const char *name)
{
  g_autofree char *template = g_strdup_printf ("hir-%s-XXXXXX", name);
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  if (tmpdirs == NULL)
    {
      tmpdirs = g_ptr_array_new_with_free_func (g_free);
      atexit (remove_tmpdirs);
    }
  g_ptr_array_add (tmpdirs, g_strdup (dir));
  return dir;
}

HirEngine *
hir_test_engine_new_in (const char *profile_dir)
{
  g_autofree char *config = g_build_filename (profile_dir, "config", NULL);
  g_autofree char *data = g_build_filename (profile_dir, "data", NULL);
  g_autofree char *cache = g_build_filename (profile_dir, "cache", NULL);
  g_autoptr(HirEngine) engine = hir_engine_new (config, data, cache);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_object_set_data_full (G_OBJECT (engine), "hir-test-profile", g_strdup (profile_dir),
                          g_free);
  hir_engine_open_async (engine, NULL, hir_test_async_cb, &result);
  hir_test_async_wait (&result);
  hir_engine_open_finish (engine, result, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&engine);
}

HirEngine *
hir_test_engine_new (void)
{
  g_autofree char *dir = hir_test_make_tmpdir ("profile");

  return hir_test_engine_new_in (dir);
}

const char *
hir_test_engine_get_profile (HirEngine *engine)
{
  return g_object_get_data (G_OBJECT (engine), "hir-test-profile");
}

void
hir_test_async_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static gboolean
slot_is_set (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

GAsyncResult *
hir_test_async_wait (GAsyncResult **slot)
{
  if (!hir_test_wait_until (slot_is_set, slot, ASYNC_TIMEOUT_MS))
    g_error ("An asynchronous call did not complete within %d s", ASYNC_TIMEOUT_MS / 1000);
  return *slot;
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
hir_test_wait_until (gboolean (*condition) (gpointer data),
                     gpointer   data,
                     guint      timeout_ms)
{
  gboolean timed_out = FALSE;
  guint source = g_timeout_add (timeout_ms, timeout_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (source);
  return condition (data);
}

/* A TCP relay */

struct _HirTestRelay
{
  GSocketService *service;
  guint16 port;
  guint16 target_port;
  GPtrArray *streams;
};

static void
relay_splice_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_io_stream_splice_finish (result, NULL);
}

static gboolean
relay_incoming_cb (GSocketService    *service,
                   GSocketConnection *connection,
                   GObject           *source,
                   HirTestRelay      *relay)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) upstream = NULL;

  /* Blocking connect to the local server: immediate on loopback. */
  upstream = g_socket_client_connect_to_host (client, "127.0.0.1", relay->target_port, NULL,
                                              NULL);
  if (upstream == NULL)
    return TRUE;
  g_ptr_array_add (relay->streams, g_object_ref (connection));
  g_ptr_array_add (relay->streams, g_object_ref (upstream));
  g_io_stream_splice_async (G_IO_STREAM (connection), G_IO_STREAM (upstream),
                            G_IO_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT, NULL, relay_splice_cb,
                            NULL);
  return TRUE;
}

void
hir_test_relay_up (HirTestRelay *relay)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, relay->port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (relay->service);
  relay->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (relay->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective,
                                 &error);
  g_assert_no_error (error);
  relay->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (relay->service, "incoming", G_CALLBACK (relay_incoming_cb), relay);
  g_socket_service_start (relay->service);
}

void
hir_test_relay_down (HirTestRelay *relay)
{
  g_assert_nonnull (relay->service);
  g_socket_service_stop (relay->service);
  g_socket_listener_close (G_SOCKET_LISTENER (relay->service));
  g_clear_object (&relay->service);
  for (guint i = 0; i < relay->streams->len; i++)
    g_io_stream_close (g_ptr_array_index (relay->streams, i), NULL, NULL);
  g_ptr_array_set_size (relay->streams, 0);
}

HirTestRelay *
hir_test_relay_new (guint16 target_port)
{
  HirTestRelay *relay = g_new0 (HirTestRelay, 1);

  relay->target_port = target_port;
  relay->streams = g_ptr_array_new_with_free_func (g_object_unref);
  hir_test_relay_up (relay);
  return relay;
}

guint16
hir_test_relay_get_port (HirTestRelay *relay)
{
  return relay->port;
}

void
hir_test_relay_free (HirTestRelay *relay)
{
  if (relay->service != NULL)
    hir_test_relay_down (relay);
  g_ptr_array_unref (relay->streams);
  g_free (relay);
}
