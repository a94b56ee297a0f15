/* hirondelle-engine.h: everything the app and the tests may use of the engine
 *
 * Copyright 2026 Hirondelle developers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "hir-account.h"
#include "hir-account-config.h"
#include "hir-attachment.h"
#include "hir-engine.h"
#include "hir-enums.h"
#include "hir-error.h"
#include "hir-folder.h"
#include "hir-message.h"
#include "hir-message-body.h"
#include "hir-message-list.h"
#include "hir-outbox.h"
#include "hir-outgoing.h"
#include "hir-outgoing-attachment.h"
#include "hir-provider.h"
#include "hir-secrets.h"
#include "hir-size-limit.h"
#include "hir-store.h"
#include "hir-store-changes.h"
