/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The privilege contexts. No context contains every capability, and each
 * set is the minimum its entry points need. */

#include "context.h"

/* fsopen(2), fsmount(2), move_mount(2), umount2(2) and sethostname(2). */
const PrivilegeContext privilege_context_sys_admin = {
        .name = "sys_admin",
        .capabilities = { CAP_SYS_ADMIN },
        .n_capabilities = 1,
};

/* Writing into root-owned directories such as /etc needs CAP_DAC_OVERRIDE,
 * and handing the new file to root needs CAP_CHOWN. */
const PrivilegeContext privilege_context_file_admin = {
        .name = "file_admin",
        .capabilities = { CAP_DAC_OVERRIDE, CAP_CHOWN },
        .n_capabilities = 2,
};

/* RTM_NEWLINK on rtnetlink. */
const PrivilegeContext privilege_context_net_admin = {
        .name = "net_admin",
        .capabilities = { CAP_NET_ADMIN },
        .n_capabilities = 1,
};

const PrivilegeContext *const privilege_contexts[PRIVILEGE_CONTEXTS_MAX] = {
        &privilege_context_sys_admin,
        &privilege_context_file_admin,
        &privilege_context_net_admin,
};

uint64_t privilege_context_mask(const PrivilegeContext *context) {
        uint64_t mask = 0;

        if (!context)
                return 0;

        for (size_t i = 0; i < context->n_capabilities; i++)
                mask |= UINT64_C(1) << context->capabilities[i];

        return mask;
}

uint64_t privilege_context_union_mask(void) {
        uint64_t mask = 0;

        for (size_t i = 0; i < sizeof(privilege_contexts) / sizeof(privilege_contexts[0]); i++)
                mask |= privilege_context_mask(privilege_contexts[i]);

        return mask;
}

uint64_t privilege_context_supervisor_mask(void) {
        return privilege_context_union_mask() | (UINT64_C(1) << CAP_SETPCAP);
}
