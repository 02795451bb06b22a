/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "entry-point.h"
#include "manager.h"

/* One method call on its way from arrival to reply: the message, its
 * validated arguments, and the caller's uid and pid as the bus daemon
 * reported them (the gid comes from the user database). */
struct Call {
        Manager *manager;
        sd_bus_message *message;
        const EntryPoint *entry_point;
        EntryPointValue arguments[ENTRY_POINT_ARGUMENTS_MAX];

        char *sender;
        uid_t uid;
        gid_t gid;
        pid_t pid;

        /* Unique among this process's calls; polkit's cancellation ID. */
        uint64_t id;

        /* The pending GetConnectionCredentials or CheckAuthorization call;
         * NULL once the call is authorized or denied. */
        sd_bus_slot *slot;
        bool polkit_pending;
        /* Set when the caller's connection closes before the reply. */
        bool caller_gone;
        /* The authorization decision: "root" or "authorized". */
        const char *decision;

        /* In a worker's queue, waiting to run. */
        bool queued;
        Call *queue_next;

        Call *previous, *next;
};

/* The sd-bus handler of every entry point method. */
int call_method_handler(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Ends every call that is still waiting for the bus daemon or polkit with a
 * named error, and cancels its polkit check. Returns how many it ended. */
unsigned call_abort_unauthorized(Manager *m, const char *error_name, const char *message);

/* Marks the calls of a unique bus name whose connection has closed. */
void call_mark_caller_gone(Manager *m, const char *unique_name);

Call *call_free(Call *call);

/* Ends an authorized call with the entry point's result: logs it, replies
 * and frees the call. error is 0 or a negative errno. */
void call_complete(Call *call, int error, const char *reason);

/* Ends an authorized call that did not produce a result, with a named error.
 * result is the word for the journal entry, such as "worker-failed". */
void call_end(Call *call, const char *result, const char *error_name, const char *message);
void call_end_timed_out(Call *call);

/* Ends a call whose caller disconnected before it started, without running it. */
void call_end_not_started(Call *call);

/* Limits on calls in flight, so that one caller cannot starve the others. */
#define CALLS_PER_USER_DEFAULT 8U
#define CALLS_MAX 1024U
/* Total size of a request's string arguments, checked before validation. */
#define CALL_REQUEST_BYTES_MAX (128U * 1024U)
