/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Writes s into buffer for an error message or log: backslash, quote and
 * control characters escaped as \xNN, and cut after max_bytes input bytes
 * with "..." appended. The result is always NUL-terminated. */
const char *quote_value(const char *s, size_t max_bytes, char *buffer, size_t size);

/* Enough for quote_value() with max_bytes = QUOTE_INPUT_MAX. */
#define QUOTE_INPUT_MAX 64
#define QUOTE_BUFFER_SIZE (QUOTE_INPUT_MAX * 4 + 4)
