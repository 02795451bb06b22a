/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The channel between the front process and a worker: a peer-to-peer D-Bus
 * connection on a socketpair, carrying one method:
 *
 *   org.privsep.Worker1.Run(s interface, s member, u uid, u gid, av arguments)
 *           -> (i error, s reason)
 *
 * error is 0 or a negative errno from the entry point, reason the text it
 * gave. The worker trusts the front, but looks up and validates every
 * request again, since doing so costs nothing. */

#include "context.h"

#define WORKER_OBJECT_PATH "/org/privsep/Worker"
#define WORKER_INTERFACE "org.privsep.Worker1"

/* Runs a worker for context on the connected socket fd until the front
 * closes it. Returns a negative errno on failure, 0 on a clean end. */
int worker_main(const PrivilegeContext *context, int fd);
