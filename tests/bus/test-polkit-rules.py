#!/usr/bin/python3
"""Check decisions that real polkitd makes from privsepd's details.

A test-only rules file lets user ps-extra run a method only for one
value of each polkit detail (hostname, mount, size_bytes, interface, mtu,
up), and requires administrator authentication from ps-extra for
Motd.Update. No authentication agent is registered, so that challenge
cannot succeed.
"""

import socket

import privsep_bus as bus
from privsep_bus import ERROR_ACCESS_DENIED, MOUNT_DIRECTORY, VETH

USER = bus.EXTRA_USER
ERROR_INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

RULES = """\
// Test-only: ps-extra may act on one value of each detail.
polkit.addRule(function(action, subject) {
    if (subject.user != "%(user)s")
        return polkit.Result.NOT_HANDLED;

    if (action.id == "org.privsep.hostname.set")
        return action.lookup("hostname") == "allowed-by-rule" ?
            polkit.Result.YES : polkit.Result.NO;
    if (action.id == "org.privsep.mount.mount-tmpfs")
        return action.lookup("mount") == "rule-mount" &&
               action.lookup("size_bytes") == "1048576" ?
            polkit.Result.YES : polkit.Result.NO;
    if (action.id == "org.privsep.mount.unmount")
        return action.lookup("mount") == "rule-mount" ?
            polkit.Result.YES : polkit.Result.NO;
    if (action.id == "org.privsep.link.set-mtu")
        return action.lookup("interface") == "%(link)s" && action.lookup("mtu") == "1300" ?
            polkit.Result.YES : polkit.Result.NO;
    if (action.id == "org.privsep.link.set-up")
        return action.lookup("interface") == "%(link)s" && action.lookup("up") == "true" ?
            polkit.Result.YES : polkit.Result.NO;
    if (action.id == "org.privsep.motd.update")
        return polkit.Result.AUTH_ADMIN;
    return polkit.Result.NOT_HANDLED;
});
""" % {"user": USER, "link": VETH[1]}


def expect(tap, result, allowed, what):
    if allowed:
        return tap.ok(result.ok, f"{what} is allowed", repr(result))
    return tap.equal(result.error_name, ERROR_ACCESS_DENIED, f"{what} is denied")


def test_hostname(env, tap):
    socket.sethostname("unchanged")
    result = env.call(USER, "Hostname", "Set", "s", ["other-name"])
    expect(tap, result, False, "Hostname.Set other-name")
    tap.equal(socket.gethostname(), "unchanged", "Hostname.Set other-name changes nothing")

    result = env.call(USER, "Hostname", "Set", "s", ["allowed-by-rule"])
    expect(tap, result, True, "Hostname.Set allowed-by-rule")
    tap.equal(socket.gethostname(), "allowed-by-rule", "Hostname.Set allowed-by-rule sets it")


def test_mount(env, tap):
    for name, size, allowed in (("other-mount", 1 << 20, False),
                                ("rule-mount", 2 << 20, False),
                                ("rule-mount", 1 << 20, True)):
        what = f"Mount.MountTmpfs {name} of {size} bytes"
        result = env.call(USER, "Mount", "MountTmpfs", "st", [name, size])
        expect(tap, result, allowed, what)
        entry = bus.mount_entry(f"{MOUNT_DIRECTORY}/{name}")
        tap.equal(entry is not None, allowed, f"{what}: {'mounted' if allowed else 'nothing mounted'}")

    result = env.call(USER, "Mount", "Unmount", "s", ["rule-mount"])
    expect(tap, result, True, "Mount.Unmount rule-mount")
    tap.equal(bus.mount_entry(f"{MOUNT_DIRECTORY}/rule-mount"), None, "Mount.Unmount rule-mount unmounts it")


def test_link(env, tap):
    for ifname, mtu, allowed in ((VETH[0], 1300, False), (VETH[1], 1301, False), (VETH[1], 1300, True)):
        bus.set_link(ifname, mtu=1500)
        what = f"Link.SetMtu {ifname} {mtu}"
        result = env.call(USER, "Link", "SetMtu", "su", [ifname, mtu])
        expect(tap, result, allowed, what)
        tap.equal(bus.link_state(ifname)["mtu"], mtu if allowed else 1500, f"{what}: resulting MTU")

    for up, allowed in ((False, False), (True, True)):
        bus.set_link(VETH[1], up=not up)
        what = f"Link.SetUp {VETH[1]} {str(up).lower()}"
        result = env.call(USER, "Link", "SetUp", "sb", [VETH[1], up])
        expect(tap, result, allowed, what)
        tap.equal(bus.link_state(VETH[1])["up"], up if allowed else not up, f"{what}: resulting state")


def test_challenge(env, tap):
    bus.write_motd("unchanged\n")
    before = bus.motd_state()

    result = env.call(USER, "Motd", "Update", "s", ["challenged\n"])
    tap.equal(result.error_name, ERROR_INTERACTIVE,
              "Motd.Update needing authentication, without the interactive flag")
    tap.equal(bus.motd_state(), before, "Motd.Update without the interactive flag changes nothing")

    # With the flag polkit would ask an agent; none is registered, so the
    # call must still fail and change nothing.
    result = env.call(USER, "Motd", "Update", "s", ["challenged\n"], interactive=True)
    tap.ok(not result.ok, "Motd.Update needing authentication with no agent fails", repr(result))
    tap.diag(f"with the interactive flag and no agent: {result!r}")
    tap.equal(bus.motd_state(), before, "Motd.Update with no agent changes nothing")


def main(env, tap):
    test_hostname(env, tap)
    test_mount(env, tap)
    test_link(env, tap)
    test_challenge(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main, extra_rules=RULES)
