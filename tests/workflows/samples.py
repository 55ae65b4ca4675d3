"""Workflow documents for the tests: the JSON fixtures, and small builders for one-off cases."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

from workflows.dsl.document_types import WorkflowDocument

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
TENANT_ID = "0e6a1f4c-3b2d-4c5e-8f9a-7b1c2d3e4f50"
WORKFLOW_ID = "5b0f3c2e-8d4a-4f7e-9c1b-2a6d8e4f1c30"
# The other workflows of the fixtures' tenant (subflows and compensation workflows).
KNOWN_WORKFLOW_IDS = frozenset(
    {
        "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
        "44444444-4444-4444-8444-444444444444",
        "55555555-5555-4555-8555-555555555555",
    }
)


def fixture_names() -> list[str]:
    """The stems of the JSON fixtures, sorted."""
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> WorkflowDocument:
    """A fixture as decoded JSON (a fresh copy each time)."""
    data: WorkflowDocument = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def node(node_id: str, node_type: str = "activity", **config: Any) -> dict[str, Any]:
    """A node; the config gets sensible defaults for its type, overridden by `config`."""
    defaults: dict[str, dict[str, Any]] = {
        "activity": {"activity_name": "DoWork", "input_mapping": {}, "output_variable": None},
        "subflow": {"workflow_id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "input_mapping": {}},
        "ai_action": {
            "provider": "anthropic",
            "model": "claude-haiku",
            "prompt_template": "Hello",
            "temperature": 0.5,
            "max_tokens": 100,
            "use_local_model": False,
        },
        "n8n": {"workflow_id": "flow", "input_mapping": {}, "wait_for_completion": True},
        "decision": {"condition_expression": "", "branches": [], "default_branch": None},
        "parallel": {"branches": [], "wait_for_all": True},
        "wait": {"wait_type": "timer", "duration_seconds": 10},
        "human_task": {"task_type": "approval", "title": "Approve"},
    }
    extra = {key: config.pop(key) for key in ("retry_policy", "timeout_seconds") if key in config}
    extra.setdefault("timeout_seconds", 30 if node_type == "activity" else None)
    return {
        "id": node_id,
        "node_type": node_type,
        "label": node_id.title(),
        "position": {"x": 0.0, "y": 0.0},
        "config": {"type": node_type, **copy.deepcopy(defaults[node_type]), **config},
        **extra,
    }


def edge(
    edge_id: str, source: str, target: str, *, handle: str | None = None, condition: str | None = None
) -> dict[str, Any]:
    """An edge, optionally from a handle and with a condition."""
    return {
        "id": edge_id,
        "source": source,
        "target": target,
        "source_handle": handle,
        "target_handle": None,
        "condition": None if condition is None else {"expression": condition, "label": None},
    }


def variable(name: str, variable_type: str = "string", **fields: Any) -> dict[str, Any]:
    """A declared variable, optional and without default unless `fields` say otherwise."""
    return {"name": name, "variable_type": variable_type, "default_value": None, "required": False, **fields}


def workflow(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> WorkflowDocument:
    """A workflow document around the given nodes, edges and variables."""
    return {
        "id": WORKFLOW_ID,
        "name": "Test Workflow",
        "tenant_id": TENANT_ID,
        "version": 1,
        "nodes": nodes,
        "edges": edges or [],
        "variables": variables or [],
        "triggers": [{"trigger_type": "manual", "config": None}],
        "error_policy": {"on_error": "fail", "compensation_workflow_id": None, "notification_channel": None},
        **fields,
    }


def chain(*node_ids: str) -> list[dict[str, Any]]:
    """Edges linking the nodes one after the other."""
    return [edge(f"e_{source}_{target}", source, target) for source, target in itertools.pairwise(node_ids)]
