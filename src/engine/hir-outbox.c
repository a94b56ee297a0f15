/* hir-outbox.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "hir-outbox.h"

#include <glib/gi18n-lib.h>
#include <sqlite3.h>
#include <string.h>

#include "hir-engine.h"
#include "hir-error.h"
#include "hir-imap-client.h"
#include "hir-imap-provider.h"
#include "hir-jmap-client.h"
#include "hir-mime-private.h"
#include "hir-outbox-private.h"
#include "hir-secrets.h"
#include "hir-smtp-transport.h"

/* Temporary failures are retried after 5 s, doubling, at most every 5 minutes (and at
 * once when the account comes back online). */
#define RETRY_FIRST_SECONDS 5
#define RETRY_MAX_SECONDS   300

#define JMAP_CORE       "urn:ietf:params:jmap:core"
#define JMAP_MAIL       "urn:ietf:params:jmap:mail"

/* Step markers, in order. A marker is committed before its step is taken, so after a
 * crash the marker says what may have happened:
 *   queued     nothing went out
 *   uploading  bytes may have reached the server (SMTP: maybe accepted; JMAP: a copy
 *              may exist in Drafts, maybe submitted) — resume checks before resending
 *   submitted  the server accepted it: never send again, only file
 *   filing     the copy for Sent may exist — resume looks for its Message-ID first
 *   filed      done */
#define STEP_QUEUED    "queued"
#define STEP_UPLOADING "uploading"
#define STEP_SUBMITTED "submitted"
#define STEP_FILING    "filing"
#define STEP_FILED     "filed"

typedef struct
{
  gint64 id;
  char *account_id;
  HirOutgoingState state;
  char *error_message;
  gint64 send_at;
  gint64 next_try;          /* monotonic seconds; 0: no backoff */
  guint backoff;
} Entry;

struct _HirOutbox
{
  GObject parent_instance;

  HirEngine *engine;        /* not owned; NULL after shutdown */
  HirStore *store;
  GCancellable *cancellable;
  GHashTable *entries;      /* gint64 id → Entry */
  GHashTable *draft_ops;    /* gint64 id → 1 (server copy being made) or 2 (and again) */
  gboolean started;
  gboolean loading;
  gboolean loaded;
  gint64 sending_id;        /* the message being sent now, or 0 */
  guint timer;

  HirOutboxStepHook step_hook;
  gpointer step_hook_data;
};

G_DEFINE_FINAL_TYPE (HirOutbox, hir_outbox, G_TYPE_OBJECT)

enum {
  STATE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void pump (HirOutbox *self);

/* ------------------------------------------------------------------------------------ */
/* Rows: plain copies of a message, safe to hand to the store's thread                  */

typedef struct
{
  char *filename;
  char *content_type;
  char *content_id;
  GBytes *data;
} AttRow;

static void
att_row_free (AttRow *a)
{
  g_free (a->filename);
  g_free (a->content_type);
  g_free (a->content_id);
  g_clear_pointer (&a->data, g_bytes_unref);
  g_free (a);
}

typedef struct
{
  gint64 id;
  char *account_id;
  char *from;
  char *to;
  char *cc;
  char *bcc;
  char *subject;
  char *text;
  char *html;
  char *in_reply_to;
  char *references;
  char *message_id;
  char *error_message;
  char *draft_remote_id;
  int state;
  gint64 send_at;
  char *step;
  GBytes *mime;
  char *remote_ref;
  GPtrArray *attachments;   /* AttRow, or NULL when not loaded */
  gint64 attachments_size;  /* loaded with the MIME */
} Row;

static void
row_free (Row *row)
{
  if (row == NULL)
    return;
  g_free (row->account_id);
  g_free (row->from);
  g_free (row->to);
  g_free (row->cc);
  g_free (row->bcc);
  g_free (row->subject);
  g_free (row->text);
  g_free (row->html);
  g_free (row->in_reply_to);
  g_free (row->references);
  g_free (row->message_id);
  g_free (row->error_message);
  g_free (row->draft_remote_id);
  g_free (row->step);
  g_clear_pointer (&row->mime, g_bytes_unref);
  g_free (row->remote_ref);
  g_clear_pointer (&row->attachments, g_ptr_array_unref);
  g_free (row);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Row, row_free)

static Row *
row_from_outgoing (HirOutgoing *outgoing)
{
  Row *row = g_new0 (Row, 1);
  GListModel *attachments = hir_outgoing_get_attachments (outgoing);

  row->id = hir_outgoing_get_id (outgoing);
  row->account_id = g_strdup (hir_outgoing_get_account_id (outgoing));
  row->from = g_strdup (hir_outgoing_get_from (outgoing));
  row->to = g_strdup (hir_outgoing_get_to (outgoing));
  row->cc = g_strdup (hir_outgoing_get_cc (outgoing));
  row->bcc = g_strdup (hir_outgoing_get_bcc (outgoing));
  row->subject = g_strdup (hir_outgoing_get_subject (outgoing));
  row->text = g_strdup (hir_outgoing_get_text (outgoing));
  row->html = g_strdup (hir_outgoing_get_html (outgoing));
  row->in_reply_to = g_strdup (hir_outgoing_get_in_reply_to (outgoing));
  row->references = g_strdup (hir_outgoing_get_references (outgoing));
  row->message_id = g_strdup (hir_outgoing_get_message_id (outgoing));
  row->error_message = g_strdup (hir_outgoing_get_error_message (outgoing));
  row->draft_remote_id = g_strdup (hir_outgoing_get_draft_remote_id (outgoing));
  row->state = hir_outgoing_get_state (outgoing);
  row->send_at = hir_outgoing_get_send_at (outgoing);
  row->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) att_row_free);
  for (guint i = 0; i < g_list_model_get_n_items (attachments); i++)
    {
      g_autoptr(HirOutgoingAttachment) a = g_list_model_get_item (attachments, i);
      AttRow *ar = g_new0 (AttRow, 1);

      ar->filename = g_strdup (hir_outgoing_attachment_get_filename (a));
      ar->content_type = g_strdup (hir_outgoing_attachment_get_content_type (a));
      ar->content_id = g_strdup (hir_outgoing_attachment_get_content_id (a));
      ar->data = g_bytes_ref (hir_outgoing_attachment_get_data (a));
      g_ptr_array_add (row->attachments, ar);
    }
  return row;
}

static HirOutgoing *
row_to_outgoing (Row *row)
{
  HirOutgoing *outgoing = hir_outgoing_new (NULL);

  hir_outgoing_set_id (outgoing, row->id);
  hir_outgoing_set_account_id (outgoing, row->account_id);
  hir_outgoing_set_from (outgoing, row->from);
  hir_outgoing_set_to (outgoing, row->to);
  hir_outgoing_set_cc (outgoing, row->cc);
  hir_outgoing_set_bcc (outgoing, row->bcc);
  hir_outgoing_set_subject (outgoing, row->subject);
  hir_outgoing_set_text (outgoing, row->text);
  hir_outgoing_set_html (outgoing, row->html);
  hir_outgoing_set_in_reply_to (outgoing, row->in_reply_to);
  hir_outgoing_set_references (outgoing, row->references);
  hir_outgoing_set_message_id (outgoing, row->message_id);
  hir_outgoing_set_error_message (outgoing, row->error_message);
  hir_outgoing_set_draft_remote_id (outgoing, row->draft_remote_id);
  hir_outgoing_set_state (outgoing, row->state);
  hir_outgoing_set_send_at (outgoing, row->send_at);
  for (guint i = 0; row->attachments != NULL && i < row->attachments->len; i++)
    {
      AttRow *ar = g_ptr_array_index (row->attachments, i);
      g_autoptr(HirOutgoingAttachment) a = hir_outgoing_attachment_new (ar->filename,
                                                                         ar->content_type,
                                                                         ar->data);

      hir_outgoing_attachment_set_content_id (a, ar->content_id);
      hir_outgoing_add_attachment (outgoing, a);
    }
  return outgoing;
}

/* ------------------------------------------------------------------------------------ */
/* SQL, run on the store's thread through hir_store_run_async()                        */

static gboolean
sql_error (sqlite3  *db,
           GError  **error)
{
  /* Translators: %s is the database's error message, untranslated. */
  g_set_error (error, HIR_ERROR, HIR_ERROR_STORAGE, _("Outbox: %s"), sqlite3_errmsg (db));
  return FALSE;
}

static void
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text == NULL)
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

static void
bind_bytes (sqlite3_stmt *stmt,
            int           index,
            GBytes       *bytes)
{
  gsize size = 0;
  gconstpointer data;

  if (bytes == NULL)
    {
      sqlite3_bind_null (stmt, index);
      return;
    }
  data = g_bytes_get_data (bytes, &size);
  sqlite3_bind_blob64 (stmt, index, size > 0 ? data : "", size, SQLITE_TRANSIENT);
}

static char *
column_text (sqlite3_stmt *stmt,
             int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static GBytes *
column_bytes (sqlite3_stmt *stmt,
              int           index)
{
  if (sqlite3_column_type (stmt, index) == SQLITE_NULL)
    return NULL;
  return g_bytes_new (sqlite3_column_blob (stmt, index), sqlite3_column_bytes (stmt, index));
}

#define ROW_COLUMNS \
  "id, account_id, from_address, to_list, cc_list, bcc_list, subject, body_text, body_html, " \
  "in_reply_to, refs, message_id, state, error_message, send_at, draft_remote_id, step, " \
  "remote_ref"

static Row *
row_from_stmt (sqlite3_stmt *stmt)
{
  Row *row = g_new0 (Row, 1);

  row->id = sqlite3_column_int64 (stmt, 0);
  row->account_id = column_text (stmt, 1);
  row->from = column_text (stmt, 2);
  row->to = column_text (stmt, 3);
  row->cc = column_text (stmt, 4);
  row->bcc = column_text (stmt, 5);
  row->subject = column_text (stmt, 6);
  row->text = column_text (stmt, 7);
  row->html = column_text (stmt, 8);
  row->in_reply_to = column_text (stmt, 9);
  row->references = column_text (stmt, 10);
  row->message_id = column_text (stmt, 11);
  row->state = sqlite3_column_int (stmt, 12);
  row->error_message = column_text (stmt, 13);
  row->send_at = sqlite3_column_int64 (stmt, 14);
  row->draft_remote_id = column_text (stmt, 15);
  row->step = column_text (stmt, 16);
  row->remote_ref = column_text (stmt, 17);
  return row;
}

typedef struct
{
  gint64 id;
  Row *row;                 /* save: in; load: out */
  gboolean with_attachments;
  gboolean with_mime;
  GPtrArray *rows;          /* list: out */
  gboolean drafts;          /* list: drafts (else the queue) */
  char *account_id;         /* list: filter, or NULL */
  /* set_step */
  const char *step;
  int state;
  char *error_message;
  char *remote_ref;
  gboolean set_remote_ref;
  gboolean reset_draft_remote_id;
  char *draft_remote_id;
  /* cancel: refuse once a byte may have gone */
  gboolean only_if_not_started;
  /* set_step: only while the message is still to be sent (not undone or saved back as
   * a draft meanwhile); @undone says it was not */
  gboolean guard_sendable;
  gboolean undone;
  gboolean prune;           /* list: also forget old sent messages */
} Job;

static void
job_free (Job *job)
{
  row_free (job->row);
  g_clear_pointer (&job->rows, g_ptr_array_unref);
  g_free (job->account_id);
  g_free (job->error_message);
  g_free (job->remote_ref);
  g_free (job->draft_remote_id);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

static gboolean
db_load_attachments (sqlite3  *db,
                     Row      *row,
                     GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT filename, content_type, content_id, data "
                              "FROM outgoing_attachments WHERE outgoing_id = ?1 "
                              "ORDER BY position", -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  sqlite3_bind_int64 (stmt, 1, row->id);
  row->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) att_row_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      AttRow *ar = g_new0 (AttRow, 1);

      ar->filename = column_text (stmt, 0);
      ar->content_type = column_text (stmt, 1);
      ar->content_id = column_text (stmt, 2);
      ar->data = column_bytes (stmt, 3);
      if (ar->data == NULL)
        ar->data = g_bytes_new (NULL, 0);
      g_ptr_array_add (row->attachments, ar);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sql_error (db, error);
  return TRUE;
}

static Row *
db_load_row (sqlite3     *db,
             gint64       id,
             gboolean     with_attachments,
             gboolean     with_mime,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  Row *row = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT " ROW_COLUMNS ", mime FROM outgoing WHERE id = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      sql_error (db, error);
      return NULL;
    }
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      row = row_from_stmt (stmt);
      if (with_mime)
        row->mime = column_bytes (stmt, 18);
    }
  sqlite3_finalize (stmt);
  if (row != NULL && with_mime &&
      sqlite3_prepare_v2 (db, "SELECT IFNULL (SUM (length (data)), 0) FROM outgoing_attachments "
                              "WHERE outgoing_id = ?1", -1, &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        row->attachments_size = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
    }
  if (rc == SQLITE_DONE)
    {
      /* The number is formatted apart: xgettext cannot read G_GINT64_FORMAT. */
      g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT, id);

      /* Translators: %s is a message's number in the outbox. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_NOT_FOUND, _("No message %s in the outbox"),
                   number);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      sql_error (db, error);
      return NULL;
    }
  if (with_attachments && !db_load_attachments (db, row, error))
    {
      row_free (row);
      return NULL;
    }
  return row;
}

/* Once a byte may have gone out, the message is the sender's, not the composer's. */
static gboolean
step_started (const char *step)
{
  return step != NULL && g_strcmp0 (step, STEP_QUEUED) != 0;
}

static gboolean
job_save (sqlite3  *db,
          gpointer  data,
          GError  **error)
{
  Job *job = data;
  Row *row = job->row;
  sqlite3_stmt *stmt = NULL;

  if (row->id != 0)
    {
      g_autoptr(Row) old = db_load_row (db, row->id, FALSE, FALSE, NULL);

      if (old != NULL && old->state != HIR_OUTGOING_STATE_FAILED &&
          old->state != HIR_OUTGOING_STATE_DRAFT && step_started (old->step))
        {
          g_set_error (error, HIR_ERROR, HIR_ERROR_FAILED,
                       _("The message is already being sent"));
          return FALSE;
        }
      /* The server copy of the draft is the outbox's to track, not the composer's. */
      if (old != NULL && row->draft_remote_id == NULL)
        row->draft_remote_id = g_strdup (old->draft_remote_id);
      if (old == NULL)
        row->id = 0;
    }

  if (sqlite3_prepare_v2 (db, row->id != 0
                          ? "UPDATE outgoing SET account_id = ?1, from_address = ?2, "
                            "to_list = ?3, cc_list = ?4, bcc_list = ?5, subject = ?6, "
                            "body_text = ?7, body_html = ?8, in_reply_to = ?9, refs = ?10, "
                            "message_id = ?11, state = ?12, error_message = ?13, send_at = ?14, "
                            "draft_remote_id = ?15, step = ?16, mime = ?17, remote_ref = NULL, "
                            "updated = ?18 WHERE id = ?19"
                          : "INSERT INTO outgoing (account_id, from_address, to_list, cc_list, "
                            "bcc_list, subject, body_text, body_html, in_reply_to, refs, "
                            "message_id, state, error_message, send_at, draft_remote_id, step, "
                            "mime, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                            "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                          -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  bind_text (stmt, 1, row->account_id);
  bind_text (stmt, 2, row->from);
  bind_text (stmt, 3, row->to);
  bind_text (stmt, 4, row->cc);
  bind_text (stmt, 5, row->bcc);
  bind_text (stmt, 6, row->subject);
  bind_text (stmt, 7, row->text);
  bind_text (stmt, 8, row->html);
  bind_text (stmt, 9, row->in_reply_to);
  bind_text (stmt, 10, row->references);
  bind_text (stmt, 11, row->message_id);
  sqlite3_bind_int (stmt, 12, row->state);
  bind_text (stmt, 13, row->error_message);
  sqlite3_bind_int64 (stmt, 14, row->send_at);
  bind_text (stmt, 15, row->draft_remote_id);
  bind_text (stmt, 16, row->step);
  bind_bytes (stmt, 17, row->mime);
  sqlite3_bind_int64 (stmt, 18, g_get_real_time () / G_USEC_PER_SEC);
  if (row->id != 0)
    sqlite3_bind_int64 (stmt, 19, row->id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return sql_error (db, error);
    }
  sqlite3_finalize (stmt);
  if (row->id == 0)
    row->id = sqlite3_last_insert_rowid (db);

  if (sqlite3_prepare_v2 (db, "DELETE FROM outgoing_attachments WHERE outgoing_id = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  sqlite3_bind_int64 (stmt, 1, row->id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return sql_error (db, error);
    }
  sqlite3_finalize (stmt);

  if (sqlite3_prepare_v2 (db, "INSERT INTO outgoing_attachments (outgoing_id, position, "
                              "filename, content_type, content_id, data) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  for (guint i = 0; row->attachments != NULL && i < row->attachments->len; i++)
    {
      AttRow *ar = g_ptr_array_index (row->attachments, i);

      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, row->id);
      sqlite3_bind_int (stmt, 2, i);
      bind_text (stmt, 3, ar->filename);
      bind_text (stmt, 4, ar->content_type);
      bind_text (stmt, 5, ar->content_id);
      bind_bytes (stmt, 6, ar->data);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_finalize (stmt);
          return sql_error (db, error);
        }
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

static gboolean
job_load (sqlite3  *db,
          gpointer  data,
          GError  **error)
{
  Job *job = data;

  job->row = db_load_row (db, job->id, job->with_attachments, job->with_mime, error);
  return job->row != NULL;
}

static gboolean
job_list (sqlite3  *db,
          gpointer  data,
          GError  **error)
{
  Job *job = data;
  sqlite3_stmt *stmt = NULL;
  int rc;

  /* Sent messages are kept a week (the UI may show what went), then forgotten: the
   * copy in Sent is the record. */
  if (job->prune &&
      sqlite3_exec (db, "DELETE FROM outgoing WHERE state = 3 AND "
                        "updated < CAST (strftime ('%s', 'now') AS INTEGER) - 7 * 86400",
                    NULL, NULL, NULL) != SQLITE_OK)
    return sql_error (db, error);

  if (sqlite3_prepare_v2 (db, job->drafts
                          ? "SELECT " ROW_COLUMNS " FROM outgoing WHERE state = 0 AND "
                            "(?1 IS NULL OR account_id = ?1) ORDER BY updated DESC, id DESC"
                          : "SELECT " ROW_COLUMNS " FROM outgoing WHERE state IN (1, 2, 4) AND "
                            "(?1 IS NULL OR account_id = ?1) ORDER BY id",
                          -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  bind_text (stmt, 1, job->account_id);
  job->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (job->rows, row_from_stmt (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sql_error (db, error);
  return TRUE;
}

static gboolean
job_delete (sqlite3  *db,
            gpointer  data,
            GError  **error)
{
  Job *job = data;
  sqlite3_stmt *stmt = NULL;

  job->row = db_load_row (db, job->id, FALSE, FALSE, error);
  if (job->row == NULL)
    return FALSE;
  if (job->row->state != HIR_OUTGOING_STATE_DRAFT)
    {
      g_set_error (error, HIR_ERROR, HIR_ERROR_FAILED, _("The message is not a draft"));
      return FALSE;
    }
  if (sqlite3_prepare_v2 (db, "DELETE FROM outgoing WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  sqlite3_bind_int64 (stmt, 1, job->id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return sql_error (db, error);
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

/* Writes a step marker and/or the state (one transaction). */
static gboolean
job_set_step (sqlite3  *db,
              gpointer  data,
              GError  **error)
{
  Job *job = data;
  sqlite3_stmt *stmt = NULL;

  if (job->only_if_not_started)
    {
      g_autoptr(Row) old = db_load_row (db, job->id, FALSE, FALSE, error);

      if (old == NULL)
        return FALSE;
      if (old->state != HIR_OUTGOING_STATE_QUEUED && old->state != HIR_OUTGOING_STATE_FAILED)
        {
          g_set_error_literal (error, HIR_ERROR, HIR_ERROR_FAILED,
                               old->state == HIR_OUTGOING_STATE_SENT
                               ? _("The message was already sent")
                               : _("The message is already being sent"));
          return FALSE;
        }
      if (step_started (old->step))
        {
          g_set_error (error, HIR_ERROR, HIR_ERROR_FAILED, _("The message is already being sent"));
          return FALSE;
        }
    }

  if (job->guard_sendable)
    {
      g_autoptr(Row) old = db_load_row (db, job->id, FALSE, FALSE, error);

      if (old == NULL)
        return FALSE;
      /* Taken back, or claimed by another process on the same profile (the GUI and the
       * command line may both run an outbox): the marker is the claim, and the store's
       * write lock makes it exclusive. */
      if ((old->state != HIR_OUTGOING_STATE_QUEUED && old->state != HIR_OUTGOING_STATE_SENDING &&
           old->state != HIR_OUTGOING_STATE_FAILED) || step_started (old->step))
        {
          job->undone = TRUE;
          job->state = old->state;
          g_set_error (error, HIR_ERROR, HIR_ERROR_FAILED, _("The message was taken back"));
          return FALSE;
        }
    }

  if (sqlite3_prepare_v2 (db, "UPDATE outgoing SET step = ?1, state = ?2, error_message = ?3, "
                              "remote_ref = CASE WHEN ?4 THEN ?5 ELSE remote_ref END, "
                              "draft_remote_id = CASE WHEN ?6 THEN ?7 ELSE draft_remote_id END, "
                              "mime = CASE WHEN ?2 = 0 THEN NULL ELSE mime END, "
                              "attempts = attempts + (IFNULL (?1, '') = 'uploading'), updated = ?8 "
                              "WHERE id = ?9", -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  bind_text (stmt, 1, job->step);
  sqlite3_bind_int (stmt, 2, job->state);
  bind_text (stmt, 3, job->error_message);
  sqlite3_bind_int (stmt, 4, job->set_remote_ref);
  bind_text (stmt, 5, job->remote_ref);
  sqlite3_bind_int (stmt, 6, job->reset_draft_remote_id);
  bind_text (stmt, 7, job->draft_remote_id);
  sqlite3_bind_int64 (stmt, 8, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_int64 (stmt, 9, job->id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return sql_error (db, error);
    }
  sqlite3_finalize (stmt);
  if (job->only_if_not_started)
    {
      job->row = db_load_row (db, job->id, TRUE, FALSE, error);
      return job->row != NULL;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* Entries: what the outbox knows without asking the store                              */

static void
entry_free (Entry *entry)
{
  g_free (entry->account_id);
  g_free (entry->error_message);
  g_free (entry);
}

static Entry *
lookup_entry (HirOutbox *self,
              gint64     id)
{
  return g_hash_table_lookup (self->entries, &id);
}

static Entry *
ensure_entry (HirOutbox  *self,
              gint64      id,
              const char *account_id)
{
  Entry *entry = lookup_entry (self, id);

  if (entry == NULL)
    {
      entry = g_new0 (Entry, 1);
      entry->id = id;
      g_hash_table_insert (self->entries, g_memdup2 (&id, sizeof id), entry);
    }
  if (account_id != NULL && g_strcmp0 (entry->account_id, account_id) != 0)
    {
      g_free (entry->account_id);
      entry->account_id = g_strdup (account_id);
    }
  return entry;
}

/* Updates the entry and tells the world, if anything changed. */
static void
set_entry_state (HirOutbox        *self,
                 gint64            id,
                 HirOutgoingState  state,
                 const char       *error_message)
{
  Entry *entry = ensure_entry (self, id, NULL);

  if (entry->state == state && g_strcmp0 (entry->error_message, error_message) == 0)
    return;
  entry->state = state;
  g_free (entry->error_message);
  entry->error_message = g_strdup (error_message);
  g_signal_emit (self, signals[STATE_CHANGED], 0, id, state, error_message);
}

static gint64
now_monotonic_seconds (void)
{
  return g_get_monotonic_time () / G_USEC_PER_SEC;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ------------------------------------------------------------------------------------ */
/* GObject                                                                              */

static void
hir_outbox_dispose (GObject *object)
{
  HirOutbox *self = (HirOutbox *) object;

  hir_outbox_shutdown (self);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (hir_outbox_parent_class)->dispose (object);
}

static void
hir_outbox_finalize (GObject *object)
{
  HirOutbox *self = (HirOutbox *) object;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_clear_pointer (&self->draft_ops, g_hash_table_unref);

  G_OBJECT_CLASS (hir_outbox_parent_class)->finalize (object);
}

static void
hir_outbox_class_init (HirOutboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hir_outbox_dispose;
  object_class->finalize = hir_outbox_finalize;

  /* A resumed send parses addresses before any HirOutgoing exists in this process. */
  g_mime_init ();

  signals[STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT64, HIR_TYPE_OUTGOING_STATE,
                  G_TYPE_STRING);
}

static void
hir_outbox_init (HirOutbox *self)
{
  self->cancellable = g_cancellable_new ();
  self->entries = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify) entry_free);
  self->draft_ops = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

HirOutbox *
hir_outbox_new (HirEngine *engine,
                HirStore  *store)
{
  HirOutbox *self = g_object_new (HIR_TYPE_OUTBOX, NULL);

  self->engine = engine;
  self->store = g_object_ref (store);
  return self;
}

void
hir_outbox_shutdown (HirOutbox *self)
{
  g_return_if_fail (HIR_IS_OUTBOX (self));

  self->started = FALSE;
  self->engine = NULL;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->timer, g_source_remove);
}

void
hir_outbox_set_step_hook (HirOutbox         *self,
                          HirOutboxStepHook  hook,
                          gpointer           user_data)
{
  g_return_if_fail (HIR_IS_OUTBOX (self));

  self->step_hook = hook;
  self->step_hook_data = user_data;
}

/* ------------------------------------------------------------------------------------ */
/* Loading the queue                                                                    */

static void
load_queue_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  self->loading = FALSE;
  g_task_return_boolean (task, TRUE);
  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot read the outbox: %s", error->message);
      return;
    }
  self->loaded = TRUE;
  for (guint i = 0; i < job->rows->len; i++)
    {
      Row *row = g_ptr_array_index (job->rows, i);
      Entry *entry = lookup_entry (self, row->id);

      /* A message this run already knows is more current than the store's snapshot. */
      if (entry != NULL)
        continue;
      entry = ensure_entry (self, row->id, row->account_id);
      /* SENDING in the store means a previous run stopped mid-way: it resumes from its
       * step marker. */
      entry->state = row->state == HIR_OUTGOING_STATE_SENDING ? HIR_OUTGOING_STATE_QUEUED
                                                               : row->state;
      entry->error_message = g_strdup (row->error_message);
      entry->send_at = row->send_at;
    }
  pump (self);
}

static void
load_queue (HirOutbox *self)
{
  GTask *task = g_task_new (self, self->cancellable, NULL, NULL);
  Job *job = g_new0 (Job, 1);

  self->loading = TRUE;
  job->prune = TRUE;
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  hir_store_run_async (self->store, job_list, job, self->cancellable, load_queue_cb, task);
}

void
hir_outbox_start (HirOutbox *self)
{
  g_return_if_fail (HIR_IS_OUTBOX (self));

  if (self->started)
    return;
  self->started = TRUE;
  pump (self);
}

void
hir_outbox_stop (HirOutbox *self)
{
  g_return_if_fail (HIR_IS_OUTBOX (self));

  self->started = FALSE;
  g_clear_handle_id (&self->timer, g_source_remove);
}

/* ------------------------------------------------------------------------------------ */
/* Drafts, loading, listing                                                             */

static void server_draft_start (HirOutbox *self,
                                gint64     id);

static GTask *
new_job_task (HirOutbox           *self,
              gpointer             source_tag,
              Job                 *job,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  return task;
}

static void
save_draft_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  HirOutgoing *outgoing = g_object_get_data (G_OBJECT (task), "hir-outgoing");
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hir_outgoing_set_id (outgoing, job->row->id);
  hir_outgoing_set_state (outgoing, HIR_OUTGOING_STATE_DRAFT);
  ensure_entry (self, job->row->id, job->row->account_id);
  set_entry_state (self, job->row->id, HIR_OUTGOING_STATE_DRAFT, NULL);
  g_task_return_int (task, job->row->id);

  /* The server copy follows; the draft is already safe here. */
  if (self->engine != NULL)
    server_draft_start (self, job->row->id);
}

void
hir_outbox_save_draft_async (HirOutbox           *self,
                             HirOutgoing         *outgoing,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));
  g_return_if_fail (HIR_IS_OUTGOING (outgoing));

  job = g_new0 (Job, 1);
  job->row = row_from_outgoing (outgoing);
  job->row->state = HIR_OUTGOING_STATE_DRAFT;
  g_clear_pointer (&job->row->error_message, g_free);
  task = new_job_task (self, hir_outbox_save_draft_async, job, cancellable, callback, user_data);
  g_object_set_data_full (G_OBJECT (task), "hir-outgoing", g_object_ref (outgoing),
                          g_object_unref);
  hir_store_run_async (self->store, job_save, job, cancellable, save_draft_cb, task);
}

gint64
hir_outbox_save_draft_finish (HirOutbox     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_save_draft_async, 0);

  return g_task_propagate_int (G_TASK (result), error);
}

static void server_draft_remove (HirOutbox  *self,
                                 const char *account_id,
                                 const char *draft_remote_id);

static void
discard_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_hash_table_remove (self->entries, &job->id);
  if (job->row->draft_remote_id != NULL && self->engine != NULL)
    server_draft_remove (self, job->row->account_id, job->row->draft_remote_id);
  g_task_return_boolean (task, TRUE);
}

void
hir_outbox_discard_draft_async (HirOutbox           *self,
                                gint64               id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  job->id = id;
  task = new_job_task (self, hir_outbox_discard_draft_async, job, cancellable, callback, user_data);
  hir_store_run_async (self->store, job_delete, job, cancellable, discard_cb, task);
}

gboolean
hir_outbox_discard_draft_finish (HirOutbox     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_discard_draft_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
list_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GPtrArray *list;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  list = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < job->rows->len; i++)
    g_ptr_array_add (list, row_to_outgoing (g_ptr_array_index (job->rows, i)));
  g_task_return_pointer (task, list, (GDestroyNotify) g_ptr_array_unref);
}

void
hir_outbox_list_drafts_async (HirOutbox           *self,
                              const char          *account_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  job->drafts = TRUE;
  job->account_id = g_strdup (account_id);
  task = new_job_task (self, hir_outbox_list_drafts_async, job, cancellable, callback, user_data);
  hir_store_run_async (self->store, job_list, job, cancellable, list_cb, task);
}

GPtrArray *
hir_outbox_list_drafts_finish (HirOutbox     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_list_drafts_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
hir_outbox_list_async (HirOutbox           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  task = new_job_task (self, hir_outbox_list_async, job, cancellable, callback, user_data);
  hir_store_run_async (self->store, job_list, job, cancellable, list_cb, task);
}

GPtrArray *
hir_outbox_list_finish (HirOutbox     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_list_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
load_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  HirOutgoing *outgoing;
  Entry *entry;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  outgoing = row_to_outgoing (job->row);
  /* The store says SENDING only for the one in flight; memory knows better. */
  entry = lookup_entry (self, job->row->id);
  if (entry != NULL)
    hir_outgoing_set_state (outgoing, entry->state);
  g_task_return_pointer (task, outgoing, g_object_unref);
}

void
hir_outbox_load_async (HirOutbox           *self,
                       gint64               id,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  job->id = id;
  job->with_attachments = TRUE;
  task = new_job_task (self, hir_outbox_load_async, job, cancellable, callback, user_data);
  hir_store_run_async (self->store, job_load, job, cancellable, load_cb, task);
}

HirOutgoing *
hir_outbox_load_finish (HirOutbox     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
hir_outbox_get_state (HirOutbox         *self,
                      gint64             id,
                      HirOutgoingState  *state,
                      const char       **error_message)
{
  Entry *entry;

  g_return_val_if_fail (HIR_IS_OUTBOX (self), FALSE);

  entry = lookup_entry (self, id);
  if (entry == NULL)
    return FALSE;
  if (state != NULL)
    *state = entry->state;
  if (error_message != NULL)
    *error_message = entry->error_message;
  return TRUE;
}

/* ------------------------------------------------------------------------------------ */
/* Queueing, undo, retry                                                                */

/* Every address of the To, Cc and Bcc lists; NULL (with an error) when one is malformed
 * or there is none. */
static GPtrArray *
collect_recipients (const char  *to,
                    const char  *cc,
                    const char  *bcc,
                    GError     **error)
{
  const char *lists[] = { to, cc, bcc };
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      g_autoptr(InternetAddressList) list = NULL;

      if (lists[l] == NULL || *lists[l] == '\0')
        continue;
      list = internet_address_list_parse (NULL, lists[l]);
      if (list == NULL)
        {
          /* Translators: %s is what was typed in an address field. */
          g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("Not an address list: %s"),
                       lists[l]);
          return NULL;
        }
      for (int i = 0; i < internet_address_list_length (list); i++)
        {
          InternetAddress *ia = internet_address_list_get_address (list, i);
          const char *addr;

          if (!INTERNET_ADDRESS_IS_MAILBOX (ia))
            continue;
          addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia));
          if (addr == NULL || strchr (addr, '@') == NULL)
            {
              /* Translators: %s is what was typed as an email address. */
              g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("Not an address: %s"),
                           addr != NULL ? addr : lists[l]);
              return NULL;
            }
          g_ptr_array_add (out, g_strdup (addr));
        }
    }
  if (out->len == 0)
    {
      g_set_error (error, HIR_ERROR, HIR_ERROR_CONFIG, _("The message has no recipients"));
      return NULL;
    }
  g_ptr_array_add (out, NULL);
  return g_steal_pointer (&out);
}

/* The bytes that go out: CRLF line ends (IMAP APPEND and JMAP want them; SMTP takes any)
 * and no Bcc header — Bcc recipients get the message through the envelope only. */
static GBytes *
message_to_bytes (GMimeMessage *message)
{
  g_autoptr(GMimeFormatOptions) options = g_mime_format_options_new ();
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new ();
  GByteArray *array;

  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  g_mime_object_write_to_stream (GMIME_OBJECT (message), options, stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  return g_bytes_new (array->data, array->len);
}

static GBytes *
build_mime_bytes (HirOutgoing *outgoing)
{
  g_autoptr(GMimeMessage) message = hir_outgoing_build_mime (outgoing, FALSE);

  g_mime_object_remove_header (GMIME_OBJECT (message), "Bcc");
  return message_to_bytes (message);
}

static void
queue_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  HirOutgoing *outgoing = g_object_get_data (G_OBJECT (task), "hir-outgoing");
  g_autoptr(GError) error = NULL;
  Entry *entry;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hir_outgoing_set_id (outgoing, job->row->id);
  hir_outgoing_set_state (outgoing, HIR_OUTGOING_STATE_QUEUED);
  hir_outgoing_set_send_at (outgoing, job->row->send_at);
  hir_outgoing_set_error_message (outgoing, NULL);
  entry = ensure_entry (self, job->row->id, job->row->account_id);
  entry->send_at = job->row->send_at;
  entry->next_try = 0;
  entry->backoff = 0;
  set_entry_state (self, job->row->id, HIR_OUTGOING_STATE_QUEUED, NULL);
  if (self->step_hook != NULL)
    self->step_hook (job->row->id, STEP_QUEUED, self->step_hook_data);
  g_task_return_int (task, job->row->id);
  pump (self);
}

void
hir_outbox_queue_async (HirOutbox           *self,
                        HirOutgoing         *outgoing,
                        guint                delay_seconds,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GPtrArray) recipients = NULL;
  g_autoptr(GError) error = NULL;
  Entry *entry;
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));
  g_return_if_fail (HIR_IS_OUTGOING (outgoing));

  job = g_new0 (Job, 1);
  task = new_job_task (self, hir_outbox_queue_async, job, cancellable, callback, user_data);
  g_object_set_data_full (G_OBJECT (task), "hir-outgoing", g_object_ref (outgoing),
                          g_object_unref);

  if (self->engine == NULL ||
      hir_outgoing_get_account_id (outgoing) == NULL ||
      hir_engine_find_account (self->engine, hir_outgoing_get_account_id (outgoing)) == NULL)
    {
      if (hir_outgoing_get_account_id (outgoing) != NULL)
        /* Translators: %s is an account's name (an email address, usually). */
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                                 _("No account %s to send from"),
                                 hir_outgoing_get_account_id (outgoing));
      else
        g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_CONFIG,
                                 _("The message has no account to send from"));
      g_object_unref (task);
      return;
    }
  recipients = collect_recipients (hir_outgoing_get_to (outgoing), hir_outgoing_get_cc (outgoing),
                                   hir_outgoing_get_bcc (outgoing), &error);
  if (recipients == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  entry = lookup_entry (self, hir_outgoing_get_id (outgoing));
  if (entry != NULL && (entry->state == HIR_OUTGOING_STATE_SENDING ||
                        self->sending_id == entry->id))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("The message is already being sent"));
      g_object_unref (task);
      return;
    }

  job->row = row_from_outgoing (outgoing);
  job->row->state = HIR_OUTGOING_STATE_QUEUED;
  job->row->step = g_strdup (STEP_QUEUED);
  job->row->send_at = now_seconds () + delay_seconds;
  g_clear_pointer (&job->row->error_message, g_free);
  /* Built once, here: a resend after a crash sends these very bytes. */
  job->row->mime = build_mime_bytes (outgoing);
  hir_store_run_async (self->store, job_save, job, cancellable, queue_cb, task);
}

gint64
hir_outbox_queue_finish (HirOutbox     *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_queue_async, 0);

  return g_task_propagate_int (G_TASK (result), error);
}

static void
cancel_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  HirOutgoing *outgoing;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_entry_state (self, job->id, HIR_OUTGOING_STATE_DRAFT, NULL);
  outgoing = row_to_outgoing (job->row);
  g_task_return_pointer (task, outgoing, g_object_unref);
}

void
hir_outbox_cancel_async (HirOutbox           *self,
                         gint64               id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  Entry *entry;
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  job->id = id;
  job->state = HIR_OUTGOING_STATE_DRAFT;
  job->step = NULL;
  job->only_if_not_started = TRUE;
  task = new_job_task (self, hir_outbox_cancel_async, job, cancellable, callback, user_data);

  /* The sender writes its "uploading" marker through the same store thread before its
   * first byte, so the store's answer below is final; this is only the quick refusal. */
  entry = lookup_entry (self, id);
  if (self->sending_id == id || (entry != NULL && entry->state == HIR_OUTGOING_STATE_SENDING))
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("The message is already being sent"));
      g_object_unref (task);
      return;
    }
  hir_store_run_async (self->store, job_set_step, job, cancellable, cancel_cb, task);
}

HirOutgoing *
hir_outbox_cancel_finish (HirOutbox     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_cancel_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
retry_load_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  HirOutbox *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  Entry *entry;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (job->row->state != HIR_OUTGOING_STATE_QUEUED &&
      job->row->state != HIR_OUTGOING_STATE_FAILED &&
      job->row->state != HIR_OUTGOING_STATE_SENDING)
    {
      g_task_return_new_error (task, HIR_ERROR, HIR_ERROR_FAILED,
                               _("The message is not waiting to be sent"));
      return;
    }
  entry = ensure_entry (self, job->id, job->row->account_id);
  entry->send_at = MIN (entry->send_at, now_seconds ());
  entry->next_try = 0;
  entry->backoff = 0;
  if (entry->state != HIR_OUTGOING_STATE_SENDING)
    set_entry_state (self, job->id, HIR_OUTGOING_STATE_QUEUED, NULL);
  g_task_return_boolean (task, TRUE);
  pump (self);
}

void
hir_outbox_retry_async (HirOutbox           *self,
                        gint64               id,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  Job *job;
  GTask *task;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  job = g_new0 (Job, 1);
  job->id = id;
  task = new_job_task (self, hir_outbox_retry_async, job, cancellable, callback, user_data);
  hir_store_run_async (self->store, job_load, job, cancellable, retry_load_cb, task);
}

gboolean
hir_outbox_retry_finish (HirOutbox     *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hir_outbox_retry_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
hir_outbox_account_online (HirOutbox  *self,
                           HirAccount *account)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (HIR_IS_OUTBOX (self));

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;

      if (g_strcmp0 (entry->account_id, hir_account_get_id (account)) == 0)
        {
          entry->next_try = 0;
          entry->backoff = 0;
        }
    }
  pump (self);
}

/* ------------------------------------------------------------------------------------ */
/* Sending                                                                              */

/* One message on its way. Which transport: a JMAP account submits with JMAP
 * (EmailSubmission, which also files the copy in Sent); an IMAP account sends with SMTP
 * (its smtp-* settings) and files the copy in Sent with IMAP APPEND. This is the one
 * place that chooses. */
typedef struct
{
  HirOutbox *self;
  gint64 id;
  Row *row;
  HirAccount *account;
  char *password;
  char *from_address;
  GPtrArray *recipients;    /* NULL-terminated */
  GCancellable *cancellable;

  /* SMTP + IMAP */
  HirImapClient *imap;
  char *sent_mailbox;

  /* JMAP */
  HirJmapClient *jmap;
  char *drafts_id;
  char *sent_id;
  char *identity_id;
} SendOp;

static void
send_op_free (SendOp *op)
{
  if (op->imap != NULL)
    hir_imap_client_close (op->imap);
  g_clear_object (&op->imap);
  g_clear_object (&op->jmap);
  g_clear_object (&op->account);
  g_clear_object (&op->cancellable);
  row_free (op->row);
  if (op->password != NULL)
    memset (op->password, 0, strlen (op->password));
  g_free (op->password);
  g_free (op->from_address);
  g_clear_pointer (&op->recipients, g_ptr_array_unref);
  g_free (op->sent_mailbox);
  g_free (op->drafts_id);
  g_free (op->sent_id);
  g_free (op->identity_id);
  g_clear_object (&op->self);
  g_free (op);
}

static gboolean
op_dead (SendOp *op)
{
  return op->self->engine == NULL || g_cancellable_is_cancelled (op->cancellable);
}

/* The end of an attempt: sent, failed for good, or waiting for a retry. */
static void
send_done (SendOp           *op,
           HirOutgoingState  state,
           const char       *error_message)
{
  HirOutbox *self = op->self;
  Entry *entry = ensure_entry (self, op->id, NULL);

  if (self->sending_id == op->id)
    self->sending_id = 0;
  if (state == HIR_OUTGOING_STATE_QUEUED)
    {
      entry->backoff = entry->backoff == 0 ? RETRY_FIRST_SECONDS
                                           : MIN (entry->backoff * 2, RETRY_MAX_SECONDS);
      entry->next_try = now_monotonic_seconds () + entry->backoff;
      g_debug ("Outbox: message %" G_GINT64_FORMAT " waits %u s: %s", op->id, entry->backoff,
               error_message ? error_message : "");
    }
  else
    {
      entry->backoff = 0;
      entry->next_try = 0;
    }
  set_entry_state (self, op->id, state, error_message);
  if (!op_dead (op))
    pump (self);
  send_op_free (op);
}

typedef void (*StepDone) (SendOp *op);

typedef struct
{
  SendOp *op;
  StepDone next;
  char *step;
} MarkCall;

static void send_failed (SendOp *op, GError *error);

static void
mark_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  MarkCall *call = g_object_get_data (G_OBJECT (task), "hir-mark");
  Job *job = g_task_get_task_data (task);
  SendOp *op = call->op;
  g_autoptr(GError) error = NULL;

  g_task_return_boolean (task, TRUE);
  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (job->undone)
        {
          /* Undo or a draft save got to the store first: nothing went out, nothing
           * will. */
          HirOutbox *self = op->self;

          if (self->sending_id == op->id)
            self->sending_id = 0;
          set_entry_state (self, op->id, job->state, NULL);
          if (!op_dead (op))
            pump (self);
          send_op_free (op);
          return;
        }
      /* Nothing is safe to do when the marker cannot be written: stop and wait. */
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  g_free (op->row->step);
  op->row->step = g_strdup (call->step);
  if (op->self->step_hook != NULL)
    op->self->step_hook (op->id, call->step, op->self->step_hook_data);
  if (op_dead (op))
    {
      send_done (op, HIR_OUTGOING_STATE_QUEUED, NULL);
      return;
    }
  call->next (op);
}

static void
mark_call_free (MarkCall *call)
{
  g_free (call->step);
  g_free (call);
}

/* Commits the step marker (and state), then continues with @next. */
static void
mark_step (SendOp           *op,
           const char       *step,
           HirOutgoingState  state,
           const char       *remote_ref,
           StepDone          next)
{
  Job *job = g_new0 (Job, 1);
  MarkCall *call = g_new0 (MarkCall, 1);
  GTask *task = g_task_new (op->self, NULL, NULL, NULL);

  job->id = op->id;
  job->step = step;
  job->state = state;
  if (remote_ref != NULL)
    {
      job->set_remote_ref = TRUE;
      job->remote_ref = g_strdup (remote_ref);
    }
  /* The first byte may follow this marker: it must not overrule an undo. */
  job->guard_sendable = g_strcmp0 (step, STEP_UPLOADING) == 0 &&
                        (op->row->step == NULL || g_strcmp0 (op->row->step, STEP_QUEUED) == 0);
  call->op = op;
  call->next = next;
  call->step = g_strdup (step);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_object_set_data_full (G_OBJECT (task), "hir-mark", call, (GDestroyNotify) mark_call_free);
  hir_store_run_async (op->self->store, job_set_step, job, NULL, mark_cb, task);
}

static void
record_outcome_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SendOp *op = g_object_get_data (G_OBJECT (task), "hir-op");
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    g_warning ("Outbox: cannot record the state of message %" G_GINT64_FORMAT ": %s",
               op->id, error->message);
  g_task_return_boolean (task, TRUE);
  if (job->step != NULL && g_str_equal (job->step, STEP_FILED) && op->self->step_hook != NULL)
    op->self->step_hook (op->id, STEP_FILED, op->self->step_hook_data);
  send_done (op, job->state, job->error_message);
}

/* Writes the final state of this attempt, then ends it. */
static void
record_outcome (SendOp           *op,
                const char       *step,
                HirOutgoingState  state,
                const char       *error_message)
{
  Job *job = g_new0 (Job, 1);
  GTask *task = g_task_new (op->self, NULL, NULL, NULL);

  job->id = op->id;
  job->step = step;
  job->state = state;
  job->error_message = g_strdup (error_message);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_object_set_data (G_OBJECT (task), "hir-op", op);
  hir_store_run_async (op->self->store, job_set_step, job, NULL, record_outcome_cb, task);
}

static gboolean
error_is_temporary (const GError *error)
{
  return error->domain != HIR_ERROR ||
         error->code == HIR_ERROR_UNREACHABLE ||
         error->code == HIR_ERROR_OFFLINE ||
         error->code == HIR_ERROR_PROTOCOL ||
         error->code == HIR_ERROR_STORAGE ||
         error->code == HIR_ERROR_AUTH_FAILED ||
         error->code == HIR_ERROR_CERTIFICATE_UNTRUSTED ||
         error->code == HIR_ERROR_NO_SECRET_SERVICE;
}

/* A failure before the server accepted the message. SMTP: nothing was accepted (the
 * transport reports an error only without a 250 to DATA), so the message goes back to
 * "queued" and may be undone. JMAP: whatever was made in Drafts is checked on resume,
 * so the marker stays. After "submitted" the message has gone: only filing is left. */
static void
send_failed (SendOp *op,
             GError *error_in)
{
  g_autoptr(GError) error = error_in;
  const char *step = op->row->step;
  gboolean submitted = g_strcmp0 (step, STEP_SUBMITTED) == 0 ||
                       g_strcmp0 (step, STEP_FILING) == 0;
  const char *keep_step;

  g_debug ("Outbox: message %" G_GINT64_FORMAT " at step %s: %s", op->id, step, error->message);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || op->self->engine == NULL)
    {
      send_done (op, HIR_OUTGOING_STATE_QUEUED, NULL);
      return;
    }

  keep_step = step;
  if (op->jmap == NULL && g_strcmp0 (step, STEP_UPLOADING) == 0)
    keep_step = STEP_QUEUED;

  if (submitted)
    {
      if (error_is_temporary (error))
        record_outcome (op, keep_step, HIR_OUTGOING_STATE_QUEUED, error->message);
      else
        {
          /* It went out; only the copy in Sent is missing. That is not worth a resend. */
          g_autofree char *text = g_strdup_printf ("Sent, but not filed in Sent: %s",
                                                   error->message);

          g_warning ("Outbox: message %" G_GINT64_FORMAT ": %s", op->id, text);
          record_outcome (op, STEP_FILED, HIR_OUTGOING_STATE_SENT, NULL);
        }
      return;
    }
  if (error_is_temporary (error))
    record_outcome (op, keep_step, HIR_OUTGOING_STATE_QUEUED, error->message);
  else
    {
      /* Refused for good: the copy imported into Drafts for sending is of no use (a
       * corrected message is imported anew). */
      if (op->jmap != NULL && op->row->remote_ref != NULL)
        server_draft_remove (op->self, op->row->account_id, op->row->remote_ref);
      record_outcome (op, keep_step, HIR_OUTGOING_STATE_FAILED, error->message);
    }
}

static void
send_succeeded (SendOp *op)
{
  /* Sent: the copy of its draft in Drafts has had its day. */
  if (op->row->draft_remote_id != NULL && op->self->engine != NULL)
    server_draft_remove (op->self, op->row->account_id, op->row->draft_remote_id);
  record_outcome (op, STEP_FILED, HIR_OUTGOING_STATE_SENT, NULL);
}

/* SMTP, then IMAP APPEND to Sent ----------------------------------------------------- */

static void imap_file (SendOp *op);

static void
imap_filed (SendOp *op)
{
  send_succeeded (op);
}

static void
imap_append_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;

  hir_imap_client_append_finish (HIR_IMAP_CLIENT (object), result, NULL, &error);
  if (error != NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  imap_filed (op);
}

/* A copy from before a crash (the marker said "filing") must not be appended twice. */
static void
imap_search_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GError) error = NULL;
  gboolean found = FALSE;

  reply = hir_imap_client_command_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  for (guint i = 0; i < reply->untagged->len; i++)
    {
      HirImapResponse *response = g_ptr_array_index (reply->untagged, i);

      if (response->data != NULL && hir_imap_value_get_length (response->data) > 1 &&
          hir_imap_value_is_atom (hir_imap_value_get_item (response->data, 0), "SEARCH"))
        found = TRUE;
    }
  if (found)
    {
      g_debug ("Outbox: message %" G_GINT64_FORMAT " is already in %s", op->id, op->sent_mailbox);
      imap_filed (op);
      return;
    }
  hir_imap_client_append_async (op->imap, op->sent_mailbox, "\\Seen", op->row->mime,
                                op->cancellable, imap_append_cb, op);
}

static void
imap_select_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(HirImapReply) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *command = NULL;

  reply = hir_imap_client_select_finish (HIR_IMAP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  quoted = hir_imap_quote (op->row->message_id);
  command = g_strdup_printf ("UID SEARCH HEADER Message-ID %s", quoted);
  hir_imap_client_command_async (op->imap, command, op->cancellable, imap_search_cb, op);
}

static void
imap_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_imap_client_connect_finish (HIR_IMAP_CLIENT (object), result, &error))
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  hir_imap_client_select_async (op->imap, op->sent_mailbox, NULL, op->cancellable,
                                imap_select_cb, op);
}

static void
imap_folders_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GPtrArray) folders = NULL;
  const char *username;

  folders = hir_store_list_folders_finish (HIR_STORE (object), result, NULL);
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == HIR_FOLDER_ROLE_SENT)
      op->sent_mailbox = g_strdup (hir_folder_get_remote_id (g_ptr_array_index (folders, i)));
  /* Before the first sync there is no folder list yet: the usual name. */
  if (op->sent_mailbox == NULL)
    op->sent_mailbox = g_strdup ("Sent");

  username = hir_account_get_username (op->account);
  op->imap = hir_imap_client_new (hir_account_get_imap_host (op->account),
                                  hir_account_get_imap_port (op->account),
                                  hir_account_get_imap_security (op->account),
                                  username != NULL ? username : hir_account_get_address (op->account),
                                  op->password,
                                  hir_account_get_trusted_certificate (op->account));
  hir_imap_client_connect_async (op->imap, op->cancellable, imap_connect_cb, op);
}

static void
imap_file (SendOp *op)
{
  hir_store_list_folders_async (op->self->store, hir_account_get_id (op->account),
                                op->cancellable, imap_folders_cb, op);
}

static void
smtp_submitted (SendOp *op)
{
  mark_step (op, STEP_FILING, HIR_OUTGOING_STATE_SENDING, NULL, imap_file);
}

static void
smtp_sent_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!hir_smtp_transport_send_finish (HIR_SMTP_TRANSPORT (object), result, &error))
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  /* The 250 to DATA is in: the marker first, before anything else can go wrong. A crash
   * between the 250 and this commit is the one window where a restart would send the
   * message again; it is as narrow as one SQLite commit. */
  mark_step (op, STEP_SUBMITTED, HIR_OUTGOING_STATE_SENDING, NULL, smtp_submitted);
}

static void
smtp_send (SendOp *op)
{
  g_autoptr(HirSmtpTransport) transport = hir_smtp_transport_new_for_account (op->account,
                                                                              op->password);

  hir_smtp_transport_send_async (transport, op->row->mime, op->from_address,
                                 (const char * const *) op->recipients->pdata,
                                 op->cancellable, smtp_sent_cb, op);
}

static void
smtp_resume (SendOp *op)
{
  const char *step = op->row->step;

  if (g_strcmp0 (step, STEP_SUBMITTED) == 0)
    smtp_submitted (op);
  else if (g_strcmp0 (step, STEP_FILING) == 0)
    imap_file (op);
  else if (g_strcmp0 (step, STEP_FILED) == 0)
    send_succeeded (op);
  else
    /* "queued", or "uploading" after a crash: nothing is known to have been accepted. */
    mark_step (op, STEP_UPLOADING, HIR_OUTGOING_STATE_SENDING, NULL, smtp_send);
}

/* JMAP: the message as a blob, imported into Drafts, submitted ------------------------ */

static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text != NULL ? text : "");

  return json_to_string (node, FALSE);
}

/* Sends @calls_json (a JSON array of invocations) and hands the responses to @callback. */
static void
jmap_call (SendOp              *op,
           const char          *calls_json,
           GAsyncReadyCallback  callback)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) calls = json_from_string (calls_json, &error);

  g_assert (calls != NULL);
  hir_jmap_client_call_async (op->jmap, calls, op->cancellable, callback, op);
}

static JsonArray *
jmap_call_finish (SendOp        *op,
                  GAsyncResult  *result)
{
  g_autoptr(GError) error = NULL;
  JsonArray *responses = hir_jmap_client_call_finish (op->jmap, result, &error);

  if (responses == NULL)
    send_failed (op, g_steal_pointer (&error));
  return responses;
}

static gboolean
in_mailbox (JsonObject *email,
            const char *mailbox_id)
{
  JsonObject *ids = json_object_has_member (email, "mailboxIds")
    ? json_object_get_object_member (email, "mailboxIds") : NULL;

  return ids != NULL && mailbox_id != NULL && json_object_has_member (ids, mailbox_id);
}

static void
jmap_filed_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;

  if (responses == NULL)
    return;
  if (hir_jmap_get_response (responses, 0, "Email/set", &error) == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  send_succeeded (op);
}

static void
jmap_file_check_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  g_autofree char *ref = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *calls = NULL;
  JsonObject *args;
  JsonArray *list;

  if (responses == NULL)
    return;
  args = hir_jmap_get_response (responses, 0, "Email/get", &error);
  if (args == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  list = json_object_get_array_member (args, "list");
  /* Gone (the user deleted it) or already in Sent: nothing to file. */
  if (list == NULL || json_array_get_length (list) == 0 ||
      in_mailbox (json_array_get_object_element (list, 0), op->sent_id))
    {
      send_succeeded (op);
      return;
    }
  account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  ref = json_quote (op->row->remote_ref);
  sent = json_quote (op->sent_id);
  calls = g_strdup_printf ("[[\"Email/set\", {\"accountId\": %s, \"update\": {%s: "
                           "{\"mailboxIds\": {%s: true}, \"keywords/$draft\": null, "
                           "\"keywords/$seen\": true}}}, \"0\"]]", account, ref, sent);
  jmap_call (op, calls, jmap_filed_cb);
}

static void
jmap_file (SendOp *op)
{
  g_autofree char *account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  g_autofree char *ref = json_quote (op->row->remote_ref);
  g_autofree char *calls = NULL;

  if (op->row->remote_ref == NULL || op->sent_id == NULL)
    {
      send_succeeded (op);
      return;
    }
  calls = g_strdup_printf ("[[\"Email/get\", {\"accountId\": %s, \"ids\": [%s], "
                           "\"properties\": [\"mailboxIds\", \"keywords\"]}, \"0\"]]",
                           account, ref);
  jmap_call (op, calls, jmap_file_check_cb);
}

static void
jmap_submitted (SendOp *op)
{
  mark_step (op, STEP_FILING, HIR_OUTGOING_STATE_SENDING, NULL, jmap_file);
}

static void
jmap_submit_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  JsonObject *args;
  JsonObject *not_created;

  if (responses == NULL)
    return;
  args = hir_jmap_get_response (responses, 0, "EmailSubmission/set", &error);
  if (args == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  not_created = json_object_has_member (args, "notCreated") &&
                JSON_NODE_HOLDS_OBJECT (json_object_get_member (args, "notCreated"))
    ? json_object_get_object_member (args, "notCreated") : NULL;
  if (not_created != NULL && json_object_has_member (not_created, "s"))
    {
      JsonObject *set_error = json_object_get_object_member (not_created, "s");
      const char *type = json_object_get_string_member_with_default (set_error, "type", "error");
      const char *description = json_object_get_string_member_with_default (set_error,
                                                                           "description", NULL);
      /* The server (or the SMTP server behind it) refused the message: permanent,
       * unless it says it is its own trouble. */
      gboolean temporary = g_str_equal (type, "serverFail") || g_str_equal (type, "rateLimit") ||
                           g_str_equal (type, "serverUnavailable");
      g_autoptr(GString) text = g_string_new (type);
      JsonNode *invalid = json_object_get_member (set_error, "invalidRecipients");

      if (description != NULL)
        g_string_append_printf (text, ": %s", description);
      /* Which addresses, so the user knows what to fix. */
      if (invalid != NULL && JSON_NODE_HOLDS_ARRAY (invalid))
        for (guint i = 0; i < json_array_get_length (json_node_get_array (invalid)); i++)
          g_string_append_printf (text, "%s%s", i == 0 ? ": " : ", ",
                                  json_array_get_string_element (json_node_get_array (invalid), i));
      /* Translators: %s is the server's reason, untranslated: an error type
       * ("forbiddenFrom"), its description and the refused addresses. */
      send_failed (op, g_error_new (HIR_ERROR, temporary ? HIR_ERROR_UNREACHABLE
                                                         : HIR_ERROR_SERVER,
                                    _("The server did not send the message: %s"), text->str));
      return;
    }
  mark_step (op, STEP_SUBMITTED, HIR_OUTGOING_STATE_SENDING, NULL, jmap_submitted);
}

static void
jmap_submit (SendOp *op)
{
  g_autofree char *account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  g_autofree char *identity = json_quote (op->identity_id);
  g_autofree char *ref = json_quote (op->row->remote_ref);
  g_autofree char *from = json_quote (op->from_address);
  g_autofree char *drafts_path = NULL;
  g_autofree char *sent_path = NULL;
  g_autofree char *calls = NULL;
  g_autoptr(GString) rcpt = g_string_new (NULL);

  for (guint i = 0; i < op->recipients->len && op->recipients->pdata[i] != NULL; i++)
    {
      g_autofree char *addr = json_quote (op->recipients->pdata[i]);

      g_string_append_printf (rcpt, "%s{\"email\": %s}", i > 0 ? ", " : "", addr);
    }
  {
    g_autofree char *d = g_strconcat ("mailboxIds/", op->drafts_id, NULL);
    g_autofree char *s = g_strconcat ("mailboxIds/", op->sent_id, NULL);

    drafts_path = json_quote (d);
    sent_path = json_quote (s);
  }
  /* An explicit envelope: Bcc recipients are in it, and not in the bytes. On success
   * the server moves the copy from Drafts to Sent and drops $draft in the same call. */
  calls = g_strdup_printf ("[[\"EmailSubmission/set\", {\"accountId\": %s, \"create\": {\"s\": "
                           "{\"identityId\": %s, \"emailId\": %s, \"envelope\": {\"mailFrom\": "
                           "{\"email\": %s}, \"rcptTo\": [%s]}}}, \"onSuccessUpdateEmail\": "
                           "{\"#s\": {%s: null, %s: true, \"keywords/$draft\": null}}}, \"0\"]]",
                           account, identity, ref, from, rcpt->str, drafts_path, sent_path);
  jmap_call (op, calls, jmap_submit_cb);
}

static void
jmap_import_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  JsonObject *args;
  const char *email_id = NULL;

  if (responses == NULL)
    return;
  args = hir_jmap_get_response (responses, 0, "Email/import", &error);
  if (args == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  if (json_object_has_member (args, "created") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (args, "created")) &&
      json_object_has_member (json_object_get_object_member (args, "created"), "m"))
    email_id = json_object_get_string_member (json_object_get_object_member (
                 json_object_get_object_member (args, "created"), "m"), "id");
  else if (json_object_has_member (args, "notCreated") &&
           JSON_NODE_HOLDS_OBJECT (json_object_get_member (args, "notCreated")) &&
           json_object_has_member (json_object_get_object_member (args, "notCreated"), "m"))
    {
      JsonObject *set_error = json_object_get_object_member (
        json_object_get_object_member (args, "notCreated"), "m");
      const char *type = json_object_get_string_member_with_default (set_error, "type", "");

      /* The same bytes imported before a crash: RFC 8621 says the server may answer
       * alreadyExists with the existing id; that copy is the one to send. */
      if (g_str_equal (type, "alreadyExists"))
        email_id = json_object_get_string_member_with_default (set_error, "existingId", NULL);
      if (email_id == NULL)
        {
          send_failed (op, g_error_new (HIR_ERROR, HIR_ERROR_SERVER,
                                        /* Translators: the first %s is the server's error
                                         * type ("invalidEmail"), the second its
                                         * description, both untranslated. */
                                        _("The server did not take the message: %s: %s"), type,
                                        json_object_get_string_member_with_default (
                                          set_error, "description", "")));
          return;
        }
    }
  if (email_id == NULL)
    {
      send_failed (op, g_error_new (HIR_ERROR, HIR_ERROR_PROTOCOL,
                                    /* Translators: Email/import is a JMAP method name. */
                                    _("The server answered Email/import without an id")));
      return;
    }
  g_free (op->row->remote_ref);
  op->row->remote_ref = g_strdup (email_id);
  /* Remember the server's copy before submitting it, so a resume checks it instead of
   * making another. */
  mark_step (op, STEP_UPLOADING, HIR_OUTGOING_STATE_SENDING, email_id, jmap_submit);
}

static void
jmap_upload_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *blob_id = hir_jmap_client_upload_finish (HIR_JMAP_CLIENT (object), result, &error);
  g_autofree char *account = NULL;
  g_autofree char *blob = NULL;
  g_autofree char *drafts = NULL;
  g_autofree char *calls = NULL;

  if (blob_id == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  blob = json_quote (blob_id);
  drafts = json_quote (op->drafts_id);
  calls = g_strdup_printf ("[[\"Email/import\", {\"accountId\": %s, \"emails\": {\"m\": "
                           "{\"blobId\": %s, \"mailboxIds\": {%s: true}, \"keywords\": "
                           "{\"$draft\": true, \"$seen\": true}}}}, \"0\"]]",
                           account, blob, drafts);
  jmap_call (op, calls, jmap_import_cb);
}

/* The built message goes up as one blob and is imported as it is: the same bytes (and
 * Message-ID) as an SMTP send would carry, attachments included. */
static void
jmap_upload (SendOp *op)
{
  hir_jmap_client_upload_async (op->jmap, op->row->mime, "message/rfc822", op->cancellable,
                                jmap_upload_cb, op);
}

static void
jmap_existing_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  JsonObject *args;
  JsonObject *subs;
  JsonArray *list;
  gboolean submitted = FALSE;

  if (responses == NULL)
    return;
  args = hir_jmap_get_response (responses, 0, "Email/get", &error);
  if (args == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  list = json_object_get_array_member (args, "list");
  /* A submission for this Email already exists: it went (or is going) out. */
  subs = hir_jmap_get_response (responses, 1, "EmailSubmission/query", NULL);
  if (subs != NULL && json_object_has_member (subs, "ids") &&
      json_array_get_length (json_object_get_array_member (subs, "ids")) > 0)
    submitted = TRUE;
  if (list != NULL && json_array_get_length (list) > 0)
    {
      JsonObject *email = json_array_get_object_element (list, 0);
      JsonObject *keywords = json_object_has_member (email, "keywords")
        ? json_object_get_object_member (email, "keywords") : NULL;

      if (in_mailbox (email, op->sent_id) ||
          (keywords != NULL && !json_object_has_member (keywords, "$draft")))
        submitted = TRUE;
      if (submitted)
        mark_step (op, STEP_SUBMITTED, HIR_OUTGOING_STATE_SENDING, NULL, jmap_submitted);
      else
        jmap_submit (op);
      return;
    }
  if (submitted)
    {
      mark_step (op, STEP_SUBMITTED, HIR_OUTGOING_STATE_SENDING, NULL, jmap_submitted);
      return;
    }
  /* The copy we made is gone: make another. */
  jmap_upload (op);
}

static void
jmap_check_existing (SendOp *op)
{
  g_autofree char *account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  g_autofree char *ref = json_quote (op->row->remote_ref);
  g_autofree char *calls = NULL;

  calls = g_strdup_printf ("[[\"Email/get\", {\"accountId\": %s, \"ids\": [%s], "
                           "\"properties\": [\"mailboxIds\", \"keywords\"]}, \"0\"], "
                           "[\"EmailSubmission/query\", {\"accountId\": %s, \"filter\": "
                           "{\"emailIds\": [%s]}}, \"1\"]]", account, ref, account, ref);
  jmap_call (op, calls, jmap_existing_cb);
}

static gboolean
list_has_message_id (JsonArray  *list,
                     const char *bare_id,
                     const char **email_id)
{
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *email = json_array_get_object_element (list, i);
      JsonNode *ids = json_object_get_member (email, "messageId");

      if (ids != NULL && JSON_NODE_HOLDS_ARRAY (ids) &&
          json_array_get_length (json_node_get_array (ids)) > 0 &&
          g_strcmp0 (json_array_get_string_element (json_node_get_array (ids), 0), bare_id) == 0)
        {
          *email_id = json_object_get_string_member (email, "id");
          return TRUE;
        }
    }
  return FALSE;
}

static void
jmap_found_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  g_autofree char *bare = NULL;
  JsonObject *in_sent;
  JsonObject *in_drafts;
  const char *email_id = NULL;

  if (responses == NULL)
    return;
  in_sent = hir_jmap_get_response (responses, 1, "Email/get", &error);
  in_drafts = in_sent != NULL ? hir_jmap_get_response (responses, 3, "Email/get", &error) : NULL;
  if (in_drafts == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  bare = g_strdup (op->row->message_id + (op->row->message_id[0] == '<'));
  if (g_str_has_suffix (bare, ">"))
    bare[strlen (bare) - 1] = '\0';
  if (list_has_message_id (json_object_get_array_member (in_sent, "list"), bare, &email_id))
    {
      /* It went before the crash: only the filing is left (and it is filed). */
      g_free (op->row->remote_ref);
      op->row->remote_ref = g_strdup (email_id);
      mark_step (op, STEP_SUBMITTED, HIR_OUTGOING_STATE_SENDING, email_id, jmap_submitted);
    }
  else if (list_has_message_id (json_object_get_array_member (in_drafts, "list"), bare, &email_id))
    {
      /* Imported before the crash, its id not yet recorded: that copy, not another. */
      g_free (op->row->remote_ref);
      op->row->remote_ref = g_strdup (email_id);
      mark_step (op, STEP_UPLOADING, HIR_OUTGOING_STATE_SENDING, email_id, jmap_check_existing);
    }
  else
    jmap_upload (op);
}

/* After a crash in "uploading" before the copy's id was recorded: look for the
 * Message-ID in Sent and Drafts (the newest messages there; no text search, which
 * Cyrus indexes late) before making another copy. */
static void
jmap_find_by_message_id (SendOp *op)
{
  g_autofree char *account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  g_autofree char *sent = json_quote (op->sent_id);
  g_autofree char *drafts = json_quote (op->drafts_id);
  g_autofree char *calls = NULL;

  calls = g_strdup_printf (
    "[[\"Email/query\", {\"accountId\": %s, \"filter\": {\"inMailbox\": %s}, \"sort\": "
    "[{\"property\": \"receivedAt\", \"isAscending\": false}], \"limit\": 100}, \"s\"], "
    "[\"Email/get\", {\"accountId\": %s, \"#ids\": {\"resultOf\": \"s\", \"name\": "
    "\"Email/query\", \"path\": \"/ids\"}, \"properties\": [\"messageId\"]}, \"sg\"], "
    "[\"Email/query\", {\"accountId\": %s, \"filter\": {\"inMailbox\": %s}, \"sort\": "
    "[{\"property\": \"receivedAt\", \"isAscending\": false}], \"limit\": 100}, \"d\"], "
    "[\"Email/get\", {\"accountId\": %s, \"#ids\": {\"resultOf\": \"d\", \"name\": "
    "\"Email/query\", \"path\": \"/ids\"}, \"properties\": [\"messageId\"]}, \"dg\"]]",
    account, sent, account, account, drafts, account);
  jmap_call (op, calls, jmap_found_cb);
}

static void
jmap_resume (SendOp *op)
{
  const char *step = op->row->step;

  if (g_strcmp0 (step, STEP_SUBMITTED) == 0)
    jmap_submitted (op);
  else if (g_strcmp0 (step, STEP_FILING) == 0)
    jmap_file (op);
  else if (g_strcmp0 (step, STEP_FILED) == 0)
    send_succeeded (op);
  else if (g_strcmp0 (step, STEP_UPLOADING) == 0 && op->row->remote_ref != NULL)
    jmap_check_existing (op);
  else if (g_strcmp0 (step, STEP_UPLOADING) == 0)
    jmap_find_by_message_id (op);
  else
    mark_step (op, STEP_UPLOADING, HIR_OUTGOING_STATE_SENDING, NULL, jmap_upload);
}

/* The server's limits, checked before anything is uploaded: a message too big FAILS at
 * once, with the server's figure, instead of after a long upload. */
static gboolean
jmap_check_size (SendOp  *op,
                 GError **error)
{
  gint64 size = g_bytes_get_size (op->row->mime);
  JsonObject *core = hir_jmap_client_get_capability (op->jmap, JMAP_CORE);
  JsonObject *mail = hir_jmap_client_get_account_capability (op->jmap, JMAP_MAIL);
  gint64 upload = core != NULL ? json_object_get_int_member_with_default (core, "maxSizeUpload", 0) : 0;
  gint64 attachments = mail != NULL
    ? json_object_get_int_member_with_default (mail, "maxSizeAttachmentsPerEmail", 0) : 0;
  gint64 submission = hir_jmap_client_get_submission_size_limit (op->jmap);
  if (upload > 0 && size > upload)
    {
      /* The numbers are formatted apart: xgettext cannot read G_GINT64_FORMAT. */
      g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT, size);
      g_autofree char *limit_text = g_strdup_printf ("%" G_GINT64_FORMAT, upload);

      /* Translators: both %s are numbers of bytes. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_SERVER,
                   _("The message is too big for the server: %s bytes, it "
                     "takes uploads of at most %s"), size_text, limit_text);
      return FALSE;
    }
  if (attachments > 0 && op->row->attachments_size > attachments)
    {
      g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                    op->row->attachments_size);
      g_autofree char *limit_text = g_strdup_printf ("%" G_GINT64_FORMAT, attachments);

      /* Translators: both %s are numbers of bytes. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_SERVER,
                   _("The attachments are too big for the server: %s bytes, "
                     "it takes at most %s per message"), size_text, limit_text);
      return FALSE;
    }
  if (submission > 0 && size > submission)
    {
      g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT, size);
      g_autofree char *limit_text = g_strdup_printf ("%" G_GINT64_FORMAT, submission);

      /* Translators: both %s are numbers of bytes. */
      g_set_error (error, HIR_ERROR, HIR_ERROR_SERVER,
                   _("The message is too big for the server: %s bytes, it "
                     "sends at most %s"), size_text, limit_text);
      return FALSE;
    }
  return TRUE;
}

static void
jmap_setup_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(JsonArray) responses = jmap_call_finish (op, result);
  g_autoptr(GError) error = NULL;
  JsonObject *mailboxes;
  JsonObject *identities;
  JsonArray *list;

  if (responses == NULL)
    return;
  mailboxes = hir_jmap_get_response (responses, 0, "Mailbox/get", &error);
  identities = mailboxes != NULL ? hir_jmap_get_response (responses, 1, "Identity/get", &error)
                                 : NULL;
  if (identities == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  list = json_object_get_array_member (mailboxes, "list");
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *mailbox = json_array_get_object_element (list, i);
      const char *role = json_object_get_string_member_with_default (mailbox, "role", NULL);
      const char *id = json_object_get_string_member_with_default (mailbox, "id", NULL);

      if (g_strcmp0 (role, "drafts") == 0 && op->drafts_id == NULL)
        op->drafts_id = g_strdup (id);
      else if (g_strcmp0 (role, "sent") == 0 && op->sent_id == NULL)
        op->sent_id = g_strdup (id);
    }
  /* The identity whose address is the From, else the first one. */
  list = json_object_get_array_member (identities, "list");
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *identity = json_array_get_object_element (list, i);
      const char *email = json_object_get_string_member_with_default (identity, "email", NULL);

      if (op->identity_id == NULL ||
          (email != NULL && g_ascii_strcasecmp (email, op->from_address) == 0))
        {
          g_free (op->identity_id);
          op->identity_id = g_strdup (json_object_get_string_member (identity, "id"));
        }
    }
  if (op->drafts_id == NULL || op->sent_id == NULL || op->identity_id == NULL)
    {
      send_failed (op, g_error_new_literal (HIR_ERROR, HIR_ERROR_CONFIG,
                                            op->identity_id == NULL
                                            ? _("The account has no sending identity")
                                            : _("The account has no Drafts or Sent folder")));
      return;
    }
  jmap_resume (op);
}

static void
jmap_connect_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  g_autofree char *calls = NULL;

  if (!hir_jmap_client_connect_finish (HIR_JMAP_CLIENT (object), result, &error))
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  if (g_strcmp0 (op->row->step, STEP_QUEUED) == 0 && !jmap_check_size (op, &error))
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  calls = g_strdup_printf ("[[\"Mailbox/get\", {\"accountId\": %s, \"properties\": "
                           "[\"id\", \"role\"]}, \"0\"], [\"Identity/get\", {\"accountId\": %s}, "
                           "\"1\"]]", account, account);
  jmap_call (op, calls, jmap_setup_cb);
}

static void
jmap_start (SendOp *op)
{
  const char *username = hir_account_get_username (op->account);

  op->jmap = hir_jmap_client_new (hir_account_get_jmap_url (op->account),
                                  username != NULL ? username : hir_account_get_address (op->account),
                                  op->password, hir_account_get_trusted_certificate (op->account));
  hir_jmap_client_connect_async (op->jmap, op->cancellable, jmap_connect_cb, op);
}

/* Starting an attempt ----------------------------------------------------------------- */

static void
password_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  SendOp *op = user_data;
  g_autoptr(GError) error = NULL;

  op->password = hir_secrets_lookup_finish (result, &error);
  if (op->password == NULL)
    {
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  if (hir_account_get_kind (op->account) == HIR_ACCOUNT_KIND_JMAP)
    jmap_start (op);
  else
    smtp_resume (op);
}

static void
send_loaded_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SendOp *op = g_object_get_data (G_OBJECT (task), "hir-op");
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(InternetAddressList) from = NULL;
  HirAccount *account;

  g_task_return_boolean (task, TRUE);
  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND))
        {
          g_hash_table_remove (op->self->entries, &op->id);
          op->self->sending_id = 0;
          pump (op->self);
          send_op_free (op);
          return;
        }
      send_failed (op, g_steal_pointer (&error));
      return;
    }
  op->row = g_steal_pointer (&job->row);
  /* Undone (or sent) while this attempt waited for the store. */
  if (op->row->state != HIR_OUTGOING_STATE_QUEUED && op->row->state != HIR_OUTGOING_STATE_SENDING &&
      op->row->state != HIR_OUTGOING_STATE_FAILED)
    {
      HirOutgoingState state = op->row->state;

      op->self->sending_id = 0;
      set_entry_state (op->self, op->id, state, op->row->error_message);
      pump (op->self);
      send_op_free (op);
      return;
    }
  if (op_dead (op))
    {
      send_done (op, HIR_OUTGOING_STATE_QUEUED, NULL);
      return;
    }
  account = hir_engine_find_account (op->self->engine, op->row->account_id);
  if (account == NULL)
    {
      /* Translators: %s is an account's name (an email address, usually). */
      g_autofree char *text = g_strdup_printf (_("The account %s is gone"), op->row->account_id);

      record_outcome (op, STEP_QUEUED, HIR_OUTGOING_STATE_FAILED, text);
      return;
    }
  op->account = g_object_ref (account);
  if (op->row->mime == NULL)
    {
      record_outcome (op, STEP_QUEUED, HIR_OUTGOING_STATE_FAILED, _("The message was not built"));
      return;
    }
  from = internet_address_list_parse (NULL, op->row->from != NULL ? op->row->from : "");
  if (from != NULL && internet_address_list_length (from) > 0 &&
      INTERNET_ADDRESS_IS_MAILBOX (internet_address_list_get_address (from, 0)))
    op->from_address = g_strdup (internet_address_mailbox_get_addr (
      INTERNET_ADDRESS_MAILBOX (internet_address_list_get_address (from, 0))));
  else
    op->from_address = g_strdup (hir_account_get_address (account));
  op->recipients = collect_recipients (op->row->to, op->row->cc, op->row->bcc, &error);
  if (op->recipients == NULL)
    {
      record_outcome (op, STEP_QUEUED, HIR_OUTGOING_STATE_FAILED, error->message);
      return;
    }
  hir_secrets_lookup_async (account, op->cancellable, password_cb, op);
}

static void
send_start (HirOutbox *self,
            gint64     id)
{
  SendOp *op = g_new0 (SendOp, 1);
  Job *job = g_new0 (Job, 1);
  GTask *task = g_task_new (self, NULL, NULL, NULL);

  op->self = g_object_ref (self);
  op->id = id;
  op->cancellable = g_object_ref (self->cancellable);
  self->sending_id = id;
  set_entry_state (self, id, HIR_OUTGOING_STATE_SENDING, NULL);

  job->id = id;
  job->with_mime = TRUE;
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_object_set_data (G_OBJECT (task), "hir-op", op);
  hir_store_run_async (self->store, job_load, job, NULL, send_loaded_cb, task);
}

/* ------------------------------------------------------------------------------------ */
/* The pump: what is due goes, one message at a time                                    */

static gboolean
timer_cb (gpointer data)
{
  HirOutbox *self = data;

  self->timer = 0;
  pump (self);
  return G_SOURCE_REMOVE;
}

static void
pump (HirOutbox *self)
{
  GHashTableIter iter;
  gpointer value;
  Entry *best = NULL;
  gint64 wait = G_MAXINT64;
  gint64 now = now_seconds ();
  gint64 mono = now_monotonic_seconds ();

  if (!self->started || self->engine == NULL)
    return;
  if (!self->loaded)
    {
      if (!self->loading)
        load_queue (self);
      return;
    }
  if (self->sending_id != 0)
    return;
  g_clear_handle_id (&self->timer, g_source_remove);

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;
      gint64 due_in;

      if (entry->state != HIR_OUTGOING_STATE_QUEUED)
        continue;
      due_in = MAX (entry->send_at - now, entry->next_try != 0 ? entry->next_try - mono : 0);
      if (due_in <= 0)
        {
          if (best == NULL || entry->id < best->id)
            best = entry;
        }
      else
        wait = MIN (wait, due_in);
    }
  if (best != NULL)
    send_start (self, best->id);
  else if (wait != G_MAXINT64)
    self->timer = g_timeout_add_seconds ((guint) MIN (wait, G_MAXUINT / 2), timer_cb, self);
}

/* ------------------------------------------------------------------------------------ */
/* Server copies of drafts                                                              */

/* The local save is what the user waits for; the copy in the server's Drafts folder
 * (so that other clients see the draft) follows, one at a time per draft: a save while
 * one is being uploaded runs again after it, so the newest version wins and the older
 * copies are removed. Failures only log: the next save tries again. */
typedef struct
{
  HirOutbox *self;
  gint64 id;
  HirAccount *account;
  GBytes *mime;
  char *old_remote;
  char *new_remote;
  char *remove_remote;      /* remove only: this copy */
  char *password;
  HirJmapClient *jmap;
  char *drafts_id;
  GCancellable *cancellable;
} DraftOp;

static void
draft_op_free (DraftOp *op)
{
  g_clear_object (&op->account);
  g_clear_pointer (&op->mime, g_bytes_unref);
  g_free (op->old_remote);
  g_free (op->new_remote);
  g_free (op->remove_remote);
  if (op->password != NULL)
    memset (op->password, 0, strlen (op->password));
  g_free (op->password);
  g_clear_object (&op->jmap);
  g_free (op->drafts_id);
  g_clear_object (&op->cancellable);
  g_clear_object (&op->self);
  g_free (op);
}

static void
draft_op_done (DraftOp      *op,
               const GError *error)
{
  HirOutbox *self = op->self;
  gint64 id = op->id;
  gboolean again = FALSE;

  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("The draft could not be saved on the server (it is saved here): %s",
               error->message);
  if (id != 0)
    {
      again = GPOINTER_TO_INT (g_hash_table_lookup (self->draft_ops, &id)) == 2;
      g_hash_table_remove (self->draft_ops, &id);
    }
  if (again && self->engine != NULL)
    server_draft_start (self, id);
  draft_op_free (op);
}

static gboolean
job_set_draft_remote (sqlite3  *db,
                      gpointer  data,
                      GError  **error)
{
  Job *job = data;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "UPDATE outgoing SET draft_remote_id = ?2 WHERE id = ?1",
                          -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (db, error);
  sqlite3_bind_int64 (stmt, 1, job->id);
  bind_text (stmt, 2, job->draft_remote_id);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      return sql_error (db, error);
    }
  sqlite3_finalize (stmt);
  /* Discarded meanwhile: the caller removes the copy it just made. */
  job->only_if_not_started = sqlite3_changes (db) == 0;
  return TRUE;
}

static void
draft_recorded_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DraftOp *op = g_object_get_data (G_OBJECT (task), "hir-op");
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  g_task_return_boolean (task, TRUE);
  if (!hir_store_run_finish (HIR_STORE (object), result, &error))
    {
      draft_op_done (op, error);
      return;
    }
  if (job->only_if_not_started && op->self->engine != NULL)
    server_draft_remove (op->self, hir_account_get_id (op->account), op->new_remote);
  /* The copy the server had before this one is the past. */
  else if (op->old_remote != NULL && g_strcmp0 (op->old_remote, op->new_remote) != 0 &&
           op->self->engine != NULL)
    server_draft_remove (op->self, hir_account_get_id (op->account), op->old_remote);
  draft_op_done (op, NULL);
}

static void
draft_record (DraftOp *op)
{
  Job *job = g_new0 (Job, 1);
  GTask *task = g_task_new (op->self, NULL, NULL, NULL);

  job->id = op->id;
  job->draft_remote_id = g_strdup (op->new_remote);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_object_set_data (G_OBJECT (task), "hir-op", op);
  hir_store_run_async (op->self->store, job_set_draft_remote, job, NULL, draft_recorded_cb, task);
}

/* IMAP: APPEND on the provider's connection, \Draft. */

static void
draft_imap_appended_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;

  op->new_remote = hir_imap_provider_append_finish (HIR_IMAP_PROVIDER (object), result, &error);
  if (error != NULL)
    {
      draft_op_done (op, error);
      return;
    }
  /* Without UIDPLUS the new copy has no id to replace later: nothing to record. */
  if (op->new_remote == NULL)
    {
      draft_op_done (op, NULL);
      return;
    }
  draft_record (op);
}

static void
draft_imap_folders_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GPtrArray) folders = hir_store_list_folders_finish (HIR_STORE (object), result, NULL);
  const char *mailbox = "Drafts";
  HirProvider *provider;

  for (guint i = 0; folders != NULL && i < folders->len; i++)
    if (hir_folder_get_role (g_ptr_array_index (folders, i)) == HIR_FOLDER_ROLE_DRAFTS)
      mailbox = hir_folder_get_remote_id (g_ptr_array_index (folders, i));
  provider = op->self->engine != NULL ? hir_engine_get_provider (op->self->engine, op->account)
                                      : NULL;
  if (!HIR_IS_IMAP_PROVIDER (provider))
    {
      /* Not connected yet: the copy is made by a later save. */
      draft_op_done (op, NULL);
      return;
    }
  hir_imap_provider_append_async (HIR_IMAP_PROVIDER (provider), mailbox, "\\Draft \\Seen",
                                  op->mime, op->cancellable, draft_imap_appended_cb, op);
}

/* JMAP: upload, Email/import with $draft. */

static void
draft_jmap_imported_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) responses = hir_jmap_client_call_finish (op->jmap, result, &error);
  JsonObject *args = responses != NULL
    ? hir_jmap_get_response (responses, 0, "Email/import", &error) : NULL;
  JsonObject *created;

  if (args == NULL)
    {
      draft_op_done (op, error);
      return;
    }
  created = json_object_has_member (args, "created") &&
            JSON_NODE_HOLDS_OBJECT (json_object_get_member (args, "created"))
    ? json_object_get_object_member (args, "created") : NULL;
  if (created == NULL || !json_object_has_member (created, "d"))
    {
      g_autoptr(GError) refused = g_error_new (HIR_ERROR, HIR_ERROR_SERVER,
                                               _("The server did not take the draft"));

      draft_op_done (op, refused);
      return;
    }
  op->new_remote = g_strdup (json_object_get_string_member (
                               json_object_get_object_member (created, "d"), "id"));
  draft_record (op);
}

static void
draft_jmap_uploaded_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *blob_id = hir_jmap_client_upload_finish (op->jmap, result, &error);
  g_autofree char *account = NULL;
  g_autofree char *blob = NULL;
  g_autofree char *drafts = NULL;
  g_autofree char *calls = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (blob_id == NULL)
    {
      draft_op_done (op, error);
      return;
    }
  account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  blob = json_quote (blob_id);
  drafts = json_quote (op->drafts_id);
  calls = g_strdup_printf ("[[\"Email/import\", {\"accountId\": %s, \"emails\": {\"d\": "
                           "{\"blobId\": %s, \"mailboxIds\": {%s: true}, \"keywords\": "
                           "{\"$draft\": true, \"$seen\": true}}}}, \"0\"]]",
                           account, blob, drafts);
  node = json_from_string (calls, NULL);
  hir_jmap_client_call_async (op->jmap, node, op->cancellable, draft_jmap_imported_cb, op);
}

static void
draft_jmap_mailboxes_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) responses = hir_jmap_client_call_finish (op->jmap, result, &error);
  JsonObject *args = responses != NULL
    ? hir_jmap_get_response (responses, 0, "Mailbox/get", &error) : NULL;
  JsonArray *list = args != NULL ? json_object_get_array_member (args, "list") : NULL;

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *mailbox = json_array_get_object_element (list, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (mailbox, "role", NULL),
                     "drafts") == 0 && op->drafts_id == NULL)
        op->drafts_id = g_strdup (json_object_get_string_member (mailbox, "id"));
    }
  if (op->drafts_id == NULL)
    {
      if (error == NULL)
        error = g_error_new (HIR_ERROR, HIR_ERROR_CONFIG, _("The account has no Drafts folder"));
      draft_op_done (op, error);
      return;
    }
  hir_jmap_client_upload_async (op->jmap, op->mime, "message/rfc822", op->cancellable,
                                draft_jmap_uploaded_cb, op);
}

static void
draft_jmap_destroyed_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) responses = hir_jmap_client_call_finish (op->jmap, result, &error);

  if (responses != NULL)
    hir_jmap_get_response (responses, 0, "Email/set", &error);
  draft_op_done (op, error);
}

static void
draft_jmap_connected_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  g_autofree char *calls = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (!hir_jmap_client_connect_finish (op->jmap, result, &error))
    {
      draft_op_done (op, error);
      return;
    }
  account = json_quote (hir_jmap_client_get_account_id (op->jmap));
  if (op->remove_remote != NULL)
    {
      g_autofree char *ref = json_quote (op->remove_remote);

      calls = g_strdup_printf ("[[\"Email/set\", {\"accountId\": %s, \"destroy\": [%s]}, \"0\"]]",
                               account, ref);
      node = json_from_string (calls, NULL);
      hir_jmap_client_call_async (op->jmap, node, op->cancellable, draft_jmap_destroyed_cb, op);
      return;
    }
  calls = g_strdup_printf ("[[\"Mailbox/get\", {\"accountId\": %s, \"properties\": "
                           "[\"id\", \"role\"]}, \"0\"]]", account);
  node = json_from_string (calls, NULL);
  hir_jmap_client_call_async (op->jmap, node, op->cancellable, draft_jmap_mailboxes_cb, op);
}

static void
draft_password_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;
  const char *username;

  op->password = hir_secrets_lookup_finish (result, &error);
  if (op->password == NULL)
    {
      draft_op_done (op, error);
      return;
    }
  username = hir_account_get_username (op->account);
  op->jmap = hir_jmap_client_new (hir_account_get_jmap_url (op->account),
                                  username != NULL ? username : hir_account_get_address (op->account),
                                  op->password, hir_account_get_trusted_certificate (op->account));
  hir_jmap_client_connect_async (op->jmap, op->cancellable, draft_jmap_connected_cb, op);
}

static void
draft_imap_deleted_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  DraftOp *op = user_data;
  g_autoptr(GError) error = NULL;

  hir_imap_provider_delete_finish (HIR_IMAP_PROVIDER (object), result, &error);
  draft_op_done (op, error);
}

static void
draft_loaded_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DraftOp *op = g_object_get_data (G_OBJECT (task), "hir-op");
  Job *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(HirOutgoing) outgoing = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  HirAccount *account;

  g_task_return_boolean (task, TRUE);
  if (!hir_store_run_finish (HIR_STORE (object), result, &error) || op->self->engine == NULL)
    {
      draft_op_done (op, error);
      return;
    }
  account = hir_engine_find_account (op->self->engine, job->row->account_id);
  if (account == NULL || job->row->state != HIR_OUTGOING_STATE_DRAFT)
    {
      draft_op_done (op, NULL);
      return;
    }
  op->account = g_object_ref (account);
  op->old_remote = g_strdup (job->row->draft_remote_id);
  outgoing = row_to_outgoing (job->row);
  /* A draft keeps its Bcc: it is the user's own copy. */
  message = hir_outgoing_build_mime (outgoing, FALSE);
  op->mime = message_to_bytes (message);

  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    hir_secrets_lookup_async (account, op->cancellable, draft_password_cb, op);
  else
    hir_store_list_folders_async (op->self->store, hir_account_get_id (account), op->cancellable,
                                  draft_imap_folders_cb, op);
}

static void
server_draft_start (HirOutbox *self,
                    gint64     id)
{
  DraftOp *op;
  Job *job;
  GTask *task;

  if (g_hash_table_contains (self->draft_ops, &id))
    {
      /* Busy: once more when the running upload is done. */
      g_hash_table_insert (self->draft_ops, g_memdup2 (&id, sizeof id), GINT_TO_POINTER (2));
      return;
    }
  g_hash_table_insert (self->draft_ops, g_memdup2 (&id, sizeof id), GINT_TO_POINTER (1));

  op = g_new0 (DraftOp, 1);
  op->self = g_object_ref (self);
  op->id = id;
  op->cancellable = g_object_ref (self->cancellable);
  job = g_new0 (Job, 1);
  job->id = id;
  job->with_attachments = TRUE;
  task = g_task_new (self, NULL, NULL, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_object_set_data (G_OBJECT (task), "hir-op", op);
  hir_store_run_async (self->store, job_load, job, NULL, draft_loaded_cb, task);
}

static void
server_draft_remove (HirOutbox  *self,
                     const char *account_id,
                     const char *draft_remote_id)
{
  HirAccount *account = self->engine != NULL ? hir_engine_find_account (self->engine, account_id)
                                             : NULL;
  DraftOp *op;

  if (account == NULL || draft_remote_id == NULL)
    return;
  op = g_new0 (DraftOp, 1);
  op->self = g_object_ref (self);
  op->account = g_object_ref (account);
  op->remove_remote = g_strdup (draft_remote_id);
  op->cancellable = g_object_ref (self->cancellable);
  if (hir_account_get_kind (account) == HIR_ACCOUNT_KIND_JMAP)
    hir_secrets_lookup_async (account, op->cancellable, draft_password_cb, op);
  else
    {
      HirProvider *provider = hir_engine_get_provider (self->engine, account);

      if (!HIR_IS_IMAP_PROVIDER (provider))
        {
          draft_op_done (op, NULL);
          return;
        }
      hir_imap_provider_delete_async (HIR_IMAP_PROVIDER (provider), draft_remote_id,
                                      op->cancellable, draft_imap_deleted_cb, op);
    }
}
