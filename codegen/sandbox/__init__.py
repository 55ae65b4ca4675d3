"""Running a generated project's tests where they can do no harm.

One small interface (`SandboxRunner`): a project folder and a command in, what happened out.
`codegen.sandbox.bubblewrap` runs it here with bubblewrap; a cluster runner (Kubernetes
Jobs) would implement the same `run` (README: "Sandboxed tests").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from threading import Event
from typing import Protocol


@dataclass(frozen=True)
class SandboxLimits:
    timeout_seconds: float = 120.0  # wall clock; the whole process tree is killed after it
    cpu_seconds: int = 60
    memory_mb: int = 1024
    file_mb: int = 64  # the largest file a process may write
    processes: int = 64


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None  # None when it was killed (timeout, cancel)
    timed_out: bool
    output: str  # stdout and stderr interleaved, the last CODEGEN output bytes of it
    junit_xml: str | None  # the JUnit report the command wrote, if it wrote one
    duration_seconds: float
    reason: str = ""  # why it did not finish normally, for the page
    killed: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class SandboxRunner(Protocol):
    def run(
        self, project: Path, command: tuple[str, ...], *, limits: SandboxLimits, cancel: Event | None = None
    ) -> SandboxResult:
        """Run `command` with `project` as its working folder, the only place it may write;
        blocking. When `cancel` is set the whole process tree is killed within a second."""
        ...


def limits_from_settings() -> SandboxLimits:
    """The limits configured in settings (CODEGEN_SANDBOX_*)."""
    from django.conf import settings

    return SandboxLimits(
        timeout_seconds=float(settings.CODEGEN_SANDBOX_TIMEOUT_SECONDS),
        cpu_seconds=int(settings.CODEGEN_SANDBOX_CPU_SECONDS),
        memory_mb=int(settings.CODEGEN_SANDBOX_MEMORY_MB),
        file_mb=int(settings.CODEGEN_SANDBOX_FILE_MB),
        processes=int(settings.CODEGEN_SANDBOX_PROCESSES),
    )


def default_runner() -> SandboxRunner:
    """The runner for this machine: bubblewrap on the prepared sandbox interpreter.

    It does not prepare the interpreter (that is `make`'s job, or
    `codegen.sandbox.python_env.ensure_sandbox_python`); a run without it, or without
    bubblewrap, returns a result whose reason says so.
    """
    from codegen.sandbox.bubblewrap import BubblewrapRunner

    return BubblewrapRunner()
