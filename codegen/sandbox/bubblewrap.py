"""The sandbox on this machine: bubblewrap (Debian's `bwrap`), limits, one process tree.

What a run sees: /usr read-only (with Debian's merged-usr links /bin, /lib, …), its own
/proc (a new pid namespace, so /proc/1 is the sandbox's own init), a minimal /dev, a
synthetic /etc (passwd, group, hosts: nothing else of the host's), the sandbox interpreter
read-only at its own path (so its scripts' shebangs work), a size-limited /tmp, and the
project on a size-limited tmpfs at /project, its working folder and the only other place it
may write (see `project_archive` for why a tmpfs and not the host folder). The root is
remounted read-only. No network (a new, empty network namespace: even 127.0.0.1 is its own),
`--clearenv` with a handful of variables, a new session (no terminal to inject into).

Containment of processes: as root we run bubblewrap privileged and drop to a leased
unprivileged uid inside it (setpriv, with no capabilities, no inheritable ones and
no_new_privs), because RLIMIT_NPROC is not enforced for root (`identities`). Not as root,
bubblewrap maps the worker's own uid in a user namespace. Either way the rlimits (CPU seconds,
address space, file size, processes, no core dumps) are set in the child before bubblewrap
is executed and inherited by everything inside. The wall clock and `cancel` are watched here:
on either, bubblewrap's process group is killed, its init dies with it (--die-with-parent)
and the kernel ends the whole pid namespace; as root, every process of the leased uid is
then killed and waited for. If the worker itself dies, PR_SET_PDEATHSIG takes bubblewrap
down.

cgroups would bound the run's memory as a whole (rlimits bound each process) but are not
delegated on our machines (cgroup v1 hybrid); the cluster runner gets that from Kubernetes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event

from codegen.sandbox import SandboxLimits, SandboxResult
from codegen.sandbox.identities import Identity, NoFreeIdentity, lease_identity, sweep_identity
from codegen.sandbox.outcome import Collected, Stop, Tail, not_started, sandbox_result
from codegen.sandbox.project_archive import ProjectRefused, pack_project
from codegen.sandbox.python_env import SandboxPython, default_root, sandbox_install_ready

MB = 1024 * 1024
WORKSPACE = "/project"
# The report gets a small tmpfs of its own inside the workspace: a test that fills the
# workspace must not also cost the report that says so.
REPORT_FOLDER = f"{WORKSPACE}/.sce-report"
JUNIT_PATH = f"{REPORT_FOLDER}/junit.xml"
SANDBOX_TMP = "/tmp"  # noqa: S108  (the sandbox's own size-limited tmpfs, not the host's)
SANDBOX_HOME = SANDBOX_TMP
SETPRIV = "/usr/bin/setpriv"
POLL_SECONDS = 0.1
DRAIN_SECONDS = 2.0  # after bubblewrap exits, for the last output to arrive
READ_CHUNK = 1 << 16
# Processes of the machinery itself inside the run's process budget: the program that
# unpacks and reports (`inside`), and unprivileged, bubblewrap and its init too.
OWN_PROCESSES_PRIVILEGED = 1
OWN_PROCESSES_UNPRIVILEGED = 3
MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
PR_SET_PDEATHSIG = 1
NICENESS = 10


class BubblewrapRunner:
    """`SandboxRunner` with bubblewrap on this machine."""

    def __init__(
        self,
        python: SandboxPython | None = None,
        *,
        root: Path | None = None,
        bwrap: str = "bwrap",
        workspace_mb: int = 256,
        tmp_mb: int = 64,
        output_limit_bytes: int = 64 * 1024,
        junit_limit_bytes: int = 4 * MB,
        lease_dir: Path | None = None,
    ) -> None:
        self.python = python  # None: the prepared one under `root`, looked up at each run
        self.root = root
        self.bwrap = bwrap
        self.workspace_mb = workspace_mb
        self.tmp_mb = tmp_mb
        self.output_limit_bytes = output_limit_bytes
        self.junit_limit_bytes = junit_limit_bytes
        self.lease_dir = lease_dir

    def run(
        self, project: Path, command: tuple[str, ...], *, limits: SandboxLimits, cancel: Event | None = None
    ) -> SandboxResult:
        """Run `command` in the sandbox on a copy of `project`; never raises for what the
        command does, nor when the sandbox cannot start (the reason says why)."""
        started = time.monotonic()
        bwrap = shutil.which(self.bwrap)
        if bwrap is None:
            return not_started(
                started, "cannot start: bubblewrap (bwrap) is not installed; it is Debian's bubblewrap"
            )
        python = self.python or sandbox_install_ready(root=self.root)
        if python is None:
            return not_started(
                started,
                "cannot start: the sandbox's Python is not prepared (python -m codegen.sandbox.python_env)",
            )
        if os.geteuid() == 0 and not Path(SETPRIV).exists():
            return not_started(started, f"cannot start: {SETPRIV} is missing (Debian's util-linux)")
        try:
            archive = pack_project(project, max_bytes=self.workspace_mb * MB // 2)
        except ProjectRefused as error:
            return not_started(started, f"refused: {error}")
        except OSError as error:
            return not_started(started, f"refused: the project cannot be read: {error}")
        try:
            with lease_identity(self.lease_dir or (self.root or default_root()) / "leases") as identity:
                return self._run_as(identity, bwrap, python, archive, command, limits, cancel, started)
        except NoFreeIdentity as error:
            return not_started(started, f"cannot start: {error}")
        finally:
            os.close(archive)

    def _run_as(
        self,
        identity: Identity,
        bwrap: str,
        python: SandboxPython,
        archive: int,
        command: tuple[str, ...],
        limits: SandboxLimits,
        cancel: Event | None,
        started: float,
    ) -> SandboxResult:
        report_read, report_write = os.pipe()
        etc_files = {name: _memfd(name, text) for name, text in _etc_files(identity).items()}
        try:
            argv = self._argv(bwrap, python, identity, etc_files, archive, report_write, command)
            processes = limits.processes + (
                OWN_PROCESSES_PRIVILEGED
                if identity.dedicated
                else OWN_PROCESSES_UNPRIVILEGED + _own_processes()
            )
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(archive, report_write, *etc_files.values()),
                env={"PATH": "/usr/bin:/bin"},  # bubblewrap's init keeps this one: nothing of SCE
                cwd="/",
                process_group=0,
                preexec_fn=_child_limits(limits, processes),  # only syscalls between fork and exec
            )
        except OSError as error:
            os.close(report_read)
            return not_started(started, f"cannot start: {error}")
        finally:
            os.close(report_write)
            for descriptor in etc_files.values():
                os.close(descriptor)
        try:
            collected = self._collect(process, report_read, limits, cancel)
        finally:
            _kill_group(process)
            os.close(report_read)
            if process.stdout is not None:
                process.stdout.close()
        left = sweep_identity(identity)
        return sandbox_result(collected, process.returncode, limits, started, identity, left)

    def _argv(
        self,
        bwrap: str,
        python: SandboxPython,
        identity: Identity,
        etc_files: dict[str, int],
        archive: int,
        report: int,
        command: tuple[str, ...],
    ) -> list[str]:
        argv = [
            bwrap,
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        if not identity.dedicated:
            argv += ["--unshare-user"]
        argv += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
        for name in MERGED_USR_LINKS:
            top = Path("/", name)
            if top.is_symlink():
                argv += ["--symlink", str(top.readlink()), str(top)]
            elif top.is_dir():
                argv += ["--ro-bind", str(top), str(top)]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        for name, descriptor in etc_files.items():
            argv += ["--perms", "0444", "--ro-bind-data", str(descriptor), f"/etc/{name}"]
        argv += ["--perms", "01777", "--size", str(self.tmp_mb * MB), "--tmpfs", SANDBOX_TMP]
        for folder in _read_only_folders(python):
            argv += [*_parent_dirs(folder), "--ro-bind", str(folder), str(folder)]
        # 0777: as root the tmpfs belongs to root and the sandbox's uid must write in it.
        argv += ["--perms", "0777", "--size", str(self.workspace_mb * MB), "--tmpfs", WORKSPACE]
        argv += ["--perms", "0777", "--size", str(self.junit_limit_bytes + MB), "--tmpfs", REPORT_FOLDER]
        argv += ["--remount-ro", "/", "--chdir", WORKSPACE, "--clearenv"]
        for key, value in _environment(python).items():
            argv += ["--setenv", key, value]
        if identity.dedicated:
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--"]
            argv += [SETPRIV, f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups"]
            argv += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        argv += ["--", str(python.python), "-I", "-S", "-c", _inside_source()]
        argv += [str(archive), str(report), JUNIT_PATH, str(self.junit_limit_bytes), "--"]
        return argv + [part.replace("{junit}", JUNIT_PATH) for part in command]

    def _collect(
        self, process: subprocess.Popen[bytes], report_read: int, limits: SandboxLimits, cancel: Event | None
    ) -> Collected:
        """Read output and report until the run ends, the wall clock runs out or `cancel`
        is set; memory stays bounded: only the output's tail and a capped report are kept."""
        if process.stdout is None:
            raise RuntimeError("bubblewrap was started without an output pipe")
        output = Tail(self.output_limit_bytes)
        report = bytearray()
        report_limit = self.junit_limit_bytes + 4096
        deadline = time.monotonic() + limits.timeout_seconds
        exited_at: float | None = None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout.fileno(), selectors.EVENT_READ, "output")
            selector.register(report_read, selectors.EVENT_READ, "report")
            while selector.get_map():
                now = time.monotonic()
                if cancel is not None and cancel.is_set():
                    return Collected(output.bytes(), bytes(report), Stop.CANCELLED)
                if now >= deadline:
                    return Collected(output.bytes(), bytes(report), Stop.TIMEOUT)
                if exited_at is None and process.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > DRAIN_SECONDS:
                    break
                for key, _events in selector.select(timeout=min(POLL_SECONDS, deadline - now)):
                    chunk = os.read(key.fd, READ_CHUNK)
                    if not chunk:
                        selector.unregister(key.fd)
                    elif key.data == "output":
                        output.add(chunk)
                    else:
                        report += chunk[: max(0, report_limit - len(report))]
        return Collected(output.bytes(), bytes(report), None)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End bubblewrap and with it (its init dies, then the kernel ends the pid namespace)
    everything inside; harmless when it already exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _child_limits(limits: SandboxLimits, processes: int) -> Callable[[], None]:
    """The function run in the child between fork and exec of bubblewrap."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    rlimits = [
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        (resource.RLIMIT_AS, (limits.memory_mb * MB, limits.memory_mb * MB)),
        (resource.RLIMIT_FSIZE, (limits.file_mb * MB, limits.file_mb * MB)),
        (resource.RLIMIT_NPROC, (processes, processes)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (1024, 1024)),
    ]

    def apply() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # Whatever the tests do with the CPU (a fork bomb spins on every core until it is
        # killed), the worker and the rest of the machine come first.
        os.setpriority(os.PRIO_PROCESS, 0, NICENESS)
        for kind, values in rlimits:
            resource.setrlimit(kind, values)

    return apply


def _own_processes() -> int:
    """Processes of our uid now: without a dedicated uid they share RLIMIT_NPROC's count."""
    uid = str(os.getuid())
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == int(uid)
            except OSError:
                continue
    return count


def _etc_files(identity: Identity) -> dict[str, str]:
    return {
        "passwd": f"sandbox:x:{identity.uid}:{identity.gid}:sandbox:{SANDBOX_HOME}:/usr/sbin/nologin\n",
        "group": f"sandbox:x:{identity.gid}:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    }


def _environment(python: SandboxPython) -> dict[str, str]:
    return {
        "PATH": f"{python.python.parent}:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "TMPDIR": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


def _read_only_folders(python: SandboxPython) -> list[Path]:
    folders = [python.venv]
    if not python.base_prefix.is_relative_to("/usr"):
        folders.append(python.base_prefix)  # an interpreter not from Debian (pyenv and the like)
    return folders


def _parent_dirs(folder: Path) -> list[str]:
    """Mount points for `folder`'s parents, enterable by the sandbox's user (bubblewrap would
    copy the host's modes: /root is 0700)."""
    argv: list[str] = []
    for parent in reversed(folder.parents[:-1]):
        argv += ["--perms", "0755", "--dir", str(parent)]
    return argv


def _memfd(name: str, text: str) -> int:
    descriptor = os.memfd_create(f"sce-{name}", 0)
    os.write(descriptor, text.encode())
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


_INSIDE_SOURCE: str | None = None


def _inside_source() -> str:
    global _INSIDE_SOURCE
    if _INSIDE_SOURCE is None:
        _INSIDE_SOURCE = Path(__file__).with_name("inside.py").read_text()
    return _INSIDE_SOURCE
