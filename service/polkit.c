/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CheckAuthorization on org.freedesktop.PolicyKit1.Authority.
 *
 * The subject is the caller's unique bus name ("system-bus-name"), which
 * polkit resolves to a uid and process itself, so that no pid can be reused
 * between the check and the call. The validated arguments go along as
 * details, so that rules can decide per interface, mount or hostname. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "polkit.h"

/* CheckAuthorization flag: polkit may ask the user through an agent. */
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1U

static int polkit_format_detail(const EntryPointArgument *argument, const EntryPointValue *value,
                                char *buffer, size_t size, const char **ret) {
        switch (argument->type) {
        case 's':
                *ret = value->string;
                return 0;
        case 't':
                snprintf(buffer, size, "%" PRIu64, value->u64);
                break;
        case 'u':
                snprintf(buffer, size, "%" PRIu32, value->u32);
                break;
        case 'b':
                snprintf(buffer, size, "%s", value->boolean ? "true" : "false");
                break;
        default:
                return -EINVAL;
        }

        *ret = buffer;
        return 0;
}

static int polkit_append_details(sd_bus_message *m, const Call *call) {
        const EntryPoint *e = call->entry_point;
        int r;

        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;

        for (size_t i = 0; i < e->n_arguments; i++) {
                const EntryPointArgument *argument = &e->arguments[i];
                char buffer[32];
                const char *text;

                if (!argument->polkit_detail)
                        continue;

                r = polkit_format_detail(argument, &call->arguments[i], buffer, sizeof(buffer), &text);
                if (r < 0)
                        return r;

                r = sd_bus_message_append(m, "{ss}", argument->polkit_detail, text);
                if (r < 0)
                        return r;
        }

        if (e->polkit_message) {
                r = sd_bus_message_append(m, "{ss}", "polkit.message", e->polkit_message);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

int polkit_check_authorization_async(Call *call, sd_bus_message_handler_t callback) {
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *m = NULL;
        char cancellation_id[64];
        bool interactive;
        int r;

        interactive = sd_bus_message_get_allow_interactive_authorization(call->message) > 0;

        r = sd_bus_message_new_method_call(call->manager->bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", call->sender,
                                  call->entry_point->action_id);
        if (r < 0)
                return r;

        r = polkit_append_details(m, call);
        if (r < 0)
                return r;

        snprintf(cancellation_id, sizeof(cancellation_id), "privsepd-%" PRIu64, call->id);
        r = sd_bus_message_append(m, "us", interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0U, cancellation_id);
        if (r < 0)
                return r;

        return sd_bus_call_async(call->manager->bus, &call->slot, m, callback, call,
                                 interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
}

int polkit_cancel_async(Call *call) {
        char cancellation_id[64];

        snprintf(cancellation_id, sizeof(cancellation_id), "privsepd-%" PRIu64, call->id);

        /* No reply is awaited: the check's own reply, if any, is ignored. */
        return sd_bus_call_method_async(call->manager->bus, NULL, "org.freedesktop.PolicyKit1",
                                        "/org/freedesktop/PolicyKit1/Authority",
                                        "org.freedesktop.PolicyKit1.Authority", "CancelCheckAuthorization",
                                        NULL, NULL, "s", cancellation_id);
}

int polkit_read_result(sd_bus_message *reply, int *ret_authorized, int *ret_challenge) {
        int authorized, challenge, r;

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r < 0)
                return r;

        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return r;

        *ret_authorized = authorized;
        *ret_challenge = challenge;
        return 0;
}
