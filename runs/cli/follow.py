"""Following a run from the command line: its events as the worker writes them to the
database, one line each (or a JSON object each), until it finishes.

The lines say what the run page's event log says (runs.pages.event_row), from the same rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from core.terminal import printable
from runs import pages, selectors
from runs.cli.shared import EXIT_FAILED, EXIT_INTERRUPTED, run_url, site_url
from runs.graph import node_labels
from runs.models import Run, RunEvent

POLL_SECONDS = 0.2


def follow(
    command: BaseCommand, run: Run, *, as_json: bool, timeout: float | None, own_temporal: bool
) -> Run:
    """Print the run's events as they are written, until it finishes (the run as it ended)."""
    deadline = time.monotonic() + timeout if timeout is not None else None
    labels = node_labels(run)
    last_id = 0
    start = None
    try:
        while True:
            # The status first: the events a finished run wrote are committed with or before it.
            current = selectors.run_of_tenant(run.tenant, run.pk) or run
            for event in selectors.events_after(current, last_id):
                start = start or event.at
                _print_event(command, current, event, labels, start, as_json=as_json)
                last_id = event.pk
            if current.is_finished:
                return current
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(
                    f"stopped following run {run.pk} after {timeout:g} s: it is {current.status}. "
                    + _goes_on(run, own_temporal),
                    returncode=EXIT_FAILED,
                )
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        raise CommandError(
            f"stopped following run {run.pk}. " + _goes_on(run, own_temporal), returncode=EXIT_INTERRUPTED
        ) from None


def _goes_on(run: Run, own_temporal: bool) -> str:
    if own_temporal:
        return "It goes on when `manage.py serve` runs."
    return f"It goes on: {run_url(run)}"


def _print_event(
    command: BaseCommand, run: Run, event: RunEvent, labels: dict[str, str], start: Any, *, as_json: bool
) -> None:
    row = pages.event_row(run, event, labels, start)
    data = event.data if isinstance(event.data, dict) else {}
    if as_json:
        line = {
            "run_id": run.pk,
            "id": event.pk,
            "source": event.source,
            "seq": event.seq,
            "at": event.at.isoformat(),
            "event": event.kind,
            "node_id": event.node_id,
            "node_label": row.node_label,
            "status": event.status,
            "duration_ms": data.get("duration_ms"),
            "data": data,
        }
        command.stdout.write(json.dumps(line, default=str))
        return
    node = ""
    if event.node_id:
        node = row.node_label if row.node_label == event.node_id else f"{row.node_label} ({event.node_id})"
    at = timezone.localtime(event.at).strftime("%H:%M:%S.%f")[:-3]
    parts = [at, f"{event.kind:<17}", node, event.status, row.duration, row.error]
    command.stdout.write(printable("  ".join(part for part in parts if part).rstrip()))
    if event.kind == "node_waiting" and not event.source:
        command.stderr.write(_waiting_hint(run, data))


def _waiting_hint(run: Run, data: Mapping[str, Any]) -> str:
    """How to resume a run that waits: a signal from here, a task from the inbox."""
    if data.get("task") is not None:
        inbox = site_url(reverse("runs:task_list", kwargs={"tenant_slug": run.tenant.slug}))
        return printable(f"Waiting for the task “{data['task']}”: answer it in the inbox, {inbox}")
    signal = str(data.get("signal") or "")
    if signal:
        return printable(
            f"Waiting for the signal “{signal}”: manage.py workflow signal {run.pk} {signal} "
            f"--tenant {run.tenant.slug} [--payload JSON]"
        )
    return "Waiting for its condition to hold."
