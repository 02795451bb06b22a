/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "context.h"

typedef struct Manager Manager;
typedef struct Call Call;

/* Time limit of an entry point that does not set its own. */
#define WORKERS_TIMEOUT_DEFAULT_USEC (5 * UINT64_C(1000000))

/* Users whose last service time a worker remembers for fair queueing. */
#define WORKER_SERVED_MAX 64

typedef struct WorkerServed {
        uid_t uid;
        uint64_t sequence;
} WorkerServed;

/* The front's side of one worker process. Calls for the worker's context
 * wait in a queue and run one at a time, so that a call whose caller has
 * gone is never started, and a deadline measures the work alone. */
typedef struct Worker {
        Manager *manager;
        const PrivilegeContext *context;
        sd_bus *bus;        /* NULL while no worker is connected */
        int pidfd;
        pid_t pid;

        Call *current;
        sd_bus_slot *slot;
        sd_event_source *deadline_source;

        Call *queue_head, *queue_tail;

        /* When each recent user's last call started, counted in calls. */
        WorkerServed served[WORKER_SERVED_MAX];
        size_t n_served;
        uint64_t sequence;
} Worker;

/* Watches the control socket from the supervisor for new workers. */
int workers_start(Manager *m, int control_fd);
void workers_stop(Manager *m);

/* Queues an authorized call for its context's worker. */
void workers_submit(Manager *m, Call *call);

/* Ends every call that waits in a worker's queue, with a named error; the
 * calls that workers are running go on. Returns how many calls it ended. */
unsigned workers_abort_waiting(Manager *m, const char *result, const char *error_name, const char *message);

/* Forgets a call that is queued or running, without replying to it. */
void workers_forget_call(Manager *m, Call *call);
