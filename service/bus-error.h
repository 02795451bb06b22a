/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define PRIVSEP_ERROR_PREFIX "org.privsep.Privsep1.Error."
#define PRIVSEP_ERROR_TIMED_OUT PRIVSEP_ERROR_PREFIX "TimedOut"
#define PRIVSEP_ERROR_WORKER_FAILED PRIVSEP_ERROR_PREFIX "WorkerFailed"
#define PRIVSEP_ERROR_LIMIT_EXCEEDED PRIVSEP_ERROR_PREFIX "LimitExceeded"
#define PRIVSEP_ERROR_REQUEST_TOO_LARGE PRIVSEP_ERROR_PREFIX "RequestTooLarge"
#define PRIVSEP_ERROR_SHUTTING_DOWN PRIVSEP_ERROR_PREFIX "ShuttingDown"

/* Returns the D-Bus error name for a negative errno from an entry point. */
const char *bus_error_name_from_errno(int error);

/* Replies to message with the named error for a failed operation. The
 * message text is "REASON: STRERROR", or "FALLBACK: STRERROR" when reason
 * is empty. */
int bus_error_reply(sd_bus_message *message, int error, const char *reason, const char *fallback);
