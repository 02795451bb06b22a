/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* privsepd's authorization path against a scripted polkit authority.
 *
 * A GtDBusQueue owns org.freedesktop.PolicyKit1 on a private bus and replies
 * to each CheckAuthorization as the test scripts it: no reply for a while, a
 * D-Bus error, a malformed reply, a challenge, yes or no. A real polkitd
 * cannot be made to send these replies on demand. The real privsepd runs as
 * a child of this program with that bus as its system bus. Callers are child
 * processes running as uid 65534, because privsepd skips polkit for uid 0.
 *
 * The program moves itself into new mount, UTS and network namespaces before
 * it starts any test, so the hostname, the tmpfs mounts and the loopback link
 * that privsepd may change belong to this program alone. Each test gets a
 * fresh tmpfs on /run (and so a fresh /run/privsep), a fresh bus, a fresh
 * privsepd, a known hostname and a loopback link reset to its defaults.
 *
 * Run as root: `test-polkit-scripted --tap` with PRIVSEPD set to the daemon
 * binary. GTestDBus starts the bus through G_TEST_DBUS_DAEMON, which defaults
 * to dbus-daemon-any-user in this folder: a plain dbus-daemon would admit
 * only its own uid, and the uid 65534 callers could not connect.
 */

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <libglib-testing/dbus-queue.h>

#define PRIVSEP_BUS_NAME "org.privsep.Privsep1"
#define PRIVSEP_OBJECT_PATH "/org/privsep/Privsep1"
#define PRIVSEP_MANAGER_INTERFACE "org.privsep.Privsep1.Manager"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_OBJECT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
/* CheckAuthorization flag AllowUserInteraction (polkit's D-Bus API). */
#define POLKIT_FLAG_ALLOW_USER_INTERACTION 1u

#define DBUS_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define DBUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED \
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

/* User nobody and group nogroup on Debian (base-passwd). */
#define CALLER_UID 65534
#define CALLER_GID 65534

#define INITIAL_HOSTNAME "scripted-initial"
#define CHANGED_HOSTNAME "scripted-changed"
#define MOUNT_NAME "scripted"
#define MOUNT_DIR "/run/privsep/mounts/" MOUNT_NAME
#define LINK_NAME "lo"
/* The MTU of the loopback link in a new network namespace (Linux 6.18 here). */
#define LINK_DEFAULT_MTU 65536
#define LINK_CHANGED_MTU 1280

/* Bound on every wait for privsepd, the bus or a caller. */
#define WAIT_TIMEOUT_MSEC 10000
/* Time privsepd gets to act on a polkit reply that the test cannot observe
 * directly, before the test looks for a side effect that must not exist. */
#define SETTLE_MSEC 300
/* The callers' own method call timeout: longer than every wait above. */
#define CALLER_CALL_TIMEOUT_MSEC 30000

static const char polkit_authority_xml[] =
        "<node>"
        "  <interface name='" POLKIT_INTERFACE "'>"
        "    <method name='CheckAuthorization'>"
        "      <arg type='(sa{sv})' name='subject' direction='in'/>"
        "      <arg type='s' name='action_id' direction='in'/>"
        "      <arg type='a{ss}' name='details' direction='in'/>"
        "      <arg type='u' name='flags' direction='in'/>"
        "      <arg type='s' name='cancellation_id' direction='in'/>"
        "      <arg type='(bba{ss})' name='result' direction='out'/>"
        "    </method>"
        "    <method name='CancelCheckAuthorization'>"
        "      <arg type='s' name='cancellation_id' direction='in'/>"
        "    </method>"
        "  </interface>"
        "</node>";

static GDBusNodeInfo *polkit_node_info;
static const char *privsepd_path;
static char *self_exe_path;

/* What a method changes when it runs, so a test can tell whether it ran. */
typedef enum {
        EFFECT_HOSTNAME,   /* the hostname becomes CHANGED_HOSTNAME */
        EFFECT_MOUNT,      /* a tmpfs appears at MOUNT_DIR */
        EFFECT_UNMOUNT,    /* the tmpfs that the test mounted first at MOUNT_DIR goes away */
        EFFECT_LINK_MTU,   /* LINK_NAME gets LINK_CHANGED_MTU */
        EFFECT_LINK_UP,    /* LINK_NAME comes up */
} Effect;

/* One privsepd method call and the polkit request it must cause. */
typedef struct {
        const char *interface;
        const char *member;
        const char *parameters;   /* GVariant text format */
        const char *action_id;
        const char *detail_key;   /* the validated argument in the polkit details */
        const char *detail_value;
        Effect effect;
} MethodCall;

static const MethodCall hostname_set = {
        "org.privsep.Privsep1.Hostname", "Set", "('" CHANGED_HOSTNAME "',)",
        "org.privsep.hostname.set", "hostname", CHANGED_HOSTNAME, EFFECT_HOSTNAME,
};

static const MethodCall mount_tmpfs = {
        "org.privsep.Privsep1.Mount", "MountTmpfs", "('" MOUNT_NAME "', @t 1048576)",
        "org.privsep.mount.mount-tmpfs", "mount", MOUNT_NAME, EFFECT_MOUNT,
};

static const MethodCall mount_unmount = {
        "org.privsep.Privsep1.Mount", "Unmount", "('" MOUNT_NAME "',)",
        "org.privsep.mount.unmount", "mount", MOUNT_NAME, EFFECT_UNMOUNT,
};

static const MethodCall link_set_mtu = {
        "org.privsep.Privsep1.Link", "SetMtu", "('" LINK_NAME "', @u 1280)",
        "org.privsep.link.set-mtu", "interface", LINK_NAME, EFFECT_LINK_MTU,
};

static const MethodCall link_set_up = {
        "org.privsep.Privsep1.Link", "SetUp", "('" LINK_NAME "', true)",
        "org.privsep.link.set-up", "interface", LINK_NAME, EFFECT_LINK_UP,
};

typedef struct {
        GtDBusQueue *queue;
        GDBusConnection *bus;        /* the queue's client connection (uid 0), borrowed */
        char *address;
        guint polkit_name_id;
        guint polkit_object_id;

        GSubprocess *daemon;
        char *daemon_unique_name;
        gboolean daemon_exited;

        gboolean run_mounted;
        /* Set at the end of a successful setup: a test body runs only then. */
        gboolean ready;
} Fixture;

/* Fails the current test with a message. GLib's TAP output shows only the
 * last failure of a test on its "not ok" line, so every failure is also
 * printed as a TAP comment. */
static void test_fail(const char *format, ...) G_GNUC_PRINTF(1, 2);

static void test_fail(const char *format, ...) {
        g_autofree char *message = NULL;
        va_list ap;

        va_start(ap, format);
        message = g_strdup_vprintf(format, ap);
        va_end(ap);

        g_test_message("FAIL: %s", message);
        g_test_fail_printf("%s", message);
}

/* --- Waiting on the main context ----------------------------------------- */

static gboolean flag_set_cb(gpointer user_data) {
        gboolean *flag = user_data;

        *flag = TRUE;
        return G_SOURCE_REMOVE;
}

/* Iterates the default main context until *done is TRUE or timeout_msec
 * passes. Returns *done. */
static gboolean wait_for_flag(const gboolean *done, guint timeout_msec) {
        gboolean timed_out = FALSE;
        guint timeout_id;

        timeout_id = g_timeout_add(timeout_msec, flag_set_cb, &timed_out);
        while (!*done && !timed_out)
                g_main_context_iteration(NULL, TRUE);
        if (!timed_out)
                g_source_remove(timeout_id);

        return *done;
}

static void wait_msec(guint msec) {
        gboolean never = FALSE;

        wait_for_flag(&never, msec);
}

/* --- Bus helpers ---------------------------------------------------------- */

/* Returns the unique name that owns name, or NULL when it has no owner. */
static char *bus_get_name_owner(GDBusConnection *bus, const char *name) {
        g_autoptr(GVariant) reply = NULL;
        char *owner = NULL;

        reply = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "GetNameOwner",
                                            g_variant_new("(s)", name), G_VARIANT_TYPE("(s)"),
                                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
        if (reply)
                g_variant_get(reply, "(s)", &owner);

        return owner;
}

/* Returns the pid of the process behind a unique name, or 0 when the bus
 * does not know the name. */
static guint32 bus_get_name_pid(GDBusConnection *bus, const char *name) {
        g_autoptr(GVariant) reply = NULL;
        guint32 pid = 0;

        reply = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                            g_variant_new("(s)", name), G_VARIANT_TYPE("(u)"),
                                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
        if (reply)
                g_variant_get(reply, "(u)", &pid);

        return pid;
}

/* Polls until name has an owner (owned TRUE) or none (owned FALSE). Stops
 * early when *abort_flag becomes TRUE. Returns whether the state was reached. */
static gboolean bus_wait_for_name(GDBusConnection *bus, const char *name, gboolean owned,
                                  const gboolean *abort_flag) {
        gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_MSEC * G_TIME_SPAN_MILLISECOND;

        while (g_get_monotonic_time() < deadline) {
                g_autofree char *owner = bus_get_name_owner(bus, name);

                if ((owner != NULL) == owned)
                        return TRUE;
                if (abort_flag && *abort_flag)
                        return FALSE;

                wait_msec(20);
        }

        return FALSE;
}

/* --- Side effects, read in this program's own namespaces ---------------- */

static char *hostname_get(void) {
        char buffer[HOST_NAME_MAX + 1] = {};

        g_assert_no_errno(gethostname(buffer, sizeof(buffer) - 1));
        return g_strdup(buffer);
}

/* Returns the filesystem type mounted at path, or NULL when path is no
 * mount point. */
static char *mount_get_fstype(const char *path) {
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents("/proc/self/mountinfo", &contents, NULL, &error)) {
                test_fail("Failed to read /proc/self/mountinfo: %s", error->message);
                return NULL;
        }

        lines = g_strsplit(contents, "\n", -1);
        for (char **line = lines; *line; line++) {
                g_auto(GStrv) fields = g_strsplit(*line, " ", -1);
                guint n_fields = g_strv_length(fields);

                /* Field 5 is the mount point, the field after " - " the type. */
                if (n_fields < 5 || !g_str_equal(fields[4], path))
                        continue;

                for (guint i = 5; i + 1 < n_fields; i++)
                        if (g_str_equal(fields[i], "-"))
                                return g_strdup(fields[i + 1]);
        }

        return NULL;
}

static int link_ioctl(unsigned long request, struct ifreq *ifr) {
        int fd, r;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        g_strlcpy(ifr->ifr_name, LINK_NAME, sizeof(ifr->ifr_name));
        r = ioctl(fd, request, ifr) < 0 ? -errno : 0;
        close(fd);

        return r;
}

static int link_get_mtu(void) {
        struct ifreq ifr = {};

        g_assert_no_errno(link_ioctl(SIOCGIFMTU, &ifr));
        return ifr.ifr_mtu;
}

static gboolean link_is_up(void) {
        struct ifreq ifr = {};

        g_assert_no_errno(link_ioctl(SIOCGIFFLAGS, &ifr));
        return (ifr.ifr_flags & IFF_UP) != 0;
}

static gboolean link_reset(void) {
        struct ifreq ifr = {};

        ifr.ifr_mtu = LINK_DEFAULT_MTU;
        if (link_ioctl(SIOCSIFMTU, &ifr) < 0)
                return FALSE;

        if (link_ioctl(SIOCGIFFLAGS, &ifr) < 0)
                return FALSE;
        ifr.ifr_flags &= ~IFF_UP;
        return link_ioctl(SIOCSIFFLAGS, &ifr) >= 0;
}

/* Whether the side effect of m exists now. */
static gboolean effect_present(const MethodCall *m) {
        g_autofree char *hostname = NULL;
        g_autofree char *fstype = NULL;

        switch (m->effect) {
        case EFFECT_HOSTNAME:
                hostname = hostname_get();
                return g_str_equal(hostname, CHANGED_HOSTNAME);
        case EFFECT_MOUNT:
                fstype = mount_get_fstype(MOUNT_DIR);
                return g_strcmp0(fstype, "tmpfs") == 0;
        case EFFECT_UNMOUNT:
                fstype = mount_get_fstype(MOUNT_DIR);
                return fstype == NULL;
        case EFFECT_LINK_MTU:
                return link_get_mtu() == LINK_CHANGED_MTU;
        case EFFECT_LINK_UP:
                return link_is_up();
        }

        g_assert_not_reached();
}

static void assert_effect(const MethodCall *m, gboolean expected) {
        g_autofree char *hostname = NULL;
        g_autofree char *fstype = NULL;

        if (effect_present(m) == expected)
                return;

        hostname = hostname_get();
        fstype = mount_get_fstype(MOUNT_DIR);
        test_fail("%s.%s: side effect %s, expected it %s (hostname '%s', %s: %s, "
                  "%s: MTU %d, %s)",
                  m->interface, m->member,
                  expected ? "missing" : "present",
                  expected ? "present" : "absent",
                  hostname, MOUNT_DIR, fstype ? fstype : "not mounted",
                  LINK_NAME, link_get_mtu(), link_is_up() ? "up" : "down");
}

/* --- The callers: this program again, as uid 65534 ---------------------- */

typedef struct {
        const MethodCall *method;
        GSubprocess *process;
        pid_t pid;
        char *output;
        gboolean finished;
} Caller;

/* Runs between fork and exec in the caller's process, so it uses only
 * async-signal-safe calls. */
static void caller_child_setup(gpointer user_data) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
            setgroups(0, NULL) < 0 ||
            setresgid(CALLER_GID, CALLER_GID, CALLER_GID) < 0 ||
            setresuid(CALLER_UID, CALLER_UID, CALLER_UID) < 0)
                _exit(127);
}

static void caller_communicate_cb(GObject *source, GAsyncResult *result, gpointer user_data) {
        Caller *caller = user_data;
        g_autoptr(GError) error = NULL;

        if (!g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &caller->output,
                                                  NULL, &error))
                caller->output = g_strdup_printf("local-error\n%s\n", error->message);
        caller->finished = TRUE;
}

static void caller_free(Caller *caller) {
        if (!caller)
                return;

        if (!caller->finished) {
                g_subprocess_force_exit(caller->process);
                /* The pending communicate callback writes into caller:
                 * leak it rather than free it under that callback. */
                if (!wait_for_flag(&caller->finished, WAIT_TIMEOUT_MSEC))
                        return;
        }

        g_clear_object(&caller->process);
        g_free(caller->output);
        g_free(caller);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Caller, caller_free)

/* Starts a process that calls m on privsepd as uid CALLER_UID, with the
 * ALLOW_INTERACTIVE_AUTHORIZATION message flag when interactive is TRUE.
 * Returns NULL and fails the test when the process cannot start. */
static Caller *caller_start(Fixture *f, const MethodCall *m, gboolean interactive) {
        g_autoptr(GSubprocessLauncher) launcher = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(Caller) caller = g_new0(Caller, 1);

        caller->method = m;

        launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_subprocess_launcher_set_child_setup(launcher, caller_child_setup, NULL, NULL);

        caller->process = g_subprocess_launcher_spawn(launcher, &error, self_exe_path, "--caller",
                                                      f->address, m->interface, m->member,
                                                      m->parameters,
                                                      interactive ? "interactive" : "non-interactive",
                                                      NULL);
        if (!caller->process) {
                caller->finished = TRUE;
                test_fail("Failed to start a caller for %s.%s: %s",
                          m->interface, m->member, error->message);
                return NULL;
        }

        caller->pid = (pid_t) g_ascii_strtoll(g_subprocess_get_identifier(caller->process), NULL, 10);
        g_subprocess_communicate_utf8_async(caller->process, NULL, NULL, caller_communicate_cb, caller);

        return g_steal_pointer(&caller);
}

/* Waits for the caller's call to return and checks its result: "ok" or the
 * name of the D-Bus error that it got. */
static void caller_assert_result(Caller *caller, const char *expected) {
        g_autofree char *result = NULL;
        const char *newline;

        if (!wait_for_flag(&caller->finished, WAIT_TIMEOUT_MSEC)) {
                test_fail("%s.%s as uid %d: no reply within %d ms, expected %s",
                          caller->method->interface, caller->method->member,
                          CALLER_UID, WAIT_TIMEOUT_MSEC, expected);
                return;
        }

        newline = strchr(caller->output, '\n');
        result = newline ? g_strndup(caller->output, newline - caller->output) : g_strdup(caller->output);

        if (!g_str_equal(result, expected))
                test_fail("%s.%s as uid %d returned %s, expected %s (caller output: %s)",
                          caller->method->interface, caller->method->member,
                          CALLER_UID, result, expected, g_strstrip(caller->output));
}

/* Kills the caller, which closes its bus connection without a goodbye. */
static void caller_kill(Caller *caller) {
        g_subprocess_force_exit(caller->process);
        if (!wait_for_flag(&caller->finished, WAIT_TIMEOUT_MSEC))
                test_fail("Caller pid %d did not exit after SIGKILL", (int) caller->pid);
}

/* The caller's side, in the child process: call the method and print
 * "ok", or the error name and message, one per line. */
static int caller_main(int argc, char *argv[]) {
        g_autoptr(GDBusConnection) bus = NULL;
        g_autoptr(GVariant) parameters = NULL;
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;
        GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NO_AUTO_START;

        if (argc != 7) {
                fprintf(stderr, "Usage: %s --caller ADDRESS INTERFACE MEMBER PARAMETERS interactive|non-interactive\n",
                        argv[0]);
                return 2;
        }

        if (getuid() == 0 || geteuid() == 0) {
                printf("local-error\nthe caller runs as uid 0, so privsepd would skip polkit\n");
                return 1;
        }

        if (g_str_equal(argv[6], "interactive"))
                flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;

        parameters = g_variant_parse(NULL, argv[5], NULL, NULL, &error);
        if (!parameters) {
                printf("local-error\ninvalid parameters '%s': %s\n", argv[5], error->message);
                return 2;
        }

        bus = g_dbus_connection_new_for_address_sync(argv[2],
                                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                     NULL, NULL, &error);
        if (!bus) {
                printf("local-error\nfailed to connect to %s: %s\n", argv[2], error->message);
                return 1;
        }

        reply = g_dbus_connection_call_sync(bus, PRIVSEP_BUS_NAME, PRIVSEP_OBJECT_PATH, argv[3], argv[4],
                                            g_steal_pointer(&parameters), NULL, flags,
                                            CALLER_CALL_TIMEOUT_MSEC, NULL, &error);
        if (reply) {
                printf("ok\n");
                return 0;
        }

        if (g_dbus_error_is_remote_error(error)) {
                g_autofree char *name = g_dbus_error_get_remote_error(error);

                g_dbus_error_strip_remote_error(error);
                printf("%s\n%s\n", name, error->message);
        } else
                printf("local-error\n%s\n", error->message);

        return 0;
}

/* --- The scripted polkit authority --------------------------------------- */

typedef struct {
        GDBusMethodInvocation *invocation;   /* NULL once replied to */
        GVariant *parameters;
        const char *subject_kind;            /* the strings point into parameters */
        const char *subject_name;            /* NULL when the subject has no "name" */
        const char *action_id;
        GVariant *details;
        guint32 flags;
} PolkitCheck;

/* Replies "not authorized" to a check that a test left without a reply. */
static void polkit_check_free(PolkitCheck *check) {
        if (!check)
                return;

        if (check->invocation)
                g_dbus_method_invocation_return_value(g_steal_pointer(&check->invocation),
                                                      g_variant_new("((bba{ss}))", FALSE, FALSE, NULL));
        g_clear_pointer(&check->details, g_variant_unref);
        g_clear_pointer(&check->parameters, g_variant_unref);
        g_free(check);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PolkitCheck, polkit_check_free)

/* Pops the next call to the scripted authority without blocking, or
 * returns NULL. gt_dbus_queue_try_pop_message() in libglib-testing 0.1.1
 * never pops anything, so this checks the queue length and then uses the
 * blocking pop, which returns at once. Only this thread pops messages. */
static GDBusMethodInvocation *polkit_try_pop(Fixture *f) {
        GDBusMethodInvocation *invocation = NULL;

        if (gt_dbus_queue_get_n_messages(f->queue) == 0)
                return NULL;

        gt_dbus_queue_pop_message(f->queue, &invocation);
        return invocation;
}

/* Pops the next call to the scripted authority within timeout_msec, or
 * returns NULL. */
static GDBusMethodInvocation *polkit_pop(Fixture *f, guint timeout_msec) {
        GDBusMethodInvocation *invocation = NULL;
        gboolean timed_out = FALSE;
        guint timeout_id;

        timeout_id = g_timeout_add(timeout_msec, flag_set_cb, &timed_out);
        while (!(invocation = polkit_try_pop(f)) && !timed_out)
                g_main_context_iteration(NULL, TRUE);
        if (!timed_out)
                g_source_remove(timeout_id);

        return invocation;
}

static void polkit_reply_cancel(GDBusMethodInvocation *invocation) {
        const char *cancellation_id;

        g_variant_get(g_dbus_method_invocation_get_parameters(invocation), "(&s)", &cancellation_id);
        g_test_message("privsepd cancelled polkit check '%s'", cancellation_id);
        g_dbus_method_invocation_return_value(invocation, NULL);
}

/* Waits for privsepd's next CheckAuthorization and returns it without a
 * reply. CancelCheckAuthorization calls on the way get an empty reply.
 * Returns NULL and fails the test when no check arrives in time. */
static PolkitCheck *polkit_expect_check(Fixture *f, const MethodCall *m) {
        g_autoptr(PolkitCheck) check = g_new0(PolkitCheck, 1);
        g_autoptr(GVariant) subject_details = NULL;

        for (;;) {
                GDBusMethodInvocation *invocation = polkit_pop(f, WAIT_TIMEOUT_MSEC);

                if (!invocation) {
                        /* GDBus rejects a call whose signature does not match
                         * polkit_authority_xml before it reaches the queue. */
                        test_fail("%s.%s: privsepd sent no CheckAuthorization (sa{sv})sa{ss}us "
                                  "to %s within %d ms",
                                  m->interface, m->member, POLKIT_OBJECT_PATH, WAIT_TIMEOUT_MSEC);
                        return NULL;
                }

                if (g_str_equal(g_dbus_method_invocation_get_method_name(invocation), "CheckAuthorization")) {
                        check->invocation = invocation;
                        break;
                }

                polkit_reply_cancel(invocation);
        }

        check->parameters = g_variant_ref(g_dbus_method_invocation_get_parameters(check->invocation));
        g_variant_get(check->parameters, "((&s@a{sv})&s@a{ss}u&s)",
                      &check->subject_kind, &subject_details, &check->action_id,
                      &check->details, &check->flags, NULL);
        if (!g_variant_lookup(subject_details, "name", "&s", &check->subject_name))
                check->subject_name = NULL;

        if (g_strcmp0(g_dbus_method_invocation_get_sender(check->invocation), f->daemon_unique_name) != 0)
                test_fail("CheckAuthorization came from %s, not from privsepd (%s)",
                          g_dbus_method_invocation_get_sender(check->invocation),
                          f->daemon_unique_name);

        return g_steal_pointer(&check);
}

/* Checks that a CheckAuthorization is the one that caller's call of m must
 * cause: subject, action, details and flags. Returns whether the subject is
 * the caller's bus name. */
static gboolean polkit_check_assert(Fixture *f, const PolkitCheck *check, const Caller *caller,
                                    const MethodCall *m, guint32 expected_flags) {
        g_autofree char *details_text = g_variant_print(check->details, FALSE);
        const char *value = NULL, *message = NULL;
        gboolean subject_is_caller = FALSE;
        guint32 subject_pid;

        if (!g_str_equal(check->subject_kind, "system-bus-name"))
                test_fail("%s.%s: polkit subject kind '%s', expected 'system-bus-name'",
                          m->interface, m->member, check->subject_kind);

        if (!check->subject_name)
                test_fail("%s.%s: polkit subject has no \"name\" of type s",
                          m->interface, m->member);
        else {
                subject_pid = bus_get_name_pid(f->bus, check->subject_name);
                subject_is_caller = subject_pid == (guint32) caller->pid;
                if (!subject_is_caller)
                        test_fail("%s.%s: polkit subject %s belongs to pid %u, expected the caller, pid %d",
                                  m->interface, m->member, check->subject_name,
                                  subject_pid, (int) caller->pid);
        }

        if (!g_str_equal(check->action_id, m->action_id))
                test_fail("%s.%s: polkit action '%s', expected '%s'",
                          m->interface, m->member, check->action_id, m->action_id);

        if (!g_variant_lookup(check->details, m->detail_key, "&s", &value) ||
            !g_str_equal(value, m->detail_value))
                test_fail("%s.%s: polkit details %s, expected '%s': '%s' in them",
                          m->interface, m->member, details_text, m->detail_key, m->detail_value);

        if (!g_variant_lookup(check->details, "polkit.message", "&s", &message) || message[0] == '\0')
                test_fail("%s.%s: polkit details %s, expected a non-empty 'polkit.message'",
                          m->interface, m->member, details_text);

        if (check->flags != expected_flags)
                test_fail("%s.%s: polkit flags %u, expected %u",
                          m->interface, m->member, check->flags, expected_flags);

        return subject_is_caller;
}

static void polkit_check_reply(PolkitCheck *check, gboolean is_authorized, gboolean is_challenge) {
        g_dbus_method_invocation_return_value(g_steal_pointer(&check->invocation),
                                              g_variant_new("((bba{ss}))", is_authorized, is_challenge, NULL));
}

static void polkit_check_reply_error(PolkitCheck *check) {
        g_dbus_method_invocation_return_dbus_error(g_steal_pointer(&check->invocation),
                                                   "org.freedesktop.PolicyKit1.Error.Failed",
                                                   "Authorization failed by the test script");
}

/* Replies "(s)" where CheckAuthorization returns (bba{ss}). GDBus logs a
 * warning instead of sending a reply of the wrong type through the
 * invocation, so this builds the message itself. */
static void polkit_check_reply_malformed(PolkitCheck *check) {
        g_autoptr(GDBusMethodInvocation) invocation = g_steal_pointer(&check->invocation);
        g_autoptr(GDBusMessage) reply = NULL;
        g_autoptr(GError) error = NULL;

        reply = g_dbus_message_new_method_reply(g_dbus_method_invocation_get_message(invocation));
        g_dbus_message_set_body(reply, g_variant_new("(s)", "yes"));

        if (!g_dbus_connection_send_message(g_dbus_method_invocation_get_connection(invocation), reply,
                                            G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, &error))
                test_fail("Failed to send the malformed polkit reply: %s", error->message);
}

/* Replies to the CancelCheckAuthorization calls in the queue and fails the
 * test for any further CheckAuthorization. */
static void polkit_assert_no_checks(Fixture *f) {
        GDBusMethodInvocation *invocation;

        while ((invocation = polkit_try_pop(f))) {
                if (g_str_equal(g_dbus_method_invocation_get_method_name(invocation), "CheckAuthorization")) {
                        g_autofree char *text = g_variant_print(g_dbus_method_invocation_get_parameters(invocation), FALSE);

                        test_fail("Unexpected CheckAuthorization %s", text);
                        g_dbus_method_invocation_return_value(invocation,
                                                              g_variant_new("((bba{ss}))", FALSE, FALSE, NULL));
                } else
                        polkit_reply_cancel(invocation);
        }
}

/* --- privsepd -------------------------------------------------------------- */

static void daemon_child_setup(gpointer user_data) {
        /* privsepd runs as root with capabilities: never leave it behind. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(127);
}

static void daemon_wait_cb(GObject *source, GAsyncResult *result, gpointer user_data) {
        Fixture *f = user_data;

        g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
        f->daemon_exited = TRUE;
}

static gboolean daemon_start(Fixture *f) {
        g_autoptr(GSubprocessLauncher) launcher = NULL;
        g_autoptr(GError) error = NULL;
        int stdout_fd;

        launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
        g_subprocess_launcher_setenv(launcher, "DBUS_SYSTEM_BUS_ADDRESS", f->address, TRUE);
        g_subprocess_launcher_unsetenv(launcher, "DBUS_SESSION_BUS_ADDRESS");
        g_subprocess_launcher_set_child_setup(launcher, daemon_child_setup, NULL, NULL);

        /* Standard output carries TAP: privsepd writes to standard error instead. */
        stdout_fd = dup(STDERR_FILENO);
        g_assert_no_errno(stdout_fd);
        g_subprocess_launcher_take_stdout_fd(launcher, stdout_fd);

        f->daemon = g_subprocess_launcher_spawn(launcher, &error, privsepd_path, "--idle-timeout=0", NULL);
        if (!f->daemon) {
                test_fail("Failed to start %s: %s", privsepd_path, error->message);
                return FALSE;
        }
        g_subprocess_wait_async(f->daemon, NULL, daemon_wait_cb, f);

        if (!bus_wait_for_name(f->bus, PRIVSEP_BUS_NAME, TRUE, &f->daemon_exited)) {
                test_fail("privsepd did not own %s within %d ms (%s)", PRIVSEP_BUS_NAME,
                          WAIT_TIMEOUT_MSEC, f->daemon_exited ? "it exited" : "it still runs");
                return FALSE;
        }

        f->daemon_unique_name = bus_get_name_owner(f->bus, PRIVSEP_BUS_NAME);
        return f->daemon_unique_name != NULL;
}

static void daemon_stop(Fixture *f) {
        if (!f->daemon)
                return;

        if (f->daemon_exited)
                test_fail("privsepd exited during the test with status %d",
                          g_subprocess_get_status(f->daemon));
        else {
                g_subprocess_send_signal(f->daemon, SIGTERM);
                if (!wait_for_flag(&f->daemon_exited, WAIT_TIMEOUT_MSEC)) {
                        test_fail("privsepd did not exit within %d ms of SIGTERM", WAIT_TIMEOUT_MSEC);
                        g_subprocess_force_exit(f->daemon);
                        wait_for_flag(&f->daemon_exited, WAIT_TIMEOUT_MSEC);
                }
        }

        g_clear_object(&f->daemon);
}

/* Gives privsepd SETTLE_MSEC to act on what it received, then makes a call
 * as uid 0 to check that it still serves requests. A method that privsepd
 * would run after a polkit reply has run by then, unless privsepd makes
 * further round trips that take longer than SETTLE_MSEC. */
static void daemon_settle(Fixture *f) {
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;

        wait_msec(SETTLE_MSEC);

        reply = g_dbus_connection_call_sync(f->bus, PRIVSEP_BUS_NAME, PRIVSEP_OBJECT_PATH,
                                            PRIVSEP_MANAGER_INTERFACE, "ListMethods", NULL, NULL,
                                            G_DBUS_CALL_FLAGS_NO_AUTO_START, WAIT_TIMEOUT_MSEC, NULL, &error);
        if (!reply)
                test_fail("ListMethods as uid 0 failed after the polkit reply: %s", error->message);

        polkit_assert_no_checks(f);
}

/* --- Fixture ------------------------------------------------------------- */

static void fixture_start(Fixture *f, gboolean own_polkit) {
        g_autoptr(GError) error = NULL;

        /* A fresh tmpfs on /run per test: privsepd expects /run/privsep and
         * mounts under it, and unmounting /run takes all of that away. */
        if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
                test_fail("Failed to mount a tmpfs on /run: %s", g_strerror(errno));
                return;
        }
        f->run_mounted = TRUE;

        if (mkdir("/run/privsep", 0755) < 0) {
                test_fail("Failed to create /run/privsep: %s", g_strerror(errno));
                return;
        }

        if (sethostname(INITIAL_HOSTNAME, strlen(INITIAL_HOSTNAME)) < 0) {
                test_fail("Failed to set the hostname: %s", g_strerror(errno));
                return;
        }

        if (!link_reset()) {
                test_fail("Failed to reset link %s: %s", LINK_NAME, g_strerror(errno));
                return;
        }

        f->queue = gt_dbus_queue_new();
        if (!gt_dbus_queue_connect(f->queue, &error)) {
                test_fail("Failed to start the test bus: %s", error->message);
                return;
        }
        f->bus = gt_dbus_queue_get_client_connection(f->queue);
        /* GTestDBus exports the address of the bus it started here. */
        f->address = g_strdup(g_getenv("DBUS_SESSION_BUS_ADDRESS"));

        if (own_polkit) {
                f->polkit_object_id = gt_dbus_queue_export_object(f->queue, POLKIT_OBJECT_PATH,
                                                                  polkit_node_info->interfaces[0], &error);
                if (f->polkit_object_id == 0) {
                        test_fail("Failed to export %s: %s", POLKIT_OBJECT_PATH, error->message);
                        return;
                }

                f->polkit_name_id = gt_dbus_queue_own_name(f->queue, POLKIT_BUS_NAME);
                if (!bus_wait_for_name(f->bus, POLKIT_BUS_NAME, TRUE, NULL)) {
                        test_fail("The scripted authority did not own %s", POLKIT_BUS_NAME);
                        return;
                }
        }

        if (!daemon_start(f))
                return;

        f->ready = TRUE;
}

static void fixture_set_up(Fixture *f, gconstpointer data) {
        fixture_start(f, TRUE);
}

static void fixture_set_up_without_polkit(Fixture *f, gconstpointer data) {
        fixture_start(f, FALSE);
}

static void fixture_tear_down(Fixture *f, gconstpointer data) {
        if (f->queue && f->bus)
                polkit_assert_no_checks(f);

        daemon_stop(f);

        if (f->queue) {
                if (f->polkit_name_id != 0)
                        gt_dbus_queue_unown_name(f->queue, f->polkit_name_id);
                if (f->polkit_object_id != 0)
                        gt_dbus_queue_unexport_object(f->queue, f->polkit_object_id);
                if (f->bus)
                        gt_dbus_queue_disconnect(f->queue, FALSE);
                g_clear_pointer(&f->queue, gt_dbus_queue_free);
        }

        if (f->run_mounted && umount2("/run", MNT_DETACH) < 0)
                test_fail("Failed to unmount the tmpfs on /run: %s", g_strerror(errno));

        g_free(f->daemon_unique_name);
        g_free(f->address);
}

/* Mounts MOUNT_NAME as the caller's uid, with polkit scripted to allow it,
 * so that an Unmount has something to remove: privsepd lets only the owner
 * of a tmpfs, or root, unmount it. */
static gboolean effect_prepare(Fixture *f, const MethodCall *m) {
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (m->effect != EFFECT_UNMOUNT)
                return TRUE;

        caller = caller_start(f, &mount_tmpfs, FALSE);
        if (!caller)
                return FALSE;

        check = polkit_expect_check(f, &mount_tmpfs);
        if (!check)
                return FALSE;
        polkit_check_assert(f, check, caller, &mount_tmpfs, 0);
        polkit_check_reply(check, TRUE, FALSE);

        caller_assert_result(caller, "ok");

        if (effect_present(m)) {
                test_fail("MountTmpfs as uid %d mounted nothing at %s", CALLER_UID, MOUNT_DIR);
                return FALSE;
        }

        return TRUE;
}

/* --- Tests ------------------------------------------------------------------ */

/* polkit replies only after the caller has gone: privsepd must not run the
 * method for a caller that can no longer receive the reply. */
static void test_caller_disconnects(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;
        g_autofree char *caller_name = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        /* The bus drops the caller's own name when the caller dies: a wait
         * for any other name to go would time out. */
        if (!polkit_check_assert(f, check, caller, m, 0))
                return;

        caller_name = g_strdup(check->subject_name);
        caller_kill(caller);
        if (!bus_wait_for_name(f->bus, caller_name, FALSE, NULL))
                test_fail("The bus still lists %s after its process was killed", caller_name);

        polkit_check_reply(check, TRUE, FALSE);

        daemon_settle(f);
        assert_effect(m, FALSE);
}

/* No connection owns org.freedesktop.PolicyKit1: privsepd must deny. */
static void test_polkit_absent(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        caller_assert_result(caller, DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(m, FALSE);
}

static void test_polkit_error_reply(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, 0);
        polkit_check_reply_error(check);

        caller_assert_result(caller, DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(m, FALSE);
}

static void test_polkit_malformed_reply(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, 0);
        polkit_check_reply_malformed(check);

        caller_assert_result(caller, DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(m, FALSE);
}

/* A challenge for a caller that did not allow interactive authorization. */
static void test_challenge_not_interactive(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, 0);
        polkit_check_reply(check, FALSE, TRUE);

        caller_assert_result(caller, DBUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);

        daemon_settle(f);
        assert_effect(m, FALSE);
}

/* The caller allows interactive authorization: privsepd must pass
 * AllowUserInteraction to polkit, then follow polkit's final reply. */
static void test_challenge_interactive(Fixture *f, gconstpointer data, gboolean authorized) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, TRUE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, POLKIT_FLAG_ALLOW_USER_INTERACTION);
        polkit_check_reply(check, authorized, FALSE);

        caller_assert_result(caller, authorized ? "ok" : DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(m, authorized);
}

static void test_challenge_interactive_allowed(Fixture *f, gconstpointer data) {
        test_challenge_interactive(f, data, TRUE);
}

static void test_challenge_interactive_denied(Fixture *f, gconstpointer data) {
        test_challenge_interactive(f, data, FALSE);
}

static void test_polkit_reply(Fixture *f, gconstpointer data, gboolean authorized) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;

        if (!f->ready || !effect_prepare(f, m))
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, 0);
        polkit_check_reply(check, authorized, FALSE);

        caller_assert_result(caller, authorized ? "ok" : DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(m, authorized);
}

static void test_polkit_allowed(Fixture *f, gconstpointer data) {
        test_polkit_reply(f, data, TRUE);
}

static void test_polkit_denied(Fixture *f, gconstpointer data) {
        test_polkit_reply(f, data, FALSE);
}

/* While polkit keeps caller A waiting, caller B's call is authorized and
 * returns: privsepd's event loop does not wait for polkit. */
static void test_event_loop_not_blocked(Fixture *f, gconstpointer data) {
        g_autoptr(Caller) caller_a = NULL;
        g_autoptr(Caller) caller_b = NULL;
        g_autoptr(PolkitCheck) check_a = NULL;
        g_autoptr(PolkitCheck) check_b = NULL;

        if (!f->ready)
                return;

        caller_a = caller_start(f, &hostname_set, FALSE);
        if (!caller_a)
                return;

        check_a = polkit_expect_check(f, &hostname_set);
        if (!check_a)
                return;
        polkit_check_assert(f, check_a, caller_a, &hostname_set, 0);

        caller_b = caller_start(f, &mount_tmpfs, FALSE);
        if (!caller_b)
                return;

        check_b = polkit_expect_check(f, &mount_tmpfs);
        if (!check_b)
                return;
        polkit_check_assert(f, check_b, caller_b, &mount_tmpfs, 0);
        polkit_check_reply(check_b, TRUE, FALSE);

        caller_assert_result(caller_b, "ok");
        assert_effect(&mount_tmpfs, TRUE);

        if (caller_a->finished)
                test_fail("Caller A returned (%s) while its polkit check still had no reply",
                          g_strstrip(caller_a->output));
        assert_effect(&hostname_set, FALSE);

        polkit_check_reply(check_a, FALSE, FALSE);
        caller_assert_result(caller_a, DBUS_ERROR_ACCESS_DENIED);

        daemon_settle(f);
        assert_effect(&hostname_set, FALSE);
}

/* --- main ----------------------------------------------------------------- */

/* Skips the whole program: TAP readers need a "1..0 # SKIP" plan, because
 * meson (1.0) counts a TAP test that exits with 77 as an error. */
static int skip_all(int argc, char *argv[], const char *reason) {
        for (int i = 1; i < argc; i++)
                if (g_str_equal(argv[i], "--tap")) {
                        printf("1..0 # SKIP %s\n", reason);
                        return 0;
                }

        fprintf(stderr, "SKIP: %s\n", reason);
        return 77;
}

/* How long privsepd waits, once stopped, for calls that polkit has not
 * answered (SHUTDOWN_GRACE_USEC in service/manager.h), plus a margin. */
#define SHUTDOWN_WAIT_MSEC 15000

/* privsepd is stopped while polkit has not answered a check, as when a
 * password prompt goes unanswered. After its grace period privsepd must
 * cancel the check, give the caller a named error instead of silence, run
 * nothing, and exit. */
static void test_shutdown_with_pending_check(Fixture *f, gconstpointer data) {
        const MethodCall *m = data;
        g_autoptr(Caller) caller = NULL;
        g_autoptr(PolkitCheck) check = NULL;
        GDBusMethodInvocation *cancel;
        const char *check_id = NULL, *cancel_id = NULL;

        if (!f->ready)
                return;

        caller = caller_start(f, m, FALSE);
        if (!caller)
                return;

        check = polkit_expect_check(f, m);
        if (!check)
                return;
        polkit_check_assert(f, check, caller, m, 0);
        g_variant_get_child(check->parameters, 4, "&s", &check_id);
        if (!check_id || !check_id[0])
                test_fail("CheckAuthorization has an empty cancellation ID");

        g_subprocess_send_signal(f->daemon, SIGTERM);

        cancel = polkit_pop(f, SHUTDOWN_WAIT_MSEC);
        if (!cancel) {
                test_fail("privsepd sent no CancelCheckAuthorization within %d ms of SIGTERM", SHUTDOWN_WAIT_MSEC);
                return;
        }
        if (!g_str_equal(g_dbus_method_invocation_get_method_name(cancel), "CancelCheckAuthorization"))
                test_fail("privsepd called %s, expected CancelCheckAuthorization",
                          g_dbus_method_invocation_get_method_name(cancel));
        else {
                g_variant_get(g_dbus_method_invocation_get_parameters(cancel), "(&s)", &cancel_id);
                if (g_strcmp0(cancel_id, check_id) != 0)
                        test_fail("privsepd cancelled '%s', expected '%s'", cancel_id, check_id);
        }
        g_dbus_method_invocation_return_value(cancel, NULL);

        caller_assert_result(caller, "org.privsep.Privsep1.Error.ShuttingDown");

        if (!wait_for_flag(&f->daemon_exited, WAIT_TIMEOUT_MSEC))
                test_fail("privsepd did not exit after the grace period");
        else
                g_clear_object(&f->daemon);

        assert_effect(m, FALSE);
}

static void add_test(const char *path, const MethodCall *m,
                     void (*set_up)(Fixture *, gconstpointer),
                     void (*body)(Fixture *, gconstpointer)) {
        g_test_add(path, Fixture, m, set_up, body, fixture_tear_down);
}

/* Drops debug messages unless the test runs with --verbose: GtDBusQueue
 * prints every message that the scripted authority sends or receives. */
static void log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data) {
        if ((level & G_LOG_LEVEL_DEBUG) && !g_test_verbose())
                return;

        g_log_default_handler(domain, level, message, user_data);
}

int main(int argc, char *argv[]) {
        g_autoptr(GError) error = NULL;

        if (argc > 1 && g_str_equal(argv[1], "--caller"))
                return caller_main(argc, argv);

        if (geteuid() != 0)
                return skip_all(argc, argv, "needs root to create namespaces and start privsepd");

        /* Before any thread exists, because unshare() moves only the
         * calling thread into the new namespaces. */
        if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET) < 0)
                return skip_all(argc, argv, "cannot create mount, UTS and network namespaces");

        /* Mounts made from here on stay in this namespace. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "Failed to make the mount namespace private: %m\n");
                return 1;
        }

        g_test_init(&argc, &argv, NULL);
        /* A failed check marks its test case failed instead of aborting
         * the program, so the other cases still run. */
        g_test_set_nonfatal_assertions();
        g_log_set_default_handler(log_handler, NULL);

        privsepd_path = g_getenv("PRIVSEPD");
        if (!privsepd_path) {
                fprintf(stderr, "PRIVSEPD is not set: set it to the path of the privsepd binary\n");
                return 1;
        }

        if (!g_getenv("G_TEST_DBUS_DAEMON"))
                g_setenv("G_TEST_DBUS_DAEMON", POLKIT_SCRIPTED_SOURCE_DIR "/dbus-daemon-any-user", TRUE);

        self_exe_path = g_file_read_link("/proc/self/exe", &error);
        if (!self_exe_path) {
                fprintf(stderr, "Failed to read /proc/self/exe: %s\n", error->message);
                return 1;
        }

        polkit_node_info = g_dbus_node_info_new_for_xml(polkit_authority_xml, &error);
        g_assert_no_error(error);

        add_test("/polkit/caller-disconnects/hostname-unchanged", &hostname_set,
                 fixture_set_up, test_caller_disconnects);
        add_test("/polkit/caller-disconnects/nothing-mounted", &mount_tmpfs,
                 fixture_set_up, test_caller_disconnects);

        add_test("/polkit/absent/hostname-set-denied", &hostname_set,
                 fixture_set_up_without_polkit, test_polkit_absent);
        add_test("/polkit/absent/mount-tmpfs-denied", &mount_tmpfs,
                 fixture_set_up_without_polkit, test_polkit_absent);

        add_test("/polkit/error-reply/hostname-set-denied", &hostname_set,
                 fixture_set_up, test_polkit_error_reply);
        add_test("/polkit/error-reply/mount-tmpfs-denied", &mount_tmpfs,
                 fixture_set_up, test_polkit_error_reply);
        add_test("/polkit/malformed-reply/hostname-set-denied", &hostname_set,
                 fixture_set_up, test_polkit_malformed_reply);

        add_test("/polkit/challenge/not-interactive", &hostname_set,
                 fixture_set_up, test_challenge_not_interactive);
        add_test("/polkit/challenge/interactive-allowed", &hostname_set,
                 fixture_set_up, test_challenge_interactive_allowed);
        add_test("/polkit/challenge/interactive-denied", &hostname_set,
                 fixture_set_up, test_challenge_interactive_denied);

        add_test("/polkit/allowed/hostname-set", &hostname_set, fixture_set_up, test_polkit_allowed);
        add_test("/polkit/allowed/mount-tmpfs", &mount_tmpfs, fixture_set_up, test_polkit_allowed);
        add_test("/polkit/allowed/mount-unmount", &mount_unmount, fixture_set_up, test_polkit_allowed);
        add_test("/polkit/allowed/link-set-mtu", &link_set_mtu, fixture_set_up, test_polkit_allowed);
        add_test("/polkit/allowed/link-set-up", &link_set_up, fixture_set_up, test_polkit_allowed);

        add_test("/polkit/denied/hostname-set", &hostname_set, fixture_set_up, test_polkit_denied);
        add_test("/polkit/denied/mount-tmpfs", &mount_tmpfs, fixture_set_up, test_polkit_denied);
        add_test("/polkit/denied/mount-unmount", &mount_unmount, fixture_set_up, test_polkit_denied);
        add_test("/polkit/denied/link-set-mtu", &link_set_mtu, fixture_set_up, test_polkit_denied);
        add_test("/polkit/denied/link-set-up", &link_set_up, fixture_set_up, test_polkit_denied);

        add_test("/polkit/shutdown/pending-check-ends", &hostname_set,
                 fixture_set_up, test_shutdown_with_pending_check);
        add_test("/polkit/concurrent/event-loop-not-blocked", NULL,
                 fixture_set_up, test_event_loop_not_blocked);

        return g_test_run();
}
