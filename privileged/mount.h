/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "entry-point.h"

/* The directory of the tmpfs mount points. /run/privsep belongs to the
 * service user. */
#define MOUNT_RUNTIME_DIRECTORY "/run/privsep"
#define MOUNT_DIRECTORY MOUNT_RUNTIME_DIRECTORY "/mounts"
#define MOUNT_NAME_MAX 32
/* The mount source that marks a tmpfs as mounted by this service. */
#define MOUNT_SOURCE "privsep"
#define MOUNT_SIZE_MIN UINT64_C(4096)
/* A fixed bound, so that validation reads nothing about the system; the
 * limit per user that depends on physical memory is checked after
 * authorization. */
#define MOUNT_SIZE_MAX (UINT64_C(1) << 40)
/* One inode per 16 KiB of size, and at least 256. tmpfs would otherwise
 * allow millions of inodes even in a tiny mount, each costing about 1 KiB
 * of kernel memory that the size limit does not count. */
#define MOUNT_BYTES_PER_INODE UINT64_C(16384)
#define MOUNT_INODES_MIN UINT64_C(256)
/* tmpfs mounts one user may hold at once through this service. */
#define MOUNT_PER_USER_MAX 16U

int mount_validate_name(const EntryPointValue *value, const char **ret_allowed);
int mount_validate_size(const EntryPointValue *value, const char **ret_allowed);

/* Creates the mount point 'name' in dir_fd, or reuses an empty directory that
 * a failed or interrupted earlier call left behind. Fails with -ELOOP for a
 * symbolic link and -ENOTDIR for anything else that is not a directory.
 * Sets *ret_created when it made the directory. */
int mount_prepare_directory(int dir_fd, const char *name, bool *ret_created);

/* Finds whether the mount with ID mount_id, as listed in a mountinfo file,
 * is a tmpfs with source MOUNT_SOURCE mounted at path. Returns 1 if so and
 * stores its owner in *ret_owner unless that is NULL, or 0 if not. */
int mount_is_privsep_tmpfs(const char *mountinfo_path, uint64_t mount_id, const char *path, uid_t *ret_owner);

/* Counts the tmpfs mounts under MOUNT_DIRECTORY that belong to owner, or to
 * anyone when owner is MOUNT_OWNER_ANY, and adds up their sizes in bytes. */
#define MOUNT_OWNER_ANY ((uid_t) -1)
int mount_usage(const char *mountinfo_path, uid_t owner, unsigned *ret_count, uint64_t *ret_size);
