"""What a sandboxed run did, from what it left: its output's tail and its report.

The run's output is kept as a bounded tail (`Tail`); the report is what `inside.py` wrote
back (one JSON line, then the JUnit file). Both come from code that ran in the sandbox, so
both are only read, never trusted: a missing or garbled report is "no report", and the
reason given is written for a person looking at the generation's page.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass

from codegen.sandbox import SandboxLimits, SandboxResult
from codegen.sandbox.identities import Identity


class Stop:
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass
class Collected:
    output: bytes
    report: bytes
    stopped: str | None  # Stop.TIMEOUT, Stop.CANCELLED or None (it ended by itself)


class Tail:
    """The last `limit` bytes written to it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.buffer += chunk
        excess = len(self.buffer) - self.limit
        if excess > 0:
            del self.buffer[:excess]
            self.dropped += excess

    def bytes(self) -> bytes:
        if not self.dropped:
            return bytes(self.buffer)
        return f"[… {self.dropped} earlier bytes of output dropped …]\n".encode() + bytes(self.buffer)


def sandbox_result(
    collected: Collected,
    returncode: int | None,
    limits: SandboxLimits,
    started: float,
    identity: Identity,
    processes_left: int,
) -> SandboxResult:
    header, junit = _split_report(collected.report)
    output = collected.output.decode("utf-8", errors="replace")
    exit_code: int | None = None
    killed = True
    signal_number = header.get("signal")
    if collected.stopped == Stop.TIMEOUT:
        reason = f"timed out after {limits.timeout_seconds:g} s; every process of the run was killed"
    elif collected.stopped == Stop.CANCELLED:
        reason = "cancelled; every process of the run was killed"
    elif isinstance(signal_number, int):
        reason = _signal_reason(signal_number, limits)
    else:
        killed = False
        code = header.get("returncode")
        error = header.get("error")
        if isinstance(code, int):
            exit_code, reason = code, ""
        elif isinstance(error, str):
            exit_code, reason, junit = returncode, error[:2000], None
        else:
            exit_code, reason, junit = returncode, _no_report_reason(output, returncode), None
    return SandboxResult(
        exit_code=exit_code,
        timed_out=collected.stopped == Stop.TIMEOUT,
        output=output,
        junit_xml=junit,
        duration_seconds=time.monotonic() - started,
        reason=reason,
        killed=killed,
        extra={"uid": str(identity.uid), "processes_left": str(processes_left)},
    )


def _split_report(report: bytes) -> tuple[dict[str, object], str | None]:
    line, _, rest = report.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        return {}, None
    if not isinstance(header, dict):
        return {}, None
    return header, rest.decode("utf-8", errors="replace") if rest else None


def _signal_reason(number: int, limits: SandboxLimits) -> str:
    if number == signal.SIGXCPU:
        return f"killed: over its {limits.cpu_seconds} s of CPU time (SIGXCPU)"
    if number == signal.SIGXFSZ:
        return f"killed: wrote a file over {limits.file_mb} MB (SIGXFSZ)"
    if number == signal.SIGKILL:
        return f"killed by SIGKILL: over its CPU time ({limits.cpu_seconds} s) or out of memory"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return f"killed by {name}"


def _no_report_reason(output: str, returncode: int | None) -> str:
    # bubblewrap's own failures (it could not set a mount or namespace up) start with "bwrap:".
    complaints = [line for line in output.splitlines() if line.startswith("bwrap:")]
    if complaints:
        return f"cannot start: {complaints[-1]}"
    return f"the sandbox ended without a report (exit status {returncode})"


def not_started(started: float, reason: str) -> SandboxResult:
    return SandboxResult(
        exit_code=None,
        timed_out=False,
        output="",
        junit_xml=None,
        duration_seconds=time.monotonic() - started,
        reason=reason,
    )
