#!/usr/bin/python3
"""Check the bus policy: only user privsepd may own org.privsep.Privsep1.

Every other user, root included, is refused by dbus-daemon, whether the
daemon runs or not. A refused request must not take the name away from
the running daemon.
"""

import privsep_bus as bus

DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
# RequestName flags and replies (D-Bus specification).
DO_NOT_QUEUE = 4
PRIMARY_OWNER = 1
OTHER_USERS = ("root", bus.UNPRIVILEGED_USER, bus.MEMBER_USER, "nobody")


def request_name(env, user):
    return env.call_as(user, *DBUS, "RequestName", "su", [bus.BUS_NAME, DO_NOT_QUEUE])


def main(env, tap):
    # Before anything activates the daemon, the name is free.
    tap.ok(not env.name_has_owner(bus.BUS_NAME), "the name is free before activation")

    result = request_name(env, bus.SERVICE_USER)
    tap.equal(result.reply, PRIMARY_OWNER, f"{bus.SERVICE_USER} may own {bus.BUS_NAME}")
    # The name went away with the process that requested it.
    tap.ok(not env.name_has_owner(bus.BUS_NAME), "the name is free again after that process exits")

    for user in OTHER_USERS:
        result = request_name(env, user)
        tap.equal(result.error_name, bus.ERROR_ACCESS_DENIED,
                  f"{user} may not own {bus.BUS_NAME} while it is free")
    tap.ok(not env.name_has_owner(bus.BUS_NAME), "the refused requests left the name free")

    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "a call activates the daemon", repr(result))
    owner = env.bus_query("GetNameOwner", "s", [bus.BUS_NAME])

    for user in OTHER_USERS:
        result = request_name(env, user)
        tap.equal(result.error_name, bus.ERROR_ACCESS_DENIED,
                  f"{user} may not own {bus.BUS_NAME} while the daemon runs")
    tap.equal(env.bus_query("GetNameOwner", "s", [bus.BUS_NAME]), owner,
              "the daemon still owns the name")

    # Everyone may send to the daemon: the unprivileged user reaches it.
    result = env.call(bus.UNPRIVILEGED_USER, "Manager", "ListMethods")
    tap.ok(result.ok, "an unprivileged user may call the daemon", repr(result))


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
