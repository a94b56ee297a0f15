/* hir-imap-client.h: one IMAP connection over GIO sockets
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-enums.h"
#include "hir-imap-parser.h"

G_BEGIN_DECLS

#define HIR_TYPE_IMAP_CLIENT (hir_imap_client_get_type ())
G_DECLARE_FINAL_TYPE (HirImapClient, hir_imap_client, HIR, IMAP_CLIENT, GObject)

/* What a finished command brought back: the untagged responses that arrived while it was
 * the oldest command in flight, and its tagged completion (always OK: NO and BAD become
 * errors). */
typedef struct
{
  GPtrArray       *untagged;  /* of HirImapResponse */
  HirImapResponse *tagged;
} HirImapReply;

void hir_imap_reply_free (HirImapReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirImapReply, hir_imap_reply_free)

/* A connection: TCP, then implicit TLS or STARTTLS (refused when not offered, unless the
 * security is HIR_SECURITY_NONE), the greeting, AUTHENTICATE PLAIN (SASL-IR when offered)
 * or LOGIN, ID, and ENABLE QRESYNC where the server has it. Commands are pipelined:
 * several may be in flight, each completes with its own tagged response. Literals are
 * sent as LITERAL+ when offered, else after the server's continuation.
 *
 * Errors are HIR_ERROR_*: UNREACHABLE (connection refused or dropped: every command in
 * flight fails with it and the client stays closed), CERTIFICATE_UNTRUSTED (with the
 * fingerprint), AUTH_FAILED, SERVER (a NO or BAD, with the server's text), NOT_FOUND
 * ([NONEXISTENT]), CONFIG (STARTTLS required but not offered).
 *
 * Properties:
 *   connected        boolean  read-only: logged in and not closed
 *   commands-sent    uint     read-only: commands written since creation (tests)
 *
 * Signals:
 *   untagged (HirImapResponse *response)  every untagged response, as it arrives (IDLE
 *                                         watchers listen to this) */
HirImapClient  *hir_imap_client_new                 (const char           *host,
                                                     guint                 port,
                                                     HirSecurity           security,
                                                     const char           *username,
                                                     const char           *password,
                                                     const char           *trusted_certificate);
void            hir_imap_client_connect_async       (HirImapClient        *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean        hir_imap_client_connect_finish      (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
gboolean        hir_imap_client_is_connected        (HirImapClient        *self);
/* Drops the connection; commands in flight fail with HIR_ERROR_UNREACHABLE. */
void            hir_imap_client_close               (HirImapClient        *self);
gboolean        hir_imap_client_has_capability      (HirImapClient        *self,
                                                     const char           *capability);
/* Capabilities to act as if the server did not have (upper case, e.g. "QRESYNC",
 * "AUTH=PLAIN"): for a server known to advertise a broken extension, and for tests of
 * the paths older servers take. Set before connecting. */
void            hir_imap_client_set_ignored_capabilities (HirImapClient      *self,
                                                     const char * const   *capabilities);
/* QRESYNC was enabled (RFC 7162): SELECT … (QRESYNC …) and VANISHED are available. */
gboolean        hir_imap_client_get_qresync         (HirImapClient        *self);
guint           hir_imap_client_get_commands_sent   (HirImapClient        *self);
/* Seconds of silence from the server after which the connection is closed (default 300;
 * an IDLE connection needs more than its renewal interval). Set it before connecting:
 * a read already waiting keeps the timeout it started with. */
void            hir_imap_client_set_timeout         (HirImapClient        *self,
                                                     guint                 seconds);
/* COMPRESS=DEFLATE (RFC 4978) is on. It is used whenever the server offers it, unless
 * turned off before connecting (on loopback it only costs CPU). */
gboolean        hir_imap_client_get_compressed      (HirImapClient        *self);
void            hir_imap_client_set_allow_compression (HirImapClient      *self,
                                                     gboolean              allow);
/* The mailbox the last successful SELECT opened, or NULL. */
const char     *hir_imap_client_get_selected        (HirImapClient        *self);

/* Sends one command; @command is the text after the tag, without CRLF, with strings
 * already quoted (hir_imap_quote). */
void            hir_imap_client_command_async       (HirImapClient        *self,
                                                     const char           *command,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
HirImapReply   *hir_imap_client_command_finish      (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

/* SELECT @mailbox; with @qresync_args ("(QRESYNC (uidvalidity modseq))" or "(CONDSTORE)")
 * appended when not NULL. Remembers the selected mailbox on success. */
void            hir_imap_client_select_async        (HirImapClient        *self,
                                                     const char           *mailbox,
                                                     const char           *select_args,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
HirImapReply   *hir_imap_client_select_finish       (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

/* APPEND @message (RFC 5322 bytes, CRLF line ends) to @mailbox with @flags ("\\Seen" or
 * NULL). Returns the new UID (and the mailbox's UIDVALIDITY) when the server has UIDPLUS,
 * else 0. */
void            hir_imap_client_append_async        (HirImapClient        *self,
                                                     const char           *mailbox,
                                                     const char           *flags,
                                                     GBytes               *message,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
guint32         hir_imap_client_append_finish       (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     guint32              *uidvalidity,
                                                     GError              **error);

/* Moves the messages @uid_set of the selected mailbox to @destination: UID MOVE, else
 * UID COPY + UID STORE +FLAGS.SILENT (\Deleted) + UID EXPUNGE (or EXPUNGE without
 * UIDPLUS). */
void            hir_imap_client_move_async          (HirImapClient        *self,
                                                     const char           *uid_set,
                                                     const char           *destination,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean        hir_imap_client_move_finish         (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

/* IDLE on the selected mailbox: completes when the server ends it, after
 * hir_imap_client_idle_done() or the cancellable (which sends DONE). Untagged responses
 * meanwhile come through the untagged signal. */
void            hir_imap_client_idle_async          (HirImapClient        *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean        hir_imap_client_idle_finish         (HirImapClient        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void            hir_imap_client_idle_done           (HirImapClient        *self);

/* Connects to the server (implicit TLS, or STARTTLS on the plain port) and returns the
 * fingerprint ("sha256:hex") of the certificate it presents, trusted or not; @errors says
 * what is wrong with it (0: trusted by the system). No credentials are sent. For "trust
 * this certificate" in account setup, as hir_jmap_fetch_certificate_async() for JMAP. */
void            hir_imap_fetch_certificate_async    (const char           *host,
                                                     guint                 port,
                                                     HirSecurity           security,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
char           *hir_imap_fetch_certificate_finish   (GAsyncResult         *result,
                                                     GTlsCertificateFlags *errors,
                                                     GError              **error);

/* Helpers */

/* @text as an IMAP quoted string ("a \"b\""); NULL when it cannot be one (CR, LF, NUL or
 * 8-bit bytes: send a literal instead). */
char           *hir_imap_quote                      (const char           *text);
/* "sha256:AB:CD…" and "sha256:abcd…" name the same certificate: lower-case hex only. */
char           *hir_imap_normalize_fingerprint      (const char           *fingerprint);
/* A mailbox name from the wire (modified UTF-7, RFC 3501 §5.1.3) as UTF-8. */
char           *hir_imap_mailbox_decode             (const char           *mailbox);
/* A sorted array of UIDs as a compact set: "1:5,7,9:12". */
char           *hir_imap_uid_set                    (const guint32        *uids,
                                                     guint                 n_uids);

G_END_DECLS
