"""The SCE Temporal worker: the interpreter workflow and SCE's activities on the runs task
queue. `manage.py runs_worker` runs one; `workflow run` and the tests run one in a thread
(WorkerThread)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core import temporal_client
from runs.activities.registry import ACTIVITIES
from runs.engine.interpreter import RunInterpreter
from runs.engine.scheduled import ScheduledLauncher

# Database activities run in these threads; each holds a database connection while it works.
ACTIVITY_THREADS = 16
# The interpreter's imports that the sandbox passes through rather than re-imports for every
# run: the workflow core is deterministic, pure code, and re-importing pydantic models and
# networkx per workflow task would cost more than the run.
PASSED_THROUGH = ("workflows", "runs.engine", "pydantic", "pydantic_core", "networkx")


def build_worker(client: Client, *, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.TEMPORAL_TASK_QUEUE,
        workflows=[RunInterpreter, ScheduledLauncher],
        activities=ACTIVITIES,
        activity_executor=ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="sce-activity"),
        max_concurrent_activities=ACTIVITY_THREADS,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
        ),
    )


WORKER_START_TIMEOUT = 30.0
WORKER_STOP_TIMEOUT = 30.0


class WorkerThread:
    """An SCE worker polling `task_queue` in a thread with its own event loop; it can be
    stopped and started again (as a worker process is restarted)."""

    def __init__(self, task_queue: str) -> None:
        self.task_queue = task_queue
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling; raises what kept the worker from starting."""
        self._started.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name=f"sce-worker-{self.task_queue}", daemon=True)
        self._thread.start()
        if not self._started.wait(WORKER_START_TIMEOUT):
            raise temporal_client.TemporalUnavailable(
                f"the SCE worker did not start within {WORKER_START_TIMEOUT:.0f}s"
            )
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Stop polling and wait for the thread (activities still running are cancelled)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(WORKER_STOP_TIMEOUT)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # handed to start(), which raises it
            self._error = error
        finally:
            self._started.set()

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        client = await temporal_client.connect()
        async with build_worker(client, task_queue=self.task_queue):
            self._started.set()
            await self._stop.wait()
