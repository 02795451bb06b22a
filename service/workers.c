/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front's connections to the worker processes. */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-error.h"
#include "call.h"
#include "log.h"
#include "manager.h"
#include "supervisor.h"
#include "worker.h"
#include "workers.h"

static void workers_dispatch(Worker *w);

static Worker *workers_find(Manager *m, const PrivilegeContext *context) {
        for (size_t i = 0; i < m->n_workers; i++)
                if (m->workers[i].context == context)
                        return &m->workers[i];

        return NULL;
}

/* Drops the connection to a worker that is gone or being replaced. The
 * call it was running, if any, ends with error_name. Unless the service is
 * stopping, the worker process is killed too: the supervisor restarts only
 * workers that did not exit cleanly. */
static void workers_disconnect(Worker *w, const char *error_name, const char *message) {
        Call *call = w->current;

        if (!w->manager->shutting_down && w->pidfd >= 0)
                (void) pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0);

        w->current = NULL;
        w->slot = sd_bus_slot_unref(w->slot);
        w->deadline_source = sd_event_source_disable_unref(w->deadline_source);
        w->bus = sd_bus_flush_close_unref(w->bus);
        if (w->pidfd >= 0)
                close(w->pidfd);
        w->pidfd = -1;
        w->pid = 0;

        if (call)
                call_end(call, "worker-failed", error_name, message);
}

static int workers_on_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Worker *w = userdata;

        log_warning("The connection to worker %s closed.", w->context->name);
        workers_disconnect(w, PRIVSEP_ERROR_WORKER_FAILED, "The worker process exited during the call");
        return 0;
}

static int workers_on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Worker *w = userdata;
        Call *call = w->current;
        const sd_bus_error *error;
        const char *reason = "";
        int32_t result = 0;
        int r;

        w->slot = sd_bus_slot_unref(w->slot);
        w->deadline_source = sd_event_source_disable_unref(w->deadline_source);
        w->current = NULL;

        error = sd_bus_message_get_error(reply);
        if (error) {
                /* Most often the worker died and the connection closed. */
                log_warning("Worker %s failed a call: %s", w->context->name, error->message ?: error->name);
                call_end(call, "worker-failed", PRIVSEP_ERROR_WORKER_FAILED, "The worker process failed during the call");
                workers_disconnect(w, PRIVSEP_ERROR_WORKER_FAILED, "The worker process failed during the call");
                return 0;
        }

        /* Anything but 0 or a negative errno is a broken reply. */
        r = sd_bus_message_read(reply, "is", &result, &reason);
        if (r < 0 || result > 0 || result < -4095)
                call_end(call, "worker-failed", PRIVSEP_ERROR_WORKER_FAILED, "The worker's reply could not be read");
        else
                call_complete(call, result, reason);

        workers_dispatch(w);
        return 0;
}

static int workers_on_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Worker *w = userdata;
        Call *call = w->current;

        log_warning("%s.%s() passed its time limit; killing worker %s (process %d).",
                    call->entry_point->interface, call->entry_point->member, w->context->name, (int) w->pid);

        /* The supervisor starts a new worker and hands it over; queued
         * calls wait for it. */
        if (w->pidfd >= 0 && pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0) < 0)
                log_warning("Failed to kill worker %s: %s", w->context->name, strerror(errno));

        w->current = NULL;
        call_end_timed_out(call);
        workers_disconnect(w, PRIVSEP_ERROR_WORKER_FAILED, "The worker process was stopped");
        return 0;
}

static int workers_append_arguments(sd_bus_message *m, const Call *call) {
        const EntryPoint *e = call->entry_point;
        int r;

        r = sd_bus_message_open_container(m, 'a', "v");
        if (r < 0)
                return r;

        for (size_t i = 0; i < e->n_arguments; i++) {
                const EntryPointValue *value = &call->arguments[i];

                switch (e->arguments[i].type) {
                case 's':
                        r = sd_bus_message_append(m, "v", "s", value->string);
                        break;
                case 't':
                        r = sd_bus_message_append(m, "v", "t", value->u64);
                        break;
                case 'u':
                        r = sd_bus_message_append(m, "v", "u", value->u32);
                        break;
                case 'b':
                        r = sd_bus_message_append(m, "v", "b", (int) value->boolean);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}

static int workers_send(Worker *w, Call *call) {
        __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *m = NULL;
        const EntryPoint *e = call->entry_point;
        uint64_t timeout = e->timeout_usec > 0 ? e->timeout_usec : WORKERS_TIMEOUT_DEFAULT_USEC;
        int r;

        r = sd_bus_message_new_method_call(w->bus, &m, NULL, WORKER_OBJECT_PATH, WORKER_INTERFACE, "Run");
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "ssuu", e->interface, e->member, (uint32_t) call->uid, (uint32_t) call->gid);
        if (r < 0)
                return r;

        r = workers_append_arguments(m, call);
        if (r < 0)
                return r;

        /* The deadline below ends the call; the bus timeout is only a
         * backstop in case the event source cannot be created. */
        r = sd_bus_call_async(w->bus, &w->slot, m, workers_on_reply, w, timeout + 5 * UINT64_C(1000000));
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(w->manager->event, &w->deadline_source, CLOCK_MONOTONIC, timeout, 0,
                                       workers_on_deadline, w);
        if (r < 0)
                log_warning("Failed to add the deadline of %s.%s(): %s", e->interface, e->member, strerror(-r));

        w->current = call;
        return 0;
}

static uint64_t workers_last_served(const Worker *w, uid_t uid) {
        for (size_t i = 0; i < w->n_served; i++)
                if (w->served[i].uid == uid)
                        return w->served[i].sequence;

        return 0;
}

static void workers_mark_served(Worker *w, uid_t uid) {
        size_t slot = w->n_served;

        w->sequence++;

        for (size_t i = 0; i < w->n_served; i++)
                if (w->served[i].uid == uid)
                        slot = i;

        /* When the table is full, the user served longest ago is forgotten
         * and counts as never served. */
        if (slot == WORKER_SERVED_MAX) {
                slot = 0;
                for (size_t i = 1; i < w->n_served; i++)
                        if (w->served[i].sequence < w->served[slot].sequence)
                                slot = i;
        } else if (slot == w->n_served)
                w->n_served++;

        w->served[slot] = (WorkerServed) { .uid = uid, .sequence = w->sequence };
}

/* Takes the next call off the queue: the oldest call of the user whose last
 * call started longest ago. One user's queued calls then cannot keep other
 * users waiting for more than one call each. */
static Call *workers_take_next(Worker *w) {
        Call *chosen = NULL, *chosen_previous = NULL, *previous = NULL;
        uint64_t chosen_served = UINT64_MAX;

        for (Call *c = w->queue_head; c; previous = c, c = c->queue_next) {
                uint64_t served = workers_last_served(w, c->uid);

                if (served < chosen_served) {
                        chosen = c;
                        chosen_previous = previous;
                        chosen_served = served;
                }
        }

        if (!chosen)
                return NULL;

        if (chosen_previous)
                chosen_previous->queue_next = chosen->queue_next;
        else
                w->queue_head = chosen->queue_next;
        if (w->queue_tail == chosen)
                w->queue_tail = chosen_previous;

        chosen->queue_next = NULL;
        chosen->queued = false;
        return chosen;
}

static void workers_dispatch(Worker *w) {
        while (!w->current && w->bus && w->queue_head) {
                Call *call = workers_take_next(w);
                int r;

                if (call->caller_gone) {
                        call_end_not_started(call);
                        continue;
                }

                workers_mark_served(w, call->uid);

                r = workers_send(w, call);
                if (r < 0) {
                        log_warning("Failed to send a call to worker %s: %s", w->context->name, strerror(-r));
                        call_end(call, "worker-failed", PRIVSEP_ERROR_WORKER_FAILED, "The call could not be passed to the worker process");
                }
        }
}

void workers_submit(Manager *m, Call *call) {
        Worker *w = workers_find(m, call->entry_point->context);

        if (!w) {
                call_end(call, "no-worker", PRIVSEP_ERROR_WORKER_FAILED, "No worker runs this method's privilege context");
                return;
        }

        call->queued = true;
        if (w->queue_tail)
                w->queue_tail->queue_next = call;
        else
                w->queue_head = call;
        w->queue_tail = call;

        workers_dispatch(w);
}

void workers_forget_call(Manager *m, Call *call) {
        for (size_t i = 0; i < m->n_workers; i++) {
                Worker *w = &m->workers[i];
                Call *previous = NULL;

                if (w->current == call) {
                        w->current = NULL;
                        w->slot = sd_bus_slot_unref(w->slot);
                        w->deadline_source = sd_event_source_disable_unref(w->deadline_source);
                }

                for (Call *c = w->queue_head; c; previous = c, c = c->queue_next)
                        if (c == call) {
                                if (previous)
                                        previous->queue_next = c->queue_next;
                                else
                                        w->queue_head = c->queue_next;
                                if (w->queue_tail == c)
                                        w->queue_tail = previous;
                                break;
                        }
        }
}

/* Takes ownership of both file descriptors, also on failure. */
static int workers_connect(Worker *w, int socket_fd, int pidfd, pid_t pid) {
        int r;

        if (w->bus)
                workers_disconnect(w, PRIVSEP_ERROR_WORKER_FAILED, "The worker process was replaced during the call");

        r = sd_bus_new(&w->bus);
        if (r < 0)
                goto fail_fds;

        r = sd_bus_set_fd(w->bus, socket_fd, socket_fd);
        if (r < 0)
                goto fail_fds;

        /* From here on the connection owns the socket. */
        socket_fd = -1;

        r = sd_bus_negotiate_fds(w->bus, false);
        if (r >= 0)
                r = sd_bus_start(w->bus);
        if (r >= 0)
                r = sd_bus_attach_event(w->bus, w->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_match_signal(w->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", workers_on_disconnected, w);
        if (r < 0)
                goto fail_fds;

        w->pidfd = pidfd;
        w->pid = pid;
        return 0;

fail_fds:
        /* Killed rather than left to exit cleanly on the closed socket, so
         * that the supervisor starts a new worker. */
        (void) pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        w->bus = sd_bus_flush_close_unref(w->bus);
        if (socket_fd >= 0)
                close(socket_fd);
        close(pidfd);
        return r;
}

static int workers_on_control(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        SupervisorMessage message;
        int fds[SUPERVISOR_MESSAGE_FDS], r;
        ssize_t n;

        n = supervisor_message_receive(fd, &message, fds);
        if (n == -EAGAIN || n == -EINTR)
                return 0;
        if (n < 0) {
                log_error("Failed to read the control socket: %s", strerror((int) -n));
                n = 0;
        }
        if (n == 0) {
                log_error("The supervisor is gone; shutting down.");
                sd_event_source_set_enabled(source, SD_EVENT_OFF);
                manager_begin_shutdown(m, "supervisor gone");
                return 0;
        }

        if ((size_t) n != sizeof(message) || fds[0] < 0 || fds[1] < 0 ||
            message.context_index >= PRIVILEGE_CONTEXTS_MAX || !workers_find(m, privilege_contexts[message.context_index])) {
                log_error("Ignoring a malformed message from the supervisor.");
                if (fds[0] >= 0)
                        close(fds[0]);
                if (fds[1] >= 0)
                        close(fds[1]);
                return 0;
        }

        Worker *w = workers_find(m, privilege_contexts[message.context_index]);

        r = workers_connect(w, fds[0], fds[1], (pid_t) message.pid);
        if (r < 0) {
                log_error("Failed to connect to worker %s: %s", w->context->name, strerror(-r));
                return 0;
        }

        log_message(SD_DEBUG, "Connected to worker %s (process %d).", w->context->name, (int) message.pid);
        workers_dispatch(w);
        return 0;
}

int workers_start(Manager *m, int control_fd) {
        for (size_t i = 0; i < PRIVILEGE_CONTEXTS_MAX; i++)
                m->workers[m->n_workers++] = (Worker) {
                        .manager = m,
                        .context = privilege_contexts[i],
                        .pidfd = -1,
                };

        return sd_event_add_io(m->event, &m->control_source, control_fd, EPOLLIN, workers_on_control, m);
}

unsigned workers_abort_waiting(Manager *m, const char *result, const char *error_name, const char *message) {
        unsigned n = 0;

        for (size_t i = 0; i < m->n_workers; i++) {
                Worker *w = &m->workers[i];

                while (w->queue_head) {
                        Call *call = workers_take_next(w);

                        call_end(call, result, error_name, message);
                        n++;
                }
        }

        return n;
}

void workers_stop(Manager *m) {
        for (size_t i = 0; i < m->n_workers; i++)
                workers_disconnect(&m->workers[i], PRIVSEP_ERROR_WORKER_FAILED, "The service is stopping");

        m->control_source = sd_event_source_disable_unref(m->control_source);
}
