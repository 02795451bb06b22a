/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "entry-point.h"

/* HOST_NAME_MAX on Linux. */
#define HOSTNAME_MAX 64

int hostname_validate(const EntryPointValue *value, const char **ret_allowed);
