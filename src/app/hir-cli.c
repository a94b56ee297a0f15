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
 * Messaging for other programs: the same code as the D-Bus interface
 * app.hirondelle.Hirondelle.Messaging (hir-messaging.c). When the application runs, on
 * the session bus or (no bus: ssh, cron, env -i) on its peer socket, the verbs are
 * handed to it, attachments as file descriptors; otherwise they run here, holding the
 * account locks so no two processes ever send or sync one account at once.
 *   hirondelle send --to ADDR… [--cc ADDR…] [--bcc ADDR…] --subject TEXT
 *                   [--body TEXT | --body-file FILE | (standard input)] [--html-file FILE]
 *                   [--attach FILE…] [--account ID] [--interactive] [--no-wait]
 *                   [--timeout SECONDS] [--json]
 *   hirondelle --compose [the options of send]          (send --interactive; with
 *                                                        --no-wait, returns at once)
 *   hirondelle list [--folder ROLE|ID] [--account ID] [--unread] [--since DATE|EPOCH]
 *                   [--text TEXT] [--limit N] [--json]
 *   hirondelle read ID [--save-attachments DIR] [--mark-read] [--json]
 *   hirondelle resolve NAME [--json]
 *   hirondelle accounts [--json]
 *
 * Exit status (scripts rely on these):
 *   0  success (send: the server accepted the message; with --no-wait: it is queued)
 *   1  usage error (unknown verb or option, missing argument, no such account or message,
 *      an invalid address, an unreadable attachment: nothing was queued then)
 *   2  the server refused the user name or password
 *   3  the server is unreachable, or its certificate is not trusted (send: the message
 *      stays queued and goes out later)
 *   4  anything else (no keyring, local storage, server error); stderr says what
 *   5  the user closed the composer without sending (--interactive, --compose)
 *   6  the server refused the message for good (send); stderr has its words
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hir-cli.h"
#include "hir-dbus.h"
#include "hir-imap-client.h"
#include "hir-jmap-client.h"
#include "hir-messaging.h"
#include "hirondelle-engine.h"

enum {
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_AUTH = 2,
  EXIT_UNREACHABLE = 3,
  EXIT_OTHER = 4,
  EXIT_CANCELLED = 5,
  EXIT_REFUSED = 6,
};

/* The messaging verbs, and --compose. */
static const char * const messaging_verbs[] = {
  "send", "--compose", "list", "read", "resolve", "accounts", NULL,
};

gboolean
hir_cli_handles (int    argc,
                 char **argv)
{
  if (argc > 1 && g_strv_contains ((const char * const *) messaging_verbs, argv[1]))
    return TRUE;
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

static gboolean application_is_running (void);

static int
sync_accounts (int    argc,
               char **argv)
{
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_object_unref);
  /* Account locks: held until the process exits. */
  g_autoptr(GArray) locks = g_array_new (FALSE, FALSE, sizeof (int));
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

  /* Never two processes syncing one account: wait for another command line; leave the
   * account to a running application, which keeps it in sync anyway. */
  for (guint i = 0; i < targets->len; )
    {
      HirAccount *account = g_ptr_array_index (targets, i);
      g_autoptr(GError) error = NULL;
      int fd = hir_messaging_lock_account (hir_account_get_id (account), FALSE, &error);

      if (fd < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          if (application_is_running ())
            {
              /* Translators: %s is an account. */
              g_print (_("%s: the running Hirondelle keeps it in sync\n"),
                       hir_account_get_id (account));
              g_ptr_array_remove_index (targets, i);
              continue;
            }
          complain (_("waiting for another hirondelle to finish with %s…"),
                    hir_account_get_id (account));
          g_clear_error (&error);
          fd = hir_messaging_lock_account (hir_account_get_id (account), TRUE, &error);
        }
      if (fd < 0)
        return fail (_("cannot lock the account"), error);
      g_array_append_val (locks, fd);
      i++;
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

/* Messaging: send, --compose, list, read, resolve, accounts */

/* Where the verbs go: the running application (over D-Bus) or an engine here. */
typedef struct
{
  GDBusConnection *connection;   /* the application's: session bus or peer socket */
  const char *bus_name;          /* APP_ID on the session bus; NULL on the peer socket */
  HirEngine *engine;             /* in this process, when no application runs */
  HirMessaging *messaging;
  GArray *locks;                 /* account lock descriptors held */
} Client;

static void
client_clear (Client *client)
{
  g_clear_object (&client->messaging);
  if (client->engine != NULL)
    hir_engine_stop (client->engine);
  g_clear_object (&client->engine);
  g_clear_object (&client->connection);
  if (client->locks != NULL)
    {
      for (guint i = 0; i < client->locks->len; i++)
        close (g_array_index (client->locks, int, i));
      g_clear_pointer (&client->locks, g_array_unref);
    }
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Client, client_clear)

static gboolean
has_display (void)
{
  return g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL;
}

static gboolean
name_has_owner (GDBusConnection *bus,
                const char      *name)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Starts the application (for a composer) and waits until it owns its name. */
static gboolean
start_application (GDBusConnection *bus)
{
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  const char *argv[] = { self_path, "--gapplication-service", NULL };
  g_autoptr(GError) error = NULL;
  gboolean appeared = FALSE;
  gboolean timed_out = FALSE;
  guint watch;
  guint timer;

  if (self_path == NULL ||
      !g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &error))
    return FALSE;
  watch = g_bus_watch_name_on_connection (bus, APP_ID, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          name_appeared_cb, NULL, &appeared, NULL);
  timer = g_timeout_add_seconds (30, timeout_cb, &timed_out);
  while (!appeared && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_bus_unwatch_name (watch);
  if (!timed_out)
    g_source_remove (timer);
  return appeared;
}

/* The running application, if any: on the session bus, else on its peer socket. With
 * @start (a composer is wanted), starts it when there is a display. */
static gboolean
client_connect_remote (Client   *client,
                       gboolean  start)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autofree char *socket_path = hir_messaging_get_socket_path ();

  if (bus != NULL && (name_has_owner (bus, APP_ID) || (start && has_display () &&
                                                      start_application (bus))))
    {
      client->connection = g_steal_pointer (&bus);
      client->bus_name = APP_ID;
      return TRUE;
    }
  if (g_file_test (socket_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
      g_autofree char *address = g_strconcat ("unix:path=", escaped, NULL);

      client->connection =
        g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                NULL, NULL, NULL);
      if (client->connection != NULL)
        {
          client->bus_name = NULL;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
application_is_running (void)
{
  g_auto(Client) client = { 0 };

  return client_connect_remote (&client, FALSE);
}

static gboolean
client_open_local (Client *client,
                   int    *status)
{
  client->engine = open_engine (status);
  if (client->engine == NULL)
    return FALSE;
  client->messaging = hir_messaging_new (client->engine);
  return TRUE;
}

/* Holds every account's lock (the engine started here syncs and sends them all). */
static gboolean
client_lock_accounts (Client *client,
                      int    *status)
{
  GListModel *accounts = hir_engine_get_accounts (client->engine);

  client->locks = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);
      g_autoptr(GError) error = NULL;
      int fd = hir_messaging_lock_account (hir_account_get_id (account), FALSE, &error);

      if (fd < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          /* Translators: %s is an account. */
          complain (_("waiting for another hirondelle to finish with %s…"),
                    hir_account_get_id (account));
          g_clear_error (&error);
          fd = hir_messaging_lock_account (hir_account_get_id (account), TRUE, &error);
        }
      if (fd < 0)
        {
          *status = fail (_("cannot lock the account"), error);
          return FALSE;
        }
      g_array_append_val (client->locks, fd);
    }
  return TRUE;
}

static GVariant *
client_call (Client       *client,
             const char   *method,
             GVariant     *parameters,
             GUnixFDList  *fds_in,
             GUnixFDList **fds_out,
             int           timeout,
             GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  GVariant *reply;

  hir_dbus_get_interface_info ();   /* maps our D-Bus errors back to HIR_MESSAGING_ERROR */
  reply = g_dbus_connection_call_with_unix_fd_list_sync (client->connection, client->bus_name,
                                                         HIR_DBUS_OBJECT_PATH, HIR_DBUS_INTERFACE,
                                                         method, parameters, NULL,
                                                         G_DBUS_CALL_FLAGS_NONE, timeout, fds_in,
                                                         fds_out, NULL, &local_error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return reply;
}

static int
messaging_status_for (const GError *error)
{
  if (error->domain == HIR_MESSAGING_ERROR)
    switch ((HirMessagingError) error->code)
      {
      case HIR_MESSAGING_ERROR_INVALID_ARGS:
      case HIR_MESSAGING_ERROR_NOT_FOUND:
        return EXIT_USAGE;
      case HIR_MESSAGING_ERROR_CANCELLED:
        return EXIT_CANCELLED;
      case HIR_MESSAGING_ERROR_SEND_FAILED:
        return EXIT_REFUSED;
      default:
        return EXIT_OTHER;
      }
  return exit_status_for (error);
}

static int
messaging_fail (const GError *error)
{
  complain ("%s", error->message);
  return messaging_status_for (error);
}

static void
print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static GOptionContext *
make_context (const char         *usage_line,
              const char         *summary,
              const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (usage_line);

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  return context;
}

/* send, --compose */

/* Reads all of standard input (a body piped in by a script). */
static char *
read_stdin (GError **error)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) bytes = NULL;

  if (g_output_stream_splice (output, input, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
    return NULL;
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static char *
read_text_file (const char  *path,
                GError     **error)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *bad = text;

      /* Translators: %s is a file name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s is not UTF-8 text"), path);
      return NULL;
    }
  return text;
}

static GVariant *
make_string_array (char **values)
{
  return g_variant_new_strv ((const char * const *) values, values != NULL ? -1 : 0);
}

typedef struct
{
  const char *id;
  char *state;
  char *reason;
} Watch;

static void
remote_status_cb (GDBusConnection *connection,
                  const char      *sender,
                  const char      *path,
                  const char      *interface,
                  const char      *signal,
                  GVariant        *parameters,
                  gpointer         user_data)
{
  Watch *watch = user_data;
  const char *id, *state, *reason;

  g_variant_get (parameters, "(&s&s&s)", &id, &state, &reason);
  if (watch->id != NULL && g_str_equal (id, watch->id))
    {
      g_free (watch->state);
      g_free (watch->reason);
      watch->state = g_strdup (state);
      watch->reason = g_strdup (reason);
    }
}

static void
local_status_cb (HirMessaging *messaging,
                 const char   *id,
                 const char   *state,
                 const char   *reason,
                 Watch        *watch)
{
  if (watch->id != NULL && g_str_equal (id, watch->id))
    {
      g_free (watch->state);
      g_free (watch->reason);
      watch->state = g_strdup (state);
      watch->reason = g_strdup (reason);
    }
}

static gboolean
watch_done (Watch *watch)
{
  return watch->state != NULL && (g_str_equal (watch->state, "sent") ||
                                  g_str_equal (watch->state, "failed") ||
                                  g_str_equal (watch->state, "draft"));
}

static int
send_message (int      argc,
              char   **argv,
              gboolean compose)
{
  g_auto(GStrv) to = NULL;
  g_auto(GStrv) cc = NULL;
  g_auto(GStrv) bcc = NULL;
  g_auto(GStrv) attach = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *body = NULL;
  g_autofree char *body_file = NULL;
  g_autofree char *html_file = NULL;
  g_autofree char *account = NULL;
  gboolean interactive = compose;
  gboolean no_wait = FALSE;
  gboolean json = FALSE;
  int timeout = 300;
  const GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &to, N_("Recipient (repeat for more)"), N_("ADDRESS") },
    { "cc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cc, N_("Copy to (repeat for more)"), N_("ADDRESS") },
    { "bcc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &bcc, N_("Blind copy to (repeat for more)"),
      N_("ADDRESS") },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &subject, N_("Subject"), N_("TEXT") },
    { "body", 0, 0, G_OPTION_ARG_STRING, &body, N_("Body text (else --body-file, else standard input)"),
      N_("TEXT") },
    { "body-file", 0, 0, G_OPTION_ARG_FILENAME, &body_file, N_("Read the body text from FILE"),
      N_("FILE") },
    { "html-file", 0, 0, G_OPTION_ARG_FILENAME, &html_file, N_("Also send this HTML body"),
      N_("FILE") },
    { "attach", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &attach, N_("Attach FILE (repeat for more)"),
      N_("FILE") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account, N_("Send from this account (default: the first)"),
      N_("ID") },
    { "interactive", 0, 0, G_OPTION_ARG_NONE, &interactive,
      N_("Open a composer filled in; wait until the user sends or closes it"), NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait,
      N_("Return once the message is queued, not when the server accepted it"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      N_("Give up waiting after SECONDS (the message stays queued; default 300)"), N_("SECONDS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (NULL, compose ? _("Opens a composer filled in with the message.")
                                : _("Sends a message through your mail account."), entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fd_list = g_unix_fd_list_new ();
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *html = NULL;
  g_autofree char *id = NULL;
  g_auto(Client) client = { 0 };
  g_autoptr(GVariant) message = NULL;
  GVariantBuilder builder;
  Watch watch = { 0 };
  int status = EXIT_OK;

  argv[0] = (char *) (compose ? "hirondelle --compose" : "hirondelle send");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc > 1)
    return usage (context, _("unexpected arguments; give addresses with --to"));
  if ((body != NULL) + (body_file != NULL) > 1)
    return usage (context, _("give at most one of --body and --body-file"));
  if (to == NULL && cc == NULL && bcc == NULL && !interactive)
    return usage (context, _("give at least one recipient with --to, --cc or --bcc"));
  if (timeout <= 0)
    return usage (context, _("--timeout takes a number of seconds"));

  if ((body_file != NULL && (body = read_text_file (body_file, &error)) == NULL) ||
      (body == NULL && !interactive && !isatty (STDIN_FILENO) &&
       (body = read_stdin (&error)) == NULL) ||
      (html_file != NULL && (html = read_text_file (html_file, &error)) == NULL))
    {
      /* Translators: %s says why (a file name and an error). */
      complain (_("cannot read the message text: %s"), error->message);
      return EXIT_USAGE;
    }

  /* Every attachment is opened before anything else happens: an unreadable one stops
   * the command with nothing queued. Descriptors, not paths, travel to the application,
   * which may not see this process's files (a sandbox, another user's /tmp). */
  for (guint i = 0; attach != NULL && attach[i] != NULL; i++)
    {
      struct stat info;
      int fd;

      errno = 0;
      fd = g_open (attach[i], O_RDONLY | O_CLOEXEC, 0);

      if (fd < 0 || fstat (fd, &info) != 0 || !S_ISREG (info.st_mode))
        {
          int saved = errno;

          if (fd >= 0)
            close (fd);
          /* Translators: the first %s is a file name, the second why it cannot be read. */
          complain (_("cannot attach %s: %s"), attach[i],
                    fd >= 0 && saved == 0 ? _("not a regular file") : g_strerror (saved));
          for (guint j = 0; j < fds->len; j++)
            close (g_array_index (fds, int, j));
          return EXIT_USAGE;
        }
      g_array_append_val (fds, fd);
      g_ptr_array_add (names, g_path_get_basename (attach[i]));
    }
  g_ptr_array_add (names, NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (to != NULL)
    g_variant_builder_add (&builder, "{sv}", "to", make_string_array (to));
  if (cc != NULL)
    g_variant_builder_add (&builder, "{sv}", "cc", make_string_array (cc));
  if (bcc != NULL)
    g_variant_builder_add (&builder, "{sv}", "bcc", make_string_array (bcc));
  if (subject != NULL)
    g_variant_builder_add (&builder, "{sv}", "subject", g_variant_new_string (subject));
  if (body != NULL)
    g_variant_builder_add (&builder, "{sv}", "body", g_variant_new_string (body));
  if (html != NULL)
    g_variant_builder_add (&builder, "{sv}", "html", g_variant_new_string (html));
  if (account != NULL)
    g_variant_builder_add (&builder, "{sv}", "account", g_variant_new_string (account));
  g_variant_builder_add (&builder, "{sv}", "attachment_names",
                         make_string_array ((char **) names->pdata));
  message = g_variant_ref_sink (g_variant_builder_end (&builder));

  if (client_connect_remote (&client, interactive))
    {
      g_autoptr(GVariant) reply = NULL;
      g_autoptr(GVariant) options = NULL;
      GVariantBuilder handles;
      guint subscription;

      g_variant_builder_init (&handles, G_VARIANT_TYPE ("ah"));
      for (guint i = 0; i < fds->len; i++)
        {
          int handle = g_unix_fd_list_append (fd_list, g_array_index (fds, int, i), NULL);

          close (g_array_index (fds, int, i));
          g_variant_builder_add (&handles, "h", handle);
        }
      g_array_set_size (fds, 0);
      g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&builder, "{sv}", "interactive", g_variant_new_boolean (interactive));
      options = g_variant_ref_sink (g_variant_builder_end (&builder));

      /* Listening before asking: the message may be sent before the answer arrives. */
      subscription = g_dbus_connection_signal_subscribe (client.connection, client.bus_name,
                                                         HIR_DBUS_INTERFACE, "StatusChanged",
                                                         HIR_DBUS_OBJECT_PATH, NULL,
                                                         G_DBUS_SIGNAL_FLAGS_NONE,
                                                         remote_status_cb, &watch, NULL);
      if (interactive && no_wait)
        {
          /* A program that only runs a command: hand the message over and return while
           * the composer is open (the answer, sent or not, goes nowhere). */
          g_autoptr(GDBusMessage) call = NULL;

          g_dbus_connection_signal_unsubscribe (client.connection, subscription);
          call = g_dbus_message_new_method_call (client.bus_name, HIR_DBUS_OBJECT_PATH,
                                                 HIR_DBUS_INTERFACE, "Send");
          g_dbus_message_set_body (call, g_variant_new ("(@a{sv}ah@a{sv})", message, &handles,
                                                        options));
          g_dbus_message_set_unix_fd_list (call, fd_list);
          g_dbus_message_set_flags (call, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
          if (!g_dbus_connection_send_message (client.connection, call,
                                               G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, &error) ||
              !g_dbus_connection_flush_sync (client.connection, NULL, &error))
            return fail (_("cannot reach Hirondelle"), error);
          return EXIT_OK;
        }
      reply = client_call (&client, "Send",
                           g_variant_new ("(@a{sv}ah@a{sv})", message, &handles, options),
                           fd_list, NULL, interactive ? G_MAXINT : 120000, &error);
      if (reply == NULL)
        {
          g_dbus_connection_signal_unsubscribe (client.connection, subscription);
          return messaging_fail (error);
        }
      g_variant_get (reply, "(s)", &id);
      watch.id = id;
      if (!no_wait)
        {
          g_autoptr(GVariant) state = client_call (&client, "GetStatus", g_variant_new ("(s)", id),
                                                   NULL, NULL, 30000, NULL);
          gboolean timed_out = FALSE;
          guint timer;

          if (state != NULL && watch.state == NULL)
            g_variant_get (state, "(ss)", &watch.state, &watch.reason);
          timer = g_timeout_add_seconds (timeout, timeout_cb, &timed_out);
          while (!watch_done (&watch) && !timed_out)
            g_main_context_iteration (NULL, TRUE);
          if (!timed_out)
            g_source_remove (timer);
        }
      g_dbus_connection_signal_unsubscribe (client.connection, subscription);
    }
  else if (interactive)
    {
      for (guint i = 0; i < fds->len; i++)
        close (g_array_index (fds, int, i));
      complain (_("a composer needs a display and a session bus, where Hirondelle can run"));
      return EXIT_OTHER;
    }
  else
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GPtrArray) attachments = NULL;
      g_autoptr(HirOutgoing) outgoing = NULL;
      gboolean timed_out = FALSE;
      guint timer;

      if (!client_open_local (&client, &status))
        {
          for (guint i = 0; i < fds->len; i++)
            close (g_array_index (fds, int, i));
          return status;
        }
      /* The same path as a D-Bus Send: descriptors read, message checked, then queued. */
      hir_messaging_read_fds_async (client.messaging, fds, (const char * const *) names->pdata,
                                    NULL, store_result_cb, &result);
      g_array_set_size (fds, 0);
      attachments = hir_messaging_read_fds_finish (client.messaging, wait_for (&result), &error);
      g_clear_object (&result);
      if (attachments == NULL ||
          (outgoing = hir_messaging_make_outgoing (client.messaging, message, attachments, TRUE,
                                                   &error)) == NULL)
        return messaging_fail (error);
      if (!client_lock_accounts (&client, &status))
        return status;

      g_signal_connect (client.messaging, "status-changed", G_CALLBACK (local_status_cb), &watch);
      hir_messaging_send_async (client.messaging, outgoing, FALSE, NULL, store_result_cb, &result);
      id = hir_messaging_send_finish (client.messaging, wait_for (&result), &error);
      if (id == NULL)
        return messaging_fail (error);
      watch.id = id;
      if (no_wait)
        complain (_("queued; it goes out the next time Hirondelle runs or sends"));
      else
        {
          /* This engine sends it: what else waits in the outbox goes too, once. */
          hir_engine_start (client.engine);
          timer = g_timeout_add_seconds (timeout, timeout_cb, &timed_out);
          while (!watch_done (&watch) && !timed_out)
            g_main_context_iteration (NULL, TRUE);
          if (!timed_out)
            g_source_remove (timer);
        }
      g_signal_handlers_disconnect_by_data (client.messaging, &watch);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) out = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (out);
      json_builder_set_member_name (out, "id");
      json_builder_add_string_value (out, id);
      json_builder_set_member_name (out, "state");
      json_builder_add_string_value (out, watch.state != NULL ? watch.state : "queued");
      if (watch.reason != NULL && *watch.reason != '\0')
        {
          json_builder_set_member_name (out, "reason");
          json_builder_add_string_value (out, watch.reason);
        }
      json_builder_end_object (out);
      root = json_builder_get_root (out);
      print_json (root);
    }
  else
    g_print ("%s\n", id);

  if (!no_wait && g_strcmp0 (watch.state, "failed") == 0)
    {
      /* Translators: %s is the server's reason. */
      complain (_("the server refused the message: %s"), watch.reason);
      status = EXIT_REFUSED;
    }
  else if (!no_wait && g_strcmp0 (watch.state, "sent") != 0)
    {
      complain (_("not sent yet (%s); it stays queued and goes out later"),
                watch.reason != NULL && *watch.reason != '\0' ? watch.reason
                                                              : (watch.state ?: "queued"));
      status = EXIT_UNREACHABLE;
    }
  g_free (watch.state);
  g_free (watch.reason);
  return status;
}

/* list */

static gboolean
parse_since (const char *text,
             gint64     *since)
{
  g_autoptr(GDateTime) date = NULL;
  g_autofree char *iso = NULL;
  char *end = NULL;
  gint64 value = g_ascii_strtoll (text, &end, 10);

  if (end != text && *end == '\0')
    {
      *since = value;
      return TRUE;
    }
  iso = strchr (text, 'T') != NULL ? g_strdup (text) : g_strconcat (text, "T00:00:00", NULL);
  date = g_date_time_new_from_iso8601 (iso, g_time_zone_new_local ());
  if (date == NULL)
    return FALSE;
  *since = g_date_time_to_unix (date);
  return TRUE;
}

/* Runs a method that answers one GVariant: over D-Bus, or here. */
static GVariant *
call_query (Client      *client,
            const char  *method,
            GVariant    *argument,
            GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_variant_ref_sink (argument);
  if (client->connection != NULL)
    {
      g_autoptr(GVariant) reply = client_call (client, method, g_variant_new_tuple (&argument, 1),
                                               NULL, NULL, 120000, error);

      g_variant_unref (argument);
      return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
    }
  if (g_str_equal (method, "ListMessages"))
    {
      hir_messaging_list_async (client->messaging, argument, NULL, store_result_cb, &result);
      g_variant_unref (argument);
      return hir_messaging_list_finish (client->messaging, wait_for (&result), error);
    }
  hir_messaging_resolve_async (client->messaging, g_variant_get_string (argument, NULL), NULL,
                               store_result_cb, &result);
  g_variant_unref (argument);
  return hir_messaging_resolve_finish (client->messaging, wait_for (&result), error);
}

static gboolean
client_open_any (Client *client,
                 int    *status)
{
  return client_connect_remote (client, FALSE) || client_open_local (client, status);
}

static int
list_messages (int    argc,
               char **argv)
{
  g_autofree char *folder = NULL;
  g_autofree char *account = NULL;
  g_autofree char *since = NULL;
  g_autofree char *text = NULL;
  gboolean unread = FALSE;
  gboolean json = FALSE;
  int limit = 50;
  const GOptionEntry entries[] = {
    { "folder", 0, 0, G_OPTION_ARG_STRING, &folder,
      N_("inbox (default), drafts, sent, archive, junk, trash or a folder id"), N_("FOLDER") },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account, N_("Only this account"), N_("ID") },
    { "unread", 0, 0, G_OPTION_ARG_NONE, &unread, N_("Only unread messages"), NULL },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since, N_("Only messages since DATE (YYYY-MM-DD or Unix time)"),
      N_("DATE") },
    { "text", 0, 0, G_OPTION_ARG_STRING, &text, N_("Only messages with TEXT in subject, sender or preview"),
      N_("TEXT") },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, N_("At most N messages (default 50)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (NULL, _("Lists messages from the local copy of your mail, newest first."), entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) messages = NULL;
  g_auto(Client) client = { 0 };
  GVariantBuilder builder;
  gint64 since_time = 0;
  int status = EXIT_OK;

  argv[0] = (char *) "hirondelle list";
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc > 1)
    return usage (context, _("unexpected arguments"));
  if (since != NULL && !parse_since (since, &since_time))
    return usage (context, _("--since takes YYYY-MM-DD or a Unix time"));
  if (limit <= 0)
    return usage (context, _("--limit takes a positive number"));
  if (!client_open_any (&client, &status))
    return status;
  if (account != NULL && client.engine != NULL && hir_engine_find_account (client.engine, account) == NULL)
    {
      complain (_("there is no account %s"), account);
      return EXIT_USAGE;
    }

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (folder != NULL)
    g_variant_builder_add (&builder, "{sv}", "folder", g_variant_new_string (folder));
  if (account != NULL)
    g_variant_builder_add (&builder, "{sv}", "account", g_variant_new_string (account));
  if (unread)
    g_variant_builder_add (&builder, "{sv}", "unread_only", g_variant_new_boolean (TRUE));
  if (since_time != 0)
    g_variant_builder_add (&builder, "{sv}", "since", g_variant_new_int64 (since_time));
  if (text != NULL)
    g_variant_builder_add (&builder, "{sv}", "text", g_variant_new_string (text));
  g_variant_builder_add (&builder, "{sv}", "limit", g_variant_new_uint32 (limit));
  messages = call_query (&client, "ListMessages", g_variant_builder_end (&builder), &error);
  if (messages == NULL)
    return messaging_fail (error);

  if (json)
    {
      g_autoptr(JsonNode) node = json_gvariant_serialize (messages);

      print_json (node);
      return EXIT_OK;
    }
  for (gsize i = 0; i < g_variant_n_children (messages); i++)
    {
      g_autoptr(GVariant) row = g_variant_get_child_value (messages, i);
      g_autoptr(GDateTime) date = NULL;
      g_autofree char *when = NULL;
      const char *subject = "", *from = "";
      gint64 id = 0, stamp = 0;
      gboolean is_unread = FALSE, flagged = FALSE, has_attachment = FALSE;

      g_variant_lookup (row, "id", "x", &id);
      g_variant_lookup (row, "subject", "&s", &subject);
      g_variant_lookup (row, "from", "&s", &from);
      g_variant_lookup (row, "date", "x", &stamp);
      g_variant_lookup (row, "unread", "b", &is_unread);
      g_variant_lookup (row, "flagged", "b", &flagged);
      g_variant_lookup (row, "has_attachment", "b", &has_attachment);
      date = g_date_time_new_from_unix_local (stamp);
      when = date != NULL ? g_date_time_format (date, "%Y-%m-%d %H:%M") : g_strdup ("");
      /* ID, date, marks (N new, F flagged, A attachment), sender, subject: tab-separated
       * for cut and awk. */
      g_print ("%" G_GINT64_FORMAT "\t%s\t%c%c%c\t%s\t%s\n", id, when, is_unread ? 'N' : '-',
               flagged ? 'F' : '-', has_attachment ? 'A' : '-', from, subject);
    }
  return EXIT_OK;
}

/* read */

static GBytes *
read_fd_fully (int      fd,
               GError **error)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (fd, TRUE);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();

  if (g_output_stream_splice (output, input, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                              G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (output));
}

/* A new file in @dir for @name: never a path from the message, never overwriting. */
static char *
save_attachment (const char  *dir,
                 const char  *name,
                 GBytes      *bytes,
                 GError     **error)
{
  g_autofree char *base = g_path_get_basename (name);
  g_autofree char *path = NULL;
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  int fd = -1;

  if (g_str_equal (base, ".") || g_str_equal (base, "..") || g_str_equal (base, G_DIR_SEPARATOR_S))
    {
      g_free (base);
      base = g_strdup ("attachment");
    }
  for (guint n = 0; fd < 0 && n < 1000; n++)
    {
      g_free (path);
      path = n == 0 ? g_build_filename (dir, base, NULL)
                    : g_strdup_printf ("%s" G_DIR_SEPARATOR_S "%u-%s", dir, n, base);
      fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                   g_strerror (saved));
      return NULL;
    }
  while (size > 0)
    {
      gssize written = write (fd, data, size);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        {
          int saved = errno;

          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                       g_strerror (saved));
          return NULL;
        }
      data += written;
      size -= written;
    }
  close (fd);
  return g_steal_pointer (&path);
}

static int
read_message (int    argc,
              char **argv)
{
  g_autofree char *save_dir = NULL;
  gboolean json = FALSE;
  gboolean mark_read = FALSE;
  const GOptionEntry entries[] = {
    { "save-attachments", 0, 0, G_OPTION_ARG_FILENAME, &save_dir,
      N_("Save the attachments in DIR (existing files are kept)"), N_("DIR") },
    { "mark-read", 0, 0, G_OPTION_ARG_NONE, &mark_read, N_("Mark the message read"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (N_("ID"), _("Prints a message (an ID from “hirondelle list”)."), entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) headers = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) names = NULL;
  g_auto(Client) client = { 0 };
  const char *text = "";
  char *end = NULL;
  gint64 id;
  int status = EXIT_OK;

  argv[0] = (char *) "hirondelle read";
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc != 2)
    return usage (context, _("give one message ID"));
  id = g_ascii_strtoll (argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || id <= 0)
    return usage (context, _("a message ID is a number, as “hirondelle list” prints"));
  if (save_dir != NULL && g_mkdir_with_parents (save_dir, 0700) != 0)
    {
      complain (_("cannot make %s: %s"), save_dir, g_strerror (errno));
      return EXIT_USAGE;
    }
  if (!client_open_any (&client, &status))
    return status;

  if (client.connection != NULL)
    {
      g_autoptr(GUnixFDList) fds = NULL;
      g_autoptr(GVariant) reply = client_call (&client, "ReadMessage", g_variant_new ("(x)", id),
                                               NULL, &fds, 120000, &error);
      g_autoptr(GVariant) handles = NULL;

      if (reply == NULL)
        return messaging_fail (error);
      g_variant_get (reply, "(@a{sv}@ah^as)", &headers, &handles, &names);
      attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      for (gsize i = 0; i < g_variant_n_children (handles); i++)
        {
          gint32 handle;
          int fd;
          GBytes *bytes;

          g_variant_get_child (handles, i, "h", &handle);
          fd = fds != NULL ? g_unix_fd_list_get (fds, handle, &error) : -1;
          if (fd < 0 || (bytes = read_fd_fully (fd, &error)) == NULL)
            return fail (_("cannot read an attachment"), error);
          g_ptr_array_add (attachments, bytes);
        }
      if (mark_read)
        {
          g_autoptr(GVariant) done = client_call (&client, "MarkRead",
                                                  g_variant_new ("(xb)", id, TRUE), NULL, NULL,
                                                  120000, &error);
          if (done == NULL)
            return messaging_fail (error);
        }
    }
  else
    {
      g_autoptr(GAsyncResult) result = NULL;

      hir_messaging_read_async (client.messaging, id, NULL, store_result_cb, &result);
      if (!hir_messaging_read_finish (client.messaging, wait_for (&result), &headers, &attachments,
                                      &names, &error))
        return messaging_fail (error);
      if (mark_read)
        {
          g_clear_object (&result);
          hir_messaging_mark_read_async (client.messaging, id, TRUE, NULL, store_result_cb, &result);
          if (!hir_messaging_mark_read_finish (client.messaging, wait_for (&result), &error))
            return messaging_fail (error);
        }
    }

  for (guint i = 0; save_dir != NULL && i < attachments->len; i++)
    {
      char *path = save_attachment (save_dir, names[i], g_ptr_array_index (attachments, i), &error);

      if (path == NULL)
        return fail (_("cannot save an attachment"), error);
      g_ptr_array_add (saved, path);
    }

  if (json)
    {
      g_autoptr(JsonNode) root = json_gvariant_serialize (headers);
      JsonObject *object = json_node_get_object (root);
      JsonArray *list = json_array_new ();

      for (guint i = 0; i < attachments->len; i++)
        {
          JsonObject *item = json_object_new ();

          json_object_set_string_member (item, "name", names[i]);
          json_object_set_int_member (item, "size",
                                      g_bytes_get_size (g_ptr_array_index (attachments, i)));
          if (i < saved->len)
            json_object_set_string_member (item, "path", g_ptr_array_index (saved, i));
          json_array_add_object_element (list, item);
        }
      json_object_set_array_member (object, "attachments", list);
      print_json (root);
      return EXIT_OK;
    }

  {
    static const char *shown[] = { "from", "to", "cc", "subject" };
    /* Translators: the header lines "hirondelle read" prints. */
    const char *labels[] = { N_("From"), N_("To"), N_("Cc"), N_("Subject") };
    gint64 stamp = 0;

    for (guint i = 0; i < G_N_ELEMENTS (shown); i++)
      {
        const char *value = NULL;

        if (g_variant_lookup (headers, shown[i], "&s", &value) && *value != '\0')
          g_print ("%s: %s\n", _(labels[i]), value);
      }
    if (g_variant_lookup (headers, "date", "x", &stamp))
      {
        g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (stamp);
        g_autofree char *when = date != NULL ? g_date_time_format (date, "%Y-%m-%d %H:%M %z") : NULL;

        if (when != NULL)
          g_print ("%s: %s\n", _("Date"), when);
      }
    for (guint i = 0; i < attachments->len; i++)
      g_print ("%s: %s (%" G_GSIZE_FORMAT " bytes)%s%s\n", _("Attachment"), names[i],
               g_bytes_get_size (g_ptr_array_index (attachments, i)), i < saved->len ? " → " : "",
               i < saved->len ? (char *) g_ptr_array_index (saved, i) : "");
    g_variant_lookup (headers, "text", "&s", &text);
    g_print ("\n%s%s", text, g_str_has_suffix (text, "\n") || *text == '\0' ? "" : "\n");
  }
  return EXIT_OK;
}

/* resolve, accounts */

static int
resolve_name (int    argc,
              char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (N_("NAME"), _("Finds the addresses you have mailed or received mail from "
                                "whose name or address contains NAME."), entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) matches = NULL;
  g_auto(Client) client = { 0 };
  int status = EXIT_OK;

  argv[0] = (char *) "hirondelle resolve";
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc != 2 || *argv[1] == '\0')
    return usage (context, _("give one name"));
  if (!client_open_any (&client, &status))
    return status;
  matches = call_query (&client, "Resolve", g_variant_new_string (argv[1]), &error);
  if (matches == NULL)
    return messaging_fail (error);

  if (json)
    {
      g_autoptr(JsonBuilder) out = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      GVariantIter iter;
      const char *name, *address;

      json_builder_begin_array (out);
      g_variant_iter_init (&iter, matches);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &address))
        {
          json_builder_begin_object (out);
          json_builder_set_member_name (out, "name");
          json_builder_add_string_value (out, name);
          json_builder_set_member_name (out, "address");
          json_builder_add_string_value (out, address);
          json_builder_end_object (out);
        }
      json_builder_end_array (out);
      root = json_builder_get_root (out);
      print_json (root);
    }
  else
    {
      GVariantIter iter;
      const char *name, *address;

      g_variant_iter_init (&iter, matches);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &address))
        if (*name != '\0')
          g_print ("%s <%s>\n", name, address);
        else
          g_print ("%s\n", address);
    }
  /* Like grep: nothing found is a distinct status for scripts. */
  return g_variant_n_children (matches) > 0 ? EXIT_OK : EXIT_USAGE;
}

static int
list_accounts_verb (int    argc,
                    char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = make_context (NULL, _("Lists the accounts mail can be sent from."),
                                                    entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(HirEngine) engine = NULL;
  g_autoptr(JsonBuilder) out = json_builder_new ();
  GListModel *accounts;
  int status = EXIT_OK;

  argv[0] = (char *) "hirondelle accounts";
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc > 1)
    return usage (context, _("unexpected arguments"));
  engine = open_engine (&status);
  if (engine == NULL)
    return status;

  accounts = hir_engine_get_accounts (engine);
  json_builder_begin_array (out);
  for (guint i = 0; i < g_list_model_get_n_items (accounts); i++)
    {
      g_autoptr(HirAccount) account = g_list_model_get_item (accounts, i);
      const char *address = hir_account_get_address (account);
      const char *name = hir_account_get_display_name (account);

      if (json)
        {
          json_builder_begin_object (out);
          json_builder_set_member_name (out, "id");
          json_builder_add_string_value (out, hir_account_get_id (account));
          json_builder_set_member_name (out, "address");
          json_builder_add_string_value (out, address != NULL ? address : "");
          json_builder_set_member_name (out, "name");
          json_builder_add_string_value (out, name != NULL ? name : "");
          json_builder_set_member_name (out, "default");
          json_builder_add_boolean_value (out, i == 0);
          json_builder_end_object (out);
        }
      else
        g_print ("%s\t%s\t%s%s\n", hir_account_get_id (account), address != NULL ? address : "",
                 name != NULL ? name : "", i == 0 ? _("\t(default)") : "");
    }
  json_builder_end_array (out);
  if (json)
    {
      g_autoptr(JsonNode) root = json_builder_get_root (out);

      print_json (root);
    }
  return EXIT_OK;
}

int
hir_cli_run (int    argc,
             char **argv)
{
  g_return_val_if_fail (hir_cli_handles (argc, argv), EXIT_USAGE);

  /* No GSettings, no D-Bus activation, no display: a script in cron must work. */
  if (g_str_equal (argv[1], "send") || g_str_equal (argv[1], "--compose"))
    return send_message (argc - 1, argv + 1, g_str_equal (argv[1], "--compose"));
  if (g_str_equal (argv[1], "list"))
    return list_messages (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "read"))
    return read_message (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "resolve"))
    return resolve_name (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "accounts"))
    return list_accounts_verb (argc - 1, argv + 1);
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
