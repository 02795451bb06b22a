/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Privilege contexts: named sets of capabilities that entry points run with. */

#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>

#define PRIVILEGE_CONTEXT_CAPABILITIES_MAX 4

typedef struct PrivilegeContext {
        const char *name;
        cap_value_t capabilities[PRIVILEGE_CONTEXT_CAPABILITIES_MAX];
        size_t n_capabilities;
} PrivilegeContext;

extern const PrivilegeContext privilege_context_sys_admin;
extern const PrivilegeContext privilege_context_file_admin;
extern const PrivilegeContext privilege_context_net_admin;

/* Bit mask (1 << capability) of one context, and of all contexts. */
uint64_t privilege_context_mask(const PrivilegeContext *context);
uint64_t privilege_context_union_mask(void);

/* Keeps the union of all contexts in the permitted set, clears the effective,
 * inheritable and ambient sets and sets no_new_privs. Fails with -EPERM when a
 * capability of the union is not permitted. Reads the sets back. */
int capability_setup(void);

/* Makes exactly the context's capabilities effective, or none when context is
 * NULL, and reads the effective set back. */
int capability_enter(const PrivilegeContext *context);
int capability_leave(void);

/* Reads the effective and permitted sets as bit masks. */
int capability_get_masks(uint64_t *ret_effective, uint64_t *ret_permitted);

/* Writes the names of the capabilities in mask, separated by single spaces. */
int capability_mask_to_string(uint64_t mask, char *buffer, size_t size);
