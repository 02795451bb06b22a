/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* privsepd: runs a fixed set of privileged operations for callers on the
 * system bus that polkit authorizes. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "context.h"
#include "log.h"
#include "call.h"
#include "manager.h"
#include "supervisor.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static void help(void) {
        printf("Usage: privsepd [OPTIONS]\n\n"
               "Runs privileged operations for authorized callers on the system bus.\n\n"
               "  -h --help                   Show this help and exit\n"
               "     --version               Show the version and exit\n"
               "     --idle-timeout=SECONDS  Exit after this many seconds without a call\n"
               "                             (default 30; 0 disables exiting when idle)\n"
               "     --max-calls-per-user=N  Calls one user may have in flight at once\n"
               "                             (default %u)\n", CALLS_PER_USER_DEFAULT);
}

static int parse_seconds(const char *s, uint64_t *ret_usec) {
        char *end = NULL;
        unsigned long long seconds;

        errno = 0;
        seconds = strtoull(s, &end, 10);
        if (errno != 0 || !end || *end != '\0' || s[0] == '\0' || s[0] == '-' || seconds > 365ULL * 24 * 3600)
                return -EINVAL;

        *ret_usec = (uint64_t) seconds * UINT64_C(1000000);
        return 0;
}

static int parse_arguments(int argc, char *argv[], Manager *m) {
        enum { ARG_VERSION = 0x100, ARG_IDLE_TIMEOUT, ARG_MAX_CALLS_PER_USER };
        static const struct option options[] = {
                { "help",         no_argument,       NULL, 'h' },
                { "version",      no_argument,       NULL, ARG_VERSION },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "max-calls-per-user", required_argument, NULL, ARG_MAX_CALLS_PER_USER },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("privsepd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_IDLE_TIMEOUT:
                        if (parse_seconds(optarg, &m->idle_timeout_usec) < 0) {
                                log_error("Invalid --idle-timeout value '%s': expected a whole number of seconds.", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_MAX_CALLS_PER_USER: {
                        char *end = NULL;
                        unsigned long n;

                        errno = 0;
                        n = strtoul(optarg, &end, 10);
                        if (errno != 0 || !end || *end != '\0' || optarg[0] == '\0' || optarg[0] == '-' ||
                            n < 1 || n > CALLS_MAX) {
                                log_error("Invalid --max-calls-per-user value '%s': expected 1 to %u.", optarg, CALLS_MAX);
                                return -EINVAL;
                        }
                        m->max_calls_per_user = (unsigned) n;
                        break;
                }
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("Unexpected argument '%s'; privsepd takes options only.", argv[optind]);
                return -EINVAL;
        }

        return 1;
}

static int setup_capabilities(void) {
        uint64_t wanted = privilege_context_supervisor_mask(), effective = 0, permitted = 0;
        char names[512];
        int r;

        /* The supervisor keeps what its children need and nothing else; its
         * bounding set shrinks to the contexts' union. */
        r = capability_confine(wanted, privilege_context_union_mask());
        if (r >= 0)
                return 0;

        (void) capability_get_masks(&effective, &permitted);
        if (capability_mask_to_string(wanted & ~permitted, names, sizeof(names)) < 0)
                names[0] = '\0';

        if (names[0])
                log_error("Missing capabilities: %s. privsepd needs exactly the union of its contexts' "
                          "capabilities and cap_setpcap (AmbientCapabilities= in privsepd.service).", names);
        return log_error_errno(r, "Failed to set up capabilities");
}

static void manager_freep(Manager **m) {
        manager_free(*m);
}

static int run(int argc, char *argv[]) {
        __attribute__((cleanup(manager_freep))) Manager *m = NULL;
        int r;

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager");

        r = parse_arguments(argc, argv, m);
        if (r <= 0)
                return r;

        r = setup_capabilities();
        if (r < 0)
                return r;

        return supervisor_run(m);
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
