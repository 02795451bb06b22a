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

#define SUPERVISOR_MESSAGE_FDS 2

/* Sends message with fds attached on the control socket. Returns 0 or a
 * negative errno. */
int supervisor_message_send(int fd, const SupervisorMessage *message, const int fds[SUPERVISOR_MESSAGE_FDS]);

/* Receives one message without blocking. Returns its size in bytes, 0 when
 * the other end has closed, or a negative errno; ret_fds gets the attached
 * file descriptors, or -1 for each one that is missing. */
ssize_t supervisor_message_receive(int fd, SupervisorMessage *ret_message, int ret_fds[SUPERVISOR_MESSAGE_FDS]);

/* Starts the front process and one worker per privilege context, restarts
 * workers that exit, and returns when the front has exited: 0 if it exited
 * cleanly, a negative errno otherwise. */
int supervisor_run(Manager *m);
