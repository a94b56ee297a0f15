/* test-assistant.c: the account setup assistant, the certificate dialog and preferences
 *
 * Against the real servers: the form's servers are checked for reading and sending, the
 * self-signed certificate stops the check and shows the certificate dialog, trusting it
 * pins that certificate and the account is saved. With HIR_TEST_SCREENSHOTS set to a
 * directory, each page is captured there (`import -window root`) for review.
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "hir-account-assistant.h"
#include "hir-account-preferences.h"
#include "hir-certificate-dialog.h"
#include "hir-jmap-client.h"
#include "hir-preferences-window.h"
#include "hir-window.h"
#include "hir-test-util.h"

#define TIMEOUT_MS 60000
#define NAMESPACE_ENV "HIR_TEST_DISCOVERY_NAMESPACE"
#define DNS_ENV "HIR_TEST_DISCOVERY_DNS"

/* Why the discovery test cannot run (not root), or NULL. */
static const char *skip_reason;

typedef struct
{
  GSubprocess *dnsmasq;
} Fixture;

static void
start_dns (Fixture    *fx,
           const char *srv_lines)
{
  fx->dnsmasq = hir_test_dns_start (srv_lines);
}

static void
stop_dns (Fixture *fx)
{
  hir_test_dns_stop (&fx->dnsmasq);
}


static void
screenshot (const char *name)
{
  const char *dir = g_getenv ("HIR_TEST_SCREENSHOTS");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (dir == NULL)
    return;
  /* Let the frame settle: animations and the spinner. */
  for (guint i = 0; i < 40; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  path = g_build_filename (dir, name, NULL);
  {
    const char *argv[] = { "import", "-window", "root", path, NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                  &status, &error);
  }
  g_assert_no_error (error);
  g_test_message ("screenshot %s", path);
}

static gboolean
page_is (gpointer data)
{
  HirAccountAssistant *assistant = HIR_ACCOUNT_ASSISTANT (((gpointer *) data)[0]);

  return g_strcmp0 (hir_account_assistant_get_page (assistant), ((gpointer *) data)[1]) == 0;
}

static void
wait_page (HirAccountAssistant *assistant,
           const char          *page)
{
  gpointer data[] = { assistant, (gpointer) page };

  g_assert_true (hir_test_wait_until (page_is, data, TIMEOUT_MS));
}

static HirCertificateDialog *
find_certificate_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (HIR_IS_CERTIFICATE_DIALOG (window) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return HIR_CERTIFICATE_DIALOG (window);
    }
  return NULL;
}

static gboolean
certificate_dialog_shown (gpointer data)
{
  return find_certificate_dialog () != NULL;
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && !HIR_IS_CERTIFICATE_DIALOG (window)
          && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

static gboolean
remove_dialog_shown (gpointer data)
{
  return find_message_dialog () != NULL;
}

static gboolean
window_gone (gpointer data)
{
  return !gtk_widget_get_visible (GTK_WIDGET (data));
}

static gboolean
no_accounts (gpointer data)
{
  return g_list_model_get_n_items (hir_engine_get_accounts (HIR_ENGINE (data))) == 0;
}

static char *
servers_fingerprint (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert =
    g_tls_certificate_new_from_file (hir_test_server_get ("HIR_TEST_CA_FILE"), &error);

  g_assert_no_error (error);
  return hir_jmap_certificate_fingerprint (cert);
}

/* The form's servers, a certificate the user trusts, the account saved. */
static void
test_manual_certificate (void)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autoptr(HirAccount) servers = NULL;
  g_autofree char *address = NULL;
  g_autofree char *password = NULL;
  g_autofree char *pin = servers_fingerprint ();
  HirAccountAssistant *assistant;
  HirCertificateDialog *dialog;
  HirAccount *account;

  hir_test_new_user ("assistant", &address, &password);
  assistant = hir_account_assistant_new (NULL, engine);
  g_object_ref_sink (assistant);
  gtk_window_present (GTK_WINDOW (assistant));
  wait_page (assistant, "details");
  hir_account_assistant_set_details (assistant, "Ada Lovelace", address, password);
  screenshot ("assistant-1-details.png");

  servers = hir_account_new (HIR_ACCOUNT_KIND_IMAP, address);
  hir_account_set_imap_host (servers, "127.0.0.1");
  hir_account_set_imap_port (servers, atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")));
  hir_account_set_imap_security (servers, HIR_SECURITY_TLS);
  hir_account_set_smtp_host (servers, "127.0.0.1");
  hir_account_set_smtp_port (servers, atoi (hir_test_server_get ("HIR_TEST_SUBMISSION_PORT")));
  hir_account_set_smtp_security (servers, HIR_SECURITY_STARTTLS);
  hir_account_assistant_show_form (assistant, servers);
  wait_page (assistant, "manual");
  screenshot ("assistant-3-manual.png");

  /* Check: the self-signed certificate stops the login and is shown, never accepted. */
  gtk_widget_activate_action (GTK_WIDGET (assistant), "assistant.next", NULL);
  g_assert_true (hir_test_wait_until (certificate_dialog_shown, NULL, TIMEOUT_MS));
  g_assert_cmpuint (g_list_model_get_n_items (hir_engine_get_accounts (engine)), ==, 0);
  dialog = find_certificate_dialog ();
  g_assert_cmpstr (hir_certificate_dialog_get_fingerprint (dialog), ==, pin);
  screenshot ("assistant-4-certificate.png");

  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");
  gtk_window_destroy (GTK_WINDOW (dialog));
  wait_page (assistant, "done");
  screenshot ("assistant-5-done.png");

  g_assert_cmpuint (g_list_model_get_n_items (hir_engine_get_accounts (engine)), ==, 1);
  account = hir_engine_find_account (engine, address);
  g_assert_nonnull (account);
  g_assert_cmpstr (hir_account_get_trusted_certificate (account), ==, pin);
  g_assert_cmpstr (hir_account_get_display_name (account), ==, "Ada Lovelace");

  /* The preferences list it; its own page shows the servers. */
  {
    HirPreferencesWindow *prefs = hir_preferences_window_new (NULL, engine);
    HirAccountPreferences *account_prefs = hir_account_preferences_new (NULL, engine, account);

    g_object_ref_sink (prefs);
    gtk_window_present (GTK_WINDOW (prefs));
    screenshot ("preferences-general.png");
    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "accounts");
    screenshot ("preferences-accounts.png");
    gtk_window_destroy (GTK_WINDOW (prefs));
    g_assert_finalize_object (prefs);

    g_object_ref_sink (account_prefs);
    gtk_window_present (GTK_WINDOW (account_prefs));
    screenshot ("preferences-account.png");

    /* Remove asks first; then the account is gone. */
    gtk_widget_activate_action (GTK_WIDGET (account_prefs), "account.remove", NULL);
    g_assert_true (hir_test_wait_until (remove_dialog_shown, NULL, TIMEOUT_MS));
    g_assert_cmpuint (g_list_model_get_n_items (hir_engine_get_accounts (engine)), ==, 1);
    screenshot ("preferences-account-remove.png");
    adw_message_dialog_response (find_message_dialog (), "remove");
    g_assert_true (hir_test_wait_until (no_accounts, engine, TIMEOUT_MS));
    g_assert_true (hir_test_wait_until (window_gone, account_prefs, TIMEOUT_MS));
    g_object_unref (account_prefs);
  }

  gtk_window_destroy (GTK_WINDOW (assistant));
  g_assert_finalize_object (assistant);
  hir_engine_stop (engine);
}

/* A wrong password sends the user back to it, and nothing is saved. */
static void
test_wrong_password (void)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autoptr(HirAccount) servers = NULL;
  g_autofree char *address = NULL;
  g_autofree char *password = NULL;
  g_autofree char *pin = servers_fingerprint ();
  HirAccountAssistant *assistant;
  HirCertificateDialog *dialog;

  hir_test_new_user ("assistant", &address, &password);
  assistant = hir_account_assistant_new (NULL, engine);
  g_object_ref_sink (assistant);
  gtk_window_present (GTK_WINDOW (assistant));
  hir_account_assistant_set_details (assistant, NULL, address, "not-the-password");

  servers = hir_account_new (HIR_ACCOUNT_KIND_JMAP, address);
  hir_account_set_jmap_url (servers, hir_test_server_get ("HIR_TEST_JMAPS_URL"));
  hir_account_assistant_show_form (assistant, servers);
  gtk_widget_activate_action (GTK_WIDGET (assistant), "assistant.next", NULL);
  g_assert_true (hir_test_wait_until (certificate_dialog_shown, NULL, TIMEOUT_MS));
  dialog = find_certificate_dialog ();
  g_assert_cmpstr (hir_certificate_dialog_get_fingerprint (dialog), ==, pin);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");
  gtk_window_destroy (GTK_WINDOW (dialog));

  wait_page (assistant, "manual");
  g_assert_cmpuint (g_list_model_get_n_items (hir_engine_get_accounts (engine)), ==, 0);

  gtk_window_destroy (GTK_WINDOW (assistant));
  g_assert_finalize_object (assistant);
}

/* Re-executes the test in a private mount namespace whose resolv.conf names a dnsmasq on a
 * loopback address of its own; returns only when that cannot be done (with the reason). */
static const char *
enter_namespace (char **argv)
{
  static char reason[256];
  g_autofree char *dir = NULL;
  g_autofree char *resolv = NULL;
  g_autofree char *text = NULL;
  g_autofree char *script = NULL;
  g_autofree char *dns = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  if (g_getenv (NAMESPACE_ENV) != NULL)
    return NULL;
  if (geteuid () != 0)
    return "needs root: resolving through a test DNS server takes a private mount namespace "
           "(unshare -m); run the suite through build-aux/test";
  if (g_find_program_in_path ("dnsmasq") == NULL && !g_file_test ("/usr/sbin/dnsmasq", G_FILE_TEST_IS_EXECUTABLE))
    return "needs dnsmasq (Debian package dnsmasq-base; build-aux/install-deps installs it)";

  /* A loopback address of its own (resolv.conf cannot name a port): two suites running at
   * once on one machine do not meet. */
  dns = g_strdup_printf ("127.0.%u.%u", g_random_int_range (78, 250),
                         g_random_int_range (2, 250));
  dir = g_dir_make_tmp ("hir-discovery-XXXXXX", NULL);
  if (dir == NULL)
    return "cannot make a temporary directory";
  resolv = g_build_filename (dir, "resolv.conf", NULL);
  text = g_strdup_printf ("nameserver %s\noptions timeout:2 attempts:2\n", dns);
  if (!g_file_set_contents (resolv, text, -1, NULL))
    return "cannot write resolv.conf";

  g_setenv (NAMESPACE_ENV, "1", TRUE);
  g_setenv (DNS_ENV, dns, TRUE);
  g_setenv ("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", FALSE);
  script = g_strdup_printf ("mount --bind %s /etc/resolv.conf && exec \"$0\" \"$@\"", resolv);
  g_ptr_array_add (args, (gpointer) "unshare");
  g_ptr_array_add (args, (gpointer) "-m");
  g_ptr_array_add (args, (gpointer) "--propagation");
  g_ptr_array_add (args, (gpointer) "private");
  g_ptr_array_add (args, (gpointer) "sh");
  g_ptr_array_add (args, (gpointer) "-c");
  g_ptr_array_add (args, script);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, argv[i]);
  g_ptr_array_add (args, NULL);
  execvp ("unshare", (char **) args->pdata);
  g_snprintf (reason, sizeof reason, "cannot run unshare: %s", g_strerror (errno));
  return reason;
}

/* The whole way: the address's SRV records, the certificate, the account saved. */
static void
test_discovery (void)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autofree char *address = NULL;
  g_autofree char *password = NULL;
  g_autofree char *srv = NULL;
  g_autofree char *pin = servers_fingerprint ();
  Fixture fx = { NULL };
  HirAccountAssistant *assistant;
  HirCertificateDialog *dialog;
  HirAccount *account;

  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return;
    }
  srv = g_strdup_printf ("srv-host=_imaps._tcp.example.test,mail.example.test,%s,0,1\n"
                         "srv-host=_submission._tcp.example.test,mail.example.test,%s,0,1\n",
                         hir_test_server_get ("HIR_TEST_IMAPS_PORT"),
                         hir_test_server_get ("HIR_TEST_SUBMISSION_PORT"));
  start_dns (&fx, srv);

  hir_test_new_user ("assistant", &address, &password);
  assistant = hir_account_assistant_new (NULL, engine);
  g_object_ref_sink (assistant);
  gtk_window_present (GTK_WINDOW (assistant));
  hir_account_assistant_set_details (assistant, "Grace Hopper", address, password);
  gtk_widget_activate_action (GTK_WIDGET (assistant), "assistant.next", NULL);
  g_assert_cmpstr (hir_account_assistant_get_page (assistant), ==, "progress");

  /* Found over SRV; the login check meets the self-signed certificate. */
  g_assert_true (hir_test_wait_until (certificate_dialog_shown, NULL, TIMEOUT_MS));
  dialog = find_certificate_dialog ();
  g_assert_cmpstr (hir_certificate_dialog_get_fingerprint (dialog), ==, pin);
  gtk_widget_set_visible (GTK_WIDGET (dialog), FALSE);
  screenshot ("assistant-2-progress.png");
  gtk_widget_set_visible (GTK_WIDGET (dialog), TRUE);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");
  gtk_window_destroy (GTK_WINDOW (dialog));

  wait_page (assistant, "done");
  screenshot ("assistant-5-done-discovery.png");
  account = hir_engine_find_account (engine, address);
  g_assert_nonnull (account);
  g_assert_cmpstr (hir_account_get_imap_host (account), ==, "mail.example.test");
  g_assert_cmpint (hir_account_get_smtp_security (account), ==, HIR_SECURITY_STARTTLS);
  g_assert_cmpstr (hir_account_get_trusted_certificate (account), ==, pin);

  gtk_window_destroy (GTK_WINDOW (assistant));
  g_assert_finalize_object (assistant);
  hir_engine_stop (engine);
  stop_dns (&fx);
}

static gboolean
certificate_untrusted (gpointer data)
{
  return hir_account_get_status (HIR_ACCOUNT (data)) == HIR_ACCOUNT_STATUS_CERTIFICATE_UNTRUSTED;
}

static gboolean
online (gpointer data)
{
  return hir_account_get_status (HIR_ACCOUNT (data)) == HIR_ACCOUNT_STATUS_ONLINE;
}

/* The window's banner: a certificate that changed is shown again, and trusting it is saved. */
static void
test_window_certificate (void)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *password = NULL;
  g_autofree char *pin = servers_fingerprint ();
  g_autofree char *dir = hir_test_make_tmpdir ("password");
  g_autofree char *pw_path = g_build_filename (dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);
  g_autofree char *conf_path = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *config_dir = NULL;
  HirCertificateDialog *dialog;
  HirWindow *window;

  hir_test_new_user ("banner", &address, &password);
  g_file_set_contents_full (pw_path, password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  account = hir_account_new (HIR_ACCOUNT_KIND_IMAP, address);
  hir_account_set_imap_host (account, "127.0.0.1");
  hir_account_set_imap_port (account, atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")));
  hir_account_set_imap_security (account, HIR_SECURITY_TLS);
  hir_account_set_smtp_host (account, "127.0.0.1");
  hir_account_set_smtp_port (account, atoi (hir_test_server_get ("HIR_TEST_SUBMISSIONS_PORT")));
  hir_account_set_trusted_certificate (account, pin);
  hir_account_set_password_command (account, command);
  hir_engine_add_account_async (engine, account, password, NULL, hir_test_async_cb, &result);
  hir_engine_add_account_finish (engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  /* Next start: the server's certificate is no longer the pinned one. */
  hir_engine_stop (engine);
  g_clear_object (&account);
  {
    g_autoptr(HirEngine) first = g_steal_pointer (&engine);

    engine = hir_test_engine_new_in (hir_test_engine_get_profile (first));
  }
  account = g_object_ref (hir_engine_find_account (engine, address));
  hir_account_set_trusted_certificate (account, "sha256:0000");
  window = hir_window_new (NULL, engine);
  g_object_ref_sink (window);
  gtk_window_present (GTK_WINDOW (window));
  hir_engine_start (engine);
  g_assert_true (hir_test_wait_until (certificate_untrusted, account, TIMEOUT_MS));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-certificate", NULL);
  g_assert_true (hir_test_wait_until (certificate_dialog_shown, NULL, TIMEOUT_MS));
  dialog = find_certificate_dialog ();
  g_assert_cmpstr (hir_certificate_dialog_get_fingerprint (dialog), ==, pin);
  screenshot ("window-certificate.png");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");
  gtk_window_destroy (GTK_WINDOW (dialog));

  g_assert_cmpstr (hir_account_get_trusted_certificate (account), ==, pin);
  g_assert_true (hir_test_wait_until (online, account, TIMEOUT_MS));
  g_object_get (engine, "config-dir", &config_dir, NULL);
  conf_path = g_build_filename (config_dir, "accounts.conf", NULL);
  g_file_get_contents (conf_path, &conf, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (conf, pin));

  gtk_window_destroy (GTK_WINDOW (window));
  g_object_unref (window);
  hir_engine_stop (engine);
}

int
main (int   argc,
      char *argv[])
{
  skip_reason = enter_namespace (argv);

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/assistant/manual-certificate", test_manual_certificate);
  g_test_add_func ("/app/assistant/wrong-password", test_wrong_password);
  g_test_add_func ("/app/assistant/discovery", test_discovery);
  g_test_add_func ("/app/assistant/window-certificate", test_window_certificate);

  return g_test_run ();
}
