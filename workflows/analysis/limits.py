"""How large a workflow may be: nodes, edges, branches per node, nesting of blocks.

Every pass of the analysis is linear (or V log V) in the workflow's size, but a large enough
document still takes seconds to check and makes pages of tens of megabytes. The limits are
checked first (the counts on the document as it arrived, the nesting on the bare graph), so
a document over one gets a `too_large` finding naming the limit and the setting that raises
it before any expensive pass runs.

The limits are the `WORKFLOW_MAX_*` settings: the workflows app installs a provider that
reads them (`use_limits`), so the API, the pages, the CLI and AI proposals all apply the
same ones without passing them around. Without Django, the defaults below apply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workflows.analysis.graph import WorkflowGraph
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.findings import TOO_LARGE, Finding, error
from workflows.dsl.models import DecisionConfig, ParallelConfig, WorkflowDSL

_UNLIMITED = 10**9


@dataclass(frozen=True)
class WorkflowLimits:
    """The largest workflow that is analysed (see README, Configuration reference).

    Measured on the project's machine (docs/benchmarks.md): a workflow at every limit at
    once (2,000 nodes, 4,000 edges) validates in 25 ms and compiles in 60 ms; its editor
    page is 3.9 MB (0.4 s), its code page 2.2 MB (0.1 s).
    """

    max_nodes: int = 2_000
    max_edges: int = 4_000
    max_branches: int = 200  # outgoing edges of a node, branches of a decision or parallel node
    max_depth: int = 50  # decision and parallel blocks open at once on a path

    @classmethod
    def unlimited(cls) -> WorkflowLimits:
        """No limit in practice: for measuring how the analysis grows with size."""
        return cls(_UNLIMITED, _UNLIMITED, _UNLIMITED, _UNLIMITED)


_limits_provider: Callable[[], WorkflowLimits] = WorkflowLimits


def use_limits(provider: Callable[[], WorkflowLimits]) -> None:
    """Where `current_limits` comes from from now on (the workflows app: the settings)."""
    global _limits_provider
    _limits_provider = provider


def current_limits() -> WorkflowLimits:
    """The limits in force: the settings' under Django, else the defaults."""
    return _limits_provider()


def no_room_for(
    document: WorkflowDocument, section: Literal["nodes", "edges"], limits: WorkflowLimits
) -> str | None:
    """Why the editor may not add one more node (or edge) to a draft: it has as many as the
    limit allows. None when there is room."""
    count = len(_list(document.get(section)))
    limit, setting = (
        (limits.max_nodes, "WORKFLOW_MAX_NODES")
        if section == "nodes"
        else (limits.max_edges, "WORKFLOW_MAX_EDGES")
    )
    if count < limit:
        return None
    items = section if count != 1 else section.removesuffix("s")
    return (
        f"The workflow has {count:,} {items}, the most it may have (the {setting} setting): "
        f"delete some before adding more."
    )


def size_findings(document: WorkflowDocument | WorkflowDSL, limits: WorkflowLimits) -> list[Finding]:
    """Too many nodes or edges, or a node with too many branches; O(nodes + edges).

    Reads the document defensively (it has not been parsed yet): what is not a list or an
    object is left to parsing to report.
    """
    if isinstance(document, WorkflowDSL):
        nodes: list[Any] = document.nodes
        edges: list[Any] = document.edges
    else:
        nodes = _list(document.get("nodes"))
        edges = _list(document.get("edges"))
    findings = []
    if len(nodes) > limits.max_nodes:
        findings.append(
            _too_large(
                f"the workflow has {len(nodes):,} nodes", limits.max_nodes, "WORKFLOW_MAX_NODES", ("nodes",)
            )
        )
    if len(edges) > limits.max_edges:
        findings.append(
            _too_large(
                f"the workflow has {len(edges):,} edges", limits.max_edges, "WORKFLOW_MAX_EDGES", ("edges",)
            )
        )
    if findings:
        return findings
    outgoing = Counter(
        source for source in (_field(edge, "source") for edge in edges) if isinstance(source, str)
    )
    for index, node in enumerate(nodes):
        node_id = _field(node, "id")
        branches = max(
            outgoing.get(node_id, 0) if isinstance(node_id, str) else 0,
            len(_configured_branches(_field(node, "config"))),
        )
        if branches > limits.max_branches:
            where = {"node_id": node_id} if isinstance(node_id, str) else {}
            findings.append(
                _too_large(
                    f"node {node_id!r} has {branches:,} branches",
                    limits.max_branches,
                    "WORKFLOW_MAX_BRANCHES",
                    ("nodes", index),
                    **where,
                )
            )
    return findings


def nesting_findings(graph: WorkflowGraph, limits: WorkflowLimits) -> list[Finding]:
    """A node inside more than `max_depth` decision or parallel blocks, open at once.

    A node with more than one successor (a decision, a parallel node, a node with
    conditional edges) opens a block that its immediate post-dominator closes. One pass in
    topological order carries the blocks open on the way to each node as a shared stack
    (a linked list); where paths meet, the deepest counts. The blocks a node closes are on
    top of the stack, and each block remembers the first block under it that its closing
    node leaves open, so closing them costs O(1) per edge, amortized: the pass is O(V + E)
    for any nesting (a ladder of decisions all joining at one node included). Needs an
    analysable graph.
    """
    closing = graph.post_dominators
    open_at: dict[str, _OpenBlock | None] = {}
    opened: dict[str, _OpenBlock] = {}  # the block each branching node opens
    for node_id in graph.order:
        deepest: _OpenBlock | None = None
        for predecessor in graph.predecessors(node_id):
            if predecessor not in open_at:  # not reachable from the entry
                continue
            blocks = open_at[predecessor]
            if len(graph.successors(predecessor)) > 1:
                blocks = opened.get(predecessor) or opened.setdefault(
                    predecessor, _OpenBlock(predecessor, closing[predecessor], blocks)
                )
            if blocks is not None and blocks.closed_by == node_id:
                blocks = blocks.left_open()
            if blocks is not None and (deepest is None or blocks.depth > deepest.depth):
                deepest = blocks
        if deepest is not None and deepest.depth > limits.max_depth:
            return [
                _too_large(
                    f"node {node_id!r} is inside {deepest.depth:,} nested decision or parallel blocks",
                    limits.max_depth,
                    "WORKFLOW_MAX_DEPTH",
                    ("nodes", graph.position[node_id]),
                    node_id=node_id,
                )
            ]
        open_at[node_id] = deepest
    return []


class _OpenBlock:
    """A block open on the way to a node, and the blocks around it."""

    __slots__ = ("_left_open", "_left_open_known", "closed_by", "depth", "opened_by", "outer")

    def __init__(self, opened_by: str, closed_by: str | None, outer: _OpenBlock | None) -> None:
        self.opened_by = opened_by
        self.closed_by = closed_by
        self.outer = outer
        self.depth: int = 1 if outer is None else outer.depth + 1
        self._left_open: _OpenBlock | None = None
        self._left_open_known = False

    def left_open(self) -> _OpenBlock | None:
        """The blocks still open after this block's closing node: the first block under it
        that another node closes. Remembered for every block walked past (the stack under a
        block never changes), so each block is walked past once in the whole pass."""
        walked: list[_OpenBlock] = []
        current: _OpenBlock | None = self
        while current is not None and current.closed_by == self.closed_by:
            if current._left_open_known:
                current = current._left_open
                break
            walked.append(current)
            current = current.outer
        for block in walked:
            block._left_open, block._left_open_known = current, True
        return current


def _too_large(what: str, limit: int, setting: str, path: tuple[str | int, ...], **where: Any) -> Finding:
    return error(
        TOO_LARGE,
        f"{what}; at most {limit:,} are allowed (the {setting} setting): not analysed further",
        path=path,
        **where,
    )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _field(item: object, name: str) -> object:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def _configured_branches(config: object) -> list[Any]:
    """A decision's or parallel node's configured branches (empty for other nodes)."""
    if isinstance(config, DecisionConfig | ParallelConfig):
        return list(config.branches)
    branches = _field(config, "branches") if isinstance(config, Mapping) else None
    return branches if isinstance(branches, list) else []
