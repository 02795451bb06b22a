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

/* Every context, in a fixed order; each gets a worker process. */
#define PRIVILEGE_CONTEXTS_MAX 3
extern const PrivilegeContext *const privilege_contexts[PRIVILEGE_CONTEXTS_MAX];

/* Bit mask (1 << capability) of one context, and of all contexts. */
uint64_t privilege_context_mask(const PrivilegeContext *context);
uint64_t privilege_context_union_mask(void);

/* The capabilities of the supervisor process: the union of all contexts,
 * and CAP_SETPCAP, which each new process needs to shrink its bounding set. */
uint64_t privilege_context_supervisor_mask(void);
