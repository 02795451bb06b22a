/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The life of one privileged method call.
 *
 * Every call goes through the same steps. Nothing on the system is changed,
 * and nothing but the caller's identity is read, before step 4:
 *
 *   1. read the arguments and validate each with its entry point's validator
 *      (invalid input: org.freedesktop.DBus.Error.InvalidArgs);
 *   2. ask the bus daemon who the caller is (GetConnectionCredentials);
 *   3. uid 0 is authorized; everyone else is checked by polkit with
 *      CheckAuthorization for the caller's unique bus name;
 *   4. run the entry point with its context's capabilities;
 *   5. write one journal entry;
 *   6. reply.
 *
 * Steps 2 and 3 are asynchronous bus calls, so the event loop serves other
 * callers meanwhile. Any error on the way, and a caller whose connection
 * closed before polkit replied, ends the call without step 4. */

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "call.h"
#include "journal.h"
#include "log.h"
#include "polkit.h"
#include "quote.h"
#include "workers.h"

Call *call_free(Call *call) {
        if (!call)
                return NULL;

        Manager *m = call->manager;

        workers_forget_call(m, call);

        if (call->previous)
                call->previous->next = call->next;
        else if (m->calls == call)
                m->calls = call->next;
        if (call->next)
                call->next->previous = call->previous;

        sd_bus_slot_unref(call->slot);
        sd_bus_message_unref(call->message);
        free(call->sender);
        free(call);

        manager_call_finished(m);
        return NULL;
}


static int call_read_argument(sd_bus_message *message, char type, EntryPointValue *ret) {
        int b, r;

        switch (type) {
        case 's':
                return sd_bus_message_read_basic(message, 's', &ret->string);
        case 't':
                return sd_bus_message_read_basic(message, 't', &ret->u64);
        case 'u':
                return sd_bus_message_read_basic(message, 'u', &ret->u32);
        case 'b':
                r = sd_bus_message_read_basic(message, 'b', &b);
                if (r >= 0)
                        ret->boolean = b;
                return r;
        default:
                return -EINVAL;
        }
}

static int call_reject_argument(const EntryPointArgument *argument, const EntryPointValue *value,
                                const char *allowed, sd_bus_error *error) {
        char quoted[QUOTE_BUFFER_SIZE];

        switch (argument->type) {
        case 's':
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s '%s' in argument '%s': %s.",
                                         argument->description,
                                         quote_value(value->string, QUOTE_INPUT_MAX, quoted, sizeof(quoted)),
                                         argument->name, allowed);
        case 't':
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s %llu in argument '%s': %s.",
                                         argument->description, (unsigned long long) value->u64, argument->name, allowed);
        case 'u':
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s %u in argument '%s': %s.",
                                         argument->description, (unsigned) value->u32, argument->name, allowed);
        default:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s in argument '%s': %s.",
                                         argument->description, argument->name, allowed);
        }
}

static int call_read_arguments(sd_bus_message *message, const EntryPoint *e, EntryPointValue *values, sd_bus_error *error) {
        size_t size = 0;
        int r;

        for (size_t i = 0; i < e->n_arguments; i++) {
                r = call_read_argument(message, e->arguments[i].type, &values[i]);
                if (r < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Failed to read argument '%s': %s",
                                                 e->arguments[i].name, strerror(-r));

                if (e->arguments[i].type == 's')
                        size += strlen(values[i].string);
        }

        if (size > CALL_REQUEST_BYTES_MAX)
                return sd_bus_error_setf(error, PRIVSEP_ERROR_REQUEST_TOO_LARGE,
                                         "The request's arguments are %zu bytes long; the limit is %u bytes.",
                                         size, CALL_REQUEST_BYTES_MAX);

        for (size_t i = 0; i < e->n_arguments; i++) {
                const EntryPointArgument *argument = &e->arguments[i];
                const char *allowed = NULL;

                if (!argument->validate)
                        continue;

                r = argument->validate(&values[i], &allowed);
                if (r < 0)
                        return call_reject_argument(argument, &values[i], allowed ? allowed : "not allowed", error);
        }

        return 0;
}

static unsigned call_count_by_sender(Manager *m, const char *sender) {
        unsigned n = 0;

        for (Call *call = m->calls; call; call = call->next)
                if (strcmp(call->sender, sender) == 0)
                        n++;

        return n;
}

static unsigned call_count_by_uid(Manager *m, uid_t uid) {
        unsigned n = 0;

        for (Call *call = m->calls; call; call = call->next)
                if (call->uid == uid)
                        n++;

        return n;
}

/* Ends a call without running it: logs the decision and replies with the
 * given error. */
static void call_deny(Call *call, const char *decision, const char *error_name, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

static void call_deny(Call *call, const char *decision, const char *error_name, const char *format, ...) {
        char text[512];
        va_list ap;
        int r;

        va_start(ap, format);
        vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);
        journal_log_call(call, decision, "not-run", 0, text);

        if (!call->caller_gone) {
                r = sd_bus_reply_method_errorf(call->message, error_name, "%s", text);
                if (r < 0)
                        log_warning("Failed to send the reply to %s: %s", call->sender, strerror(-r));
        }

        call_free(call);
}

/* Looks up the primary group of uid in the user database.
 * NOTE: the lookup blocks the front's event loop until NSS returns. */
static int call_primary_gid(uid_t uid, gid_t *ret_gid) {
        struct passwd entry, *result = NULL;
        size_t size = 1024;
        int r;

        for (;;) {
                char *buffer = malloc(size);
                if (!buffer)
                        return -ENOMEM;

                r = getpwuid_r(uid, &entry, buffer, size, &result);
                if (r == 0 && result)
                        *ret_gid = result->pw_gid;
                free(buffer);

                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                size *= 2;
        }

        if (r != 0)
                return -r;
        if (!result)
                return -ENOENT;

        return 0;
}

static void call_run(Call *call, const char *decision) {
        int r;

        call->decision = decision;

        if (call->caller_gone) {
                call_deny(call, "caller-disconnected", SD_BUS_ERROR_ACCESS_DENIED,
                          "The caller disconnected before it was authorized.");
                return;
        }

        /* The gid owns the tmpfs that MountTmpfs creates; without it, deny
         * rather than guess. */
        r = call_primary_gid(call->uid, &call->gid);
        if (r < 0) {
                call_deny(call, "no-credentials", SD_BUS_ERROR_ACCESS_DENIED,
                          "uid %u has no entry in the user database: %s", (unsigned) call->uid, strerror(-r));
                return;
        }

        workers_submit(call->manager, call);
}

static void call_reply_error(Call *call, const char *error_name, const char *message) {
        int r;

        if (call->caller_gone) {
                log_notice("%s disconnected before %s.%s() finished; the result is dropped.",
                           call->sender, call->entry_point->interface, call->entry_point->member);
                return;
        }

        r = sd_bus_reply_method_errorf(call->message, error_name, "%s", message);
        if (r < 0)
                log_warning("Failed to send the reply to %s: %s", call->sender, strerror(-r));
}

void call_complete(Call *call, int error, const char *reason) {
        const EntryPoint *e = call->entry_point;
        char fallback[256];
        int r = 0;

        journal_log_call(call, call->decision, error < 0 ? "failed" : "done", error, reason);

        if (call->caller_gone)
                log_notice("%s disconnected before %s.%s() finished; the result is dropped.",
                           call->sender, e->interface, e->member);
        else if (error < 0) {
                snprintf(fallback, sizeof(fallback), "%s.%s() failed", e->interface, e->member);
                r = bus_error_reply(call->message, error, reason, fallback);
        } else
                r = sd_bus_reply_method_return(call->message, NULL);
        if (r < 0)
                log_warning("Failed to send the reply to %s: %s", call->sender, strerror(-r));

        call_free(call);
}

void call_end(Call *call, const char *result, const char *error_name, const char *message) {
        journal_log_call(call, call->decision, result, 0, message);
        call_reply_error(call, error_name, message);
        call_free(call);
}

void call_end_timed_out(Call *call) {
        const EntryPoint *e = call->entry_point;
        char message[256];

        snprintf(message, sizeof(message), "%s.%s() did not finish within its time limit of %llu ms and was stopped",
                 e->interface, e->member,
                 (unsigned long long) ((e->timeout_usec > 0 ? e->timeout_usec : WORKERS_TIMEOUT_DEFAULT_USEC) / 1000));

        journal_log_call(call, call->decision, "timed-out", -ETIMEDOUT, message);
        call_reply_error(call, PRIVSEP_ERROR_TIMED_OUT, message);
        call_free(call);
}

void call_end_not_started(Call *call) {
        journal_log_call(call, call->decision, "not-run", 0, "The caller disconnected before the call started");
        call_free(call);
}

static int call_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Call *call = userdata;
        const sd_bus_error *error;
        int authorized, challenge, r;

        call->slot = sd_bus_slot_unref(call->slot);
        call->polkit_pending = false;

        error = sd_bus_message_get_error(reply);
        if (error) {
                /* polkit fails to resolve a subject that has disconnected. */
                call_deny(call, call->caller_gone ? "caller-disconnected" : "polkit-error", SD_BUS_ERROR_ACCESS_DENIED,
                          "Authorization failed because the polkit call failed with %s: %s", error->name, error->message ?: "");
                return 0;
        }

        r = polkit_read_result(reply, &authorized, &challenge);
        if (r < 0) {
                call_deny(call, "polkit-error", SD_BUS_ERROR_ACCESS_DENIED,
                          "Authorization failed because polkit's reply could not be read.");
                return 0;
        }

        if (call->caller_gone)
                call_deny(call, "caller-disconnected", SD_BUS_ERROR_ACCESS_DENIED,
                          "The caller disconnected before it was authorized.");
        else if (authorized)
                call_run(call, "authorized");
        else if (challenge && sd_bus_message_get_allow_interactive_authorization(call->message) > 0)
                call_deny(call, "challenge", SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                          "Interactive authentication is required for %s, but no polkit authentication agent completed it.",
                          call->entry_point->action_id);
        else if (challenge)
                call_deny(call, "challenge", SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                          "Interactive authentication is required for %s; call again with interactive authorization allowed.",
                          call->entry_point->action_id);
        else
                call_deny(call, "denied", SD_BUS_ERROR_ACCESS_DENIED, "Access to %s is denied by polkit.",
                          call->entry_point->action_id);

        return 0;
}

static int call_read_credentials(sd_bus_message *reply, uid_t *ret_uid, pid_t *ret_pid) {
        bool have_uid = false, have_pid = false;
        uint32_t uid = 0, pid = 0;
        const char *key;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read_basic(reply, 's', &key);
                if (r < 0)
                        return r;

                if (strcmp(key, "UnixUserID") == 0) {
                        r = sd_bus_message_read(reply, "v", "u", &uid);
                        have_uid = r >= 0;
                } else if (strcmp(key, "ProcessID") == 0) {
                        r = sd_bus_message_read(reply, "v", "u", &pid);
                        have_pid = r >= 0;
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        if (!have_uid)
                return -ENODATA;

        *ret_uid = (uid_t) uid;
        *ret_pid = have_pid ? (pid_t) pid : 0;
        return 0;
}

static int call_credentials_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Call *call = userdata;
        const sd_bus_error *error;
        int r;

        call->slot = sd_bus_slot_unref(call->slot);

        /* Fails with NameHasNoOwner once the caller has disconnected. */
        error = sd_bus_message_get_error(reply);
        if (error) {
                call->caller_gone = call->caller_gone || sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
                call_deny(call, call->caller_gone ? "caller-disconnected" : "no-credentials", SD_BUS_ERROR_ACCESS_DENIED,
                          "Authorization failed because the caller's credentials are unknown: %s", error->message ?: error->name);
                return 0;
        }

        r = call_read_credentials(reply, &call->uid, &call->pid);
        if (r < 0) {
                call_deny(call, "no-credentials", SD_BUS_ERROR_ACCESS_DENIED,
                          "Authorization failed because the caller's credentials could not be read.");
                return 0;
        }


        if (call_count_by_uid(call->manager, call->uid) > call->manager->max_calls_per_user) {
                call_deny(call, "limit-exceeded", PRIVSEP_ERROR_LIMIT_EXCEEDED,
                          "Too many calls in flight for uid %u (at most %u); try again later.",
                          (unsigned) call->uid, call->manager->max_calls_per_user);
                return 0;
        }

        if (call->uid == 0) {
                call_run(call, "root");
                return 0;
        }

        r = polkit_check_authorization_async(call, call_polkit_reply);
        call->polkit_pending = r >= 0;
        if (r < 0)
                call_deny(call, "polkit-error", SD_BUS_ERROR_ACCESS_DENIED,
                          "Authorization failed because polkit could not be asked: %s", strerror(-r));

        return 0;
}

int call_method_handler(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        EntryPointValue values[ENTRY_POINT_ARGUMENTS_MAX] = {};
        const EntryPoint *e;
        const char *sender;
        Call *call;
        int r;

        e = entry_point_find(sd_bus_message_get_interface(message), sd_bus_message_get_member(message));
        if (!e)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_METHOD, "Unknown method %s.%s.",
                                         sd_bus_message_get_interface(message), sd_bus_message_get_member(message));

        r = call_read_arguments(message, e, values, error);
        if (r < 0)
                return r;

        sender = sd_bus_message_get_sender(message);
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "The caller has no bus name.");

        /* Calls that still reach a front whose shutdown grace has passed,
         * sent to its unique name, would keep it alive. */
        if (m->shutdown_grace_expired)
                return sd_bus_error_set(error, PRIVSEP_ERROR_SHUTTING_DOWN,
                                        "privsepd is stopping; call again, and a new instance will serve the call");

        /* The uid is not known yet, so the first limit is per connection. */
        if (m->n_calls >= CALLS_MAX || call_count_by_sender(m, sender) >= m->max_calls_per_user)
                return sd_bus_error_setf(error, PRIVSEP_ERROR_LIMIT_EXCEEDED,
                                         "Too many calls in flight (at most %u per caller and %u in all); try again later.",
                                         m->max_calls_per_user, CALLS_MAX);

        call = calloc(1, sizeof(Call));
        if (!call)
                return -ENOMEM;

        *call = (Call) {
                .manager = m,
                .id = ++m->last_call_id,
                .message = sd_bus_message_ref(message),
                .entry_point = e,
                .sender = strdup(sender),
                .uid = (uid_t) -1,
                .gid = (gid_t) -1,
        };
        memcpy(call->arguments, values, sizeof(values));

        call->next = m->calls;
        if (m->calls)
                m->calls->previous = call;
        m->calls = call;
        manager_call_started(m);

        if (!call->sender) {
                call_free(call);
                return -ENOMEM;
        }

        r = sd_bus_call_method_async(m->bus, &call->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "GetConnectionCredentials",
                                     call_credentials_reply, call, "s", call->sender);
        if (r < 0) {
                call_free(call);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization failed because the caller's credentials could not be requested: %s",
                                         strerror(-r));
        }

        return 1;
}

unsigned call_abort_unauthorized(Manager *m, const char *error_name, const char *message) {
        unsigned n = 0;

        for (Call *call = m->calls, *next; call; call = next) {
                next = call->next;

                if (!call->slot)
                        continue;

                if (call->polkit_pending)
                        (void) polkit_cancel_async(call);

                call_deny(call, "shutting-down", error_name, "%s", message);
                n++;
        }

        return n;
}

void call_mark_caller_gone(Manager *m, const char *unique_name) {
        for (Call *call = m->calls, *next; call; call = next) {
                next = call->next;

                if (strcmp(call->sender, unique_name) != 0)
                        continue;

                call->caller_gone = true;

                /* A check that may wait for a password ends now rather than
                 * when polkit gives up on it. */
                if (call->polkit_pending) {
                        (void) polkit_cancel_async(call);
                        call_deny(call, "caller-disconnected", SD_BUS_ERROR_ACCESS_DENIED,
                                  "The caller disconnected before it was authorized.");
                }
        }
}
