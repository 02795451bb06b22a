/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>

#include "journal.h"
#include "log.h"
#include "quote.h"

#define JOURNAL_FIELDS_MAX (16 + ENTRY_POINT_ARGUMENTS_MAX)

static int journal_format_value(const EntryPointArgument *argument, const EntryPointValue *value, char **ret) {
        switch (argument->type) {
        case 's':
                return asprintf(ret, "PRIVSEP_ARG_%s=%s", argument->name, value->string);
        case 't':
                return asprintf(ret, "PRIVSEP_ARG_%s=%" PRIu64, argument->name, value->u64);
        case 'u':
                return asprintf(ret, "PRIVSEP_ARG_%s=%" PRIu32, argument->name, value->u32);
        case 'b':
                return asprintf(ret, "PRIVSEP_ARG_%s=%s", argument->name, value->boolean ? "true" : "false");
        default:
                return -1;
        }
}

void journal_log_call(const Call *call, const char *decision, const char *result, int error, const char *reason) {
        const EntryPoint *e = call->entry_point;
        char *fields[JOURNAL_FIELDS_MAX] = {};
        struct iovec iov[JOURNAL_FIELDS_MAX];
        size_t n = 0;
        int priority = error < 0 ? LOG_WARNING : LOG_NOTICE;

        if (asprintf(&fields[n++], "MESSAGE=%s.%s() from %s (uid %u, pid %u): %s, %s%s%s",
                     e->interface, e->member, call->sender, (unsigned) call->uid, (unsigned) call->pid,
                     decision, result, reason && reason[0] ? ": " : "", reason ? reason : "") < 0)
                n--;
        fields[n++] = strdup("MESSAGE_ID=" PRIVSEP_CALL_MESSAGE_ID);
        if (asprintf(&fields[n++], "PRIORITY=%d", priority) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_METHOD=%s.%s", e->interface, e->member) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_ACTION=%s", e->action_id) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_CONTEXT=%s", e->context->name) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_CALLER=%s", call->sender) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_CALLER_UID=%u", (unsigned) call->uid) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_CALLER_PID=%u", (unsigned) call->pid) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_DECISION=%s", decision) < 0)
                n--;
        if (asprintf(&fields[n++], "PRIVSEP_RESULT=%s", result) < 0)
                n--;
        if (error < 0 && asprintf(&fields[n++], "ERRNO=%d", -error) < 0)
                n--;

        for (size_t i = 0; i < e->n_arguments; i++)
                if (e->arguments[i].log && journal_format_value(&e->arguments[i], &call->arguments[i], &fields[n++]) < 0)
                        n--;

        size_t n_iov = 0;
        for (size_t i = 0; i < n; i++)
                if (fields[i])
                        iov[n_iov++] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };

        /* Without journald (tests, containers without it) the entry is lost;
         * the stderr line below still records the call. */
        (void) sd_journal_sendv(iov, (int) n_iov);

        char quoted[QUOTE_BUFFER_SIZE];
        log_message(priority == LOG_NOTICE ? SD_NOTICE : SD_WARNING, "%s.%s() from %s (uid %u, pid %u): %s, %s%s%s",
                 e->interface, e->member, quote_value(call->sender, QUOTE_INPUT_MAX, quoted, sizeof(quoted)),
                 (unsigned) call->uid, (unsigned) call->pid, decision, result,
                 reason && reason[0] ? ": " : "", reason ? reason : "");

        for (size_t i = 0; i < n; i++)
                free(fields[i]);
}
