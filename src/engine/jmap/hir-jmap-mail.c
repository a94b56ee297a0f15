/* hir-jmap-mail.c: JMAP Mail objects (RFC 8621) to the engine's objects and back
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "hir-jmap-mail.h"

const char * const hir_jmap_summary_properties[] = {
  "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "sentAt",
  "messageId", "inReplyTo", "references", "from", "to", "cc", "subject", "preview",
  "hasAttachment", NULL
};

const char * const hir_jmap_body_properties[] = {
  "id", "textBody", "htmlBody", "attachments", "bodyValues", NULL
};

const char * const hir_jmap_body_part_properties[] = {
  "partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", NULL
};

static const struct {
  const char *keyword;
  HirMessageFlags flag;
} keyword_flags[] = {
  { "$seen", HIR_MESSAGE_FLAG_SEEN },
  { "$flagged", HIR_MESSAGE_FLAG_FLAGGED },
  { "$answered", HIR_MESSAGE_FLAG_ANSWERED },
  { "$draft", HIR_MESSAGE_FLAG_DRAFT },
};

/* json-glib asserts on the type of a member; servers send null for absent values. */
static const char *
get_string (JsonObject *object,
            const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static JsonObject *
get_object (JsonObject *object,
            const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
get_array (JsonObject *object,
           const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gint64
get_int (JsonObject *object,
         const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return 0;
  return json_node_get_int (node);
}

HirFolder *
hir_jmap_folder_from_json (const char *account_id,
                           JsonObject *mailbox)
{
  const char *id = get_string (mailbox, "id");
  const char *name = get_string (mailbox, "name");
  HirFolder *folder;

  g_return_val_if_fail (id != NULL, NULL);

  folder = hir_folder_new (account_id, id, name ? name : "",
                           hir_folder_role_from_string (get_string (mailbox, "role")));
  hir_folder_set_parent_remote_id (folder, get_string (mailbox, "parentId"));
  hir_folder_set_sort_order (folder, (guint) CLAMP (get_int (mailbox, "sortOrder"), 0, G_MAXUINT));
  return folder;
}

HirMessageFlags
hir_jmap_flags_from_keywords (JsonObject *keywords)
{
  HirMessageFlags flags = HIR_MESSAGE_FLAG_NONE;
  g_autoptr(GList) names = NULL;

  if (keywords == NULL)
    return flags;

  /* Keywords are case-insensitive (RFC 8621 §4.1.1). */
  names = json_object_get_members (keywords);
  for (GList *l = names; l != NULL; l = l->next)
    for (guint i = 0; i < G_N_ELEMENTS (keyword_flags); i++)
      if (g_ascii_strcasecmp (l->data, keyword_flags[i].keyword) == 0 &&
          json_object_get_boolean_member_with_default (keywords, l->data, FALSE))
        flags |= keyword_flags[i].flag;
  return flags;
}

void
hir_jmap_add_keywords_patch (JsonBuilder     *builder,
                             HirMessageFlags  flags)
{
  for (guint i = 0; i < G_N_ELEMENTS (keyword_flags); i++)
    {
      g_autofree char *path = g_strconcat ("keywords/", keyword_flags[i].keyword, NULL);

      json_builder_set_member_name (builder, path);
      /* A patch removes a keyword with null, not false (RFC 8620 §5.3). */
      if (flags & keyword_flags[i].flag)
        json_builder_add_boolean_value (builder, TRUE);
      else
        json_builder_add_null_value (builder);
    }
}

/* A display name needs quotes when it has characters that mean something in an address
 * list (RFC 5322 "specials"). */
static void
append_address (GString    *out,
                JsonObject *address)
{
  const char *name = get_string (address, "name");
  const char *email = get_string (address, "email");

  if (out->len > 0)
    g_string_append (out, ", ");

  if (name == NULL || *name == '\0')
    {
      g_string_append (out, email ? email : "");
      return;
    }

  if (strpbrk (name, "()<>[]:;@\\,.\"") != NULL)
    {
      g_string_append_c (out, '"');
      for (const char *p = name; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  else
    g_string_append (out, name);

  if (email != NULL)
    g_string_append_printf (out, " <%s>", email);
}

char *
hir_jmap_format_addresses (JsonArray *addresses)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; addresses != NULL && i < json_array_get_length (addresses); i++)
    {
      JsonNode *node = json_array_get_element (addresses, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        append_address (out, json_node_get_object (node));
    }
  return g_string_free (out, FALSE);
}

static gint64
parse_date (const char *text)
{
  g_autoptr(GDateTime) date = NULL;

  if (text == NULL)
    return 0;
  date = g_date_time_new_from_iso8601 (text, NULL);
  return date ? g_date_time_to_unix (date) : 0;
}

static char *
join_strings (JsonArray  *array,
              const char *separator)
{
  GString *out;

  if (array == NULL || json_array_get_length (array) == 0)
    return NULL;
  out = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
          json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      if (out->len > 0)
        g_string_append (out, separator);
      g_string_append (out, json_node_get_string (node));
    }
  return g_string_free (out, FALSE);
}

HirMessage *
hir_jmap_message_from_json (const char  *account_id,
                            JsonObject  *email,
                            GStrv       *folder_ids)
{
  g_autoptr(HirMessage) message = hir_message_new ();
  JsonArray *from = get_array (email, "from");
  JsonObject *mailboxes = get_object (email, "mailboxIds");
  g_autofree char *to = hir_jmap_format_addresses (get_array (email, "to"));
  g_autofree char *cc = hir_jmap_format_addresses (get_array (email, "cc"));
  g_autofree char *references = join_strings (get_array (email, "references"), " ");
  JsonArray *message_id = get_array (email, "messageId");
  JsonArray *in_reply_to = get_array (email, "inReplyTo");
  gint64 date;

  hir_message_set_account_id (message, account_id);
  hir_message_set_remote_id (message, get_string (email, "id"));
  hir_message_set_thread_id (message, get_string (email, "threadId"));
  if (message_id != NULL && json_array_get_length (message_id) > 0)
    hir_message_set_message_id (message, json_array_get_string_element (message_id, 0));
  if (in_reply_to != NULL && json_array_get_length (in_reply_to) > 0)
    hir_message_set_in_reply_to (message, json_array_get_string_element (in_reply_to, 0));
  hir_message_set_references (message, references);
  /* The server has already decoded RFC 2047 words and charsets. */
  hir_message_set_subject (message, get_string (email, "subject") ? get_string (email, "subject") : "");
  if (from != NULL && json_array_get_length (from) > 0 &&
      JSON_NODE_HOLDS_OBJECT (json_array_get_element (from, 0)))
    {
      JsonObject *first = json_array_get_object_element (from, 0);

      hir_message_set_from_name (message, get_string (first, "name") ? get_string (first, "name") : "");
      hir_message_set_from_address (message, get_string (first, "email"));
    }
  hir_message_set_to (message, to);
  hir_message_set_cc (message, cc);
  /* The Date header, as the sender's clock had it; else when the server got it. */
  date = parse_date (get_string (email, "sentAt"));
  if (date == 0)
    date = parse_date (get_string (email, "receivedAt"));
  hir_message_set_date (message, date);
  hir_message_set_preview (message, get_string (email, "preview"));
  hir_message_set_size (message, (guint64) MAX (get_int (email, "size"), 0));
  hir_message_set_flags (message, hir_jmap_flags_from_keywords (get_object (email, "keywords")));
  hir_message_set_has_attachment (message,
                                  json_object_get_boolean_member_with_default (email, "hasAttachment",
                                                                               FALSE));

  if (folder_ids != NULL)
    {
      g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
      g_autoptr(GList) names = mailboxes ? json_object_get_members (mailboxes) : NULL;

      for (GList *l = names; l != NULL; l = l->next)
        if (json_object_get_boolean_member_with_default (mailboxes, l->data, FALSE))
          g_strv_builder_add (ids, l->data);
      *folder_ids = g_strv_builder_end (ids);
    }

  return g_steal_pointer (&message);
}

/* Joins the decoded values of the parts of @parts whose type starts with @type_prefix. */
static char *
join_part_values (JsonArray  *parts,
                  JsonObject *values,
                  const char *type_prefix,
                  gboolean   *found)
{
  g_autoptr(GString) out = g_string_new (NULL);

  *found = FALSE;
  for (guint i = 0; parts != NULL && i < json_array_get_length (parts); i++)
    {
      JsonObject *part = JSON_NODE_HOLDS_OBJECT (json_array_get_element (parts, i))
        ? json_array_get_object_element (parts, i) : NULL;
      const char *type = get_string (part, "type");
      const char *part_id = get_string (part, "partId");
      const char *value;

      if (type == NULL || part_id == NULL || !g_str_has_prefix (type, type_prefix))
        continue;
      value = get_string (get_object (values, part_id), "value");
      if (value == NULL)
        continue;
      /* Parts of one body are separated the way a reader would see them apart. */
      if (*found && out->len > 0 && out->str[out->len - 1] != '\n')
        g_string_append_c (out, '\n');
      g_string_append (out, value);
      *found = TRUE;
    }
  return *found ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

static char *
strip_angles (const char *cid)
{
  gsize len;

  if (cid == NULL)
    return NULL;
  len = strlen (cid);
  if (len >= 2 && cid[0] == '<' && cid[len - 1] == '>')
    return g_strndup (cid + 1, len - 2);
  return g_strdup (cid);
}

HirMessageBody *
hir_jmap_body_from_json (JsonObject *email)
{
  JsonObject *values = get_object (email, "bodyValues");
  JsonArray *attachments = get_array (email, "attachments");
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autoptr(HirMessageBody) body = NULL;
  gboolean found;

  text = join_part_values (get_array (email, "textBody"), values, "text/plain", &found);
  /* htmlBody falls back to the text/plain parts when there is no HTML: then the message
   * has no HTML at all. */
  html = join_part_values (get_array (email, "htmlBody"), values, "text/html", &found);

  body = hir_message_body_new (text, html);

  for (guint i = 0; attachments != NULL && i < json_array_get_length (attachments); i++)
    {
      JsonObject *part = JSON_NODE_HOLDS_OBJECT (json_array_get_element (attachments, i))
        ? json_array_get_object_element (attachments, i) : NULL;
      g_autoptr(HirAttachment) attachment = NULL;
      g_autofree char *cid = NULL;
      const char *disposition;

      if (part == NULL || get_string (part, "blobId") == NULL)
        continue;

      attachment = hir_attachment_new (get_string (part, "partId"), get_string (part, "blobId"),
                                       get_string (part, "name"),
                                       get_string (part, "type") ? get_string (part, "type")
                                                                 : "application/octet-stream",
                                       (guint64) MAX (get_int (part, "size"), 0));
      cid = strip_angles (get_string (part, "cid"));
      disposition = get_string (part, "disposition");
      if (cid != NULL)
        {
          g_autofree char *reference = g_strconcat ("cid:", cid, NULL);

          hir_attachment_set_content_id (attachment, cid);
          /* Inline means the HTML shows it; a part that says "attachment" is offered as a
           * file even when it has a Content-ID. */
          hir_attachment_set_inline (attachment,
                                     html != NULL && strstr (html, reference) != NULL &&
                                     g_strcmp0 (disposition, "attachment") != 0);
        }
      hir_message_body_add_attachment (body, attachment);
    }

  return g_steal_pointer (&body);
}
