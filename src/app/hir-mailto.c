/* hir-mailto.c: mailto: URIs (RFC 6068), with the attach= that xdg-email writes
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "hir-mailto.h"

void
hir_mailto_free (HirMailto *mailto)
{
  if (mailto == NULL)
    return;
  g_strfreev (mailto->to);
  g_strfreev (mailto->cc);
  g_strfreev (mailto->bcc);
  g_free (mailto->subject);
  g_free (mailto->body);
  g_free (mailto->in_reply_to);
  g_strfreev (mailto->attachments);
  g_free (mailto);
}

/* Percent-decodes @text ('+' stays a plus: RFC 6068 is not a form encoding); NULL for a
 * malformed escape or an escaped NUL. Bytes that are not UTF-8 become U+FFFD. */
static char *
decode (const char  *text,
        gsize        length,
        GError     **error)
{
  g_autofree char *segment = g_strndup (text, length);
  g_autofree char *raw = g_uri_unescape_string (segment, NULL);

  if (raw == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* Translators: %s is the part of a mailto: link that is broken. */
                   _("The mail link has a malformed %%-escape in “%s”"), segment);
      return NULL;
    }
  return g_utf8_make_valid (raw, -1);
}

/* Adds each non-empty, trimmed, comma-separated address of @list to @out. */
static void
add_addresses (GPtrArray  *out,
               const char *list)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *address = g_strstrip (parts[i]);

      /* A header can never carry a line break. */
      if (*address != '\0' && strpbrk (address, "\r\n") == NULL)
        g_ptr_array_add (out, g_strdup (address));
    }
}

/* One line: line breaks would start a new header. */
static char *
make_one_line (const char *text)
{
  char *line = g_strdup (text);

  for (char *p = line; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n')
      *p = ' ';
  return line;
}

static char *
make_unix_lines (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p++)
    if (!(p[0] == '\r' && p[1] == '\n'))
      g_string_append_c (out, *p == '\r' ? '\n' : *p);
  return g_string_free (out, FALSE);
}

/* A file:// URI for an attach= value: a local file:// URI or an absolute path. */
static char *
make_attachment_uri (const char  *value,
                     GError     **error)
{
  g_autofree char *hostname = NULL;
  g_autofree char *path = NULL;

  if (g_path_is_absolute (value))
    path = g_strdup (value);
  else if (g_ascii_strncasecmp (value, "file:", 5) == 0)
    path = g_filename_from_uri (value, &hostname, NULL);

  if (path == NULL || (hostname != NULL && g_ascii_strcasecmp (hostname, "localhost") != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   /* Translators: %s is what a mail link asked to attach. */
                   _("The mail link asks to attach “%s”, which is not a file on this computer"),
                   value);
      return NULL;
    }
  return g_filename_to_uri (path, NULL, error);
}

static char **
steal_strv (GPtrArray *array)
{
  g_ptr_array_add (array, NULL);
  return (char **) g_ptr_array_free (array, FALSE);
}

HirMailto *
hir_mailto_parse (const char  *uri,
                  GError     **error)
{
  g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) cc = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) bcc = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(HirMailto) mailto = g_new0 (HirMailto, 1);
  g_autofree char *path = NULL;
  const char *rest;
  const char *query;
  const char *end;

  g_return_val_if_fail (uri != NULL, NULL);

  if (g_ascii_strncasecmp (uri, "mailto:", 7) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a mailto: link"), uri);
      return NULL;
    }
  rest = uri + 7;
  /* A fragment is not part of a mailto: URI; a literal '#' ends it. */
  end = strchr (rest, '#');
  if (end == NULL)
    end = rest + strlen (rest);
  query = memchr (rest, '?', end - rest);

  path = decode (rest, (query != NULL ? query : end) - rest, error);
  if (path == NULL)
    return NULL;
  add_addresses (to, path);

  while (query != NULL && query < end)
    {
      const char *field = query + 1;
      const char *field_end = memchr (field, '&', end - field);
      const char *equals;
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;

      if (field_end == NULL)
        field_end = end;
      query = field_end < end ? field_end : NULL;
      equals = memchr (field, '=', field_end - field);
      if (equals == NULL)
        continue;
      name = decode (field, equals - field, error);
      if (name == NULL || (value = decode (equals + 1, field_end - equals - 1, error)) == NULL)
        return NULL;

      if (g_ascii_strcasecmp (name, "to") == 0)
        add_addresses (to, value);
      else if (g_ascii_strcasecmp (name, "cc") == 0)
        add_addresses (cc, value);
      else if (g_ascii_strcasecmp (name, "bcc") == 0)
        add_addresses (bcc, value);
      else if (g_ascii_strcasecmp (name, "subject") == 0 && mailto->subject == NULL)
        mailto->subject = make_one_line (value);
      else if (g_ascii_strcasecmp (name, "body") == 0 && mailto->body == NULL)
        mailto->body = make_unix_lines (value);
      else if (g_ascii_strcasecmp (name, "in-reply-to") == 0 && mailto->in_reply_to == NULL)
        mailto->in_reply_to = make_one_line (value);
      else if ((g_ascii_strcasecmp (name, "attach") == 0 ||
                g_ascii_strcasecmp (name, "attachment") == 0) && *value != '\0')
        {
          char *file_uri = make_attachment_uri (value, error);

          if (file_uri == NULL)
            return NULL;
          g_ptr_array_add (attachments, file_uri);
        }
      /* Other header fields (and "from", which a link must never set) are ignored, as
       * RFC 6068 allows. */
    }

  mailto->to = steal_strv (g_steal_pointer (&to));
  mailto->cc = steal_strv (g_steal_pointer (&cc));
  mailto->bcc = steal_strv (g_steal_pointer (&bcc));
  mailto->attachments = steal_strv (g_steal_pointer (&attachments));
  return g_steal_pointer (&mailto);
}
