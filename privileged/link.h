/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "entry-point.h"

/* IFNAMSIZ - 1 */
#define LINK_NAME_MAX 15
#define LINK_MTU_MIN 68U
#define LINK_MTU_MAX 65535U

int link_validate_name(const EntryPointValue *value, const char **ret_allowed);
int link_validate_mtu(const EntryPointValue *value, const char **ret_allowed);
