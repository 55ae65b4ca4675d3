"""Synthetic, valid workflow documents of a chosen size, for the benchmark and property tests.

The shape is what the editor produces: a main line of steps with decisions (two or three
branches that join again) and parallel blocks (waiting for all, or racing), nested at most
two levels, every step reading variables that are set on every path to it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

TENANT_ID = "0e6a1f4c-3b2d-4c5e-8f9a-7b1c2d3e4f50"
SUBFLOW_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
KNOWN_WORKFLOW_IDS = frozenset({SUBFLOW_ID})
DECLARED = ("customer_id", "amount", "region")
MAX_NESTING = 2


@dataclass
class _Builder:
    rng: random.Random
    budget: int
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)

    def node(self, node_type: str, config: dict[str, Any], **extra: Any) -> str:
        """Add a node; returns its id."""
        node_id = f"n{len(self.nodes) + 1}"
        self.budget -= 1
        self.nodes.append(
            {
                "id": node_id,
                "node_type": node_type,
                "label": f"{node_type.replace('_', ' ').title()} {len(self.nodes) + 1}",
                "position": {"x": 0.0, "y": float(len(self.nodes) * 100)},
                "config": {"type": node_type, **config},
                "retry_policy": extra.get("retry_policy"),
                "timeout_seconds": extra.get("timeout_seconds"),
            }
        )
        return node_id

    def edge(self, source: str, target: str, handle: str | None = None, condition: str | None = None) -> None:
        """Add an edge."""
        self.edges.append(
            {
                "id": f"e{len(self.edges) + 1}",
                "source": source,
                "target": target,
                "source_handle": handle,
                "target_handle": None,
                "condition": None if condition is None else {"expression": condition, "label": None},
            }
        )

    def reads(self, defined: list[str]) -> str:
        """A template reading one or two values set on every path here."""
        chosen = self.rng.sample(defined, k=min(len(defined), self.rng.randint(1, 2)))
        return " and ".join(f"{{{{{name}}}}}" for name in chosen)

    def step(self, defined: list[str]) -> tuple[str, str | None]:
        """One working node; returns its id and the variable it sets."""
        output = f"v{len(self.nodes) + 1}"
        kind = self.rng.choices(
            ["activity", "ai_action", "n8n", "subflow", "human_task", "wait"], weights=[50, 15, 10, 5, 5, 15]
        )[0]
        retry = {
            "max_attempts": 3,
            "initial_interval_ms": 500,
            "backoff_coefficient": 2.0,
            "max_interval_ms": 8000,
        }
        config: dict[str, Any]
        if kind == "activity":
            config = {
                "activity_name": f"Activity{self.rng.randint(1, 40)}",
                "input_mapping": {"value": self.reads(defined), "customer": "{{customer_id}}"},
                "output_variable": output,
            }
            return self.node(kind, config, timeout_seconds=60, retry_policy=retry), output
        if kind == "ai_action":
            config = {
                "provider": "anthropic",
                "model": "claude-haiku",
                "prompt_template": f"Summarise {self.reads(defined)} for the {{{{region}}}} team.",
                "temperature": 0.2,
                "max_tokens": 400,
                "use_local_model": False,
                "output_schema": {"type": "object"},
                "output_variable": output,
            }
            return self.node(kind, config, timeout_seconds=90), output
        if kind == "n8n":
            config = {
                "workflow_id": "crm-sync",
                "webhook_path": "/hooks/crm",
                "input_mapping": {"payload": self.reads(defined)},
                "wait_for_completion": True,
                "timeout_seconds": 120,
                "output_variable": output,
            }
            return self.node(kind, config), output
        if kind == "subflow":
            config = {
                "workflow_id": SUBFLOW_ID,
                "input_mapping": {"input": self.reads(defined)},
                "output_variable": output,
            }
            return self.node(kind, config, timeout_seconds=600), output
        if kind == "human_task":
            config = {
                "task_type": "review",
                "title": f"Review {self.reads(defined)}",
                "description": None,
                "assignee_expression": "ops@example.com",
                "form_schema": None,
                "timeout_seconds": 3600,
                "output_variable": output,
            }
            return self.node(kind, config), output
        config = {"wait_type": "timer", "duration_seconds": 60, "signal_name": None, "timeout_seconds": None}
        return self.node(kind, config), None

    def block(self, defined: list[str], depth: int, length: int) -> tuple[str, list[str], list[str]]:
        """A chain of units; returns its first node, its last nodes and what it defines."""
        first: str | None = None
        exits: list[str] = []
        for _ in range(length):
            if self.budget <= 0 and first is not None:
                break
            entry, unit_exits, defined = self.unit(defined, depth)
            for source in exits:
                self.edge(source, entry)
            first = first or entry
            exits = unit_exits
        if first is None:
            raise ValueError("a block needs at least one node")
        return first, exits, defined

    def unit(self, defined: list[str], depth: int) -> tuple[str, list[str], list[str]]:
        """A step, or (while nesting is allowed) sometimes a decision or a parallel block."""
        roll = self.rng.random()
        if depth < MAX_NESTING and self.budget > 8 and roll < 0.12:
            return self.decision(defined, depth)
        if depth < MAX_NESTING and self.budget > 8 and roll < 0.2:
            return self.parallel(defined, depth)
        node_id, output = self.step(defined)
        return node_id, [node_id], [*defined, output] if output else defined

    def decision(self, defined: list[str], depth: int) -> tuple[str, list[str], list[str]]:
        """A decision whose branches join at whatever comes next; defines what all branches do."""
        count = self.rng.randint(2, 3)
        branches = [
            {"id": "high", "condition": "amount > 1000", "label": "High"},
            {"id": "eu", "condition": 'region == "eu" && !(amount < 10)', "label": "EU"},
        ][: count - 1]
        decision = self.node(
            "decision",
            {"condition_expression": "", "branches": branches, "default_branch": "other"},
        )
        exits: list[str] = []
        after: set[str] | None = None
        for handle in [branch["id"] for branch in branches] + ["other"]:
            entry, branch_exits, branch_defined = self.block(defined, depth + 1, self.rng.randint(1, 3))
            self.edge(decision, entry, handle=handle)
            exits += branch_exits
            after = set(branch_defined) if after is None else after & set(branch_defined)
        return decision, exits, [*defined, *sorted((after or set()) - set(defined))]

    def parallel(self, defined: list[str], depth: int) -> tuple[str, list[str], list[str]]:
        """A parallel block; defines what any branch sets (waiting for all) or every branch sets (racing)."""
        wait_for_all = self.rng.random() < 0.75
        parallel = self.node("parallel", {"branches": [], "wait_for_all": wait_for_all})
        starts: list[str] = []
        exits: list[str] = []
        sets: list[set[str]] = []
        for _ in range(self.rng.randint(2, 3)):
            entry, branch_exits, branch_defined = self.block(defined, depth + 1, self.rng.randint(1, 3))
            self.edge(parallel, entry)
            starts.append(entry)
            exits += branch_exits
            sets.append(set(branch_defined) - set(defined))
        self.nodes[int(parallel[1:]) - 1]["config"]["branches"] = starts
        added = set.union(*sets) if wait_for_all else set.intersection(*sets)
        return parallel, exits, defined + sorted(added)


def generate_workflow(node_count: int, seed: int = 0) -> dict[str, Any]:
    """A valid workflow document with about `node_count` nodes (exactly, for small counts)."""
    rng = random.Random(seed)  # reproducible test data, not secrets
    builder = _Builder(rng, node_count)
    builder.block(list(DECLARED), 0, length=node_count)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "name": f"Generated {node_count}",
        "tenant_id": TENANT_ID,
        "version": 1,
        "nodes": builder.nodes,
        "edges": builder.edges,
        "variables": [
            {
                "name": "customer_id",
                "variable_type": "string",
                "default_value": None,
                "required": True,
                "description": None,
            },
            {
                "name": "amount",
                "variable_type": "number",
                "default_value": 0,
                "required": False,
                "description": None,
            },
            {
                "name": "region",
                "variable_type": "string",
                "default_value": "eu",
                "required": False,
                "description": None,
            },
        ],
        "triggers": [{"trigger_type": "manual", "config": None}],
        "error_policy": {"on_error": "fail", "compensation_workflow_id": None, "notification_channel": None},
    }
