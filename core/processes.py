"""Child processes the portal starts (daphne, Celery, the embedded Redis), stopped alike.

A child started as a `Leader` heads its own session, hence its own process group, which
holds whatever it starts in turn: Celery's pool processes, an embedded beat, redis-server's
save child. `stop` stops the leader gracefully, then kills what is left of its group, so
nothing outlives it, not even when the leader itself was killed and left orphans behind.
Being in their own session, the children also no longer receive the terminal's Ctrl-C or
hang-up: whoever started them (`manage.py serve`) stops them, in its own order.

Apps above core add long-running children of their own to `serve` through `register_child`,
so that core starts them without importing those apps.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Leader(subprocess.Popen[bytes]):
    """A child process leading its own session and process group (`setsid`)."""

    def __init__(self, command: Sequence[str | Path], **options: Any) -> None:
        super().__init__(command, start_new_session=True, **options)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM (redis-server flushes its append-only file, daphne and Celery finish what they
    hold), then SIGKILL if the process has not exited within `timeout` seconds. For a Leader,
    then SIGKILL to every process left in its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if isinstance(process, Leader):
        kill_group(process.pid)


def kill_group(group: int) -> None:
    """SIGKILL every process of process group `group`, if any is left.

    Those left once their leader exited are orphans whose work (a pool process's task) was
    abandoned with it; Celery's tasks are acknowledged late and resumed elsewhere."""
    with contextlib.suppress(ProcessLookupError):  # the group is empty: all have exited
        os.killpg(group, signal.SIGKILL)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process (a Leader: its whole group) and wait for it; nothing when it has
    already been stopped."""
    if isinstance(process, Leader):
        kill_group(process.pid)
    else:
        process.kill()
    process.wait()


@dataclass(frozen=True)
class RegisteredChild:
    """A long-running process an app asks `serve` to run beside the portal."""

    name: str
    command: Callable[[], list[str]]
    when: Callable[[], bool]
    needs_temporal: bool


_registered: dict[str, RegisteredChild] = {}


def register_child(
    name: str,
    command: Callable[[], list[str]],
    *,
    when: Callable[[], bool] = lambda: True,
    needs_temporal: bool = False,
) -> None:
    """Have `manage.py serve` run `command()` as a child, named `name` in its messages.

    Call it from an AppConfig.ready(), e.g. the runs app's Temporal worker:
    `register_child("runs worker", lambda: [sys.executable, "manage.py", "runs_worker"],
    needs_temporal=True)`. `serve` starts registered children after the Celery worker and
    beat, stops them before those, stops everything when one exits, and skips them all under
    `--no-worker`, one whose `when()` is false, and one that `needs_temporal` under
    `--no-temporal`. Both callables are called by `serve` at start, with settings loaded.
    Registering a name again replaces the earlier registration (ready() may run twice).
    """
    _registered[name] = RegisteredChild(name, command, when, needs_temporal)


def registered_children() -> list[RegisteredChild]:
    """The children apps registered, in the order they were first registered."""
    return list(_registered.values())
