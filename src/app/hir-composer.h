/* hir-composer.h: the window a message is written in
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"
#include "hir-composer-view.h"

G_BEGIN_DECLS

#define HIR_TYPE_COMPOSER (hir_composer_get_type ())
G_DECLARE_FINAL_TYPE (HirComposer, hir_composer, HIR, COMPOSER, AdwApplicationWindow)

/* A window of its own (the GNOME way of writing mail): From, To, Cc, Bcc, Subject, a
 * rich-text body (or plain text), attachments. Files dropped on it or pasted are
 * attached; images dropped on the body go inline. Every edit is saved as a draft a few
 * seconds later, and closing the window saves it too: nothing typed is ever lost.
 *
 * Actions (installed on the class, shortcuts beside them):
 *   composer.send            Ctrl+Return   queue with the undo delay, close
 *   composer.attach          Ctrl+Shift+A  choose files to attach (portal-friendly)
 *   composer.discard                       delete the draft (asks when there is content)
 *   composer.close           Ctrl+W        close, keeping the draft
 *   composer.plain-text                    toggle: plain text instead of rich text
 *   composer.bold / italic / underline    Ctrl+B / I / U
 *   composer.bullets / numbers             lists
 *   composer.indent / outdent Ctrl+] / Ctrl+[  quote level
 *   composer.link            Ctrl+K        make the selection a link
 *   composer.insert-image                  choose an image to show in the body
 * Ctrl+V with files on the clipboard attaches them.
 *
 * Signals:
 *   queued (gint64 id, guint delay)  the message is in the outbox and goes in @delay
 *                                    seconds; the window closes right after */
HirComposer *hir_composer_new               (GtkApplication *application,
                                             HirEngine      *engine,
                                             HirOutgoing    *outgoing);
HirOutgoing *hir_composer_get_outgoing      (HirComposer    *self);
HirComposerView *hir_composer_get_view      (HirComposer    *self);
/* Attaches @files (a GSList of GFile, as GdkFileList has them), reading each once.
 * With @inline_images, images go into the body at (@x, @y) of the view (at the caret
 * when @x is negative). */
void         hir_composer_add_files         (HirComposer    *self,
                                             GSList         *files,
                                             gboolean        inline_images,
                                             double          x,
                                             double          y);
/* Addresses offered as completions in To, Cc and Bcc. */
void         hir_composer_set_known_addresses (HirComposer  *self,
                                             const char * const *addresses);
/* Shows why the last attempt to send failed (the server's words) above the fields. */
void         hir_composer_show_error        (HirComposer    *self,
                                             const char     *message);
/* The largest message the server takes, in bytes (0: unknown). */
void         hir_composer_set_size_limit    (HirComposer    *self,
                                             guint64         size_limit);
/* TRUE while attachments are being read or a save runs (tests wait on it). */
gboolean     hir_composer_get_busy          (HirComposer    *self);

G_END_DECLS
