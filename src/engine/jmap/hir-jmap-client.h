/* hir-jmap-client.h: a JMAP session and its HTTP requests (RFC 8620)
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define HIR_TYPE_JMAP_CLIENT (hir_jmap_client_get_type ())
G_DECLARE_FINAL_TYPE (HirJmapClient, hir_jmap_client, HIR, JMAP_CLIENT, GObject)

/* The HTTP side of JMAP: the session document, API requests, blob downloads and the
 * EventSource stream, with Basic authentication and certificate pinning. It knows
 * nothing of mail; HirJmapProvider builds the method calls. Every failure leaves as a
 * HIR_ERROR: 401 → AUTH_FAILED, TLS → CERTIFICATE_UNTRUSTED, no connection →
 * UNREACHABLE, an HTTP or JMAP error → SERVER with the server's text.
 *
 * Properties:
 *   session-url          string  where the session is discovered (construct-only)
 *   username             string  (construct-only)
 *   trusted-certificate  string  pinned "sha256:HEX", or NULL (construct-only)
 *   request-count        uint    read-only: HTTP requests sent (tests check for loops) */
HirJmapClient *hir_jmap_client_new                    (const char           *session_url,
                                                       const char           *username,
                                                       const char           *password,
                                                       const char           *trusted_certificate);
void           hir_jmap_client_set_password           (HirJmapClient        *self,
                                                       const char           *password);
guint          hir_jmap_client_get_request_count      (HirJmapClient        *self);

/* Fetches (again) the session document. Calls below fetch it on demand. */
void           hir_jmap_client_connect_async          (HirJmapClient        *self,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
gboolean       hir_jmap_client_connect_finish         (HirJmapClient        *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
gboolean       hir_jmap_client_has_session            (HirJmapClient        *self);
/* The primary mail account of the session (NULL before connecting). */
const char    *hir_jmap_client_get_account_id         (HirJmapClient        *self);
/* The absolute EventSource URL, or NULL when the server has none. */
const char    *hir_jmap_client_get_event_source_url   (HirJmapClient        *self);
guint          hir_jmap_client_get_max_objects_in_get (HirJmapClient        *self);

/* Sends one API request. @method_calls is a JSON array of invocations
 * ([name, arguments, call id]); the result is the methodResponses array. A method's
 * error response is not an error here: see hir_jmap_get_response(). */
void           hir_jmap_client_call_async             (HirJmapClient        *self,
                                                       JsonNode             *method_calls,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
JsonArray     *hir_jmap_client_call_finish            (HirJmapClient        *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);

/* Downloads a blob through the session's downloadUrl template. */
void           hir_jmap_client_download_async         (HirJmapClient        *self,
                                                       const char           *blob_id,
                                                       const char           *name,
                                                       const char           *type,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
GBytes        *hir_jmap_client_download_finish        (HirJmapClient        *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);

/* Uploads a blob through the session's uploadUrl; returns its blobId. */
void           hir_jmap_client_upload_async           (HirJmapClient        *self,
                                                       GBytes               *data,
                                                       const char           *type,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char          *hir_jmap_client_upload_finish          (HirJmapClient        *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
/* The session's capability object for @uri ("urn:ietf:params:jmap:core"…), or NULL
 * (before connecting, or not offered). Borrowed. */
JsonObject    *hir_jmap_client_get_capability         (HirJmapClient        *self,
                                                       const char           *uri);
/* The primary mail account's own capability object for @uri (accountCapabilities: where
 * the mail and submission limits are), or NULL. Borrowed. */
JsonObject    *hir_jmap_client_get_account_capability (HirJmapClient        *self,
                                                       const char           *uri);
/* The SIZE the submission capability announces (account's, else the session's), or 0. */
gint64         hir_jmap_client_get_submission_size_limit (HirJmapClient     *self);
/* The largest message the server takes as far as the session tells: the smallest of
 * maxSizeUpload, maxSizeAttachmentsPerEmail and the submission SIZE; 0 when unknown. */
guint64        hir_jmap_client_get_size_limit         (HirJmapClient        *self);

/* Opens an EventSource stream at @url (the session's, or a replacement). Anything but a
 * 200 text/event-stream answer (Cyrus answers 204) is HIR_ERROR_SERVER. */
void           hir_jmap_client_open_event_source_async  (HirJmapClient      *self,
                                                         const char         *url,
                                                         GCancellable       *cancellable,
                                                         GAsyncReadyCallback callback,
                                                         gpointer            user_data);
GInputStream  *hir_jmap_client_open_event_source_finish (HirJmapClient      *self,
                                                         GAsyncResult       *result,
                                                         GError            **error);

/* Expands an RFC 6570 level-1 URL template ({name} → percent-encoded value); arguments are
 * name/value pairs ending with NULL. */
char          *hir_jmap_expand_template               (const char           *template_,
                                                       const char           *first_name,
                                                       ...) G_GNUC_NULL_TERMINATED;

/* The arguments of methodResponses[@index] if it is a @name response; a JMAP error
 * response becomes HIR_ERROR_SERVER (HIR_ERROR_STATE_MISMATCH for
 * cannotCalculateChanges) with the server's type and description. Borrowed. */
JsonObject    *hir_jmap_get_response                  (JsonArray            *responses,
                                                       guint                 index,
                                                       const char           *name,
                                                       GError              **error);

/* "sha256:hex" of a certificate's DER bytes. */
char          *hir_jmap_certificate_fingerprint       (GTlsCertificate      *certificate);
/* Connects to @url and returns the fingerprint of the certificate the server presents,
 * whether or not it is trusted; @errors says what is wrong with it (0: trusted by the
 * system). For "trust this certificate" in account setup. */
void           hir_jmap_fetch_certificate_async       (const char           *url,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char          *hir_jmap_fetch_certificate_finish      (GAsyncResult         *result,
                                                       GTlsCertificateFlags *errors,
                                                       GError              **error);
/* Human-readable list of what is wrong with a certificate ("unknown issuer, expired"). */
char          *hir_jmap_describe_certificate_errors   (GTlsCertificateFlags  errors);

G_END_DECLS
