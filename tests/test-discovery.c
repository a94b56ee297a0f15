/* test-discovery.c: finding servers from an address, against real DNS, HTTP and mail servers
 *
 * Every path of HirDiscovery runs against real services on loopback: dnsmasq answers the
 * SRV and A records of example.test, a SoupServer in the test serves the JMAP well-known
 * redirect and the autoconfig XML, and the suite's Cyrus and Postfix are the servers behind
 * them. The process resolves through dnsmasq from inside a private mount namespace whose
 * /etc/resolv.conf names it (the machine's resolver is untouched), so the test re-executes
 * itself under `unshare -m` and needs root: without it every test is skipped, saying why.
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <unistd.h>

#include "hir-discovery.h"
#include "hir-jmap-client.h"
#include "hir-test-util.h"

#define NAMESPACE_ENV "HIR_TEST_DISCOVERY_NAMESPACE"
#define DNS_ENV "HIR_TEST_DISCOVERY_DNS"

static const char *skip_reason;

typedef struct
{
  GSubprocess *dnsmasq;
  SoupServer *https;
  guint https_port;
  gboolean serve_jmap;
  gboolean serve_autoconfig;
  char *autoconfig_query;   /* the emailaddress= the server was asked for */
  char *address;
  char *password;
  char *pin;
} Fixture;

/* DNS */

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

/* HTTPS: the well-known JMAP redirect and the autoconfig XML */

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  Fixture *fx = user_data;
  const char *host = g_uri_get_host (soup_server_message_get_uri (msg));

  if (fx->serve_jmap && g_str_equal (path, "/.well-known/jmap") && g_str_equal (host, "example.test"))
    {
      g_autofree char *to = g_strdup_printf ("https://mail.example.test:%s/.well-known/jmap",
                                             hir_test_server_get ("HIR_TEST_HTTPS_PORT"));

      soup_server_message_set_redirect (msg, SOUP_STATUS_MOVED_PERMANENTLY, to);
      return;
    }
  if (fx->serve_autoconfig && g_str_equal (path, "/mail/config-v1.1.xml")
      && g_str_equal (host, "autoconfig.example.test"))
    {
      g_autofree char *xml = NULL;

      g_free (fx->autoconfig_query);
      fx->autoconfig_query = g_strdup (query ? g_hash_table_lookup (query, "emailaddress") : NULL);
      xml = g_strdup_printf (
        "<?xml version=\"1.0\"?>\n"
        "<clientConfig version=\"1.1\">\n"
        " <emailProvider id=\"example.test\">\n"
        "  <domain>example.test</domain>\n"
        "  <incomingServer type=\"pop3\"><hostname>pop.example.test</hostname><port>995</port>"
        "<socketType>SSL</socketType><username>%%EMAILADDRESS%%</username></incomingServer>\n"
        "  <incomingServer type=\"imap\">\n"
        "   <hostname>mail.example.test</hostname><port>%s</port>\n"
        "   <socketType>STARTTLS</socketType><username>%%EMAILADDRESS%%</username>\n"
        "   <authentication>password-cleartext</authentication>\n"
        "  </incomingServer>\n"
        "  <outgoingServer type=\"smtp\">\n"
        "   <hostname>mail.example.test</hostname><port>%s</port>\n"
        "   <socketType>SSL</socketType><username>%%EMAILADDRESS%%</username>\n"
        "  </outgoingServer>\n"
        " </emailProvider>\n"
        "</clientConfig>\n",
        hir_test_server_get ("HIR_TEST_IMAP_PORT"),
        hir_test_server_get ("HIR_TEST_SUBMISSIONS_PORT"));
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/xml", SOUP_MEMORY_COPY, xml,
                                        strlen (xml));
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
}

/* An https server on @port (0: any) with the certificate and key in @cert_file/@key_file. */
static void
start_https (Fixture    *fx,
             const char *cert_file,
             const char *key_file,
             guint       port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_files (cert_file, key_file, &error);
  GSList *uris;

  g_assert_no_error (error);
  fx->https = soup_server_new ("tls-certificate", cert, NULL);
  soup_server_add_handler (fx->https, NULL, handler, fx, NULL);
  soup_server_listen_local (fx->https, port, SOUP_SERVER_LISTEN_HTTPS | SOUP_SERVER_LISTEN_IPV4_ONLY,
                            &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fx->https);
  fx->https_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
stop_https (Fixture *fx)
{
  if (fx->https == NULL)
    return;
  soup_server_disconnect (fx->https);
  g_clear_object (&fx->https);
}

static char *
servers_key_file (void)
{
  g_autofree char *dir = g_path_get_dirname (hir_test_server_get ("HIR_TEST_CA_FILE"));

  return g_build_filename (dir, "key.pem", NULL);
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

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  g_autofree char *key = NULL;

  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return;
    }
  key = servers_key_file ();
  hir_test_new_user ("discovery", &fx->address, &fx->password);
  fx->pin = servers_fingerprint ();
  start_https (fx, hir_test_server_get ("HIR_TEST_CA_FILE"), key, 0);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  stop_dns (fx);
  stop_https (fx);
  g_free (fx->autoconfig_query);
  g_free (fx->address);
  g_free (fx->password);
  g_free (fx->pin);
}

static void
step_cb (HirDiscovery *discovery,
         guint         step,
         const char   *detail,
         gpointer      user_data)
{
  GArray *steps = user_data;

  g_test_message ("step %u: %s", step, detail != NULL ? detail : "");
  if (steps->len == 0 || g_array_index (steps, guint, steps->len - 1) != step)
    g_array_append_val (steps, step);
}

static HirDiscovery *
make_discovery (Fixture    *fx,
                const char *password,
                const char *pin)
{
  HirDiscovery *discovery = hir_discovery_new (fx->address);

  hir_discovery_set_display_name (discovery, "Discovery Test");
  hir_discovery_set_password (discovery, password);
  hir_discovery_set_trusted_certificate (discovery, pin);
  /* Nothing listens on 80 on loopback: the http fallbacks fail at once. */
  g_object_set (discovery, "https-port", fx->https_port, NULL);
  return discovery;
}

static HirAccount *
run (HirDiscovery  *discovery,
     GArray        *steps,
     GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  if (steps != NULL)
    g_signal_connect (discovery, "step", G_CALLBACK (step_cb), steps);
  hir_discovery_run_async (discovery, NULL, hir_test_async_cb, &result);
  return hir_discovery_run_finish (discovery, hir_test_async_wait (&result), error);
}

/* The engine logs in again and syncs: the account works for reading. */
static void
add_to_engine (Fixture    *fx,
               HirAccount *account)
{
  g_autoptr(HirEngine) engine = hir_test_engine_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = hir_test_make_tmpdir ("password");
  g_autofree char *pw_path = g_build_filename (dir, "password", NULL);
  g_autofree char *quoted = g_shell_quote (pw_path);
  g_autofree char *command = g_strdup_printf ("cat %s", quoted);

  g_file_set_contents_full (pw_path, fx->password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  hir_account_set_password_command (account, command);
  hir_engine_add_account_async (engine, account, fx->password, NULL, hir_test_async_cb, &result);
  hir_engine_add_account_finish (engine, hir_test_async_wait (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_status (account), ==, HIR_ACCOUNT_STATUS_ONLINE);
  g_assert_nonnull (hir_engine_find_account (engine, fx->address));
  hir_engine_stop (engine);
}

static gboolean
has_step (GArray *steps,
          guint   step)
{
  for (guint i = 0; i < steps->len; i++)
    if (g_array_index (steps, guint, i) == step)
      return TRUE;
  return FALSE;
}

static void
test_jmap_well_known (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(HirDiscovery) discovery = NULL;
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;

  if (g_test_failed () || skip_reason != NULL)
    return;
  fx->serve_jmap = TRUE;
  start_dns (fx, NULL);

  discovery = make_discovery (fx, fx->password, fx->pin);
  account = run (discovery, steps, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_kind (account), ==, HIR_ACCOUNT_KIND_JMAP);
  g_assert_true (g_str_has_prefix (hir_account_get_jmap_url (account), "https://mail.example.test:"));
  g_assert_true (g_str_has_suffix (hir_account_get_jmap_url (account), "/jmap"));
  g_assert_cmpstr (hir_account_get_display_name (account), ==, "Discovery Test");
  g_assert_cmpstr (hir_account_get_trusted_certificate (account), ==, fx->pin);
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_JMAP));
  g_assert_false (has_step (steps, HIR_DISCOVERY_STEP_SRV));
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_VERIFY_READ));
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_VERIFY_SEND));
  g_assert_cmpuint (hir_discovery_get_step (discovery), ==, HIR_DISCOVERY_STEP_DONE);

  add_to_engine (fx, account);
}

static void
test_srv (Fixture       *fx,
          gconstpointer  data)
{
  g_autoptr(HirDiscovery) discovery = NULL;
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;
  g_autofree char *srv = NULL;

  if (skip_reason != NULL)
    return;
  srv = g_strdup_printf ("srv-host=_imaps._tcp.example.test,mail.example.test,%s,0,1\n"
                         "srv-host=_submission._tcp.example.test,mail.example.test,%s,0,1\n",
                         hir_test_server_get ("HIR_TEST_IMAPS_PORT"),
                         hir_test_server_get ("HIR_TEST_SUBMISSION_PORT"));
  start_dns (fx, srv);

  discovery = make_discovery (fx, fx->password, fx->pin);
  account = run (discovery, steps, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hir_account_get_kind (account), ==, HIR_ACCOUNT_KIND_IMAP);
  g_assert_cmpstr (hir_account_get_imap_host (account), ==, "mail.example.test");
  g_assert_cmpuint (hir_account_get_imap_port (account), ==,
                    atoi (hir_test_server_get ("HIR_TEST_IMAPS_PORT")));
  g_assert_cmpint (hir_account_get_imap_security (account), ==, HIR_SECURITY_TLS);
  g_assert_cmpstr (hir_account_get_smtp_host (account), ==, "mail.example.test");
  g_assert_cmpuint (hir_account_get_smtp_port (account), ==,
                    atoi (hir_test_server_get ("HIR_TEST_SUBMISSION_PORT")));
  g_assert_cmpint (hir_account_get_smtp_security (account), ==, HIR_SECURITY_STARTTLS);
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_JMAP));
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_SRV));
  g_assert_false (has_step (steps, HIR_DISCOVERY_STEP_AUTOCONFIG));
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_VERIFY_SEND));

  add_to_engine (fx, account);
}

static void
test_autoconfig (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(HirDiscovery) discovery = NULL;
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;

  if (skip_reason != NULL)
    return;
  fx->serve_autoconfig = TRUE;
  start_dns (fx, NULL);

  discovery = make_discovery (fx, fx->password, fx->pin);
  account = run (discovery, steps, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fx->autoconfig_query, ==, fx->address);
  g_assert_cmpint (hir_account_get_kind (account), ==, HIR_ACCOUNT_KIND_IMAP);
  g_assert_cmpstr (hir_account_get_imap_host (account), ==, "mail.example.test");
  g_assert_cmpuint (hir_account_get_imap_port (account), ==,
                    atoi (hir_test_server_get ("HIR_TEST_IMAP_PORT")));
  g_assert_cmpint (hir_account_get_imap_security (account), ==, HIR_SECURITY_STARTTLS);
  g_assert_cmpuint (hir_account_get_smtp_port (account), ==,
                    atoi (hir_test_server_get ("HIR_TEST_SUBMISSIONS_PORT")));
  g_assert_cmpint (hir_account_get_smtp_security (account), ==, HIR_SECURITY_TLS);
  g_assert_cmpstr (hir_account_get_username (account), ==, fx->address);
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_SRV));
  g_assert_true (has_step (steps, HIR_DISCOVERY_STEP_AUTOCONFIG));
  g_assert_false (has_step (steps, HIR_DISCOVERY_STEP_GUESS));

  add_to_engine (fx, account);
}

static void
test_wrong_password (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *srv = NULL;

  if (skip_reason != NULL)
    return;
  srv = g_strdup_printf ("srv-host=_imaps._tcp.example.test,mail.example.test,%s,0,1\n"
                         "srv-host=_submissions._tcp.example.test,mail.example.test,%s,0,1\n",
                         hir_test_server_get ("HIR_TEST_IMAPS_PORT"),
                         hir_test_server_get ("HIR_TEST_SUBMISSIONS_PORT"));
  start_dns (fx, srv);

  {
    g_autoptr(HirDiscovery) discovery = make_discovery (fx, "not-the-password", fx->pin);
    g_autoptr(HirAccount) account = run (discovery, NULL, &error);

    g_assert_null (account);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
    /* What was found is kept for the form. */
    g_assert_cmpstr (hir_account_get_imap_host (hir_discovery_get_found (discovery)), ==,
                     "mail.example.test");
    g_clear_error (&error);
  }

  /* The same over JMAP. */
  fx->serve_jmap = TRUE;
  {
    g_autoptr(HirDiscovery) discovery = make_discovery (fx, "not-the-password", fx->pin);
    g_autoptr(HirAccount) account = run (discovery, NULL, &error);

    g_assert_null (account);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_AUTH_FAILED);
  }
}

static void
test_nothing_found (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(HirDiscovery) discovery = NULL;
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_reason != NULL)
    return;
  start_dns (fx, NULL);
  discovery = make_discovery (fx, fx->password, fx->pin);
  account = run (discovery, NULL, &error);
  g_assert_null (account);
  g_assert_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND);
}

/* Refused, trusted once the user accepts it, refused again once it changes. */
static void
test_certificate (Fixture       *fx,
                  gconstpointer  data)
{
  g_autofree char *dir = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *shown = NULL;
  g_autoptr(GError) error = NULL;
  guint port;

  if (skip_reason != NULL)
    return;
  fx->serve_jmap = TRUE;
  start_dns (fx, NULL);

  {
    g_autoptr(HirDiscovery) discovery = make_discovery (fx, fx->password, NULL);
    g_autoptr(HirAccount) account = run (discovery, NULL, &error);
    g_autofree char *expected_host = g_strdup_printf ("example.test:%u", fx->https_port);

    g_assert_null (account);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
    g_clear_error (&error);
    g_assert_nonnull (hir_discovery_get_certificate (discovery));
    g_assert_cmpstr (hir_discovery_get_certificate_host (discovery), ==, expected_host);
    g_assert_true (hir_discovery_get_certificate_errors (discovery) & G_TLS_CERTIFICATE_UNKNOWN_CA);
    shown = hir_jmap_certificate_fingerprint (hir_discovery_get_certificate (discovery));
    g_assert_cmpstr (shown, ==, fx->pin);

    /* The user looked at it and trusts it. */
    hir_discovery_set_trusted_certificate (discovery, shown);
    g_clear_object (&account);
    account = run (discovery, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (hir_account_get_trusted_certificate (account), ==, shown);
    g_assert_null (hir_discovery_get_certificate (discovery));
  }

  /* Another certificate on the same host and port. */
  dir = hir_test_make_tmpdir ("other-cert");
  cert = g_build_filename (dir, "cert.pem", NULL);
  key = g_build_filename (dir, "key.pem", NULL);
  {
    const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                           "-keyout", key, "-out", cert, "-subj", "/CN=example.test",
                           "-addext", "subjectAltName=DNS:example.test", NULL };
    int status = 0;

    g_spawn_sync (NULL, (char **) argv, NULL,
                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error);
    g_assert_no_error (error);
    g_spawn_check_wait_status (status, &error);
    g_assert_no_error (error);
  }
  port = fx->https_port;
  stop_https (fx);
  start_https (fx, cert, key, port);
  g_assert_cmpuint (fx->https_port, ==, port);

  {
    g_autoptr(HirDiscovery) discovery = make_discovery (fx, fx->password, shown);
    g_autoptr(HirAccount) account = run (discovery, NULL, &error);
    g_autofree char *changed = NULL;

    g_assert_null (account);
    g_assert_error (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED);
    g_assert_nonnull (hir_discovery_get_certificate (discovery));
    changed = hir_jmap_certificate_fingerprint (hir_discovery_get_certificate (discovery));
    g_assert_cmpstr (changed, !=, shown);
  }
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

int
main (int   argc,
      char *argv[])
{
  skip_reason = enter_namespace (argv);

  g_test_init (&argc, &argv, NULL);

  g_test_add ("/engine/discovery/jmap-well-known", Fixture, NULL, fixture_set_up,
              test_jmap_well_known, fixture_tear_down);
  g_test_add ("/engine/discovery/srv", Fixture, NULL, fixture_set_up, test_srv,
              fixture_tear_down);
  g_test_add ("/engine/discovery/autoconfig", Fixture, NULL, fixture_set_up, test_autoconfig,
              fixture_tear_down);
  g_test_add ("/engine/discovery/wrong-password", Fixture, NULL, fixture_set_up,
              test_wrong_password, fixture_tear_down);
  g_test_add ("/engine/discovery/nothing-found", Fixture, NULL, fixture_set_up,
              test_nothing_found, fixture_tear_down);
  g_test_add ("/engine/discovery/certificate", Fixture, NULL, fixture_set_up,
              test_certificate, fixture_tear_down);

  return g_test_run ();
}
