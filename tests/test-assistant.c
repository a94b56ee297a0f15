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

#include "hir-account-assistant.h"
#include "hir-account-preferences.h"
#include "hir-certificate-dialog.h"
#include "hir-jmap-client.h"
#include "hir-preferences-window.h"
#include "hir-test-util.h"

#define TIMEOUT_MS 60000

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
    gtk_window_destroy (GTK_WINDOW (prefs));
    g_assert_finalize_object (prefs);

    g_object_ref_sink (account_prefs);
    gtk_window_present (GTK_WINDOW (account_prefs));
    screenshot ("preferences-account.png");
    gtk_window_destroy (GTK_WINDOW (account_prefs));
    g_assert_finalize_object (account_prefs);
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

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/app/assistant/manual-certificate", test_manual_certificate);
  g_test_add_func ("/app/assistant/wrong-password", test_wrong_password);

  return g_test_run ();
}
