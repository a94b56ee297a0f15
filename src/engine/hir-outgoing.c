/* hir-outgoing.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-outgoing.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "hir-mime-private.h"

struct _HirOutgoing
{
  GObject parent_instance;

  gint64 id;
  char *strings[18];        /* indexed by the string properties' ids below */
  HirOutgoingState state;
  gint64 send_at;
  GListStore *attachments;
};

G_DEFINE_FINAL_TYPE (HirOutgoing, hir_outgoing, G_TYPE_OBJECT)

enum {
  PROP_0,
  /* The string properties first: their ids index self->strings. */
  PROP_ACCOUNT_ID,
  PROP_FROM,
  PROP_TO,
  PROP_CC,
  PROP_BCC,
  PROP_SUBJECT,
  PROP_TEXT,
  PROP_HTML,
  PROP_IN_REPLY_TO,
  PROP_REFERENCES,
  PROP_MESSAGE_ID,
  PROP_ERROR_MESSAGE,
  PROP_DRAFT_REMOTE_ID,
  LAST_STRING_PROP = PROP_DRAFT_REMOTE_ID,
  PROP_ID,
  PROP_STATE,
  PROP_SEND_AT,
  PROP_ATTACHMENTS,
  N_PROPS
};

G_STATIC_ASSERT (LAST_STRING_PROP < 18);

static GParamSpec *properties[N_PROPS];

static const char * const string_prop_names[] = {
  NULL, "account-id", "from", "to", "cc", "bcc", "subject", "text", "html", "in-reply-to",
  "references", "message-id", "error-message", "draft-remote-id",
};

static void
hir_outgoing_finalize (GObject *object)
{
  HirOutgoing *self = (HirOutgoing *) object;

  for (guint i = 0; i < G_N_ELEMENTS (self->strings); i++)
    g_clear_pointer (&self->strings[i], g_free);
  g_clear_object (&self->attachments);

  G_OBJECT_CLASS (hir_outgoing_parent_class)->finalize (object);
}

static void
set_string (HirOutgoing *self,
            guint        prop_id,
            const char  *value)
{
  /* The body text is never NULL, so the composer can bind it to a buffer as it is. */
  if (prop_id == PROP_TEXT && value == NULL)
    value = "";
  if (g_strcmp0 (self->strings[prop_id], value) == 0)
    return;
  g_free (self->strings[prop_id]);
  self->strings[prop_id] = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
hir_outgoing_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  HirOutgoing *self = HIR_OUTGOING (object);

  if (prop_id >= PROP_ACCOUNT_ID && prop_id <= LAST_STRING_PROP)
    {
      g_value_set_string (value, self->strings[prop_id]);
      return;
    }

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SEND_AT:
      g_value_set_int64 (value, self->send_at);
      break;
    case PROP_ATTACHMENTS:
      g_value_set_object (value, self->attachments);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  HirOutgoing *self = HIR_OUTGOING (object);

  if (prop_id >= PROP_ACCOUNT_ID && prop_id <= LAST_STRING_PROP)
    {
      set_string (self, prop_id, g_value_get_string (value));
      return;
    }

  switch (prop_id)
    {
    case PROP_ID:
      hir_outgoing_set_id (self, g_value_get_int64 (value));
      break;
    case PROP_STATE:
      hir_outgoing_set_state (self, g_value_get_enum (value));
      break;
    case PROP_SEND_AT:
      hir_outgoing_set_send_at (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_outgoing_class_init (HirOutgoingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* Addresses and MIME are GMime's; it must be set up before the first use. */
  g_mime_init ();

  object_class->finalize = hir_outgoing_finalize;
  object_class->get_property = hir_outgoing_get_property;
  object_class->set_property = hir_outgoing_set_property;

  for (guint i = PROP_ACCOUNT_ID; i <= LAST_STRING_PROP; i++)
    properties[i] = g_param_spec_string (string_prop_names[i], NULL, NULL,
                                         i == PROP_TEXT ? "" : NULL,
                                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                         G_PARAM_STATIC_STRINGS);
  properties[PROP_ID] =
    g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, HIR_TYPE_OUTGOING_STATE, HIR_OUTGOING_STATE_DRAFT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SEND_AT] =
    g_param_spec_int64 ("send-at", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTACHMENTS] =
    g_param_spec_object ("attachments", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_outgoing_init (HirOutgoing *self)
{
  self->strings[PROP_TEXT] = g_strdup ("");
  self->attachments = g_list_store_new (HIR_TYPE_OUTGOING_ATTACHMENT);
}

/* Addresses --------------------------------------------------------------------------- */

/* The domain of an address text ("Alice <alice@x>" → "x"), for the Message-ID: a
 * Message-ID on the sender's own domain is what spam filters expect. */
static char *
dup_address_domain (const char *from)
{
  g_autoptr(InternetAddressList) list = NULL;
  const char *at;

  if (from == NULL)
    return g_strdup ("localhost");
  list = internet_address_list_parse (NULL, from);
  if (list != NULL && internet_address_list_length (list) > 0)
    {
      InternetAddress *ia = internet_address_list_get_address (list, 0);

      if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        {
          at = strrchr (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia)), '@');
          if (at != NULL && at[1] != '\0')
            return g_strdup (at + 1);
        }
    }
  at = strrchr (from, '@');
  if (at != NULL && at[1] != '\0')
    return g_strdelimit (g_strndup (at + 1, strcspn (at + 1, "> ,")), NULL, '_');
  return g_strdup ("localhost");
}

static char *
make_message_id (const char *from)
{
  g_autofree char *domain = dup_address_domain (from);
  g_autofree char *uuid = g_uuid_string_random ();

  return g_strdup_printf ("<%s@%s>", uuid, domain);
}

static char *
format_from (HirAccount *account,
             const char *address)
{
  const char *name = hir_account_get_display_name (account);
  g_autoptr(InternetAddress) ia = NULL;

  if (address == NULL)
    address = hir_account_get_address (account);
  ia = internet_address_mailbox_new (name != NULL ? name : "", address);
  return internet_address_to_string (ia, NULL, FALSE);
}

HirOutgoing *
hir_outgoing_new (HirAccount *account)
{
  HirOutgoing *self;

  g_return_val_if_fail (account == NULL || HIR_IS_ACCOUNT (account), NULL);

  self = g_object_new (HIR_TYPE_OUTGOING, NULL);
  if (account != NULL)
    {
      g_autofree char *from = format_from (account, NULL);

      self->strings[PROP_ACCOUNT_ID] = g_strdup (hir_account_get_id (account));
      self->strings[PROP_FROM] = g_strdup (from);
    }
  self->strings[PROP_MESSAGE_ID] = make_message_id (self->strings[PROP_FROM]);
  return self;
}

/* Subjects ---------------------------------------------------------------------------- */

/* Strips any run of "Re:", "RE:", "Aw:", "Fwd:", "Fw:", "Re[2]:", "Re: Fwd:" … prefixes. */
static const char *
skip_subject_prefixes (const char *subject)
{
  static const char * const prefixes[] = { "re", "aw", "fwd", "fw", "sv", "wg" };
  const char *p = subject;

  for (;;)
    {
      const char *q = p;
      gboolean matched = FALSE;

      while (g_ascii_isspace (*q))
        q++;
      for (guint i = 0; i < G_N_ELEMENTS (prefixes) && !matched; i++)
        {
          gsize n = strlen (prefixes[i]);
          const char *r = q + n;

          if (g_ascii_strncasecmp (q, prefixes[i], n) != 0)
            continue;
          /* "Re[2]:" and "Re(2):" from some clients count replies. */
          if (*r == '[' || *r == '(')
            {
              char close = *r == '[' ? ']' : ')';

              r++;
              while (g_ascii_isdigit (*r))
                r++;
              if (*r != close)
                continue;
              r++;
            }
          while (*r == ' ')
            r++;
          if (*r == ':')
            {
              p = r + 1;
              matched = TRUE;
            }
        }
      if (!matched)
        break;
    }
  while (g_ascii_isspace (*p))
    p++;
  return p;
}

char *
hir_outgoing_make_reply_subject (const char *subject)
{
  return g_strconcat ("Re: ", skip_subject_prefixes (subject != NULL ? subject : ""), NULL);
}

char *
hir_outgoing_make_forward_subject (const char *subject)
{
  return g_strconcat ("Fwd: ", skip_subject_prefixes (subject != NULL ? subject : ""), NULL);
}

/* Replies and forwards ---------------------------------------------------------------- */

static gboolean
address_is_account (HirAccount *account,
                    const char *addr)
{
  const char *own = hir_account_get_address (account);
  const char *plus;
  const char *at;

  if (addr == NULL || own == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (addr, own) == 0)
    return TRUE;
  /* alice+lists@x is alice@x too: it reached her mailbox. */
  plus = strchr (addr, '+');
  at = strrchr (addr, '@');
  if (plus != NULL && at != NULL && plus < at)
    {
      g_autofree char *base = g_strdup_printf ("%.*s%s", (int) (plus - addr), addr, at);

      return g_ascii_strcasecmp (base, own) == 0;
    }
  return FALSE;
}

static void
list_foreach_mailbox (InternetAddressList *list,
                      void (*func) (InternetAddressMailbox *mb, gpointer data),
                      gpointer data)
{
  if (list == NULL)
    return;
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *ia = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        func (INTERNET_ADDRESS_MAILBOX (ia), data);
      else if (INTERNET_ADDRESS_IS_GROUP (ia))
        list_foreach_mailbox (internet_address_group_get_members (INTERNET_ADDRESS_GROUP (ia)),
                              func, data);
    }
}

typedef struct
{
  HirAccount *account;
  char *identity;              /* the account address the original was sent to */
  InternetAddressList *out;
  GHashTable *seen;            /* lowercased addresses already in out (or excluded) */
} ReplyList;

static void
find_identity_cb (InternetAddressMailbox *mb,
                  gpointer                data)
{
  ReplyList *rl = data;
  const char *addr = internet_address_mailbox_get_addr (mb);

  if (rl->identity == NULL && address_is_account (rl->account, addr))
    rl->identity = g_strdup (addr);
}

static void
collect_cb (InternetAddressMailbox *mb,
            gpointer                data)
{
  ReplyList *rl = data;
  const char *addr = internet_address_mailbox_get_addr (mb);
  g_autofree char *key = NULL;

  if (addr == NULL || *addr == '\0' || address_is_account (rl->account, addr))
    return;
  key = g_ascii_strdown (addr, -1);
  if (g_hash_table_contains (rl->seen, key))
    return;
  g_hash_table_add (rl->seen, g_steal_pointer (&key));
  internet_address_list_add (rl->out, INTERNET_ADDRESS (mb));
}

static char *
list_to_string (InternetAddressList *list)
{
  if (list == NULL || internet_address_list_length (list) == 0)
    return NULL;
  return internet_address_list_to_string (list, NULL, FALSE);
}

static char *
angle_id (const char *id)
{
  if (id == NULL || *id == '\0')
    return NULL;
  if (*id == '<')
    return g_strdup (id);
  return g_strdup_printf ("<%s>", id);
}

/* "<a@x> <b@y> <parent@z>": the parent's References (or its In-Reply-To when it has
 * none) followed by the parent, as RFC 5322 §3.6.4 says. */
static char *
make_references (HirMessage *message)
{
  g_autoptr(GString) refs = g_string_new (NULL);
  const char *parent_refs = hir_message_get_references (message);
  const char *parent_id = hir_message_get_message_id (message);
  g_auto(GStrv) ids = NULL;

  if (parent_refs == NULL || *parent_refs == '\0')
    parent_refs = hir_message_get_in_reply_to (message);
  if (parent_refs != NULL)
    ids = g_strsplit_set (parent_refs, " \t\r\n", -1);
  for (guint i = 0; ids != NULL && ids[i] != NULL; i++)
    {
      g_autofree char *id = NULL;

      if (*ids[i] == '\0')
        continue;
      id = angle_id (ids[i]);
      if (refs->len > 0)
        g_string_append_c (refs, ' ');
      g_string_append (refs, id);
    }
  if (parent_id != NULL && *parent_id != '\0')
    {
      g_autofree char *id = angle_id (parent_id);

      if (refs->len > 0)
        g_string_append_c (refs, ' ');
      g_string_append (refs, id);
    }
  return refs->len > 0 ? g_string_free (g_steal_pointer (&refs), FALSE) : NULL;
}

static char *
format_sender (HirMessage *message)
{
  const char *name = hir_message_get_from_name (message);
  const char *addr = hir_message_get_from_address (message);

  if (name != NULL && *name != '\0' && addr != NULL)
    return g_strdup_printf ("%s <%s>", name, addr);
  return g_strdup (addr != NULL ? addr : (name != NULL ? name : ""));
}

/* "On Wed, 25 Nov 2026 at 08:57, Alice <a@x> wrote:" — in the user's language and the
 * local time zone. */
static char *
make_attribution (HirMessage *message)
{
  g_autofree char *sender = format_sender (message);
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (hir_message_get_date (message));
  g_autofree char *when = NULL;

  if (date == NULL)
    /* Translators: the line above a quoted message in a reply; %s is the original's
     * sender ("Alice <alice@example.com>"). */
    return g_strdup_printf (_("%s wrote:"), sender);
  /* Translators: the date in the line above a quoted message in a reply, in
   * g_date_time_format() codes: %a the short day name, %-d the day of the month, %b the
   * short month name, %Y the year, %H:%M the time. Gives "Wed, 25 Nov 2026 at 08:57". */
  /* xgettext:no-c-format */
  when = g_date_time_format (date, _("%a, %-d %b %Y at %H:%M"));
  /* Translators: the line above a quoted message in a reply; the first %s is the date
   * ("Wed, 25 Nov 2026 at 08:57"), the second the original's sender
   * ("Alice <alice@example.com>"). */
  return g_strdup_printf (_("On %s, %s wrote:"), when != NULL ? when : "", sender);
}

static char *
quote_text (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  guint n;

  if (text == NULL)
    text = "";
  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  /* No quoted empty line for the text's final newline. */
  if (n > 0 && *lines[n - 1] == '\0')
    n--;
  for (guint i = 0; i < n; i++)
    {
      g_strchomp (lines[i]);
      /* ">> x" for already quoted lines, "> x" otherwise (RFC 3676 style). */
      g_string_append (out, lines[i][0] == '>' ? ">" : "> ");
      g_string_append (out, lines[i]);
      g_string_append_c (out, '\n');
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The inside of <body> when the HTML is a whole document, else all of it. */
static char *
html_body_content (const char *html)
{
  const char *start = NULL;
  const char *end = NULL;

  for (const char *p = html; *p != '\0'; p++)
    if (*p == '<' && g_ascii_strncasecmp (p, "<body", 5) == 0 &&
        (p[5] == '>' || g_ascii_isspace (p[5])))
      {
        start = strchr (p, '>');
        break;
      }
  if (start == NULL)
    return g_strdup (html);
  start++;
  for (const char *p = start; *p != '\0'; p++)
    if (*p == '<' && g_ascii_strncasecmp (p, "</body", 6) == 0)
      end = p;
  return end != NULL ? g_strndup (start, end - start) : g_strdup (start);
}

static char *
text_to_html (const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text != NULL ? text : "", -1);
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = escaped; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append (out, "<br>\n");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

HirOutgoing *
hir_outgoing_new_reply (HirAccount     *account,
                        HirMessage     *message,
                        HirMessageBody *body,
                        gboolean        reply_all)
{
  g_autoptr(InternetAddressList) to_list = NULL;
  g_autoptr(InternetAddressList) cc_list = NULL;
  g_autoptr(InternetAddressList) out_to = internet_address_list_new ();
  g_autoptr(InternetAddressList) out_cc = internet_address_list_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(InternetAddress) sender = NULL;
  g_autofree char *from = NULL;
  g_autofree char *attribution = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *text = NULL;
  g_autofree char *to = NULL;
  g_autofree char *cc = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *references = NULL;
  g_autofree char *in_reply_to = NULL;
  const char *sender_addr;
  ReplyList rl = { account, NULL, NULL, seen };
  HirOutgoing *self;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (HIR_IS_MESSAGE (message), NULL);

  to_list = internet_address_list_parse (NULL, hir_message_get_to (message) ?: "");
  cc_list = internet_address_list_parse (NULL, hir_message_get_cc (message) ?: "");
  list_foreach_mailbox (to_list, find_identity_cb, &rl);
  list_foreach_mailbox (cc_list, find_identity_cb, &rl);

  self = hir_outgoing_new (account);
  from = format_from (account, rl.identity);
  hir_outgoing_set_from (self, from);
  g_free (self->strings[PROP_MESSAGE_ID]);
  self->strings[PROP_MESSAGE_ID] = make_message_id (from);

  /* To: the sender, unless the user replies to their own message (from Sent): then the
   * original recipients, as every mail client does. */
  sender_addr = hir_message_get_from_address (message);
  if (sender_addr != NULL && !address_is_account (account, sender_addr))
    {
      g_autofree char *key = g_ascii_strdown (sender_addr, -1);

      sender = internet_address_mailbox_new (hir_message_get_from_name (message) ?: "",
                                             sender_addr);
      internet_address_list_add (out_to, sender);
      g_hash_table_add (seen, g_steal_pointer (&key));
    }
  rl.out = out_to;
  if (sender == NULL || reply_all)
    list_foreach_mailbox (to_list, collect_cb, &rl);
  rl.out = out_cc;
  if (reply_all)
    list_foreach_mailbox (cc_list, collect_cb, &rl);
  to = list_to_string (out_to);
  cc = list_to_string (out_cc);
  hir_outgoing_set_to (self, to);
  hir_outgoing_set_cc (self, cc);

  subject = hir_outgoing_make_reply_subject (hir_message_get_subject (message));
  hir_outgoing_set_subject (self, subject);
  in_reply_to = angle_id (hir_message_get_message_id (message));
  hir_outgoing_set_in_reply_to (self, in_reply_to);
  references = make_references (message);
  hir_outgoing_set_references (self, references);

  attribution = make_attribution (message);
  quoted = quote_text (body != NULL ? hir_message_body_get_text (body) : NULL);
  text = g_strdup_printf ("\n\n%s\n%s", attribution, quoted);
  hir_outgoing_set_text (self, text);

  /* A rich reply to rich mail; plain stays plain. */
  if (body != NULL && hir_message_body_get_html (body) != NULL)
    {
      g_autofree char *inner = html_body_content (hir_message_body_get_html (body));
      g_autofree char *escaped = g_markup_escape_text (attribution, -1);
      g_autofree char *html = g_strdup_printf ("<p><br></p>\n<p>%s</p>\n"
                                               "<blockquote type=\"cite\">\n%s\n</blockquote>\n",
                                               escaped, inner);

      hir_outgoing_set_html (self, html);
    }

  g_free (rl.identity);
  return self;
}

HirOutgoing *
hir_outgoing_new_forward (HirAccount     *account,
                          HirMessage     *message,
                          HirMessageBody *body,
                          gboolean        as_attachment,
                          GBytes         *original_rfc822)
{
  g_autofree char *subject = NULL;
  g_autofree char *references = NULL;
  HirOutgoing *self;

  g_return_val_if_fail (HIR_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (HIR_IS_MESSAGE (message), NULL);
  g_return_val_if_fail (!as_attachment || original_rfc822 != NULL, NULL);

  self = hir_outgoing_new (account);
  subject = hir_outgoing_make_forward_subject (hir_message_get_subject (message));
  hir_outgoing_set_subject (self, subject);
  /* A forward starts a new conversation but still points at what it forwards, so the
   * recipient's client and ours can link the two. */
  references = make_references (message);
  hir_outgoing_set_references (self, references);

  if (as_attachment)
    {
      g_autofree char *name = g_strdup_printf ("%s.eml",
                                               *skip_subject_prefixes (hir_message_get_subject (message) ?: "") != '\0'
                                               ? skip_subject_prefixes (hir_message_get_subject (message))
                                               : "message");
      g_autoptr(HirOutgoingAttachment) attachment = NULL;

      g_strdelimit (name, "/\\", '_');
      attachment = hir_outgoing_attachment_new (name, "message/rfc822", original_rfc822);
      hir_outgoing_add_attachment (self, attachment);
    }
  else
    {
      g_autofree char *sender = format_sender (message);
      g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (hir_message_get_date (message));
      g_autofree char *date_text = date != NULL ? g_date_time_format (date, "%Y-%m-%d %H:%M") : g_strdup ("");
      g_autoptr(GString) header = g_string_new ("---------- Forwarded message ----------\n");
      g_autofree char *text = NULL;

      g_string_append_printf (header, "From: %s\n", sender);
      g_string_append_printf (header, "Date: %s\n", date_text);
      g_string_append_printf (header, "Subject: %s\n", hir_message_get_subject (message) ?: "");
      g_string_append_printf (header, "To: %s\n", hir_message_get_to (message) ?: "");
      if (hir_message_get_cc (message) != NULL && *hir_message_get_cc (message) != '\0')
        g_string_append_printf (header, "Cc: %s\n", hir_message_get_cc (message));

      text = g_strdup_printf ("\n\n%s\n%s", header->str,
                              body != NULL && hir_message_body_get_text (body) != NULL
                              ? hir_message_body_get_text (body) : "");
      hir_outgoing_set_text (self, text);

      if (body != NULL && hir_message_body_get_html (body) != NULL)
        {
          g_autofree char *inner = html_body_content (hir_message_body_get_html (body));
          g_autofree char *header_html = text_to_html (header->str);
          g_autofree char *html = g_strdup_printf ("<p><br></p>\n<div>%s</div>\n%s\n",
                                                   header_html, inner);

          hir_outgoing_set_html (self, html);
        }
    }
  return self;
}

/* Accessors --------------------------------------------------------------------------- */

#define STRING_ACCESSORS(name, PROP) \
  const char * \
  hir_outgoing_get_##name (HirOutgoing *self) \
  { \
    g_return_val_if_fail (HIR_IS_OUTGOING (self), NULL); \
    return self->strings[PROP]; \
  } \
  void \
  hir_outgoing_set_##name (HirOutgoing *self, \
                           const char  *value) \
  { \
    g_return_if_fail (HIR_IS_OUTGOING (self)); \
    set_string (self, PROP, value); \
  }

STRING_ACCESSORS (account_id, PROP_ACCOUNT_ID)
STRING_ACCESSORS (from, PROP_FROM)
STRING_ACCESSORS (to, PROP_TO)
STRING_ACCESSORS (cc, PROP_CC)
STRING_ACCESSORS (bcc, PROP_BCC)
STRING_ACCESSORS (subject, PROP_SUBJECT)
STRING_ACCESSORS (text, PROP_TEXT)
STRING_ACCESSORS (html, PROP_HTML)
STRING_ACCESSORS (in_reply_to, PROP_IN_REPLY_TO)
STRING_ACCESSORS (references, PROP_REFERENCES)
STRING_ACCESSORS (message_id, PROP_MESSAGE_ID)
STRING_ACCESSORS (error_message, PROP_ERROR_MESSAGE)
STRING_ACCESSORS (draft_remote_id, PROP_DRAFT_REMOTE_ID)

gint64
hir_outgoing_get_id (HirOutgoing *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING (self), 0);
  return self->id;
}

void
hir_outgoing_set_id (HirOutgoing *self,
                     gint64       id)
{
  g_return_if_fail (HIR_IS_OUTGOING (self));
  if (self->id == id)
    return;
  self->id = id;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

HirOutgoingState
hir_outgoing_get_state (HirOutgoing *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING (self), HIR_OUTGOING_STATE_DRAFT);
  return self->state;
}

void
hir_outgoing_set_state (HirOutgoing      *self,
                        HirOutgoingState  state)
{
  g_return_if_fail (HIR_IS_OUTGOING (self));
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

gint64
hir_outgoing_get_send_at (HirOutgoing *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING (self), 0);
  return self->send_at;
}

void
hir_outgoing_set_send_at (HirOutgoing *self,
                          gint64       send_at)
{
  g_return_if_fail (HIR_IS_OUTGOING (self));
  if (self->send_at == send_at)
    return;
  self->send_at = send_at;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEND_AT]);
}

GListModel *
hir_outgoing_get_attachments (HirOutgoing *self)
{
  g_return_val_if_fail (HIR_IS_OUTGOING (self), NULL);
  return G_LIST_MODEL (self->attachments);
}

void
hir_outgoing_add_attachment (HirOutgoing           *self,
                             HirOutgoingAttachment *attachment)
{
  g_return_if_fail (HIR_IS_OUTGOING (self));
  g_return_if_fail (HIR_IS_OUTGOING_ATTACHMENT (attachment));
  g_list_store_append (self->attachments, attachment);
}

gboolean
hir_outgoing_remove_attachment (HirOutgoing           *self,
                                HirOutgoingAttachment *attachment)
{
  guint position;

  g_return_val_if_fail (HIR_IS_OUTGOING (self), FALSE);
  if (!g_list_store_find (self->attachments, attachment, &position))
    return FALSE;
  g_list_store_remove (self->attachments, position);
  return TRUE;
}

guint64
hir_outgoing_get_total_size (HirOutgoing *self)
{
  guint64 total;
  guint n;

  g_return_val_if_fail (HIR_IS_OUTGOING (self), 0);

  total = strlen (self->strings[PROP_TEXT]);
  if (self->strings[PROP_HTML] != NULL)
    total += strlen (self->strings[PROP_HTML]);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->attachments));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirOutgoingAttachment) a = g_list_model_get_item (G_LIST_MODEL (self->attachments), i);

      total += hir_outgoing_attachment_get_size (a);
    }
  return total;
}

/* MIME --------------------------------------------------------------------------------- */

static void
add_addresses (GMimeMessage     *message,
               GMimeAddressType  type,
               const char       *text)
{
  g_autoptr(InternetAddressList) list = NULL;

  if (text == NULL || *text == '\0')
    return;
  list = internet_address_list_parse (NULL, text);
  if (list != NULL)
    internet_address_list_append (g_mime_message_get_addresses (message, type), list);
}

/* 7bit when it can; 8bit when the server carries it and no line is too long for SMTP;
 * else quoted-printable for mostly-ASCII text (still readable raw) and base64 for the
 * rest (fewer bytes for Greek, Cyrillic, CJK…). */
static GMimeContentEncoding
choose_text_encoding (const char *text,
                      gsize       len,
                      gboolean    allow_8bit)
{
  gsize high = 0;
  gsize line = 0;
  gsize longest = 0;

  for (gsize i = 0; i < len; i++)
    {
      guchar c = text[i];

      if (c >= 0x80)
        high++;
      if (c == '\n')
        {
          longest = MAX (longest, line);
          line = 0;
        }
      else
        line++;
    }
  longest = MAX (longest, line);
  if (longest <= 998 && high == 0)
    return GMIME_CONTENT_ENCODING_7BIT;
  if (longest <= 998 && allow_8bit)
    return GMIME_CONTENT_ENCODING_8BIT;
  if (high * 6 < len)
    return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  return GMIME_CONTENT_ENCODING_BASE64;
}

static GMimeObject *
make_text_part (const char *subtype,
                const char *text,
                gboolean    allow_8bit)
{
  g_autoptr(GString) normalized = g_string_new (NULL);
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeDataWrapper) wrapper = NULL;
  GMimeTextPart *part = g_mime_text_part_new_with_subtype (subtype);

  /* Line ends become CRLF when the message is written; a lone CR would not survive. */
  for (const char *p = text; *p != '\0'; p++)
    if (*p != '\r')
      g_string_append_c (normalized, *p);
  /* UTF-8 always, not the "smallest" charset GMime would pick (ISO-8859-1 for French):
   * one charset is what every reader handles best, and what the tests can rely on. */
  stream = g_mime_stream_mem_new_with_buffer (normalized->str, normalized->len);
  wrapper = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (GMIME_PART (part), wrapper);
  g_mime_text_part_set_charset (part, "utf-8");
  g_mime_part_set_content_encoding (GMIME_PART (part),
                                    choose_text_encoding (normalized->str, normalized->len,
                                                          allow_8bit));
  return GMIME_OBJECT (part);
}

static GMimeObject *
make_attachment_part (HirOutgoingAttachment *attachment,
                      gboolean               allow_8bit)
{
  GBytes *data = hir_outgoing_attachment_get_data (attachment);
  const char *type = hir_outgoing_attachment_get_content_type (attachment);
  const char *cid = hir_outgoing_attachment_get_content_id (attachment);
  g_autoptr(GMimeContentType) content_type = g_mime_content_type_parse (NULL, type);
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeDataWrapper) wrapper = NULL;
  GMimePart *part;

  /* A forwarded message stays a message: its parts can be read inline by the
   * recipient, and message/rfc822 must not be base64 (RFC 2046 §5.2.1). */
  if (g_mime_content_type_is_type (content_type, "message", "rfc822"))
    {
      g_autoptr(GMimeStream) mstream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (data, NULL),
                                                                          g_bytes_get_size (data));
      g_autoptr(GMimeParser) parser = g_mime_parser_new_with_stream (mstream);
      g_autoptr(GMimeMessage) inner = g_mime_parser_construct_message (parser, NULL);

      if (inner != NULL)
        {
          GMimeMessagePart *mpart = g_mime_message_part_new_with_message ("rfc822", inner);

          g_mime_object_set_disposition (GMIME_OBJECT (mpart), GMIME_DISPOSITION_ATTACHMENT);
          g_mime_object_set_content_disposition_parameter (GMIME_OBJECT (mpart), "filename",
                                                           hir_outgoing_attachment_get_filename (attachment));
          return GMIME_OBJECT (mpart);
        }
    }

  part = g_mime_part_new_with_type (g_mime_content_type_get_media_type (content_type),
                                    g_mime_content_type_get_media_subtype (content_type));
  stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  wrapper = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, wrapper);
  /* Sets the RFC 2231 filename of Content-Disposition and the name of Content-Type
   * (older clients read only that one). */
  g_mime_object_set_disposition (GMIME_OBJECT (part),
                                 cid != NULL ? GMIME_DISPOSITION_INLINE : GMIME_DISPOSITION_ATTACHMENT);
  g_mime_part_set_filename (part, hir_outgoing_attachment_get_filename (attachment));
  if (cid != NULL)
    g_mime_part_set_content_id (part, cid);
  /* Always base64, text files too: the recipient must get the very bytes attached, and
   * a text part's line ends are the transport's to change (RFC 2046 §4.1.1). */
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  return GMIME_OBJECT (part);
}

GMimeMessage *
hir_outgoing_build_mime (HirOutgoing *self,
                         gboolean     allow_8bit)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeObject) body = NULL;
  g_autoptr(GMimeMultipart) mixed = NULL;
  g_autoptr(GMimeMultipart) related = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  const char *html = self->strings[PROP_HTML];
  const char *message_id = self->strings[PROP_MESSAGE_ID];
  guint n;

  g_return_val_if_fail (HIR_IS_OUTGOING (self), NULL);

  message = g_mime_message_new (TRUE);
  add_addresses (message, GMIME_ADDRESS_TYPE_FROM, self->strings[PROP_FROM]);
  add_addresses (message, GMIME_ADDRESS_TYPE_TO, self->strings[PROP_TO]);
  add_addresses (message, GMIME_ADDRESS_TYPE_CC, self->strings[PROP_CC]);
  add_addresses (message, GMIME_ADDRESS_TYPE_BCC, self->strings[PROP_BCC]);
  /* GMime writes a non-ASCII subject as RFC 2047 encoded words. */
  g_mime_message_set_subject (message, self->strings[PROP_SUBJECT] ?: "", "utf-8");
  g_mime_message_set_date (message, now);
  if (message_id != NULL)
    {
      g_autofree char *bare = g_strdup (message_id + (*message_id == '<'));

      if (g_str_has_suffix (bare, ">"))
        bare[strlen (bare) - 1] = '\0';
      g_mime_message_set_message_id (message, bare);
    }
  if (self->strings[PROP_IN_REPLY_TO] != NULL && *self->strings[PROP_IN_REPLY_TO] != '\0')
    g_mime_object_set_header (GMIME_OBJECT (message), "In-Reply-To",
                              self->strings[PROP_IN_REPLY_TO], NULL);
  if (self->strings[PROP_REFERENCES] != NULL && *self->strings[PROP_REFERENCES] != '\0')
    g_mime_object_set_header (GMIME_OBJECT (message), "References",
                              self->strings[PROP_REFERENCES], NULL);
  g_mime_object_set_header (GMIME_OBJECT (message), "MIME-Version", "1.0", NULL);
  g_mime_object_set_header (GMIME_OBJECT (message), "User-Agent", "Hirondelle", NULL);

  if (html != NULL)
    {
      GMimeMultipart *alternative = g_mime_multipart_new_with_subtype ("alternative");
      g_autoptr(GMimeObject) text_part = make_text_part ("plain", self->strings[PROP_TEXT], allow_8bit);
      g_autoptr(GMimeObject) html_part = make_text_part ("html", html, allow_8bit);

      g_mime_multipart_add (alternative, text_part);
      g_mime_multipart_add (alternative, html_part);
      body = GMIME_OBJECT (alternative);
    }
  else
    body = make_text_part ("plain", self->strings[PROP_TEXT], allow_8bit);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->attachments));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(HirOutgoingAttachment) a = g_list_model_get_item (G_LIST_MODEL (self->attachments), i);
      g_autoptr(GMimeObject) part = make_attachment_part (a, allow_8bit);

      /* Inline images belong with the HTML that shows them; without HTML they are
       * ordinary attachments. */
      if (hir_outgoing_attachment_get_content_id (a) != NULL && html != NULL)
        {
          if (related == NULL)
            {
              related = g_mime_multipart_new_with_subtype ("related");
              g_mime_object_set_content_type_parameter (GMIME_OBJECT (related), "type",
                                                        "multipart/alternative");
              g_mime_multipart_add (related, body);
            }
          g_mime_multipart_add (related, part);
        }
      else
        {
          if (mixed == NULL)
            mixed = g_mime_multipart_new_with_subtype ("mixed");
          g_mime_multipart_add (mixed, part);
        }
    }

  if (related != NULL)
    g_set_object (&body, GMIME_OBJECT (related));
  if (mixed != NULL)
    {
      g_mime_multipart_insert (mixed, 0, body);
      g_set_object (&body, GMIME_OBJECT (mixed));
    }
  g_mime_message_set_mime_part (message, body);

  return g_steal_pointer (&message);
}
