"""A generation's events as the API's socket sends them: one JSON object per event.

codegen keeps every event as a numbered row (codegen.models.GenerationEvent) under seed
002's names: `progress`, `file_generated`, `test_result`, `completed`, and `failed`,
`cancelled`, `plan`, `file_started`, `tests_finished`. Each message carries `type` (the
name), `id` (the number a client resumes after), `generation_id`, `at`, the event's own
fields, and the field the seed's client reads: `progress` (percent) on `progress`, `file`
on `file_generated`, `test` on `test_result`.
"""

from __future__ import annotations

from typing import Any

from api.generation import responses
from codegen.models import GenerationEvent

# After one of these nothing more comes, unless the generation is run again.
ENDINGS = frozenset({"completed", "failed", "cancelled"})


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def event_message(event: GenerationEvent) -> dict[str, Any]:
    """The socket's message for `event`."""
    data = dict(event.data)
    generation_id = event.generation_id
    extra: dict[str, Any] = {}
    if event.kind == "progress":
        extra["progress"] = _number(data.get("percent"))
    elif event.kind == "file_generated":
        path = str(data.get("path") or "")
        extra["file"] = {
            "name": path,
            "size": _number(data.get("size")),
            "status": data.get("status"),
            "version": data.get("version"),
            "url": responses.file_url(generation_id, path) if path else None,
        }
    elif event.kind == "test_result":
        extra["test"] = {
            "test_name": data.get("name"),
            "classname": data.get("classname"),
            "status": data.get("outcome"),
            "duration": _number(data.get("duration_ms")) / 1000,
            "message": data.get("message") or "",
        }
    if event.kind in ("test_result", "tests_finished") and _number(data.get("run")):
        extra["execution_id"] = responses.execution_id(generation_id, _number(data.get("run")))
    return {
        **data,
        **extra,
        "type": event.kind,
        "id": event.pk,
        "generation_id": generation_id,
        "at": event.created_at.isoformat(),
    }
