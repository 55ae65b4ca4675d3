"""The frames that keep an open run page up to date: one numbered frame per event.

The page (runs/run.html) renders from the database; while the run goes on, its socket
receives numbered frames (core.streams, stream "run"), each with out-of-band swaps of:
the status line (a whole region), the state of the event's node in the graph (one node's
group; when the run ends, the whole state layer, which then shows the skipped nodes), and
the event's line appended to the log. States and the status line are read from the database
when the frame is rendered, so a frame never shows anything older than its event.

A page reads the stream's last number before it reads the database, and its socket replays
the frames after it: a line the page already shows comes again, and the page keeps one of
each, in the order of the events (static/js/app.js, by the line's id). Nothing is missed
and nothing shows twice.

Frames are rendered in the worker, without a request, for every member following the run:
they hold nothing that depends on the reader. The buttons (role, CSRF token) are fetched by
each page when a frame says the run has ended.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.template.loader import render_to_string

from core.streams import FrameStream
from runs import graph, pages, selectors
from runs.models import Run, RunEvent
from tenants.models import Tenant

logger = logging.getLogger(__name__)

STREAM = FrameStream("run")
PAGE = "runs/run.html"


def _render(part: str, context: dict[str, object]) -> str:
    return render_to_string(f"{PAGE}#{part}", {**context, "oob": True})


def event_frame(run: Run, event: RunEvent) -> str:
    """The HTML of the frame for `event`, from the run as the database has it now."""
    base: dict[str, object] = {"run": run, "tenant_slug": run.tenant.slug}
    html = _render("status", {**base, "summary": pages.summary(run, selectors.open_task_of(run))})
    if run.is_finished:
        html += graph.state_layer_swap(run, graph.recorded_states(selectors.events_of(run)))
        html += _render("actions-loader", base)
    elif event.node_id and not event.source:
        latest = selectors.events_of(run).filter(source="", node_id=event.node_id).order_by("-id").first()
        html += graph.node_state_swap(run, event.node_id, graph.event_state(latest) if latest else None)
    start = pages.first_event_at(run, selectors.events_of(run)[:1])
    row = pages.event_row(run, event, graph.node_labels(run), start)
    return html + _render("event-append", {**base, "row": row})


def _publish(run_id: int, html: str) -> None:
    try:
        STREAM.publish_sync(run_id, html)
    except Exception:
        # A page that misses a frame is right again on reload; the run must not fail
        # because Redis is away.
        logger.exception("could not publish a frame of run %s", run_id)


def publish(tenant_id: int, run_id: int, events: list[RunEvent]) -> None:
    """Render a frame per event and publish them, in order, once the current transaction
    commits (a page reading the database then sees what the frames show). Never raises."""
    try:
        run = selectors.run_of_tenant(Tenant(pk=tenant_id), run_id)
        if run is None:
            return
        htmls = [event_frame(run, event) for event in events]
    except Exception:
        logger.exception("could not render the frames of run %s", run_id)
        return

    def send() -> None:
        for html in htmls:
            _publish(run_id, html)

    try:
        transaction.on_commit(send)
    except Exception:
        logger.exception("could not publish the frames of run %s", run_id)
