/* hir-imap-parser.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* tests/fuzz builds this file on its own, without config.h. */
#if defined __has_include
# if __has_include ("config.h")
#  include "config.h"
# endif
#endif
#ifndef GETTEXT_PACKAGE
# define GETTEXT_PACKAGE "hirondelle"
#endif

#include "hir-imap-parser.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "hir-error.h"

/* Parsing happens in two passes. The framer finds where one response ends: at a line end
 * that is not announced as the start of a literal ("{12}\r\n"), after skipping the literal's
 * bytes. Only once a whole response is in the buffer does the second pass turn it into
 * values, so the value parser never has to stop half-way, and partial reads cost nothing
 * but a rescan of the last line. */

struct _HirImapParser
{
  GByteArray *buffer;
  gsize       consumed;     /* bytes at the front that belong to returned responses */
  gsize       scan_offset;  /* the framer's resume point, relative to consumed */
};

typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         pos;
  GError      **error;
} Cursor;

HirImapParser *
hir_imap_parser_new (void)
{
  HirImapParser *self = g_new0 (HirImapParser, 1);

  self->buffer = g_byte_array_new ();
  return self;
}

void
hir_imap_parser_free (HirImapParser *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->buffer);
  g_free (self);
}

void
hir_imap_parser_feed (HirImapParser *self,
                      const guint8  *data,
                      gsize          len)
{
  /* Drop what earlier responses used before the buffer grows again. */
  if (self->consumed > 0)
    {
      g_byte_array_remove_range (self->buffer, 0, self->consumed);
      self->consumed = 0;
    }
  g_byte_array_append (self->buffer, data, len);
}

gsize
hir_imap_parser_get_pending (HirImapParser *self)
{
  return self->buffer->len - self->consumed;
}

void
hir_imap_value_free (HirImapValue *value)
{
  if (value == NULL)
    return;
  g_free (value->data);
  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_free (value);
}

void
hir_imap_response_free (HirImapResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->tag);
  g_free (response->text);
  hir_imap_value_free (response->code);
  hir_imap_value_free (response->data);
  g_free (response);
}

static gboolean
fail (Cursor     *cursor,
      const char *what)
{
  if (cursor->error != NULL && *cursor->error == NULL)
    {
      /* The position is formatted apart: xgettext cannot read G_GSIZE_FORMAT. */
      g_autofree char *position = g_strdup_printf ("%" G_GSIZE_FORMAT, cursor->pos);

      /* Translators: the first %s says what was wrong ("an unclosed list"), the second is
       * a number of bytes from the start of the response. */
      g_set_error (cursor->error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                   _("The IMAP server sent something unexpected: %s at byte %s"),
                   what, position);
    }
  return FALSE;
}

/* If the line [start, end) ends with a literal announcement "{N}" or "{N+}" (also
 * "~{N}" for literal8), returns TRUE and its size. */
static gboolean
line_announces_literal (const guint8 *line,
                        gsize         len,
                        guint64      *size,
                        gboolean     *too_large)
{
  gsize i;
  guint64 n = 0;
  gsize digits = 0;

  *too_large = FALSE;
  if (len < 3 || line[len - 1] != '}')
    return FALSE;
  i = len - 1;
  if (i > 0 && line[i - 1] == '+')
    i--;
  while (i > 0 && g_ascii_isdigit (line[i - 1]))
    {
      i--;
      digits++;
    }
  if (digits == 0 || i == 0 || line[i - 1] != '{')
    return FALSE;
  if (digits > 10)
    {
      *too_large = TRUE;
      return TRUE;
    }
  for (gsize k = i; k < i + digits; k++)
    n = n * 10 + (line[k] - '0');
  if (n > HIR_IMAP_MAX_LITERAL)
    *too_large = TRUE;
  *size = n;
  return TRUE;
}

/* Finds the end of the next complete response. Returns TRUE with *end just past its final
 * line end; FALSE with no error when more bytes are needed. */
static gboolean
frame_response (HirImapParser *self,
                gsize         *end,
                GError       **error)
{
  const guint8 *data;
  gsize len = self->buffer->len - self->consumed;
  gsize line_start = self->scan_offset;

  /* An empty GByteArray has no data pointer at all. */
  if (len == 0)
    return FALSE;
  data = self->buffer->data + self->consumed;

  while (line_start < len)
    {
      const guint8 *nl = memchr (data + line_start, '\n', len - line_start);
      gsize line_end;
      gsize content_end;
      guint64 literal = 0;
      gboolean too_large;

      if (nl == NULL)
        {
          if (len - line_start > HIR_IMAP_MAX_LINE)
            {
              g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                           _("The IMAP server sent a line longer than %d bytes"),
                           HIR_IMAP_MAX_LINE);
              return FALSE;
            }
          self->scan_offset = line_start;
          return FALSE;
        }

      line_end = (nl - data) + 1;
      content_end = line_end - 1;
      if (content_end > line_start && data[content_end - 1] == '\r')
        content_end--;

      if (!line_announces_literal (data + line_start, content_end - line_start,
                                   &literal, &too_large))
        {
          *end = line_end;
          self->scan_offset = 0;
          return TRUE;
        }
      if (too_large)
        {
          g_set_error (error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                       /* Translators: a literal is a block of data the server announces
                        * with its size before it sends it. */
                       _("The IMAP server announced a literal larger than %d bytes"),
                       HIR_IMAP_MAX_LITERAL);
          return FALSE;
        }
      if (len - line_end < literal)
        {
          /* Resume at this line: it is rescanned once the literal is complete. */
          self->scan_offset = line_start;
          return FALSE;
        }
      line_start = line_end + literal;
    }

  self->scan_offset = line_start;
  return FALSE;
}

static gboolean
at_line_end (Cursor *c)
{
  return c->pos >= c->len || c->data[c->pos] == '\r' || c->data[c->pos] == '\n';
}

static void
skip_spaces (Cursor *c)
{
  while (c->pos < c->len && c->data[c->pos] == ' ')
    c->pos++;
}

static HirImapValue *
value_new (HirImapValueKind kind,
           const guint8    *data,
           gsize            len)
{
  HirImapValue *value = g_new0 (HirImapValue, 1);

  value->kind = kind;
  if (kind == HIR_IMAP_VALUE_LIST)
    value->items = g_ptr_array_new_with_free_func ((GDestroyNotify) hir_imap_value_free);
  else if (kind != HIR_IMAP_VALUE_NIL)
    {
      value->data = g_malloc (len + 1);
      if (len > 0)
        memcpy (value->data, data, len);
      value->data[len] = '\0';
      value->len = len;
    }
  return value;
}

static gboolean
is_atom_char (guint8   ch,
              gboolean in_code)
{
  /* atom-specials: ( ) { SP CTL % * " \ ] — but flags (\Seen, \*) and sections
   * (BODY[…]) are read as one atom, and ']' ends a response code. */
  if (ch <= 0x1f || ch == 0x7f || ch == ' ' || ch == '(' || ch == ')' || ch == '"')
    return FALSE;
  if (in_code && ch == ']')
    return FALSE;
  return TRUE;
}

static HirImapValue *
parse_atom (Cursor  *c,
            gboolean in_code)
{
  gsize start = c->pos;
  HirImapValue *value;
  gboolean digits_only = TRUE;

  while (c->pos < c->len && is_atom_char (c->data[c->pos], in_code))
    {
      if (c->data[c->pos] == '[')
        {
          /* A section: everything up to the matching ']' belongs to the atom, spaces and
           * parentheses included ("BODY[HEADER.FIELDS (REFERENCES)]"). */
          const guint8 *close = memchr (c->data + c->pos, ']', c->len - c->pos);
          const guint8 *eol = memchr (c->data + c->pos, '\n', c->len - c->pos);

          if (close == NULL || (eol != NULL && eol < close))
            {
              /* Translators: completes "The IMAP server sent something unexpected: %s". */
              fail (c, _("an unterminated section"));
              return NULL;
            }
          digits_only = FALSE;
          c->pos = (close - c->data) + 1;
          continue;
        }
      if (!g_ascii_isdigit (c->data[c->pos]))
        digits_only = FALSE;
      c->pos++;
    }

  if (c->pos == start)
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("an empty token"));
      return NULL;
    }

  if (c->pos - start == 3 && g_ascii_strncasecmp ((const char *) c->data + start, "NIL", 3) == 0)
    return value_new (HIR_IMAP_VALUE_NIL, NULL, 0);

  if (digits_only && c->pos - start <= 19)
    {
      value = value_new (HIR_IMAP_VALUE_NUMBER, c->data + start, c->pos - start);
      value->number = g_ascii_strtoull (value->data, NULL, 10);
      return value;
    }

  return value_new (HIR_IMAP_VALUE_ATOM, c->data + start, c->pos - start);
}

static HirImapValue *
parse_quoted (Cursor *c)
{
  g_autoptr(GByteArray) text = g_byte_array_new ();

  c->pos++; /* the opening quote */
  while (c->pos < c->len)
    {
      guint8 ch = c->data[c->pos];

      if (ch == '"')
        {
          c->pos++;
          return value_new (HIR_IMAP_VALUE_STRING, text->data, text->len);
        }
      if (ch == '\r' || ch == '\n')
        break;
      if (ch == '\\')
        {
          c->pos++;
          if (c->pos >= c->len)
            break;
          ch = c->data[c->pos];
        }
      g_byte_array_append (text, &ch, 1);
      c->pos++;
    }

  /* Translators: completes "The IMAP server sent something unexpected: %s". */
  fail (c, _("an unterminated quoted string"));
  return NULL;
}

static HirImapValue *
parse_literal (Cursor *c)
{
  guint64 size = 0;
  gsize digits = 0;

  if (c->data[c->pos] == '~')
    c->pos++;
  c->pos++; /* '{' */
  while (c->pos < c->len && g_ascii_isdigit (c->data[c->pos]) && digits < 11)
    {
      size = size * 10 + (c->data[c->pos] - '0');
      c->pos++;
      digits++;
    }
  if (c->pos < c->len && c->data[c->pos] == '+')
    c->pos++;
  if (digits == 0 || c->pos >= c->len || c->data[c->pos] != '}')
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a malformed literal"));
      return NULL;
    }
  c->pos++;
  if (c->pos < c->len && c->data[c->pos] == '\r')
    c->pos++;
  if (c->pos >= c->len || c->data[c->pos] != '\n')
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a literal not followed by a line end"));
      return NULL;
    }
  c->pos++;
  if (size > c->len - c->pos)
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a literal longer than the response"));
      return NULL;
    }
  c->pos += size;
  return value_new (HIR_IMAP_VALUE_STRING, c->data + c->pos - size, size);
}

static HirImapValue *parse_value (Cursor  *c,
                                  guint    depth,
                                  gboolean in_code);

/* Values up to @terminator (')' or ']'), or to the line end when @terminator is 0. */
static gboolean
parse_sequence (Cursor       *c,
                HirImapValue *list,
                guint8        terminator,
                guint         depth,
                gboolean      in_code)
{
  for (;;)
    {
      HirImapValue *item;

      skip_spaces (c);
      if (terminator != 0 && c->pos < c->len && c->data[c->pos] == terminator)
        {
          c->pos++;
          return TRUE;
        }
      if (at_line_end (c))
        {
          if (terminator == 0)
            return TRUE;
          /* Translators: completes "The IMAP server sent something unexpected: %s". */
          return fail (c, terminator == ')' ? _("an unclosed list")
                                            : _("an unclosed response code"));
        }
      item = parse_value (c, depth, in_code);
      if (item == NULL)
        return FALSE;
      g_ptr_array_add (list->items, item);
    }
}

static HirImapValue *
parse_value (Cursor  *c,
             guint    depth,
             gboolean in_code)
{
  guint8 ch = c->data[c->pos];

  if (ch == '(')
    {
      g_autoptr(HirImapValue) list = NULL;

      if (depth >= HIR_IMAP_MAX_DEPTH)
        {
          /* Translators: completes "The IMAP server sent something unexpected: %s". */
          fail (c, _("lists nested too deeply"));
          return NULL;
        }
      list = value_new (HIR_IMAP_VALUE_LIST, NULL, 0);
      c->pos++;
      if (!parse_sequence (c, list, ')', depth + 1, FALSE))
        return NULL;
      return g_steal_pointer (&list);
    }
  if (ch == ')')
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("an unmatched ')'"));
      return NULL;
    }
  if (ch == '"')
    return parse_quoted (c);
  if (ch == '{' || (ch == '~' && c->pos + 1 < c->len && c->data[c->pos + 1] == '{'))
    return parse_literal (c);
  return parse_atom (c, in_code);
}

/* The rest of the line, as text. */
static char *
take_text (Cursor *c)
{
  gsize start = c->pos;

  while (!at_line_end (c))
    c->pos++;
  return g_utf8_make_valid ((const char *) c->data + start, c->pos - start);
}

static HirImapStatus
status_from_word (const HirImapValue *word)
{
  static const struct { const char *name; HirImapStatus status; } statuses[] = {
    { "OK", HIR_IMAP_STATUS_OK },
    { "NO", HIR_IMAP_STATUS_NO },
    { "BAD", HIR_IMAP_STATUS_BAD },
    { "PREAUTH", HIR_IMAP_STATUS_PREAUTH },
    { "BYE", HIR_IMAP_STATUS_BYE },
  };

  if (word == NULL || word->kind != HIR_IMAP_VALUE_ATOM)
    return HIR_IMAP_STATUS_NONE;
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (g_ascii_strcasecmp (word->data, statuses[i].name) == 0)
      return statuses[i].status;
  return HIR_IMAP_STATUS_NONE;
}

static HirImapResponse *
parse_response (Cursor *c)
{
  g_autoptr(HirImapResponse) response = g_new0 (HirImapResponse, 1);
  gsize tag_start = c->pos;
  g_autoptr(HirImapValue) first = NULL;

  if (c->len == 0 || at_line_end (c))
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("an empty line"));
      return NULL;
    }

  if (c->data[0] == '+')
    {
      response->kind = HIR_IMAP_RESPONSE_CONTINUATION;
      c->pos = 1;
      skip_spaces (c);
      response->text = take_text (c);
      return g_steal_pointer (&response);
    }

  while (c->pos < c->len && is_atom_char (c->data[c->pos], TRUE) && c->data[c->pos] != '[')
    c->pos++;
  if (c->pos == tag_start || c->pos >= c->len || c->data[c->pos] != ' ')
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a response without a tag"));
      return NULL;
    }
  if (c->pos - tag_start == 1 && c->data[tag_start] == '*')
    response->kind = HIR_IMAP_RESPONSE_UNTAGGED;
  else
    {
      response->kind = HIR_IMAP_RESPONSE_TAGGED;
      response->tag = g_strndup ((const char *) c->data + tag_start, c->pos - tag_start);
    }
  skip_spaces (c);
  if (at_line_end (c))
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a response with nothing after its tag"));
      return NULL;
    }

  /* "* 3 EXISTS" starts with a number, "* OK …" with a status word. */
  first = parse_value (c, 0, FALSE);
  if (first == NULL)
    return NULL;
  response->status = status_from_word (first);

  if (response->status != HIR_IMAP_STATUS_NONE)
    {
      skip_spaces (c);
      if (c->pos < c->len && c->data[c->pos] == '[')
        {
          response->code = value_new (HIR_IMAP_VALUE_LIST, NULL, 0);
          c->pos++;
          if (!parse_sequence (c, response->code, ']', 1, TRUE))
            return NULL;
          skip_spaces (c);
        }
      response->text = take_text (c);
      return g_steal_pointer (&response);
    }

  if (response->kind == HIR_IMAP_RESPONSE_TAGGED)
    {
      /* Translators: completes "The IMAP server sent something unexpected: %s". */
      fail (c, _("a tagged response that is not OK, NO or BAD"));
      return NULL;
    }

  response->data = value_new (HIR_IMAP_VALUE_LIST, NULL, 0);
  g_ptr_array_add (response->data->items, g_steal_pointer (&first));
  if (!parse_sequence (c, response->data, 0, 0, FALSE))
    return NULL;
  return g_steal_pointer (&response);
}

HirImapParseResult
hir_imap_parser_next (HirImapParser    *self,
                      HirImapResponse **response,
                      GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize end = 0;
  Cursor cursor;

  g_return_val_if_fail (response != NULL, HIR_IMAP_PARSE_ERROR);
  *response = NULL;

  if (!frame_response (self, &end, &local_error))
    {
      if (local_error == NULL)
        return HIR_IMAP_PARSE_NEED_MORE;
      /* Nothing can be framed after this: drop everything received so far. */
      self->consumed = self->buffer->len;
      self->scan_offset = 0;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return HIR_IMAP_PARSE_ERROR;
    }

  cursor.data = self->buffer->data + self->consumed;
  cursor.len = end;
  cursor.pos = 0;
  cursor.error = &local_error;
  *response = parse_response (&cursor);
  self->consumed += end;

  if (*response == NULL)
    {
      if (local_error == NULL)
        g_set_error_literal (&local_error, HIR_ERROR, HIR_ERROR_PROTOCOL,
                             _("The IMAP server sent an unreadable response"));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return HIR_IMAP_PARSE_ERROR;
    }
  return HIR_IMAP_PARSE_RESPONSE;
}

const char *
hir_imap_value_get_string (const HirImapValue *value)
{
  if (value == NULL || value->kind == HIR_IMAP_VALUE_NIL || value->kind == HIR_IMAP_VALUE_LIST)
    return NULL;
  return value->data;
}

gboolean
hir_imap_value_get_number (const HirImapValue *value,
                           guint64            *number)
{
  if (value == NULL || value->kind != HIR_IMAP_VALUE_NUMBER)
    return FALSE;
  *number = value->number;
  return TRUE;
}

guint
hir_imap_value_get_length (const HirImapValue *value)
{
  if (value == NULL || value->kind != HIR_IMAP_VALUE_LIST)
    return 0;
  return value->items->len;
}

HirImapValue *
hir_imap_value_get_item (const HirImapValue *value,
                         guint               index)
{
  if (value == NULL || value->kind != HIR_IMAP_VALUE_LIST || index >= value->items->len)
    return NULL;
  return g_ptr_array_index (value->items, index);
}

gboolean
hir_imap_value_is_atom (const HirImapValue *value,
                        const char         *atom)
{
  return value != NULL && value->kind == HIR_IMAP_VALUE_ATOM &&
         g_ascii_strcasecmp (value->data, atom) == 0;
}

HirImapValue *
hir_imap_value_lookup (const HirImapValue *list,
                       const char         *key)
{
  guint n = hir_imap_value_get_length (list);

  for (guint i = 0; i + 1 < n; i += 2)
    if (hir_imap_value_is_atom (g_ptr_array_index (list->items, i), key))
      return g_ptr_array_index (list->items, i + 1);
  return NULL;
}
