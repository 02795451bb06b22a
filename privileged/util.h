/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <unistd.h>

static inline void util_closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(util_closep)))

/* Writes all of buffer, retrying after short writes and EINTR. */
int util_write_all(int fd, const void *buffer, size_t size);
