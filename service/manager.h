/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "entry-point.h"

#define PRIVSEP_BUS_NAME "org.privsep.Privsep1"
#define PRIVSEP_OBJECT_PATH "/org/privsep/Privsep1"
#define PRIVSEP_MANAGER_INTERFACE "org.privsep.Privsep1.Manager"

#define IDLE_TIMEOUT_DEFAULT_USEC (30 * UINT64_C(1000000))

typedef struct Call Call;

typedef struct ManagerInterface {
        const char *name;
        sd_bus_vtable *vtable;
        char **member_names; /* NUL-separated argument names, one per method */
        size_t n_methods;
} ManagerInterface;

/* The daemon's state, passed to every bus handler as userdata. */
typedef struct Manager {
        sd_event *event;
        sd_bus *bus;

        ManagerInterface *interfaces;
        size_t n_interfaces;

        /* Calls between their arrival and their reply. */
        Call *calls;
        unsigned n_calls;

        uint64_t idle_timeout_usec; /* 0: never exit when idle */
        sd_event_source *idle_source;
        bool shutting_down;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
int manager_start(Manager *m);
int manager_run(Manager *m);

/* Called when a call ends, to arm the idle timer or finish a shutdown. */
void manager_call_finished(Manager *m);
/* Called when a call arrives. */
void manager_call_started(Manager *m);
