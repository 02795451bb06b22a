/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "entry-point.h"

/* 64 KiB */
#define MOTD_SIZE_MAX ((size_t) 65536)

int motd_validate(const EntryPointValue *value, const char **ret_allowed);

/* Replaces the file 'name' in the directory dir_fd with content, atomically:
 * a temporary file in the same directory is written, given mode 0644 and
 * owner uid:gid, synced and renamed over the old file. Fails with -ELOOP when
 * the old file is a symbolic link, and leaves no temporary file behind when
 * it returns. */
int motd_write_at(int dir_fd, const char *name, const char *content, size_t size,
                  uid_t uid, gid_t gid, EntryPointResult *result);
