#!/usr/bin/python3
"""Check that privsepd exits when idle and that the bus activates it again.

The daemon runs with --idle-timeout=1 here. Any method call, privileged
or not, counts as activity.
"""

import socket
import time

import privsep_bus as bus

IDLE_TIMEOUT = 1


def keep_alive(env, tap, what, call):
    """Make CALL every half timeout, four times, and check that the same daemon serves them."""
    before = env.daemon_pid()
    results = []
    for _ in range(4):
        time.sleep(IDLE_TIMEOUT / 2)
        results.append(call())
    failed = [r for r in results if not r.ok]
    tap.ok(not failed, f"{what} every half timeout succeed", repr(failed))
    tap.equal(env.daemon_pid(), before, f"{what} every half timeout keep the same daemon running")


def main(env, tap):
    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["first"])
    tap.ok(result.ok, "a call activates the daemon", repr(result))
    first = env.daemon_pid()
    tap.ok(first, "the daemon owns its bus name")

    keep_alive(env, tap, "Hostname.Set calls",
               lambda: env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["keep-alive"]))
    keep_alive(env, tap, "Manager.ListMethods calls",
               lambda: env.call(bus.UNPRIVILEGED_USER, "Manager", "ListMethods"))

    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["last-call"])
    tap.ok(result.ok, "a last call succeeds", repr(result))
    last = env.daemon_pid()
    started = time.monotonic()
    exited = env.wait_for(lambda: not bus.process_exists(last), IDLE_TIMEOUT + 5)
    elapsed = time.monotonic() - started
    tap.ok(exited, f"the daemon exits within {IDLE_TIMEOUT + 5} s of the last call")
    tap.ok(elapsed >= IDLE_TIMEOUT * 0.5, "the daemon waits about the idle timeout before it exits",
           f"it exited {elapsed:.2f} s after the last call")
    tap.ok(not env.name_has_owner(bus.BUS_NAME), "the bus name is free after the exit")
    gone = env.wait_for(lambda: not env.daemon_processes(), 3)
    tap.ok(gone, "every privsepd process exits with it", f"still running: {env.daemon_processes()}")

    # The log uses sd-daemon priority prefixes: <3> is an error, <0> to <2> worse.
    shutdown = env.read_log("privsepd.log").rsplit("Shutting down: idle.", 1)[-1]
    errors = [line for line in shutdown.splitlines() if line[:3] in ("<0>", "<1>", "<2>", "<3>")]
    tap.ok(not errors, "an idle exit logs no error", "\n".join(errors))

    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["reactivated"])
    tap.ok(result.ok, "the next call activates the daemon again", repr(result))
    second = env.daemon_pid()
    tap.ok(second and second != last, "a new daemon process serves it",
           f"previous pid {last}, new pid {second}")
    tap.equal(socket.gethostname(), "reactivated", "the reactivated daemon performs the call")


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main, idle_timeout=IDLE_TIMEOUT)
