"""The frames that keep an open generation page up to date, one per event.

The page (codegen/generation.html) renders from the database; while the job runs, its
socket receives numbered frames (core.streams, stream "generation") with out-of-band swaps
of the same partials, each replacing a whole region or one file's line: the progress line,
the usage so far, the mode, the file tree or one file of it, the test table, the outcome.
Every region a frame carries is complete (a replaced region, never an appended line), so a
page that renders from the database and then replays the frames after the number it read
first shows each file and test once, however the two overlap.

Frames are rendered in the worker, without a request, and go to every member who follows
the generation: they hold nothing that depends on the reader. The buttons (role, CSRF
token) are fetched by each page when a frame says the generation has ended.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string

from codegen import pages, selectors
from codegen.models import Generation, GenerationEvent
from core.streams import FrameStream

logger = logging.getLogger(__name__)

STREAM = FrameStream("generation")
PAGE = "codegen/generation.html"
ENDINGS = frozenset({"completed", "failed", "cancelled"})


def outcome_message(generation: Generation) -> str:
    """What the generation's ending event said (its `message`), "" while it runs."""
    if generation.state not in pages.ENDED_STATES:
        return ""
    event = selectors.events_of(generation).filter(kind__in=sorted(ENDINGS)).order_by("-pk").first()
    return str(event.data.get("message") or "") if event is not None else ""


def model_name(data: dict[str, Any]) -> str:
    return str(data.get("model") or "")


def regions(generation: Generation, progress_data: dict[str, Any]) -> dict[str, Any]:
    """The context of every region of the page, from the database and the latest progress
    event's data (what the page renders and what an ending's frame carries)."""
    return {
        "generation": generation,
        "tenant_slug": generation.tenant.slug,
        "progress": pages.progress_of(generation, progress_data),
        "usage": pages.usage_of(generation, progress_data),
        "mode_label": pages.mode_label(generation.mode, model_name(progress_data)),
        "tree": pages.file_tree(generation),
        "tests": pages.run_table(generation),
        "outcome_message": outcome_message(generation),
        "has_files": pages.has_files(generation),
    }


def _render(part: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{PAGE}#{part}", {**context, "oob": True})


def event_frame(generation: Generation, event: GenerationEvent) -> str:
    """The HTML of the frame for `event` ("" for an event the page does not show)."""
    data = dict(event.data)
    base: dict[str, Any] = {"generation": generation, "tenant_slug": generation.tenant.slug}
    kind = event.kind
    if kind == "progress":
        html = _render("progress", {**base, "progress": pages.progress_of(generation, data)})
        html += _render("usage", {**base, "usage": pages.usage_of(generation, data)})
        if model_name(data):
            html += _render(
                "mode", {**base, "mode_label": pages.mode_label(generation.mode, model_name(data))}
            )
        return html
    if kind == "plan":
        mode = str(data.get("mode") or generation.mode)
        html = _render("tree", {**base, "tree": pages.file_tree(generation)})
        return html + _render("mode", {**base, "mode_label": pages.mode_label(mode, model_name(data))})
    if kind in ("file_started", "file_generated"):
        entry = pages.file_row(generation, str(data.get("path") or ""))
        return _render("file-row", {**base, "entry": entry}) if entry is not None else ""
    if kind in ("test_result", "tests_finished"):
        run = data.get("run")
        table = pages.run_table(generation, run if isinstance(run, int) else None)
        return _render("tests", {**base, "tests": table})
    if kind in ENDINGS:
        context = regions(generation, pages.last_progress(generation))
        html = "".join(
            _render(part, context) for part in ("progress", "usage", "mode", "tree", "tests", "outcome")
        )
        return html + _render("actions-loader", context)
    return ""


def _publish(generation_id: int, html: str) -> None:
    try:
        STREAM.publish_sync(generation_id, html)
    except Exception:
        # A page that misses a frame is right again on reload (or at the next frame of the
        # same region); the job must not fail because Redis is away.
        logger.exception("could not publish a frame of generation %s", generation_id)


def publish_event(generation: Generation, event: GenerationEvent) -> None:
    """Render `event`'s frame and publish it once the current transaction commits (the page
    reading the database then sees what the frame shows). Never raises."""
    try:
        fresh = selectors.generation_of_tenant(generation.tenant, generation.pk) or generation
        html = event_frame(fresh, event)
    except Exception:
        logger.exception("could not render the %s frame of generation %s", event.kind, generation.pk)
        return
    if html:
        transaction.on_commit(lambda: _publish(generation.pk, html))
