"""The unprivileged user a sandboxed run executes as, and sweeping up after it.

Workers run as root on our machines, and the kernel does not enforce RLIMIT_NPROC for root
(kuid 0): a fork bomb under root would only stop at the machine's pid limit. So when the
worker is root every run leases a uid of its own from a small pool far above any account or
subordinate-uid range, and the sandbox drops to it (setpriv, inside bubblewrap). Then
RLIMIT_NPROC counts exactly that run's processes, and after the run "every process of this
uid" is exactly what must not survive: one kill(-1) sent as that uid ends them all, with no
race against pid reuse. An fcntl lock per uid keeps two concurrent runs (several workers)
from sharing one. 65534 (nobody) is deliberately not used: other daemons run as it, and
ext4 may reserve blocks for it (`resuid=65534` on this machine's root filesystem).

When the worker is not root the run keeps the worker's uid (bubblewrap maps it in a user
namespace) and containment rests on the pid namespace, see `codegen.sandbox.bubblewrap`.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 1_987_000_000
POOL_SIZE = 128
SWEEP_SECONDS = 5.0


class NoFreeIdentity(RuntimeError):
    """Every uid of the pool is in use by a running sandbox."""


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    dedicated: bool  # True: a leased uid nothing else runs as; False: the worker's own


@contextmanager
def lease_identity(lock_dir: Path) -> Iterator[Identity]:
    """A uid (and gid) for one run: a dedicated one from the pool when we are root."""
    if os.geteuid() != 0:
        yield Identity(uid=os.getuid(), gid=os.getgid(), dedicated=False)
        return
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    start = os.getpid() % POOL_SIZE  # concurrent workers start their search at different slots
    for offset in range(POOL_SIZE):
        uid = UID_BASE + (start + offset) % POOL_SIZE
        lock = (lock_dir / f"uid-{uid}.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            identity = Identity(uid=uid, gid=uid, dedicated=True)
            # A worker that died mid-run may have left processes under this uid.
            sweep_identity(identity)
            yield identity
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        return
    raise NoFreeIdentity(f"all {POOL_SIZE} sandbox uids are in use")


def processes_of_uid(uid: int) -> list[int]:
    """Pids whose real, effective or saved uid is `uid` (read from /proc/<pid>/status, which
    unlike the /proc/<pid> owner does not change when a process makes itself undumpable)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue  # it exited meanwhile
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if str(uid) in line.split()[1:4]:
                    found.append(int(entry.name))
                break
    return found


def sweep_identity(identity: Identity, *, within: float = SWEEP_SECONDS) -> int:
    """Kill every process of a dedicated uid; the number still alive after `within` seconds."""
    if not identity.dedicated:
        return 0
    deadline = time.monotonic() + within
    pause = 0.002  # the usual case: the pid namespace is still being torn down, a moment
    while processes_of_uid(identity.uid):
        _kill_all_as(identity)
        if time.monotonic() > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return len(processes_of_uid(identity.uid))


def _kill_all_as(identity: Identity) -> None:
    # kill(-1) signals every process the caller may signal: as this uid, exactly the run's
    # processes (and never the caller itself). The shell's builtin, because the uid may not
    # enter the folders SCE's own interpreter lives in.
    subprocess.run(
        ["/bin/sh", "-c", "kill -KILL -1 2>/dev/null; exit 0"],
        user=identity.uid,
        group=identity.gid,
        extra_groups=[],
        env={},
        cwd="/",
        check=False,
        timeout=10,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
