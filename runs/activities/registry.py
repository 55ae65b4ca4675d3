"""SCE's activities for the interpreter, by the names runs.engine.types gives them.

The database ones are synchronous (Django's ORM) and run in the worker's thread pool; each
closes its connections when done, since the pool's threads outlive any request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from runs import services
from runs.activities import events
from runs.activities.node import run_node
from runs.activities.schedule_fire import fire_schedule
from runs.engine.types import (
    RECORD_ACTIVITY,
    SUBFLOW_ACTIVITY,
    TASK_CLOSE_ACTIVITY,
    TASK_OPEN_ACTIVITY,
    EventBatch,
    SubflowLookup,
    TaskClosing,
    TaskOpening,
)

P = ParamSpec("P")
R = TypeVar("R")


def _with_connections(function: Callable[P, R]) -> Callable[P, R]:
    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return wrapper


@activity.defn(name=RECORD_ACTIVITY)
@_with_connections
def record_events(batch: EventBatch) -> None:
    events.record_and_show(batch)


@activity.defn(name=TASK_OPEN_ACTIVITY)
@_with_connections
def open_task(opening: TaskOpening) -> None:
    services.human_task_open(opening=opening)


@activity.defn(name=TASK_CLOSE_ACTIVITY)
@_with_connections
def close_task(closing: TaskClosing) -> None:
    services.human_task_close(closing=closing)


@activity.defn(name=SUBFLOW_ACTIVITY)
@_with_connections
def subflow_document(lookup: SubflowLookup) -> dict[str, Any]:
    document = services.published_document(tenant_id=lookup.tenant_id, workflow_id=lookup.workflow_id)
    if document is None:
        raise ApplicationError(
            "The workflow it names is not one of this organization's published workflows.",
            type="unknown_subflow",
            non_retryable=True,
        )
    return document


ACTIVITIES: list[Callable[..., Any]] = [
    run_node,
    record_events,
    open_task,
    close_task,
    subflow_document,
    fire_schedule,
]
