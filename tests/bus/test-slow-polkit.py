#!/usr/bin/python3
"""Check privsepd while the real polkitd takes its time.

A test-only rule makes polkitd spin for 2 s before it allows ps-extra to
set a hostname starting with "slow-". Meanwhile privsepd must keep serving
other callers. A caller that disconnects before polkitd replies must not
get its call run, although polkitd allows it in the end.
"""

import socket
import time

import privsep_bus as bus

USER = bus.EXTRA_USER
SLOW_SECONDS = 2.0
FAST_SECONDS = 1.0

RULES = bus.slow_hostname_rules(USER, SLOW_SECONDS * 1000)


def send_and_disconnect(hostname, delay):
    """Send Hostname.Set without waiting for the reply, then disconnect after DELAY seconds."""
    import dbus
    import dbus.lowlevel

    connection = dbus.bus.BusConnection(bus.BUS_ADDRESS)
    message = dbus.lowlevel.MethodCallMessage(bus.BUS_NAME, bus.OBJECT_PATH,
                                              bus.IFACE_PREFIX + "Hostname", "Set")
    message.append(hostname, signature="s")
    connection.send_message(message)
    connection.flush()
    time.sleep(delay)
    connection.close()


def log_lines(env, needle):
    return [line for line in env.read_log("privsepd.log").splitlines() if needle in line]


def test_serves_others_meanwhile(env, tap):
    started = time.monotonic()
    slow = env.start_call(USER, "Hostname", "Set", "s", ["slow-first"])
    time.sleep(0.3)

    before = time.monotonic()
    result = env.call(bus.UNPRIVILEGED_USER, "Manager", "ListMethods")
    took = time.monotonic() - before
    tap.ok(result.ok, "Manager.ListMethods succeeds while polkitd is busy", repr(result))
    tap.ok(took < FAST_SECONDS, "Manager.ListMethods does not wait for polkitd", f"took {took:.2f} s")

    before = time.monotonic()
    result = env.call("root", "Hostname", "Set", "s", ["root-meanwhile"])
    took = time.monotonic() - before
    tap.ok(result.ok, "Hostname.Set as root succeeds while polkitd is busy", repr(result))
    tap.ok(took < FAST_SECONDS, "Hostname.Set as root does not wait for polkitd", f"took {took:.2f} s")
    tap.equal(socket.gethostname(), "root-meanwhile", "Hostname.Set as root meanwhile sets the hostname")

    result = env.wait_call(slow)
    took = time.monotonic() - started
    tap.ok(result.ok, "the slow call succeeds once polkitd allows it", repr(result))
    tap.ok(took >= SLOW_SECONDS * 0.9, "the slow call waited for polkitd", f"took {took:.2f} s")
    tap.equal(socket.gethostname(), "slow-first", "the slow call sets the hostname after that")


def test_caller_disconnects(env, tap):
    socket.sethostname("before-disconnect")
    needle = f"uid {bus.EXTRA_UID}"
    logged = len(log_lines(env, needle))

    bus.run_as(USER, lambda: send_and_disconnect("slow-gone", 0.5))

    # privsepd logs the call once polkitd has replied.
    env.wait_for(lambda: len(log_lines(env, needle)) > logged, SLOW_SECONDS + 3)
    lines = log_lines(env, needle)[logged:]
    tap.diag(f"privsepd logged: {lines}")
    tap.equal(socket.gethostname(), "before-disconnect",
              "a call whose caller disconnected before polkitd answered does not run")
    tap.ok(lines and "caller-disconnected" in lines[-1],
           "privsepd logs the call as caller-disconnected", repr(lines))

    result = env.call(bus.UNPRIVILEGED_USER, "Manager", "ListMethods")
    tap.ok(result.ok, "the daemon still answers afterwards", repr(result))


def main(env, tap):
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "daemon starts", repr(result))
    test_serves_others_meanwhile(env, tap)
    test_caller_disconnects(env, tap)


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main, extra_rules=RULES)
