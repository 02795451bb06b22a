#!/usr/bin/python3
"""Send invalid values for every argument of every privsepd method.

Each must fail with org.freedesktop.DBus.Error.InvalidArgs, whose message
quotes the bad value, and leave the system unchanged. Validation comes
before authorization, so an unprivileged caller gets InvalidArgs as well,
not AccessDenied.
"""

import socket

import privsep_bus as bus
from privsep_bus import ERROR_INVALID_ARGS, VETH

CALLERS = ("root", bus.UNPRIVILEGED_USER)

# Values that none of the name validators accept.
BAD_NAMES = [
    "",
    ".",
    "..",
    "/",
    "a/b",
    "../etc",
    "name\x01",
    "name\n",
    "tab\there",
    "del\x7f",
    "c1\u0085",
    "with space",
    "\u00e9t\u00e9",
]

BAD_HOSTNAMES = BAD_NAMES + [
    "a" * 65,
    "-leading-dash",
    "trailing-dash-",
    "double..dot",
    ".leading-dot",
    "trailing-dot.",
    "a" * 64,             # one label longer than 63 characters
    "under_score",
    "colon:",
    # 66 bytes where the 64-byte cut of the quoted value falls inside a
    # two-byte UTF-8 character.
    "a" * 63 + "\u00e9" + "b",
]

BAD_MOUNT_NAMES = BAD_NAMES + [
    "a" * 33,
    "Upper",
    "-leading-dash",
    "_leading-underscore",
    "dot.name",
    "x" * 4096,
]

BAD_IFNAMES = BAD_NAMES + [
    "a" * 16,
    "eth0:1",
    " eth0",
]

BAD_MOTD = [
    "x" * 65537,
    "bell\x07",
    "escape \x1b[31mred",
    "carriage\rreturn",
    "del\x7f",
    "c1 \u009b31m",
    "nul-free but \x01",
]

# The size limit that depends on physical memory is checked after
# authorization (tests/bus/test-mount-limits.py); validation has a fixed
# bound of 1 TiB.
BAD_SIZES = [0, 1, 4095, 2**40 + 1, 2**64 - 1]
BAD_MTUS = [0, 67, 65536, 2**32 - 1]

VALID_MOUNT_NAME = "valid"
VALID_SIZE = 1 << 20


def snapshot():
    """Return everything a privsepd method could change."""
    return {
        "motd": bus.motd_state(),
        "etc": bus.etc_names(),
        "hostname": socket.gethostname(),
        "mounts": bus.privsep_mounts(),
        "mount directories": bus.mount_directory_names(),
        "links": {name: bus.link_state(name) for name in VETH},
    }


def describe(value):
    if isinstance(value, str) and len(value) > 40:
        return f"{value[:20]!r}... ({len(value.encode())} bytes)"
    return repr(value)


def check_invalid(env, tap, interface, member, signature, args, bad_index):
    bad = args[bad_index]
    if isinstance(bad, str):
        quoted = f"'{bus.quote_value(bad)}'"
    else:
        quoted = f" {bad} "

    for caller in CALLERS:
        what = f"{interface}.{member} as {caller} with {describe(bad)}"
        before = snapshot()

        result = env.call(caller, interface, member, signature, args)

        if not tap.equal(result.error_name, ERROR_INVALID_ARGS, f"{what} fails with InvalidArgs"):
            tap.diag(repr(result))
        else:
            tap.ok(quoted in (result.error_message or ""), f"{what}: message quotes the value",
                   f"expected {quoted!r} in {result.error_message!r}")
        tap.equal(snapshot(), before, f"{what} changes nothing")


def main(env, tap):
    # Start the daemon before the first snapshot, so its /run/privsep/mounts
    # directory exists in every snapshot.
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "daemon starts", repr(result))
    bus.write_motd("unchanged\n")

    for value in BAD_MOTD:
        check_invalid(env, tap, "Motd", "Update", "s", [value], 0)

    for value in BAD_HOSTNAMES:
        check_invalid(env, tap, "Hostname", "Set", "s", [value], 0)

    for value in BAD_MOUNT_NAMES:
        check_invalid(env, tap, "Mount", "MountTmpfs", "st", [value, VALID_SIZE], 0)
    for value in BAD_SIZES:
        check_invalid(env, tap, "Mount", "MountTmpfs", "st", [VALID_MOUNT_NAME, value], 1)
    for value in BAD_MOUNT_NAMES:
        check_invalid(env, tap, "Mount", "Unmount", "s", [value], 0)

    for value in BAD_IFNAMES:
        check_invalid(env, tap, "Link", "SetMtu", "su", [value, 1400], 0)
    for value in BAD_MTUS:
        check_invalid(env, tap, "Link", "SetMtu", "su", [VETH[0], value], 1)
    for value in BAD_IFNAMES:
        check_invalid(env, tap, "Link", "SetUp", "sb", [value, True], 0)

    # A call whose arguments do not match the method's signature.
    for interface, member, signature, args in [
        ("Hostname", "Set", "u", [1]),
        ("Mount", "MountTmpfs", "s", ["only-a-name"]),
        ("Link", "SetMtu", "ss", [VETH[0], "1400"]),
        ("Motd", "Update", "", []),
    ]:
        before = snapshot()
        result = env.call("root", interface, member, signature, args)
        what = f"{interface}.{member} with signature '{signature}'"
        tap.equal(result.error_name, ERROR_INVALID_ARGS, f"{what} fails with InvalidArgs")
        tap.equal(snapshot(), before, f"{what} changes nothing")

    # The daemon is still serving after all of that.
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "daemon still answers afterwards", repr(result))


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
