/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "quote.h"

static bool quote_needs_escape(const unsigned char *s, size_t i) {
        unsigned char c = s[i];

        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
                return true;

        /* C1 control characters, U+0080 to U+009F encoded as UTF-8 */
        if (c == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
                return true;
        if (c >= 0x80 && c <= 0x9f && i > 0 && s[i - 1] == 0xc2)
                return true;

        return false;
}

const char *quote_value(const char *s, size_t max_bytes, char *buffer, size_t size) {
        const unsigned char *u = (const unsigned char *) s;
        size_t length = strlen(s), out = 0, limit = max_bytes;

        if (size == 0)
                return buffer;

        /* Cut at a character boundary, so that the result stays valid UTF-8
         * as D-Bus strings must be. */
        if (length > limit)
                while (limit > 0 && (u[limit] & 0xc0) == 0x80)
                        limit--;

        for (size_t i = 0; i < length && i < limit; i++) {
                if (out + 5 >= size)
                        break;

                if (quote_needs_escape(u, i))
                        out += (size_t) snprintf(buffer + out, size - out, "\\x%02x", u[i]);
                else
                        buffer[out++] = (char) u[i];
        }

        if (length > limit && out + 3 < size) {
                memcpy(buffer + out, "...", 3);
                out += 3;
        }

        buffer[out] = '\0';
        return buffer;
}
