#!/usr/bin/python3
"""Check that one user's queued calls do not starve another user.

Runs privsepd-test, which adds the test-only Test.Sleep entry point to the
sys_admin context, on the private bus with the real polkitd (see
tests/bus/privsep_bus.py). root queues several slow Test.Sleep calls in the
sys_admin worker; then a privsep member calls Hostname.Set, which runs in
the same worker. The member's call must run next, not after all of root's.
"""

import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bus"))
import privsep_bus as bus  # noqa: E402

SLEEPS = 6
SLEEP_MS = 400


def finished(handle):
    """Whether a call started with start_call() has written its result."""
    _, _, read_fd = handle
    return bool(select.select([read_fd], [], [], 0)[0])


def main(env, tap):
    socket.sethostname("before-fairness")
    result = env.call("root", "Manager", "ListMethods")
    tap.ok(result.ok, "privsepd-test starts", repr(result))

    sleepers = [env.start_call("root", "Test", "Sleep", "u", [SLEEP_MS], timeout=30) for _ in range(SLEEPS)]
    time.sleep(0.2)

    started = time.monotonic()
    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["fair-host"], timeout=30)
    took = time.monotonic() - started
    done = sum(1 for handle in sleepers if finished(handle))

    tap.ok(result.ok, "the member's Hostname.Set succeeds behind root's queue", repr(result))
    tap.equal(socket.gethostname(), "fair-host", "the member's call set the hostname")
    tap.ok(done <= 2, "the member's call runs before most of root's queued calls",
           f"{done} of {SLEEPS} Test.Sleep calls had finished; it took {took:.2f} s")

    results = [env.wait_call(handle) for handle in sleepers]
    tap.ok(all(r.ok for r in results), "root's queued calls all complete", repr(results))


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
