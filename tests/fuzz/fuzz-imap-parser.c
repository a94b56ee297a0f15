/* fuzz-imap-parser.c: libFuzzer target for the IMAP response parser
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The input is cut in two at a place chosen by its first byte, so partial reads are
 * fuzzed as well as content. Every value of every response is walked, so a malformed
 * tree that the parser built would be touched here.
 */
#include <stdint.h>

#include "hir-imap-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
walk (const HirImapValue *value,
      guint               depth)
{
  guint64 n;

  if (value == NULL)
    return;
  g_assert (depth <= HIR_IMAP_MAX_DEPTH + 1);
  (void) hir_imap_value_get_string (value);
  (void) hir_imap_value_get_number (value, &n);
  (void) hir_imap_value_lookup (value, "UID");
  for (guint i = 0; i < hir_imap_value_get_length (value); i++)
    walk (hir_imap_value_get_item (value, i), depth + 1);
}

static void
drain (HirImapParser *parser)
{
  HirImapResponse *response = NULL;
  GError *error = NULL;
  HirImapParseResult result;

  while ((result = hir_imap_parser_next (parser, &response, &error)) != HIR_IMAP_PARSE_NEED_MORE)
    {
      if (result == HIR_IMAP_PARSE_RESPONSE)
        {
          walk (response->code, 0);
          walk (response->data, 0);
          hir_imap_response_free (response);
        }
      else
        g_clear_error (&error);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  HirImapParser *parser = hir_imap_parser_new ();
  size_t cut = size > 0 ? data[0] % (size + 1) : 0;

  hir_imap_parser_feed (parser, data, cut);
  drain (parser);
  hir_imap_parser_feed (parser, data + cut, size - cut);
  drain (parser);
  hir_imap_parser_free (parser);
  return 0;
}
