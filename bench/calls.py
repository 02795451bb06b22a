#!/usr/bin/python3
"""Measure the latency of privsepd calls on a private bus with the real polkitd.

Usage, as root: bench/calls.py --daemon BUILD/service/privsepd --source-root .

Runs in the namespaces of tests/bus/privsep_bus.py and prints, for each kind
of call, the median and 95th percentile latency of COUNT sequential calls
made from one connection:

- Manager.ListMethods: the bus round trip alone, no polkit, no worker;
- Hostname.Set as root: no polkit, one worker round trip;
- Hostname.Set as a privsep member: polkit CheckAuthorization and a worker.

The ratio of the last two is the cost of asking polkit.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bus"))
import privsep_bus as bus  # noqa: E402

COUNT = 300


def measure(interface, member, signature, args):
    """Make COUNT calls on one connection; return the latencies in milliseconds."""
    import dbus
    import dbus.lowlevel

    connection = dbus.bus.BusConnection(bus.BUS_ADDRESS)
    latencies = []
    for i in range(COUNT):
        message = dbus.lowlevel.MethodCallMessage(bus.BUS_NAME, bus.OBJECT_PATH, bus.IFACE_PREFIX + interface, member)
        if signature:
            message.append(signature=signature, *[a.replace("N", str(i)) if isinstance(a, str) else a for a in args])
        start = time.perf_counter()
        connection.send_message_with_reply_and_block(message, 20)
        latencies.append((time.perf_counter() - start) * 1000)
    connection.close()
    return latencies


def report(name, latencies):
    latencies = sorted(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    median = statistics.median(latencies)
    print(f"| {name} | {len(latencies)} | {median:.2f} | {p95:.2f} |", flush=True)
    return median


def main(env, tap):
    env.call("root", "Manager", "ListMethods")
    print("| call | count | median ms | p95 ms |")
    print("|---|---|---|---|")
    report("Manager.ListMethods as root", bus.run_as("root", lambda: measure("Manager", "ListMethods", "", [])))
    root = report("Hostname.Set as root", bus.run_as("root", lambda: measure("Hostname", "Set", "s", ["bench-N"])))
    member = report("Hostname.Set as privsep member",
                    bus.run_as(bus.MEMBER_USER, lambda: measure("Hostname", "Set", "s", ["bench-N"])))
    print(f"\npolkit cost: member/root median latency ratio {member / root:.1f}")
    tap.ok(True, "benchmark ran")


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
