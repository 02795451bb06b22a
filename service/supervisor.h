/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "manager.h"

/* What the supervisor sends the front over the control socket, with two
 * file descriptors attached: the worker's socket and a pidfd of the worker. */
typedef struct SupervisorMessage {
        uint32_t context_index;
        int32_t pid;
} SupervisorMessage;

/* Starts the front process and one worker per privilege context, restarts
 * workers that exit, and returns when the front has exited: 0 if it exited
 * cleanly, a negative errno otherwise. */
int supervisor_run(Manager *m);
