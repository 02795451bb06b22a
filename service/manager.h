/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "entry-point.h"
#include "workers.h"

#define PRIVSEP_BUS_NAME "org.privsep.Privsep1"
#define PRIVSEP_OBJECT_PATH "/org/privsep/Privsep1"
#define PRIVSEP_MANAGER_INTERFACE "org.privsep.Privsep1.Manager"

#define IDLE_TIMEOUT_DEFAULT_USEC (30 * UINT64_C(1000000))
/* How long a stopping front waits for calls that are not yet running in a
 * worker, for example because polkit waits for a password. */
#define SHUTDOWN_GRACE_USEC (10 * UINT64_C(1000000))


typedef struct ManagerInterface {
        const char *name;
        sd_bus_vtable *vtable;
        char **member_names; /* NUL-separated argument names, one per method */
        size_t n_methods;
} ManagerInterface;

/* The front process's state, passed to every bus handler as userdata. */
struct Manager {
        sd_event *event;
        sd_bus *bus;

        ManagerInterface *interfaces;
        size_t n_interfaces;

        /* Calls between their arrival and their reply. */
        Call *calls;
        unsigned n_calls;
        uint64_t last_call_id;

        uint64_t idle_timeout_usec; /* 0: never exit when idle */
        sd_event_source *idle_source;
        bool shutting_down;
        sd_event_source *shutdown_source;
        /* Set when the grace period of a shutdown has passed: new calls
         * are rejected from then on. */
        bool shutdown_grace_expired;

        unsigned max_calls_per_user;

        /* One per privilege context, fed by the supervisor. */
        Worker workers[PRIVILEGE_CONTEXTS_MAX];
        size_t n_workers;
        sd_event_source *control_source;
};

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
/* Runs the front process: connects to the bus, takes the name, and serves
 * calls until it is idle or asked to stop. control_fd is the socket on which
 * the supervisor hands over worker connections. */
int manager_main(Manager *m, int control_fd);

/* Starts a shutdown: releases the bus name, and makes the event loop exit
 * once the calls in flight have ended or the grace period has passed. */
void manager_begin_shutdown(Manager *m, const char *why);

/* Called when a call ends, to arm the idle timer or finish a shutdown. */
void manager_call_finished(Manager *m);
/* Called when a call arrives. */
void manager_call_started(Manager *m);
