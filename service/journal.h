/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "call.h"

/* MESSAGE_ID of the entry written for every privileged call. */
#define PRIVSEP_CALL_MESSAGE_ID "c7c2d987380a40ee966267dc51bf0789"

/* Writes one structured journal entry for a call that passed validation:
 * the method, the caller, the polkit decision, the result and the arguments
 * that may be logged. error is 0 or a negative errno; decision and result
 * are short words such as "authorized" or "denied". */
void journal_log_call(const Call *call, const char *decision, const char *result, int error, const char *reason);
