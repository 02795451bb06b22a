#!/usr/bin/python3
"""Call every privsepd method as root, an unprivileged user, a member of
group privsep and nobody, and check the reply and the side effect of each.

root skips polkit, the shipped rules allow members of group privsep, and
the polkit defaults deny everyone else (there is no active session here).
"""

import os
import socket

import privsep_bus as bus
from privsep_bus import ERROR_ACCESS_DENIED, MOUNT_DIRECTORY, VETH

ALLOWED = {"root": True, bus.UNPRIVILEGED_USER: False, bus.MEMBER_USER: True, "nobody": False}
OWNER_UID = {"root": 0, bus.UNPRIVILEGED_USER: bus.UNPRIVILEGED_UID,
             bus.MEMBER_USER: bus.MEMBER_UID, "nobody": 65534}


ACTIONS = {
    "Motd.Update": "org.privsep.motd.update",
    "Hostname.Set": "org.privsep.hostname.set",
    "Mount.MountTmpfs": "org.privsep.mount.mount-tmpfs",
    "Mount.Unmount": "org.privsep.mount.unmount",
    "Link.SetMtu": "org.privsep.link.set-mtu",
    "Link.SetUp": "org.privsep.link.set-up",
}


def check_reply(tap, result, caller, what):
    """Check that RESULT is a reply for allowed callers and AccessDenied for the others.

    The denial must come from the daemon after asking polkit, not from the
    bus policy, so its message names the polkit action.
    """
    if ALLOWED[caller]:
        return tap.ok(result.ok, f"{what} as {caller} succeeds", repr(result))
    denied = tap.equal(result.error_name, ERROR_ACCESS_DENIED, f"{what} as {caller} is denied")
    action = ACTIONS[what.split("(")[0]]
    tap.ok(action in (result.error_message or ""), f"{what} as {caller}: denial names {action}",
           repr(result))
    return denied


def test_motd_update(env, tap):
    for caller in bus.CALLERS:
        what = "Motd.Update"
        # A non-root owner and mode 0600 before each call show that the
        # daemon writes a new root-owned file with mode 0644.
        bus.write_motd(f"before {caller}\n", uid=bus.UNPRIVILEGED_UID,
                       gid=bus.UNPRIVILEGED_UID, mode=0o600)
        before = bus.motd_state()
        names_before = bus.etc_names()
        message = f"Message of the day written by {caller}\n\twith a tab\n"

        result = env.call(caller, "Motd", "Update", "s", [message])
        check_reply(tap, result, caller, what)

        after = bus.motd_state()
        if ALLOWED[caller]:
            tap.equal(after["type"], "file", f"{what} as {caller} leaves a regular file")
            tap.equal(after.get("content"), message, f"{what} as {caller} writes the message")
            tap.equal((after["uid"], after["gid"]), (0, 0), f"{what} as {caller} makes root the owner")
            tap.equal(oct(after["mode"]), oct(0o644), f"{what} as {caller} sets mode 0644")
            tap.ok(after["inode"] != before["inode"],
                   f"{what} as {caller} renames a new file into place")
        else:
            tap.equal(after, before, f"{what} as {caller} leaves /etc/motd unchanged")
        tap.equal(bus.etc_names(), names_before, f"{what} as {caller} leaves no file behind in /etc")


def test_hostname_set(env, tap):
    for index, caller in enumerate(bus.CALLERS):
        what = "Hostname.Set"
        before = f"before-{index}"
        socket.sethostname(before)
        hostname = f"set-by-{caller}"

        result = env.call(caller, "Hostname", "Set", "s", [hostname])
        check_reply(tap, result, caller, what)

        expected = hostname if ALLOWED[caller] else before
        tap.equal(socket.gethostname(), expected, f"{what} as {caller}: hostname is {expected}")


def test_mount_tmpfs(env, tap):
    for index, caller in enumerate(bus.CALLERS):
        what = "Mount.MountTmpfs"
        name = f"matrix-{caller}"
        path = f"{MOUNT_DIRECTORY}/{name}"
        size_kib = 1024 * (index + 1)

        result = env.call(caller, "Mount", "MountTmpfs", "st", [name, size_kib * 1024])
        check_reply(tap, result, caller, what)

        entry = bus.mount_entry(path)
        if not ALLOWED[caller]:
            tap.equal(entry, None, f"{what} as {caller} mounts nothing")
            tap.ok(not os.path.lexists(path), f"{what} as {caller} creates no directory",
                   f"{path} exists")
            continue

        if not tap.ok(entry is not None, f"{what} as {caller} mounts at {path}"):
            continue
        tap.equal(entry["fstype"], "tmpfs", f"{what} as {caller}: file system type")
        missing = {"nosuid", "nodev", "noexec"} - entry["mount_options"]
        tap.ok(not missing, f"{what} as {caller}: mounted nosuid,nodev,noexec",
               f"missing {sorted(missing)} in {entry['line']}")
        tap.ok(f"size={size_kib}k" in entry["super_options"], f"{what} as {caller}: size={size_kib}k",
               entry["line"])
        # The interface XML documents the tmpfs root as mode 0755, owned by the caller.
        st = os.stat(path)
        tap.equal(st.st_uid, OWNER_UID[caller], f"{what} as {caller}: the tmpfs belongs to the caller")
        tap.equal(oct(st.st_mode & 0o7777), oct(0o755), f"{what} as {caller}: the tmpfs has mode 0755")

        # Clean up as root, so the next caller starts from an empty directory.
        cleanup = env.call("root", "Mount", "Unmount", "s", [name])
        tap.ok(cleanup.ok, f"{what} as {caller}: root unmounts it afterwards", repr(cleanup))


def test_unmount(env, tap):
    for caller in bus.CALLERS:
        what = "Mount.Unmount"
        name = f"unmount-{caller}"
        path = f"{MOUNT_DIRECTORY}/{name}"

        # Only the owner of a tmpfs, or root, may unmount it, so a caller
        # that polkit allows unmounts a tmpfs of its own. root mounts the
        # others' tmpfs, which polkit then keeps them from unmounting.
        owner = caller if ALLOWED[caller] else "root"
        setup = env.call(owner, "Mount", "MountTmpfs", "st", [name, 1 << 20])
        if not tap.ok(setup.ok and bus.mount_entry(path), f"{what}: {owner} mounts {name} first",
                      repr(setup)):
            continue

        result = env.call(caller, "Mount", "Unmount", "s", [name])
        check_reply(tap, result, caller, what)

        if ALLOWED[caller]:
            tap.equal(bus.mount_entry(path), None, f"{what} as {caller} removes the mount")
            tap.ok(not os.path.lexists(path), f"{what} as {caller} removes the directory",
                   f"{path} still exists")
        else:
            tap.ok(bus.mount_entry(path) is not None, f"{what} as {caller} leaves the mount")
            env.call("root", "Mount", "Unmount", "s", [name])


def test_set_mtu(env, tap):
    for index, caller in enumerate(bus.CALLERS):
        what = "Link.SetMtu"
        bus.set_link(VETH[0], mtu=1500)
        mtu = 1400 + index

        result = env.call(caller, "Link", "SetMtu", "su", [VETH[0], mtu])
        check_reply(tap, result, caller, what)

        expected = mtu if ALLOWED[caller] else 1500
        tap.equal(bus.link_state(VETH[0])["mtu"], expected, f"{what} as {caller}: MTU is {expected}")


def test_set_up(env, tap):
    for caller in bus.CALLERS:
        what = "Link.SetUp"
        bus.set_link(VETH[0], up=False)

        result = env.call(caller, "Link", "SetUp", "sb", [VETH[0], True])
        check_reply(tap, result, caller, what + "(true)")
        tap.equal(bus.link_state(VETH[0])["up"], ALLOWED[caller],
                  f"{what}(true) as {caller}: link is {'up' if ALLOWED[caller] else 'still down'}")

        bus.set_link(VETH[0], up=True)
        result = env.call(caller, "Link", "SetUp", "sb", [VETH[0], False])
        check_reply(tap, result, caller, what + "(false)")
        tap.equal(bus.link_state(VETH[0])["up"], not ALLOWED[caller],
                  f"{what}(false) as {caller}: link is {'down' if ALLOWED[caller] else 'still up'}")


def test_list_methods(env, tap):
    for caller in bus.CALLERS:
        result = env.call(caller, "Manager", "ListMethods")
        if tap.ok(result.ok, f"Manager.ListMethods as {caller} succeeds", repr(result)):
            tap.equal(len(result.reply), 6, f"Manager.ListMethods as {caller} lists 6 methods")


def main(env, tap):
    test_motd_update(env, tap)
    test_hostname_set(env, tap)
    test_mount_tmpfs(env, tap)
    test_unmount(env, tap)
    test_set_mtu(env, tap)
    test_set_up(env, tap)
    test_list_methods(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
