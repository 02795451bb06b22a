/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus side of the daemon: one D-Bus interface per group of entry points,
 * the Manager interface, caller tracking, and exit when idle. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "call.h"
#include "log.h"
#include "manager.h"

static int manager_list_methods(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "(ssssas)");
        if (r < 0)
                return r;

        ENTRY_POINT_FOREACH(e) {
                r = sd_bus_message_open_container(reply, 'r', "ssssas");
                if (r < 0)
                        return r;

                r = sd_bus_message_append(reply, "ssss", e->interface, e->member, e->action_id, e->context->name);
                if (r < 0)
                        return r;

                r = sd_bus_message_open_container(reply, 'a', "s");
                if (r < 0)
                        return r;

                for (size_t i = 0; i < e->context->n_capabilities; i++) {
                        char *name = cap_to_name(e->context->capabilities[i]);
                        if (!name)
                                return -errno;

                        r = sd_bus_message_append(reply, "s", name);
                        cap_free(name);
                        if (r < 0)
                                return r;
                }

                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;

                r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("ListMethods", "", "", "a(ssssas)", SD_BUS_PARAM(methods),
                                 manager_list_methods, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static ManagerInterface *manager_find_interface(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_interfaces; i++)
                if (strcmp(m->interfaces[i].name, name) == 0)
                        return &m->interfaces[i];

        return NULL;
}

/* Returns the argument names of an entry point in the form sd-bus expects:
 * each name followed by a NUL byte. */
static char *manager_argument_names(const EntryPoint *e) {
        size_t size = 1, offset = 0;
        char *names;

        for (size_t i = 0; i < e->n_arguments; i++)
                size += strlen(e->arguments[i].name) + 1;

        names = calloc(1, size);
        if (!names)
                return NULL;

        for (size_t i = 0; i < e->n_arguments; i++) {
                size_t length = strlen(e->arguments[i].name);

                memcpy(names + offset, e->arguments[i].name, length + 1);
                offset += length + 1;
        }

        return names;
}

/* Builds one vtable per D-Bus interface from the entry point declarations.
 * Methods that are not declared there do not exist on the bus. */
static int manager_build_vtables(Manager *m) {
        size_t n = entry_point_count();

        m->interfaces = calloc(n, sizeof(ManagerInterface));
        if (!m->interfaces)
                return -ENOMEM;

        ENTRY_POINT_FOREACH(e) {
                ManagerInterface *interface = manager_find_interface(m, e->interface);

                if (!interface) {
                        interface = &m->interfaces[m->n_interfaces++];
                        interface->name = e->interface;
                        /* START, one entry per method at most, END */
                        interface->vtable = calloc(n + 2, sizeof(sd_bus_vtable));
                        interface->member_names = calloc(n, sizeof(char *));
                        if (!interface->vtable || !interface->member_names)
                                return -ENOMEM;

                        interface->vtable[0] = (sd_bus_vtable) SD_BUS_VTABLE_START(0);
                }

                char *signature = calloc(1, ENTRY_POINT_ARGUMENTS_MAX + 1);
                char *names = manager_argument_names(e);
                if (!signature || !names) {
                        free(signature);
                        free(names);
                        return -ENOMEM;
                }
                entry_point_signature(e, signature, ENTRY_POINT_ARGUMENTS_MAX + 1);

                /* Freed in manager_free_vtables(): the names through
                 * member_names, the signature through the vtable entry. */
                interface->member_names[interface->n_methods] = names;

                sd_bus_vtable *entry = &interface->vtable[1 + interface->n_methods];
                *entry = (sd_bus_vtable) SD_BUS_METHOD_WITH_OFFSET(e->member, signature, "",
                                                                  call_method_handler, 0,
                                                                  SD_BUS_VTABLE_UNPRIVILEGED);
                entry->x.method.names = names;
                interface->n_methods++;
        }

        for (size_t i = 0; i < m->n_interfaces; i++)
                m->interfaces[i].vtable[1 + m->interfaces[i].n_methods] = (sd_bus_vtable) SD_BUS_VTABLE_END;

        return 0;
}

static void manager_free_vtables(Manager *m) {
        for (size_t i = 0; i < m->n_interfaces; i++) {
                ManagerInterface *interface = &m->interfaces[i];

                for (size_t j = 0; j < interface->n_methods; j++) {
                        free((char *) interface->vtable[1 + j].x.method.signature);
                        free(interface->member_names[j]);
                }
                free(interface->member_names);
                free(interface->vtable);
        }

        free(m->interfaces);
        m->interfaces = NULL;
        m->n_interfaces = 0;
}

/* Restarts the idle timer on every incoming method call, so that calls
 * that need no worker, such as ListMethods or Introspect, also keep the
 * daemon alive. */
static int manager_on_message(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        if (!m->idle_source || m->n_calls > 0 || m->shutting_down || !sd_bus_message_is_method_call(message, NULL, NULL))
                return 0;

        r = sd_event_source_set_time_relative(m->idle_source, m->idle_timeout_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->idle_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning("Failed to restart the idle timer: %s", strerror(-r));

        return 0;
}

static bool manager_sent_by_bus_daemon(sd_bus_message *message) {
        const char *sender = sd_bus_message_get_sender(message);

        return sender && strcmp(sender, "org.freedesktop.DBus") == 0;
}

static int manager_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        /* sd-bus does not check the sender of a match, and anyone may send
         * a signal to this connection's unique name: only the bus daemon's
         * word counts. */
        if (!manager_sent_by_bus_daemon(message))
                return 0;

        r = sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner);
        if (r < 0) {
                log_warning("Failed to read NameOwnerChanged: %s", strerror(-r));
                return 0;
        }

        if (name[0] == ':' && new_owner[0] == '\0')
                call_mark_caller_gone(m, name);

        return 0;
}

/* Connects like sd_bus_open_system(), but refuses file descriptor passing:
 * no method takes one, and the bus daemon then rejects messages that carry
 * them, instead of letting callers fill this process's fd table. */
static int manager_connect_system_bus(sd_bus **ret) {
        __attribute__((cleanup(sd_bus_unrefp))) sd_bus *bus = NULL;
        const char *address;
        int r;

        address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        if (!address || !address[0])
                address = "unix:path=/run/dbus/system_bus_socket";

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;

        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;

        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;

        r = sd_bus_negotiate_fds(bus, false);
        if (r < 0)
                return r;

        r = sd_bus_start(bus);
        if (r < 0)
                return r;

        *ret = bus;
        bus = NULL;
        return 0;
}

static int manager_exit_when_drained(Manager *m) {
        int r;

        /* Calls that reached us before the bus name was released are still
         * in the connection's queue; serve them rather than dropping them. */
        while ((r = sd_bus_process(m->bus, NULL)) > 0)
                ;
        if (r < 0)
                log_warning("Failed to process queued messages: %s", strerror(-r));

        if (m->n_calls > 0)
                return 0;

        (void) sd_bus_flush(m->bus);
        return sd_event_exit(m->event, 0);
}

static int manager_on_exit_check(sd_event_source *source, void *userdata) {
        return manager_exit_when_drained(userdata);
}

static int manager_on_shutdown_grace(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        const char *message = "privsepd is stopping; call again, and a new instance will serve the call";
        unsigned n;

        m->shutdown_grace_expired = true;

        n = call_abort_unauthorized(m, PRIVSEP_ERROR_SHUTTING_DOWN, message);
        n += workers_abort_waiting(m, "shutting-down", PRIVSEP_ERROR_SHUTTING_DOWN, message);
        if (n > 0)
                log_warning("Ended %u calls that had not started %llu s after the shutdown began.", n,
                            (unsigned long long) (SHUTDOWN_GRACE_USEC / 1000000));

        if (m->n_calls == 0)
                (void) manager_exit_when_drained(m);
        return 0;
}

void manager_begin_shutdown(Manager *m, const char *why) {
        int r;

        if (m->shutting_down)
                return;
        m->shutting_down = true;

        log_info("Shutting down: %s.", why);

        /* Once the name is released, the bus daemon queues new calls and
         * activates a new instance for them. */
        r = sd_bus_release_name(m->bus, PRIVSEP_BUS_NAME);
        if (r < 0)
                log_warning("Failed to release %s: %s", PRIVSEP_BUS_NAME, strerror(-r));

        /* Calls that run in a worker end by their deadlines. Calls that
         * still wait for polkit, perhaps for a password that no user enters, or
         * for a worker that is not coming back, get a grace period. */
        r = sd_event_add_time_relative(m->event, &m->shutdown_source, CLOCK_MONOTONIC, SHUTDOWN_GRACE_USEC, 0,
                                       manager_on_shutdown_grace, m);
        if (r < 0)
                log_warning("Failed to add the shutdown timer: %s", strerror(-r));

        if (m->n_calls == 0)
                (void) manager_exit_when_drained(m);
}

static int manager_on_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        manager_begin_shutdown(userdata, "idle");
        return 0;
}

static int manager_on_signal(sd_event_source *source, const struct signalfd_siginfo *info, void *userdata) {
        manager_begin_shutdown(userdata, strsignal((int) info->ssi_signo));
        return 0;
}

void manager_call_started(Manager *m) {
        m->n_calls++;

        if (m->idle_source)
                (void) sd_event_source_set_enabled(m->idle_source, SD_EVENT_OFF);
}

void manager_call_finished(Manager *m) {
        int r;

        m->n_calls--;
        if (m->n_calls > 0)
                return;

        if (m->shutting_down) {
                /* This runs inside a bus callback, where sd_bus_process()
                 * cannot be called; check again from the event loop. */
                r = sd_event_add_defer(m->event, NULL, manager_on_exit_check, m);
                if (r < 0)
                        (void) sd_event_exit(m->event, 0);
                return;
        }

        if (!m->idle_source)
                return;

        r = sd_event_source_set_time_relative(m->idle_source, m->idle_timeout_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->idle_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning("Failed to arm the idle timer: %s", strerror(-r));
}

int manager_new(Manager **ret) {
        Manager *m;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;

        m->idle_timeout_usec = IDLE_TIMEOUT_DEFAULT_USEC;
        m->max_calls_per_user = CALLS_PER_USER_DEFAULT;
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        while (m->calls)
                call_free(m->calls);

        workers_stop(m);

        sd_event_source_unref(m->idle_source);
        sd_event_source_unref(m->shutdown_source);
        sd_bus_flush_close_unref(m->bus);
        manager_free_vtables(m);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static int manager_start(Manager *m, int control_fd) {
        sigset_t mask;
        int r;

        /* Not sd_event_default(): this process is a fork of the supervisor. */
        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, manager_on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, manager_on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals");

        r = workers_start(m, control_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the control socket");

        r = manager_connect_system_bus(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus");

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop");

        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return r;

        /* Installed before the name is taken, so that no caller can
         * disconnect unnoticed while polkit is being asked about it. */
        r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", manager_name_owner_changed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch NameOwnerChanged");

        r = sd_bus_add_filter(m->bus, NULL, manager_on_message, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the message filter");

        r = manager_build_vtables(m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the method tables");

        for (size_t i = 0; i < m->n_interfaces; i++) {
                r = sd_bus_add_object_vtable(m->bus, NULL, PRIVSEP_OBJECT_PATH, m->interfaces[i].name,
                                             m->interfaces[i].vtable, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add interface %s", m->interfaces[i].name);
        }

        r = sd_bus_add_object_vtable(m->bus, NULL, PRIVSEP_OBJECT_PATH, PRIVSEP_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add interface %s", PRIVSEP_MANAGER_INTERFACE);

        if (m->idle_timeout_usec > 0) {
                r = sd_event_add_time_relative(m->event, &m->idle_source, CLOCK_MONOTONIC, m->idle_timeout_usec,
                                               0, manager_on_idle, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the idle timer");
        }

        r = sd_bus_request_name(m->bus, PRIVSEP_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s", PRIVSEP_BUS_NAME);

        return 0;
}

int manager_main(Manager *m, int control_fd) {
        int r;

        r = manager_start(m, control_fd);
        if (r < 0)
                return r;

        log_info("privsepd %s ready.", PACKAGE_VERSION);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed");

        return 0;
}
