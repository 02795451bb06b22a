/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capability sets of the running process, changed with libcap and always
 * read back afterwards, so that a silent failure cannot leave a capability
 * effective. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "capability.h"
#include "context.h"

static void cap_freep(cap_t *caps) {
        if (*caps)
                cap_free(*caps);
}
#define _cleanup_cap_ __attribute__((cleanup(cap_freep)))

static cap_value_t capability_last(void) {
        return (cap_value_t) cap_max_bits() - 1;
}

static int capability_flag_mask(cap_t caps, cap_flag_t flag, uint64_t *ret_mask) {
        uint64_t mask = 0;

        for (cap_value_t c = 0; c <= capability_last() && c < 64; c++) {
                cap_flag_value_t value;

                if (cap_get_flag(caps, c, flag, &value) < 0)
                        return -errno;
                if (value == CAP_SET)
                        mask |= UINT64_C(1) << c;
        }

        *ret_mask = mask;
        return 0;
}

static int capability_get_mask(cap_flag_t flag, uint64_t *ret_mask) {
        _cleanup_cap_ cap_t caps = cap_get_proc();
        if (!caps)
                return -errno;

        return capability_flag_mask(caps, flag, ret_mask);
}

int capability_get_masks(uint64_t *ret_effective, uint64_t *ret_permitted) {
        uint64_t effective, permitted;
        int r;

        r = capability_get_mask(CAP_EFFECTIVE, &effective);
        if (r < 0)
                return r;

        r = capability_get_mask(CAP_PERMITTED, &permitted);
        if (r < 0)
                return r;

        *ret_effective = effective;
        *ret_permitted = permitted;
        return 0;
}

static int capability_ambient_mask(uint64_t *ret_mask) {
        uint64_t mask = 0;

        for (cap_value_t c = 0; c <= capability_last() && c < 64; c++) {
                int r = cap_get_ambient(c);
                if (r < 0)
                        return -errno;
                if (r > 0)
                        mask |= UINT64_C(1) << c;
        }

        *ret_mask = mask;
        return 0;
}

static int capability_set_mask(cap_flag_t flag, uint64_t mask, cap_t caps) {
        for (cap_value_t c = 0; c <= capability_last() && c < 64; c++) {
                cap_value_t value = c;

                if (cap_set_flag(caps, flag, 1, &value, (mask >> c) & 1 ? CAP_SET : CAP_CLEAR) < 0)
                        return -errno;
        }

        return 0;
}

static int capability_bounding_mask(uint64_t *ret_mask) {
        uint64_t mask = 0;

        for (cap_value_t c = 0; c <= capability_last() && c < 64; c++) {
                int r = cap_get_bound(c);
                if (r < 0)
                        return -errno;
                if (r > 0)
                        mask |= UINT64_C(1) << c;
        }

        *ret_mask = mask;
        return 0;
}

static int capability_shrink_bounding_set(uint64_t keep) {
        uint64_t bounding;
        int r;

        r = capability_bounding_mask(&bounding);
        if (r < 0)
                return r;
        if ((bounding & ~keep) == 0)
                return 0;

        /* Dropping from the bounding set needs CAP_SETPCAP effective. */
        _cleanup_cap_ cap_t caps = cap_get_proc();
        if (!caps)
                return -errno;

        r = capability_set_mask(CAP_EFFECTIVE, UINT64_C(1) << CAP_SETPCAP, caps);
        if (r < 0)
                return r;
        if (cap_set_proc(caps) < 0)
                return -errno;

        for (cap_value_t c = 0; c <= capability_last() && c < 64; c++)
                if (((bounding & ~keep) >> c) & 1)
                        if (cap_drop_bound(c) < 0)
                                return -errno;

        return 0;
}

int capability_confine(uint64_t permitted_keep, uint64_t bounding_keep) {
        uint64_t effective = 0, permitted = 0, inheritable = 0, ambient = 0, bounding = 0;
        _cleanup_cap_ cap_t caps = NULL;
        int r;

        r = capability_get_masks(&effective, &permitted);
        if (r < 0)
                return r;
        if ((permitted & permitted_keep) != permitted_keep)
                return -EPERM;

        r = capability_shrink_bounding_set(bounding_keep);
        if (r < 0)
                return r;

        caps = cap_init();
        if (!caps)
                return -errno;

        r = capability_set_mask(CAP_PERMITTED, permitted_keep, caps);
        if (r < 0)
                return r;

        /* Effective and inheritable stay empty. Clearing inheritable also
         * lowers every ambient capability. */
        if (cap_set_proc(caps) < 0)
                return -errno;

        if (cap_reset_ambient() < 0)
                return -errno;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;

        r = capability_get_masks(&effective, &permitted);
        if (r < 0)
                return r;

        r = capability_get_mask(CAP_INHERITABLE, &inheritable);
        if (r < 0)
                return r;

        r = capability_ambient_mask(&ambient);
        if (r < 0)
                return r;

        r = capability_bounding_mask(&bounding);
        if (r < 0)
                return r;

        if (effective != 0 || permitted != permitted_keep || inheritable != 0 || ambient != 0 ||
            (bounding & ~bounding_keep) != 0)
                return -EPERM;

        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return -EPERM;

        return 0;
}

int capability_enter(const PrivilegeContext *context) {
        uint64_t wanted = privilege_context_mask(context), effective;
        _cleanup_cap_ cap_t caps = NULL;
        int r;

        caps = cap_get_proc();
        if (!caps)
                return -errno;

        r = capability_set_mask(CAP_EFFECTIVE, wanted, caps);
        if (r < 0)
                return r;

        if (cap_set_proc(caps) < 0)
                return -errno;

        r = capability_get_mask(CAP_EFFECTIVE, &effective);
        if (r < 0)
                return r;
        if (effective != wanted)
                return -EPERM;

        return 0;
}

int capability_leave(void) {
        return capability_enter(NULL);
}

int capability_mask_to_string(uint64_t mask, char *buffer, size_t size) {
        size_t length = 0;

        if (size == 0)
                return -ENOBUFS;
        buffer[0] = '\0';

        for (cap_value_t c = 0; c < 64; c++) {
                if (!((mask >> c) & 1))
                        continue;

                char *name = cap_to_name(c);
                if (!name)
                        return -errno;

                int n = snprintf(buffer + length, size - length, "%s%s", length > 0 ? " " : "", name);
                cap_free(name);
                if (n < 0 || (size_t) n >= size - length)
                        return -ENOBUFS;
                length += (size_t) n;
        }

        return 0;
}
