"""What crosses the Temporal boundary: the interpreter's input and result, the calls it makes
to SCE's activities and the events it records. Plain dataclasses (the SDK's default
converter writes them as JSON), with names the activities in runs/activities register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WORKFLOW_NAME = "sce.run"
# Activities (runs/activities/registry.py implements them under these names).
NODE_ACTIVITY = "sce.node"  # activity, ai_action and n8n nodes
RECORD_ACTIVITY = "sce.record"  # events, run as a local activity
TASK_OPEN_ACTIVITY = "sce.task_open"
TASK_CLOSE_ACTIVITY = "sce.task_close"
SUBFLOW_ACTIVITY = "sce.subflow"  # a subflow's (or the compensation's) published document
# Signals and queries of the interpreter.
TASK_SIGNAL = "human_task"
EVENT_SIGNAL = "event"
STATE_QUERY = "state"

MAX_SUBFLOW_DEPTH = 5
# Temporal refuses a payload over 2 MB (an activity's arguments, a workflow's input or
# result): a run's variables together, and what one node is given, stay under these.
MAX_VARIABLES_BYTES = 1_500_000
MAX_ARGUMENTS_BYTES = 1_000_000


@dataclass
class RunInput:
    """One run of a document. A child (subflow) run shares its parent's `run_id` and records
    its events under `node_prefix` (the subflow node's id and a slash)."""

    run_id: int
    tenant_id: int
    document: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    # Test-run outputs by activity name: {"output": …} or {"error": "…"}.
    canned: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Run again from this node (of the top-level sequence), with `earlier` as the variables.
    start_from: str | None = None
    earlier: dict[str, Any] = field(default_factory=dict)
    node_prefix: str = ""
    depth: int = 0


@dataclass
class RunResult:
    status: str  # succeeded | failed
    variables: dict[str, Any]
    error_code: str = ""
    error_message: str = ""
    failed_node: str = ""


@dataclass
class NodeCall:
    """An activity, ai_action or n8n node's work, with its inputs rendered."""

    run_id: int
    tenant_id: int
    node_id: str
    node_type: str  # activity | ai_action | n8n
    name: str  # the activity name; for ai_action "ai", for n8n the n8n workflow id
    arguments: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    canned: dict[str, Any] | None = None
    # The node's node_started event, recorded by the activity as it starts.
    started: Event | None = None
    source: str = ""  # the run's event source (a child run's node prefix)


@dataclass
class Event:
    seq: int
    kind: str  # workflow_started | node_started | node_waiting | node_finished | workflow_finished
    node_id: str = ""
    status: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: str = ""  # ISO time, the workflow's clock


@dataclass
class EventBatch:
    run_id: int
    tenant_id: int
    source: str  # "" for the run itself; a child run's node prefix
    events: list[Event]


@dataclass
class TaskOpening:
    run_id: int
    tenant_id: int
    node_id: str
    temporal_workflow_id: str
    task_type: str
    title: str
    description: str
    assignee: str
    form_schema: Any
    timeout_seconds: int | None


@dataclass
class TaskClosing:
    run_id: int
    tenant_id: int
    node_id: str
    status: str  # timed_out | cancelled


@dataclass
class TaskAnswer:
    """The inbox's answer to a human task, delivered as the TASK_SIGNAL."""

    node_id: str
    outcome: str  # completed | rejected
    answer: dict[str, Any] = field(default_factory=dict)
    decided_by: str = ""
    comment: str = ""


@dataclass
class NamedSignal:
    """A signal for wait nodes: `name` is the node's signal_name, `payload` what it carries."""

    name: str
    payload: Any = None


@dataclass
class SubflowLookup:
    tenant_id: int
    workflow_id: str  # a subflow's config.workflow_id (the workflow's document id)
