/* hir-test-util.h: what every test needs: the real servers, temporary profiles, waiting
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hirondelle-engine.h"

G_BEGIN_DECLS

/* A value from the servers' settings file (HIR_TEST_SERVERS_ENV, written by
 * tests/servers/hir-servers start), e.g. "HIR_TEST_JMAP_URL". Aborts the test with a clear
 * message when the servers are not running: run the suite through build-aux/test. */
const char  *hir_test_server_get        (const char    *key);

/* Creates a fresh user on the servers (a private mailbox, so tests run in parallel) and
 * returns its address and password. @localpart_prefix names it for debugging. */
void         hir_test_new_user          (const char    *localpart_prefix,
                                         char         **address,
                                         char         **password);

/* Runs one of the tools in tests/servers (hir-mailctl, hir-seed…) with @argv after the
 * tool name; the password is passed in the environment as HIR_TEST_PASSWORD, never on
 * the command line. Returns its stdout; a non-zero exit fails the test. */
char        *hir_test_run_tool          (const char    *tool,
                                         const char    *password,
                                         const char * const *argv);

/* hir-mailctl acting as @address (see tests/servers/README.md): @command and its
 * arguments, NULL-terminated. The password travels in the environment. Returns stdout. */
char        *hir_test_mailctl           (const char    *address,
                                         const char    *password,
                                         const char    *command,
                                         ...) G_GNUC_NULL_TERMINATED;

/* Appends the RFC 5322 text @eml to @folder of @address's mailbox, with @flag (e.g.
 * "\\Seen") or NULL; returns the new UID. */
char        *hir_test_append            (const char    *address,
                                         const char    *password,
                                         const char    *folder,
                                         const char    *eml,
                                         const char    *flag);

/* A private DNS server for discovery tests: dnsmasq on the loopback address named by
 * $HIR_TEST_DISCOVERY_DNS (port 53, inside the test's own mount namespace), answering
 * example.test with 127.0.0.1 plus @srv_lines ("srv-host=…" lines, or NULL). Returns when
 * it answers. */
GSubprocess *hir_test_dns_start         (const char    *srv_lines);
/* Stops it and clears *@dnsmasq (which may be NULL). */
void         hir_test_dns_stop          (GSubprocess  **dnsmasq);

/* A new empty directory under the test's temporary dir, removed at exit. */
char        *hir_test_make_tmpdir       (const char    *name);

/* An engine over a fresh temporary profile (config, data, cache), opened. */
HirEngine   *hir_test_engine_new        (void);
/* An engine over an existing profile directory (to test a restart), opened. */
HirEngine   *hir_test_engine_new_in     (const char    *profile_dir);
/* The profile directory of an engine made by the functions above. */
const char  *hir_test_engine_get_profile (HirEngine    *engine);

/* Async results in tests: pass hir_test_async_cb with &slot as user data, then
 * hir_test_async_wait (&slot) iterates the main context until the call completes
 * (fails the test after 60 s) and returns the result, which the slot owns:
 *   g_autoptr(GAsyncResult) result = NULL;
 *   hir_store_open_async (store, NULL, hir_test_async_cb, &result);
 *   hir_store_open_finish (store, hir_test_async_wait (&result), &error); */
void          hir_test_async_cb         (GObject       *source,
                                         GAsyncResult  *result,
                                         gpointer       user_data);
GAsyncResult *hir_test_async_wait       (GAsyncResult **slot);

/* Iterates the main context until @condition returns TRUE; FALSE after @timeout_ms. */
gboolean     hir_test_wait_until        (gboolean     (*condition) (gpointer data),
                                         gpointer       data,
                                         guint          timeout_ms);

/* A TCP relay on 127.0.0.1 in front of a server port that a test can take away (the
 * port closes, every connection drops, as when the network goes) and bring back on the
 * same port. Runs on the main context. */
typedef struct _HirTestRelay HirTestRelay;

HirTestRelay *hir_test_relay_new        (guint16        target_port);
guint16       hir_test_relay_get_port   (HirTestRelay  *relay);
void          hir_test_relay_down       (HirTestRelay  *relay);
void          hir_test_relay_up         (HirTestRelay  *relay);
void          hir_test_relay_free       (HirTestRelay  *relay);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HirTestRelay, hir_test_relay_free)

G_END_DECLS
