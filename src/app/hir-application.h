/* hir-application.h
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "hirondelle-engine.h"

G_BEGIN_DECLS

#define HIR_TYPE_APPLICATION (hir_application_get_type ())
G_DECLARE_FINAL_TYPE (HirApplication, hir_application, HIR, APPLICATION, AdwApplication)

HirApplication *hir_application_new        (void);
/* The engine, opened at startup (NULL before). */
HirEngine      *hir_application_get_engine (HirApplication *self);

G_END_DECLS
