"""Run privsepd on a private system bus with a real polkitd.

The caller re-executes itself inside new mount, UTS, network and PID
namespaces (enter_namespaces), then BusEnvironment sets up, inside them:

- a copy of /etc bind-mounted over /etc, with the test users added;
- throwaway polkit action and rules directories holding the project's files;
- a tmpfs on /run with /run/dbus and /run/privsep;
- a dbus-daemon with a system-bus configuration, whose service directory
  contains an activation file that starts privsepd as user privsepd with
  only its ambient capabilities;
- the real polkitd, a veth pair and a hostname of its own.

Everything lives in those namespaces: when the process that entered them
exits, the kernel kills what is left and drops the mounts and the links,
so nothing remains on the host.

Run as a program, it sets the environment up and runs one command in it:

    privsep_bus.py --daemon BUILD/service/privsepd --source-root SRC -- CMD...
"""

import argparse
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ElementTree

PYTHON = "/usr/bin/python3"
NAMESPACE_MARKER = "PRIVSEP_BUS_NAMESPACE"

BUS_NAME = "org.privsep.Privsep1"
OBJECT_PATH = "/org/privsep/Privsep1"
IFACE_PREFIX = "org.privsep.Privsep1."

WORK_DIR = "/run/privsep-bus-test"
BUS_SOCKET = "/run/dbus/system_bus_socket"
BUS_ADDRESS = "unix:path=" + BUS_SOCKET
POLKITD = "/usr/lib/polkit-1/polkitd"
POLKIT_ACTIONS_DIR = "/usr/share/polkit-1/actions"
POLKIT_RULES_DIRS = ("/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d")

# Capability names in the order of their numbers in <linux/capability.h>.
CAP_NAMES = ("chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
             "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
             "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
             "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
             "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
             "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
             "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore")
CAP_BITS = {name: number for number, name in enumerate(CAP_NAMES)}

# Test accounts, with ids high enough not to clash with the host's.
# Entries that use the same names or ids are replaced in the /etc copy.
SERVICE_USER = "privsepd"
SERVICE_UID = 61000
PRIVSEP_GROUP = "privsep"
PRIVSEP_GID = 61001
UNPRIVILEGED_USER = "ps-user"
UNPRIVILEGED_UID = 61002
MEMBER_USER = "ps-member"
MEMBER_UID = 61003
# A user that test-only polkit rules may single out; no shipped rule names it.
EXTRA_USER = "ps-extra"
EXTRA_UID = 61004

CALLERS = ("root", UNPRIVILEGED_USER, MEMBER_USER, "nobody")

VETH = ("psveth0", "psveth1")
HOSTNAME = "privsep-test"

REQUIRED_TOOLS = ("/usr/bin/unshare", "/usr/bin/setpriv", "/usr/bin/dbus-daemon",
                  POLKITD, "/usr/sbin/ip", "/usr/bin/busctl")


def unit_capabilities(source_root):
    """Return the capabilities in AmbientCapabilities= of privsepd.service, as names like "sys_admin".

    The harness grants privsepd exactly these, the way systemd would.
    """
    path = os.path.join(source_root, "systemd", "privsepd.service.in")
    names = []
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == "AmbientCapabilities":
                names += [word.lower().removeprefix("cap_") for word in value.split()]
    if not names:
        raise RuntimeError(f"{path} sets no AmbientCapabilities=")
    unknown = [name for name in names if name not in CAP_BITS]
    if unknown:
        raise RuntimeError(f"{path}: unknown capabilities {unknown}")
    return names


def capability_mask(names):
    return sum(1 << CAP_BITS[name] for name in names)


class SkipTest(Exception):
    """The environment cannot run here (not root, a tool is missing)."""


def check_prerequisites():
    if os.geteuid() != 0:
        raise SkipTest("needs root")

    for tool in REQUIRED_TOOLS:
        if not os.access(tool, os.X_OK):
            raise SkipTest(f"{tool} is missing")

    try:
        import dbus  # noqa: F401
    except ImportError:
        raise SkipTest("python3-dbus is missing")


def enter_namespaces():
    """Re-execute this program in new mount, UTS, network and PID namespaces.

    Returns in the re-executed program, which is PID 1 of the new PID
    namespace. The kernel kills every process left in that namespace when
    it exits, and unshare sends it SIGTERM if unshare itself is killed.
    """
    if os.environ.get(NAMESPACE_MARKER) == "1":
        return

    check_prerequisites()
    env = dict(os.environ, **{NAMESPACE_MARKER: "1"})
    argv = ["unshare", "--mount", "--uts", "--net", "--pid", "--fork",
            "--kill-child=SIGTERM", "--mount-proc", "--propagation", "private",
            "--", PYTHON, os.path.abspath(sys.argv[0])] + sys.argv[1:]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve("/usr/bin/unshare", argv, env)


def run(*argv, **kwargs):
    """Run a command and return its CompletedProcess; raise RuntimeError with its stderr on failure."""
    kwargs.setdefault("check", True)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("text", True)
    try:
        return subprocess.run(list(argv), **kwargs)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{shlex.join(argv)} failed with status {e.returncode}: "
                           f"{(e.stderr or '').strip()}") from None


def bind_mount(source, target):
    run("mount", "--bind", source, target)


def process_exists(pid):
    """Return True while PID is a process that has not exited (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def reap_children():
    """Reap every exited child, including orphans this PID 1 inherited."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def read_proc_status(pid):
    """Return /proc/PID/status as a dict of field name to value text."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def to_python(value):
    """Convert dbus-python values to plain JSON-serializable Python values."""
    import dbus

    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Dictionary, dict)):
        return {to_python(k): to_python(v) for k, v in value.items()}
    if isinstance(value, (dbus.Array, dbus.Struct, list, tuple)):
        return [to_python(v) for v in value]
    if isinstance(value, (dbus.String, dbus.ObjectPath, dbus.Signature, str)):
        return str(value)
    if isinstance(value, (int, float)):
        return value.real
    return value


class CallResult:
    """Outcome of one D-Bus method call: a reply or an error name and message."""

    def __init__(self, reply=None, error_name=None, error_message=None):
        self.reply = reply
        self.error_name = error_name
        self.error_message = error_message

    @property
    def ok(self):
        return self.error_name is None

    def __repr__(self):
        if self.ok:
            return f"reply {self.reply!r}"
        return f"error {self.error_name}: {self.error_message}"


def drop_privileges(user):
    """Switch this process to USER's uid, gid and supplementary groups."""
    entry = pwd.getpwnam(user)
    os.initgroups(user, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.getuid() != entry.pw_uid or os.geteuid() != entry.pw_uid:
        raise RuntimeError(f"failed to switch to user {user}")


def start_as(user, function):
    """Run FUNCTION in a child process that runs as USER; return a handle for wait_as().

    Each call gets a fresh process, so the bus and polkitd see the caller's
    real uid, gid and pid. FUNCTION must return a JSON-serializable value.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            os.close(read_fd)
            drop_privileges(user)
            payload = {"result": function()}
        except BaseException:
            payload = {"exception": traceback.format_exc()}
            status = 1
        data = json.dumps(payload).encode()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
        os._exit(status)

    os.close(write_fd)
    return user, pid, read_fd


def wait_as(handle):
    """Wait for the child started by start_as() and return FUNCTION's result."""
    user, pid, read_fd = handle
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    payload = json.loads(data) if data else {"exception": "child wrote nothing"}
    if "exception" in payload:
        raise RuntimeError(f"child running as {user} failed:\n{payload['exception']}")
    return payload["result"]


def run_as(user, function):
    """Run FUNCTION as USER in a child process and return its result."""
    return wait_as(start_as(user, function))


def bus_call(destination, path, interface, member, signature="", args=(), timeout=20,
             interactive=False):
    """Call a method on the system bus from the current process, returning a dict.

    interactive sets the ALLOW_INTERACTIVE_AUTHORIZATION message flag.
    """
    import dbus
    import dbus.lowlevel

    bus = dbus.bus.BusConnection(BUS_ADDRESS)
    try:
        message = dbus.lowlevel.MethodCallMessage(destination, path, interface, member)
        if signature:
            message.append(signature=signature, *args)
        message.set_allow_interactive_authorization(interactive)
        reply = bus.send_message_with_reply_and_block(message, timeout)
        values = reply.get_args_list()
        return {"reply": to_python(values[0]) if len(values) == 1 else to_python(values) or None}
    except dbus.exceptions.DBusException as e:
        return {"error_name": e.get_dbus_name(), "error_message": e.get_dbus_message()}
    finally:
        bus.close()


class BusEnvironment:
    """A private system bus, polkitd and bus-activated privsepd inside the namespaces."""

    def __init__(self, daemon, source_root, idle_timeout=30, extra_rules=None):
        """Configure the environment.

        daemon: path of the privsepd executable.
        source_root: the repository, for dbus/ and polkit/ files.
        idle_timeout: seconds passed as --idle-timeout to privsepd.
        extra_rules: text of a test-only polkit rules file, or None.
        """
        self.daemon = os.path.abspath(daemon)
        self.source_root = os.path.abspath(source_root)
        self.idle_timeout = idle_timeout
        self.extra_rules = extra_rules
        self.capabilities = unit_capabilities(self.source_root)
        self.processes = {}
        self.log_dir = os.path.join(WORK_DIR, "log")
        self.daemon_log = os.path.join(self.log_dir, "privsepd.log")

    # Setup

    def start(self):
        """Set up the files, network and hostname, then start dbus-daemon and polkitd.

        privsepd itself starts on the first call to it, by bus activation.
        """
        if os.environ.get(NAMESPACE_MARKER) != "1" or os.getpid() != 1:
            raise RuntimeError("BusEnvironment.start() must run after enter_namespaces()")
        if not os.access(self.daemon, os.X_OK):
            raise RuntimeError(f"daemon executable {self.daemon} is missing")

        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = BUS_ADDRESS
        self._mount_run()
        self._install_etc()
        self._install_polkit_files()
        self._setup_network()
        socket.sethostname(HOSTNAME)
        self._start_dbus()
        self._start_polkitd()

    def _mount_run(self):
        # /sys shows the network devices of the namespace that mounted it.
        run("mount", "-t", "sysfs", "sysfs", "/sys")
        run("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", "/run")
        os.makedirs(self.log_dir)
        os.makedirs("/run/dbus")
        os.mkdir("/run/privsep", 0o755)
        os.chown("/run/privsep", SERVICE_UID, SERVICE_UID)

    def _install_etc(self):
        etc = os.path.join(WORK_DIR, "etc")
        run("cp", "-a", "/etc", etc)
        self._write_accounts(etc)
        # A single file cannot be bind-mounted: renameat() onto a mount
        # point fails with EBUSY, so the whole directory is replaced.
        bind_mount(etc, "/etc")

    @staticmethod
    def _write_accounts(etc):
        users = [
            # name, uid, primary gid, supplementary groups
            (SERVICE_USER, SERVICE_UID, SERVICE_UID, []),
            (UNPRIVILEGED_USER, UNPRIVILEGED_UID, UNPRIVILEGED_UID, []),
            (MEMBER_USER, MEMBER_UID, MEMBER_UID, [PRIVSEP_GROUP]),
            (EXTRA_USER, EXTRA_UID, EXTRA_UID, []),
        ]
        groups = [(name, gid) for name, _, gid, _ in users] + [(PRIVSEP_GROUP, PRIVSEP_GID)]
        names = {name for name, _ in groups}
        ids = {str(gid) for _, gid in groups}

        def filtered(path):
            with open(path) as f:
                lines = f.read().splitlines()
            return [line for line in lines
                    if line.split(":")[0] not in names and
                    (len(line.split(":")) < 3 or line.split(":")[2] not in ids)]

        passwd = filtered(os.path.join(etc, "passwd"))
        for name, uid, gid, _ in users:
            passwd.append(f"{name}:x:{uid}:{gid}:privsep test:/nonexistent:/usr/sbin/nologin")

        group = filtered(os.path.join(etc, "group"))
        for name, gid in groups:
            members = [user for user, _, _, extra in users if name in extra]
            group.append(f"{name}:x:{gid}:{','.join(members)}")

        for path, lines in (("passwd", passwd), ("group", group)):
            with open(os.path.join(etc, path), "w") as f:
                f.write("\n".join(lines) + "\n")

    def _install_polkit_files(self):
        polkit_source = os.path.join(self.source_root, "polkit")
        polkitd_user = pwd.getpwnam("polkitd")

        actions = os.path.join(WORK_DIR, "polkit-actions")
        os.mkdir(actions, 0o755)
        for name in sorted(os.listdir(polkit_source)):
            if name.endswith(".policy"):
                shutil.copy(os.path.join(polkit_source, name), actions)
        bind_mount(actions, POLKIT_ACTIONS_DIR)

        # The host's rules are masked too, so only the project's rules and
        # the test's own decide.
        for index, target in enumerate(POLKIT_RULES_DIRS):
            rules = os.path.join(WORK_DIR, f"polkit-rules-{index}")
            os.mkdir(rules, 0o700)
            if target.startswith("/etc/"):
                for name in sorted(os.listdir(polkit_source)):
                    if name.endswith(".rules"):
                        shutil.copy(os.path.join(polkit_source, name), rules)
                if self.extra_rules:
                    with open(os.path.join(rules, "10-privsep-test.rules"), "w") as f:
                        f.write(self.extra_rules)
            for name in os.listdir(rules):
                os.chmod(os.path.join(rules, name), 0o644)
            os.chown(rules, polkitd_user.pw_uid, 0)
            bind_mount(rules, target)

    def _setup_network(self):
        run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", VETH[0], "type", "veth", "peer", "name", VETH[1])

    def _write_dbus_config(self, services_dir):
        tree = ElementTree.parse("/usr/share/dbus-1/system.conf")
        root = tree.getroot()
        dropped = {"user", "fork", "pidfile", "servicehelper", "syslog", "listen",
                   "standard_system_servicedirs", "include", "includedir"}
        for element in list(root):
            if element.tag in dropped:
                root.remove(element)

        def add(tag, text, **attributes):
            element = ElementTree.SubElement(root, tag, attributes)
            element.text = text

        add("listen", BUS_ADDRESS)
        add("servicedir", services_dir)
        add("include", "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf")
        add("include", os.path.join(self.source_root, "dbus", "org.privsep.Privsep1.conf"))

        path = os.path.join(WORK_DIR, "dbus-system.conf")
        with open(path, "wb") as f:
            f.write(b'<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
                    b' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n')
            tree.write(f)
        return path

    def _write_activation_file(self, services_dir):
        caps = ",".join("+" + c for c in self.capabilities)
        launcher = os.path.join(WORK_DIR, "start-privsepd")
        command = ["/usr/bin/setpriv",
                   f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}", "--init-groups",
                   f"--inh-caps=-all,{caps}", f"--ambient-caps=-all,{caps}",
                   f"--bounding-set=-all,{caps}",
                   self.daemon, f"--idle-timeout={self.idle_timeout}"]
        with open(launcher, "w") as f:
            f.write("#!/bin/sh\n"
                    "# Started by dbus-daemon as root: run privsepd as its own user\n"
                    "# with only its ambient capabilities, keeping its log.\n"
                    f"exec {shlex.join(command)} 2>>{shlex.quote(self.daemon_log)}\n")
        os.chmod(launcher, 0o755)

        with open(os.path.join(services_dir, BUS_NAME + ".service"), "w") as f:
            f.write("[D-BUS Service]\n"
                    f"Name={BUS_NAME}\n"
                    f"Exec={launcher}\n"
                    "User=root\n")

    def _start_dbus(self):
        services_dir = os.path.join(WORK_DIR, "dbus-services")
        os.mkdir(services_dir)
        self._write_activation_file(services_dir)
        config = self._write_dbus_config(services_dir)

        with open(os.path.join(self.log_dir, "dbus-daemon.log"), "w") as log:
            process = subprocess.Popen(["/usr/bin/dbus-daemon", f"--config-file={config}",
                                        "--nofork", "--nopidfile", "--print-address=1"],
                                       stdout=subprocess.PIPE, stderr=log, text=True)
        self.processes["dbus-daemon"] = process
        # The address is printed once the socket listens.
        address = process.stdout.readline().strip()
        if not address:
            raise RuntimeError(f"dbus-daemon exited: {self.read_log('dbus-daemon.log')}")

    def _start_polkitd(self):
        with open(os.path.join(self.log_dir, "polkitd.log"), "w") as log:
            self.processes["polkitd"] = subprocess.Popen([POLKITD, "--no-debug"],
                                                         stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not self.name_has_owner("org.freedesktop.PolicyKit1"):
            if self.processes["polkitd"].poll() is not None:
                raise RuntimeError(f"polkitd exited: {self.read_log('polkitd.log')}")
            if time.monotonic() > deadline:
                raise RuntimeError("polkitd did not own org.freedesktop.PolicyKit1 within 10 s")
            time.sleep(0.02)

    # Teardown

    def stop(self):
        """Stop privsepd's processes, polkitd and dbus-daemon, each by its pid."""
        self._terminate_pids(self.daemon_processes())

        for name in ("polkitd", "dbus-daemon"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        reap_children()

    @staticmethod
    def _terminate_pids(pids):
        """Send SIGTERM to PIDS, then SIGKILL to those still running after 3 s."""
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

        deadline = time.monotonic() + 3
        while any(process_exists(pid) for pid in pids) and time.monotonic() < deadline:
            reap_children()
            time.sleep(0.02)

        for pid in pids:
            if process_exists(pid):
                os.kill(pid, signal.SIGKILL)

    def daemon_processes(self):
        """Return the pids of running processes of the privsepd executable."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if exe == self.daemon and process_exists(int(entry)):
                pids.append(int(entry))
        return pids

    # Queries and calls

    def read_log(self, name):
        try:
            with open(os.path.join(self.log_dir, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def bus_query(self, member, signature="", args=()):
        """Call a method of the bus driver as root and return the reply."""
        result = self.call_as("root", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", member, signature, args)
        if not result.ok:
            raise RuntimeError(f"{member}{tuple(args)} failed: {result}")
        return result.reply

    def name_has_owner(self, name):
        return bool(self.bus_query("NameHasOwner", "s", [name]))

    def daemon_pid(self):
        """Return the pid of the process that owns the bus name, or None."""
        if not self.name_has_owner(BUS_NAME):
            return None
        return int(self.bus_query("GetConnectionUnixProcessID", "s", [BUS_NAME]))

    def call_as(self, user, destination, path, interface, member,
                signature="", args=(), timeout=20, interactive=False):
        """Call any bus method as USER from a fresh process."""
        return self.wait_call(self.start_call_as(user, destination, path, interface, member,
                                                 signature, args, timeout, interactive))

    @staticmethod
    def start_call_as(user, destination, path, interface, member,
                      signature="", args=(), timeout=20, interactive=False):
        """Start a call as USER in the background; wait_call() returns its CallResult."""
        return start_as(user, lambda: bus_call(destination, path, interface, member,
                                               signature, args, timeout, interactive))

    @staticmethod
    def wait_call(handle):
        result = wait_as(handle)
        return CallResult(result.get("reply"), result.get("error_name"),
                          result.get("error_message"))

    def call(self, user, interface, member, signature="", args=(), timeout=20, interactive=False):
        """Call a privsepd method as USER. INTERFACE is the name after "org.privsep.Privsep1."."""
        return self.call_as(user, BUS_NAME, OBJECT_PATH, IFACE_PREFIX + interface, member,
                            signature, args, timeout, interactive)

    def start_call(self, user, interface, member, signature="", args=(), timeout=20):
        """Start a privsepd call as USER in the background; wait_call() returns its CallResult."""
        return self.start_call_as(user, BUS_NAME, OBJECT_PATH, IFACE_PREFIX + interface, member,
                                  signature, args, timeout)

    def wait_for(self, condition, timeout):
        """Poll CONDITION every 20 ms until it is true or TIMEOUT seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


# Observing the system: every test checks the side effect of a call, or its absence.

MOTD = "/etc/motd"
MOUNT_DIRECTORY = "/run/privsep/mounts"
ERROR_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
ERROR_INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
ERROR_PREFIX = "org.privsep.Privsep1.Error."


def motd_state(path=MOTD):
    """Return what a caller can observe of PATH: type, owner, mode, inode and content."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None

    state = {"uid": st.st_uid, "gid": st.st_gid, "mode": st.st_mode & 0o7777,
             "inode": st.st_ino}
    if os.path.islink(path):
        state["type"] = "symlink"
        state["target"] = os.readlink(path)
    else:
        state["type"] = "file"
        with open(path, "rb") as f:
            state["content"] = f.read().decode(errors="replace")
    return state


def write_motd(content, uid=0, gid=0, mode=0o644, path=MOTD):
    """Replace PATH with a regular file, without following a symlink at PATH."""
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w") as f:
        f.write(content)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def etc_names():
    """Return the set of names in /etc, to spot temporary files left behind."""
    return set(os.listdir("/etc"))


def mount_entry(mount_point):
    """Return the top-most /proc/self/mountinfo entry at MOUNT_POINT, or None."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            separator = fields.index("-")
            if fields[4] != mount_point:
                continue
            found = {
                "mount_options": set(fields[5].split(",")),
                "fstype": fields[separator + 1],
                "source": fields[separator + 2],
                "super_options": set(fields[separator + 3].split(",")),
                "line": line.strip(),
            }
    return found


def privsep_mounts():
    """Return the mount points under MOUNT_DIRECTORY listed in /proc/self/mountinfo."""
    points = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mount_point = line.split()[4]
            if mount_point.startswith(MOUNT_DIRECTORY + "/"):
                points.add(mount_point)
    return points


def mount_directory_names():
    try:
        return set(os.listdir(MOUNT_DIRECTORY))
    except FileNotFoundError:
        return set()


def link_state(ifname):
    """Return {"mtu": int, "up": bool} for IFNAME from `ip -j link`."""
    output = run("ip", "-j", "link", "show", "dev", ifname).stdout
    link = json.loads(output)[0]
    return {"mtu": link["mtu"], "up": "UP" in link["flags"]}


def set_link(ifname, mtu=None, up=None):
    if mtu is not None:
        run("ip", "link", "set", "dev", ifname, "mtu", str(mtu))
    if up is not None:
        run("ip", "link", "set", "dev", ifname, "up" if up else "down")


def quote_value(value, max_bytes=64):
    """Quote VALUE the way privsepd's error messages do.

    Backslash, single quote and control characters (C0, DEL and the UTF-8
    encoded C1 range) become \\xNN. Input longer than MAX_BYTES bytes is cut
    at the last character boundary within them and "..." is appended.
    """
    data = value.encode()
    limit = max_bytes
    if len(data) > limit:
        while limit > 0 and data[limit] & 0xc0 == 0x80:
            limit -= 1
    out = []
    for i, byte in enumerate(data[:limit]):
        c1_lead = byte == 0xc2 and i + 1 < len(data) and 0x80 <= data[i + 1] <= 0x9f
        c1_tail = 0x80 <= byte <= 0x9f and i > 0 and data[i - 1] == 0xc2
        if byte < 0x20 or byte == 0x7f or byte in b"\\'" or c1_lead or c1_tail:
            out.append(b"\\x%02x" % byte)
        else:
            out.append(bytes([byte]))
    quoted = b"".join(out)
    if len(data) > max_bytes:
        quoted += b"..."
    return quoted.decode(errors="replace")


def slow_hostname_rules(user, milliseconds):
    """Return a test-only polkit rules file that allows USER Hostname.Set, but
    spins MILLISECONDS in polkitd first for hostnames starting with "slow-"."""
    return """\
// Test-only: a slow rule for %(user)s's Hostname.Set of "slow-" names.
polkit.addRule(function(action, subject) {
    if (subject.user != "%(user)s" || action.id != "org.privsep.hostname.set")
        return polkit.Result.NOT_HANDLED;
    if (action.lookup("hostname").indexOf("slow-") == 0) {
        var start = Date.now();
        while (Date.now() - start < %(milliseconds)d) {
        }
    }
    return polkit.Result.YES;
});
""" % {"user": user, "milliseconds": milliseconds}


class Tap:
    """Minimal TAP producer: one line per check, plan at the end."""

    def __init__(self):
        self.count = 0
        self.failures = 0

    def ok(self, condition, name, details=None):
        self.count += 1
        # A test name is one line, and "#" would start a TAP directive.
        name = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name).replace("#", "number ")
        status = "ok" if condition else "not ok"
        print(f"{status} {self.count} - {name}", flush=True)
        if not condition:
            self.failures += 1
            if details:
                self.diag(details)
        return bool(condition)

    def equal(self, actual, expected, name):
        return self.ok(actual == expected, name,
                       f"expected: {expected!r}\n     got: {actual!r}")

    def diag(self, text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def finish(self):
        print(f"1..{self.count}", flush=True)
        return 1 if self.failures else 0


def parse_arguments(description, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--daemon", required=True, help="path of the privsepd executable")
    parser.add_argument("--source-root", required=True, help="the privsep repository")
    return parser.parse_args(argv)


def run_tap_test(description, body, idle_timeout=30, extra_rules=None):
    """Run BODY(environment, tap) in a fresh environment and exit with the TAP status.

    Prints a TAP skip plan when the environment cannot run here, because
    meson reports a TAP test that exits 77 as an error.
    """
    try:
        arguments = parse_arguments(description)
        enter_namespaces()
    except SkipTest as e:
        print(f"1..0 # SKIP {e}")
        sys.exit(0)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tap = Tap()
    environment = None
    try:
        environment = BusEnvironment(arguments.daemon, arguments.source_root,
                                     idle_timeout=idle_timeout, extra_rules=extra_rules)
        environment.start()
        body(environment, tap)
    except Exception:
        tap.ok(False, "test ran to completion", traceback.format_exc())
    finally:
        if environment:
            if tap.failures:
                for name in ("privsepd.log", "polkitd.log", "dbus-daemon.log"):
                    text = environment.read_log(name)
                    if text:
                        tap.diag(f"--- {name}\n{text}")
            environment.stop()
    sys.exit(tap.finish())


def main():
    parser = argparse.ArgumentParser(
        description="Start a private system bus, polkitd and a bus-activated privsepd "
                    "in throwaway namespaces and run COMMAND in them.")
    parser.add_argument("--daemon", required=True, help="path of the privsepd executable")
    parser.add_argument("--source-root", required=True, help="the privsep repository")
    parser.add_argument("--idle-timeout", type=int, default=30,
                        help="seconds privsepd waits idle before it exits (default 30)")
    parser.add_argument("command", nargs="+", help="command to run in the environment")
    arguments = parser.parse_args()

    try:
        enter_namespaces()
    except SkipTest as e:
        sys.exit(f"privsep_bus.py: cannot run: {e}")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    environment = BusEnvironment(arguments.daemon, arguments.source_root,
                                 idle_timeout=arguments.idle_timeout)
    status = 1
    try:
        environment.start()
    except Exception as e:
        print(f"privsep_bus.py: failed to start the environment: {e}", file=sys.stderr)
        environment.stop()
        sys.exit(status)

    env = dict(os.environ,
               PRIVSEP_BUS_DAEMON_LOG=environment.daemon_log,
               PRIVSEP_BUS_UNPRIVILEGED_USER=UNPRIVILEGED_USER,
               PRIVSEP_BUS_MEMBER_USER=MEMBER_USER,
               PRIVSEP_BUS_VETH=VETH[0])
    try:
        status = subprocess.run(arguments.command, env=env).returncode
    finally:
        environment.stop()
    sys.exit(status)


if __name__ == "__main__":
    main()
