/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mount.MountTmpfs and Mount.Unmount: tmpfs mounts under /run/privsep/mounts. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"
#include "util.h"

int mount_validate_name(const EntryPointValue *value, const char **ret_allowed) {
        const char *s = value->string;
        size_t length = strlen(s);

        *ret_allowed = "expected 1 to 32 characters of a-z, 0-9, '_' and '-', "
                       "starting with a letter or digit";

        if (length < 1 || length > MOUNT_NAME_MAX)
                return -EINVAL;

        for (size_t i = 0; i < length; i++) {
                char c = s[i];
                bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

                if (!alphanumeric && (i == 0 || (c != '_' && c != '-')))
                        return -EINVAL;
        }

        return 0;
}

/* Half of physical memory, in whole pages: the kernel's default tmpfs size,
 * which mountinfo then leaves out of the options. */
static uint64_t mount_default_size(void) {
        long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

        if (pages <= 0 || page_size <= 0)
                return 0;

        return (uint64_t) (pages / 2) * (uint64_t) page_size;
}

/* The maximum tmpfs size that one user may hold in all: half of physical
 * memory, so that the rest of the system keeps room when one user fills it. */
static uint64_t mount_user_size_max(void) {
        return mount_default_size();
}

/* The maximum tmpfs size of all users' mounts together. */
static uint64_t mount_total_size_max(void) {
        return mount_default_size() / 2 * 3;
}

int mount_validate_size(const EntryPointValue *value, const char **ret_allowed) {
        /* A tmpfs size of 0 would mean no limit at all. */
        *ret_allowed = "expected at least 4096 bytes and at most 1 TiB";

        if (value->u64 < MOUNT_SIZE_MIN || value->u64 > MOUNT_SIZE_MAX)
                return -EINVAL;

        return 0;
}

int mount_prepare_directory(int dir_fd, const char *name, bool *ret_created) {
        struct stat st;

        if (mkdirat(dir_fd, name, 0755) >= 0) {
                *ret_created = true;
                return 0;
        }
        if (errno != EEXIST)
                return -errno;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        *ret_created = false;
        return 0;
}

/* Splits the next space-separated field off *p. */
static char *mount_next_field(char **p) {
        char *field = *p ? strsep(p, " ") : NULL;
        return field ? field : "";
}

/* Finds the value of key in a comma-separated option list. */
static const char *mount_option(const char *options, const char *key) {
        size_t length = strlen(key);

        for (const char *p = options; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, key, length) == 0 && p[length] == '=')
                        return p + length + 1;

        return NULL;
}

typedef struct MountEntry {
        uint64_t id;
        const char *mount_point;
        bool privsep;      /* a tmpfs whose source is MOUNT_SOURCE */
        uid_t owner;       /* tmpfs uid= option; the kernel omits it for 0 */
        uint64_t size;     /* tmpfs size= option in KiB, left out when it is the default */
} MountEntry;

/* Parses one line of a mountinfo file in place:
 * ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS */
static int mount_parse_line(char *line, MountEntry *ret) {
        char *p = line, *end = NULL, *id, *type, *source, *options;
        const char *value;

        line[strcspn(line, "\n")] = '\0';

        id = mount_next_field(&p);
        *ret = (MountEntry) { .id = strtoull(id, &end, 10) };
        if (!end || end == id || *end != '\0')
                return -EBADMSG;

        for (int i = 0; i < 3; i++)
                (void) mount_next_field(&p);
        ret->mount_point = mount_next_field(&p);

        p = p ? strstr(p, "- ") : NULL;
        if (!p)
                return -EBADMSG;
        p += 2;

        type = mount_next_field(&p);
        source = mount_next_field(&p);
        options = mount_next_field(&p);

        ret->privsep = strcmp(type, "tmpfs") == 0 && strcmp(source, MOUNT_SOURCE) == 0;

        value = mount_option(options, "uid");
        ret->owner = value ? (uid_t) strtoul(value, NULL, 10) : 0;

        value = mount_option(options, "size");
        ret->size = value ? strtoull(value, NULL, 10) * 1024 : mount_default_size();

        return 0;
}

/* Calls visit for each entry of a mountinfo file until it returns non-zero,
 * and returns that value, 0 at the end of the file, or a negative errno. A
 * read error is reported rather than taken for the end of the file. */
static int mount_foreach_entry(const char *mountinfo_path, int (*visit)(const MountEntry *entry, void *userdata),
                               void *userdata) {
        char *line = NULL;
        size_t size = 0;
        int r = 0;
        FILE *f;

        f = fopen(mountinfo_path, "re");
        if (!f)
                return -errno;

        while (r == 0 && getline(&line, &size, f) > 0) {
                MountEntry entry;

                if (mount_parse_line(line, &entry) >= 0)
                        r = visit(&entry, userdata);
        }

        if (r == 0 && ferror(f))
                r = -EIO;

        free(line);
        fclose(f);
        return r;
}

typedef struct MountLookup {
        uint64_t mount_id;
        const char *path;
        uid_t owner;
} MountLookup;

/* Returns 1 when the entry with lookup's mount ID is a privsep tmpfs at the
 * expected path, and 2 when that entry is anything else, so that the search
 * stops at that entry. */
static int mount_visit_lookup(const MountEntry *entry, void *userdata) {
        MountLookup *lookup = userdata;

        if (entry->id != lookup->mount_id)
                return 0;
        if (!entry->privsep || strcmp(entry->mount_point, lookup->path) != 0)
                return 2;

        lookup->owner = entry->owner;
        return 1;
}

int mount_is_privsep_tmpfs(const char *mountinfo_path, uint64_t mount_id, const char *path, uid_t *ret_owner) {
        MountLookup lookup = { .mount_id = mount_id, .path = path };
        int r;

        r = mount_foreach_entry(mountinfo_path, mount_visit_lookup, &lookup);
        if (r < 0)
                return r;
        if (r != 1)
                return 0;

        if (ret_owner)
                *ret_owner = lookup.owner;
        return 1;
}

typedef struct MountTally {
        uid_t owner;
        unsigned count;
        uint64_t size;
} MountTally;

static int mount_visit_tally(const MountEntry *entry, void *userdata) {
        MountTally *tally = userdata;

        if (!entry->privsep || (tally->owner != MOUNT_OWNER_ANY && entry->owner != tally->owner) ||
            strncmp(entry->mount_point, MOUNT_DIRECTORY "/", strlen(MOUNT_DIRECTORY "/")) != 0)
                return 0;

        tally->count++;
        tally->size += entry->size;
        return 0;
}

int mount_usage(const char *mountinfo_path, uid_t owner, unsigned *ret_count, uint64_t *ret_size) {
        MountTally tally = { .owner = owner };
        int r;

        r = mount_foreach_entry(mountinfo_path, mount_visit_tally, &tally);
        if (r < 0)
                return r;

        *ret_count = tally.count;
        *ret_size = tally.size;
        return 0;
}

/* Finds whether dir_fd/name is the root of a tmpfs that this service
 * mounted at path, and who owns it. The mount ID comes from the directory
 * itself, so the result describes the mount that a later umount2() on it
 * would remove. */
static int mount_check_privsep_tmpfs(int dir_fd, const char *name, const char *path, uid_t *ret_owner) {
        struct statx st;

        if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MNT_ID, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.stx_mode) || !(st.stx_mask & STATX_MNT_ID))
                return 0;

        return mount_is_privsep_tmpfs("/proc/self/mountinfo", st.stx_mnt_id, path, ret_owner);
}

static int mount_open_directory(EntryPointResult *result) {
        _cleanup_close_ int runtime_fd = -1;
        int fd;

        runtime_fd = open(MOUNT_RUNTIME_DIRECTORY, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (runtime_fd < 0) {
                entry_point_set_reason(result, "Failed to open %s", MOUNT_RUNTIME_DIRECTORY);
                return -errno;
        }

        if (mkdirat(runtime_fd, "mounts", 0755) < 0 && errno != EEXIST) {
                entry_point_set_reason(result, "Failed to create %s", MOUNT_DIRECTORY);
                return -errno;
        }

        fd = openat(runtime_fd, "mounts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                entry_point_set_reason(result, "Failed to open %s", MOUNT_DIRECTORY);
                return -errno;
        }

        /* The service's umask would leave the directory closed to the
         * callers who own the mounts inside it. */
        if (fchmod(fd, 0755) < 0) {
                int r = -errno;

                entry_point_set_reason(result, "Failed to set mode 0755 on %s", MOUNT_DIRECTORY);
                close(fd);
                return r;
        }

        return fd;
}

static int mount_configure_number(int fs_fd, const char *key, unsigned long long value) {
        char buffer[32];

        snprintf(buffer, sizeof(buffer), "%llu", value);
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key, buffer, 0) < 0)
                return -errno;

        return 0;
}

/* Creates a detached tmpfs mount with the new mount API, so that attaching
 * it is a single move_mount() relative to a directory fd. */
static int mount_create_tmpfs(uint64_t size, uid_t uid, gid_t gid) {
        _cleanup_close_ int fs_fd = -1;
        int r, mount_fd;

        fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return -errno;

        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", MOUNT_SOURCE, 0) < 0)
                return -errno;

        r = mount_configure_number(fs_fd, "size", size);
        if (r < 0)
                return r;

        r = mount_configure_number(fs_fd, "nr_inodes",
                                   size / MOUNT_BYTES_PER_INODE > MOUNT_INODES_MIN ? size / MOUNT_BYTES_PER_INODE
                                                                                  : MOUNT_INODES_MIN);
        if (r < 0)
                return r;

        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0)
                return -errno;

        r = mount_configure_number(fs_fd, "uid", uid);
        if (r < 0)
                return r;

        r = mount_configure_number(fs_fd, "gid", gid);
        if (r < 0)
                return r;

        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;

        mount_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mount_fd < 0)
                return -errno;

        return mount_fd;
}

/* Limits how much tmpfs one user can hold through this service: each mount
 * may be as large as 1 TiB, far more than physical memory. */
static int mount_check_usage(uid_t uid, uint64_t size, EntryPointResult *result) {
        uint64_t total;
        unsigned count;
        int r;

        r = mount_usage("/proc/self/mountinfo", uid, &count, &total);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to read /proc/self/mountinfo");
                return r;
        }

        if (count >= MOUNT_PER_USER_MAX) {
                entry_point_set_reason(result, "uid %u already has %u tmpfs mounts, the maximum", (unsigned) uid, count);
                return -EDQUOT;
        }

        if (total + size > mount_user_size_max() || total + size < total) {
                entry_point_set_reason(result, "uid %u already has tmpfs mounts of %llu bytes; with %llu more the total "
                                       "would exceed half of physical memory (%llu bytes)", (unsigned) uid,
                                       (unsigned long long) total, (unsigned long long) size,
                                       (unsigned long long) mount_user_size_max());
                return -EDQUOT;
        }

        /* Several users together may take three quarters of physical
         * memory, so that no combination of users can pin all of it. */
        r = mount_usage("/proc/self/mountinfo", MOUNT_OWNER_ANY, &count, &total);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to read /proc/self/mountinfo");
                return r;
        }

        if (total + size > mount_total_size_max() || total + size < total) {
                entry_point_set_reason(result, "privsep tmpfs mounts already take %llu bytes; with %llu more the total "
                                       "would exceed three quarters of physical memory (%llu bytes)",
                                       (unsigned long long) total, (unsigned long long) size,
                                       (unsigned long long) mount_total_size_max());
                return -EDQUOT;
        }

        return 0;
}

static int mount_tmpfs(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *name = arguments[0].string;
        uint64_t size = arguments[1].u64;
        char path[sizeof(MOUNT_DIRECTORY) + MOUNT_NAME_MAX + 2];
        bool created = false;
        int r;

        snprintf(path, sizeof(path), "%s/%s", MOUNT_DIRECTORY, name);

        _cleanup_close_ int dir_fd = mount_open_directory(result);
        if (dir_fd < 0)
                return dir_fd;

        /* Two instances overlap for a moment during a restart: the lock
         * keeps their limit checks and mounts from interleaving. It goes
         * with the fd. */
        if (flock(dir_fd, LOCK_EX) < 0) {
                entry_point_set_reason(result, "Failed to lock %s", MOUNT_DIRECTORY);
                return -errno;
        }

        r = mount_check_privsep_tmpfs(dir_fd, name, path, NULL);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to check for a mount at %s", path);
                return r;
        }
        if (r > 0) {
                entry_point_set_reason(result, "A tmpfs is already mounted at %s", path);
                return -EEXIST;
        }

        r = mount_check_usage(caller->uid, size, result);
        if (r < 0)
                return r;

        r = mount_prepare_directory(dir_fd, name, &created);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to create the mount point %s", path);
                return r;
        }

        _cleanup_close_ int mount_fd = mount_create_tmpfs(size, caller->uid, caller->gid);
        if (mount_fd < 0) {
                r = mount_fd;
                entry_point_set_reason(result, "Failed to create a tmpfs of %llu bytes", (unsigned long long) size);
        } else if (move_mount(mount_fd, "", dir_fd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                r = -errno;
                entry_point_set_reason(result, "Failed to mount the tmpfs at %s", path);
        }

        /* Nothing is left half done: a mount point made for this call goes
         * again when the mount failed. */
        if (r < 0 && created)
                (void) unlinkat(dir_fd, name, AT_REMOVEDIR);

        return r < 0 ? r : 0;
}

static int mount_unmount(const EntryPointValue *arguments, const EntryPointCaller *caller, EntryPointResult *result) {
        const char *name = arguments[0].string;
        char path[sizeof(MOUNT_DIRECTORY) + MOUNT_NAME_MAX + 2];
        char fd_path[64 + MOUNT_NAME_MAX];
        uid_t owner = 0;
        int r;

        snprintf(path, sizeof(path), "%s/%s", MOUNT_DIRECTORY, name);

        _cleanup_close_ int dir_fd = mount_open_directory(result);
        if (dir_fd < 0)
                return dir_fd;

        r = mount_check_privsep_tmpfs(dir_fd, name, path, &owner);
        if (r < 0) {
                entry_point_set_reason(result, "Failed to check for a mount at %s", path);
                return r;
        }
        if (r == 0) {
                entry_point_set_reason(result, "No tmpfs mounted by privsep at %s", path);
                return -ENOENT;
        }
        if (caller->uid != 0 && caller->uid != owner) {
                entry_point_set_reason(result, "The tmpfs at %s belongs to uid %u; only its owner or root may unmount it",
                                       path, (unsigned) owner);
                return -EPERM;
        }

        /* umount2() takes only a path. Going through the directory fd means
         * no symbolic link planted above the mount point is followed, and
         * UMOUNT_NOFOLLOW covers the mount point itself. */
        snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d/%s", dir_fd, name);
        if (umount2(fd_path, UMOUNT_NOFOLLOW) < 0) {
                entry_point_set_reason(result, "Failed to unmount %s", path);
                return -errno;
        }

        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                entry_point_set_reason(result, "Unmounted %s but failed to remove the directory", path);
                return -errno;
        }

        return 0;
}

/* The first argument of every Mount method. */
#define MOUNT_NAME_ARGUMENT                                     \
        {                                                       \
                .name = "name",                                 \
                .type = 's',                                    \
                .description = "mount name",                    \
                .polkit_detail = "mount",                       \
                .log = true,                                    \
                .validate = mount_validate_name,                \
        }

static const EntryPointArgument mount_tmpfs_arguments[] = {
        MOUNT_NAME_ARGUMENT,
        {
                .name = "size_bytes",
                .type = 't',
                .description = "size in bytes",
                .polkit_detail = "size_bytes",
                .log = true,
                .validate = mount_validate_size,
        },
};

ENTRY_POINT(mount_tmpfs_entry_point) = {
        .interface = "org.privsep.Privsep1.Mount",
        .member = "MountTmpfs",
        .action_id = "org.privsep.mount.mount-tmpfs",
        .polkit_message = "Authentication is required to mount a tmpfs named $(mount).",
        .context = &privilege_context_sys_admin,
        .arguments = mount_tmpfs_arguments,
        .n_arguments = ELEMENTSOF(mount_tmpfs_arguments),
        .function = mount_tmpfs,
};

static const EntryPointArgument mount_unmount_arguments[] = {
        MOUNT_NAME_ARGUMENT,
};

ENTRY_POINT(mount_unmount_entry_point) = {
        .interface = "org.privsep.Privsep1.Mount",
        .member = "Unmount",
        .action_id = "org.privsep.mount.unmount",
        .polkit_message = "Authentication is required to unmount the tmpfs named $(mount).",
        .context = &privilege_context_sys_admin,
        .arguments = mount_unmount_arguments,
        .n_arguments = ELEMENTSOF(mount_unmount_arguments),
        .function = mount_unmount,
        /* Freeing a full tmpfs takes time in proportion to its size: about
         * 3 s for 12 GiB on a 2-core test machine. */
        .timeout_usec = 60 * UINT64_C(1000000),
};
