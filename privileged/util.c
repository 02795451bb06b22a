/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "util.h"

int util_write_all(int fd, const void *buffer, size_t size) {
        const char *p = buffer;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }

                p += n;
                size -= (size_t) n;
        }

        return 0;
}
