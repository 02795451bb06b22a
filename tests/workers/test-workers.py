#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Process separation of privsepd: capabilities of every process, worker
restarts, deadlines, queueing, concurrency and limits.

Runs privsepd-test (privsepd plus the test-only Test.Sleep entry point, which
runs in the sys_admin context with a 3 s time limit) as an unprivileged uid
with ambient capabilities, on a private bus inside its own mount, UTS and
network namespaces. Callers are root, so polkit is not involved here; the
polkit paths are tested against real and scripted polkit elsewhere.
Prints TAP, and a skip plan when not root.
"""

import os
import subprocess
import sys
import tempfile
import time

DAEMON_UID = 61990
# A second unprivileged caller, besides nobody.
OTHER_UID = 61991
CAPS = "sys_admin,net_admin,dac_override,chown,setpcap"
BUS = "org.privsep.Privsep1"
PATH = "/org/privsep/Privsep1"

CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_SETPCAP, CAP_NET_ADMIN, CAP_SYS_ADMIN = 0, 1, 8, 12, 21
UNION = (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE) | (1 << CAP_NET_ADMIN) | (1 << CAP_SYS_ADMIN)

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_type="*"/>
  </policy>
</busconfig>
"""


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def result(self, name, ok, detail=""):
        self.count += 1
        if not ok:
            self.failed += 1
        print(f"{'ok' if ok else 'not ok'} {self.count} {name}", flush=True)
        if not ok and detail:
            for line in str(detail).splitlines():
                print(f"# {line}", flush=True)


def call(interface, member, signature="", *args, timeout=10):
    """Calls a method with gdbus as root; returns (returncode, output)."""
    command = ["gdbus", "call", "--system", "--dest", BUS, "--object-path", PATH,
               "--method", f"{interface}.{member}", "--timeout", str(timeout)]
    command += list(args)
    p = subprocess.run(command, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def call_async(interface, member, *args, timeout=30):
    command = ["gdbus", "call", "--system", "--dest", BUS, "--object-path", PATH,
               "--method", f"{interface}.{member}", "--timeout", str(timeout)] + list(args)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    raise KeyError(name)


def caps(pid, name):
    return int(status_field(pid, name), 16)


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


class Daemon:
    def __init__(self, build, extra_args=()):
        self.log = tempfile.NamedTemporaryFile(prefix="privsepd-test-", suffix=".log", delete=False)
        command = ["setpriv", f"--reuid={DAEMON_UID}", f"--regid={DAEMON_UID}", "--clear-groups",
                   f"--inh-caps=-all,+{CAPS.replace(',', ',+')}",
                   f"--ambient-caps=-all,+{CAPS.replace(',', ',+')}",
                   f"--bounding-set=-all,+{CAPS.replace(',', ',+')}",
                   os.path.join(build, "tests", "workers", "privsepd-test"), "--idle-timeout=0"] + list(extra_args)
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.log)
        self.wait_ready()

    def wait_ready(self):
        for _ in range(100):
            if call("org.privsep.Privsep1.Manager", "ListMethods")[0] == 0 and len(self.workers()) == 3:
                return
            time.sleep(0.05)
        raise RuntimeError("privsepd-test did not start: " + self.output())

    def output(self):
        with open(self.log.name) as f:
            return f.read()

    def front(self):
        return [p for p in children(self.process.pid) if caps(p, "CapBnd") == 0][0]

    def workers(self):
        try:
            return {caps(p, "CapPrm"): p for p in children(self.process.pid) if caps(p, "CapBnd") != 0}
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return {}

    def worker(self, capability):
        for _ in range(100):
            w = next((pid for permitted, pid in self.workers().items() if permitted & (1 << capability)), None)
            if w:
                return w
            time.sleep(0.05)
        raise RuntimeError("no worker")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.unlink(self.log.name)


def wait_worker_sleeping(daemon):
    """Waits until the sys_admin worker runs Test.Sleep, instead of guessing
    how long a loaded machine takes to start the call."""
    for _ in range(250):
        try:
            with open(f"/proc/{daemon.worker(CAP_SYS_ADMIN)}/wchan") as f:
                if "nanosleep" in f.read():
                    return True
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.02)
    return False


def test_capabilities(tap, daemon):
    supervisor = daemon.process.pid
    expected = {
        "supervisor": (supervisor, UNION | (1 << CAP_SETPCAP), UNION),
        "front": (daemon.front(), 0, 0),
        "worker sys_admin": (daemon.worker(CAP_SYS_ADMIN), 1 << CAP_SYS_ADMIN, 1 << CAP_SYS_ADMIN),
        "worker file_admin": (daemon.worker(CAP_CHOWN), (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE),
                              (1 << CAP_CHOWN) | (1 << CAP_DAC_OVERRIDE)),
        "worker net_admin": (daemon.worker(CAP_NET_ADMIN), 1 << CAP_NET_ADMIN, 1 << CAP_NET_ADMIN),
    }
    for name, (pid, permitted, bounding) in expected.items():
        got = {field: caps(pid, field) for field in ("CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd")}
        want = {"CapPrm": permitted, "CapEff": 0, "CapInh": 0, "CapAmb": 0, "CapBnd": bounding}
        uid = status_field(pid, "Uid").split()
        ok = got == want and status_field(pid, "NoNewPrivs") == "1" and uid == [str(DAEMON_UID)] * 4
        tap.result(f"/workers/capabilities/{name.replace(' ', '-')}", ok,
                   f"got {got}, uid {uid}, expected {want}")


def test_deadline(tap, daemon):
    before = daemon.worker(CAP_SYS_ADMIN)
    start = time.monotonic()
    code, output = call("org.privsep.Privsep1.Test", "Sleep", "", "uint32 8000")
    elapsed = time.monotonic() - start
    tap.result("/workers/deadline/times-out", code != 0 and "org.privsep.Privsep1.Error.TimedOut" in output
               and elapsed < 7, f"code {code} after {elapsed:.1f} s: {output}")

    after = daemon.worker(CAP_SYS_ADMIN)
    code, output = call("org.privsep.Privsep1.Hostname", "Set", "", "after-deadline")
    tap.result("/workers/deadline/worker-restarted", after != before and code == 0
               and os.uname().nodename == "after-deadline", f"{before} -> {after}: {code} {output}")
    tap.result("/workers/deadline/logged", "passed its time limit" in daemon.output(), daemon.output())


def test_kill_worker(tap, daemon):
    before = daemon.worker(CAP_SYS_ADMIN)
    sleeper = call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 2000")
    wait_worker_sleeping(daemon)
    os.kill(before, 9)
    output, _ = sleeper.communicate(timeout=10)
    tap.result("/workers/kill-9/call-gets-named-error",
               sleeper.returncode != 0 and "org.privsep.Privsep1.Error.WorkerFailed" in output, output)

    code, output = call("org.privsep.Privsep1.Hostname", "Set", "", "after-kill")
    after = daemon.worker(CAP_SYS_ADMIN)
    tap.result("/workers/kill-9/next-call-succeeds", code == 0 and after != before
               and os.uname().nodename == "after-kill", f"{code} {output}")


def test_other_context_not_delayed(tap, daemon):
    sleeper = call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 2500")
    wait_worker_sleeping(daemon)
    code, output = call("org.privsep.Privsep1.Link", "SetMtu", "", "v0", "uint32 1400")
    sleeper_running = sleeper.poll() is None
    link = subprocess.run(["ip", "-o", "link", "show", "v0"], capture_output=True, text=True).stdout
    mtu = link.split(" mtu ")[1].split()[0] if " mtu " in link else None
    sleeper.communicate(timeout=10)
    tap.result("/workers/concurrency/other-context-not-delayed",
               code == 0 and sleeper_running and mtu == "1400", f"{code} {output}, sleeper running {sleeper_running}")


def test_queued_call_of_gone_caller(tap, daemon):
    call("org.privsep.Privsep1.Hostname", "Set", "", "before-queue")
    sleeper = call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 2000")
    wait_worker_sleeping(daemon)
    queued = call_async("org.privsep.Privsep1.Hostname", "Set", "queued-host")
    time.sleep(0.5)
    queued.kill()
    queued.wait()
    sleeper.communicate(timeout=10)
    time.sleep(0.2)
    tap.result("/workers/queue/gone-caller-not-started", os.uname().nodename == "before-queue",
               f"hostname is {os.uname().nodename}")


def test_dropped_result(tap, daemon):
    sleeper = call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 1500")
    wait_worker_sleeping(daemon)
    sleeper.kill()
    sleeper.wait()
    for _ in range(150):
        if "the result is dropped" in daemon.output():
            break
        time.sleep(0.02)
    tap.result("/workers/disconnect/result-dropped-and-logged", "the result is dropped" in daemon.output(),
               daemon.output())


def test_limits(tap, build):
    daemon = Daemon(build, ["--max-calls-per-user=2"])
    try:
        sleepers = [call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 1500") for _ in range(2)]
        wait_worker_sleeping(daemon)
        time.sleep(0.5)
        code, output = call("org.privsep.Privsep1.Hostname", "Set", "", "over-limit")
        for s in sleepers:
            s.communicate(timeout=10)
        tap.result("/workers/limits/per-user", code != 0 and "org.privsep.Privsep1.Error.LimitExceeded" in output
                   and os.uname().nodename != "over-limit", f"{code} {output}")

        code, output = call("org.privsep.Privsep1.Hostname", "Set", "", "under-limit")
        tap.result("/workers/limits/released-after-calls", code == 0, f"{code} {output}")
    finally:
        daemon.stop()


def test_request_size(tap, daemon):
    import dbus

    # Too long for a command line, so dbus-python sends it.
    proxy = dbus.SystemBus().get_object(BUS, PATH)
    try:
        proxy.Update("x" * (200 * 1024), dbus_interface="org.privsep.Privsep1.Motd")
        name, output = None, "the call succeeded"
    except dbus.exceptions.DBusException as e:
        name, output = e.get_dbus_name(), e.get_dbus_message()
    tap.result("/workers/size/request-too-large", name == "org.privsep.Privsep1.Error.RequestTooLarge",
               f"{name}: {output}")
    code, output = call("org.privsep.Privsep1.Manager", "ListMethods")
    tap.result("/workers/size/service-stays-up", code == 0, output[:300])


def test_file_descriptors_refused(tap, daemon):
    import dbus
    import dbus.lowlevel

    front = daemon.front()
    fds_before = len(os.listdir(f"/proc/{front}/fd"))

    # No method takes a file descriptor, so the front does not accept any:
    # the bus daemon rejects such a message before it reaches the front.
    connection = dbus.SystemBus()
    names = []
    with open("/dev/null") as null:
        for _ in range(20):
            message = dbus.lowlevel.MethodCallMessage(BUS, PATH, "org.privsep.Privsep1.Hostname", "Set")
            message.append("web", dbus.types.UnixFd(null), signature="sh")
            try:
                connection.send_message_with_reply_and_block(message, 10)
                names.append(None)
            except dbus.exceptions.DBusException as e:
                names.append(e.get_dbus_name())

    fds_after = len(os.listdir(f"/proc/{front}/fd"))
    tap.result("/workers/fds/refused-by-bus", set(names) == {"org.freedesktop.DBus.Error.NotSupported"},
               f"errors: {sorted(set(map(str, names)))}")
    tap.result("/workers/fds/front-holds-none", fds_after == fds_before, f"{fds_before} -> {fds_after}")


def test_unauthorized_log_rate_limited(tap, daemon):
    import dbus
    import dbus.lowlevel

    calls = 300
    before = daemon.output().count("uid 65534")

    # No polkitd runs on this bus, so every call of a non-root caller is
    # denied. Each call comes on a connection of its own, past the
    # per-connection limit.
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            connections = []
            for _ in range(calls):
                connection = dbus.bus.BusConnection("unix:path=/run/dbus/system_bus_socket")
                message = dbus.lowlevel.MethodCallMessage(BUS, PATH, "org.privsep.Privsep1.Hostname", "Set")
                message.append("flood", signature="s")
                connection.send_message(message)
                connection.flush()
                connections.append(connection)
            time.sleep(2)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

    logged = daemon.output().count("uid 65534") - before
    tap.result("/workers/journal/unauthorized-entries-rate-limited", 0 < logged <= 50,
               f"{logged} entries for {calls} denied calls of one user")

    # Another user's denied call is still logged: the flood used up only
    # its own user's share.
    before_other = daemon.output().count(f"uid {OTHER_UID}")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(OTHER_UID, OTHER_UID, OTHER_UID)
            os.setresuid(OTHER_UID, OTHER_UID, OTHER_UID)
            connection = dbus.bus.BusConnection("unix:path=/run/dbus/system_bus_socket")
            message = dbus.lowlevel.MethodCallMessage(BUS, PATH, "org.privsep.Privsep1.Hostname", "Set")
            message.append("other", signature="s")
            try:
                connection.send_message_with_reply_and_block(message, 10)
            except dbus.exceptions.DBusException:
                pass
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    tap.result("/workers/journal/other-user-still-logged", daemon.output().count(f"uid {OTHER_UID}") > before_other,
               daemon.output()[-2000:])
    tap.result("/workers/journal/hostname-unchanged-by-denied-calls", os.uname().nodename != "flood",
               os.uname().nodename)


def unique_names_of(pid):
    """Returns the unique bus names whose connection belongs to process pid."""
    import dbus

    driver = dbus.SystemBus().get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
    names = []
    for name in driver.ListNames(dbus_interface="org.freedesktop.DBus"):
        if not name.startswith(":"):
            continue
        try:
            if driver.GetConnectionUnixProcessID(name, dbus_interface="org.freedesktop.DBus") == pid:
                names.append(str(name))
        except dbus.exceptions.DBusException:
            pass
    return names


def test_forged_name_owner_changed(tap, daemon):
    import dbus
    import dbus.lowlevel

    call("org.privsep.Privsep1.Hostname", "Set", "", "before-forged")
    sleeper = call_async("org.privsep.Privsep1.Test", "Sleep", "uint32 2000")
    wait_worker_sleeping(daemon)
    queued = call_async("org.privsep.Privsep1.Hostname", "Set", "forged-host")
    time.sleep(0.5)

    # This bus lets anyone send anything, so the signal reaches the front:
    # the front must still ignore a NameOwnerChanged that the bus daemon
    # did not send.
    connection = dbus.SystemBus()
    front = str(connection.get_name_owner(BUS))
    for name in unique_names_of(queued.pid):
        for destination in (front, None):
            signal = dbus.lowlevel.SignalMessage("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged")
            if destination:
                signal.set_destination(destination)
            signal.append(name, name, "", signature="sss")
            connection.send_message(signal)
    connection.flush()

    try:
        output, _ = queued.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        queued.kill()
        output, _ = queued.communicate()
        output += " (no reply within 10 s)"
    sleeper.communicate(timeout=10)
    tap.result("/workers/forged-signal/call-still-runs",
               queued.returncode == 0 and os.uname().nodename == "forged-host",
               f"{queued.returncode} {output}; hostname {os.uname().nodename}")


def main():
    build = sys.argv[1]
    tap = Tap()

    daemon = Daemon(build)
    try:
        test_capabilities(tap, daemon)
        test_deadline(tap, daemon)
        test_kill_worker(tap, daemon)
        test_other_context_not_delayed(tap, daemon)
        test_queued_call_of_gone_caller(tap, daemon)
        test_dropped_result(tap, daemon)
        test_request_size(tap, daemon)
        test_file_descriptors_refused(tap, daemon)
        test_forged_name_owner_changed(tap, daemon)
        test_unauthorized_log_rate_limited(tap, daemon)
    finally:
        daemon.stop()

    test_limits(tap, build)

    print(f"1..{tap.count}")
    return 1 if tap.failed else 0


def in_namespace(build):
    """Sets up /run, a private bus and a veth, then runs the tests."""
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs("/run/dbus")
    os.makedirs("/run/privsep")
    os.chown("/run/privsep", DAEMON_UID, DAEMON_UID)
    # dbus-daemon looks up the groups of every uid that connects.
    for name, line in (("passwd", f"privsepd-test:x:{DAEMON_UID}:{DAEMON_UID}::/nonexistent:/usr/sbin/nologin\n"
                                  f"privsep-other:x:{OTHER_UID}:{OTHER_UID}::/nonexistent:/usr/sbin/nologin\n"),
                       ("group", f"privsepd-test:x:{DAEMON_UID}:\nprivsep-other:x:{OTHER_UID}:\n")):
        copy = f"/run/{name}"
        with open(f"/etc/{name}") as original, open(copy, "w") as f:
            f.write(original.read() + line)
        os.chmod(copy, 0o644)
        subprocess.run(["mount", "--bind", copy, f"/etc/{name}"], check=True)

    config = "/run/dbus/test-bus.conf"
    with open(config, "w") as f:
        f.write(BUS_CONFIG)
    bus = subprocess.Popen(["dbus-daemon", "--config-file", config, "--nofork"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists("/run/dbus/system_bus_socket"):
                break
            time.sleep(0.02)
        subprocess.run(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"], check=True)
        return main()
    finally:
        bus.terminate()
        bus.wait()


if __name__ == "__main__":
    if os.geteuid() != 0:
        # meson 1.0 counts exit code 77 of a TAP test as an error, so the
        # skip is reported in TAP alone.
        print("1..0 # SKIP needs root for namespaces and setpriv")
        sys.exit(0)
    if os.environ.get("PRIVSEP_IN_NAMESPACE") != "1":
        environment = dict(os.environ, PRIVSEP_IN_NAMESPACE="1",
                           DBUS_SYSTEM_BUS_ADDRESS="unix:path=/run/dbus/system_bus_socket")
        sys.exit(subprocess.run(["unshare", "-m", "-u", "-n", "--propagation", "private",
                                 sys.executable, __file__] + sys.argv[1:], env=environment).returncode)
    sys.exit(in_namespace(sys.argv[1]))
