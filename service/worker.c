/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker process of one privilege context. It holds only that
 * context's capabilities, permitted but not effective, and runs only that
 * context's entry points, one at a time, for the front process. */

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "entry-point.h"
#include "log.h"
#include "worker.h"

static int worker_read_arguments(sd_bus_message *m, const EntryPoint *e, EntryPointValue *values) {
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "v");
        if (r < 0)
                return r;

        for (;;) {
                char signature[2];

                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;

                if (n >= e->n_arguments)
                        return -E2BIG;

                signature[0] = e->arguments[n].type;
                signature[1] = '\0';

                r = sd_bus_message_enter_container(m, 'v', signature);
                if (r < 0)
                        return r;

                if (signature[0] == 'b') {
                        int b;
                        r = sd_bus_message_read_basic(m, 'b', &b);
                        values[n].boolean = b;
                } else
                        r = sd_bus_message_read_basic(m, signature[0],
                                                      signature[0] == 's' ? (void *) &values[n].string :
                                                      signature[0] == 't' ? (void *) &values[n].u64 :
                                                                            (void *) &values[n].u32);
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                n++;
        }

        if (n != e->n_arguments)
                return -EINVAL;

        return sd_bus_message_exit_container(m);
}

static int worker_run(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const PrivilegeContext *context = userdata;
        EntryPointValue values[ENTRY_POINT_ARGUMENTS_MAX] = {};
        EntryPointResult result = {};
        const char *interface, *member;
        uint32_t uid, gid;
        const EntryPoint *e;
        int r;

        r = sd_bus_message_read(m, "ssuu", &interface, &member, &uid, &gid);
        if (r < 0)
                return r;

        e = entry_point_find(interface, member);
        if (!e || e->context != context)
                return sd_bus_reply_method_return(m, "is", -EPERM, "This worker does not run that method");

        r = worker_read_arguments(m, e, values);
        if (r < 0)
                return sd_bus_reply_method_return(m, "is", -EINVAL, "The request's arguments do not match the method");

        for (size_t i = 0; i < e->n_arguments; i++) {
                const char *allowed;

                if (e->arguments[i].validate && e->arguments[i].validate(&values[i], &allowed) < 0)
                        return sd_bus_reply_method_return(m, "is", -EINVAL, "The request's arguments are not valid");
        }

        r = entry_point_run(e, values, &(EntryPointCaller) { .uid = uid, .gid = gid }, &result);

        return sd_bus_reply_method_return(m, "is", r < 0 ? r : 0, result.reason);
}

static const sd_bus_vtable worker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        /* Only the front has the other end of this socketpair. */
        SD_BUS_METHOD("Run", "ssuuav", "is", worker_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int worker_main(const PrivilegeContext *context, int fd) {
        __attribute__((cleanup(sd_event_unrefp))) sd_event *event = NULL;
        __attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
        sd_id128_t id;
        int r;

        r = sd_event_new(&event);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to allocate the event loop", context->name);

        r = sd_bus_new(&bus);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to allocate the connection", context->name);

        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to set the connection's socket", context->name);

        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_set_server(bus, true, id);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to make the connection a server", context->name);

        r = sd_bus_negotiate_fds(bus, false);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to turn off file descriptor passing", context->name);

        r = sd_bus_add_object_vtable(bus, NULL, WORKER_OBJECT_PATH, WORKER_INTERFACE, worker_vtable, (void *) context);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to add the worker interface", context->name);

        r = sd_bus_start(bus);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to start the connection", context->name);

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to attach the connection", context->name);

        /* The worker ends when the front closes its end of the socket. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Worker %s: failed to exit on disconnect", context->name);

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Worker %s: event loop failed", context->name);

        return 0;
}
