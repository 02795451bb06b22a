/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostname.Set: the kernel (transient) hostname of the host's UTS namespace. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "entry-point.h"
#include "hostname.h"

static bool hostname_label_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int hostname_validate(const EntryPointValue *value, const char **ret_allowed) {
        const char *s = value->string;
        size_t length = strlen(s), label = 0;

        *ret_allowed = "expected 1 to 64 bytes of dot-separated RFC 1123 labels: "
                       "each label 1 to 63 characters of a-z, A-Z, 0-9 and '-', "
                       "not starting or ending with '-'";

        if (length < 1 || length > HOSTNAME_MAX)
                return -EINVAL;

        for (size_t i = 0; i <= length; i++) {
                char c = s[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63)
                                return -EINVAL;
                        if (s[i - 1] == '-')
                                return -EINVAL;
                        label = 0;
                        continue;
                }

                if (!hostname_label_char(c))
                        return -EINVAL;
                if (label == 0 && c == '-')
                        return -EINVAL;
                label++;
        }

        return 0;
}

static int hostname_set(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *name = arguments[0].string;

        if (sethostname(name, strlen(name)) < 0) {
                entry_point_set_reason(result, "Failed to set the hostname to '%s'", name);
                return -errno;
        }

        return 0;
}

static const EntryPointArgument hostname_set_arguments[] = {
        {
                .name = "hostname",
                .type = 's',
                .description = "hostname",
                .polkit_detail = "hostname",
                .log = true,
                .validate = hostname_validate,
        },
};

ENTRY_POINT(hostname_set_entry_point) = {
        .interface = "org.privsep.Privsep1.Hostname",
        .member = "Set",
        .action_id = "org.privsep.hostname.set",
        .polkit_message = "Authentication is required to set the hostname to $(hostname).",
        .context = &privilege_context_sys_admin,
        .arguments = hostname_set_arguments,
        .n_arguments = ELEMENTSOF(hostname_set_arguments),
        .function = hostname_set,
};
