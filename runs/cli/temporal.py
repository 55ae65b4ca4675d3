"""The Temporal a command (`manage.py workflow run`) talks to.

With TEMPORAL_ADDRESS set, the configured server and its workers: nothing is started here.
In embedded mode, the dev server `manage.py serve` runs; when it is not answering, the
command starts it (same port and SQLite file as `serve`, so a run it leaves waiting goes on
under the next `serve`) and, since nothing else would then poll its task queue, an SCE worker
in a thread of the command. Both stop when the command ends.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from django.conf import settings

from core import temporal_client, temporal_server

WORKER_START_TIMEOUT = 30.0
WORKER_STOP_TIMEOUT = 30.0


@contextmanager
def temporal_for_command(*, say: Callable[[str], None]) -> Iterator[bool]:
    """Temporal for the duration of the block; yields whether the command started its own
    (embedded) server and worker. `say` tells the user so.

    Raises temporal_server.EmbeddedTemporalError when the embedded server cannot start, and
    TemporalUnavailable when the worker cannot connect to it."""
    address, namespace = temporal_client.temporal_address(), settings.TEMPORAL_NAMESPACE
    if not settings.EMBEDDED_TEMPORAL or temporal_server.is_answering(address, namespace):
        yield False
        return
    say(
        f"Temporal is not running on {address} (`manage.py serve` runs it): starting the embedded "
        "server and an SCE worker for this command; both stop when it ends."
    )
    with _stop_signals_interrupt():
        process = temporal_server.start(
            port=settings.TEMPORAL_EMBEDDED_PORT, db_file=settings.TEMPORAL_EMBEDDED_DB, namespace=namespace
        )
        try:
            # Imported here: the registry of every activity loads only in a command that runs
            # a worker, not in every process that loads the `workflow` command's subcommands.
            from runs.worker import WorkerThread

            worker = WorkerThread(settings.TEMPORAL_TASK_QUEUE)
            worker.start()
            try:
                with _frames_unpublished():
                    yield True
            finally:
                worker.stop()
        finally:
            temporal_server.stop(process)


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the command the way Ctrl-C does, so that the server it started
    is stopped with it: the server leads its own process group, and no signal meant for the
    command reaches it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _frames_unpublished() -> Iterator[None]:
    """Silence the worker's failures to publish live frames while the command runs it.

    Frames go to the run pages' sockets through Redis, which in embedded mode `serve` runs
    too: without `serve` there is no Redis and no open page, so each event would log a
    traceback about a frame nobody could receive. The run page reads the database anyway.
    """
    logger = logging.getLogger("runs.frames")
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled
