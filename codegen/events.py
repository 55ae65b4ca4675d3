"""A generation's events: a row each (what programs replay), and a frame each for the portal.

The names are seed 002's (`progress`, `file_generated`, `test_result`, `completed`,
`failed`) plus `plan`, `file_started`, `tests_finished` and `cancelled`. A row's id is the
event's number: the API resumes a stream after the last id it sent. Publishing the portal's
frame never fails the job: a page that missed one is right again on reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from codegen.models import Generation, GenerationEvent

logger = logging.getLogger(__name__)

Listener = Callable[[GenerationEvent], None]


def as_json(event: GenerationEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "event": event.kind,
        "generation": event.generation_id,
        "at": event.created_at.isoformat(),
        **event.data,
    }


def record(
    generation: Generation, kind: str, data: dict[str, Any], *, listener: Listener | None = None
) -> GenerationEvent:
    """Store the event, publish its frame, tell the listener (the command line's printer)."""
    event = GenerationEvent.objects.create(
        tenant=generation.tenant, generation=generation, kind=kind, data=data
    )
    publish(generation, event)
    if listener is not None:
        listener(event)
    return event


def publish(generation: Generation, event: GenerationEvent) -> None:
    from codegen import frames  # the portal's rendering of events

    try:
        frames.publish_event(generation, event)
    except Exception:
        logger.exception("could not publish event %s of generation %s", event.kind, generation.pk)
