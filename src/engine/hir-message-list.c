/* hir-message-list.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-message-list.h"

#include "hir-error.h"

/* A page is what one query brings; the cache holds MAX_PAGES of them, so the list costs
 * at most PAGE_SIZE * MAX_PAGES rows plus whatever the view itself still holds. */
#define PAGE_SIZE 64
#define MAX_PAGES 16
/* Pages a refresh reloads beyond the cache, for rows the view holds elsewhere. */
#define MAX_EXTRA_PAGES 8

typedef struct
{
  GList link;           /* in the LRU queue; link.data is the page */
  guint index;
  GPtrArray *rows;      /* HirMessage, strong; placeholders until loaded */
} Page;

/* Every row object alive is known by position, held weakly: the view may keep an object
 * after its page was dropped, and a later load must fill that same object. */
typedef struct
{
  HirMessageList *self;
  HirMessage *message;
  guint position;
} Handout;

struct _HirMessageList
{
  GObject parent_instance;

  HirStore *store;
  gint64 folder_id;
  guint n_items;
  gboolean loading;

  GCancellable *cancellable;
  GHashTable *pages;        /* page index → Page */
  GQueue lru;               /* Page links, most recently used first */
  GHashTable *in_flight;    /* page index → PageLoad of the current numbering */
  GHashTable *loads;        /* every PageLoad not completed yet */
  GHashTable *handouts;     /* position → Handout */
  guint generation;         /* bumped when positions change; older loads are stale */
  gboolean refreshing;
  gboolean refresh_again;
  gboolean emitting;        /* inside our own items-changed */
  GHashTable *deferred;     /* page indices asked for while emitting */
};

static void hir_message_list_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HirMessageList, hir_message_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      hir_message_list_iface_init))

enum {
  PROP_0,
  PROP_STORE,
  PROP_FOLDER_ID,
  PROP_N_ITEMS,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* One page query. Abandoned (self = NULL, cancelled) when the list goes away or the page
 * is dropped before it arrives with nobody holding its rows: the worker then skips it. */
typedef struct
{
  HirMessageList *self;
  GCancellable *cancellable;
  guint index;
  guint generation;
  gboolean keep;        /* cache it even if nobody asked (the first page) */
} PageLoad;

static void
page_load_free (PageLoad *load)
{
  g_clear_object (&load->cancellable);
  g_free (load);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PageLoad, page_load_free)

static void
abandon_load (PageLoad *load)
{
  load->self = NULL;
  g_cancellable_cancel (load->cancellable);
}

static void load_page (HirMessageList *self, guint index);

/* ------------------------------------------------------------------------------------ */
/* Handouts                                                                             */

static void
handout_weak_notify (gpointer  data,
                     GObject  *where_the_object_was)
{
  Handout *handout = data;

  g_hash_table_remove (handout->self->handouts, GUINT_TO_POINTER (handout->position));
}

static void
handout_free (gpointer data)
{
  g_free (data);
}

static HirMessage *
lookup_handout (HirMessageList *self,
                guint           position)
{
  Handout *handout = g_hash_table_lookup (self->handouts, GUINT_TO_POINTER (position));

  return handout != NULL ? handout->message : NULL;
}

static void
add_handout (HirMessageList *self,
             guint           position,
             HirMessage     *message)
{
  Handout *handout = g_hash_table_lookup (self->handouts, GUINT_TO_POINTER (position));

  if (handout != NULL)
    {
      if (handout->message == message)
        return;
      g_object_weak_unref (G_OBJECT (handout->message), handout_weak_notify, handout);
      g_hash_table_remove (self->handouts, GUINT_TO_POINTER (position));
    }

  handout = g_new0 (Handout, 1);
  handout->self = self;
  handout->message = message;
  handout->position = position;
  g_object_weak_ref (G_OBJECT (message), handout_weak_notify, handout);
  g_hash_table_insert (self->handouts, GUINT_TO_POINTER (position), handout);
}

static void
clear_handouts (HirMessageList *self)
{
  GHashTableIter iter;
  Handout *handout;

  g_hash_table_iter_init (&iter, self->handouts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &handout))
    {
      g_object_weak_unref (G_OBJECT (handout->message), handout_weak_notify, handout);
      g_hash_table_iter_remove (&iter);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Pages                                                                                */

static void
page_free (gpointer data)
{
  Page *page = data;

  g_ptr_array_unref (page->rows);
  g_free (page);
}

static HirMessage *
placeholder_new (void)
{
  return g_object_new (HIR_TYPE_MESSAGE, "loaded", FALSE, NULL);
}

static void
remove_page (HirMessageList *self,
             Page           *page)
{
  guint index = page->index;
  guint n = page->rows->len;
  PageLoad *load;

  g_queue_unlink (&self->lru, &page->link);
  g_hash_table_remove (self->pages, GUINT_TO_POINTER (index));

  /* Rows nobody holds any more died with the page; if none of its placeholders is left,
   * its query is wasted work (a fast scroll leaves hundreds behind). */
  load = g_hash_table_lookup (self->in_flight, GUINT_TO_POINTER (index));
  if (load == NULL)
    return;
  for (guint i = 0; i < n; i++)
    {
      HirMessage *message = lookup_handout (self, index * PAGE_SIZE + i);

      if (message != NULL && !hir_message_get_loaded (message))
        return;
    }
  g_hash_table_remove (self->in_flight, GUINT_TO_POINTER (index));
  g_hash_table_remove (self->loads, load);
  abandon_load (load);
}

static void
clear_pages (HirMessageList *self)
{
  while (self->lru.head != NULL)
    remove_page (self, self->lru.head->data);
}

static void
insert_page (HirMessageList *self,
             Page           *page)
{
  page->link.data = page;
  g_hash_table_insert (self->pages, GUINT_TO_POINTER (page->index), page);
  g_queue_push_head_link (&self->lru, &page->link);

  while (self->lru.length > MAX_PAGES)
    remove_page (self, self->lru.tail->data);
}

static guint
page_rows_expected (HirMessageList *self,
                    guint           index)
{
  guint first = index * PAGE_SIZE;

  return first >= self->n_items ? 0 : MIN (PAGE_SIZE, self->n_items - first);
}

/* A page of whatever objects already stand for its rows, placeholders for the rest. */
static Page *
create_page (HirMessageList *self,
             guint           index,
             gboolean       *complete)
{
  Page *page = g_new0 (Page, 1);
  guint n = page_rows_expected (self, index);

  page->index = index;
  page->rows = g_ptr_array_new_full (n, g_object_unref);
  *complete = TRUE;
  for (guint i = 0; i < n; i++)
    {
      guint position = index * PAGE_SIZE + i;
      HirMessage *message = lookup_handout (self, position);

      if (message != NULL)
        g_object_ref (message);
      else
        {
          message = placeholder_new ();
          add_handout (self, position, message);
        }
      if (!hir_message_get_loaded (message))
        *complete = FALSE;
      g_ptr_array_add (page->rows, message);
    }
  insert_page (self, page);
  return page;
}

static Page *
ensure_page (HirMessageList *self,
             guint           index)
{
  Page *page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (index));
  gboolean complete;

  if (page != NULL)
    {
      if (self->lru.head != &page->link)
        {
          g_queue_unlink (&self->lru, &page->link);
          g_queue_push_head_link (&self->lru, &page->link);
        }
      return page;
    }

  page = create_page (self, index, &complete);
  /* During a refresh, positions are about to change: the refresh drops this page and
   * the view asks again under the new numbering. */
  if (!complete && !self->refreshing)
    load_page (self, index);
  return page;
}


static void
page_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PageLoad) load = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  HirMessageList *self = load->self;
  Page *page;

  rows = hir_store_load_messages_finish (HIR_STORE (source), result, &error);
  if (self == NULL)
    return;

  g_hash_table_remove (self->loads, load);
  if (g_hash_table_lookup (self->in_flight, GUINT_TO_POINTER (load->index)) == load)
    g_hash_table_remove (self->in_flight, GUINT_TO_POINTER (load->index));
  if (load->generation != self->generation)
    return;

  if (rows == NULL)
    {
      g_warning ("Could not load messages of folder %" G_GINT64_FORMAT ": %s",
                 self->folder_id, error->message);
      return;
    }

  page = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (load->index));
  for (guint i = 0; i < rows->len; i++)
    {
      guint position = load->index * PAGE_SIZE + i;
      HirMessage *row = g_ptr_array_index (rows, i);
      HirMessage *target;

      if (position >= self->n_items)
        break;
      if (page != NULL && i < page->rows->len)
        target = g_ptr_array_index (page->rows, i);
      else
        target = lookup_handout (self, position);

      if (target != NULL)
        hir_message_update_from (target, row);
    }

  /* Loaded ahead of being asked (the first page, at construction): keep it. A page that
   * was dropped meanwhile (fast scrolling) is not brought back: it filled the rows still
   * held above, and caching it would push out what is on screen now. */
  if (page == NULL && load->keep)
    {
      gboolean complete;

      page = g_new0 (Page, 1);
      page->index = load->index;
      page->rows = g_ptr_array_new_full (rows->len, g_object_unref);
      for (guint i = 0; i < rows->len && i < page_rows_expected (self, load->index); i++)
        {
          guint position = load->index * PAGE_SIZE + i;
          HirMessage *message = lookup_handout (self, position);

          if (message == NULL)
            {
              message = g_ptr_array_index (rows, i);
              add_handout (self, position, message);
            }
          g_ptr_array_add (page->rows, g_object_ref (message));
        }
      complete = page->rows->len == page_rows_expected (self, load->index);
      if (complete)
        insert_page (self, page);
      else
        page_free (page);
    }
}

static void
load_page_full (HirMessageList *self,
                guint           index,
                gboolean        keep)
{
  PageLoad *load;

  if (g_hash_table_contains (self->in_flight, GUINT_TO_POINTER (index)))
    return;

  load = g_new0 (PageLoad, 1);
  load->self = self;
  load->cancellable = g_cancellable_new ();
  load->index = index;
  load->generation = self->generation;
  load->keep = keep;
  g_hash_table_insert (self->in_flight, GUINT_TO_POINTER (index), load);
  g_hash_table_add (self->loads, load);
  hir_store_load_messages_async (self->store, self->folder_id, index * PAGE_SIZE, PAGE_SIZE,
                                 load->cancellable, page_loaded_cb, load);
}

static void
load_page (HirMessageList *self,
           guint           index)
{
  load_page_full (self, index, FALSE);
}

/* ------------------------------------------------------------------------------------ */
/* Count and refresh                                                                    */

static void
set_loading (HirMessageList *self,
             gboolean        loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

/* GtkSingleSelection answers items-changed by asking for every added item until it finds
 * the selected one: that can be a million get_item() calls. While we emit, rows outside
 * the cached pages get a bare placeholder and no page; afterwards only pages whose
 * placeholders somebody kept (the view's visible rows) are loaded. */
static void
emit_items_changed (HirMessageList *self,
                    guint           removed,
                    guint           added)
{
  GHashTableIter iter;
  gpointer key;

  self->emitting = TRUE;
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, added);
  self->emitting = FALSE;

  g_hash_table_iter_init (&iter, self->deferred);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      guint index = GPOINTER_TO_UINT (key);
      guint n = page_rows_expected (self, index);

      for (guint i = 0; i < n; i++)
        {
          HirMessage *message = lookup_handout (self, index * PAGE_SIZE + i);

          if (message != NULL && !hir_message_get_loaded (message))
            {
              ensure_page (self, index);
              break;
            }
        }
      g_hash_table_iter_remove (&iter);
    }
}

static void
initial_count_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  HirMessageList *self = user_data;
  g_autoptr(GError) error = NULL;
  guint count;

  count = hir_store_count_messages_finish (HIR_STORE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL && !g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND))
    g_warning ("Could not count messages of folder %" G_GINT64_FORMAT ": %s",
               self->folder_id, error->message);

  /* A refresh that started meanwhile owns the count now. */
  if (self->refreshing)
    return;

  /* As GListStore does: items-changed first, then the properties that follow from it. */
  self->n_items = count;
  if (count > 0)
    emit_items_changed (self, 0, count);
  if (count > 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  set_loading (self, FALSE);
}

typedef struct
{
  HirMessageList *self;
  guint pending;
  gboolean cancelled;
  gboolean failed;
  guint count;
  GHashTable *results;      /* page index → GPtrArray of HirMessage */
} Refresh;

static void
refresh_free (Refresh *refresh)
{
  g_hash_table_unref (refresh->results);
  g_free (refresh);
}

static void start_refresh (HirMessageList *self);

/* After a failed refresh, placeholders made meanwhile still need their rows. */
static void
load_incomplete_pages (HirMessageList *self)
{
  for (GList *l = self->lru.head; l != NULL; l = l->next)
    {
      Page *page = l->data;

      for (guint i = 0; i < page->rows->len; i++)
        {
          if (!hir_message_get_loaded (g_ptr_array_index (page->rows, i)))
            {
              load_page (self, page->index);
              break;
            }
        }
    }
}

/* Swaps in the new rows: objects the view already holds are kept for the same message
 * (matched by id), so a selection follows its message to its new position. */
static void
apply_refresh (HirMessageList *self,
               Refresh        *refresh)
{
  g_autoptr(GHashTable) by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                       g_free, g_object_unref);
  GHashTableIter iter;
  gpointer key, value;
  guint old_n = self->n_items;
  guint new_n = refresh->count;

  g_hash_table_iter_init (&iter, self->handouts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Handout *handout = value;

      if (hir_message_get_loaded (handout->message))
        {
          gint64 id = hir_message_get_id (handout->message);

          g_hash_table_replace (by_id, g_memdup2 (&id, sizeof id),
                                g_object_ref (handout->message));
        }
    }
  clear_handouts (self);
  clear_pages (self);
  g_hash_table_remove_all (self->in_flight);
  self->generation++;
  self->n_items = new_n;

  g_hash_table_iter_init (&iter, refresh->results);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint index = GPOINTER_TO_UINT (key);
      GPtrArray *rows = value;
      guint expected = page_rows_expected (self, index);
      gboolean complete;
      Page *page;

      if (expected == 0)
        continue;

      for (guint i = 0; i < rows->len && i < expected; i++)
        {
          HirMessage *row = g_ptr_array_index (rows, i);
          gint64 id = hir_message_get_id (row);
          HirMessage *message = g_hash_table_lookup (by_id, &id);

          if (message != NULL)
            hir_message_update_from (message, row);
          else
            message = row;
          add_handout (self, index * PAGE_SIZE + i, message);
        }
      page = create_page (self, index, &complete);
      if (!complete)
        load_page (self, page->index);
    }

  /* Every position may have changed: simple, and correct for any change. */
  if (old_n > 0 || new_n > 0)
    emit_items_changed (self, old_n, new_n);
  if (old_n != new_n)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

static void
refresh_step_done (Refresh *refresh)
{
  HirMessageList *self = refresh->self;

  if (--refresh->pending > 0)
    return;

  if (refresh->cancelled)
    {
      refresh_free (refresh);
      return;
    }

  self->refreshing = FALSE;
  if (!refresh->failed)
    apply_refresh (self, refresh);
  else
    load_incomplete_pages (self);
  refresh_free (refresh);

  set_loading (self, FALSE);
  if (self->refresh_again)
    {
      self->refresh_again = FALSE;
      start_refresh (self);
    }
}

static void
refresh_count_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Refresh *refresh = user_data;
  g_autoptr(GError) error = NULL;

  refresh->count = hir_store_count_messages_finish (HIR_STORE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    refresh->cancelled = TRUE;
  else if (g_error_matches (error, HIR_ERROR, HIR_ERROR_NOT_FOUND))
    refresh->count = 0;   /* the folder itself is gone */
  else if (error != NULL)
    {
      g_warning ("Could not count messages of folder %" G_GINT64_FORMAT ": %s",
                 refresh->self->folder_id, error->message);
      refresh->failed = TRUE;
    }
  refresh_step_done (refresh);
}

typedef struct
{
  Refresh *refresh;
  guint index;
} RefreshPage;

static void
refresh_page_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autofree RefreshPage *page = user_data;
  Refresh *refresh = page->refresh;
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  rows = hir_store_load_messages_finish (HIR_STORE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    refresh->cancelled = TRUE;
  else if (rows != NULL)
    g_hash_table_insert (refresh->results, GUINT_TO_POINTER (page->index), rows);
  /* A page that failed is loaded again when the view asks for it. */
  refresh_step_done (refresh);
}

static void
start_refresh (HirMessageList *self)
{
  Refresh *refresh = g_new0 (Refresh, 1);
  g_autoptr(GHashTable) indices = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer key, value;
  guint extra = 0;

  self->refreshing = TRUE;
  refresh->self = self;
  refresh->results = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) g_ptr_array_unref);

  /* The worker runs these in order: the count and the pages see the same rows unless
   * another write lands between them, and that write brings its own refresh. */
  refresh->pending = 1;
  hir_store_count_messages_async (self->store, self->folder_id, self->cancellable,
                                  refresh_count_cb, refresh);

  g_hash_table_iter_init (&iter, self->pages);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (indices, key);

  /* Rows the view still holds outside the cache (the selected message, scrolled out of
   * sight) are looked for where they were and one page further, where new mail on top
   * pushes them: found, they keep their object, and the selection its message. */
  g_hash_table_iter_init (&iter, self->handouts);
  while (g_hash_table_iter_next (&iter, NULL, &value) && extra < MAX_EXTRA_PAGES)
    {
      Handout *handout = value;
      guint index = handout->position / PAGE_SIZE;

      if (!hir_message_get_loaded (handout->message) ||
          g_hash_table_contains (self->pages, GUINT_TO_POINTER (index)))
        continue;
      for (guint i = index; i <= index + 1; i++)
        if (g_hash_table_add (indices, GUINT_TO_POINTER (i)))
          extra++;
    }

  g_hash_table_iter_init (&iter, indices);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      RefreshPage *page = g_new0 (RefreshPage, 1);

      page->refresh = refresh;
      page->index = GPOINTER_TO_UINT (key);
      refresh->pending++;
      hir_store_load_messages_async (self->store, self->folder_id, page->index * PAGE_SIZE,
                                     PAGE_SIZE, self->cancellable, refresh_page_cb, page);
    }
}

static void
messages_changed_cb (HirStore       *store,
                     gint64          folder_id,
                     HirMessageList *self)
{
  if (folder_id != self->folder_id)
    return;

  if (self->refreshing)
    self->refresh_again = TRUE;
  else
    start_refresh (self);
}

static void
message_updated_cb (HirStore       *store,
                    HirMessage     *message,
                    HirMessageList *self)
{
  gint64 id = hir_message_get_id (message);
  GHashTableIter iter;
  Handout *handout;

  g_hash_table_iter_init (&iter, self->handouts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &handout))
    {
      if (hir_message_get_loaded (handout->message) &&
          hir_message_get_id (handout->message) == id)
        {
          /* Same position in every list: an in-place update, no items-changed. */
          hir_message_update_from (handout->message, message);
          return;
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* GListModel                                                                           */

static GType
hir_message_list_get_item_type (GListModel *model)
{
  return HIR_TYPE_MESSAGE;
}

static guint
hir_message_list_get_n_items (GListModel *model)
{
  return HIR_MESSAGE_LIST (model)->n_items;
}

static gpointer
hir_message_list_get_item (GListModel *model,
                           guint       position)
{
  HirMessageList *self = HIR_MESSAGE_LIST (model);
  guint index = position / PAGE_SIZE;
  Page *page;

  if (position >= self->n_items)
    return NULL;

  if (self->emitting && !g_hash_table_contains (self->pages, GUINT_TO_POINTER (index)))
    {
      HirMessage *message = lookup_handout (self, position);

      g_hash_table_add (self->deferred, GUINT_TO_POINTER (index));
      if (message != NULL)
        return g_object_ref (message);
      message = placeholder_new ();
      add_handout (self, position, message);
      return message;
    }

  page = ensure_page (self, index);
  g_assert (position % PAGE_SIZE < page->rows->len);
  return g_object_ref (g_ptr_array_index (page->rows, position % PAGE_SIZE));
}

static void
hir_message_list_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = hir_message_list_get_item_type;
  iface->get_n_items = hir_message_list_get_n_items;
  iface->get_item = hir_message_list_get_item;
}

/* ------------------------------------------------------------------------------------ */
/* GObject                                                                              */

static void
hir_message_list_constructed (GObject *object)
{
  HirMessageList *self = (HirMessageList *) object;

  G_OBJECT_CLASS (hir_message_list_parent_class)->constructed (object);

  g_return_if_fail (HIR_IS_STORE (self->store));

  g_signal_connect_object (self->store, "messages-changed",
                           G_CALLBACK (messages_changed_cb), self, 0);
  g_signal_connect_object (self->store, "message-updated",
                           G_CALLBACK (message_updated_cb), self, 0);

  /* The count and the first page in one go: the worker answers both before anything
   * else, which is what opening a folder costs. */
  hir_store_count_messages_async (self->store, self->folder_id, self->cancellable,
                                  initial_count_cb, self);
  load_page_full (self, 0, TRUE);
}

static void
hir_message_list_dispose (GObject *object)
{
  HirMessageList *self = (HirMessageList *) object;
  GHashTableIter iter;
  gpointer load;

  /* Their callbacks come later and must find no list to touch. */
  g_cancellable_cancel (self->cancellable);
  g_hash_table_iter_init (&iter, self->loads);
  while (g_hash_table_iter_next (&iter, &load, NULL))
    abandon_load (load);
  g_hash_table_remove_all (self->loads);
  g_hash_table_remove_all (self->in_flight);

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  clear_handouts (self);
  clear_pages (self);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (hir_message_list_parent_class)->dispose (object);
}

static void
hir_message_list_finalize (GObject *object)
{
  HirMessageList *self = (HirMessageList *) object;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pages, g_hash_table_unref);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_pointer (&self->loads, g_hash_table_unref);
  g_clear_pointer (&self->handouts, g_hash_table_unref);
  g_clear_pointer (&self->deferred, g_hash_table_unref);

  G_OBJECT_CLASS (hir_message_list_parent_class)->finalize (object);
}

static void
hir_message_list_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HirMessageList *self = HIR_MESSAGE_LIST (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_FOLDER_ID:
      g_value_set_int64 (value, self->folder_id);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->n_items);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_list_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HirMessageList *self = HIR_MESSAGE_LIST (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_FOLDER_ID:
      self->folder_id = g_value_get_int64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hir_message_list_class_init (HirMessageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = hir_message_list_constructed;
  object_class->dispose = hir_message_list_dispose;
  object_class->finalize = hir_message_list_finalize;
  object_class->get_property = hir_message_list_get_property;
  object_class->set_property = hir_message_list_set_property;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, HIR_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOLDER_ID] =
    g_param_spec_int64 ("folder-id", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hir_message_list_init (HirMessageList *self)
{
  self->loading = TRUE;
  self->cancellable = g_cancellable_new ();
  self->pages = g_hash_table_new_full (NULL, NULL, NULL, page_free);
  self->in_flight = g_hash_table_new (NULL, NULL);
  self->loads = g_hash_table_new (NULL, NULL);
  self->handouts = g_hash_table_new_full (NULL, NULL, NULL, handout_free);
  self->deferred = g_hash_table_new (NULL, NULL);
  g_queue_init (&self->lru);
}

HirMessageList *
hir_message_list_new (HirStore *store,
                      gint64    folder_id)
{
  g_return_val_if_fail (HIR_IS_STORE (store), NULL);

  return g_object_new (HIR_TYPE_MESSAGE_LIST,
                       "store", store,
                       "folder-id", folder_id,
                       NULL);
}

gint64
hir_message_list_get_folder_id (HirMessageList *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_LIST (self), 0);

  return self->folder_id;
}

gboolean
hir_message_list_get_loading (HirMessageList *self)
{
  g_return_val_if_fail (HIR_IS_MESSAGE_LIST (self), FALSE);

  return self->loading;
}

guint
hir_message_list_find (HirMessageList *self,
                       gint64          message_id)
{
  GHashTableIter iter;
  Handout *handout;

  g_return_val_if_fail (HIR_IS_MESSAGE_LIST (self), G_MAXUINT);

  g_hash_table_iter_init (&iter, self->handouts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &handout))
    if (hir_message_get_loaded (handout->message) &&
        hir_message_get_id (handout->message) == message_id)
      return handout->position;
  return G_MAXUINT;
}
