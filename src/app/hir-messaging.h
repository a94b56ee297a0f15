/* hir-messaging.h: messaging for other programs, one implementation behind every door
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_MESSAGING_ERROR (hir_messaging_error_quark ())

/* Each code has a D-Bus name, app.hirondelle.Hirondelle.Error.<Name>, and a command-line
 * exit status (hir-cli.c). */
typedef enum
{
  HIR_MESSAGING_ERROR_FAILED,         /* Failed: anything else */
  HIR_MESSAGING_ERROR_INVALID_ARGS,   /* InvalidArgs: bad address, unknown account, unreadable attachment */
  HIR_MESSAGING_ERROR_CANCELLED,      /* Cancelled: the user closed the composer without sending */
  HIR_MESSAGING_ERROR_NOT_FOUND,      /* NotFound: no such message */
  HIR_MESSAGING_ERROR_SEND_FAILED,    /* SendFailed: the server refused the message for good */
  HIR_MESSAGING_ERROR_NO_DISPLAY,     /* NoDisplay: a composer was asked for where none can open */
} HirMessagingError;

GQuark hir_messaging_error_quark (void);

#define HIR_TYPE_MESSAGING (hir_messaging_get_type ())
G_DECLARE_FINAL_TYPE (HirMessaging, hir_messaging, HIR, MESSAGING, GObject)

/* Simple MAPI's verbs over one HirEngine, without GTK: the D-Bus object (hir-dbus.c) and
 * the command line (hir-cli.c) both call these, so a script gets exactly what a D-Bus
 * caller gets. Values are GVariants in the D-Bus interface's types
 * (data/app.hirondelle.Hirondelle.Messaging.xml).
 *
 * Signals:
 *   status-changed (const char *id, const char *state, const char *reason)
 *     a message handed to send changed state: "queued", "sending", "sent", "failed"
 *     (reason: the server's words), "draft"
 *   new-message (gint64 id, const char *from, const char *subject)
 *     a message arrived in an inbox (after the account's first sync in this run: what
 *     was there before is not new) */
HirMessaging *hir_messaging_new                 (HirEngine           *engine);
HirEngine    *hir_messaging_get_engine          (HirMessaging        *self);

/* Who opens composers: the application sets this; without it an interactive send fails
 * with NO_DISPLAY. @func shows @outgoing and completes @task with the outbox id
 * (g_task_return_int) when the user sent it, or HIR_MESSAGING_ERROR_CANCELLED. */
typedef void (*HirMessagingComposeFunc)         (HirOutgoing         *outgoing,
                                                 GTask               *task,
                                                 gpointer             user_data);
void          hir_messaging_set_compose_func    (HirMessaging        *self,
                                                 HirMessagingComposeFunc func,
                                                 gpointer             user_data);

/* Reads every file descriptor of @fds fully (in a thread: a pipe may be written as it is
 * read) and closes them; @names are the attachment names, one per descriptor. Returns a
 * GPtrArray of HirOutgoingAttachment. INVALID_ARGS when the counts differ or one cannot
 * be read. */
void          hir_messaging_read_fds_async      (HirMessaging        *self,
                                                 GArray              *fds,
                                                 const char * const  *names,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GPtrArray    *hir_messaging_read_fds_finish     (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* A message from Send's a{sv} (to, cc, bcc: as; subject, body, html, account: s),
 * checked: the account exists (the first one when none is named), every address parses
 * and has a domain, there is a recipient (when @require_recipient: a composer may open
 * without one). Nothing is stored. INVALID_ARGS says what is
 * wrong, in words for people. @attachments: HirOutgoingAttachment, may be NULL. */
HirOutgoing  *hir_messaging_make_outgoing       (HirMessaging        *self,
                                                 GVariant            *message,
                                                 GPtrArray           *attachments,
                                                 gboolean             require_recipient,
                                                 GError             **error);

/* Send: queues @outgoing in the outbox (id at once), or with @interactive opens a
 * composer filled with it and completes when the user sends (the id) or cancels. */
void          hir_messaging_send_async          (HirMessaging        *self,
                                                 HirOutgoing         *outgoing,
                                                 gboolean             interactive,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
char         *hir_messaging_send_finish         (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* GetStatus: (state, reason) of a message given to send, from the outbox (memory, else
 * the store). NOT_FOUND for an unknown id. */
void          hir_messaging_get_status_async    (HirMessaging        *self,
                                                 const char          *id,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      hir_messaging_get_status_finish   (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 char               **state,
                                                 char               **reason,
                                                 GError             **error);

/* Resolve: a(ss) (display name, address) of the addresses the user has mailed or
 * received mail from whose name or address contains @name (case-insensitively), the
 * most used first. */
void          hir_messaging_resolve_async       (HirMessaging        *self,
                                                 const char          *name,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GVariant     *hir_messaging_resolve_finish      (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* ListMessages: aa{sv}, newest first. @query a{sv}: folder (s: a role — inbox, drafts,
 * sent, archive, junk, trash — or a folder id; default inbox), account (s), unread_only
 * (b), since (x: Unix time), text (s: in subject, sender or preview), limit (u or i;
 * default 50). Each message: id (x), subject (s), from (s), date (x), unread (b),
 * flagged (b), has_attachment (b), account (s). */
void          hir_messaging_list_async          (HirMessaging        *self,
                                                 GVariant            *query,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
GVariant     *hir_messaging_list_finish         (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* ReadMessage: @headers a{sv} (id, account, subject, from, to, cc, date, message_id, text,
 * html when there is one), @attachments the bytes of each attachment (GBytes), @names
 * their file names (parallel). Loads the body and attachments from the server when they
 * are not cached. */
void          hir_messaging_read_async          (HirMessaging        *self,
                                                 gint64               id,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      hir_messaging_read_finish         (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GVariant           **headers,
                                                 GPtrArray          **attachments,
                                                 char              ***names,
                                                 GError             **error);

/* MarkRead: sets or clears \Seen, locally and on the server. */
void          hir_messaging_mark_read_async     (HirMessaging        *self,
                                                 gint64               id,
                                                 gboolean             read,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      hir_messaging_mark_read_finish    (HirMessaging        *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* "queued", "sent"… for a state. */
const char   *hir_messaging_state_to_string     (HirOutgoingState     state);

/* The lock that keeps two processes from syncing or sending one account at once: a file
 * per account under $XDG_DATA_HOME/hirondelle/locks, locked with flock(). Returns the
 * descriptor holding it (close it to let go), or -1: with @wait FALSE when another
 * process holds it (G_IO_ERROR_BUSY), or when the file cannot be made. */
int           hir_messaging_lock_account        (const char          *account_id,
                                                 gboolean             wait,
                                                 GError             **error);
/* Where a running application listens for the command line when there is no session
 * bus (ssh, cron, env -i): a peer-to-peer D-Bus socket beside the locks. */
char         *hir_messaging_get_socket_path     (void);

G_END_DECLS
