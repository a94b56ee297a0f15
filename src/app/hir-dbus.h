/* hir-dbus.h: the app.hirondelle.Hirondelle.Messaging D-Bus object
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "hir-messaging.h"

G_BEGIN_DECLS

#define HIR_DBUS_OBJECT_PATH "/app/hirondelle/Hirondelle"
#define HIR_DBUS_INTERFACE "app.hirondelle.Hirondelle.Messaging"

#define HIR_TYPE_DBUS (hir_dbus_get_type ())
G_DECLARE_FINAL_TYPE (HirDBus, hir_dbus, HIR, DBUS, GObject)

/* The D-Bus face of HirMessaging (no GTK): methods translate GVariants and file
 * descriptors and call it; its signals become StatusChanged and NewMessage. Calls that
 * arrive before the engine is open (D-Bus activation starts the application for a call)
 * wait for hir_dbus_set_messaging. One object may be exported on several connections:
 * the session bus and peer connections from the command line (hir_dbus_listen). */
HirDBus      *hir_dbus_new                (void);
void          hir_dbus_set_messaging      (HirDBus          *self,
                                           HirMessaging     *messaging);
/* Held (g_application_hold) while a call is being answered, so an application started
 * for it by D-Bus activation stays until it answered. Not referenced. */
void          hir_dbus_set_application    (HirDBus          *self,
                                           GApplication     *application);
/* The engine could not open: waiting calls and later ones fail with this message. */
void          hir_dbus_set_error          (HirDBus          *self,
                                           const char       *message);
gboolean      hir_dbus_export             (HirDBus          *self,
                                           GDBusConnection  *connection,
                                           const char       *object_path,
                                           GError          **error);
void          hir_dbus_unexport           (HirDBus          *self,
                                           GDBusConnection  *connection);
/* Listens on @socket_path (hir_messaging_get_socket_path) for peer-to-peer connections
 * from the same user, and exports the object on each. For a command line that has no
 * session bus (ssh, cron). Stops in dispose. */
gboolean      hir_dbus_listen             (HirDBus          *self,
                                           const char       *socket_path,
                                           GError          **error);

/* The interface, for clients. */
GDBusInterfaceInfo *hir_dbus_get_interface_info (void);

G_END_DECLS
