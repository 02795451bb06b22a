/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The atomic replacement of /etc/motd, run against a temporary directory. */

#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "directory-fixture.h"
#include "motd.h"

typedef DirectoryFixture Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data) {
        directory_fixture_set_up(f, "privsep-motd-XXXXXX", O_RDONLY);
}

static void fixture_tear_down(Fixture *f, gconstpointer data) {
        directory_fixture_tear_down(f);
}

static char *read_file(Fixture *f, const char *name) {
        g_autofree char *path = g_build_filename(f->directory, name, NULL);
        char *content = NULL;

        g_assert_true(g_file_get_contents(path, &content, NULL, NULL));
        return content;
}

static unsigned count_entries(Fixture *f) {
        GDir *dir = g_dir_open(f->directory, 0, NULL);
        unsigned n = 0;

        while (g_dir_read_name(dir))
                n++;
        g_dir_close(dir);
        return n;
}

static int write_motd(Fixture *f, const char *content, EntryPointResult *result) {
        return motd_write_at(f->dir_fd, "motd", content, strlen(content), getuid(), getgid(), result);
}

static void test_creates_file(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};
        g_autofree char *content = NULL;
        struct stat st;

        g_assert_cmpint(write_motd(f, "hello\n", &result), ==, 0);

        content = read_file(f, "motd");
        g_assert_cmpstr(content, ==, "hello\n");
        g_assert_cmpint(fstatat(f->dir_fd, "motd", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISREG(st.st_mode));
        g_assert_cmpint(st.st_mode & 07777, ==, 0644);
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_replaces_file(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};
        g_autofree char *path = g_build_filename(f->directory, "motd", NULL);
        g_autofree char *content = NULL;
        struct stat before, after;

        g_assert_true(g_file_set_contents(path, "old content that is longer\n", -1, NULL));
        g_assert_cmpint(g_chmod(path, 0600), ==, 0);
        g_assert_cmpint(stat(path, &before), ==, 0);

        g_assert_cmpint(write_motd(f, "new\n", &result), ==, 0);

        content = read_file(f, "motd");
        g_assert_cmpstr(content, ==, "new\n");
        g_assert_cmpint(stat(path, &after), ==, 0);
        /* A new inode proves the rename rather than a rewrite in place. */
        g_assert_cmpuint(before.st_ino, !=, after.st_ino);
        g_assert_cmpint(after.st_mode & 07777, ==, 0644);
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_rejects_symlink(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};
        g_autofree char *target = g_build_filename(f->directory, "target", NULL);
        g_autofree char *content = NULL;
        struct stat st;

        g_assert_true(g_file_set_contents(target, "precious\n", -1, NULL));
        g_assert_cmpint(symlinkat("target", f->dir_fd, "motd"), ==, 0);

        g_assert_cmpint(write_motd(f, "attack\n", &result), ==, -ELOOP);
        g_assert_cmpstr(result.reason, !=, "");

        content = read_file(f, "target");
        g_assert_cmpstr(content, ==, "precious\n");
        g_assert_cmpint(fstatat(f->dir_fd, "motd", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISLNK(st.st_mode));
        g_assert_cmpuint(count_entries(f), ==, 2);
}

static void test_rejects_dangling_symlink(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};

        g_assert_cmpint(symlinkat("/nonexistent/privsep-test", f->dir_fd, "motd"), ==, 0);
        g_assert_cmpint(write_motd(f, "attack\n", &result), ==, -ELOOP);
        g_assert_cmpint(faccessat(AT_FDCWD, "/nonexistent/privsep-test", F_OK, 0), ==, -1);
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_rejects_directory(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};

        g_assert_cmpint(mkdirat(f->dir_fd, "motd", 0755), ==, 0);
        g_assert_cmpint(write_motd(f, "x\n", &result), ==, -EISDIR);
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_rejects_fifo(Fixture *f, gconstpointer data) {
        EntryPointResult result = {};

        g_assert_cmpint(mkfifoat(f->dir_fd, "motd", 0644), ==, 0);
        g_assert_cmpint(write_motd(f, "x\n", &result), ==, -EBADFD);
        g_assert_cmpstr(result.reason, !=, "");
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_empty_and_large(Fixture *f, gconstpointer data) {
        g_autofree char *large = g_strnfill(MOTD_SIZE_MAX, 'm');
        g_autofree char *content = NULL;
        EntryPointResult result = {};

        g_assert_cmpint(write_motd(f, large, &result), ==, 0);
        content = read_file(f, "motd");
        g_assert_cmpuint(strlen(content), ==, MOTD_SIZE_MAX);
        g_clear_pointer(&content, g_free);

        g_assert_cmpint(write_motd(f, "", &result), ==, 0);
        content = read_file(f, "motd");
        g_assert_cmpstr(content, ==, "");
        g_assert_cmpuint(count_entries(f), ==, 1);
}

static void test_failure_leaves_nothing(Fixture *f, gconstpointer data) {
        g_autofree char *path = g_build_filename(f->directory, "motd", NULL);
        g_autofree char *content = NULL;
        int status;
        pid_t pid;

        g_assert_true(g_file_set_contents(path, "old\n", -1, NULL));

        /* Handing the file to root fails without CAP_CHOWN: the old file
         * must stay and the temporary file must be gone. As root, the
         * write runs in a child that drops to nobody. */
        if (getuid() == 0)
                g_assert_cmpint(chown(f->directory, 65534, 65534), ==, 0);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                EntryPointResult result = {};

                if (getuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
                        _exit(2);
                _exit(motd_write_at(f->dir_fd, "motd", "new\n", 4, 0, 0, &result) == -EPERM ? 0 : 1);
        }

        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        content = read_file(f, "motd");
        g_assert_cmpstr(content, ==, "old\n");
        g_assert_cmpuint(count_entries(f), ==, 1);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, function) g_test_add(path, Fixture, NULL, fixture_set_up, function, fixture_tear_down)
        ADD("/motd/update/creates-file", test_creates_file);
        ADD("/motd/update/replaces-atomically", test_replaces_file);
        ADD("/motd/update/rejects-symlink", test_rejects_symlink);
        ADD("/motd/update/rejects-dangling-symlink", test_rejects_dangling_symlink);
        ADD("/motd/update/rejects-directory", test_rejects_directory);
        ADD("/motd/update/rejects-fifo", test_rejects_fifo);
        ADD("/motd/update/empty-and-largest", test_empty_and_large);
        ADD("/motd/update/failure-leaves-nothing", test_failure_leaves_nothing);

        return g_test_run();
}
