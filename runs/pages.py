"""What the run pages show, put together from a run and its events: the event log's rows, the
status line, and the nodes a run may start again from.

Everything here depends on the run alone, never on who reads it: the live frames
(runs/frames.py) are rendered once, without a request, for every open page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runs.graph import node_labels
from runs.models import HumanTask, Run, RunEvent
from workflows.analysis.validation import validate_workflow

# The event's data fields a row shows in its own columns, not among the details.
SHOWN_IN_COLUMNS = frozenset({"type", "label", "duration_ms"})
DETAIL_TITLES = {
    "inputs": "Inputs",
    "output": "Output",
    "error": "Error",
    "code": "Error code",
    "variables": "Variables",
    "branch": "Branch taken",
    "branch_label": "Branch taken",
    "start_from": "Started again from",
    "task": "Task",
    "assignee": "Assignee",
    "signal": "Signal",
    "condition": "Condition",
    "outcome": "Outcome",
    "cancelled_branches": "Branches cancelled",
    "workflow_id": "Workflow",
    "node_id": "Node",
}
# What each event is, in words, beside the name Dify gives it.
EVENT_WORDS = {
    "workflow_started": "Run started",
    "workflow_finished": "Run finished",
    "node_started": "Node started",
    "node_finished": "Node finished",
    "node_waiting": "Node waiting",
    "node_retrying": "Node failed, trying again",
    "compensation_started": "Compensation started",
    "compensation_finished": "Compensation finished",
}
STATUS_CLASSES = {
    Run.Status.QUEUED: "state-pending",
    Run.Status.RUNNING: "state-running",
    Run.Status.WAITING: "state-waiting",
    Run.Status.SUCCEEDED: "state-completed",
    Run.Status.FAILED: "state-failed",
    Run.Status.CANCELLED: "state-cancelled",
    Run.Status.TERMINATED: "state-failed",
}


@dataclass(frozen=True)
class Detail:
    title: str
    text: str
    is_text: bool  # plain words (an error), not JSON


@dataclass(frozen=True)
class EventRow:
    """One line of the event log."""

    event: RunEvent
    dom_id: str
    words: str
    node_label: str
    in_subflow: str  # the subflow node's path for a subflow's node, else ""
    status: str
    duration: str
    offset: str
    error: str
    details: list[Detail] = field(default_factory=list)


def duration_text(milliseconds: Any) -> str:
    """A duration as people read it: "340 ms", "2.5 s", "3 min 20 s"; "" when unknown."""
    if not isinstance(milliseconds, int | float) or isinstance(milliseconds, bool) or milliseconds < 0:
        return ""
    if milliseconds < 1000:
        return f"{int(milliseconds)} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _offset(start: datetime | None, at: datetime) -> str:
    if start is None:
        return ""
    milliseconds = (at - start).total_seconds() * 1000
    return "+" + duration_text(max(milliseconds, 0))


def _detail(key: str, value: Any) -> Detail:
    title = DETAIL_TITLES.get(key, key.replace("_", " ").capitalize())
    if isinstance(value, str):
        return Detail(title, value, True)
    return Detail(title, json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True), False)


def event_row(run: Run, event: RunEvent, labels: dict[str, str], start: datetime | None) -> EventRow:
    """The log's line for `event`; `start` is when the run's first event happened."""
    data = event.data if isinstance(event.data, dict) else {}
    node_id = event.node_id
    in_subflow = ""
    if event.source and node_id.startswith(event.source):
        in_subflow = event.source.rstrip("/")
    label = labels.get(node_id) or str(data.get("label") or "") or node_id
    error = str(data.get("error") or "") if event.status in ("failed", "terminated") else ""
    details = [
        _detail(key, value)
        for key, value in data.items()
        if key not in SHOWN_IN_COLUMNS
        and value not in (None, "", {}, [])
        and not (key == "error" and error)
        and not (key == "branch" and data.get("branch_label"))
    ]
    return EventRow(
        event=event,
        dom_id=f"run-event-{event.pk}",
        words=EVENT_WORDS.get(event.kind, event.kind.replace("_", " ").capitalize()),
        node_label=label if node_id else "",
        in_subflow=in_subflow,
        status=event.status,
        duration=duration_text(data.get("duration_ms")),
        offset=_offset(start, event.at),
        error=error,
        details=details,
    )


def event_rows(run: Run, events: Iterable[RunEvent]) -> list[EventRow]:
    """The log's lines, in the order the events were written."""
    labels = node_labels(run)
    listed = list(events)
    start = listed[0].at if listed else run.started_at
    return [event_row(run, event, labels, start) for event in listed]


@dataclass(frozen=True)
class Summary:
    """The run's status line and outcome."""

    run: Run
    status_class: str
    duration: str
    failed_node: str
    open_task: HumanTask | None
    outputs: str  # the variables the run ended with, as JSON ("" when there are none)


def summary(run: Run, open_task: HumanTask | None) -> Summary:
    seconds = run.duration_seconds
    outputs = ""
    if run.status == Run.Status.SUCCEEDED and run.outputs:
        outputs = json.dumps(run.outputs, indent=2, ensure_ascii=False, default=str, sort_keys=True)
    return Summary(
        run=run,
        status_class=STATUS_CLASSES.get(Run.Status(run.status), ""),
        duration=duration_text(seconds * 1000) if seconds is not None else "",
        failed_node=node_labels(run).get(run.failed_node, run.failed_node) if run.failed_node else "",
        open_task=open_task,
        outputs=outputs,
    )


def given(run: Run) -> list[Detail]:
    """What the run was started with: its inputs, and the test outputs that stood in for nodes."""
    details = []
    if run.inputs:
        details.append(_detail("inputs", run.inputs))
    if run.canned:
        details.append(Detail("Test outputs", _detail("canned", run.canned).text, False))
    return details


def first_event_at(run: Run, events: Iterable[RunEvent]) -> datetime | None:
    """When the run's first event happened (the event log's clock starts there)."""
    for event in events:
        return event.at
    return run.started_at


def restart_nodes(run: Run) -> list[tuple[str, str]]:
    """(node id, label) of the nodes the run may be started again from, in the order they
    run: those outside parallel branches (a branch cannot start on its own)."""
    analysis = validate_workflow(run.document, known_workflow_ids=_any_workflow)
    graph = analysis.graph
    if analysis.workflow is None or analysis.errors or graph is None:
        return []
    labels = node_labels(run)
    return [
        (node_id, labels.get(node_id, node_id))
        for node_id in graph.order
        if node_id not in analysis.layout.owner
    ]


def _any_workflow(_workflow_id: str) -> bool:
    # The run was checked against the tenant's workflows when it started; a rerun is checked again.
    return True
