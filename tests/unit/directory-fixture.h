/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A temporary directory per test, opened as a directory fd, for the tests of
 * code that works relative to directory fds. */

#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
        char *directory;
        int dir_fd;
} DirectoryFixture;

static inline void directory_fixture_set_up(DirectoryFixture *f, const char *template, int open_flags) {
        f->directory = g_dir_make_tmp(template, NULL);
        g_assert_nonnull(f->directory);
        f->dir_fd = open(f->directory, open_flags | O_DIRECTORY | O_CLOEXEC);
        g_assert_cmpint(f->dir_fd, >=, 0);
}

static inline void directory_fixture_tear_down(DirectoryFixture *f) {
        g_autofree char *command = g_strdup_printf("rm -rf '%s'", f->directory);

        g_assert_cmpint(system(command), ==, 0);
        close(f->dir_fd);
        g_free(f->directory);
}
