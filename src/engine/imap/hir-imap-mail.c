/* hir-imap-mail.c: IMAP FETCH data (ENVELOPE, BODYSTRUCTURE, FLAGS) as engine objects
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "hir-attachment.h"
#include "hir-imap-mail.h"

/* GMime 3.2 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeFilter, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParamList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddress, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeReferences, g_mime_references_free)

void
hir_imap_part_free (HirImapPart *part)
{
  if (part == NULL)
    return;
  g_free (part->section);
  g_free (part->type);
  g_free (part->charset);
  g_free (part->encoding);
  g_free (part->content_id);
  g_free (part->disposition);
  g_free (part->filename);
  g_free (part);
}

static const char *
value_string (const HirImapValue *value)
{
  if (value == NULL || value->kind == HIR_IMAP_VALUE_NIL || value->kind == HIR_IMAP_VALUE_LIST)
    return NULL;
  return value->data;
}

static char *
lower (const HirImapValue *value)
{
  const char *s = value_string (value);

  return s != NULL ? g_ascii_strdown (s, -1) : NULL;
}

/* A (key value key value…) parameter list: the value of @key, case-insensitively. */
static const char *
param_lookup (const HirImapValue *params,
              const char         *key)
{
  if (params == NULL || params->kind != HIR_IMAP_VALUE_LIST)
    return NULL;
  for (guint i = 0; i + 1 < params->items->len; i += 2)
    {
      const char *k = value_string (g_ptr_array_index (params->items, i));

      if (k != NULL && g_ascii_strcasecmp (k, key) == 0)
        return value_string (g_ptr_array_index (params->items, i + 1));
    }
  return NULL;
}

/* RFC 2231 continuations and charsets (filename*0*=…) are what GMime's parameter parser
 * knows; IMAP hands them over split, so rebuild a header value and let GMime decode it. */
static char *
param_decoded (const HirImapValue *params,
               const char         *key)
{
  g_autoptr(GString) header = g_string_new ("x");
  g_autoptr(GMimeParamList) list = NULL;
  gsize key_len = strlen (key);
  gboolean found = FALSE;
  const char *value;

  if (params == NULL || params->kind != HIR_IMAP_VALUE_LIST)
    return NULL;
  for (guint i = 0; i + 1 < params->items->len; i += 2)
    {
      const char *k = value_string (g_ptr_array_index (params->items, i));
      const char *v = value_string (g_ptr_array_index (params->items, i + 1));

      if (k == NULL || v == NULL || g_ascii_strncasecmp (k, key, key_len) != 0 ||
          (k[key_len] != '\0' && k[key_len] != '*'))
        continue;
      found = TRUE;
      g_string_append_printf (header, "; %s=\"", k);
      for (const char *p = v; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (header, '\\');
          g_string_append_c (header, *p);
        }
      g_string_append_c (header, '"');
    }
  if (!found)
    return NULL;

  list = g_mime_param_list_parse (NULL, strchr (header->str, ';') + 1);
  value = list != NULL ? g_mime_param_list_get_parameter (list, key) != NULL
                         ? g_mime_param_get_value (g_mime_param_list_get_parameter (list, key))
                         : NULL
                       : NULL;
  if (value == NULL)
    return NULL;
  /* Some senders put RFC 2047 words in file names: decode those too. */
  return g_mime_utils_header_decode_text (NULL, value);
}

static void
collect_parts (const HirImapValue *body,
               const char         *section,
               gboolean            in_related,
               GPtrArray          *out)
{
  HirImapPart *part;
  const HirImapValue *disposition;
  guint ext;
  g_autofree char *type = NULL;
  g_autofree char *subtype = NULL;

  if (body == NULL || body->kind != HIR_IMAP_VALUE_LIST || body->items->len == 0)
    return;

  /* Multipart: (part)(part)… "subtype" [extensions] */
  if (((HirImapValue *) g_ptr_array_index (body->items, 0))->kind == HIR_IMAP_VALUE_LIST)
    {
      guint n = 0;
      const char *sub = NULL;

      while (n < body->items->len &&
             ((HirImapValue *) g_ptr_array_index (body->items, n))->kind == HIR_IMAP_VALUE_LIST)
        n++;
      sub = n < body->items->len ? value_string (g_ptr_array_index (body->items, n)) : NULL;
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *child = section[0] != '\0' ? g_strdup_printf ("%s.%u", section, i + 1)
                                                      : g_strdup_printf ("%u", i + 1);

          collect_parts (g_ptr_array_index (body->items, i), child,
                         in_related || (sub != NULL && g_ascii_strcasecmp (sub, "related") == 0),
                         out);
        }
      return;
    }

  if (body->items->len < 7)
    return;

  type = lower (g_ptr_array_index (body->items, 0));
  subtype = lower (g_ptr_array_index (body->items, 1));

  part = g_new0 (HirImapPart, 1);
  part->section = g_strdup (section[0] != '\0' ? section : "1");
  part->type = g_strdup_printf ("%s/%s", type ? type : "application",
                                subtype ? subtype : "octet-stream");
  part->charset = g_strdup (param_lookup (g_ptr_array_index (body->items, 2), "charset"));
  part->filename = param_decoded (g_ptr_array_index (body->items, 2), "name");
  if (value_string (g_ptr_array_index (body->items, 3)) != NULL)
    {
      const char *id = value_string (g_ptr_array_index (body->items, 3));
      gsize len = strlen (id);

      if (len >= 2 && id[0] == '<' && id[len - 1] == '>')
        part->content_id = g_strndup (id + 1, len - 2);
      else
        part->content_id = g_strdup (id);
    }
  part->encoding = lower (g_ptr_array_index (body->items, 5));
  hir_imap_value_get_number (g_ptr_array_index (body->items, 6), &part->size);
  part->in_related = in_related;

  /* Where the extension data starts depends on the type (RFC 3501 §7.4.2). */
  if (g_strcmp0 (type, "text") == 0)
    ext = 8;
  else if (g_strcmp0 (type, "message") == 0 && g_strcmp0 (subtype, "rfc822") == 0)
    ext = 10;
  else
    ext = 7;
  disposition = hir_imap_value_get_item (body, ext + 1);
  if (disposition != NULL && disposition->kind == HIR_IMAP_VALUE_LIST)
    {
      g_autofree char *filename = NULL;

      part->disposition = lower (hir_imap_value_get_item (disposition, 0));
      filename = param_decoded (hir_imap_value_get_item (disposition, 1), "filename");
      if (filename != NULL)
        {
          g_free (part->filename);
          part->filename = g_steal_pointer (&filename);
        }
    }
  g_ptr_array_add (out, part);
}

GPtrArray *
hir_imap_parts_from_bodystructure (const HirImapValue *bodystructure)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) hir_imap_part_free);

  collect_parts (bodystructure, "", FALSE, parts);
  return parts;
}

static gboolean
is_body_candidate (HirImapPart *part)
{
  return g_strcmp0 (part->disposition, "attachment") != 0 &&
         (part->filename == NULL || g_strcmp0 (part->disposition, "inline") == 0);
}

void
hir_imap_choose_parts (GPtrArray    *parts,
                       HirImapPart **text,
                       HirImapPart **html)
{
  *text = NULL;
  *html = NULL;
  /* The first text/plain and the first text/html that are not attachments: in
   * multipart/alternative these are the two versions of the body. */
  for (guint i = 0; i < parts->len; i++)
    {
      HirImapPart *part = g_ptr_array_index (parts, i);

      if (!is_body_candidate (part))
        continue;
      if (*text == NULL && g_str_equal (part->type, "text/plain"))
        *text = part;
      else if (*html == NULL && g_str_equal (part->type, "text/html"))
        *html = part;
    }
}

gboolean
hir_imap_has_attachment (const HirImapValue *bodystructure)
{
  g_autoptr(GPtrArray) parts = hir_imap_parts_from_bodystructure (bodystructure);
  HirImapPart *text, *html;

  hir_imap_choose_parts (parts, &text, &html);
  for (guint i = 0; i < parts->len; i++)
    {
      HirImapPart *part = g_ptr_array_index (parts, i);

      if (part == text || part == html)
        continue;
      /* Images that the HTML shows (cid: in multipart/related) are not attachments to
       * the reader's eye. */
      if (part->in_related && part->content_id != NULL &&
          g_strcmp0 (part->disposition, "attachment") != 0)
        continue;
      return TRUE;
    }
  return FALSE;
}

HirAttachment *
hir_imap_attachment_new (HirImapPart *part)
{
  HirAttachment *attachment;

  attachment = hir_attachment_new (part->section, part->section, part->filename, part->type,
                                   part->size);
  hir_attachment_set_content_id (attachment, part->content_id);
  hir_attachment_set_inline (attachment,
                             g_strcmp0 (part->disposition, "attachment") != 0 &&
                             (part->content_id != NULL ||
                              g_strcmp0 (part->disposition, "inline") == 0));
  return attachment;
}

GBytes *
hir_imap_decode_bytes (const guint8 *data,
                       gsize         len,
                       const char   *encoding)
{
  GMimeContentEncoding enc = encoding ? g_mime_content_encoding_from_string (encoding)
                                      : GMIME_CONTENT_ENCODING_DEFAULT;
  g_autoptr(GMimeStream) mem = NULL;
  g_autoptr(GMimeStream) filtered = NULL;
  g_autoptr(GMimeFilter) filter = NULL;
  GByteArray *array;

  if (enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
      enc != GMIME_CONTENT_ENCODING_UUENCODE)
    return g_bytes_new (data, len);

  array = g_byte_array_new ();
  mem = g_mime_stream_mem_new_with_byte_array (array);
  filtered = g_mime_stream_filter_new (mem);
  filter = g_mime_filter_basic_new (enc, FALSE);
  g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), filter);
  g_mime_stream_write (filtered, (const char *) data, len);
  g_mime_stream_flush (filtered);
  return g_bytes_new (array->data, array->len);
}

char *
hir_imap_decode_text (const guint8 *data,
                      gsize         len,
                      const char   *encoding,
                      const char   *charset)
{
  GMimeContentEncoding enc = encoding ? g_mime_content_encoding_from_string (encoding)
                                      : GMIME_CONTENT_ENCODING_DEFAULT;
  GByteArray *array = g_byte_array_new ();
  g_autoptr(GMimeStream) mem = g_mime_stream_mem_new_with_byte_array (array);
  g_autoptr(GMimeStream) filtered = g_mime_stream_filter_new (mem);
  gboolean convert = charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0 &&
                     g_ascii_strcasecmp (charset, "us-ascii") != 0;
  char *utf8;

  if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      enc == GMIME_CONTENT_ENCODING_UUENCODE)
    {
      g_autoptr(GMimeFilter) basic = g_mime_filter_basic_new (enc, FALSE);

      g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), basic);
    }
  if (convert)
    {
      /* GMime knows the aliases (latin1, x-sjis…) and the Windows code pages that iconv
       * spells differently; its filter keeps ISO-2022-JP's escape state across the text
       * and holds back a character cut in two (a preview's first kilobyte). */
      g_autoptr(GMimeFilter) conv = g_mime_filter_charset_new (charset, "UTF-8");

      if (conv != NULL)
        g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), conv);
      else
        convert = FALSE;
    }
  g_mime_stream_write (filtered, (const char *) data, len);
  g_mime_stream_flush (filtered);

  if (!convert && !g_utf8_validate ((const char *) array->data, array->len, NULL))
    /* Undeclared or unknown charset: GMime's guess from the user's locale, then Latin-1. */
    utf8 = g_mime_utils_decode_8bit (NULL, (const char *) array->data, array->len);
  else
    utf8 = g_utf8_make_valid ((const char *) array->data, array->len);

  /* IMAP sends CRLF; the engine's text uses LF like JMAP's bodyValues. */
  {
    char *w = utf8;

    for (const char *r = utf8; *r; r++)
      if (!(r[0] == '\r' && r[1] == '\n'))
        *w++ = *r;
    *w = '\0';
  }
  return utf8;
}

char *
hir_imap_make_preview (const guint8 *data,
                       gsize         len,
                       const char   *encoding,
                       const char   *charset,
                       gboolean      html)
{
  g_autofree char *text = hir_imap_decode_text (data, len, encoding, charset);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean in_tag = FALSE;
  gboolean space = TRUE;
  guint chars = 0;
  const char *p;

  /* Plain words only: tags dropped (and what <style> and <script> hold), entities for
   * spaces and the five XML ones, runs of white space as one. */
  for (p = text; *p && chars < 200; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (html && c == '<')
        {
          if (g_ascii_strncasecmp (p, "<style", 6) == 0 || g_ascii_strncasecmp (p, "<script", 7) == 0)
            {
              const char *end = strstr (p, g_ascii_strncasecmp (p, "<style", 6) == 0 ? "</style" : "</script");

              if (end == NULL)
                break;
              p = end;
            }
          in_tag = TRUE;
          continue;
        }
      if (html && in_tag)
        {
          if (c == '>')
            in_tag = FALSE;
          continue;
        }
      if (html && c == '&')
        {
          static const struct { const char *name; const char *text; } entities[] = {
            { "&nbsp;", " " }, { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
            { "&quot;", "\"" }, { "&#39;", "'" },
          };
          gboolean found = FALSE;

          for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
            if (g_str_has_prefix (p, entities[i].name))
              {
                g_string_append (out, entities[i].text);
                chars++;
                p += strlen (entities[i].name) - 1;
                space = entities[i].text[0] == ' ';
                found = TRUE;
                break;
              }
          if (found)
            continue;
        }
      if (g_unichar_isspace (c))
        {
          if (!space)
            {
              g_string_append_c (out, ' ');
              chars++;
            }
          space = TRUE;
          continue;
        }
      g_string_append_unichar (out, c);
      chars++;
      space = FALSE;
    }
  return g_strstrip (g_string_free (g_steal_pointer (&out), FALSE));
}

HirMessageFlags
hir_imap_flags_from_value (const HirImapValue *flags)
{
  HirMessageFlags out = HIR_MESSAGE_FLAG_NONE;

  for (guint i = 0; i < hir_imap_value_get_length (flags); i++)
    {
      const char *flag = value_string (hir_imap_value_get_item (flags, i));

      if (flag == NULL)
        continue;
      if (g_ascii_strcasecmp (flag, "\\Seen") == 0)
        out |= HIR_MESSAGE_FLAG_SEEN;
      else if (g_ascii_strcasecmp (flag, "\\Flagged") == 0)
        out |= HIR_MESSAGE_FLAG_FLAGGED;
      else if (g_ascii_strcasecmp (flag, "\\Answered") == 0)
        out |= HIR_MESSAGE_FLAG_ANSWERED;
      else if (g_ascii_strcasecmp (flag, "\\Draft") == 0)
        out |= HIR_MESSAGE_FLAG_DRAFT;
    }
  return out;
}

char *
hir_imap_remote_id (const char *mailbox,
                    guint32     uidvalidity,
                    guint32     uid)
{
  return g_strdup_printf ("%s\n%u\n%u", mailbox, uidvalidity, uid);
}

gboolean
hir_imap_parse_remote_id (const char  *remote_id,
                          char       **mailbox,
                          guint32     *uidvalidity,
                          guint32     *uid)
{
  const char *second;
  const char *first;
  guint64 v, u;
  char *end = NULL;

  if (remote_id == NULL || (second = strrchr (remote_id, '\n')) == NULL)
    return FALSE;
  for (first = second - 1; first >= remote_id && *first != '\n'; first--)
    ;
  if (first < remote_id)
    return FALSE;
  v = g_ascii_strtoull (first + 1, &end, 10);
  if (end != second)
    return FALSE;
  u = g_ascii_strtoull (second + 1, &end, 10);
  if (*end != '\0' || u == 0 || u > G_MAXUINT32 || v > G_MAXUINT32)
    return FALSE;
  if (mailbox != NULL)
    *mailbox = g_strndup (remote_id, first - remote_id);
  if (uidvalidity != NULL)
    *uidvalidity = (guint32) v;
  if (uid != NULL)
    *uid = (guint32) u;
  return TRUE;
}

/* Envelope */

/* "name" NIL "mailbox" "host" → a display name (decoded) and an address. */
static void
address_parts (const HirImapValue  *address,
               char               **name,
               char               **addr)
{
  const char *n = value_string (hir_imap_value_get_item (address, 0));
  const char *mailbox = value_string (hir_imap_value_get_item (address, 2));
  const char *host = value_string (hir_imap_value_get_item (address, 3));

  *name = n != NULL && *n != '\0' ? g_mime_utils_header_decode_phrase (NULL, n) : g_strdup ("");
  if (mailbox != NULL && host != NULL)
    *addr = g_strdup_printf ("%s@%s", mailbox, host);
  else
    *addr = g_strdup (mailbox ? mailbox : "");
}

static char *
address_list_text (const HirImapValue *list)
{
  g_autoptr(InternetAddressList) out = internet_address_list_new ();

  if (list == NULL || list->kind != HIR_IMAP_VALUE_LIST)
    return NULL;
  for (guint i = 0; i < list->items->len; i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *addr = NULL;
      g_autoptr(InternetAddress) ia = NULL;
      const HirImapValue *item = g_ptr_array_index (list->items, i);

      /* Group syntax: (NIL NIL "group" NIL) … (NIL NIL NIL NIL); keep only members. */
      if (value_string (hir_imap_value_get_item (item, 3)) == NULL)
        continue;
      address_parts (item, &name, &addr);
      ia = internet_address_mailbox_new (name, addr);
      internet_address_list_add (out, ia);
    }
  if (internet_address_list_length (out) == 0)
    return NULL;
  return internet_address_list_to_string (out, NULL, FALSE);
}

static char *
strip_angles (const char *id)
{
  g_autofree char *s = NULL;
  gsize len;

  if (id == NULL)
    return NULL;
  s = g_strstrip (g_strdup (id));
  len = strlen (s);
  if (len >= 2 && s[0] == '<' && s[len - 1] == '>')
    return g_strndup (s + 1, len - 2);
  return len > 0 ? g_steal_pointer (&s) : NULL;
}

/* First id of a header value like In-Reply-To ("<a@b> (comment)"). */
static char *
first_message_id (const char *text)
{
  g_autoptr(GMimeReferences) refs = NULL;

  if (text == NULL)
    return NULL;
  refs = g_mime_references_parse (NULL, text);
  if (refs != NULL && g_mime_references_length (refs) > 0)
    return g_strdup (g_mime_references_get_message_id (refs, 0));
  return strip_angles (text);
}

/* "References: <a> <b>\r\n\r\n" as "a b". */
static char *
references_from_header (const HirImapValue *value)
{
  const char *text = value_string (value);
  const char *colon;
  g_autoptr(GMimeReferences) refs = NULL;
  g_autoptr(GString) out = NULL;

  if (text == NULL || (colon = strchr (text, ':')) == NULL)
    return NULL;
  refs = g_mime_references_parse (NULL, colon + 1);
  if (refs == NULL || g_mime_references_length (refs) == 0)
    return NULL;
  out = g_string_new (NULL);
  for (int i = 0; i < g_mime_references_length (refs); i++)
    {
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, g_mime_references_get_message_id (refs, i));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gint64
parse_internaldate (const char *text)
{
  g_autoptr(GDateTime) dt = NULL;

  /* "17-Jul-1996 02:44:25 -0700": GMime's date parser reads it like a Date header. */
  if (text == NULL)
    return 0;
  {
    g_autofree char *copy = g_strdup (text);

    for (char *p = copy; *p && *p != ' '; p++)
      if (*p == '-')
        *p = ' ';
    dt = g_mime_utils_header_decode_date (copy);
  }
  return dt != NULL ? g_date_time_to_unix (dt) : 0;
}

HirMessage *
hir_imap_message_from_fetch (const char         *account_id,
                             const char         *mailbox,
                             guint32             uidvalidity,
                             const HirImapValue *items)
{
  g_autoptr(HirMessage) message = NULL;
  const HirImapValue *envelope;
  const HirImapValue *bodystructure;
  const HirImapValue *value = NULL;
  g_autofree char *remote_id = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *in_reply_to = NULL;
  g_autofree char *references = NULL;
  g_autofree char *thread_root = NULL;
  guint64 uid = 0;
  guint64 size = 0;
  gint64 date = 0;

  if (!hir_imap_value_get_number (hir_imap_value_lookup (items, "UID"), &uid) || uid == 0)
    return NULL;

  message = hir_message_new ();
  remote_id = hir_imap_remote_id (mailbox, uidvalidity, (guint32) uid);
  hir_message_set_account_id (message, account_id);
  hir_message_set_remote_id (message, remote_id);
  hir_message_set_flags (message, hir_imap_flags_from_value (hir_imap_value_lookup (items, "FLAGS")));
  if (hir_imap_value_get_number (hir_imap_value_lookup (items, "RFC822.SIZE"), &size))
    hir_message_set_size (message, size);

  envelope = hir_imap_value_lookup (items, "ENVELOPE");
  if (envelope != NULL && envelope->kind == HIR_IMAP_VALUE_LIST)
    {
      const char *date_text = value_string (hir_imap_value_get_item (envelope, 0));
      const char *subject = value_string (hir_imap_value_get_item (envelope, 1));
      const HirImapValue *from = hir_imap_value_get_item (envelope, 2);
      g_autofree char *to = address_list_text (hir_imap_value_get_item (envelope, 5));
      g_autofree char *cc = address_list_text (hir_imap_value_get_item (envelope, 6));

      if (date_text != NULL)
        {
          g_autoptr(GDateTime) dt = g_mime_utils_header_decode_date (date_text);

          if (dt != NULL)
            date = g_date_time_to_unix (dt);
        }
      if (subject != NULL)
        {
          g_autofree char *decoded = g_mime_utils_header_decode_text (NULL, subject);

          hir_message_set_subject (message, decoded);
        }
      if (hir_imap_value_get_length (from) > 0)
        {
          g_autofree char *name = NULL;
          g_autofree char *addr = NULL;

          address_parts (hir_imap_value_get_item (from, 0), &name, &addr);
          hir_message_set_from_name (message, name);
          hir_message_set_from_address (message, addr);
        }
      hir_message_set_to (message, to);
      hir_message_set_cc (message, cc);
      in_reply_to = first_message_id (value_string (hir_imap_value_get_item (envelope, 8)));
      message_id = first_message_id (value_string (hir_imap_value_get_item (envelope, 9)));
    }
  if (date == 0)
    date = parse_internaldate (value_string (hir_imap_value_lookup (items, "INTERNALDATE")));
  hir_message_set_date (message, date);
  hir_message_set_message_id (message, message_id);
  hir_message_set_in_reply_to (message, in_reply_to);

  /* The header fetch comes back as BODY[HEADER.FIELDS (REFERENCES)]: one atom-like key. */
  for (guint i = 0; i + 1 < hir_imap_value_get_length (items); i += 2)
    {
      const char *key = value_string (hir_imap_value_get_item (items, i));

      if (key != NULL && g_ascii_strncasecmp (key, "BODY[HEADER.FIELDS", 18) == 0)
        {
          value = hir_imap_value_get_item (items, i + 1);
          break;
        }
    }
  references = references_from_header (value);
  hir_message_set_references (message, references);

  if (references != NULL)
    {
      const char *space = strchr (references, ' ');

      thread_root = space ? g_strndup (references, space - references) : g_strdup (references);
    }
  else if (in_reply_to != NULL)
    thread_root = g_strdup (in_reply_to);
  else if (message_id != NULL)
    thread_root = g_strdup (message_id);
  else
    thread_root = g_strdup (remote_id);
  hir_message_set_thread_id (message, thread_root);

  value = hir_imap_value_lookup (items, "PREVIEW");
  if (value_string (value) != NULL)
    {
      g_autofree char *preview = g_utf8_make_valid (value_string (value), -1);

      hir_message_set_preview (message, g_strstrip (preview));
    }

  bodystructure = hir_imap_value_lookup (items, "BODYSTRUCTURE");
  if (bodystructure != NULL)
    hir_message_set_has_attachment (message, hir_imap_has_attachment (bodystructure));

  return g_steal_pointer (&message);
}
