#!/usr/bin/python3
"""Test privsepd's unit files on a real systemd booted in a container, with TAP output.

Usage: test-units.py --build-dir BUILD --source-dir SOURCE

The build is installed with `meson install --destdir` into a staging
directory, and every installed file is bind-mounted read-only at its install
path into a systemd-nspawn container of a cached Debian 12 root (see
build-root). The tests then use systemctl, busctl, dbus-send and journalctl
inside the container the way an administrator would.

Unit paths in the build are only right with prefix /usr: a build configured
with another prefix is rebuilt with prefix /usr in a directory of its own
under BUILD/tests/systemd.

Requires root, systemd-nspawn (package systemd-container), nsenter and
debootstrap; without them the whole test is skipped. The exit status is 0
whenever every test ran, failed or not, and 1 after a "Bail out!" line.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from container import Container, ContainerError, pid_is_running, remove_stale_propagate_dirs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

UNIT = 'privsepd.service'
BUS_NAME = 'org.privsep.Privsep1'
OBJECT_PATH = '/org/privsep/Privsep1'
INTERFACE_PREFIX = 'org.privsep.Privsep1.'
CALL_MESSAGE_ID = 'c7c2d987380a40ee966267dc51bf0789'
SERVICE_USER = 'privsepd'
CALLER_GROUP = 'privsep'

# Test users inside the container: one member of the group that the shipped
# polkit rules file lets in, and one user without any grant.
MEMBER = 'privsep-member'
OUTSIDER = 'privsep-outsider'

# The union of the privilege contexts' capabilities.
CAPABILITY_BITS = {
    'cap_chown': 0,
    'cap_dac_override': 1,
    'cap_net_admin': 12,
    'cap_sys_admin': 21,
}
UNION_MASK = sum(1 << bit for bit in CAPABILITY_BITS.values())

# The service runs as three kinds of process: the supervisor (the unit's
# MainPID) forks the front, which owns the bus name and has no capabilities,
# and one worker per privilege context, which keeps that context's set. The
# supervisor needs CAP_SETPCAP on top of the union to shrink each worker's
# bounding set, so the unit grants the union plus CAP_SETPCAP.
CAP_SETPCAP_BIT = 8
SUPERVISOR_EXTRA = {'cap_setpcap'}
SUPERVISOR_MASK = UNION_MASK | 1 << CAP_SETPCAP_BIT

# `systemd-analyze security --offline=true` exposure score of the shipped
# unit (systemd 252, from 0 for best to 10 for worst). Lower this when the
# unit gets stricter, because the test fails only when the score gets worse.
EXPOSURE_MAX = 4.0

# Names of the veth pair created in the container's private network.
VETH = 'psveth0'
VETH_PEER = 'psveth1'

# Test-only polkit rule: an authorization check for a hostname or mount name
# that starts with "slow-" waits SLOW_SECONDS in polkitd before the shipped
# rules decide, so that the call stays in flight in the service that long.
SLOW_SECONDS = 3
SLOW_RULE_PATH = '/etc/polkit-1/rules.d/10-privsep-test-slow.rules'
SLOW_RULE = f'''\
// Test only: holds authorization checks for names starting with "slow-".
polkit.addRule(function(action, subject) {{
        if (action.id.indexOf("org.privsep.") != 0)
                return polkit.Result.NOT_HANDLED;
        var name = action.lookup("hostname") || action.lookup("mount") || "";
        if (name.indexOf("slow-") == 0)
                polkit.spawn(["/bin/sleep", "{SLOW_SECONDS}"]);
        return polkit.Result.NOT_HANDLED;
}});
'''

# Temporary directories are named WORK_DIR_PREFIX + the runner's pid + "-".
WORK_DIR_PREFIX = 'privsep-systemd-test-'

IDLE_DROP_IN_DIR = f'/run/systemd/system/{UNIT}.d'
IDLE_TIMEOUT_SECONDS = 2


class TestFailure(Exception):
    pass


class Tap:
    """TAP version 13 output, printed line by line as the tests finish."""

    def __init__(self):
        self.count = 0
        self.failed = 0
        print('TAP version 13', flush=True)

    def diag(self, text):
        for line in str(text).splitlines() or ['']:
            print(f'# {line}', flush=True)

    def result(self, name, failures, notes):
        self.count += 1
        for note in notes:
            self.diag(note)
        if failures:
            self.failed += 1
            print(f'not ok {self.count} - {name}', flush=True)
            for failure in failures:
                self.diag(failure)
        else:
            print(f'ok {self.count} - {name}', flush=True)

    def skip_all(self, reason):
        print(f'1..0 # SKIP {reason}', flush=True)

    def bail_out(self, reason):
        print(f'Bail out! {reason}', flush=True)

    def plan(self):
        print(f'1..{self.count}', flush=True)


class CallResult:
    """Outcome of one method call made with dbus-send."""

    ERROR_LINE = re.compile(r'^Error ([A-Za-z0-9_.]+): ?(.*)$', re.S)

    def __init__(self, process):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr.strip()
        self.error_name = None
        self.error_message = None
        match = self.ERROR_LINE.match(self.stderr)
        if match:
            self.error_name, self.error_message = match.group(1), match.group(2)

    @property
    def ok(self):
        return self.returncode == 0

    def __str__(self):
        if self.ok:
            return 'success'
        if self.error_name:
            return f'{self.error_name}: {self.error_message}'
        return f'exit status {self.returncode}: {self.stderr}'


def dbus_send_argv(interface, member, args, timeout):
    return ['dbus-send', '--system', '--print-reply', f'--reply-timeout={int(timeout * 1000)}',
            f'--dest={BUS_NAME}', OBJECT_PATH, INTERFACE_PREFIX + interface + '.' + member] + list(args)


def parse_mountinfo(text):
    """Return the lines of a mountinfo file as dicts: mount_point, options, fstype, source, super_options."""
    mounts = []
    for line in text.splitlines():
        before, _, after = line.partition(' - ')
        fields = before.split()
        fstype, source, super_options = (after.split() + ['', '', ''])[:3]
        mounts.append({
            'mount_point': fields[4],
            'options': fields[5].split(','),
            'fstype': fstype,
            'source': source,
            'super_options': super_options.split(','),
        })
    return mounts


class UnitTests:
    def __init__(self, tap, container, stage):
        self.tap = tap
        self.c = container
        self.stage = stage
        self._failures = None
        self._notes = None

    # Helpers available to every test.

    def check(self, condition, message):
        """Record a failed check and go on with the test."""
        if not condition:
            self._failures.append(message)
        return condition

    def require(self, condition, message):
        """Fail the test and stop it when condition is false."""
        if not condition:
            raise TestFailure(message)

    def note(self, message):
        self._notes.append(message)

    def run(self, argv, **kwargs):
        return self.c.run(argv, **kwargs)

    def run_ok(self, argv, **kwargs):
        result = self.c.run(argv, **kwargs)
        self.require(result.returncode == 0,
                     f'{" ".join(argv)} failed with status {result.returncode}: {result.stderr.strip()}')
        return result

    def call(self, user, interface, member, *args, timeout=25):
        """Call a method with dbus-send as user (None: root) and return a CallResult."""
        return CallResult(self.c.run(dbus_send_argv(interface, member, args, timeout),
                                     user=user, timeout=timeout + 5))

    def spawn_call(self, user, interface, member, *args, timeout=25):
        return self.c.spawn(dbus_send_argv(interface, member, args, timeout), user=user, timeout=timeout + 5)

    def unit_property(self, name):
        return self.run_ok(['systemctl', 'show', '--property', name, '--value', UNIT]).stdout.strip()

    def main_pid(self):
        return int(self.unit_property('MainPID'))

    def active_state(self):
        return self.unit_property('ActiveState')

    def wait_for(self, predicate, timeout, interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def wait_for_state(self, states, timeout):
        return self.wait_for(lambda: self.active_state() in states, timeout)

    def stop_service(self):
        self.run_ok(['systemctl', 'stop', UNIT])
        self.run(['systemctl', 'reset-failed', UNIT])

    def ensure_running(self):
        """Start the service through a call, as a client would, and return its MainPID."""
        if self.active_state() != 'active':
            result = self.call(None, 'Manager', 'ListMethods')
            self.require(result.ok, f'ListMethods as root failed: {result}')
        self.require(self.wait_for_state(('active',), 10), f'{UNIT} is {self.active_state()}, expected active')
        return self.main_pid()

    def unit_pids(self):
        """Return the pids of every process in the unit's control group."""
        # GetUnitProcesses reads whichever cgroup hierarchy the container has.
        result = self.run_ok(['busctl', '--json=short', 'call', 'org.freedesktop.systemd1',
                              '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager',
                              'GetUnitProcesses', 's', UNIT])
        return sorted(pid for _, pid, _ in json.loads(result.stdout)['data'][0])

    def contexts(self):
        """Return the privilege contexts that ListMethods reports, as {name: capability mask}."""
        result = self.run_ok(['busctl', '--json=short', 'call', BUS_NAME, OBJECT_PATH,
                              INTERFACE_PREFIX + 'Manager', 'ListMethods'])
        contexts = {}
        for _, _, _, context, names in json.loads(result.stdout)['data'][0]:
            unknown = {name.lower() for name in names} - set(CAPABILITY_BITS)
            self.require(not unknown, f'context {context} lists unexpected capabilities {sorted(unknown)}')
            contexts[context] = sum(1 << CAPABILITY_BITS[name.lower()] for name in names)
        return contexts

    def capability_masks(self, pid):
        status = self.proc_status(pid)
        return {key: int(status[key], 16) for key in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')}

    def name_owner_pid(self):
        result = self.run(['busctl', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                           'GetConnectionUnixProcessID', 's', BUS_NAME])
        if result.returncode != 0:
            return None
        return int(result.stdout.split()[1])

    def proc_status(self, pid):
        result = self.run_ok(['cat', f'/proc/{pid}/status'])
        status = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(':')
            status[key] = value.strip()
        return status

    def mounts(self):
        """Return the mount table of the container's PID 1."""
        return parse_mountinfo(self.run_ok(['cat', '/proc/1/mountinfo']).stdout)

    def hostname(self):
        return self.run_ok(['cat', '/proc/sys/kernel/hostname']).stdout.strip()

    def link(self, ifname):
        result = self.run_ok(['ip', '-json', 'link', 'show', 'dev', ifname])
        return json.loads(result.stdout)[0]

    def journal_cursor(self):
        result = self.run_ok(['journalctl', '--quiet', '--output=json', '--lines=1'])
        lines = result.stdout.strip().splitlines()
        return json.loads(lines[-1])['__CURSOR'] if lines else None

    def call_entries(self, cursor):
        """Return the journal entries of privileged calls after cursor.

        No match on the command line: journalctl 252 with --after-cursor and
        a match skips the first matching entry when the cursor entry itself
        does not match.
        """
        argv = ['journalctl', '--quiet', '--output=json']
        if cursor:
            argv.append(f'--after-cursor={cursor}')
        result = self.run_ok(argv)
        entries = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return [e for e in entries if e.get('MESSAGE_ID') == CALL_MESSAGE_ID]

    def unit_call_entry_count(self):
        """Return the number of privileged call entries that journalctl -u shows for the unit."""
        result = self.run_ok(['journalctl', '--quiet', '--output=json', f'--unit={UNIT}',
                              f'MESSAGE_ID={CALL_MESSAGE_ID}'])
        return len([line for line in result.stdout.splitlines() if line.strip()])

    def journal_tail(self, lines=12):
        return self.run(['journalctl', '--quiet', '--no-hostname', f'--unit={UNIT}', f'--lines={lines}']).stdout

    def user_id(self, user):
        return int(self.run_ok(['id', '-u', user]).stdout)

    # Test runner.

    def run_test(self, name, function):
        self._failures = []
        self._notes = []
        try:
            function()
        except TestFailure as e:
            self._failures.append(str(e))
        except Exception as e:
            # Any other error fails this one test, and the next test still runs.
            self._failures.append(f'{type(e).__name__}: {e}')
            self._failures.extend(traceback.format_exc().splitlines())
        if self._failures:
            self._failures.append(f'last lines of journalctl -u {UNIT}:')
            self._failures.extend(self.journal_tail().splitlines())
        self.tap.result(name, self._failures, self._notes)

    def run_all(self):
        tests = [
            ('install/no-setuid-or-setgid-files', self.test_no_setuid_files),
            ('units/verify', self.test_verify),
            ('units/security-exposure', self.test_security_exposure),
            ('activation/busctl-call-starts-service', self.test_activation),
            ('daemon/runs-as-service-user', self.test_daemon_user),
            ('daemon/capabilities-while-idle', self.test_capabilities),
            ('methods/list-methods-matches-unit-capabilities', self.test_list_methods),
            ('methods/motd-update', self.test_motd),
            ('methods/hostname-set', self.test_hostname),
            ('methods/mount-tmpfs-visible-to-pid1', self.test_mount_tmpfs),
            ('methods/unmount', self.test_unmount),
            ('methods/link-set-mtu', self.test_link_set_mtu),
            ('methods/link-set-up', self.test_link_set_up),
            ('dbus/policy-rejects-other-name-owners', self.test_bus_policy_rejects_owner),
            ('polkit/outsider-denied-every-method', self.test_outsider_denied),
            ('polkit/member-allowed-by-shipped-rules', self.test_member_needs_shipped_rules),
            ('journal/one-entry-per-privileged-call', self.test_journal),
            ('lifecycle/stop-and-start', self.test_stop_start),
            ('lifecycle/idle-exit-and-reactivation', self.test_idle_exit),
            ('lifecycle/mount-survives-daemon-exit', self.test_mount_survives_exit),
            ('lifecycle/kill-front-during-call', self.test_kill_front_during_call),
            ('lifecycle/kill-supervisor-during-call', self.test_kill_supervisor_during_call),
            ('lifecycle/kill-worker-during-call', self.test_kill_worker_during_call),
            ('lifecycle/restart-loses-no-call', self.test_restart_in_flight),
        ]
        for name, function in tests:
            self.run_test(name, function)

    # Tests.

    def test_no_setuid_files(self):
        for directory, _, files in os.walk(self.stage):
            for name in files:
                path = os.path.join(directory, name)
                mode = os.lstat(path).st_mode
                self.check(not mode & 0o6000, f'{os.path.relpath(path, self.stage)} has mode {mode & 0o7777:o}')

    def installed_unit_path(self):
        found = [target for _, target in staged_binds(self.stage) if os.path.basename(target) == UNIT]
        self.require(len(found) == 1, f'expected one installed {UNIT}, found {found}')
        return found[0]

    def test_verify(self):
        # systemd-analyze verify writes /run/systemd/systemd-units-load, and
        # a private tmpfs keeps that file out of the container's /run.
        # --man=no because the container has no man-db to look up Documentation=.
        result = self.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                           'mount -t tmpfs tmpfs /run/systemd && exec systemd-analyze verify --man=no "$1"',
                           'sh', self.installed_unit_path()])
        output = (result.stdout + result.stderr).strip()
        if output:
            self.note(f'systemd-analyze verify output:\n{output}')
        self.check(result.returncode == 0, f'systemd-analyze verify exited with status {result.returncode}')
        self.check(output == '', 'systemd-analyze verify printed warnings')

    def test_security_exposure(self):
        result = self.run(['systemd-analyze', 'security', '--offline=true', '--no-pager', UNIT])
        output = result.stdout + result.stderr
        match = re.search(r'Overall exposure level for \S+: (\d+(?:\.\d+)?)', output)
        self.require(match, f'no exposure level in the output of systemd-analyze security:\n{output}')
        score = float(match.group(1))
        self.note(f'exposure score of {UNIT}: {score} (maximum allowed {EXPOSURE_MAX})')
        for line in output.splitlines():
            if line.startswith('✗'):
                self.note(f'  {line}')
        self.check(score <= EXPOSURE_MAX, f'exposure score {score} is worse than {EXPOSURE_MAX}')

    def test_sysusers(self):
        passwd = self.run(['getent', 'passwd', SERVICE_USER])
        self.require(passwd.returncode == 0, f'no user {SERVICE_USER} after boot')
        fields = passwd.stdout.strip().split(':')
        uid = int(fields[2])
        self.check(uid < 1000, f'{SERVICE_USER} has uid {uid}, expected a system uid below 1000')
        self.check(fields[6] in ('/usr/sbin/nologin', '/sbin/nologin', '/bin/false'),
                   f'{SERVICE_USER} has login shell {fields[6]}')
        group = self.run(['getent', 'group', CALLER_GROUP])
        self.check(group.returncode == 0, f'no group {CALLER_GROUP} after boot')
        self.note(f'passwd entry: {passwd.stdout.strip()}')

    def test_activation(self):
        self.stop_service()
        self.require(self.active_state() == 'inactive', f'{UNIT} is {self.active_state()} after systemctl stop')
        self.require(self.name_owner_pid() is None, f'{BUS_NAME} still has an owner after systemctl stop')

        result = self.run(['busctl', '--json=short', 'call', BUS_NAME, OBJECT_PATH,
                           INTERFACE_PREFIX + 'Manager', 'ListMethods'], user=MEMBER)
        self.require(result.returncode == 0, f'busctl call as {MEMBER} failed: {result.stderr.strip()}')
        reply = json.loads(result.stdout)
        self.check(reply['type'] == 'a(ssssas)', f'reply type {reply["type"]}, expected a(ssssas)')
        self.check(len(reply['data'][0]) > 0, 'ListMethods returned no methods')

        self.check(self.active_state() == 'active', f'{UNIT} is {self.active_state()} after the call, expected active')
        owner = self.name_owner_pid()
        pids = self.unit_pids()
        self.check(owner in pids, f'{BUS_NAME} is owned by pid {owner}, which is not one of the unit\'s {pids}')
        self.check(self.unit_property('Type') == 'dbus', f'unit Type={self.unit_property("Type")}, expected dbus')

    def test_daemon_user(self):
        self.ensure_running()
        uid = self.user_id(SERVICE_USER)
        gid = int(self.run_ok(['id', '-g', SERVICE_USER]).stdout)
        for pid in self.unit_pids():
            status = self.proc_status(pid)
            name = f'process {pid} ({status["Name"]})'
            self.check(status['Uid'].split() == [str(uid)] * 4, f'{name} Uid: {status["Uid"]}, expected {uid} four times')
            self.check(status['Gid'].split() == [str(gid)] * 4, f'{name} Gid: {status["Gid"]}, expected {gid} four times')
            self.check(status['Groups'].split() in ([], [str(gid)]),
                       f'{name} supplementary groups: {status["Groups"]}, expected none besides {gid}')
            self.check(status['NoNewPrivs'] == '1', f'{name} NoNewPrivs: {status["NoNewPrivs"]}, expected 1')
            self.note(f'{name}: Seccomp {status.get("Seccomp")}, Seccomp_filters {status.get("Seccomp_filters")}')

    def test_capabilities(self):
        self.ensure_running()
        # A call that has finished leaves every process idle again.
        result = self.call(MEMBER, 'Hostname', 'Set', 'string:capability-check')
        self.check(result.ok, f'Hostname.Set as {MEMBER}: {result}')
        main_pid = self.main_pid()
        front_pid = self.name_owner_pid()
        contexts = self.contexts()
        workers = {}

        for pid in self.unit_pids():
            masks = self.capability_masks(pid)
            if pid == main_pid:
                role = 'supervisor'
            elif pid == front_pid:
                role = 'front'
            else:
                role = 'worker'
            name = f'{role} {pid}'
            self.note(f'{name}: ' + ' '.join(f'{key}={value:016x}' for key, value in masks.items()))

            # Promises that hold for every process.
            self.check(masks['CapEff'] == 0, f'{name}: CapEff={masks["CapEff"]:016x} while idle, expected 0')
            self.check(masks['CapAmb'] == 0, f'{name}: CapAmb={masks["CapAmb"]:016x}, expected 0: '
                                             'ambient capabilities pass to every program it executes')
            self.check(masks['CapInh'] == 0, f'{name}: CapInh={masks["CapInh"]:016x}, expected 0')
            self.check(masks['CapBnd'] & ~UNION_MASK == 0,
                       f'{name}: CapBnd={masks["CapBnd"]:016x} goes beyond the union {UNION_MASK:016x}')

            if role == 'supervisor':
                self.check(masks['CapPrm'] == SUPERVISOR_MASK,
                           f'{name}: CapPrm={masks["CapPrm"]:016x}, expected the union and CAP_SETPCAP {SUPERVISOR_MASK:016x}')
            elif role == 'front':
                self.check(masks['CapPrm'] == 0, f'{name}: CapPrm={masks["CapPrm"]:016x}, expected 0 '
                                                 'in the process that parses bus messages')
            else:
                matching = [context for context, mask in contexts.items() if mask == masks['CapPrm']]
                self.check(len(matching) == 1, f'{name}: CapPrm={masks["CapPrm"]:016x} is no context\'s set; '
                                               f'contexts: { {c: f"{m:016x}" for c, m in contexts.items()} }')
                self.check(masks['CapBnd'] == masks['CapPrm'],
                           f'{name}: CapBnd={masks["CapBnd"]:016x}, expected its context\'s {masks["CapPrm"]:016x}')
                for context in matching:
                    workers.setdefault(context, []).append(pid)

        for context in contexts:
            self.check(len(workers.get(context, [])) == 1,
                       f'context {context}: worker processes {workers.get(context, [])}, expected exactly one')

    def test_list_methods(self):
        result = self.run_ok(['busctl', '--json=short', 'call', BUS_NAME, OBJECT_PATH,
                              INTERFACE_PREFIX + 'Manager', 'ListMethods'], user=OUTSIDER)
        methods = json.loads(result.stdout)['data'][0]
        listed = {f'{interface}.{member}' for interface, member, _, _, _ in methods}
        expected = {INTERFACE_PREFIX + name for name in (
            'Motd.Update', 'Hostname.Set', 'Mount.MountTmpfs', 'Mount.Unmount', 'Link.SetMtu', 'Link.SetUp')}
        self.check(expected <= listed, f'ListMethods lacks {sorted(expected - listed)}')
        capabilities = set()
        for _, _, _, _, names in methods:
            capabilities.update(name.lower() for name in names)
        self.check(capabilities == set(CAPABILITY_BITS),
                   f'capabilities of the entry points: {sorted(capabilities)}, expected {sorted(CAPABILITY_BITS)}')
        bounding = self.unit_property('CapabilityBoundingSet').split()
        ambient = self.unit_property('AmbientCapabilities').split()
        expected_unit = capabilities | SUPERVISOR_EXTRA
        self.check(set(bounding) == expected_unit,
                   f'unit CapabilityBoundingSet={" ".join(bounding)}, expected {" ".join(sorted(expected_unit))}')
        self.check(set(ambient) == expected_unit,
                   f'unit AmbientCapabilities={" ".join(ambient)}, expected {" ".join(sorted(expected_unit))}')

    def test_motd(self):
        message = f'privsep container test {os.getpid()}\nsecond line\n'
        etc_before = set(self.run_ok(['ls', '-A', '/etc']).stdout.split())
        result = self.call(MEMBER, 'Motd', 'Update', f'string:{message}')
        self.require(result.ok, f'Motd.Update as {MEMBER}: {result}')
        stat = self.run_ok(['stat', '--format=%u %g %a %F', '/etc/motd']).stdout.strip()
        self.check(stat == '0 0 644 regular file',
                   f'/etc/motd: {stat} (uid gid mode type), expected 0 0 644 regular file')
        content = self.run_ok(['cat', '/etc/motd']).stdout
        self.check(content == message, f'/etc/motd contains {content!r}, expected {message!r}')
        leftovers = set(self.run_ok(['ls', '-A', '/etc']).stdout.split()) - etc_before - {'motd'}
        self.check(not leftovers, f'files left in /etc: {sorted(leftovers)}')

    def test_hostname(self):
        name = f'privsep-{os.getpid()}'
        result = self.call(MEMBER, 'Hostname', 'Set', f'string:{name}')
        self.require(result.ok, f'Hostname.Set as {MEMBER}: {result}')
        self.check(self.hostname() == name, f'hostname is {self.hostname()!r}, expected {name!r}')
        uname = self.run_ok(['uname', '-n']).stdout.strip()
        self.check(uname == name, f'uname -n in the container prints {uname!r}, expected {name!r}')

    def test_mount_tmpfs(self):
        size = 4 * 1024 * 1024
        result = self.call(MEMBER, 'Mount', 'MountTmpfs', 'string:systemd-test', f'uint64:{size}')
        self.require(result.ok, f'Mount.MountTmpfs as {MEMBER}: {result}')
        path = '/run/privsep/mounts/systemd-test'
        found = [m for m in self.mounts() if m['mount_point'] == path]
        self.require(found, f'{path} is not in /proc/1/mountinfo')
        mount = found[-1]
        self.note(f'mountinfo: {mount}')
        self.check(mount['fstype'] == 'tmpfs', f'{path} has type {mount["fstype"]}, expected tmpfs')
        for option in ('nosuid', 'nodev', 'noexec'):
            self.check(option in mount['options'], f'{path} lacks {option}: {",".join(mount["options"])}')
        self.check(f'size={size // 1024}k' in mount['super_options'],
                   f'{path} has {",".join(mount["super_options"])}, expected size={size // 1024}k')
        # The tmpfs root belongs to the caller (uid= and gid= mount options),
        # so the caller must be able to reach it and write to it.
        self.check(f'uid={self.user_id(MEMBER)}' in mount['super_options'],
                   f'{path} has {",".join(mount["super_options"])}, expected uid={self.user_id(MEMBER)}')
        modes = self.run_ok(['stat', '--format=%n %U:%G %a', '/run/privsep', '/run/privsep/mounts', path]).stdout
        self.note(f'directories:\n{modes.strip()}')
        write = self.run(['sh', '-c', f'echo test > {path}/file && cat {path}/file'], user=MEMBER)
        self.check(write.returncode == 0 and write.stdout == 'test\n',
                   f'{MEMBER} cannot write to its tmpfs {path}: {write.stderr.strip()}')

    def test_unmount(self):
        path = '/run/privsep/mounts/systemd-test'
        result = self.call(MEMBER, 'Mount', 'Unmount', 'string:systemd-test')
        self.require(result.ok, f'Mount.Unmount as {MEMBER}: {result}')
        found = [m for m in self.mounts() if m['mount_point'] == path]
        self.check(not found, f'{path} is still in /proc/1/mountinfo')
        exists = self.run(['test', '-e', path]).returncode == 0
        self.check(not exists, f'{path} still exists')

    def test_link_set_mtu(self):
        before = self.link(VETH)['mtu']
        mtu = 1400 if before != 1400 else 1300
        result = self.call(MEMBER, 'Link', 'SetMtu', f'string:{VETH}', f'uint32:{mtu}')
        self.require(result.ok, f'Link.SetMtu as {MEMBER}: {result}')
        after = self.link(VETH)['mtu']
        self.check(after == mtu, f'{VETH} has MTU {after}, expected {mtu}')

    def test_link_set_up(self):
        result = self.call(MEMBER, 'Link', 'SetUp', f'string:{VETH}', 'boolean:true')
        self.require(result.ok, f'Link.SetUp true as {MEMBER}: {result}')
        flags = self.link(VETH)['flags']
        self.check('UP' in flags, f'{VETH} flags {flags} after SetUp true, expected UP')
        result = self.call(MEMBER, 'Link', 'SetUp', f'string:{VETH}', 'boolean:false')
        self.require(result.ok, f'Link.SetUp false as {MEMBER}: {result}')
        flags = self.link(VETH)['flags']
        self.check('UP' not in flags, f'{VETH} flags {flags} after SetUp false, expected no UP')

    def privileged_calls(self, tag):
        """Return one call of every privileged method.

        Each item is (interface, member, dbus-send arguments, arguments by
        name). Journal field names allow only A-Z, 0-9 and "_", so argument
        "size_bytes" is expected in field PRIVSEP_ARG_SIZE_BYTES.
        """
        return [
            ('Motd', 'Update', [f'string:{tag}'], {'message': tag}),
            ('Hostname', 'Set', [f'string:{tag}'], {'hostname': tag}),
            ('Mount', 'MountTmpfs', [f'string:{tag}', 'uint64:1048576'], {'name': tag, 'size_bytes': '1048576'}),
            ('Mount', 'Unmount', [f'string:{tag}'], {'name': tag}),
            ('Link', 'SetMtu', [f'string:{VETH}', 'uint32:1280'], {'ifname': VETH, 'mtu': '1280'}),
            ('Link', 'SetUp', [f'string:{VETH}', 'boolean:true'], {'ifname': VETH, 'up': 'true'}),
        ]

    def test_bus_policy_rejects_owner(self):
        for user in (MEMBER, OUTSIDER):
            result = CallResult(self.run(['dbus-send', '--system', '--print-reply', '--dest=org.freedesktop.DBus',
                                          '/org/freedesktop/DBus', 'org.freedesktop.DBus.RequestName',
                                          f'string:{BUS_NAME}', 'uint32:4'], user=user))
            self.check(result.error_name == 'org.freedesktop.DBus.Error.AccessDenied',
                       f'RequestName {BUS_NAME} as {user}: {result}, expected org.freedesktop.DBus.Error.AccessDenied')

    def test_outsider_denied(self):
        self.ensure_running()
        tag = 'outsider'
        motd = self.run_ok(['cat', '/etc/motd']).stdout
        hostname = self.hostname()
        mtu = self.link(VETH)['mtu']
        for interface, member, args, _ in self.privileged_calls(tag):
            result = self.call(OUTSIDER, interface, member, *args)
            self.check(result.error_name == 'org.freedesktop.DBus.Error.AccessDenied',
                       f'{interface}.{member} as {OUTSIDER}: {result}, expected org.freedesktop.DBus.Error.AccessDenied')
        self.check(self.run_ok(['cat', '/etc/motd']).stdout == motd, f'/etc/motd changed after calls by {OUTSIDER}')
        self.check(self.hostname() == hostname, f'hostname changed to {self.hostname()} after calls by {OUTSIDER}')
        self.check(self.link(VETH)['mtu'] == mtu, f'{VETH} MTU changed after calls by {OUTSIDER}')
        self.check(not [m for m in self.mounts() if m['mount_point'].endswith('/' + tag)],
                   f'a tmpfs {tag} was mounted by {OUTSIDER}')

    def shipped_rules_path(self):
        rules = [name for name in os.listdir(os.path.join(self.stage, 'usr/share/polkit-1/rules.d'))
                 if name.endswith('.rules')]
        self.require(len(rules) == 1, f'expected one installed polkit rules file, found {rules}')
        return '/usr/share/polkit-1/rules.d/' + rules[0]

    def test_member_needs_shipped_rules(self):
        self.ensure_running()
        rules = self.shipped_rules_path()
        result = self.call(MEMBER, 'Hostname', 'Set', 'string:with-rules')
        self.check(result.ok, f'Hostname.Set as {MEMBER} with {rules} installed: {result}')

        # Hide the shipped rules file: the member must then be denied, so
        # the grant above came from that file and not from polkit defaults.
        # polkitd watches directories with inotify, which does not see a
        # mount, so it is restarted after each change.
        try:
            self.run_ok(['mount', '--bind', '/dev/null', rules])
            self.run_ok(['systemctl', 'restart', 'polkit.service'])
            result = self.call(MEMBER, 'Hostname', 'Set', 'string:without-rules')
            self.check(result.error_name == 'org.freedesktop.DBus.Error.AccessDenied',
                       f'Hostname.Set as {MEMBER} without {rules}: {result}, expected AccessDenied')
        finally:
            self.run(['umount', rules])
            self.run(['systemctl', 'restart', 'polkit.service'])
        self.check(self.hostname() == 'with-rules', f'hostname is {self.hostname()}, expected with-rules')

    def test_journal(self):
        self.ensure_running()
        cursor = self.journal_cursor()
        count_before = self.unit_call_entry_count()
        member_uid = self.user_id(MEMBER)
        outsider_uid = self.user_id(OUTSIDER)
        expected = []
        arguments = {}
        for interface, member, args, logged in self.privileged_calls('journal-test'):
            result = self.call(MEMBER, interface, member, *args)
            self.check(result.ok, f'{interface}.{member} as {MEMBER}: {result}')
            expected.append((INTERFACE_PREFIX + interface + '.' + member, member_uid, 'authorized'))
            arguments[expected[-1]] = logged
        result = self.call(OUTSIDER, 'Hostname', 'Set', 'string:journal-denied')
        self.check(not result.ok, f'Hostname.Set as {OUTSIDER} succeeded')
        expected.append((INTERFACE_PREFIX + 'Hostname.Set', outsider_uid, 'denied'))
        arguments[expected[-1]] = {'hostname': 'journal-denied'}

        # journald reads the datagrams asynchronously: wait for the
        # expected number, then a little longer for unexpected extra ones.
        self.wait_for(lambda: len(self.call_entries(cursor)) >= len(expected), 5)
        time.sleep(0.5)
        entries = self.call_entries(cursor)
        seen = [(e.get('PRIVSEP_METHOD'), int(e.get('PRIVSEP_CALLER_UID', -1)), e.get('PRIVSEP_DECISION'))
                for e in entries]
        for entry in entries:
            self.note(f'{entry.get("PRIVSEP_METHOD")} uid={entry.get("PRIVSEP_CALLER_UID")} '
                      f'pid={entry.get("PRIVSEP_CALLER_PID")} decision={entry.get("PRIVSEP_DECISION")} '
                      f'result={entry.get("PRIVSEP_RESULT")}')
        self.check(len(entries) == len(expected), f'{len(entries)} call entries for {len(expected)} calls')
        count = self.unit_call_entry_count() - count_before
        self.check(count == len(expected), f'journalctl -u {UNIT} shows {count} new call entries, expected {len(expected)}')
        for item in expected:
            self.check(seen.count(item) == 1, f'{seen.count(item)} entries for {item}, expected 1')
        for entry in entries:
            self.check(entry.get('_SYSTEMD_UNIT') == UNIT, f'entry from unit {entry.get("_SYSTEMD_UNIT")}')
            self.check(entry.get('PRIVSEP_CALLER', '').startswith(':'),
                       f'PRIVSEP_CALLER={entry.get("PRIVSEP_CALLER")}, expected a unique bus name')
            for field in ('PRIVSEP_ACTION', 'PRIVSEP_CALLER_PID', 'PRIVSEP_RESULT'):
                self.check(entry.get(field), f'entry for {entry.get("PRIVSEP_METHOD")} lacks {field}')
            key = (entry.get('PRIVSEP_METHOD'), int(entry.get('PRIVSEP_CALLER_UID', -1)), entry.get('PRIVSEP_DECISION'))
            for name, value in arguments.get(key, {}).items():
                field = 'PRIVSEP_ARG_' + name.upper()
                self.check(entry.get(field) == value,
                           f'entry for {key[0]} has {field}={entry.get(field)!r}, expected {value!r}; '
                           f'fields: {sorted(k for k in entry if k.startswith("PRIVSEP_"))}')

    def test_stop_start(self):
        self.ensure_running()
        self.run_ok(['systemctl', 'stop', UNIT])
        self.check(self.active_state() == 'inactive', f'{UNIT} is {self.active_state()} after stop')
        self.check(self.name_owner_pid() is None, f'{BUS_NAME} has an owner after stop')
        result = self.unit_property('Result')
        self.check(result == 'success', f'unit Result={result} after stop, expected success')

        self.run_ok(['systemctl', 'start', UNIT])
        self.check(self.active_state() == 'active', f'{UNIT} is {self.active_state()} after start')
        owner = self.name_owner_pid()
        self.check(owner in self.unit_pids(), f'{BUS_NAME} owner pid {owner} is not in {UNIT}')
        result = self.call(MEMBER, 'Hostname', 'Set', 'string:after-start')
        self.check(result.ok, f'Hostname.Set after start: {result}')

    def set_idle_timeout(self, seconds):
        """Override the daemon's --idle-timeout with a runtime drop-in, or remove the drop-in (None)."""
        if seconds is None:
            self.run_ok(['rm', '-rf', IDLE_DROP_IN_DIR])
        else:
            exec_start = self.unit_property('ExecStart')
            match = re.search(r'argv\[\]=(.*?) ;', exec_start)
            self.require(match, f'cannot parse ExecStart: {exec_start}')
            argv = [a for a in match.group(1).split() if not a.startswith('--idle-timeout')]
            argv.append(f'--idle-timeout={seconds}')
            drop_in = '[Service]\nExecStart=\nExecStart=' + ' '.join(argv) + '\n'
            self.run_ok(['mkdir', '-p', IDLE_DROP_IN_DIR])
            self.run_ok(['sh', '-c', f'cat > {IDLE_DROP_IN_DIR}/idle-timeout.conf'], input=drop_in)
        self.run_ok(['systemctl', 'daemon-reload'])

    def test_idle_exit(self):
        self.stop_service()
        self.set_idle_timeout(IDLE_TIMEOUT_SECONDS)
        try:
            result = self.call(MEMBER, 'Hostname', 'Set', 'string:before-idle')
            self.require(result.ok, f'Hostname.Set as {MEMBER}: {result}')
            self.check(self.active_state() == 'active', f'{UNIT} is {self.active_state()} after the call')
            first_pid = self.main_pid()
            started = time.monotonic()

            exited = self.wait_for_state(('inactive',), IDLE_TIMEOUT_SECONDS + 10)
            elapsed = time.monotonic() - started
            self.require(exited, f'{UNIT} is still {self.active_state()} {elapsed:.1f} s after the last call '
                                 f'with --idle-timeout={IDLE_TIMEOUT_SECONDS}')
            self.note(f'exited {elapsed:.1f} s after the last call (idle timeout {IDLE_TIMEOUT_SECONDS} s)')
            self.check(elapsed >= IDLE_TIMEOUT_SECONDS - 0.5, f'exited after {elapsed:.1f} s, before the idle timeout')
            result_property = self.unit_property('Result')
            self.check(result_property == 'success', f'unit Result={result_property} after idle exit, expected success')
            self.check(self.name_owner_pid() is None, f'{BUS_NAME} has an owner after idle exit')

            result = self.call(MEMBER, 'Hostname', 'Set', 'string:after-idle')
            self.check(result.ok, f'Hostname.Set after idle exit: {result}')
            self.check(self.active_state() == 'active', f'{UNIT} is {self.active_state()} after re-activation')
            self.check(self.main_pid() != first_pid, 'the daemon was not started again')
            self.check(self.hostname() == 'after-idle', f'hostname is {self.hostname()}, expected after-idle')
        finally:
            self.set_idle_timeout(None)
            self.stop_service()

    def test_mount_survives_exit(self):
        path = '/run/privsep/mounts/survivor'
        result = self.call(MEMBER, 'Mount', 'MountTmpfs', 'string:survivor', 'uint64:1048576')
        self.require(result.ok, f'Mount.MountTmpfs as {MEMBER}: {result}')
        self.run_ok(['systemctl', 'stop', UNIT])
        found = [m for m in self.mounts() if m['mount_point'] == path]
        self.check(found, f'{path} is gone from /proc/1/mountinfo after systemctl stop')
        state = self.run(['stat', '--format=%U:%G %a', '/run/privsep', '/run/privsep/mounts']).stdout.split('\n')
        self.note(f'after stop: /run/privsep and /run/privsep/mounts: {state[:2]}')

        result = self.call(MEMBER, 'Mount', 'Unmount', 'string:survivor')
        self.check(result.ok, f'Mount.Unmount by the next daemon instance: {result}')
        found = [m for m in self.mounts() if m['mount_point'] == path]
        self.check(not found, f'{path} is still mounted after Unmount')

    def slow_rule_is_waiting(self):
        """Return whether polkitd is running the test rule's sleep, which keeps a call in flight."""
        processes = self.c.processes()
        polkitd = {p['pid'] for p in processes if p['comm'] == 'polkitd'}
        return any(p['comm'] == 'sleep' and p['ppid'] in polkitd for p in processes)

    def kill_during_call(self, target):
        """Kill -9 one process of the unit while a Hostname.Set call waits for polkit.

        target is "front", "supervisor" or "worker" (the worker of the
        context that sets the hostname). Returns the CallResult, the seconds
        between the kill and the reply, and the value that was requested.
        """
        self.ensure_running()
        self.run_ok(['systemctl', 'reset-failed', UNIT])
        if target == 'front':
            pid = self.name_owner_pid()
        elif target == 'supervisor':
            pid = self.main_pid()
        else:
            hostname_context = self.contexts_by_method()[INTERFACE_PREFIX + 'Hostname.Set']
            mask = self.contexts()[hostname_context]
            workers = [p for p in self.unit_pids() if self.capability_masks(p)['CapPrm'] == mask
                       and p not in (self.main_pid(), self.name_owner_pid())]
            self.require(len(workers) == 1, f'worker processes of context {hostname_context}: {workers}')
            pid = workers[0]

        value = f'slow-kill-{target}'
        caller = self.spawn_call(MEMBER, 'Hostname', 'Set', f'string:{value}', timeout=20)
        try:
            self.require(self.wait_for(self.slow_rule_is_waiting, 5), 'the call never reached polkit')
            self.run_ok(['sh', '-c', f'kill -KILL {pid}'])
            killed = time.monotonic()
            stdout, stderr = caller.communicate(timeout=30)
        finally:
            if caller.poll() is None:
                caller.kill()
                caller.wait()
        elapsed = time.monotonic() - killed
        result = CallResult(subprocess.CompletedProcess(caller.args, caller.returncode, stdout, stderr))
        self.note(f'kill -9 of the {target} (pid {pid}): the caller got "{result}" {elapsed:.1f} s later')

        # Wait until polkitd has sent its reply, which nothing may act on any more.
        self.wait_for(lambda: not self.slow_rule_is_waiting(), SLOW_SECONDS + 2)
        self.note(f'after the kill: ActiveState={self.active_state()} Result={self.unit_property("Result")} '
                  f'processes {self.unit_pids() if self.active_state() == "active" else []}')
        return result, elapsed, value

    def contexts_by_method(self):
        result = self.run_ok(['busctl', '--json=short', 'call', BUS_NAME, OBJECT_PATH,
                              INTERFACE_PREFIX + 'Manager', 'ListMethods'])
        return {f'{interface}.{member}': context
                for interface, member, _, context, _ in json.loads(result.stdout)['data'][0]}

    def check_reply_matches_effect(self, result, elapsed, value, before):
        hostname = self.hostname()
        self.check(result.ok or result.error_name is not None, f'the caller got neither a reply nor an error: {result}')
        self.check('Timeout' not in (result.error_name or '') and 'timed out' not in str(result).lower(),
                   f'the caller waited for its timeout: {result}')
        self.check(elapsed < SLOW_SECONDS + 5, f'the reply came {elapsed:.1f} s after the kill')
        if result.ok:
            self.check(hostname == value, f'the call succeeded but the hostname is {hostname!r}, expected {value!r}')
        else:
            self.check(hostname == before, f'the call failed ({result}) but the hostname changed to {hostname!r}')

    def check_next_call_succeeds(self):
        result = self.call(MEMBER, 'Hostname', 'Set', 'string:after-kill')
        self.check(result.ok, f'Hostname.Set after the kill: {result}')
        self.check(self.hostname() == 'after-kill', f'hostname is {self.hostname()}, expected after-kill')

    def test_kill_front_during_call(self):
        before = self.hostname()
        result, elapsed, value = self.kill_during_call('front')
        # The process that received the call is gone, so only an error is right.
        self.check(not result.ok, 'the call succeeded although the process that received it was killed')
        self.check(result.error_name is not None and elapsed < 5,
                   f'the caller got "{result}" {elapsed:.1f} s after the kill, expected an error at once')
        self.check(self.hostname() == before, f'hostname is {self.hostname()} after the killed call, expected {before}')
        self.check_next_call_succeeds()

    def test_kill_supervisor_during_call(self):
        before = self.hostname()
        result, elapsed, value = self.kill_during_call('supervisor')
        self.check_reply_matches_effect(result, elapsed, value, before)
        self.check_next_call_succeeds()

    def test_kill_worker_during_call(self):
        before = self.hostname()
        result, elapsed, value = self.kill_during_call('worker')
        self.check_reply_matches_effect(result, elapsed, value, before)
        self.check_next_call_succeeds()

    def test_restart_in_flight(self):
        self.ensure_running()
        old_pid = self.main_pid()
        names = ['slow-inflight-1', 'slow-inflight-2', 'inflight-3', 'inflight-4']
        callers = {}
        try:
            # Two calls wait in polkit while the restart begins, two more
            # arrive while the old daemon is stopping.
            for name in names[:2]:
                callers[name] = self.spawn_call(MEMBER, 'Mount', 'MountTmpfs', f'string:{name}', 'uint64:1048576',
                                                timeout=30)
            self.require(self.wait_for(self.slow_rule_is_waiting, 5), 'no call reached polkit')
            has_reload = self.unit_property('ExecReload') != ''
            self.note(f'unit has ExecReload: {has_reload}; restarting with systemctl restart')
            self.run_ok(['systemctl', '--no-block', 'restart', UNIT])
            for name in names[2:]:
                callers[name] = self.spawn_call(MEMBER, 'Mount', 'MountTmpfs', f'string:{name}', 'uint64:1048576',
                                                timeout=30)
            self.note(f'unit state while the first calls wait for polkit: {self.active_state()}')

            results = {}
            for name, caller in callers.items():
                stdout, stderr = caller.communicate(timeout=45)
                results[name] = CallResult(subprocess.CompletedProcess(caller.args, caller.returncode, stdout, stderr))
        finally:
            for caller in callers.values():
                if caller.poll() is None:
                    caller.kill()
                    caller.wait()

        self.wait_for_state(('active', 'inactive'), 15)
        self.note(f'MainPID {old_pid} before the restart, {self.main_pid()} after')
        self.check(self.main_pid() != old_pid, 'the daemon was not restarted')
        mounted = {m['mount_point'] for m in self.mounts()}
        for name, result in results.items():
            present = f'/run/privsep/mounts/{name}' in mounted
            self.note(f'{name}: {result}; mounted: {present}')
            self.check(result.ok or result.error_name is not None, f'{name}: no reply and no error: {result}')
            self.check('timed out' not in str(result).lower() and 'Timeout' not in (result.error_name or ''),
                       f'{name}: the call timed out: {result}')
            self.check(result.ok == present, f'{name}: reply "{result}" but mounted is {present}')
        for name in names:
            self.call(MEMBER, 'Mount', 'Unmount', f'string:{name}')


def meson_option(build_dir, name):
    result = subprocess.run(['meson', 'introspect', '--buildoptions', build_dir],
                            capture_output=True, text=True, check=True)
    for option in json.loads(result.stdout):
        if option['name'] == name:
            return option['value']
    return None


def usr_prefix_build(build_dir, source_dir):
    """Return a build directory with prefix /usr: build_dir itself, or one configured under it."""
    if meson_option(build_dir, 'prefix') == '/usr':
        return build_dir, False
    own = os.path.join(os.path.abspath(build_dir), 'tests', 'systemd', 'build-prefix-usr')
    if not os.path.exists(os.path.join(own, 'build.ninja')):
        subprocess.run(['meson', 'setup', '--prefix=/usr', own, source_dir],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(['meson', 'compile', '-C', own], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return own, True


def stage_install(build_dir, stage, rebuild):
    argv = ['meson', 'install', '-C', build_dir, '--destdir', stage, '--quiet']
    if not rebuild:
        # meson test has built everything already.
        argv.append('--no-rebuild')
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def staged_binds(stage):
    binds = []
    for directory, _, files in os.walk(stage):
        for name in files:
            source = os.path.join(directory, name)
            if os.path.islink(source):
                raise ContainerError(f'cannot bind-mount the installed symbolic link {source}')
            binds.append((source, '/' + os.path.relpath(source, stage)))
    return sorted(binds)


def remove_stale_work_dirs():
    """Remove the temporary directories of earlier runners that no longer run."""
    parent = tempfile.gettempdir()
    for name in os.listdir(parent):
        match = re.fullmatch(re.escape(WORK_DIR_PREFIX) + r'(\d+)-.*', name)
        if match and not pid_is_running(int(match.group(1))):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def prepare_container(c):
    """Create the test users, the veth pair and the test-only polkit rule, and reload what reads them."""
    steps = [
        # systemd-sysusers.service has already run at boot. Running it again
        # creates the users even if that unit was skipped.
        ['systemd-sysusers'],
        ['systemctl', 'daemon-reload'],
        # dbus-daemon resolves <policy user=...> when it reads its
        # configuration, so it must reread it once the service user exists.
        ['systemctl', 'reload', 'dbus.service'],
        ['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group',
         '--groups', CALLER_GROUP, MEMBER],
        ['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', OUTSIDER],
        ['ip', 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER],
        ['sh', '-c', f'cat > {SLOW_RULE_PATH}'],
        ['systemctl', 'try-restart', 'polkit.service'],
    ]
    for argv in steps:
        c.run(argv, check=True, input=SLOW_RULE if argv[0] == 'sh' else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--build-dir', required=True)
    parser.add_argument('--source-dir', required=True)
    parser.add_argument('--keep-log', metavar='FILE', help='write the container\'s console output to FILE')
    args = parser.parse_args()

    tap = Tap()
    if os.geteuid() != 0:
        tap.skip_all('needs root')
        return 0
    for tool in ('systemd-nspawn', 'nsenter', 'debootstrap', 'unshare'):
        if shutil.which(tool) is None:
            tap.skip_all(f'{tool} is not installed')
            return 0

    # meson's timeout sends SIGTERM: leave through the finally blocks so
    # that the container is powered off.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    # Names contain the runner's pid, so that the leftovers of a runner that
    # was killed before its cleanup can be recognized and removed.
    machine_prefix = 'privsep-test'
    remove_stale_propagate_dirs(machine_prefix)
    remove_stale_work_dirs()

    result = subprocess.run([os.path.join(HERE, 'build-root')], capture_output=True, text=True)
    if result.returncode != 0:
        tap.bail_out(f'building the container root failed: {result.stderr.strip()}')
        return 1
    root = result.stdout.strip()

    with tempfile.TemporaryDirectory(prefix=f'{WORK_DIR_PREFIX}{os.getpid()}-') as tmp:
        stage = os.path.join(tmp, 'stage')
        try:
            build_dir, rebuilt = usr_prefix_build(args.build_dir, args.source_dir)
            if rebuilt:
                tap.diag(f'{args.build_dir} does not use prefix /usr; installed from {build_dir} instead')
            stage_install(build_dir, stage, rebuilt)
            binds = staged_binds(stage)
        except (subprocess.CalledProcessError, ContainerError) as e:
            stderr = getattr(e, 'stderr', '') or ''
            tap.bail_out(f'installing the build failed: {e} {stderr.strip()}')
            return 1
        for source, target in binds:
            tap.diag(f'installed {target}')

        log_path = args.keep_log or os.path.join(tmp, 'console.log')
        try:
            with Container(root, f'{machine_prefix}-{os.getpid()}', binds, log_path) as c:
                tap.diag(f'container booted, system state {c.state}')
                if c.state != 'running':
                    tap.diag(c.run(['systemctl', '--failed', '--no-legend']).stdout)
                tests = UnitTests(tap, c, stage)
                # Before prepare_container() runs systemd-sysusers itself.
                tests.run_test('sysusers/creates-service-user-at-boot', tests.test_sysusers)
                prepare_container(c)
                tests.run_all()
        except ContainerError as e:
            tap.bail_out(str(e))
            with open(log_path, errors='replace') as f:
                tap.diag(f.read()[-4000:])
            return 1

    tap.plan()
    # meson reads the results from the TAP lines, and reports a non-zero exit
    # status of a TAP test as an error of the test program itself.
    return 0


if __name__ == '__main__':
    sys.exit(main())
