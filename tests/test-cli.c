/* test-cli.c: `hirondelle account …` and `hirondelle sync` as a script runs them
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the real binary (built next to the tests) with a private XDG profile against the
 * real servers, and checks exit statuses, output and what was saved.
 */
#include "config.h"

#include "hir-test-util.h"

typedef struct
{
  char *address;
  char *password;
  char *dir;
  char *password_file;
} User;

static void
user_free (User *user)
{
  g_free (user->address);
  g_free (user->password);
  g_free (user->dir);
  g_free (user->password_file);
  g_free (user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (User, user_free)

static User *
user_new (const char *prefix)
{
  User *user = g_new0 (User, 1);
  g_autoptr(GError) error = NULL;

  hir_test_new_user (prefix, &user->address, &user->password);
  user->dir = hir_test_make_tmpdir (prefix);
  user->password_file = g_build_filename (user->dir, "password", NULL);
  g_file_set_contents_full (user->password_file, user->password, -1,
                            G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  return user;
}

static char *
binary_path (void)
{
  const char *builddir = g_getenv ("G_TEST_BUILDDIR");
  char *path;

  g_assert_nonnull (builddir);
  path = g_build_filename (builddir, "..", "src", "app", "hirondelle", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("%s is not built", path);
  return path;
}

/* Runs hirondelle with @argv in @user's private profile; returns the exit status. */
static int
run (User        *user,
     const char  *input,
     char       **out,
     char       **err,
     ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *config = g_build_filename (user->dir, "config", NULL);
  g_autofree char *data = g_build_filename (user->dir, "data", NULL);
  g_autofree char *cache = g_build_filename (user->dir, "cache", NULL);
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, binary_path ());
  va_start (args, err);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  /* No keyring here: the command line must say so, not hang looking for one. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                "unix:path=/nonexistent/hirondelle-test-bus", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));

  g_test_message ("hirondelle %s → %d\n%s%s", (char *) argv->pdata[1],
                  g_subprocess_get_exit_status (process), stdout_text, stderr_text);
  /* Whatever happened, the password never shows. */
  g_assert_null (strstr (stdout_text, user->password));
  g_assert_null (strstr (stderr_text, user->password));

  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  if (err != NULL)
    *err = g_steal_pointer (&stderr_text);
  return g_subprocess_get_exit_status (process);
}

static char *
password_command (User *user)
{
  g_autofree char *quoted = g_shell_quote (user->password_file);

  return g_strdup_printf ("cat %s", quoted);
}

static void
append_message (User       *user,
                const char *subject)
{
  g_autofree char *path = g_build_filename (user->dir, "m.eml", NULL);
  g_autofree char *eml = g_strdup_printf ("From: Eve <eve@example.test>\n"
                                          "To: %s\n"
                                          "Subject: %s\n"
                                          "Date: Thu, 05 Nov 2026 12:00:00 +0000\n"
                                          "Message-ID: <cli-%u@example.test>\n"
                                          "\n"
                                          "Hello\n", user->address, subject, g_random_int ());
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "--password-env", "HIR_TEST_PASSWORD", "--user", user->address,
                         "append", "INBOX", path, NULL };
  g_autofree char *uid = NULL;

  g_file_set_contents (path, eml, -1, &error);
  g_assert_no_error (error);
  uid = hir_test_run_tool ("hir-mailctl", user->password, argv);
}

static void
test_add_list_sync_remove (void)
{
  g_autoptr(User) user = user_new ("cli-add");
  g_autofree char *command = password_command (user);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *config = NULL;
  g_autofree char *contents = NULL;
  int status;

  append_message (user, "First from the command line");

  status = run (user, NULL, &out, &err, "account", "add",
                "--jmap", hir_test_server_get ("HIR_TEST_JMAP_URL"),
                "--address", user->address, "--name", "Cli User",
                "--password-command", command, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Added"));
  g_assert_nonnull (strstr (out, "1 messages"));

  config = g_build_filename (user->dir, "config", "hirondelle", "accounts.conf", NULL);
  g_file_get_contents (config, &contents, NULL, NULL);
  g_assert_nonnull (contents);
  g_assert_nonnull (strstr (contents, user->address));
  g_assert_null (strstr (contents, user->password));

  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "account", "list", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, user->address));

  /* Adding it twice is a usage error. */
  status = run (user, NULL, NULL, NULL, "account", "add",
                "--jmap", hir_test_server_get ("HIR_TEST_JMAP_URL"),
                "--address", user->address, "--password-command", command, NULL);
  g_assert_cmpint (status, ==, 1);

  append_message (user, "Second, synced");
  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "sync", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Inbox"));
  g_assert_nonnull (strstr (out, "2 messages, 2 unread"));

  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "sync", user->address, NULL);
  g_assert_cmpint (status, ==, 0);
  status = run (user, NULL, NULL, NULL, "sync", "nobody@example.test", NULL);
  g_assert_cmpint (status, ==, 1);

  status = run (user, NULL, NULL, NULL, "account", "remove", user->address, NULL);
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "account", "list", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "");
}

static void
test_failures (void)
{
  g_autoptr(User) user = user_new ("cli-fail");
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *bad_file = g_build_filename (user->dir, "bad", NULL);
  g_autofree char *bad_quoted = g_shell_quote (bad_file);
  g_autofree char *bad_command = g_strdup_printf ("cat %s", bad_quoted);
  g_autofree char *command = password_command (user);
  g_autofree char *dead_url = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  guint16 port;
  int status;

  g_assert_cmpint (run (user, NULL, NULL, NULL, "account", NULL), ==, 1);
  g_assert_cmpint (run (user, NULL, NULL, NULL, "account", "frobnicate", NULL), ==, 1);
  g_assert_cmpint (run (user, NULL, NULL, NULL, "account", "add", "--address", "x@y", NULL), ==, 1);
  g_assert_cmpint (run (user, NULL, NULL, NULL, "sync", NULL), ==, 1);

  /* Wrong password: 2, and nothing saved. */
  g_file_set_contents (bad_file, "wrong-password", -1, &error);
  g_assert_no_error (error);
  status = run (user, NULL, NULL, &err, "account", "add",
                "--jmap", hir_test_server_get ("HIR_TEST_JMAP_URL"),
                "--address", user->address, "--password-command", bad_command, NULL);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "refused"));
  status = run (user, NULL, &out, NULL, "account", "list", NULL);
  g_assert_cmpstr (out, ==, "");

  /* Nobody listening: 3. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
  dead_url = g_strdup_printf ("http://127.0.0.1:%u/.well-known/jmap", port);
  status = run (user, NULL, NULL, NULL, "account", "add", "--jmap", dead_url,
                "--address", user->address, "--password-command", command, NULL);
  g_assert_cmpint (status, ==, 3);

  /* A self-signed server: 3 with advice, unless trusted. */
  g_clear_pointer (&err, g_free);
  status = run (user, NULL, NULL, &err, "account", "add",
                "--jmap", hir_test_server_get ("HIR_TEST_JMAPS_URL"),
                "--address", user->address, "--password-command", command, NULL);
  g_assert_cmpint (status, ==, 3);
  g_assert_nonnull (strstr (err, "--trust-this-certificate"));

  /* The password on stdin needs the keyring, which is absent here: 4, said clearly,
   * and the password never echoed. */
  g_clear_pointer (&err, g_free);
  {
    g_autofree char *input = g_strdup_printf ("%s\n", user->password);

    status = run (user, input, NULL, &err, "account", "add",
                  "--jmap", hir_test_server_get ("HIR_TEST_JMAP_URL"),
                  "--address", user->address, "--password-stdin", NULL);
  }
  g_assert_cmpint (status, ==, 4);
  g_assert_nonnull (strstr (err, "password"));
}

static void
test_trust_this_certificate (void)
{
  g_autoptr(User) user = user_new ("cli-tls");
  g_autofree char *command = password_command (user);
  g_autofree char *out = NULL;
  g_autofree char *config = NULL;
  g_autofree char *contents = NULL;
  const char *fingerprint;
  int status;

  status = run (user, NULL, &out, NULL, "account", "add",
                "--jmap", hir_test_server_get ("HIR_TEST_JMAPS_URL"),
                "--address", user->address, "--password-command", command,
                "--trust-this-certificate", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Trusting the certificate"));
  fingerprint = strstr (out, "sha256:");
  g_assert_nonnull (fingerprint);

  config = g_build_filename (user->dir, "config", "hirondelle", "accounts.conf", NULL);
  g_file_get_contents (config, &contents, NULL, NULL);
  g_assert_nonnull (contents);
  g_assert_nonnull (strstr (contents, "sha256:"));

  g_assert_cmpint (run (user, NULL, NULL, NULL, "sync", NULL), ==, 0);
}

static void
test_imap (void)
{
  g_autoptr(User) user = user_new ("cli-imap");
  g_autofree char *command = password_command (user);
  g_autofree char *server = g_strdup_printf ("127.0.0.1:%s",
                                             hir_test_server_get ("HIR_TEST_IMAP_PORT"));
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  append_message (user, "Over IMAP");

  /* STARTTLS with the test server's self-signed certificate: refused, then pinned. */
  status = run (user, NULL, NULL, &err, "account", "add", "--imap", server,
                "--imap-security", "starttls", "--address", user->address,
                "--password-command", command, NULL);
  g_assert_cmpint (status, ==, 3);
  status = run (user, NULL, &out, NULL, "account", "add", "--imap", server,
                "--imap-security", "starttls", "--address", user->address,
                "--password-command", command, "--trust-this-certificate", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "Trusting the certificate"));
  g_assert_nonnull (strstr (out, "1 messages"));

  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "account", "list", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "imap 127.0.0.1"));

  append_message (user, "Second over IMAP");
  g_clear_pointer (&out, g_free);
  status = run (user, NULL, &out, NULL, "sync", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "2 messages"));

  g_assert_cmpint (run (user, NULL, NULL, NULL, "account", "add", "--imap", "h",
                        "--imap-security", "sometimes", "--address", "a@b",
                        "--password-command", "true", NULL), ==, 1);
  g_assert_cmpint (run (user, NULL, NULL, NULL, "account", "add", "--imap", "h",
                        "--jmap", "http://h/", "--address", "a@b",
                        "--password-command", "true", NULL), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/app/cli/add-list-sync-remove", test_add_list_sync_remove);
  g_test_add_func ("/app/cli/failures", test_failures);
  g_test_add_func ("/app/cli/trust-this-certificate", test_trust_this_certificate);
  g_test_add_func ("/app/cli/imap", test_imap);

  return g_test_run ();
}
