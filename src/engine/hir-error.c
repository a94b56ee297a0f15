/* hir-error.c
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "hir-error.h"

G_DEFINE_QUARK (hir-error-quark, hir_error)
