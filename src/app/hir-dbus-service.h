/* hir-dbus-service.h: the application's side of messaging for other programs
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_DBUS_SERVICE (hir_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (HirDBusService, hir_dbus_service, HIR, DBUS_SERVICE, GObject)

/* What the running application adds to HirDBus and HirMessaging: composers for an
 * interactive Send and for mailto: links, the account locks (taken before the engine
 * starts, so a command line sending in the meantime finishes first), the peer socket
 * for command lines without a session bus, and holding the application while a message
 * it was given is on its way. @application is not referenced (it owns the service). */
HirDBusService *hir_dbus_service_new           (GtkApplication   *application);
gboolean        hir_dbus_service_register      (HirDBusService   *self,
                                                GDBusConnection  *connection,
                                                const char       *object_path,
                                                GError          **error);
void            hir_dbus_service_unregister    (HirDBusService   *self,
                                                GDBusConnection  *connection);
/* The engine is open: locks its accounts (waiting for a command line that holds one),
 * then starts it and answers the calls that waited. */
void            hir_dbus_service_start         (HirDBusService   *self,
                                                HirEngine        *engine);
/* The engine could not open: calls fail with @message. */
void            hir_dbus_service_set_error     (HirDBusService   *self,
                                                const char       *message);
/* A mailto: URI: a composer filled from it, its attachments shown for the user to see
 * (never sent without them), or a dialog saying what is wrong with the link. */
void            hir_dbus_service_open_mailto   (HirDBusService   *self,
                                                const char       *uri);

G_END_DECLS
