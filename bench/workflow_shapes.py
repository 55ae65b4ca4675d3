"""Workflow documents of extreme shapes, for the compile benchmark and the scaling tests.

`bench.workflow_generator` makes workflows as the editor does; these make the shapes that
stress an analysis pass instead: one node with very many branches, a long ladder of
decisions, deeply nested blocks, and layers joined to each other edge for edge. Each is
valid, so every pass (validation, planning, rendering, drawing) runs on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench.workflow_generator import TENANT_ID

Document = dict[str, Any]


class _Shape:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def node(self, node_type: str, **config: Any) -> str:
        node_id = f"n{len(self.nodes) + 1}"
        if node_type == "activity":
            config = {
                "activity_name": f"Step{len(self.nodes) % 7}",
                "input_mapping": {"customer": "{{customer_id}}"},
                **config,
            }
        self.nodes.append(
            {
                "id": node_id,
                "node_type": node_type,
                "label": f"{node_type.title()} {len(self.nodes) + 1}",
                "position": {"x": 0.0, "y": float(len(self.nodes) * 100)},
                "config": {"type": node_type, **config},
                "timeout_seconds": 60 if node_type == "activity" else None,
            }
        )
        return node_id

    def edge(
        self, source: str, target: str, *, handle: str | None = None, condition: str | None = None
    ) -> None:
        self.edges.append(
            {
                "id": f"e{len(self.edges) + 1}",
                "source": source,
                "target": target,
                "source_handle": handle,
                "condition": None if condition is None else {"expression": condition, "label": None},
            }
        )

    def parallel(self, branches: list[str]) -> str:
        return self.node("parallel", branches=branches, wait_for_all=True)

    def set_branches(self, parallel: str, branches: list[str]) -> None:
        self.nodes[int(parallel[1:]) - 1]["config"]["branches"] = branches

    def document(self, name: str) -> Document:
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{name}:{len(self.nodes)}")),
            "name": name,
            "tenant_id": TENANT_ID,
            "version": 1,
            "nodes": self.nodes,
            "edges": self.edges,
            "variables": [
                {"name": "customer_id", "variable_type": "string", "required": True},
                {"name": "amount", "variable_type": "number", "default_value": 0, "required": False},
            ],
            "triggers": [{"trigger_type": "manual", "config": None}],
            "error_policy": {"on_error": "fail"},
        }


def fan_out(branches: int) -> Document:
    """One parallel node whose `branches` one-step branches all join at one node."""
    shape = _Shape()
    start = shape.node("activity", output_variable="started")
    parallel = shape.parallel([])
    shape.edge(start, parallel)
    starts = [shape.node("activity", output_variable=f"v{index}") for index in range(branches)]
    join = shape.node("activity", input_mapping={"first": "{{v0}}", "last": f"{{{{v{branches - 1}}}}}"})
    shape.set_branches(parallel, starts)
    for branch in starts:
        shape.edge(parallel, branch)
        shape.edge(branch, join)
    return shape.document(f"Fan-out {branches}")


def fan_outs(blocks: int, branches: int) -> Document:
    """`blocks` parallel nodes in a row, each with `branches` one-step branches that join
    before the next: as many nodes and edges as a workflow of few levels can have."""
    shape = _Shape()
    previous = shape.node("activity", output_variable="started")
    for _ in range(blocks):
        parallel = shape.parallel([])
        shape.edge(previous, parallel)
        starts = [shape.node("activity") for _ in range(branches)]
        join = shape.node("activity")
        shape.set_branches(parallel, starts)
        for branch in starts:
            shape.edge(parallel, branch)
            shape.edge(branch, join)
        previous = join
    return shape.document(f"Fan-outs {blocks}x{branches}")


def wide_decision(branches: int) -> Document:
    """One decision with `branches` branches (and a default), each to its own step; all the
    steps join at one node."""
    shape = _Shape()
    decision = shape.node(
        "decision",
        condition_expression="{{amount}}",
        branches=[
            {"id": f"b{index}", "condition": str(index), "label": f"is {index}"} for index in range(branches)
        ],
        default_branch="other",
    )
    join = shape.node("activity")
    for handle in [*(f"b{index}" for index in range(branches)), "other"]:
        step = shape.node("activity")
        shape.edge(decision, step, handle=handle)
        shape.edge(step, join)
    return shape.document(f"Wide decision {branches}")


def decision_ladder(steps: int) -> Document:
    """`steps` decisions in a row, each with one branch to its own step and its default to
    the next decision; every step, and the last default, join at one final node."""
    shape = _Shape()
    final_edges: list[str] = []
    previous: str | None = None
    for index in range(steps):
        decision = shape.node(
            "decision",
            condition_expression="",
            branches=[{"id": "high", "condition": f"{{{{amount}}}} > {index}", "label": f"over {index}"}],
            default_branch="next",
        )
        if previous is not None:
            shape.edge(previous, decision, handle="next")
        step = shape.node("activity")
        shape.edge(decision, step, handle="high")
        final_edges.append(step)
        previous = decision
    final = shape.node("activity")
    if previous is not None:
        shape.edge(previous, final, handle="next")
    for step in final_edges:
        shape.edge(step, final)
    return shape.document(f"Decision ladder {steps}")


def deep_nesting(levels: int) -> Document:
    """Parallel blocks nested `levels` deep: each has a one-step branch and a branch that is
    the next block; every block joins at its own node."""
    shape = _Shape()
    first = shape.node("activity", output_variable="started")
    outer: str = first
    joins: list[str] = []
    for _ in range(levels):
        parallel = shape.parallel([])
        shape.edge(outer, parallel)
        step = shape.node("activity", output_variable=f"v{len(shape.nodes) + 1}")
        inner = shape.node("activity")
        shape.set_branches(parallel, [step, inner])
        shape.edge(parallel, step)
        shape.edge(parallel, inner)
        join = shape.node("activity", input_mapping={"value": f"{{{{v{int(step[1:])}}}}}"})
        shape.edge(step, join)
        joins.append(join)
        outer = inner
    for join in reversed(joins):
        shape.edge(outer, join)
        outer = join
    return shape.document(f"Deep nesting {levels}")


def nested_one_join(levels: int) -> Document:
    """Parallel blocks nested `levels` deep that all end at the same node: each has a
    one-step branch and a branch that is the next block."""
    shape = _Shape()
    previous = shape.node("activity", output_variable="started")
    blocks: list[tuple[str, str]] = []
    for _ in range(levels):
        parallel = shape.parallel([])
        shape.edge(previous, parallel)
        blocks.append((parallel, shape.node("activity", output_variable=f"v{len(shape.nodes) + 1}")))
        previous = parallel
    last = shape.node("activity")
    shape.edge(previous, last)
    first_step, last_step = blocks[0][1], blocks[-1][1]
    join = shape.node(
        "activity", input_mapping={"first": f"{{{{v{first_step[1:]}}}}}", "last": f"{{{{v{last_step[1:]}}}}}"}
    )
    for index, (parallel, step) in enumerate(blocks):
        onward = blocks[index + 1][0] if index + 1 < len(blocks) else last
        shape.set_branches(parallel, [step, onward])
        shape.edge(parallel, step)
        shape.edge(step, join)
    shape.edge(last, join)
    return shape.document(f"Nested, one join {levels}")


def dense_joins(width: int, layers: int) -> Document:
    """`layers` layers of `width` steps; every step leads to every step of the next layer
    (conditionally), so each node joins `width` edges."""
    shape = _Shape()
    previous = [shape.node("activity", output_variable="started")]
    for _ in range(layers):
        layer = [shape.node("activity") for _ in range(width)]
        for source in previous:
            for number, target in enumerate(layer):
                shape.edge(source, target, condition=f"{{{{amount}}}} > {number}")
        previous = layer
    final = shape.node("activity")
    for source in previous:
        shape.edge(source, final)
    return shape.document(f"Dense joins {width}x{layers}")


def _dense(size: int) -> Document:
    """Dense joins of about `size` nodes: layers 8 wide (64 edges between two layers)."""
    return dense_joins(8, max(1, size // 8))


# The shapes by name, each as a function of one size: about the number of nodes.
SHAPES: dict[str, Callable[[int], Document]] = {
    "parallel fan-out": fan_out,
    "decision fan-out": wide_decision,
    "decision ladder": lambda size: decision_ladder(size // 2),
    "deep nesting": lambda size: deep_nesting(size // 4),
    "nested, one join": lambda size: nested_one_join(size // 2),
    "dense joins": _dense,
}
