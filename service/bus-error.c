/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one place where an errno becomes a D-Bus error name. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"

static const struct {
        int error;
        const char *name;
} bus_error_table[] = {
        { EPERM,     PRIVSEP_ERROR_PREFIX "PermissionDenied" },
        { EACCES,    PRIVSEP_ERROR_PREFIX "PermissionDenied" },
        { ENOENT,    PRIVSEP_ERROR_PREFIX "NotFound" },
        { EEXIST,    PRIVSEP_ERROR_PREFIX "AlreadyExists" },
        { EBUSY,     PRIVSEP_ERROR_PREFIX "Busy" },
        { ELOOP,     PRIVSEP_ERROR_PREFIX "SymbolicLink" },
        { ENODEV,    PRIVSEP_ERROR_PREFIX "NoSuchDevice" },
        { EINVAL,    PRIVSEP_ERROR_PREFIX "InvalidArgument" },
        { ERANGE,    PRIVSEP_ERROR_PREFIX "InvalidArgument" },
        { EISDIR,    PRIVSEP_ERROR_PREFIX "NotRegularFile" },
        { EBADFD,    PRIVSEP_ERROR_PREFIX "NotRegularFile" },
        { ENOTDIR,   PRIVSEP_ERROR_PREFIX "NotDirectory" },
        { ENOSPC,    PRIVSEP_ERROR_PREFIX "NoSpace" },
        { ENOMEM,    PRIVSEP_ERROR_PREFIX "NoMemory" },
        { EROFS,     PRIVSEP_ERROR_PREFIX "ReadOnlyFileSystem" },
        { ETIMEDOUT, PRIVSEP_ERROR_PREFIX "TimedOut" },
        { EDQUOT,    PRIVSEP_ERROR_PREFIX "LimitExceeded" },
};

const char *bus_error_name_from_errno(int error) {
        for (size_t i = 0; i < sizeof(bus_error_table) / sizeof(bus_error_table[0]); i++)
                if (bus_error_table[i].error == abs(error))
                        return bus_error_table[i].name;

        return PRIVSEP_ERROR_PREFIX "Failed";
}

int bus_error_reply(sd_bus_message *message, int error, const char *reason, const char *fallback) {
        /* strerror(EDQUOT) reads "Disk quota exceeded", which would mislead for a
         * limit of this service, so the message is the reason alone. */
        if (abs(error) == EDQUOT && reason && reason[0])
                return sd_bus_reply_method_errorf(message, bus_error_name_from_errno(error), "%s", reason);

        return sd_bus_reply_method_errorf(message, bus_error_name_from_errno(error), "%s: %s",
                                          reason && reason[0] ? reason : fallback, strerror(abs(error)));
}
