/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount point preparation and the mountinfo check, without mounting. */

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory-fixture.h"
#include "mount.h"

typedef DirectoryFixture Fixture;

static void fixture_set_up(Fixture *f, gconstpointer data) {
        directory_fixture_set_up(f, "privsep-mount-XXXXXX", O_PATH);
}

static void fixture_tear_down(Fixture *f, gconstpointer data) {
        directory_fixture_tear_down(f);
}

static void test_creates_directory(Fixture *f, gconstpointer data) {
        bool created = false;
        struct stat st;

        g_assert_cmpint(mount_prepare_directory(f->dir_fd, "data", &created), ==, 0);
        g_assert_true(created);
        g_assert_cmpint(fstatat(f->dir_fd, "data", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
        g_assert_true(S_ISDIR(st.st_mode));
}

static void test_reuses_directory(Fixture *f, gconstpointer data) {
        bool created = true;

        g_assert_cmpint(mkdirat(f->dir_fd, "data", 0755), ==, 0);
        g_assert_cmpint(mount_prepare_directory(f->dir_fd, "data", &created), ==, 0);
        g_assert_false(created);
}

static void test_rejects_symlink(Fixture *f, gconstpointer data) {
        g_autofree char *target = g_build_filename(f->directory, "elsewhere", NULL);
        bool created = false;
        struct stat st;

        /* A link to a directory, and a dangling one: neither is followed. */
        g_assert_cmpint(mkdirat(f->dir_fd, "elsewhere", 0755), ==, 0);
        g_assert_cmpint(symlinkat(target, f->dir_fd, "data"), ==, 0);
        g_assert_cmpint(mount_prepare_directory(f->dir_fd, "data", &created), ==, -ELOOP);
        g_assert_false(created);

        g_assert_cmpint(symlinkat("/nonexistent/privsep-test", f->dir_fd, "dangling"), ==, 0);
        g_assert_cmpint(mount_prepare_directory(f->dir_fd, "dangling", &created), ==, -ELOOP);
        g_assert_cmpint(stat("/nonexistent/privsep-test", &st), ==, -1);
}

static void test_rejects_file(Fixture *f, gconstpointer data) {
        bool created = false;
        int fd;

        fd = openat(f->dir_fd, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        g_assert_cmpint(fd, >=, 0);
        close(fd);

        g_assert_cmpint(mount_prepare_directory(f->dir_fd, "data", &created), ==, -ENOTDIR);
}

static char *write_mountinfo(Fixture *f, const char *content) {
        char *path = g_build_filename(f->directory, "mountinfo", NULL);
        g_assert_true(g_file_set_contents(path, content, -1, NULL));
        return path;
}

static void test_mountinfo(Fixture *f, gconstpointer data) {
        g_autofree char *path = write_mountinfo(f,
                "22 1 0:21 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755\n"
                "90 22 0:42 / /run/privsep/mounts/ours rw,nosuid,nodev,noexec,relatime shared:7 - tmpfs privsep rw,size=1024k,mode=755,uid=61003,gid=61003\n"
                "91 22 0:43 / /run/privsep/mounts/other rw,relatime - tmpfs tmpfs rw,size=1024k\n"
                "92 22 0:44 / /run/privsep/mounts/covered rw - tmpfs privsep rw\n"
                "93 92 0:45 / /run/privsep/mounts/covered rw - ext4 /dev/sda1 rw\n"
                "94 22 0:46 / /elsewhere rw - tmpfs privsep rw\n"
                "950 22 0:47 / /run/privsep/mounts/long-id rw - tmpfs privsep rw,size=4k,mode=755\n");
        uid_t owner = 1;

        g_assert_cmpint(mount_is_privsep_tmpfs(path, 90, "/run/privsep/mounts/ours", &owner), ==, 1);
        g_assert_cmpuint(owner, ==, 61003);
        /* The kernel omits uid=0. */
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 950, "/run/privsep/mounts/long-id", &owner), ==, 1);
        g_assert_cmpuint(owner, ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 90, "/run/privsep/mounts/ours", NULL), ==, 1);

        /* Someone else's tmpfs, another file system on top, a privsep tmpfs
         * moved elsewhere, a wrong ID, or nothing. */
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 91, "/run/privsep/mounts/other", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 93, "/run/privsep/mounts/covered", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 94, "/run/privsep/mounts/ours", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 95, "/run/privsep/mounts/long-id", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 9, "/run/privsep/mounts/ours", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 22, "/run/privsep/mounts/none", NULL), ==, 0);
        g_assert_cmpint(mount_is_privsep_tmpfs(path, 90, "/run/privsep/mounts/our", NULL), ==, 0);
}

static void test_mountinfo_missing(Fixture *f, gconstpointer data) {
        unsigned count;
        uint64_t size;

        g_assert_cmpint(mount_is_privsep_tmpfs("/nonexistent/mountinfo", 1, "/run", NULL), ==, -ENOENT);
        g_assert_cmpint(mount_usage("/nonexistent/mountinfo", 0, &count, &size), ==, -ENOENT);
}

static void test_usage(Fixture *f, gconstpointer data) {
        g_autofree char *path = write_mountinfo(f,
                "22 1 0:21 / /run rw - tmpfs tmpfs rw,mode=755\n"
                "90 22 0:42 / /run/privsep/mounts/a rw - tmpfs privsep rw,size=1024k,mode=755,uid=61003,gid=61003\n"
                "91 22 0:43 / /run/privsep/mounts/b rw - tmpfs privsep rw,size=2048k,mode=755,uid=61003,gid=61003\n"
                "92 22 0:44 / /run/privsep/mounts/c rw - tmpfs privsep rw,size=4k,mode=755\n"
                "93 22 0:45 / /run/privsep/mounts/d rw - tmpfs tmpfs rw,size=8k,uid=61003\n"
                "94 22 0:46 / /elsewhere rw - tmpfs privsep rw,size=8k,uid=61003\n"
                "95 22 0:47 / /run/privsep/mounts/e rw - tmpfs privsep rw,size=16k,mode=755,uid=610030\n"
                "96 22 0:48 / /run/privsep/mounts/f rw - tmpfs privsep rw,nr_inodes=1000,mode=755,uid=4343\n");
        uint64_t default_size = (uint64_t) (sysconf(_SC_PHYS_PAGES) / 2) * (uint64_t) sysconf(_SC_PAGESIZE);
        unsigned count = 0;
        uint64_t size = 0;

        g_assert_cmpint(mount_usage(path, 61003, &count, &size), ==, 0);
        g_assert_cmpuint(count, ==, 2);
        g_assert_cmpuint(size, ==, 3072 * 1024);

        g_assert_cmpint(mount_usage(path, 0, &count, &size), ==, 0);
        g_assert_cmpuint(count, ==, 1);
        g_assert_cmpuint(size, ==, 4096);

        /* The kernel leaves size= out when it is half of physical memory. */
        g_assert_cmpint(mount_usage(path, 4343, &count, &size), ==, 0);
        g_assert_cmpuint(count, ==, 1);
        g_assert_cmpuint(size, ==, default_size);

        g_assert_cmpint(mount_usage(path, 4242, &count, &size), ==, 0);
        g_assert_cmpuint(count, ==, 0);
        g_assert_cmpuint(size, ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, function) g_test_add(path, Fixture, NULL, fixture_set_up, function, fixture_tear_down)
        ADD("/mount/directory/creates", test_creates_directory);
        ADD("/mount/directory/reuses-empty", test_reuses_directory);
        ADD("/mount/directory/rejects-symlink", test_rejects_symlink);
        ADD("/mount/directory/rejects-file", test_rejects_file);
        ADD("/mount/mountinfo/finds-own-tmpfs", test_mountinfo);
        ADD("/mount/mountinfo/missing-file", test_mountinfo_missing);
        ADD("/mount/mountinfo/usage-per-owner", test_usage);

        return g_test_run();
}
