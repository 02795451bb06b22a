/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Link.SetMtu and Link.SetUp: one RTM_NEWLINK request on rtnetlink each. */

#include <errno.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link.h"
#include "util.h"

int link_validate_name(const EntryPointValue *value, const char **ret_allowed) {
        const char *s = value->string;
        size_t length = strlen(s);

        /* The kernel rejects '/', ':' and white space, '.' and '..', and
         * names of IFNAMSIZ bytes or more. Control characters and non-ASCII
         * bytes are rejected here as well. */
        *ret_allowed = "expected 1 to 15 printable ASCII characters without '/', ':' or spaces, "
                       "other than '.' and '..'";

        if (length < 1 || length > LINK_NAME_MAX)
                return -EINVAL;
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return -EINVAL;

        for (size_t i = 0; i < length; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
                        return -EINVAL;
        }

        return 0;
}

int link_validate_mtu(const EntryPointValue *value, const char **ret_allowed) {
        /* 68 is the smallest MTU that IPv4 allows and 65535 the largest IPv4
         * packet; the driver checks its own range within that. */
        *ret_allowed = "expected 68 to 65535";

        if (value->u32 < LINK_MTU_MIN || value->u32 > LINK_MTU_MAX)
                return -EINVAL;

        return 0;
}

typedef struct LinkRequest {
        struct nlmsghdr header;
        struct ifinfomsg info;
        char attributes[64];
} LinkRequest;

static void link_add_attribute(LinkRequest *request, unsigned short type, const void *data, size_t size) {
        struct rtattr *attribute = (struct rtattr *) ((char *) request + NLMSG_ALIGN(request->header.nlmsg_len));

        attribute->rta_type = type;
        attribute->rta_len = RTA_LENGTH(size);
        memcpy(RTA_DATA(attribute), data, size);
        request->header.nlmsg_len = NLMSG_ALIGN(request->header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

/* Sends the request and waits for the kernel's acknowledgement. Returns 0 or
 * the negative errno the kernel reported. */
static int link_send(LinkRequest *request) {
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        char buffer[1024];
        ssize_t n;

        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;

        request->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        request->header.nlmsg_seq = 1;

        if (sendto(fd, request, request->header.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
                return -errno;

        for (;;) {
                n = recv(fd, buffer, sizeof(buffer), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }

                for (struct nlmsghdr *h = (struct nlmsghdr *) buffer; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != request->header.nlmsg_seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *error = NLMSG_DATA(h);

                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*error)))
                                        return -EBADMSG;
                                return error->error;
                        }
                }
        }
}

/* Starts an RTM_NEWLINK request for the interface called name. The kernel
 * looks the name up itself (ifi_index 0 with IFLA_IFNAME), so no rename can
 * slip in between a lookup and the change. The request fails with ENODEV
 * when no interface has that name. */
static void link_prepare(LinkRequest *request, const char *name) {
        *request = (LinkRequest) {
                .header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                .header.nlmsg_type = RTM_NEWLINK,
                .info.ifi_family = AF_UNSPEC,
                .info.ifi_index = 0,
        };

        /* The validated name has at most LINK_NAME_MAX bytes, so it and its
         * NUL fit in the attribute space. */
        link_add_attribute(request, IFLA_IFNAME, name, strlen(name) + 1);
}

static void link_set_failure_reason(EntryPointResult *result, int error, const char *name, const char *what) {
        if (error == -ENODEV)
                entry_point_set_reason(result, "No network interface '%s'", name);
        else
                entry_point_set_reason(result, "Failed to %s '%s'", what, name);
}

static int link_set_mtu(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *name = arguments[0].string;
        uint32_t mtu = arguments[1].u32;
        LinkRequest request;
        int r;

        link_prepare(&request, name);
        link_add_attribute(&request, IFLA_MTU, &mtu, sizeof(mtu));

        r = link_send(&request);
        if (r < 0)
                link_set_failure_reason(result, r, name, "set the MTU of");

        return r;
}

static int link_set_up(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *name = arguments[0].string;
        bool up = arguments[1].boolean;
        LinkRequest request;
        int r;

        link_prepare(&request, name);

        /* ifi_change limits the request to IFF_UP, so no other flag of the
         * interface can change in between. */
        request.info.ifi_flags = up ? IFF_UP : 0;
        request.info.ifi_change = IFF_UP;

        r = link_send(&request);
        if (r < 0)
                link_set_failure_reason(result, r, name, up ? "bring up" : "bring down");

        return r;
}

/* The first argument of every Link method. */
#define LINK_IFNAME_ARGUMENT                                    \
        {                                                       \
                .name = "ifname",                               \
                .type = 's',                                    \
                .description = "interface name",                \
                .polkit_detail = "interface",                   \
                .log = true,                                    \
                .validate = link_validate_name,                 \
        }

static const EntryPointArgument link_set_mtu_arguments[] = {
        LINK_IFNAME_ARGUMENT,
        {
                .name = "mtu",
                .type = 'u',
                .description = "MTU",
                .polkit_detail = "mtu",
                .log = true,
                .validate = link_validate_mtu,
        },
};

ENTRY_POINT(link_set_mtu_entry_point) = {
        .interface = "org.privsep.Privsep1.Link",
        .member = "SetMtu",
        .action_id = "org.privsep.link.set-mtu",
        .polkit_message = "Authentication is required to set the MTU of $(interface) to $(mtu).",
        .context = &privilege_context_net_admin,
        .arguments = link_set_mtu_arguments,
        .n_arguments = ELEMENTSOF(link_set_mtu_arguments),
        .function = link_set_mtu,
};

static const EntryPointArgument link_set_up_arguments[] = {
        LINK_IFNAME_ARGUMENT,
        {
                .name = "up",
                .type = 'b',
                .description = "state",
                .polkit_detail = "up",
                .log = true,
                .validate = NULL,
        },
};

ENTRY_POINT(link_set_up_entry_point) = {
        .interface = "org.privsep.Privsep1.Link",
        .member = "SetUp",
        .action_id = "org.privsep.link.set-up",
        .polkit_message = "Authentication is required to bring $(interface) up or down.",
        .context = &privilege_context_net_admin,
        .arguments = link_set_up_arguments,
        .n_arguments = ELEMENTSOF(link_set_up_arguments),
        .function = link_set_up,
};
