/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void log_vmessage(const char *level, const char *suffix, const char *format, va_list ap) {
        fputs(level, stderr);
        vfprintf(stderr, format, ap);
        if (suffix) {
                fputs(": ", stderr);
                fputs(suffix, stderr);
        }
        fputc('\n', stderr);
}

void log_message(const char *level, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_vmessage(level, NULL, format, ap);
        va_end(ap);
}

int log_error_errno(int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_vmessage(SD_ERR, strerror(abs(error)), format, ap);
        va_end(ap);

        return error;
}
