#!/usr/bin/python3
"""Check who may unmount a tmpfs, and how many tmpfs mounts a user may hold.

Only the owner of a tmpfs (the caller that mounted it) or root may unmount
it, although polkit allows both callers the action. One user may hold at
most 16 mounts, together no larger than half of physical memory, and all
users' mounts together may take three quarters of it. Each mount has an inode
limit in proportion to its size.
"""

import os

import privsep_bus as bus

MEMBER = bus.MEMBER_USER
OTHER = bus.EXTRA_USER
MOUNTS_MAX = 16
LIMIT_EXCEEDED = bus.ERROR_PREFIX + "LimitExceeded"
PERMISSION_DENIED = bus.ERROR_PREFIX + "PermissionDenied"

RULES = """\
// Test-only: ps-extra is a second user that may run every privsep method.
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.privsep.") == 0 && subject.user == "%s")
        return polkit.Result.YES;
});
""" % OTHER


def mount_point(name):
    return f"{bus.MOUNT_DIRECTORY}/{name}"


def test_owner_only(env, tap):
    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["shared", 1 << 20])
    tap.ok(result.ok, "the member mounts a tmpfs", repr(result))
    with open(os.path.join(mount_point("shared"), "data"), "w") as f:
        f.write("kept")

    result = env.call(OTHER, "Mount", "Unmount", "s", ["shared"])
    tap.equal(result.error_name, PERMISSION_DENIED, "another user may not unmount the member's tmpfs")
    tap.ok(result.error_message and "belongs to uid" in result.error_message,
           "the error names the owner", repr(result))
    tap.ok(mount_point("shared") in bus.privsep_mounts(), "the member's tmpfs stays mounted")
    tap.ok(os.path.exists(os.path.join(mount_point("shared"), "data")), "the member's data stays")

    result = env.call(OTHER, "Mount", "MountTmpfs", "st", ["shared", 1 << 20])
    tap.equal(result.error_name, bus.ERROR_PREFIX + "AlreadyExists", "another user may not mount over it")

    result = env.call(MEMBER, "Mount", "Unmount", "s", ["shared"])
    tap.ok(result.ok, "the owner unmounts it", repr(result))

    env.call(MEMBER, "Mount", "MountTmpfs", "st", ["shared", 1 << 20])
    result = env.call("root", "Mount", "Unmount", "s", ["shared"])
    tap.ok(result.ok, "root unmounts any user's tmpfs", repr(result))
    tap.ok(mount_point("shared") not in bus.privsep_mounts(), "nothing is left mounted")


def test_count_limit(env, tap):
    results = [env.call(MEMBER, "Mount", "MountTmpfs", "st", [f"m{i}", 4096]) for i in range(MOUNTS_MAX)]
    tap.ok(all(r.ok for r in results), f"the member mounts {MOUNTS_MAX} tmpfs", repr(results))

    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["one-more", 4096])
    tap.equal(result.error_name, LIMIT_EXCEEDED, "a mount beyond the maximum is rejected")
    tap.ok(mount_point("one-more") not in bus.privsep_mounts(), "and nothing is mounted for it")
    tap.ok(not os.path.exists(mount_point("one-more")), "and no directory is left for it")

    result = env.call(OTHER, "Mount", "MountTmpfs", "st", ["other-user", 4096])
    tap.ok(result.ok, "another user's mounts are counted apart", repr(result))

    for name in [f"m{i}" for i in range(MOUNTS_MAX)]:
        env.call(MEMBER, "Mount", "Unmount", "s", [name])
    env.call(OTHER, "Mount", "Unmount", "s", ["other-user"])
    tap.equal(bus.privsep_mounts(), set(), "all test mounts are gone")


def test_size_limit(env, tap):
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    half = memory // 2 // 4096 * 4096

    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["too-big", half + (1 << 20)])
    tap.equal(result.error_name, LIMIT_EXCEEDED, "one tmpfs larger than half of physical memory is rejected")
    tap.ok(result.error_message and "Disk quota" not in result.error_message,
           "the error explains the limit in its own words", repr(result))

    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["big", half])
    tap.ok(result.ok, "one tmpfs of half of physical memory is allowed", repr(result))

    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["more", 1 << 20])
    tap.equal(result.error_name, LIMIT_EXCEEDED, "a second one past half of physical memory in total is rejected")
    tap.ok(mount_point("more") not in bus.privsep_mounts(), "and nothing is mounted for it")

    # All users together may take three quarters of physical memory.
    result = env.call(OTHER, "Mount", "MountTmpfs", "st", ["other-big", half])
    tap.equal(result.error_name, LIMIT_EXCEEDED, "another user's half on top is rejected")
    tap.ok(result.error_message and "three quarters" in result.error_message,
           "the error names the overall limit", repr(result))
    quarter = half // 2 // 4096 * 4096
    result = env.call(OTHER, "Mount", "MountTmpfs", "st", ["other-quarter", quarter])
    tap.ok(result.ok, "another user's quarter on top is allowed", repr(result))
    env.call(OTHER, "Mount", "Unmount", "s", ["other-quarter"])

    env.call(MEMBER, "Mount", "Unmount", "s", ["big"])
    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["more", 1 << 20])
    tap.ok(result.ok, "after unmounting, the user may mount again", repr(result))
    env.call(MEMBER, "Mount", "Unmount", "s", ["more"])


def test_inode_limit(env, tap):
    result = env.call(MEMBER, "Mount", "MountTmpfs", "st", ["tiny", 4096])
    tap.ok(result.ok, "the member mounts a 4096-byte tmpfs", repr(result))
    entry = bus.mount_entry(mount_point("tiny"))
    tap.ok(entry and "nr_inodes=256" in entry["super_options"],
           "the tmpfs allows 256 inodes", repr(entry))

    created = 0
    try:
        for i in range(1000):
            open(os.path.join(mount_point("tiny"), f"f{i}"), "w").close()
            created += 1
    except OSError:
        pass
    tap.ok(created < 256, "empty files cannot exceed the inode limit", f"created {created} files")

    result = env.call(MEMBER, "Mount", "Unmount", "s", ["tiny"])
    tap.ok(result.ok, "the full tmpfs unmounts", repr(result))


def main(env, tap):
    test_owner_only(env, tap)
    test_count_limit(env, tap)
    test_size_limit(env, tap)
    test_inode_limit(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main, extra_rules=RULES)
