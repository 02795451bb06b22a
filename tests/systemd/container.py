"""Boot a throwaway systemd container and run commands inside it.

The container is a systemd-nspawn instance of a cached Debian root, booted
with --volatile=overlay so that every change made inside it lands on a tmpfs
that disappears when the container stops. Files installed by the build are
bind-mounted read-only at their install paths. Commands run through nsenter
in all of the container's namespaces, so they get the same view of mounts,
hostname and network as a service started by the container's systemd.

Requires root, systemd-nspawn and nsenter on the host. The host needs no
systemd and no system bus: the container is neither registered with
systemd-machined nor moved to a unit of its own (--register=no, --keep-unit).
"""

import os
import shutil
import signal
import subprocess
import time

# nspawn creates this directory for every machine and leaves it behind when
# the host does not run systemd (systemd-nspawn 252).
PROPAGATE_DIR = '/run/systemd/nspawn/propagate'

# Environment of every command run inside: nothing leaks in from the host's
# environment (for example DBUS_SYSTEM_BUS_ADDRESS, a pager, or colours).
INSIDE_ENV = [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'LANG=C.UTF-8',
    'SYSTEMD_PAGER=',
    'SYSTEMD_COLORS=0',
    'SYSTEMD_LOG_COLOR=0',
]


class ContainerError(Exception):
    pass


def _children_named(parent_pid, comm):
    """Return the pids of the processes whose parent is parent_pid and whose command name is comm."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces, so
        # the fields after it are counted from the last ')'.
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        fields = stat[stat.rindex(')') + 2:].split()
        if name == comm and int(fields[1]) == parent_pid:
            pids.append(int(entry))
    return pids


def pid_is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_propagate_dirs(prefix):
    """Remove propagate directories of earlier runs whose runner process no longer exists.

    Machine names are PREFIX-PID, with PID the runner's process id.
    """
    try:
        names = os.listdir(PROPAGATE_DIR)
    except FileNotFoundError:
        return
    for name in names:
        if not name.startswith(prefix + '-'):
            continue
        pid = name[len(prefix) + 1:]
        if pid.isdigit() and not pid_is_running(int(pid)):
            shutil.rmtree(os.path.join(PROPAGATE_DIR, name), ignore_errors=True)
    _remove_empty_run_dirs()


def _remove_empty_run_dirs():
    """Remove the directories that nspawn creates under /run/systemd/nspawn when they are empty."""
    nspawn_dir = os.path.dirname(PROPAGATE_DIR)
    for path in (PROPAGATE_DIR, os.path.join(nspawn_dir, 'locks'), nspawn_dir):
        try:
            os.rmdir(path)
        except OSError:
            pass


class Container:
    """One booted container. Use as a context manager: leaving it powers the container off."""

    def __init__(self, root, name, binds=(), log_path=None):
        """root: the directory to boot. binds: (host path, container path) pairs, mounted read-only."""
        self.root = root
        self.name = name
        self.binds = list(binds)
        self.log_path = log_path
        self.nspawn = None
        self.pid1 = None
        self._log = None
        self._ids = {}

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _nspawn_argv(self):
        argv = [
            'systemd-nspawn',
            '--quiet',
            '--directory', self.root,
            '--machine', self.name,
            '--boot',
            # There is no systemd-machined and no system bus on the host.
            '--register=no',
            '--keep-unit',
            '--private-network',
            '--volatile=overlay',
            # Keep nspawn away from host files: no .nspawn settings, no
            # journal link into /var/log/journal, no resolv.conf or
            # localtime copies.
            '--settings=no',
            '--link-journal=no',
            '--resolv-conf=off',
            '--timezone=off',
        ]
        for source, target in self.binds:
            if ':' in source or ':' in target:
                raise ContainerError(f'cannot bind-mount a path that contains ":": {source} -> {target}')
            argv.append(f'--bind-ro={source}:{target}')
        return argv

    def start(self, timeout=60):
        """Boot the container and wait until its systemd reports running or degraded."""
        self._log = open(self.log_path or os.devnull, 'wb')
        # nspawn stays in the runner's process group: a SIGTERM sent to the
        # group (meson's test timeout) makes nspawn power the container off.
        self.nspawn = subprocess.Popen(self._nspawn_argv(), stdin=subprocess.DEVNULL,
                                       stdout=self._log, stderr=subprocess.STDOUT)

        deadline = time.monotonic() + timeout
        while self.pid1 is None:
            if self.nspawn.poll() is not None:
                raise ContainerError(f'systemd-nspawn exited with status {self.nspawn.returncode} before the container booted')
            if time.monotonic() > deadline:
                raise ContainerError(f'the container\'s systemd did not start within {timeout} s')
            # nspawn briefly forks helpers: only a child named systemd is PID 1.
            pids = _children_named(self.nspawn.pid, 'systemd')
            if pids:
                self.pid1 = pids[0]
            else:
                time.sleep(0.05)

        state = ''
        while True:
            result = self.run(['systemctl', 'is-system-running'], timeout=10)
            state = result.stdout.strip()
            if state in ('running', 'degraded'):
                break
            if state in ('stopping', 'offline', 'maintenance') or self.nspawn.poll() is not None:
                raise ContainerError(f'the container did not boot: system state "{state}"')
            if time.monotonic() > deadline:
                raise ContainerError(f'the container did not finish booting within {timeout} s: system state "{state}"')
            time.sleep(0.1)
        self.state = state

    def _inside_argv(self, argv, user=None, timeout=None):
        """Return the host command that runs argv in the container, as user when given.

        The inner timeout(1) bounds the command inside the container:
        killing nsenter on the host would leave its child running there.
        """
        inner = ['env', '-i'] + INSIDE_ENV
        if timeout is not None:
            inner += ['timeout', '--kill-after=5', str(timeout)]
        if user is not None:
            uid, gid = self._user_ids(user)
            inner += ['setpriv', f'--reuid={uid}', f'--regid={gid}', '--init-groups', '--reset-env']
            # --reset-env sets HOME, USER, SHELL and a default PATH, and env
            # puts the other variables back.
            inner += ['env'] + INSIDE_ENV[1:]
        return ['nsenter', '--target', str(self.pid1), '--all'] + inner + list(argv)

    def _user_ids(self, user):
        """Return the uid and primary gid of a user of the container."""
        if user not in self._ids:
            ids = []
            for option in ('-u', '-g'):
                result = subprocess.run(self._inside_argv(['id', option, user]), capture_output=True, text=True)
                if result.returncode != 0:
                    raise ContainerError(f'no user {user} in the container: {result.stderr.strip()}')
                ids.append(int(result.stdout))
            self._ids[user] = tuple(ids)
        return self._ids[user]

    def processes(self):
        """Return the container's processes as dicts with host pid, ppid, comm and uid."""
        pid_namespace = os.readlink(f'/proc/{self.pid1}/ns/pid')
        processes = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f'/proc/{entry}/ns/pid') != pid_namespace:
                    continue
                with open(f'/proc/{entry}/stat') as f:
                    stat = f.read()
                uid = os.stat(f'/proc/{entry}').st_uid
            except OSError:
                continue
            fields = stat[stat.rindex(')') + 2:].split()
            processes.append({
                'pid': int(entry),
                'ppid': int(fields[1]),
                'comm': stat[stat.index('(') + 1:stat.rindex(')')],
                'uid': uid,
            })
        return processes

    def run(self, argv, user=None, input=None, timeout=30, check=False):
        """Run argv inside the container and return the CompletedProcess (text mode)."""
        if self.pid1 is None:
            raise ContainerError('the container is not running')
        result = subprocess.run(self._inside_argv(argv, user, timeout), input=input,
                                capture_output=True, text=True, timeout=timeout + 10)
        if check and result.returncode != 0:
            raise ContainerError(f'{" ".join(argv)} failed with status {result.returncode}: '
                                 f'{result.stderr.strip() or result.stdout.strip()}')
        return result

    def spawn(self, argv, user=None, timeout=60):
        """Start argv inside the container without waiting; return the Popen (text mode)."""
        if self.pid1 is None:
            raise ContainerError('the container is not running')
        return subprocess.Popen(self._inside_argv(argv, user, timeout), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self, timeout=30):
        """Power the container off, wait for nspawn to exit and remove what nspawn left on the host."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.pid1 is not None:
                subprocess.run(self._inside_argv(['systemctl', '--no-block', 'poweroff'], timeout=10),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                # Not booted yet: SIGTERM makes nspawn stop the container.
                self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout)
            except subprocess.TimeoutExpired:
                self.nspawn.send_signal(signal.SIGTERM)
                try:
                    self.nspawn.wait(10)
                except subprocess.TimeoutExpired:
                    self.nspawn.kill()
                    self.nspawn.wait()
        self.pid1 = None

        shutil.rmtree(os.path.join(PROPAGATE_DIR, self.name), ignore_errors=True)
        _remove_empty_run_dirs()

        if self._log is not None:
            self._log.close()
            self._log = None
