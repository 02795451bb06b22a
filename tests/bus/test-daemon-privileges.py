#!/usr/bin/python3
"""Check the credentials of the bus-activated daemon's processes from /proc.

privsepd runs as user privsepd in three kinds of processes:

- the supervisor, which dbus-daemon starts, with the capabilities of
  AmbientCapabilities= in privsepd.service permitted, its bounding set cut
  to the union of the privilege contexts;
- the front process, which owns the bus name, with no capability at all;
- one worker per privilege context, with exactly that context's
  capabilities permitted and in its bounding set.

In every process and thread the effective set is empty between calls,
inheritable and ambient sets are empty and no_new_privs is set, so nothing
the daemon executes can regain a capability.
"""

import glob
import os
import signal
import socket

import privsep_bus as bus
from privsep_bus import VETH


def read_status(pid, tid=None):
    path = f"{pid}/task/{tid}" if tid else str(pid)
    return bus.read_proc_status(path)


def children(pid):
    """Return the pids of PID's running child processes."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        child = int(stat.split("/")[2])
        if int(fields[1]) == pid and bus.process_exists(child):
            found.append(child)
    return sorted(found)


def list_methods(env):
    """Return Manager.ListMethods entries as (interface, member, action, context, capability mask)."""
    result = env.call("root", "Manager", "ListMethods")
    if not result.ok:
        raise RuntimeError(f"Manager.ListMethods failed: {result}")
    return [(interface, member, action, context,
             bus.capability_mask(c.lower().removeprefix("cap_") for c in capabilities))
            for interface, member, action, context, capabilities in result.reply]


def check_process(tap, label, pid, permitted, bounding):
    """Check every thread of PID: ids, empty effective set, PERMITTED and BOUNDING masks."""
    tids = sorted(os.listdir(f"/proc/{pid}/task"))
    for tid in tids:
        name = label if tid == str(pid) else f"{label} thread {tid}"
        status = read_status(pid, tid)
        uid = str(bus.SERVICE_UID)
        tap.equal(status["Uid"].split(), [uid] * 4, f"{name} runs as {bus.SERVICE_USER}")
        tap.equal(status["Gid"].split(), [uid] * 4, f"{name} runs with group {bus.SERVICE_USER}")
        tap.equal(status["CapEff"], f"{0:016x}", f"{name} has no effective capability")
        tap.equal(status["CapInh"], f"{0:016x}", f"{name} has no inheritable capability")
        tap.equal(status["CapAmb"], f"{0:016x}", f"{name} has no ambient capability")
        tap.equal(status["CapPrm"], f"{permitted:016x}", f"{name} permitted set")
        tap.equal(status["CapBnd"], f"{bounding:016x}", f"{name} bounding set")
        tap.equal(status["NoNewPrivs"], "1", f"{name} has no_new_privs set")


def check_tree(env, tap, masks, when):
    """Find the supervisor, front and workers and check each; return the front's pid."""
    front = env.daemon_pid()
    if not tap.ok(front, f"{when}: the daemon owns its bus name"):
        return None
    supervisor = int(read_status(front)["PPid"])

    tap.equal(os.readlink(f"/proc/{front}/exe"), env.daemon, f"{when}: the front is the built privsepd")
    tap.equal(os.readlink(f"/proc/{supervisor}/exe"), env.daemon,
              f"{when}: the front's parent is the privsepd supervisor")

    union = 0
    for mask in masks.values():
        union |= mask
    check_process(tap, f"{when}: supervisor", supervisor,
                  bus.capability_mask(env.capabilities), union)
    check_process(tap, f"{when}: front", front, 0, 0)

    workers = [pid for pid in children(supervisor) if pid != front]
    worker_masks = sorted(int(read_status(pid)["CapPrm"], 16) for pid in workers)
    tap.equal(worker_masks, sorted(masks.values()),
              f"{when}: one worker per privilege context, with its capabilities")
    for pid in workers:
        mask = int(read_status(pid)["CapPrm"], 16)
        check_process(tap, f"{when}: worker {pid}", pid, mask, mask)

    return front


def main(env, tap):
    methods = list_methods(env)
    masks = {context: mask for _, _, _, context, mask in methods}
    tap.ok(masks, "Manager.ListMethods names the privilege contexts", repr(masks))
    front = check_tree(env, tap, masks, "idle after activation")

    # One call of each privilege context, then the sets are read again.
    calls = [
        ("Motd", "Update", "s", ["capabilities test\n"]),
        ("Hostname", "Set", "s", ["capabilities-test"]),
        ("Mount", "MountTmpfs", "st", ["caps", 1 << 20]),
        ("Mount", "Unmount", "s", ["caps"]),
        ("Link", "SetMtu", "su", [VETH[0], 1280]),
        ("Link", "SetUp", "sb", [VETH[0], True]),
        # A failing call must not leave capabilities raised either.
        ("Link", "SetMtu", "su", ["nosuchif0", 1400]),
    ]
    for interface, member, signature, args in calls:
        result = env.call(bus.MEMBER_USER, interface, member, signature, args)
        what = f"{interface}.{member}({', '.join(map(str, args))})"
        expected_ok = args[0] != "nosuchif0"
        tap.equal(result.ok, expected_ok, f"{what} as {bus.MEMBER_USER} {'succeeds' if expected_ok else 'fails'}")
        check_tree(env, tap, masks, f"after {what}")

    tap.equal(env.daemon_pid(), front, "the same front process served every call")
    test_worker_restart(env, tap, methods, masks)


def test_worker_restart(env, tap, methods, masks):
    """Kill the worker that Hostname.Set runs in; the supervisor must replace it."""
    context = next(entry[3] for entry in methods if entry[1] == "Set" and entry[0].endswith(".Hostname"))
    front = env.daemon_pid()
    supervisor = int(read_status(front)["PPid"])

    def workers():
        return {pid: int(read_status(pid)["CapPrm"], 16)
                for pid in children(supervisor) if pid != front}

    victims = [pid for pid, mask in workers().items() if mask == masks[context]]
    if not tap.equal(len(victims), 1, f"one {context} worker runs"):
        return
    os.kill(victims[0], signal.SIGKILL)

    # A call right after the kill either runs or fails with a named error.
    socket.sethostname("before-restart")
    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["right-after-kill"])
    tap.diag(f"Hostname.Set right after the kill: {result!r}")
    tap.ok(result.ok or (result.error_name or "").startswith(bus.ERROR_PREFIX),
           "Hostname.Set right after its worker was killed succeeds or fails with a named error",
           repr(result))
    expected = "right-after-kill" if result.ok else "before-restart"
    tap.equal(socket.gethostname(), expected, "Hostname.Set right after the kill reports what it did")

    def replaced():
        return any(mask == masks[context] and pid != victims[0] for pid, mask in workers().items())

    tap.ok(env.wait_for(replaced, 3), f"the supervisor starts a new {context} worker")
    result = env.call(bus.MEMBER_USER, "Hostname", "Set", "s", ["after-restart"])
    tap.ok(result.ok, "Hostname.Set succeeds with the new worker", repr(result))
    tap.equal(socket.gethostname(), "after-restart", "the new worker sets the hostname")
    tap.equal(env.daemon_pid(), front, "the front process survived the worker's death")
    check_tree(env, tap, masks, "after the worker restart")


if __name__ == "__main__":
    bus.run_tap_test(__doc__, main)
