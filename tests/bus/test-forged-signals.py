#!/usr/bin/python3
"""Check that no caller can cancel another caller's call with a forged signal.

privsepd drops a call whose caller has disconnected, which it learns from
NameOwnerChanged. An unprivileged user sends that signal, naming a privsep
member's connection, while the member's call waits for polkitd (a test-only
rule makes polkitd take 2 s for hostnames starting with "slow-"). The bus
policy keeps the signal from privsepd, and privsepd would ignore it anyway,
so the member's call must run and get its reply.
"""

import socket
import time

import privsep_bus as bus

USER = bus.EXTRA_USER
SLOW_MILLISECONDS = 2000

RULES = bus.slow_hostname_rules(USER, SLOW_MILLISECONDS)


def forge_name_owner_changed(victims, front):
    """Send NameOwnerChanged for each victim name, to the front and broadcast."""
    import dbus
    import dbus.lowlevel

    connection = dbus.bus.BusConnection(bus.BUS_ADDRESS)
    for name in victims:
        for destination in (front, None):
            signal = dbus.lowlevel.SignalMessage("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged")
            if destination:
                signal.set_destination(destination)
            signal.append(name, name, "", signature="sss")
            connection.send_message(signal)
    connection.flush()
    connection.close()
    return len(victims)


def connections_of(env, uid):
    """Return the unique names of uid's connections.

    Each query is a connection of its own, which may be gone by the time
    it is asked about, so failed lookups are skipped."""
    found = []
    for name in env.bus_query("ListNames"):
        if not name.startswith(":"):
            continue
        result = env.call_as("root", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                             "GetConnectionUnixUser", "s", [name])
        if result.ok and result.reply == uid:
            found.append(name)
    return found


def main(env, tap):
    socket.sethostname("before-forged")
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "daemon starts", repr(result))

    victim = env.start_call(USER, "Hostname", "Set", "s", ["slow-forged"])
    time.sleep(0.5)

    front = env.bus_query("GetNameOwner", "s", [bus.BUS_NAME])
    victims = connections_of(env, bus.EXTRA_UID)
    tap.ok(victims, "the member's connection is found", repr(victims))

    sent = bus.run_as(bus.UNPRIVILEGED_USER, lambda: forge_name_owner_changed(victims, front))
    tap.ok(sent == len(victims), "the unprivileged user sends the forged signals", repr(sent))

    result = env.wait_call(victim)
    tap.ok(result.ok, "the member's call still gets its reply", repr(result))
    tap.equal(socket.gethostname(), "slow-forged", "the member's call still runs")
    log = env.read_log("privsepd.log")
    tap.ok("caller-disconnected" not in log, "privsepd did not take the member for gone", log)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main, extra_rules=RULES)
