/* hir-message-document.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "hir-message-document.h"

/* Sources every message may use: its own parts and inline data. */
#define CSP_LOCAL \
  "default-src 'none'; " \
  "img-src cid: data:; " \
  "style-src 'unsafe-inline' cid:; " \
  "font-src cid: data:; " \
  "form-action 'none'; " \
  "base-uri 'none'"

/* After the user allowed remote content: passive resources over http(s), nothing active. */
#define CSP_REMOTE \
  "default-src 'none'; " \
  "img-src cid: data: http: https:; " \
  "style-src 'unsafe-inline' cid: http: https:; " \
  "font-src cid: data: http: https:; " \
  "form-action 'none'; " \
  "base-uri 'none'"

/* One sheet for both kinds of message. HTML mail is written for a white page, so it keeps
 * one in every theme (a card on the dark reader); plain text follows the theme. */
static const char style_sheet[] =
  "html { background: #ffffff; color: #1e1e1e; }\n"
  "html.plain-dark { background: #1e1e1e; color: #ffffff; color-scheme: dark; }\n"
  "body { margin: 18px 20px; font-family: Cantarell, 'Noto Sans', 'DejaVu Sans', sans-serif;"
  " font-size: 11pt; line-height: 1.45; overflow-wrap: break-word; }\n"
  "img { max-width: 100%; height: auto; }\n"
  "pre { white-space: pre-wrap; }\n"
  "a { color: #1a5fb4; }\n"
  "html.plain-dark a { color: #78aeed; }\n"
  ".hir-plain { white-space: pre-wrap; font-family: inherit; }\n"
  "blockquote.hir-quote { margin: 6px 0; padding: 0 0 0 12px;"
  " border-left: 3px solid #3584e4; color: #5e5c64; }\n"
  "html.plain-dark blockquote.hir-quote { color: #c0bfbc; }\n"
  "blockquote.hir-quote blockquote.hir-quote { border-left-color: #26a269; }\n"
  "blockquote.hir-quote blockquote.hir-quote blockquote.hir-quote"
  " { border-left-color: #c64600; }\n";

char *
hir_message_document_dup_csp (gboolean allow_remote)
{
  return g_strdup (allow_remote ? CSP_REMOTE : CSP_LOCAL);
}

static gboolean
has_prefix_ci (const char *s,
               const char *prefix)
{
  return g_ascii_strncasecmp (s, prefix, strlen (prefix)) == 0;
}

/* Length of the link starting at @s, or 0 when no http/https/mailto link starts there. */
static gsize
link_length (const char *s,
             const char *line_start)
{
  gsize len = 0;
  gsize scheme_len;
  int parens = 0;

  if (s > line_start && (g_ascii_isalnum (s[-1]) || s[-1] == '/' || s[-1] == '@'))
    return 0;

  if (has_prefix_ci (s, "https://"))
    scheme_len = 8;
  else if (has_prefix_ci (s, "http://"))
    scheme_len = 7;
  else if (has_prefix_ci (s, "mailto:"))
    scheme_len = 7;
  else
    return 0;

  for (len = scheme_len; s[len] != '\0'; len++)
    {
      char c = s[len];

      if (g_ascii_isspace (c) || c == '<' || c == '>' || c == '"' || c == '\'' || c == '`')
        break;
      if (c == '(')
        parens++;
      else if (c == ')')
        {
          if (parens == 0)
            break;
          parens--;
        }
    }

  /* Punctuation that ends a sentence is not part of the link. */
  while (len > scheme_len && strchr (".,;:!?", s[len - 1]) != NULL)
    len--;

  return len > scheme_len ? len : 0;
}

static void
append_escaped (GString    *out,
                const char *s,
                gssize      len)
{
  g_autofree char *escaped = g_markup_escape_text (s, len);

  g_string_append (out, escaped);
}

static void
append_linkified_line (GString    *out,
                       const char *line)
{
  const char *run = line;
  const char *p = line;

  while (*p != '\0')
    {
      gsize len = link_length (p, line);

      if (len == 0)
        {
          p++;
          continue;
        }

      append_escaped (out, run, p - run);
      g_string_append (out, "<a href=\"");
      append_escaped (out, p, len);
      g_string_append (out, "\">");
      append_escaped (out, p, len);
      g_string_append (out, "</a>");
      p += len;
      run = p;
    }
  append_escaped (out, run, p - run);
}

/* Counts the quote markers at the start of @line ("> > x", ">>x") and returns the text
 * after them. */
static const char *
strip_quote_markers (const char *line,
                     guint      *level)
{
  const char *p = line;
  const char *text = line;

  *level = 0;
  for (;;)
    {
      while (*p == ' ')
        p++;
      if (*p != '>')
        break;
      p++;
      (*level)++;
      if (*p == ' ')
        p++;
      text = p;
    }
  return text;
}

char *
hir_message_document_text_to_html (const char *text)
{
  g_autoptr(GString) out = g_string_new ("<div class=\"hir-plain\">");
  g_auto(GStrv) lines = NULL;
  guint n_lines;
  guint depth = 0;

  if (text == NULL)
    text = "";

  lines = g_strsplit (text, "\n", -1);
  n_lines = g_strv_length (lines);
  /* A final newline does not make an empty last line. */
  if (n_lines > 0 && lines[n_lines - 1][0] == '\0')
    n_lines--;

  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *line = g_strdup (lines[i]);
      gsize len = strlen (line);
      const char *content;
      guint level;
      guint next_level = 0;

      if (len > 0 && line[len - 1] == '\r')
        line[len - 1] = '\0';

      content = strip_quote_markers (line, &level);

      while (depth < level)
        {
          g_string_append (out, "<blockquote class=\"hir-quote\">");
          depth++;
        }
      while (depth > level)
        {
          g_string_append (out, "</blockquote>");
          depth--;
        }

      append_linkified_line (out, content);

      if (i + 1 < n_lines)
        strip_quote_markers (lines[i + 1], &next_level);
      /* Blocks break lines themselves; a newline there would show as an empty line. */
      if (i + 1 < n_lines && next_level == level)
        g_string_append_c (out, '\n');
    }

  while (depth > 0)
    {
      g_string_append (out, "</blockquote>");
      depth--;
    }
  g_string_append (out, "</div>");

  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
hir_message_document_build (const char *html,
                            const char *text,
                            gboolean    allow_remote,
                            gboolean    dark)
{
  g_autofree char *csp = hir_message_document_dup_csp (allow_remote);
  g_autoptr(GString) doc = g_string_new (NULL);
  gboolean plain = html == NULL;

  g_string_append_printf (doc,
                          "<!DOCTYPE html>\n"
                          "<html class=\"%s\"><head>"
                          "<meta charset=\"utf-8\">"
                          "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">"
                          "<meta name=\"color-scheme\" content=\"%s\">"
                          "<style>%s</style>"
                          "</head><body>",
                          plain && dark ? "plain-dark" : "page",
                          csp,
                          plain && dark ? "dark" : "light",
                          style_sheet);

  /* The sender's <html>/<head>/<body> tags, if any, merge into ours: the parser keeps the
   * first <meta charset> and the first CSP only tightens, so nothing here can undo ours. */
  if (!plain)
    g_string_append (doc, html);
  else
    {
      g_autofree char *fragment = hir_message_document_text_to_html (text);

      g_string_append (doc, fragment);
      g_string_append (doc, "</body></html>");
    }

  return g_string_free (g_steal_pointer (&doc), FALSE);
}

gboolean
hir_message_document_has_remote_content (const char *html)
{
  static GRegex *tag_regex;
  static GRegex *remote_in_tag_regex;
  static GRegex *remote_in_css_regex;
  g_autoptr(GMatchInfo) match = NULL;

  if (html == NULL)
    return FALSE;

  if (g_once_init_enter (&tag_regex))
    {
      remote_in_tag_regex =
        g_regex_new ("(?:https?|ftp|wss?):/*[^\\s\"'>]|=\\s*[\"']?\\s*//[^/\\s]|url\\s*\\(\\s*[\"']?\\s*//",
                     G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
      remote_in_css_regex =
        g_regex_new ("url\\s*\\(\\s*[\"']?\\s*(?:(?:https?|ftp):)?//|@import\\s+[\"']?\\s*(?:(?:https?|ftp):)?//",
                     G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&tag_regex,
                         g_regex_new ("<\\s*([a-z][a-z0-9:-]*)\\b([^>]*)>",
                                      G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL));
    }

  /* Style sheets anywhere: <style> blocks and style attributes alike. */
  if (g_regex_match (remote_in_css_regex, html, 0, NULL))
    return TRUE;

  /* Any attribute of any tag but a link's target: src, srcset, background, poster, data,
   * <link href>, <meta http-equiv=refresh content>… */
  g_regex_match (tag_regex, html, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *name = g_match_info_fetch (match, 1);
      g_autofree char *attributes = g_match_info_fetch (match, 2);

      if (g_ascii_strcasecmp (name, "a") != 0 && g_ascii_strcasecmp (name, "area") != 0 &&
          g_regex_match (remote_in_tag_regex, attributes, 0, NULL))
        return TRUE;
      g_match_info_next (match, NULL);
    }

  return FALSE;
}
