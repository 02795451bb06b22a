/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <systemd/sd-journal.h>
#include <sys/uio.h>

#include "journal.h"
#include "log.h"
#include "quote.h"

#define JOURNAL_FIELDS_MAX (16 + ENTRY_POINT_ARGUMENTS_MAX)

/* Journal field names may contain only A-Z, 0-9 and '_'; journald drops
 * other fields silently. Argument names are lowercase D-Bus names. */
static void journal_field_name(const char *argument, char *buffer, size_t size) {
        size_t i;

        for (i = 0; argument[i] && i + 1 < size; i++)
                buffer[i] = (char) toupper((unsigned char) argument[i]);
        buffer[i] = '\0';
}

/* Formats one argument as a journal field. With full unset, a string is
 * cut to a quoted prefix and its length, so that callers who are not
 * authorized cannot fill the journal with large arguments. */
static int journal_format_value(const EntryPointArgument *argument, const EntryPointValue *value, bool full,
                                char **ret) {
        char name[64], quoted[QUOTE_BUFFER_SIZE];

        journal_field_name(argument->name, name, sizeof(name));

        switch (argument->type) {
        case 's':
                if (!full && strlen(value->string) > QUOTE_INPUT_MAX)
                        return asprintf(ret, "PRIVSEP_ARG_%s=%s (%zu bytes)", name,
                                        quote_value(value->string, QUOTE_INPUT_MAX, quoted, sizeof(quoted)),
                                        strlen(value->string));
                return asprintf(ret, "PRIVSEP_ARG_%s=%s", name, value->string);
        case 't':
                return asprintf(ret, "PRIVSEP_ARG_%s=%" PRIu64, name, value->u64);
        case 'u':
                return asprintf(ret, "PRIVSEP_ARG_%s=%" PRIu32, name, value->u32);
        case 'b':
                return asprintf(ret, "PRIVSEP_ARG_%s=%s", name, value->boolean ? "true" : "false");
        default:
                return -1;
        }
}

/* Whether stderr already goes to the journal, in which case the stderr
 * line would only repeat the structured entry. */
static bool journal_stderr_is_journal(void) {
        static int cached = -1;
        const char *stream;
        unsigned long long device, inode;
        struct stat st;

        if (cached >= 0)
                return cached;

        stream = getenv("JOURNAL_STREAM");
        cached = stream && sscanf(stream, "%llu:%llu", &device, &inode) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                 (unsigned long long) st.st_dev == device && (unsigned long long) st.st_ino == inode;
        return cached;
}

/* Entries for calls that were not authorized are rate limited, since any
 * local user can cause them: at most JOURNAL_UNAUTHORIZED_PER_USER per uid
 * and JOURNAL_UNAUTHORIZED_BURST in all per interval, so that one user's
 * flood does not hide another user's attempts. */
#define JOURNAL_UNAUTHORIZED_BURST 200U
#define JOURNAL_UNAUTHORIZED_PER_USER 50U
#define JOURNAL_UNAUTHORIZED_USERS_MAX 64U
#define JOURNAL_UNAUTHORIZED_INTERVAL_USEC (10 * UINT64_C(1000000))

static struct {
        uint64_t start_usec;
        unsigned count;
        unsigned suppressed;
        struct {
                uid_t uid;
                unsigned count;
        } users[JOURNAL_UNAUTHORIZED_USERS_MAX];
        unsigned n_users;
} journal_unauthorized;

static uint64_t journal_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

/* Counts one more entry for uid; returns false when uid's share is used up.
 * Users beyond the table's size share the global budget only. */
static bool journal_unauthorized_user_allowed(uid_t uid) {
        unsigned i;

        for (i = 0; i < journal_unauthorized.n_users; i++)
                if (journal_unauthorized.users[i].uid == uid)
                        break;

        if (i == journal_unauthorized.n_users) {
                if (i == JOURNAL_UNAUTHORIZED_USERS_MAX)
                        return true;
                journal_unauthorized.users[i].uid = uid;
                journal_unauthorized.users[i].count = 0;
                journal_unauthorized.n_users++;
        }

        if (journal_unauthorized.users[i].count >= JOURNAL_UNAUTHORIZED_PER_USER)
                return false;

        journal_unauthorized.users[i].count++;
        return true;
}

/* Returns whether uid has no entry yet in this interval, and records one. */
static bool journal_unauthorized_first_of_user(uid_t uid) {
        for (unsigned i = 0; i < journal_unauthorized.n_users; i++)
                if (journal_unauthorized.users[i].uid == uid)
                        return false;

        if (journal_unauthorized.n_users == JOURNAL_UNAUTHORIZED_USERS_MAX)
                return false;

        journal_unauthorized.users[journal_unauthorized.n_users].uid = uid;
        journal_unauthorized.users[journal_unauthorized.n_users].count = 1;
        journal_unauthorized.n_users++;
        return true;
}

/* Returns whether another entry for an unauthorized call of uid may be
 * written now. The count of suppressed entries is logged when the next
 * interval starts.
 * NOTE: if no unauthorized call follows, the last count is never logged. */
static bool journal_unauthorized_allowed(uid_t uid) {
        uint64_t now = journal_now_usec();

        if (now - journal_unauthorized.start_usec >= JOURNAL_UNAUTHORIZED_INTERVAL_USEC) {
                if (journal_unauthorized.suppressed > 0) {
                        (void) sd_journal_send("MESSAGE=Suppressed %u journal entries for calls that were not authorized.",
                                               journal_unauthorized.suppressed,
                                               "PRIORITY=%d", LOG_WARNING,
                                               "PRIVSEP_SUPPRESSED=%u", journal_unauthorized.suppressed,
                                               NULL);
                        if (!journal_stderr_is_journal())
                                log_warning("Suppressed %u log entries for calls that were not authorized.",
                                            journal_unauthorized.suppressed);
                }

                journal_unauthorized.start_usec = now;
                journal_unauthorized.count = 0;
                journal_unauthorized.suppressed = 0;
                journal_unauthorized.n_users = 0;
        }

        if (journal_unauthorized.count < JOURNAL_UNAUTHORIZED_BURST && journal_unauthorized_user_allowed(uid)) {
                journal_unauthorized.count++;
                return true;
        }

        /* Each user's first entry in an interval is written even past the
         * overall budget, so that a few flooding users cannot hide anyone
         * else. The user table bounds how many such entries there are. */
        if (journal_unauthorized_first_of_user(uid)) {
                journal_unauthorized.count++;
                return true;
        }

        journal_unauthorized.suppressed++;
        return false;
}

void journal_log_call(const Call *call, const char *decision, const char *result, int error, const char *reason) {
        const EntryPoint *e = call->entry_point;
        bool authorized = strcmp(decision, "authorized") == 0 || strcmp(decision, "root") == 0;
        char *fields[JOURNAL_FIELDS_MAX] = {};
        struct iovec iov[JOURNAL_FIELDS_MAX];

        if (!authorized && !journal_unauthorized_allowed(call->uid))
                return;

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
                if (e->arguments[i].log && journal_format_value(&e->arguments[i], &call->arguments[i], authorized, &fields[n++]) < 0)
                        n--;

        size_t n_iov = 0;
        for (size_t i = 0; i < n; i++)
                if (fields[i])
                        iov[n_iov++] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };

        /* Without journald (tests, containers without it) the entry is lost,
         * and the stderr line below still records the call. */
        (void) sd_journal_sendv(iov, (int) n_iov);

        char quoted[QUOTE_BUFFER_SIZE];
        if (!journal_stderr_is_journal())
                log_message(priority == LOG_NOTICE ? SD_NOTICE : SD_WARNING, "%s.%s() from %s (uid %u, pid %u): %s, %s%s%s",
                            e->interface, e->member, quote_value(call->sender, QUOTE_INPUT_MAX, quoted, sizeof(quoted)),
                            (unsigned) call->uid, (unsigned) call->pid, decision, result,
                            reason && reason[0] ? ": " : "", reason ? reason : "");

        for (size_t i = 0; i < n; i++)
                free(fields[i]);
}
