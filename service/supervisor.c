/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor: the process systemd starts. It holds the union of the
 * contexts' capabilities (permitted, never effective) and CAP_SETPCAP,
 * parses no input from anyone, and only forks:
 *
 *   - the front process, which drops every capability and serves the bus;
 *   - one worker per privilege context, which keeps only that context's
 *     capabilities.
 *
 * A new worker's socket reaches the front over the control socket. A worker
 * that exits, for example because the front killed it at a deadline, is
 * started again. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "capability.h"
#include "context.h"
#include "log.h"
#include "supervisor.h"
#include "worker.h"

/* sendmsg() errors on the control socket that mean the front has exited. */
#define IN_SET_FRONT_GONE(r) ((r) == -EPIPE || (r) == -ECONNRESET || (r) == -ECONNREFUSED)

/* A worker that needs more restarts than this within the window is broken;
 * the whole service stops rather than loop. */
#define SUPERVISOR_RESTARTS_MAX 20
#define SUPERVISOR_RESTART_WINDOW_USEC (60 * UINT64_C(1000000))

typedef struct Supervisor Supervisor;

typedef struct SupervisorWorker {
        Supervisor *supervisor;
        size_t index;
        pid_t pid;
        unsigned restarts;
        uint64_t window_start_usec;
} SupervisorWorker;

struct Supervisor {
        Manager *manager;
        sd_event *event;
        int control_fd;
        pid_t front_pid;
        int front_status;
        bool front_exited;
        /* Set when a worker could not be kept running. */
        bool failed;
        SupervisorWorker workers[PRIVILEGE_CONTEXTS_MAX];
};

/* Closes every file descriptor above stderr except keep, which becomes 3. */
static int supervisor_close_other_fds(int keep) {
        if (keep != 3) {
                if (dup2(keep, 3) < 0)
                        return -errno;
        }

        if (close_range(4, ~0U, 0) < 0)
                return -errno;

        return 3;
}

/* The control socket's message buffer: one SupervisorMessage with room for
 * its file descriptors. */
typedef struct SupervisorMessageBuffer {
        union {
                struct cmsghdr header;
                char buffer[CMSG_SPACE(SUPERVISOR_MESSAGE_FDS * sizeof(int))];
        } control;
        struct iovec iov;
        struct msghdr msg;
} SupervisorMessageBuffer;

static void supervisor_message_buffer_init(SupervisorMessageBuffer *b, SupervisorMessage *message) {
        *b = (SupervisorMessageBuffer) {
                .iov = { .iov_base = message, .iov_len = sizeof(*message) },
        };
        b->msg = (struct msghdr) {
                .msg_iov = &b->iov,
                .msg_iovlen = 1,
                .msg_control = &b->control,
                .msg_controllen = sizeof(b->control),
        };
}

int supervisor_message_send(int fd, const SupervisorMessage *message, const int fds[SUPERVISOR_MESSAGE_FDS]) {
        SupervisorMessage copy = *message;
        SupervisorMessageBuffer b;
        struct cmsghdr *cmsg;

        supervisor_message_buffer_init(&b, &copy);

        cmsg = CMSG_FIRSTHDR(&b.msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(SUPERVISOR_MESSAGE_FDS * sizeof(int));
        memcpy(CMSG_DATA(cmsg), fds, SUPERVISOR_MESSAGE_FDS * sizeof(int));

        if (sendmsg(fd, &b.msg, MSG_NOSIGNAL) < 0)
                return -errno;

        return 0;
}

ssize_t supervisor_message_receive(int fd, SupervisorMessage *ret_message, int ret_fds[SUPERVISOR_MESSAGE_FDS]) {
        SupervisorMessageBuffer b;
        ssize_t n;

        for (size_t i = 0; i < SUPERVISOR_MESSAGE_FDS; i++)
                ret_fds[i] = -1;

        supervisor_message_buffer_init(&b, ret_message);

        n = recvmsg(fd, &b.msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return -errno;

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&b.msg); cmsg; cmsg = CMSG_NXTHDR(&b.msg, cmsg))
                if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
                    cmsg->cmsg_len == CMSG_LEN(SUPERVISOR_MESSAGE_FDS * sizeof(int)))
                        memcpy(ret_fds, CMSG_DATA(cmsg), SUPERVISOR_MESSAGE_FDS * sizeof(int));

        return n;
}

static int supervisor_send_worker(Supervisor *s, size_t index, int socket_fd, int pidfd, pid_t pid) {
        SupervisorMessage message = { .context_index = (uint32_t) index, .pid = (int32_t) pid };
        int fds[SUPERVISOR_MESSAGE_FDS] = { socket_fd, pidfd };

        return supervisor_message_send(s->control_fd, &message, fds);
}

static int supervisor_on_worker_exit(sd_event_source *source, const siginfo_t *info, void *userdata);

static int supervisor_spawn_worker(Supervisor *s, size_t index) {
        const PrivilegeContext *context = privilege_contexts[index];
        uint64_t mask = privilege_context_mask(context);
        int pair[2], pidfd, r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(-errno, "Failed to create the socket of worker %s", context->name);

        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pair[0]);
                close(pair[1]);
                return log_error_errno(r, "Failed to fork worker %s", context->name);
        }

        if (pid == 0) {
                int fd = supervisor_close_other_fds(pair[1]);
                if (fd < 0)
                        _exit(EXIT_FAILURE);

                r = capability_confine(mask, mask);
                if (r < 0) {
                        log_error_errno(r, "Worker %s: failed to confine its capabilities", context->name);
                        _exit(EXIT_FAILURE);
                }

                _exit(worker_main(context, fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }

        close(pair[1]);

        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                close(pair[0]);
                (void) kill(pid, SIGKILL);
                return log_error_errno(r, "Failed to open a pidfd for worker %s", context->name);
        }

        s->workers[index].pid = pid;

        r = sd_event_add_child(s->event, NULL, pid, WEXITED, supervisor_on_worker_exit, &s->workers[index]);
        if (r < 0) {
                close(pair[0]);
                close(pidfd);
                (void) kill(pid, SIGKILL);
                return log_error_errno(r, "Failed to watch worker %s", context->name);
        }

        r = supervisor_send_worker(s, index, pair[0], pidfd, pid);
        close(pair[0]);
        close(pidfd);
        if (IN_SET_FRONT_GONE(r)) {
                /* The front exited, for example at the end of a stop, while
                 * this worker was being started, so the worker has no use. */
                (void) kill(pid, SIGKILL);
                log_message(SD_DEBUG, "The front process is gone; worker %s is not needed.", context->name);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to hand worker %s to the front process", context->name);

        log_message(SD_DEBUG, "Worker %s started as process %d.", context->name, (int) pid);
        return 0;
}

static int supervisor_on_worker_exit(sd_event_source *source, const siginfo_t *info, void *userdata) {
        SupervisorWorker *w = userdata;
        Supervisor *s = w->supervisor;
        const char *name = privilege_contexts[w->index]->name;
        uint64_t now = 0;
        int r;

        if (info->si_code == CLD_EXITED)
                log_message(info->si_status == 0 ? SD_INFO : SD_WARNING, "Worker %s (process %d) exited with status %d.",
                            name, (int) info->si_pid, info->si_status);
        else
                log_warning("Worker %s (process %d) was killed by signal %s.", name, (int) info->si_pid,
                            strsignal(info->si_status));

        w->pid = 0;
        sd_event_source_disable_unref(source);

        /* A worker exits cleanly only when the front closed its socket
         * without killing it: when the front exits or stops the service.
         * A worker that the front drops while it goes on is killed. */
        if (s->front_exited || (info->si_code == CLD_EXITED && info->si_status == 0))
                return 0;

        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (now - w->window_start_usec > SUPERVISOR_RESTART_WINDOW_USEC) {
                w->window_start_usec = now;
                w->restarts = 0;
        }
        if (++w->restarts > SUPERVISOR_RESTARTS_MAX) {
                log_error("Worker %s exited %u times within %llu s; stopping the service.", name, w->restarts - 1,
                          (unsigned long long) (SUPERVISOR_RESTART_WINDOW_USEC / 1000000));
                s->failed = true;
                (void) kill(s->front_pid, SIGTERM);
                return 0;
        }

        r = supervisor_spawn_worker(s, w->index);
        if (r < 0) {
                s->failed = true;
                (void) kill(s->front_pid, SIGTERM);
        }

        return 0;
}

static int supervisor_on_front_exit(sd_event_source *source, const siginfo_t *info, void *userdata) {
        Supervisor *s = userdata;

        s->front_exited = true;
        s->front_status = info->si_code == CLD_EXITED ? info->si_status : 128 + info->si_status;
        if (info->si_code != CLD_EXITED)
                log_error("The front process was killed by signal %s.", strsignal(info->si_status));

        /* The workers see their sockets close with the front and exit. */
        return sd_event_exit(s->event, 0);
}

static int supervisor_on_signal(sd_event_source *source, const struct signalfd_siginfo *info, void *userdata) {
        Supervisor *s = userdata;

        /* The front finishes the calls in flight and exits; the supervisor
         * follows it. */
        if (s->front_pid > 0)
                (void) kill(s->front_pid, SIGTERM);

        return 0;
}

static pid_t supervisor_spawn_front(Supervisor *s, int front_fd) {
        pid_t pid = fork();
        int r;

        if (pid != 0)
                return pid < 0 ? -errno : pid;

        int fd = supervisor_close_other_fds(front_fd);
        if (fd < 0)
                _exit(EXIT_FAILURE);

        /* The front parses untrusted messages, so it keeps no capability
         * at all, not even in its bounding set. */
        r = capability_confine(0, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to drop the front process's capabilities");
                _exit(EXIT_FAILURE);
        }

        _exit(manager_main(s->manager, fd) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

int supervisor_run(Manager *m) {
        Supervisor s = { .manager = m, .control_fd = -1 };
        int pair[2], r;
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals");

        /* SOCK_SEQPACKET keeps each message with its file descriptors. */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_error_errno(-errno, "Failed to create the control socket");
        s.control_fd = pair[0];

        /* The front is forked before the event loop exists, so that it
         * starts from a clean slate. */
        s.front_pid = supervisor_spawn_front(&s, pair[1]);
        close(pair[1]);
        if (s.front_pid < 0) {
                close(s.control_fd);
                return log_error_errno(s.front_pid, "Failed to fork the front process");
        }

        r = sd_event_new(&s.event);
        if (r < 0)
                goto finish;

        r = sd_event_add_signal(s.event, NULL, SIGTERM, supervisor_on_signal, &s);
        if (r >= 0)
                r = sd_event_add_signal(s.event, NULL, SIGINT, supervisor_on_signal, &s);
        if (r >= 0)
                r = sd_event_add_child(s.event, NULL, s.front_pid, WEXITED, supervisor_on_front_exit, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the supervisor's event loop");
                goto finish;
        }

        for (size_t i = 0; i < PRIVILEGE_CONTEXTS_MAX; i++) {
                s.workers[i] = (SupervisorWorker) { .supervisor = &s, .index = i };
                r = supervisor_spawn_worker(&s, i);
                if (r < 0)
                        goto finish;
        }

        r = sd_event_loop(s.event);
        if (r < 0)
                log_error_errno(r, "Supervisor event loop failed");
        else if (s.front_status != 0 || s.failed)
                r = -ECHILD;

finish:
        if (!s.front_exited && s.front_pid > 0) {
                (void) kill(s.front_pid, SIGTERM);
                (void) waitpid(s.front_pid, NULL, 0);
        }
        close(s.control_fd);
        sd_event_unref(s.event);
        return r;
}
