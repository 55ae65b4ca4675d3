"""What the Go file contains, worked out before any text is rendered.

Execution model: the nodes of a sequence (the workflow, or one branch of a parallel node)
run one after the other in topological order. A node whose running is not certain (a
decision's target, a conditional edge's target, a join after a decision) is guarded by
`e.active[id]`, which the nodes before it set when an edge to it is taken. A parallel node
runs each branch as a method in its own `workflow.Go` coroutine and continues at the join.
Every entry node starts the workflow: several of them run as the branches of one block that
opens the workflow's sequence (workflows.analysis.regions.ENTRY_BLOCK), or, when their
branches cannot be laid out as one, one after the other in the sequence itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflows.analysis.graph import WorkflowGraph
from workflows.analysis.regions import ENTRY_BLOCK, ParallelBlock
from workflows.analysis.validation import WorkflowAnalysis
from workflows.compiler.go_expressions import go_condition
from workflows.compiler.go_literals import comment_text, go_string, go_value
from workflows.compiler.identifiers import IdentifierAllocator, pascal_case
from workflows.compiler.layout import struct_fields
from workflows.compiler.steps import Activation, Step, StepPlanner
from workflows.dsl.models import DecisionConfig, ParallelConfig, WorkflowDSL

# Names on the execution type: its fields and the helper methods in runtime.go.j2.
EXECUTION_MEMBERS = [
    "TenantID",
    "CorrelationID",
    "Variables",
    "Results",
    "Errors",
    "active",
    "run",
    "failed",
    "nodeFailed",
    "lookup",
    "number",
    "truthy",
    "compare",
    "text",
    "childInput",
    "awaitSignal",
    "awaitCondition",
    "runParallel",
]
# What a header line may hold besides user text (which goes through comment_text).
_HEADER_TEXT = re.compile(r"[ -~]{1,200}")

_GO_TYPES = {
    "string": ("string", "*string"),
    "number": ("float64", "*float64"),
    "boolean": ("bool", "*bool"),
    "object": ("map[string]interface{}", "map[string]interface{}"),
    "array": ("[]interface{}", "[]interface{}"),
}


@dataclass
class SequenceItem:
    """One node in a sequence: a step method call or a parallel block."""

    comment: str
    guard: str | None  # Go literal of the node id when the node may not run
    step: str | None = None
    parallel_wait_for_all: bool = False
    parallel_branches: list[str] = field(default_factory=list)
    activations: list[Activation] = field(default_factory=list)


@dataclass
class BranchMethod:
    name: str
    comment: str
    sequence: list[SequenceItem]


@dataclass
class Variable:
    name: str  # Go literal
    field: str
    pointer: bool
    required: bool
    default: str | None


@dataclass
class WorkflowPlan:
    """Everything workflow.go.j2 renders."""

    header: list[str]
    workflow_id: str
    prefix: str
    input_fields: list[str]
    variables: list[Variable]
    run: list[SequenceItem]
    branches: list[BranchMethod]
    steps: list[Step]
    on_error: str
    compensation_workflow: str | None
    activity_stubs: list[str]
    required_workers: list[str]


def plan_workflow(analysis: WorkflowAnalysis, *, version_label: str | None = None) -> WorkflowPlan:
    """Lay out the Go file of a workflow that validated without errors.

    `version_label` replaces "version N" in the header, for a document whose version field
    is not yet true (a draft: its number is the one publishing would give it).
    """
    workflow, graph = analysis.workflow, analysis.graph
    if workflow is None or graph is None or analysis.errors:
        raise ValueError("only a valid workflow can be planned")
    if version_label is not None and not _HEADER_TEXT.fullmatch(version_label):
        raise ValueError("a version label is one line of printable ASCII")
    return _Planner(analysis, workflow, graph, version_label or f"version {workflow.version}").plan()


class _Planner:
    def __init__(
        self, analysis: WorkflowAnalysis, workflow: WorkflowDSL, graph: WorkflowGraph, version_label: str
    ) -> None:
        self.analysis = analysis
        self.workflow = workflow
        self.graph = graph
        self.version_label = version_label
        self.methods = IdentifierAllocator(EXECUTION_MEMBERS)
        self.sequence_of: dict[str, tuple[str, int] | None] = {
            node: analysis.layout.owner.get(node) for node in graph.order
        }
        self.sequence_of[ENTRY_BLOCK] = None  # the entries' block opens the workflow's sequence
        self.certain: set[str] = set()
        self.step_names: dict[str, str] = {}

    def plan(self) -> WorkflowPlan:
        """Name every method, place every node in its sequence, and describe each step."""
        self._find_certain_nodes()
        for node_id in self.graph.order:
            if not isinstance(self.graph.nodes[node_id].config, ParallelConfig):
                self.step_names[node_id] = self.methods.allocate(node_id, prefix="step")
        sequences: dict[tuple[str, int] | None, list[SequenceItem]] = {None: []}
        branch_names: dict[str, list[str]] = {}
        blocks = self.analysis.layout.blocks
        for node_id, block in blocks.items():
            branch_names[node_id] = []
            for index in range(len(block.branches)):
                words = f"entry {index + 1}" if node_id == ENTRY_BLOCK else f"{node_id} {index + 1}"
                name = self.methods.allocate(words, prefix="branch")
                branch_names[node_id].append(name)
                sequences[(node_id, index)] = []
        if ENTRY_BLOCK in blocks:
            sequences[None].append(self._entries_item(blocks[ENTRY_BLOCK], branch_names[ENTRY_BLOCK]))
        for node_id in self.graph.order:
            sequences[self.sequence_of[node_id]].append(self._sequence_item(node_id, branch_names))
        branches = [
            BranchMethod(name, self._branch_comment(name, node_id, index), sequences[(node_id, index)])
            for node_id, names in branch_names.items()
            for index, name in enumerate(names)
        ]
        describer = StepPlanner(self.analysis, self.graph, self.certain)
        steps = [
            describer.step(self.graph.nodes[node_id], method) for node_id, method in self.step_names.items()
        ]
        prefix = _type_prefix(self.workflow)
        variables, input_fields = self._variables()
        policy = self.workflow.error_policy
        compensation = None
        if policy.on_error == "compensate" and policy.compensation_workflow_id is not None:
            compensation = go_string(policy.compensation_workflow_id)
        return WorkflowPlan(
            header=[
                f"Workflow: {comment_text(self.workflow.name)}",
                f"ID: {self.workflow.id}, {self.version_label}",
            ],
            workflow_id=go_string(str(self.workflow.id)),
            prefix=prefix,
            input_fields=input_fields,
            variables=variables,
            run=sequences[None],
            branches=branches,
            steps=steps,
            on_error=policy.on_error,
            compensation_workflow=compensation,
            activity_stubs=sorted(describer.activity_stubs),
            required_workers=sorted(describer.workers),
        )

    # Which nodes run whenever their sequence reaches them, so need no guard.
    def _find_certain_nodes(self) -> None:
        graph, layout = self.graph, self.analysis.layout
        starts = set(graph.entries) | {
            branch[0] for block in layout.blocks.values() for branch in block.branches if branch
        }
        if ENTRY_BLOCK in layout.blocks:
            self.certain.add(ENTRY_BLOCK)  # it opens the workflow's sequence
        joins = {block.join: block for block in layout.blocks.values() if block.join is not None}
        for node_id in graph.order:
            if (
                node_id in starts
                or self._reached_for_certain(node_id)
                or (node_id in joins and self._join_is_certain(joins[node_id]))
            ):
                self.certain.add(node_id)

    def _reached_for_certain(self, node_id: str) -> bool:
        """Whether an edge into the node always passes on to it (a loop, not `any` over a
        generator: this runs for every node)."""
        for edge in self.graph.incoming.get(node_id, ()):
            if self._passes_on(edge.source, edge.condition is None, node_id):
                return True
        return False

    def _passes_on(self, source: str, unconditional: bool, target: str) -> bool:
        """Whether running `source` always leads to `target` within the same sequence."""
        config = self.graph.nodes[source].config
        return (
            unconditional
            and source in self.certain
            and not isinstance(config, DecisionConfig | ParallelConfig)
            and self.sequence_of.get(source) == self.sequence_of.get(target)
        )

    def _join_is_certain(self, block: ParallelBlock) -> bool:
        """Whether a block's join runs whenever the block does (see `_passes_on`)."""
        if block.join is None:
            return False
        if (
            block.node_id not in self.certain
            or self.sequence_of[block.node_id] != self.sequence_of[block.join]
        ):
            return False
        # The branches with a certain node passing on to the join (the join's own sequence is
        # not the branch's, so `_passes_on` cannot be asked directly); one pass over the
        # join's edges, not one per branch.
        passing: set[tuple[str, int] | None] = set()
        for edge in self.graph.incoming.get(block.join, ()):
            if (
                edge.condition is None
                and edge.source in self.certain
                and not isinstance(self.graph.nodes[edge.source].config, DecisionConfig | ParallelConfig)
            ):
                passing.add(self.sequence_of.get(edge.source))
        results = [
            not branch or (block.node_id, index) in passing for index, branch in enumerate(block.branches)
        ]
        return any(results) if block.wait_for_all else all(results)

    def _activations(self, node_id: str) -> list[Activation]:
        activations: dict[Activation, None] = {}  # in edge order, each once
        for edge in self.graph.outgoing.get(node_id, ()):
            if edge.target in self.certain:  # runs whenever its sequence gets there: no flag
                continue
            condition = None
            if edge.condition is not None:
                path = ("edges", self.graph.edge_position[edge.id], "condition", "expression")
                condition = go_condition(self.analysis.inputs.expressions[path])
            activations[Activation(go_string(edge.target), condition)] = None
        return list(activations)

    def _entries_item(self, block: ParallelBlock, names: list[str]) -> SequenceItem:
        """The entry nodes' block: their branches at once, before anything else."""
        count = len(block.branches)
        return SequenceItem(
            f"the {count} entry nodes start together, each in a branch",
            None,
            parallel_wait_for_all=True,
            parallel_branches=names,
        )

    def _branch_comment(self, name: str, node_id: str, index: int) -> str:
        if node_id != ENTRY_BLOCK:
            return f"{name} runs branch {index + 1} of parallel node {comment_text(node_id)}."
        entry = self.analysis.layout.blocks[ENTRY_BLOCK].branches[index][0]
        return f"{name} runs the branch of entry node {comment_text(entry)}."

    def _sequence_item(self, node_id: str, branch_names: dict[str, list[str]]) -> SequenceItem:
        node = self.graph.nodes[node_id]
        guard = None if node_id in self.certain else go_string(node_id)
        comment = f"{node.node_type} node {comment_text(node_id)}: {comment_text(node.label)}"
        if isinstance(node.config, ParallelConfig):
            return SequenceItem(
                comment,
                guard,
                parallel_wait_for_all=node.config.wait_for_all,
                parallel_branches=branch_names[node_id],
                activations=self._activations(node_id),
            )
        activations = [] if isinstance(node.config, DecisionConfig) else self._activations(node_id)
        return SequenceItem(comment, guard, step=self.step_names[node_id], activations=activations)

    def _variables(self) -> tuple[list[Variable], list[str]]:
        fields = IdentifierAllocator(["TenantID", "CorrelationID", "Metadata"])
        rows = [
            ("TenantID", "string", '`json:"tenant_id"`'),
            ("CorrelationID", "string", '`json:"correlation_id"`'),
        ]
        variables: list[Variable] = []
        for variable in self.workflow.variables:
            go_type, optional_type = _GO_TYPES[variable.variable_type]
            name = fields.allocate(variable.name, fallback="Var")
            tag = _json_tag(variable.name, omitempty=not variable.required)
            rows.append((name, go_type if variable.required else optional_type, tag))
            default = None
            if not variable.required and variable.default_value is not None:
                default = go_value(variable.default_value)
            variables.append(
                Variable(
                    name=go_string(variable.name),
                    field=name,
                    pointer=not variable.required and optional_type.startswith("*"),
                    required=variable.required,
                    default=default,
                )
            )
        rows.append(("Metadata", "map[string]interface{}", '`json:"metadata,omitempty"`'))
        return variables, struct_fields(rows)


def _type_prefix(workflow: WorkflowDSL) -> str:
    prefix = pascal_case(workflow.name)
    if not prefix:
        return "Workflow" + workflow.id.hex[:8].upper()
    if prefix[0].isdigit():
        return "Workflow" + prefix
    return prefix


def _json_tag(name: str, *, omitempty: bool) -> str:
    """A struct tag; variable names are identifiers, but the tag is escaped regardless."""
    value = name + (",omitempty" if omitempty else "")
    tag = "json:" + go_string(value)
    return f"`{tag}`" if "`" not in tag else go_string(tag)
