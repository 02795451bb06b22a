/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The whitelist of privileged operations.
 *
 * Every operation that runs with capabilities is an entry point declared with
 * ENTRY_POINT() next to its function. The declaration names the D-Bus method,
 * the polkit action, the privilege context and a validator for each argument.
 * The service builds its D-Bus vtables from these declarations and from
 * nothing else.
 *
 * The call into an entry point is data only: validated argument values in, a
 * negative errno and an optional reason text out. That keeps it possible to
 * run each privilege context in a process of its own. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "context.h"

#define ENTRY_POINT_ARGUMENTS_MAX 4
#define ENTRY_POINT_REASON_MAX 256

typedef union EntryPointValue {
        const char *string; /* 's' */
        uint64_t u64;       /* 't' */
        uint32_t u32;       /* 'u' */
        bool boolean;       /* 'b' */
} EntryPointValue;

/* Checks one argument without looking at the system. Returns 0 when the value
 * is allowed, or -EINVAL and sets *ret_allowed to a static text that describes
 * the allowed values. */
typedef int (*EntryPointValidator)(const EntryPointValue *value, const char **ret_allowed);

typedef struct EntryPointArgument {
        const char *name;        /* D-Bus argument name */
        char type;               /* D-Bus type code: 's', 't', 'u' or 'b' */
        const char *description; /* noun used in error messages, e.g. "interface name" */
        const char *polkit_detail; /* polkit detail key that carries the value, or NULL */
        bool log;                /* whether the journal entry records the value */
        EntryPointValidator validate;
} EntryPointArgument;

/* The caller's uid as the bus daemon reported it, and its primary gid from
 * the user database. */
typedef struct EntryPointCaller {
        uid_t uid;
        gid_t gid;
} EntryPointCaller;

typedef struct EntryPointResult {
        /* A sentence about what failed, without the errno text, or empty. */
        char reason[ENTRY_POINT_REASON_MAX];
} EntryPointResult;

/* Runs the operation with the context's capabilities effective. Returns 0 or
 * a negative errno; on failure it may fill result->reason. */
typedef int (*EntryPointFunction)(const EntryPointValue *arguments,
                                  const EntryPointCaller *caller,
                                  EntryPointResult *result);

typedef struct EntryPoint {
        const char *interface;
        const char *member;
        const char *action_id;
        /* polkit.message, with $(detail) placeholders that polkit fills in */
        const char *polkit_message;
        const PrivilegeContext *context;
        const EntryPointArgument *arguments;
        size_t n_arguments;
        EntryPointFunction function;
        /* Time limit for one run in microseconds; 0 selects the default. */
        uint64_t timeout_usec;
} EntryPoint;

/* Entry points are collected in a linker section, so that a declaration is
 * all it takes and a test build can add test-only entry points. */
#define ENTRY_POINT(variable)                                                   \
        static const EntryPoint variable;                                       \
        __attribute__((used, retain, section("privsep_entry_points"), aligned(sizeof(void *)))) \
        static const EntryPoint *const variable##_pointer = &variable;          \
        static const EntryPoint variable

extern const EntryPoint *const __start_privsep_entry_points[];
extern const EntryPoint *const __stop_privsep_entry_points[];

#define ENTRY_POINT_FOREACH(e)                                                  \
        for (const EntryPoint *const *_i = __start_privsep_entry_points, *e;   \
             _i < __stop_privsep_entry_points && ((e = *_i), true); _i++)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

size_t entry_point_count(void);
const EntryPoint *entry_point_find(const char *interface, const char *member);
const char *entry_point_signature(const EntryPoint *e, char *buffer, size_t size);

/* Runs an entry point with exactly its context's capabilities effective, and
 * none afterwards. Aborts the process if the capabilities cannot be lowered
 * again. */
int entry_point_run(const EntryPoint *e,
                    const EntryPointValue *arguments,
                    const EntryPointCaller *caller,
                    EntryPointResult *result);

/* Sets the reason text of a failed run. Leaves errno unchanged. */
void entry_point_set_reason(EntryPointResult *result, const char *format, ...)
        __attribute__((format(printf, 2, 3)));
