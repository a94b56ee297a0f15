/* hir-cli.c: the command-line verbs that need no window
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   hirondelle account add (--jmap URL | --imap HOST[:PORT] [--imap-security tls|starttls|none])
 *                          [--smtp HOST[:PORT] [--smtp-security tls|starttls|none]]
 *                          --address ADDRESS [--name NAME] [--username USER]
 *                          [--password-stdin | --password-command CMD]
 *                          [--trust-certificate sha256:HEX | --trust-this-certificate]
 *   hirondelle account list
 *   hirondelle account remove ID
 *   hirondelle sync [ACCOUNT]
 *
 * Exit status (scripts rely on these):
 *   0  success
 *   1  usage error (unknown verb or option, missing argument, no such account)
 *   2  the server refused the user name or password
 *   3  the server is unreachable, or its certificate is not trusted
 *   4  anything else (no keyring, local storage, server error); stderr says what
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "hir-cli.h"
#include "hir-imap-client.h"
#include "hir-jmap-client.h"
#include "hirondelle-engine.h"

enum {
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_AUTH = 2,
  EXIT_UNREACHABLE = 3,
  EXIT_OTHER = 4,
};

gboolean
hir_cli_handles (int    argc,
                 char **argv)
{
  return argc > 1 && (g_strcmp0 (argv[1], "account") == 0 || g_strcmp0 (argv[1], "sync") == 0);
}

static int
exit_status_for (const GError *error)
{
  if (error->domain == HIR_ERROR)
    switch ((HirErrorCode) error->code)
      {
      case HIR_ERROR_AUTH_FAILED:
        return EXIT_AUTH;
      case HIR_ERROR_UNREACHABLE:
      case HIR_ERROR_OFFLINE:
      case HIR_ERROR_CERTIFICATE_UNTRUSTED:
        return EXIT_UNREACHABLE;
      default:
        break;
      }
  return EXIT_OTHER;
}

/* Prints "hirondelle: MESSAGE" on stderr. */
static void complain (const char *format,
                      ...) G_GNUC_PRINTF (1, 2);

static void
complain (const char *format,
          ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* Translators: how the command line starts its complaints; %s is the message. */
  g_printerr (_("hirondelle: %s\n"), message);
}

static int
fail (const char   *what,
      const GError *error)
{
  /* Translators: the first %s says what failed ("cannot add ADDRESS"), the second
   * why (an error message). */
  complain (_("%s: %s"), what, error->message);
  if (g_error_matches (error, HIR_ERROR, HIR_ERROR_CERTIFICATE_UNTRUSTED))
    complain (_("if you know this is your server's certificate, add the account again "
                "with --trust-certificate or --trust-this-certificate"));
  return exit_status_for (error);
}

static int
usage (GOptionContext *context,
       const char     *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  if (message != NULL)
    {
      complain ("%s", message);
      g_printerr ("\n");
    }
  g_printerr ("%s", help);
  return EXIT_USAGE;
}

/* Async calls from a command-line verb: iterate the default context until done. */
static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static HirEngine *
open_engine (int *status)
{
  g_autoptr(HirEngine) engine = hir_engine_new_default ();
  g_autoptr(GError) error = NULL;

  if (!hir_engine_open_sync (engine, NULL, &error))
    {
      *status = fail (_("cannot open the mail store"), error);
      return NULL;
    }
  return g_steal_pointer (&engine);
}

/* Reads one line from stdin; with a terminal, without echoing it. */
static char *
read_password (GError **error)
{
  struct termios saved;
  gboolean tty = isatty (STDIN_FILENO);
  g_autoptr(GString) line = g_string_new (NULL);
  int c;

  if (tty)
    {
      struct termios quiet;

      /* Translators: the prompt before reading a password on the terminal. */
      g_printerr ("%s", _("Password: "));
      tcgetattr (STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }

  while ((c = getchar ()) != EOF && c != '\n')
    g_string_append_c (line, (char) c);

  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      g_printerr ("\n");
    }

  if (line->len > 0 && line->str[line->len - 1] == '\r')
    g_string_truncate (line, line->len - 1);
  if (line->len == 0)
    {
      g_set_error_literal (error, HIR_ERROR, HIR_ERROR_CONFIG, _("No password on standard input"));
      return NULL;
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

/* Scripts and the tests read "N messages" even for one message: English keeps that form,
 * other languages get their plural forms. @width pads the number, for columns. */
static char *
describe_messages (guint count,
                   int   width)
{
  /* Translators: a number of messages in a folder or an account; %*u is the number
   * (padded to line up in a column). English deliberately says "1 messages". */
  return g_strdup_printf (ngettext ("%*u messages", "%*u messages", count), width, count);
}

static char *
describe_unread (guint count)
{
  /* Translators: how many of the messages are unread. */
  return g_strdup_printf (ngettext ("%u unread", "%u unread", count), count);
}

static void
count_folders (HirEngine  *engine,
               HirAccount *account,
               gboolean    per_folder)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GError) error = NULL;
  guint total = 0;
  guint unread = 0;

  hir_store_list_folders_async (hir_engine_get_store (engine), hir_account_get_id (account),
                                NULL, store_result_cb, &result);
  folders = hir_store_list_folders_finish (hir_engine_get_store (engine), wait_for (&result),
                                           &error);
  if (folders == NULL)
    {
      /* Translators: the first %s is an account, the second an error message. */
      complain (_("cannot count the folders of %s: %s"), hir_account_get_id (account),
                error->message);
      return;
    }

  for (guint i = 0; i < folders->len; i++)
    {
      HirFolder *folder = g_ptr_array_index (folders, i);

      total += hir_folder_get_total_count (folder);
      unread += hir_folder_get_unread_count (folder);
      if (per_folder)
        {
          g_autofree char *messages = describe_messages (hir_folder_get_total_count (folder), 6);
          g_autofree char *unread_text = describe_unread (hir_folder_get_unread_count (folder));
          g_autofree char *name = NULL;
          glong width;

          /* The special folders' names in the user's language; padded by characters,
           * not bytes, so that "Boîte de réception" lines up too. */
          g_object_get (folder, "display-name", &name, NULL);
          width = MAX (0, 20 - g_utf8_strlen (name != NULL ? name : "", -1));
          g_print ("  %s%*s %s, %s\n", name != NULL ? name : "", (int) width, "", messages,
                   unread_text);
        }
    }

  {
    g_autofree char *folders_text = NULL;
    g_autofree char *messages = describe_messages (total, 0);
    g_autofree char *unread_text = describe_unread (unread);

    folders_text = g_strdup_printf (ngettext ("%u folder", "%u folders", folders->len),
                                    folders->len);
    /* Translators: an account's summary after a sync: "ACCOUNT: 3 folders, 12 messages,
     * 2 unread"; the last three %s are "%u folders", "%u messages" and "%u unread". */
    g_print (_("%s: %s, %s, %s\n"), hir_account_get_id (account), folders_text, messages,
             unread_text);
  }
}

/* account add */

/* Fetches the certificate the account's server presents and pins it. */
static int
trust_this_certificate (HirAccount *account)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *reasons = NULL;
  g_autofree char *host = NULL;
  GTlsCertificateFlags errors = 0;

  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    {
      const char *url = hir_account_get_jmap_url (account);
      g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

      host = g_strdup (uri != NULL ? g_uri_get_host (uri) : url);
      hir_jmap_fetch_certificate_async (url, NULL, store_result_cb, &result);
      fingerprint = hir_jmap_fetch_certificate_finish (wait_for (&result), &errors, &error);
    }
  else
    {
      if (hir_account_get_imap_security (account) == HIR_SECURITY_NONE)
        {
          complain (_("--trust-this-certificate needs a TLS connection "
                      "(--imap-security tls or starttls)"));
          return EXIT_USAGE;
        }
      host = g_strdup (hir_account_get_imap_host (account));
      hir_imap_fetch_certificate_async (host, hir_account_get_imap_port (account),
                                        hir_account_get_imap_security (account), NULL,
                                        store_result_cb, &result);
      fingerprint = hir_imap_fetch_certificate_finish (wait_for (&result), &errors, &error);
    }
  if (fingerprint == NULL)
    return fail (_("cannot fetch the server's certificate"), error);

  if (errors == 0)
    {
      /* Translators: %s is a server's host name. */
      g_print (_("The certificate of %s is trusted by this system; nothing to pin.\n"), host);
      return EXIT_OK;
    }

  reasons = hir_jmap_describe_certificate_errors (errors);
  /* Said plainly, because from now on this exact certificate is accepted for the
   * account whatever else is wrong with it. */
  /* Translators: the first %s is a host name, the second why the certificate is not
   * trusted by the system (e.g. "self-signed"), the third its fingerprint. */
  g_print (_("Trusting the certificate that %s presented (%s):\n  %s\n"), host, reasons,
           fingerprint);
  hir_account_set_trusted_certificate (account, fingerprint);
  return EXIT_OK;
}

static gboolean
parse_security (const char  *text,
                HirSecurity *security)
{
  if (text == NULL)
    return TRUE;
  if (g_str_equal (text, "tls"))
    *security = HIR_SECURITY_TLS;
  else if (g_str_equal (text, "starttls"))
    *security = HIR_SECURITY_STARTTLS;
  else if (g_str_equal (text, "none"))
    *security = HIR_SECURITY_NONE;
  else
    return FALSE;
  return TRUE;
}

/* "host", "host:port" or "[v6]:port"; @port keeps its default when none is given. */
static gboolean
parse_host_port (const char  *text,
                 char       **host,
                 guint       *port)
{
  g_autofree char *name = NULL;
  guint16 parsed = 0;

  if (!g_hostname_is_ip_address (text) && strchr (text, ':') != NULL)
    {
      g_autoptr(GNetworkAddress) address = NULL;

      address = G_NETWORK_ADDRESS (g_network_address_parse (text, 0, NULL));
      if (address == NULL)
        return FALSE;
      name = g_strdup (g_network_address_get_hostname (address));
      parsed = g_network_address_get_port (address);
    }
  else
    name = g_strdup (text);

  if (name == NULL || *name == '\0')
    return FALSE;
  *host = g_steal_pointer (&name);
  if (parsed != 0)
    *port = parsed;
  return TRUE;
}

static int
account_add (int    argc,
             char **argv)
{
  g_autofree char *jmap_url = NULL;
  g_autofree char *imap = NULL;
  g_autofree char *imap_security = NULL;
  g_autofree char *smtp = NULL;
  g_autofree char *smtp_security = NULL;
  g_autofree char *imap_host = NULL;
  g_autofree char *smtp_host = NULL;
  HirSecurity imap_mode = HIR_SECURITY_TLS;
  HirSecurity smtp_mode = HIR_SECURITY_TLS;
  guint imap_port = 0;
  guint smtp_port = 0;
  g_autofree char *address = NULL;
  g_autofree char *name = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password_command = NULL;
  g_autofree char *trust_certificate = NULL;
  gboolean password_stdin = FALSE;
  gboolean trust_this = FALSE;
  const GOptionEntry entries[] = {
    /* Translators: the words in capitals (URL, HOST, PORT, MODE…) name the values that
     * follow an option in "hirondelle account add --help"; translate them, but not the
     * option names (--jmap), nor tls, starttls and none, which are typed as they are. */
    { "jmap", 0, 0, G_OPTION_ARG_STRING, &jmap_url, N_("JMAP server or session URL"), N_("URL") },
    { "imap", 0, 0, G_OPTION_ARG_STRING, &imap, N_("IMAP server"), N_("HOST[:PORT]") },
    { "imap-security", 0, 0, G_OPTION_ARG_STRING, &imap_security,
      N_("tls (default, port 993), starttls (port 143) or none"), N_("MODE") },
    { "smtp", 0, 0, G_OPTION_ARG_STRING, &smtp, N_("SMTP submission server"), N_("HOST[:PORT]") },
    { "smtp-security", 0, 0, G_OPTION_ARG_STRING, &smtp_security,
      N_("tls (default, port 465), starttls (port 587) or none"), N_("MODE") },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, N_("E-mail address"), N_("ADDRESS") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("Your name, as shown in From"), N_("NAME") },
    { "username", 0, 0, G_OPTION_ARG_STRING, &username, N_("Login, if not the address"),
      N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      N_("Read the password from standard input (stored in the keyring)"), NULL },
    { "password-command", 0, 0, G_OPTION_ARG_STRING, &password_command,
      N_("Shell command that prints the password (nothing stored)"), N_("CMD") },
    { "trust-certificate", 0, 0, G_OPTION_ARG_STRING, &trust_certificate,
      N_("Accept the server certificate with this fingerprint"), N_("sha256:HEX") },
    { "trust-this-certificate", 0, 0, G_OPTION_ARG_NONE, &trust_this,
      N_("Accept the certificate the server presents now (prints it)"), NULL },
    { NULL }
  };
  /* Translators: follows "hirondelle account add [OPTION…]" in the --help output. */
  g_autoptr(GOptionContext) context = g_option_context_new (N_("— add a mail account"));
  g_autoptr(GError) error = NULL;
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(HirAccount) account = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *password = NULL;
  int status = EXIT_OK;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_help_enabled (context, TRUE);
  /* --help's "Usage:" line names the program after argv[0], which is "add" here. */
  argv[0] = (char *) "hirondelle account add";
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc > 1)
    return usage (context, _("unexpected arguments"));
  if ((jmap_url == NULL) == (imap == NULL) || address == NULL)
    return usage (context, _("--address and one of --jmap and --imap are required"));
  if (!parse_security (imap_security, &imap_mode) || !parse_security (smtp_security, &smtp_mode))
    /* Translators: tls, starttls and none are typed as they are: do not translate them. */
    return usage (context, _("security is tls, starttls or none"));
  imap_port = imap_mode == HIR_SECURITY_TLS ? 993 : 143;
  smtp_port = smtp_mode == HIR_SECURITY_TLS ? 465 : 587;
  if (imap != NULL && !parse_host_port (imap, &imap_host, &imap_port))
    return usage (context, _("--imap takes HOST or HOST:PORT"));
  if (smtp != NULL && !parse_host_port (smtp, &smtp_host, &smtp_port))
    return usage (context, _("--smtp takes HOST or HOST:PORT"));
  if (password_stdin == (password_command != NULL))
    return usage (context, _("give exactly one of --password-stdin and --password-command"));
  if (trust_certificate != NULL && trust_this)
    return usage (context,
                  _("give at most one of --trust-certificate and --trust-this-certificate"));
  if (trust_certificate != NULL && !g_str_has_prefix (trust_certificate, "sha256:"))
    return usage (context, _("--trust-certificate takes sha256:HEX"));

  account = hir_account_new (imap != NULL ? HIR_ACCOUNT_KIND_IMAP : HIR_ACCOUNT_KIND_JMAP, address);
  hir_account_set_id (account, address);
  if (jmap_url != NULL)
    hir_account_set_jmap_url (account, jmap_url);
  if (imap_host != NULL)
    {
      hir_account_set_imap_host (account, imap_host);
      hir_account_set_imap_port (account, imap_port);
      hir_account_set_imap_security (account, imap_mode);
    }
  if (smtp_host != NULL)
    {
      hir_account_set_smtp_host (account, smtp_host);
      hir_account_set_smtp_port (account, smtp_port);
      hir_account_set_smtp_security (account, smtp_mode);
    }
  if (name != NULL)
    hir_account_set_display_name (account, name);
  if (username != NULL)
    hir_account_set_username (account, username);
  if (password_command != NULL)
    hir_account_set_password_command (account, password_command);
  if (trust_certificate != NULL)
    hir_account_set_trusted_certificate (account, trust_certificate);

  if (password_stdin && (password = read_password (&error)) == NULL)
    return fail (_("cannot read the password"), error);

  if (trust_this && (status = trust_this_certificate (account)) != EXIT_OK)
    return status;

  engine = open_engine (&status);
  if (engine == NULL)
    return status;
  if (hir_engine_find_account (engine, address) != NULL)
    {
      complain (_("the account %s already exists"), address);
      return EXIT_USAGE;
    }

  /* Translators: %s is a server's URL or host name. */
  g_printerr (_("Signing in to %s and fetching the folders…\n"),
              jmap_url != NULL ? jmap_url : imap_host);
  hir_engine_add_account_async (engine, account, password, NULL, store_result_cb, &result);
  if (!hir_engine_add_account_finish (engine, wait_for (&result), &error))
    {
      /* Translators: %s is an e-mail address. */
      g_autofree char *what = g_strdup_printf (_("cannot add %s"), address);

      return fail (what, error);
    }

  /* Translators: %s is the new account (its e-mail address). */
  g_print (_("Added %s.\n"), hir_account_get_id (account));
  count_folders (engine, account, FALSE);
  return EXIT_OK;
}

/* account list, account remove */

static int
account_list (int    argc,
              char **argv)
{
  g_autoptr(HirEngine) engine = NULL;
  GListModel *accounts;
  int status = EXIT_OK;

  if (argc > 1)
    {
      complain (_("account list takes no arguments"));
      return EXIT_USAGE;
    }
  engine = open_engine (&status);
  if (engine == NULL)
    return status;

  accounts = hir_engine_get_accounts (engine);
  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);
      const char *url = hir_account_get_jmap_url (account);

      g_print ("%s\t%s\t%s%s\n", hir_account_get_id (account),
               hir_account_get_address (account) ? hir_account_get_address (account) : "",
               hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP ? "jmap " : "imap ",
               url != NULL ? url : (hir_account_get_imap_host (account)
                                    ? hir_account_get_imap_host (account) : ""));
    }
  return EXIT_OK;
}

static int
account_remove (int    argc,
                char **argv)
{
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  HirAccount *account;
  int status = EXIT_OK;

  if (argc != 2)
    {
      /* Translators: keep "hirondelle account remove" as it is; ID is the account. */
      g_printerr (_("Usage: hirondelle account remove ID\n"));
      return EXIT_USAGE;
    }
  engine = open_engine (&status);
  if (engine == NULL)
    return status;

  account = hir_engine_find_account (engine, argv[1]);
  if (account == NULL)
    {
      complain (_("there is no account %s"), argv[1]);
      return EXIT_USAGE;
    }

  g_object_ref (account);
  hir_engine_remove_account_async (engine, account, NULL, store_result_cb, &result);
  if (!hir_engine_remove_account_finish (engine, wait_for (&result), &error))
    {
      g_object_unref (account);
      return fail (_("cannot remove the account"), error);
    }
  g_print (_("Removed %s and its cached mail.\n"), hir_account_get_id (account));
  g_object_unref (account);
  return EXIT_OK;
}

/* sync */

static int
sync_accounts (int    argc,
               char **argv)
{
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *accounts;
  int status = EXIT_OK;

  if (argc > 2)
    {
      /* Translators: keep "hirondelle sync" as it is. */
      g_printerr (_("Usage: hirondelle sync [ACCOUNT]\n"));
      return EXIT_USAGE;
    }
  engine = open_engine (&status);
  if (engine == NULL)
    return status;

  accounts = hir_engine_get_accounts (engine);
  if (argc == 2)
    {
      HirAccount *account = hir_engine_find_account (engine, argv[1]);

      if (account == NULL)
        {
          complain (_("there is no account %s"), argv[1]);
          return EXIT_USAGE;
        }
      g_ptr_array_add (targets, g_object_ref (account));
    }
  else
    for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
      g_ptr_array_add (targets, g_list_model_get_item (accounts, i));

  if (targets->len == 0)
    {
      complain (_("no accounts; add one with “hirondelle account add”"));
      return EXIT_USAGE;
    }

  /* One after the other: the output stays readable and the exit status is the first
   * failure's. */
  for (guint i = 0; i < targets->len; i++)
    {
      HirAccount *account = g_ptr_array_index (targets, i);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      hir_engine_sync_account_async (engine, account, NULL, store_result_cb, &result);
      if (!hir_engine_sync_account_finish (engine, wait_for (&result), &error))
        {
          g_autofree char *what = g_strdup_printf (_("cannot sync %s"),
                                                   hir_account_get_id (account));
          int failed = fail (what, error);

          if (status == EXIT_OK)
            status = failed;
          continue;
        }
      count_folders (engine, account, TRUE);
    }
  return status;
}

int
hir_cli_run (int    argc,
             char **argv)
{
  g_return_val_if_fail (hir_cli_handles (argc, argv), EXIT_USAGE);

  /* No GSettings, no D-Bus activation, no display: a script in cron must work. */
  if (g_str_equal (argv[1], "sync"))
    return sync_accounts (argc - 1, argv + 1);

  if (argc < 3)
    {
      /* Translators: keep "hirondelle account add|list|remove" as it is. */
      g_printerr (_("Usage: hirondelle account add|list|remove …\n"));
      return EXIT_USAGE;
    }
  if (g_str_equal (argv[2], "add"))
    return account_add (argc - 2, argv + 2);
  if (g_str_equal (argv[2], "list"))
    return account_list (argc - 2, argv + 2);
  if (g_str_equal (argv[2], "remove"))
    return account_remove (argc - 2, argv + 2);

  /* Translators: add, list and remove are typed as they are: do not translate them. */
  complain (_("unknown command “account %s”; use add, list or remove"), argv[2]);
  return EXIT_USAGE;
}
