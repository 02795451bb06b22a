/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test.Sleep: a deliberately slow entry point with a 3 s time limit. It is
 * compiled only into privsepd-test, which is never installed. */

#include <errno.h>
#include <time.h>

#include "entry-point.h"

static int sleep_validate(const EntryPointValue *value, const char **ret_allowed) {
        *ret_allowed = "expected at most 60000 milliseconds";
        return value->u32 <= 60000 ? 0 : -EINVAL;
}

static int sleep_run(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        struct timespec remaining = {
                .tv_sec = arguments[0].u32 / 1000,
                .tv_nsec = (long) (arguments[0].u32 % 1000) * 1000000L,
        };

        while (nanosleep(&remaining, &remaining) < 0)
                if (errno != EINTR)
                        return -errno;

        return 0;
}

static const EntryPointArgument sleep_arguments[] = {
        {
                .name = "milliseconds",
                .type = 'u',
                .description = "duration",
                .polkit_detail = NULL,
                .log = true,
                .validate = sleep_validate,
        },
};

ENTRY_POINT(sleep_entry_point) = {
        .interface = "org.privsep.Privsep1.Test",
        .member = "Sleep",
        .action_id = "org.privsep.test.sleep",
        .polkit_message = "Authentication is required to run a test.",
        .context = &privilege_context_sys_admin,
        .arguments = sleep_arguments,
        .n_arguments = ELEMENTSOF(sleep_arguments),
        .function = sleep_run,
        .timeout_usec = 3000000,
};
