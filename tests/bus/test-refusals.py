#!/usr/bin/python3
"""Check the named errors of operations that privsepd must reject after
authorization: a symbolic link at /etc/motd or at a mount point, names that
are not mounted, a second mount under one name, interfaces that do not
exist. Each refusal must leave the system as it was.
"""

import os
import socket

import privsep_bus as bus
from privsep_bus import ERROR_PREFIX, MOUNT_DIRECTORY, VETH

# Both callers are authorized: root skips polkit, the member passes the rules.
CALLERS = ("root", bus.MEMBER_USER)


def test_motd_symlink(env, tap):
    target = "/etc/motd-symlink-target"
    outside = "/run/privsep-bus-test/outside-etc"

    for caller in CALLERS:
        for link_target in (target, outside):
            what = f"Motd.Update as {caller} with /etc/motd -> {link_target}"
            with open(link_target, "w") as f:
                f.write("symlink target content\n")
            os.chmod(link_target, 0o600)
            os.unlink(bus.MOTD)
            os.symlink(link_target, bus.MOTD)
            target_before = bus.motd_state(link_target)
            names_before = bus.etc_names()

            result = env.call(caller, "Motd", "Update", "s", ["must not be written\n"])

            tap.equal(result.error_name, ERROR_PREFIX + "SymbolicLink", f"{what} fails with SymbolicLink")
            state = bus.motd_state()
            tap.equal((state["type"], state.get("target")), ("symlink", link_target),
                      f"{what} leaves the symlink in place")
            tap.equal(bus.motd_state(link_target), target_before, f"{what} leaves the target untouched")
            tap.equal(bus.etc_names(), names_before, f"{what} leaves no file behind in /etc")

    os.unlink(bus.MOTD)
    bus.write_motd("regular again\n")


def test_motd_empty(env, tap):
    bus.write_motd("not empty\n", uid=bus.UNPRIVILEGED_UID, mode=0o600)

    result = env.call(bus.MEMBER_USER, "Motd", "Update", "s", [""])

    tap.ok(result.ok, "Motd.Update with an empty message succeeds", repr(result))
    state = bus.motd_state()
    tap.equal(state.get("content"), "", "Motd.Update with an empty message empties /etc/motd")
    tap.equal((state["uid"], oct(state["mode"])), (0, oct(0o644)),
              "Motd.Update with an empty message leaves root:root 0644")


def test_motd_maximum(env, tap):
    message = ("x" * 79 + "\n") * (65536 // 80) + "y" * (65536 % 80)

    result = env.call(bus.MEMBER_USER, "Motd", "Update", "s", [message])

    tap.ok(result.ok, "Motd.Update with 65536 bytes succeeds", repr(result))
    tap.equal(bus.motd_state().get("content"), message, "Motd.Update writes all 65536 bytes")


def test_unmount_not_mounted(env, tap):
    for caller in CALLERS:
        before = bus.privsep_mounts()

        result = env.call(caller, "Mount", "Unmount", "s", ["never-mounted"])

        what = f"Mount.Unmount as {caller} of a name never mounted"
        tap.equal(result.error_name, ERROR_PREFIX + "NotFound", f"{what} fails with NotFound")
        tap.ok("never-mounted" in (result.error_message or ""), f"{what}: message names the mount",
               repr(result))
        tap.equal(bus.privsep_mounts(), before, f"{what} changes no mount")


def test_unmount_foreign(env, tap):
    # A directory that privsepd did not mount, and a tmpfs that someone else
    # mounted there, are both left alone. A first mount makes privsepd create
    # its mount directory, which it owns.
    result = env.call("root", "Mount", "MountTmpfs", "st", ["prepare", 1 << 20])
    tap.ok(result.ok, "Mount.MountTmpfs of a first name succeeds", repr(result))
    result = env.call("root", "Mount", "Unmount", "s", ["prepare"])
    tap.ok(result.ok, "Mount.Unmount of that name succeeds", repr(result))

    plain = f"{MOUNT_DIRECTORY}/plain-directory"
    os.makedirs(plain)
    with open(f"{plain}/keep", "w") as f:
        f.write("keep\n")

    foreign = f"{MOUNT_DIRECTORY}/foreign-tmpfs"
    os.makedirs(foreign)
    bus.run("mount", "-t", "tmpfs", "-o", "size=1m", "someone-else", foreign)

    for name, path in (("plain-directory", plain), ("foreign-tmpfs", foreign)):
        result = env.call("root", "Mount", "Unmount", "s", [name])

        what = f"Mount.Unmount of {name}"
        tap.equal(result.error_name, ERROR_PREFIX + "NotFound", f"{what} fails with NotFound")
        tap.ok(os.path.isdir(path), f"{what} leaves the directory")

    tap.ok(os.path.exists(f"{plain}/keep"), "Mount.Unmount of plain-directory keeps its content")
    entry = bus.mount_entry(foreign)
    tap.ok(entry is not None and entry["source"] == "someone-else",
           "Mount.Unmount of foreign-tmpfs leaves the foreign tmpfs mounted", repr(entry))

    bus.run("umount", foreign)
    os.rmdir(foreign)


def test_mount_twice(env, tap):
    path = f"{MOUNT_DIRECTORY}/twice"

    first = env.call(bus.MEMBER_USER, "Mount", "MountTmpfs", "st", ["twice", 1 << 20])
    tap.ok(first.ok, "Mount.MountTmpfs of a new name succeeds", repr(first))
    marker = f"{path}/marker"
    with open(marker, "w") as f:
        f.write("first mount\n")

    second = env.call(bus.MEMBER_USER, "Mount", "MountTmpfs", "st", ["twice", 2 << 20])

    tap.equal(second.error_name, ERROR_PREFIX + "AlreadyExists",
              "Mount.MountTmpfs of a mounted name fails with AlreadyExists")
    entry = bus.mount_entry(path)
    tap.ok(entry is not None and "size=1024k" in entry["super_options"],
           "Mount.MountTmpfs of a mounted name keeps the first mount", repr(entry))
    tap.ok(os.path.exists(marker), "Mount.MountTmpfs of a mounted name keeps its files")
    with open("/proc/self/mountinfo") as f:
        count = sum(1 for line in f if line.split()[4] == path)
    tap.equal(count, 1, "Mount.MountTmpfs of a mounted name stacks no second mount")

    result = env.call(bus.MEMBER_USER, "Mount", "Unmount", "s", ["twice"])
    tap.ok(result.ok and not os.path.exists(path), "Mount.Unmount removes the mount and directory",
           repr(result))


def test_mount_point_symlink(env, tap):
    # A symlink planted where the mount point would be must not redirect the mount.
    target = "/run/privsep-bus-test/symlink-target"
    os.makedirs(target)
    link = f"{MOUNT_DIRECTORY}/planted"
    os.symlink(target, link)

    result = env.call("root", "Mount", "MountTmpfs", "st", ["planted", 1 << 20])

    what = "Mount.MountTmpfs over a planted symlink"
    tap.equal(result.error_name, ERROR_PREFIX + "SymbolicLink", f"{what} fails with SymbolicLink")
    tap.equal(bus.mount_entry(target), None, f"{what} mounts nothing at the target")
    tap.equal(bus.mount_entry(link), None, f"{what} mounts nothing at the link")
    tap.ok(os.path.islink(link) and os.readlink(link) == target, f"{what} leaves the symlink")
    os.unlink(link)

    # The same for a regular file.
    path = f"{MOUNT_DIRECTORY}/a-file"
    with open(path, "w") as f:
        f.write("file\n")
    result = env.call("root", "Mount", "MountTmpfs", "st", ["a-file", 1 << 20])
    what = "Mount.MountTmpfs over a regular file"
    tap.ok(result.error_name and result.error_name.startswith(ERROR_PREFIX),
           f"{what} fails with a named error", repr(result))
    tap.equal(bus.mount_entry(path), None, f"{what} mounts nothing")
    tap.ok(os.path.isfile(path), f"{what} leaves the file")
    os.unlink(path)


def test_unknown_interface(env, tap):
    links_before = {name: bus.link_state(name) for name in VETH}

    for caller in CALLERS:
        for member, signature, args in (("SetMtu", "su", ["nosuchif0", 1400]),
                                        ("SetUp", "sb", ["nosuchif0", True])):
            result = env.call(caller, "Link", member, signature, args)

            what = f"Link.{member} as {caller} on an unknown interface"
            tap.equal(result.error_name, ERROR_PREFIX + "NoSuchDevice", f"{what} fails with NoSuchDevice")
            tap.ok("nosuchif0" in (result.error_message or ""), f"{what}: message names the interface",
                   repr(result))

    tap.equal({name: bus.link_state(name) for name in VETH}, links_before,
              "Link calls on an unknown interface change no link")


def test_mtu_out_of_driver_range(env, tap):
    # The validator allows 68 to 65535, but the veth driver may still reject
    # the value. That must be a named error that changes nothing.
    bus.set_link(VETH[0], mtu=1500)
    result = env.call("root", "Link", "SetMtu", "su", [VETH[0], 65535])
    mtu = bus.link_state(VETH[0])["mtu"]
    if result.ok:
        tap.equal(mtu, 65535, "Link.SetMtu 65535 is applied when the driver accepts it")
    else:
        tap.ok(result.error_name.startswith(ERROR_PREFIX), "Link.SetMtu 65535 fails with a named error",
               repr(result))
        tap.equal(mtu, 1500, "Link.SetMtu refused by the driver leaves the MTU")


def test_hostname_limits(env, tap):
    for hostname, what in (("a" * 63, "a 63-character label"),
                           ("a" * 31 + "." + "b" * 32, "64 bytes"),
                           ("x", "one character"),
                           ("Mixed-Case.example", "upper case letters")):
        result = env.call("root", "Hostname", "Set", "s", [hostname])
        tap.ok(result.ok, f"Hostname.Set with {what} succeeds", repr(result))
        tap.equal(socket.gethostname(), hostname, f"Hostname.Set with {what} sets it")


def main(env, tap):
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "daemon starts", repr(result))

    test_motd_symlink(env, tap)
    test_motd_empty(env, tap)
    test_motd_maximum(env, tap)
    test_unmount_not_mounted(env, tap)
    test_unmount_foreign(env, tap)
    test_mount_twice(env, tap)
    test_mount_point_symlink(env, tap)
    test_unknown_interface(env, tap)
    test_mtu_out_of_driver_range(env, tap)
    test_hostname_limits(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
