"""core.processes: a Leader is stopped with everything it started, even once it was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core import processes

# A child that ignores SIGTERM; a parent that starts it, prints its pid once it is ready
# (its SIGTERM handler in place), and waits.
CHILD = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(600)"
)
PARENT = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdout=subprocess.PIPE)
child.stdout.readline()
print(child.pid, flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """True while `pid` is a process that has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def ends(pid: int, timeout: float = 10) -> bool:
    """Whether `pid` exits within `timeout` seconds (a SIGKILL takes effect asynchronously)."""
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def start_parent(leader: bool) -> tuple[subprocess.Popen[bytes], int]:
    command = [sys.executable, "-c", PARENT]
    process = (
        processes.Leader(command, stdout=subprocess.PIPE)
        if leader
        else subprocess.Popen(command, stdout=subprocess.PIPE, start_new_session=True)
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def test_stopping_a_leader_stops_what_it_started() -> None:
    parent, child = start_parent(leader=True)
    assert os.getpgid(parent.pid) == parent.pid, "the leader heads its own process group"
    assert os.getsid(parent.pid) == parent.pid, "and its own session: no terminal signals reach it"
    assert os.getpgid(child) == parent.pid

    processes.stop(parent, timeout=5)

    assert parent.returncode == -signal.SIGTERM, "the leader was asked first"
    assert ends(child), "the child that ignored SIGTERM was killed with its group"


def test_a_killed_leaders_orphans_are_stopped_with_it() -> None:
    parent, child = start_parent(leader=True)
    parent.kill()
    parent.wait()
    assert running(child), "the orphan outlives its killed parent"

    processes.stop(parent, timeout=5)

    assert ends(child)


def test_a_process_that_is_not_a_leader_is_stopped_alone() -> None:
    parent, child = start_parent(leader=False)
    try:
        processes.stop(parent, timeout=5)
        assert parent.returncode == -signal.SIGTERM
        assert running(child), "only a Leader's group is stopped with it"
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
