/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "call.h"

/* How long polkit may take. A check that may ask the user for a password
 * gets longer, since a person has to type it. */
#define POLKIT_TIMEOUT_USEC (25 * UINT64_C(1000000))
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5 * 60 * UINT64_C(1000000))

/* Sends CheckAuthorization for the call's sender and entry point. The reply
 * goes to callback with the call as userdata; call->slot refers to the pending
 * bus call. */
int polkit_check_authorization_async(Call *call, sd_bus_message_handler_t callback);

/* Asks polkit to cancel the call's pending check, for example a password
 * prompt that no user completes. */
int polkit_cancel_async(Call *call);

/* Reads the (bba{ss}) result of CheckAuthorization. */
int polkit_read_result(sd_bus_message *reply, int *ret_authorized, int *ret_challenge);
