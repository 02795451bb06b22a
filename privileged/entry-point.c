/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "entry-point.h"

size_t entry_point_count(void) {
        size_t n = 0;

        ENTRY_POINT_FOREACH(e) {
                (void) e;
                n++;
        }

        return n;
}

const EntryPoint *entry_point_find(const char *interface, const char *member) {
        if (!interface || !member)
                return NULL;

        ENTRY_POINT_FOREACH(e)
                if (strcmp(e->interface, interface) == 0 && strcmp(e->member, member) == 0)
                        return e;

        return NULL;
}

const char *entry_point_signature(const EntryPoint *e, char *buffer, size_t size) {
        size_t i;

        if (size == 0)
                return NULL;

        for (i = 0; i < e->n_arguments && i + 1 < size; i++)
                buffer[i] = e->arguments[i].type;
        buffer[i] = '\0';

        return buffer;
}

void entry_point_set_reason(EntryPointResult *result, const char *format, ...) {
        int saved_errno = errno;
        va_list ap;

        va_start(ap, format);
        vsnprintf(result->reason, sizeof(result->reason), format, ap);
        va_end(ap);

        /* Callers set the reason right after a failed call and then return
         * -errno, which vsnprintf() must not change. */
        errno = saved_errno;
}

int entry_point_run(const EntryPoint *e,
                    const EntryPointValue *arguments,
                    const EntryPointCaller *caller,
                    EntryPointResult *result) {
        int r, q;

        result->reason[0] = '\0';

        r = capability_enter(e->context);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to raise the capabilities of context %s", e->context->name);
                q = capability_leave();
                if (q < 0)
                        abort();
                return r;
        }

        r = e->function(arguments, caller, result);

        /* A process that cannot lower its capabilities again must not go on
         * serving requests. */
        q = capability_leave();
        if (q < 0) {
                fprintf(stderr, "Failed to lower capabilities after %s.%s: %s\n",
                        e->interface, e->member, strerror(-q));
                abort();
        }

        return r;
}
