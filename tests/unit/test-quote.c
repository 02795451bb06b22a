/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quoting of caller input in error messages, and errno to error names. */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "bus-error.h"
#include "quote.h"

static const char *quote(const char *s) {
        static char buffer[QUOTE_BUFFER_SIZE];
        return quote_value(s, QUOTE_INPUT_MAX, buffer, sizeof(buffer));
}

static void test_plain(void) {
        g_assert_cmpstr(quote("eth0"), ==, "eth0");
        g_assert_cmpstr(quote(""), ==, "");
        g_assert_cmpstr(quote("Grüße"), ==, "Grüße");
}

static void test_escapes(void) {
        g_assert_cmpstr(quote("a\nb"), ==, "a\\x0ab");
        g_assert_cmpstr(quote("it's"), ==, "it\\x27s");
        g_assert_cmpstr(quote("back\\slash"), ==, "back\\x5cslash");
        g_assert_cmpstr(quote("\x1b[2J"), ==, "\\x1b[2J");
        g_assert_cmpstr(quote("c1\xc2\x9b"), ==, "c1\\xc2\\x9b");
}

static void test_truncates_at_character(void) {
        g_autofree char *long_ascii = g_strnfill(100, 'a');
        g_autoptr(GString) snowmen = g_string_new(NULL);
        const char *q;

        q = quote(long_ascii);
        g_assert_cmpuint(strlen(q), ==, QUOTE_INPUT_MAX + 3);
        g_assert_true(g_str_has_suffix(q, "..."));

        /* 3-byte characters do not divide 64: the cut must not split one. */
        for (int i = 0; i < 40; i++)
                g_string_append(snowmen, "☃");
        q = quote(snowmen->str);
        g_assert_true(g_utf8_validate(q, -1, NULL));
        g_assert_true(g_str_has_suffix(q, "..."));

        /* Every byte escaped: the longest output still gets the marker. */
        g_autofree char *quotes = g_strnfill(80, '\'');
        q = quote(quotes);
        g_assert_cmpuint(strlen(q), ==, QUOTE_INPUT_MAX * 4 + 3);
        g_assert_true(g_str_has_suffix(q, "..."));
}

static void test_error_names(void) {
        g_assert_cmpstr(bus_error_name_from_errno(-ELOOP), ==, "org.privsep.Privsep1.Error.SymbolicLink");
        g_assert_cmpstr(bus_error_name_from_errno(-ENODEV), ==, "org.privsep.Privsep1.Error.NoSuchDevice");
        g_assert_cmpstr(bus_error_name_from_errno(-EEXIST), ==, "org.privsep.Privsep1.Error.AlreadyExists");
        g_assert_cmpstr(bus_error_name_from_errno(-ENOENT), ==, "org.privsep.Privsep1.Error.NotFound");
        g_assert_cmpstr(bus_error_name_from_errno(-ETIMEDOUT), ==, "org.privsep.Privsep1.Error.TimedOut");
        g_assert_cmpstr(bus_error_name_from_errno(-EXDEV), ==, "org.privsep.Privsep1.Error.Failed");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/quote/plain", test_plain);
        g_test_add_func("/quote/escapes-control-characters", test_escapes);
        g_test_add_func("/quote/truncates-at-character", test_truncates_at_character);
        g_test_add_func("/bus-error/names", test_error_names);

        return g_test_run();
}
