"""Runs on the real Temporal dev server (tests/temporal.py) with an SCE worker in a thread of
the test process: each test gets a task queue of its own, so nothing another test left
running reaches its worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from runs.models import Run
from runs.worker import WorkerThread as WorkerThread  # the fixture's type, for the tests


@pytest.fixture
def run_worker(temporal_settings: Any) -> Iterator[WorkerThread]:
    queue = f"test-{uuid.uuid4().hex[:12]}"
    with override_settings(TEMPORAL_TASK_QUEUE=queue):
        worker = WorkerThread(queue)
        worker.start()
        try:
            yield worker
        finally:
            worker.stop()


def wait_for_run(run: Run, until: Callable[[Run], bool] | None = None, *, timeout: float = 30.0) -> Run:
    """The run, read again until `until` holds (by default: it finished)."""
    check = until or (lambda current: current.is_finished)
    deadline = time.monotonic() + timeout
    while True:
        current = Run.objects.for_tenant(run.tenant).get(pk=run.pk)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(
                f"run {run.pk} is {current.status} after {timeout} s: {current.error_message}"
            )
        time.sleep(0.05)


def queue_name() -> str:
    return str(settings.TEMPORAL_TASK_QUEUE)
