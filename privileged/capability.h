/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The capability sets of the running process. */

#include <stddef.h>
#include <stdint.h>

#include "context.h"

/* Confines the process: permitted becomes exactly permitted_keep, the
 * bounding set at most bounding_keep, effective, inheritable and ambient
 * become empty, and no_new_privs is set. Shrinking the bounding set needs
 * CAP_SETPCAP in the permitted set. Reads every set back and fails with
 * -EPERM if one is not as requested, or if permitted_keep is not already
 * permitted. */
int capability_confine(uint64_t permitted_keep, uint64_t bounding_keep);

/* Makes exactly the context's capabilities effective, or none when context is
 * NULL, and reads the effective set back. */
int capability_enter(const PrivilegeContext *context);
int capability_leave(void);

/* Reads the effective and permitted sets as bit masks. */
int capability_get_masks(uint64_t *ret_effective, uint64_t *ret_permitted);

/* Writes the names of the capabilities in mask, separated by single spaces. */
int capability_mask_to_string(uint64_t mask, char *buffer, size_t size);
