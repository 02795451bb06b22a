/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Motd.Update: replaces /etc/motd. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "motd.h"
#include "util.h"

/* errno values with which openat(O_TMPFILE) reports that the file system
 * does not support it. */
#define MOTD_TMPFILE_UNSUPPORTED(e) ((e) == EOPNOTSUPP || (e) == EISDIR || (e) == EINVAL)

int motd_validate(const EntryPointValue *value, const char **ret_allowed) {
        const unsigned char *s = (const unsigned char *) value->string;
        size_t length = strlen(value->string);

        *ret_allowed = "expected at most 65536 bytes of text without control characters "
                       "other than tab and newline";

        if (length > MOTD_SIZE_MAX)
                return -EINVAL;

        for (size_t i = 0; i < length; i++) {
                if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
                        return -EINVAL;

                /* C1 control characters U+0080 to U+009F, as UTF-8. Terminals
                 * act on some of them, just as on escape sequences. */
                if (s[i] == 0xc2 && i + 1 < length && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
                        return -EINVAL;
        }

        return 0;
}

static int motd_random_name(char *name, size_t size) {
        uint64_t random;

        if (getrandom(&random, sizeof(random), 0) != sizeof(random))
                return -EIO;

        snprintf(name, size, ".#motd%016llx", (unsigned long long) random);
        return 0;
}

/* Creates a named temporary file, for file systems without O_TMPFILE. */
static int motd_open_named_temporary(int dir_fd, char *name, size_t size) {
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                int fd, r;

                r = motd_random_name(name, size);
                if (r < 0)
                        return r;

                fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
        }

        return -EEXIST;
}

/* Gives an O_TMPFILE file a random name in dir_fd. Linking through
 * /proc/self/fd needs no CAP_DAC_READ_SEARCH, unlike AT_EMPTY_PATH. */
static int motd_link_temporary(int fd, int dir_fd, char *name, size_t size) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        for (unsigned attempt = 0; attempt < 16; attempt++) {
                int r = motd_random_name(name, size);
                if (r < 0)
                        return r;

                if (linkat(AT_FDCWD, path, dir_fd, name, AT_SYMLINK_FOLLOW) >= 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }

        return -EEXIST;
}

/* Writes the content, mode and owner of the temporary file and syncs it. */
static int motd_fill_temporary(int fd, const char *content, size_t size, uid_t uid, gid_t gid,
                               EntryPointResult *result) {
        int r;

        r = util_write_all(fd, content, size);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to write the temporary file");
                return r;
        }

        /* Mode first: once root owns the file, changing its mode would need
         * CAP_FOWNER, which this context does not hold. */
        if (fchmod(fd, 0644) < 0 || fchown(fd, uid, gid) < 0) {
                entry_point_set_reason(result, "Failed to set the owner and mode of the temporary file");
                return -errno;
        }

        if (fsync(fd) < 0) {
                entry_point_set_reason(result, "Failed to sync the temporary file");
                return -errno;
        }

        return 0;
}

int motd_write_at(int dir_fd, const char *name, const char *content, size_t size,
                  uid_t uid, gid_t gid, EntryPointResult *result) {
        char temporary[32];
        struct stat st;
        int r;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT) {
                        entry_point_set_reason(result, "Failed to look at the current file");
                        return -errno;
                }
        } else if (S_ISLNK(st.st_mode)) {
                entry_point_set_reason(result, "The current file is a symbolic link; replace it with a regular file first");
                return -ELOOP;
        } else if (!S_ISREG(st.st_mode)) {
                entry_point_set_reason(result, "The current file is not a regular file");
                return S_ISDIR(st.st_mode) ? -EISDIR : -EBADFD;
        }

        /* An unnamed O_TMPFILE file gets a name only once it is complete,
         * so a worker killed at its deadline while writing or syncing
         * leaves nothing behind. Where the file system lacks O_TMPFILE, a
         * named temporary file is written instead.
         * NOTE: a kill between linkat() and renameat(), or during the
         * named-file fallback, leaves a .#motd file in the directory. */
        bool named = false;
        _cleanup_close_ int fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 && MOTD_TMPFILE_UNSUPPORTED(errno)) {
                fd = motd_open_named_temporary(dir_fd, temporary, sizeof(temporary));
                named = fd >= 0;
                if (fd < 0)
                        errno = -fd;
        }
        if (fd < 0) {
                entry_point_set_reason(result, "Failed to create a temporary file");
                return -errno;
        }

        r = motd_fill_temporary(fd, content, size, uid, gid, result);
        if (r >= 0 && !named) {
                r = motd_link_temporary(fd, dir_fd, temporary, sizeof(temporary));
                if (r < 0)
                        entry_point_set_reason(result, "Failed to give the temporary file a name");
                named = r >= 0;
        }
        if (r >= 0 && renameat(dir_fd, temporary, dir_fd, name) < 0) {
                r = -errno;
                entry_point_set_reason(result, "Failed to move the new file into place");
        }
        if (r < 0) {
                if (named)
                        (void) unlinkat(dir_fd, temporary, 0);
                return r;
        }

        /* The rename is durable once the directory is synced; the new content
         * is in place either way, so a failure here is not reported. */
        (void) fsync(dir_fd);
        return 0;
}

static int motd_update(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *message = arguments[0].string;

        _cleanup_close_ int etc_fd = open("/etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (etc_fd < 0) {
                entry_point_set_reason(result, "Failed to open /etc");
                return -errno;
        }

        return motd_write_at(etc_fd, "motd", message, strlen(message), 0, 0, result);
}

static const EntryPointArgument motd_update_arguments[] = {
        {
                .name = "message",
                .type = 's',
                .description = "message",
                .polkit_detail = NULL,
                .log = true,
                .validate = motd_validate,
        },
};

ENTRY_POINT(motd_update_entry_point) = {
        .interface = "org.privsep.Privsep1.Motd",
        .member = "Update",
        .action_id = "org.privsep.motd.update",
        .polkit_message = "Authentication is required to change the message of the day.",
        .context = &privilege_context_file_admin,
        .arguments = motd_update_arguments,
        .n_arguments = ELEMENTSOF(motd_update_arguments),
        .function = motd_update,
};
