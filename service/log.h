/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-daemon.h>

/* Messages go to stderr with a syslog level prefix, which journald turns
 * into the entry's priority when the service runs under systemd. */
void log_message(const char *level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Logs "MESSAGE: STRERROR" at error level and returns error, a negative errno. */
int log_error_errno(int error, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(SD_ERR, __VA_ARGS__)
#define log_warning(...) log_message(SD_WARNING, __VA_ARGS__)
#define log_notice(...) log_message(SD_NOTICE, __VA_ARGS__)
#define log_info(...) log_message(SD_INFO, __VA_ARGS__)
