/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Validators of every entry point argument, with the hard cases. */

#include <glib.h>
#include <string.h>

#include "hostname.h"
#include "link.h"
#include "motd.h"
#include "mount.h"

static int validate_string(EntryPointValidator validate, const char *s) {
        EntryPointValue value = { .string = s };
        const char *allowed = NULL;
        int r = validate(&value, &allowed);

        /* A rejection always describes the allowed values. */
        if (r < 0) {
                g_assert_nonnull(allowed);
                g_assert_cmpuint(strlen(allowed), >, 10);
        }
        return r;
}

static void assert_accepted(EntryPointValidator validate, const char *s) {
        if (validate_string(validate, s) != 0)
                g_error("'%s' was rejected but must be accepted", s);
}

static void assert_rejected(EntryPointValidator validate, const char *s) {
        if (validate_string(validate, s) != -EINVAL)
                g_error("'%s' was accepted but must be rejected", s);
}

static void test_interface_name(void) {
        const char *good[] = { "lo", "eth0", "veth-a.1", "br_lan", "wlp0s20f3", "a", "123456789012345", "@x", ".x", "..." };
        const char *bad[] = { "", ".", "..", "eth/0", "/", "../eth0", "eth 0", "eth\t0", "eth\n0", "eth:0",
                              "1234567890123456", "e\x01", "e\x7f", "e\xc3\xa9", " eth0", "eth0 " };

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
                assert_accepted(link_validate_name, good[i]);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_rejected(link_validate_name, bad[i]);
}

static void test_mtu(void) {
        const uint32_t good[] = { 68, 1280, 1500, 9000, 65535 };
        const uint32_t bad[] = { 0, 1, 67, 65536, UINT32_MAX };
        const char *allowed;

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                EntryPointValue value = { .u32 = good[i] };
                g_assert_cmpint(link_validate_mtu(&value, &allowed), ==, 0);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                EntryPointValue value = { .u32 = bad[i] };
                g_assert_cmpint(link_validate_mtu(&value, &allowed), ==, -EINVAL);
        }
}

static void test_mount_name(void) {
        const char *good[] = { "a", "0", "data", "vm-42_scratch", "abcdefghijklmnopqrstuvwxyz012345", "a-", "a_" };
        const char *bad[] = { "", "-a", "_a", ".", "..", "a/b", "/a", "../a", "A", "Data", "a b", "a.b", "a\n",
                              "abcdefghijklmnopqrstuvwxyz0123456", "a\x01", "\xc3\xa9" };

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
                assert_accepted(mount_validate_name, good[i]);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_rejected(mount_validate_name, bad[i]);
}

static void test_mount_size(void) {
        const char *allowed;
        EntryPointValue value;

        value.u64 = 0;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, -EINVAL);
        value.u64 = 4095;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, -EINVAL);
        value.u64 = 4096;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, 0);
        value.u64 = 64 * 1024 * 1024;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, 0);
        value.u64 = UINT64_MAX;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, -EINVAL);
        value.u64 = UINT64_C(1) << 60;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, -EINVAL);
        value.u64 = UINT64_C(1) << 40;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, 0);
        value.u64 = (UINT64_C(1) << 40) + 1;
        g_assert_cmpint(mount_validate_size(&value, &allowed), ==, -EINVAL);
}

static void test_hostname(void) {
        g_autofree char *label63 = g_strnfill(63, 'a');
        g_autofree char *label64 = g_strnfill(64, 'a');
        g_autofree char *name64 = g_strdup_printf("%s.%s", g_strnfill(31, 'b'), g_strnfill(32, 'c'));
        g_autofree char *name65 = g_strdup_printf("%s.%s", g_strnfill(32, 'b'), g_strnfill(32, 'c'));
        const char *good[] = { "a", "host", "web-01", "Host.Example.ORG", "1host", "a.b.c", "xn--bcher-kva" };
        const char *bad[] = { "", ".", "..", "a..b", ".a", "a.", "-a", "a-", "a.-b", "a_b", "a b", "a/b",
                              "a\nb", "host\x7f", "h\xc3\xa9", "localhost\t" };

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++)
                assert_accepted(hostname_validate, good[i]);
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
                assert_rejected(hostname_validate, bad[i]);

        assert_accepted(hostname_validate, label63);
        assert_rejected(hostname_validate, label64);
        g_assert_cmpuint(strlen(name64), ==, 64);
        assert_accepted(hostname_validate, name64);
        g_assert_cmpuint(strlen(name65), ==, 65);
        assert_rejected(hostname_validate, name65);
}

static void test_motd_message(void) {
        g_autofree char *max = g_strnfill(MOTD_SIZE_MAX, 'x');
        g_autofree char *too_long = g_strnfill(MOTD_SIZE_MAX + 1, 'x');

        assert_accepted(motd_validate, "");
        assert_accepted(motd_validate, "Welcome.\n\tMaintenance on Friday.\n");
        assert_accepted(motd_validate, "Grüße, ☃ and ü");
        assert_accepted(motd_validate, max);
        assert_rejected(motd_validate, too_long);
        assert_rejected(motd_validate, "\x1b[2J cleared screen");
        assert_rejected(motd_validate, "carriage\rreturn");
        assert_rejected(motd_validate, "bell\a");
        assert_rejected(motd_validate, "delete\x7f");
        assert_rejected(motd_validate, "c1 \xc2\x9b" "2J");
        assert_rejected(motd_validate, "c1 \xc2\x80");
        assert_accepted(motd_validate, "not c1 \xc2\xa0 (no-break space)");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/validate/interface-name", test_interface_name);
        g_test_add_func("/validate/mtu", test_mtu);
        g_test_add_func("/validate/mount-name", test_mount_name);
        g_test_add_func("/validate/mount-size", test_mount_size);
        g_test_add_func("/validate/hostname", test_hostname);
        g_test_add_func("/validate/motd-message", test_motd_message);

        return g_test_run();
}
