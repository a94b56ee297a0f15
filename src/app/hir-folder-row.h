/* hir-folder-row.h: one row of the sidebar, an account or one of its folders
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_FOLDER_ROW (hir_folder_row_get_type ())
G_DECLARE_FINAL_TYPE (HirFolderRow, hir_folder_row, HIR, FOLDER_ROW, GtkWidget)

/* Properties:
 *   list-row   GtkTreeListRow  the sidebar's row: sets item, and the indent of subfolders
 *   item       GObject     a HirAccount (shown as a heading with its status) or a
 *                          HirFolder (role icon, name, unread count)
 *   account    HirAccount  read-only: item when it is an account, else NULL
 *   folder     HirFolder   read-only: item when it is a folder, else NULL
 *   is-folder  boolean     read-only; only folders can be selected */
GObject    *hir_folder_row_get_item      (HirFolderRow *self);
void        hir_folder_row_set_item      (HirFolderRow *self,
                                          GObject      *item);
void        hir_folder_row_set_list_row  (HirFolderRow   *self,
                                          GtkTreeListRow *row);
HirAccount *hir_folder_row_get_account   (HirFolderRow *self);
HirFolder  *hir_folder_row_get_folder    (HirFolderRow *self);

G_END_DECLS
