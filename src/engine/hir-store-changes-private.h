/* hir-store-changes-private.h: what the store reads out of a HirStoreChanges
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hir-store-changes.h"

G_BEGIN_DECLS

/* Plain copies, not GObjects: the store reads them on its worker thread while the
 * provider may go on using (and notifying) the objects it passed in. */
typedef struct
{
  char *remote_id;
  char *parent_remote_id;
  char *name;
  HirFolderRole role;
  guint sort_order;
} HirStoreFolderRow;

typedef struct
{
  char *remote_id;
  char *thread_id;
  char *message_id;
  char *in_reply_to;
  char *references;
  char *subject;
  char *from_name;
  char *from_address;
  char *to;
  char *cc;
  gint64 date;
  char *preview;
  guint64 size;
  HirMessageFlags flags;
  gboolean has_attachment;
  GStrv folder_remote_ids;      /* NULL: membership unchanged (nothing stored if new) */
} HirStoreMessageRow;

typedef struct
{
  char *remote_id;
  HirMessageFlags flags;
  GStrv folder_remote_ids;      /* NULL: membership unchanged */
} HirStoreUpdateRow;

struct _HirStoreChanges
{
  gatomicrefcount ref_count;
  char *account_id;
  GPtrArray *folders;           /* HirStoreFolderRow */
  GPtrArray *removed_folders;   /* char * remote ids */
  GPtrArray *messages;          /* HirStoreMessageRow */
  GPtrArray *updates;           /* HirStoreUpdateRow */
  GPtrArray *removed_messages;  /* char * remote ids */
  GPtrArray *state_keys;        /* char *, parallel to state_values */
  GPtrArray *state_values;      /* char *, may hold NULL (clears the key) */
};

G_END_DECLS
