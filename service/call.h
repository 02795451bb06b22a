/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "entry-point.h"
#include "manager.h"

/* One method call on its way from arrival to reply: the message, its
 * validated arguments and what the bus daemon and polkit said about the
 * caller. */
struct Call {
        Manager *manager;
        sd_bus_message *message;
        const EntryPoint *entry_point;
        EntryPointValue arguments[ENTRY_POINT_ARGUMENTS_MAX];

        char *sender;
        uid_t uid;
        gid_t gid;
        pid_t pid;

        /* The bus call in flight on behalf of this call, if any. */
        sd_bus_slot *slot;
        /* Set when the caller's connection closes before the reply. */
        bool caller_gone;

        Call *previous, *next;
};

/* The sd-bus handler of every entry point method. */
int call_method_handler(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* Marks the calls of a unique bus name whose connection has closed. */
void call_mark_caller_gone(Manager *m, const char *unique_name);

Call *call_free(Call *call);
