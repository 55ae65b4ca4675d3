"""Validation of workflow documents: every problem at once, as structured findings.

`validate_workflow` never raises for bad input: a document that is not even JSON comes back
as findings, like a workflow with a cycle. The compiler runs the same analysis and reuses
its results (graph, parsed conditions, decision routes, parallel blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from workflows.analysis.dataflow import undefined_variable_findings
from workflows.analysis.decisions import DecisionRoutes, decision_routes
from workflows.analysis.graph import WorkflowGraph, build_graph
from workflows.analysis.limits import WorkflowLimits, current_limits, nesting_findings, size_findings
from workflows.analysis.node_inputs import ParsedInputs, parse_inputs
from workflows.analysis.node_rules import node_findings
from workflows.analysis.regions import ParallelLayout, parallel_layout
from workflows.analysis.trigger_rules import schedule_findings
from workflows.analysis.variable_rules import variable_findings
from workflows.dsl.document_types import RawDocument
from workflows.dsl.documents import parse_object, parse_workflow, read_document
from workflows.dsl.findings import (
    INVALID_DOCUMENT,
    INVALID_NODE,
    NO_COMPENSATION_WORKFLOW,
    RECURSIVE_SUBFLOW,
    UNKNOWN_SUBFLOW,
    Finding,
    error,
    errors_in,
    warning,
)
from workflows.dsl.gc_pause import cyclic_gc_paused
from workflows.dsl.json_values import json_value_problem
from workflows.dsl.models import (
    ActivityConfig,
    AiActionConfig,
    DecisionConfig,
    HumanTaskConfig,
    N8nConfig,
    ParallelConfig,
    SubflowConfig,
    WorkflowDSL,
)

# The tenant's workflow ids, or a function that says whether an id is one of them.
KnownWorkflows = Collection[str] | Callable[[str], bool]

MAX_SCHEMA_DEPTH = 64
_OUTPUT_CONFIGS = (ActivityConfig, SubflowConfig, AiActionConfig, N8nConfig, HumanTaskConfig)


@dataclass
class WorkflowAnalysis:
    """A workflow with everything validation learnt about it.

    `graph`, `inputs`, `decisions` and `layout` are complete only when there are no errors.
    """

    workflow: WorkflowDSL | None
    findings: list[Finding]
    graph: WorkflowGraph | None = None
    inputs: ParsedInputs = field(default_factory=ParsedInputs)
    decisions: dict[str, DecisionRoutes] = field(default_factory=dict)
    layout: ParallelLayout = field(default_factory=ParallelLayout)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """The findings that block compilation."""
        return errors_in(self.findings)

    @property
    def warnings(self) -> list[Finding]:
        """The findings that do not block compilation."""
        return [finding for finding in self.findings if finding.severity == "warning"]

    @property
    def is_valid(self) -> bool:
        """Whether the workflow can be compiled."""
        return self.workflow is not None and not self.errors


def validate_workflow(
    document: RawDocument | WorkflowDSL,
    *,
    known_workflow_ids: KnownWorkflows,
    limits: WorkflowLimits | None = None,
) -> WorkflowAnalysis:
    """Validate a workflow document (JSON text or bytes, decoded JSON, or a WorkflowDSL).

    `known_workflow_ids` are the ids of the tenant's workflows, which subflows and the
    compensation workflow may name. A document over one of the `limits` (by default the
    ones in force: `current_limits`) gets only its `too_large` findings. Never raises for
    bad input.
    """
    with cyclic_gc_paused():
        return _validate(document, known_workflow_ids, limits or current_limits())


def _validate(
    document: RawDocument | WorkflowDSL, known_workflow_ids: KnownWorkflows, limits: WorkflowLimits
) -> WorkflowAnalysis:
    data = document if isinstance(document, WorkflowDSL) else read_document(document)
    if isinstance(data, Finding):
        return WorkflowAnalysis(None, [data])
    too_large = size_findings(data, limits)  # before parsing: the counts of the raw document
    if too_large:
        return WorkflowAnalysis(None, too_large)
    parsed = parse_workflow(data) if isinstance(data, WorkflowDSL) else parse_object(data)
    if parsed.workflow is None:
        return WorkflowAnalysis(None, parsed.findings)
    workflow = parsed.workflow
    findings = list(parsed.findings)
    graph, graph_findings = build_graph(workflow)
    findings += graph_findings
    analysis = WorkflowAnalysis(workflow, findings, graph)
    if graph.analysable and (too_deep := nesting_findings(graph, limits)):
        findings += too_deep
        return analysis

    inputs, input_findings = parse_inputs(graph)
    analysis.inputs = inputs
    findings += input_findings
    for node_id, node in graph.nodes.items():
        findings += node_findings(graph, node)
        config = node.config
        if isinstance(config, _OUTPUT_CONFIGS) and config.output_variable is not None:
            analysis.outputs[node_id] = config.output_variable
        if isinstance(config, DecisionConfig):
            routes, decision_findings = decision_routes(graph, node_id, config, inputs)
            findings += decision_findings
            if routes is not None:
                analysis.decisions[node_id] = routes
        findings += _schema_findings(graph, node_id)
    findings += _subflow_findings(workflow, graph, known_workflow_ids)
    findings += _trigger_findings(workflow)

    used_names = {use.reference.root for uses in inputs.node_uses.values() for use in uses}
    used_names |= {use.reference.root for uses in inputs.edge_uses.values() for use in uses}
    findings += variable_findings(workflow, used_names)

    if graph.analysable:
        nodes_with_errors = {finding.node_id for finding in findings if finding.severity == "error"}
        well_formed_parallels = {
            node_id
            for node_id, node in graph.nodes.items()
            if isinstance(node.config, ParallelConfig)
            and node.config.branches
            and node_id not in nodes_with_errors
        }
        layout, layout_findings = parallel_layout(graph, well_formed_parallels)
        analysis.layout = layout
        findings += layout_findings
        findings += undefined_variable_findings(
            graph, [variable.name for variable in workflow.variables], analysis.outputs, inputs, layout
        )
    return analysis


def _schema_findings(graph: WorkflowGraph, node_id: str) -> list[Finding]:
    config = graph.nodes[node_id].config
    if isinstance(config, AiActionConfig):
        field_name, value = "output_schema", config.output_schema
    elif isinstance(config, HumanTaskConfig):
        field_name, value = "form_schema", config.form_schema
    else:
        return []
    if value is None:
        return []
    problem = json_value_problem(value, MAX_SCHEMA_DEPTH)
    if problem is None:
        return []
    return [
        error(
            INVALID_NODE,
            f"node {node_id!r}: {field_name} {problem}",
            node_id=node_id,
            path=("nodes", graph.position[node_id], "config", field_name),
        )
    ]


def _is_known(known_workflow_ids: KnownWorkflows, workflow_id: str) -> bool:
    if callable(known_workflow_ids):
        return known_workflow_ids(workflow_id)
    return workflow_id in known_workflow_ids


def _subflow_findings(
    workflow: WorkflowDSL, graph: WorkflowGraph, known_workflow_ids: KnownWorkflows
) -> list[Finding]:
    findings: list[Finding] = []
    own_id = str(workflow.id)
    for node_id, node in graph.nodes.items():
        config = node.config
        if not isinstance(config, SubflowConfig) or not config.workflow_id.strip():
            continue
        where = {"node_id": node_id, "path": ("nodes", graph.position[node_id], "config", "workflow_id")}
        if config.workflow_id == own_id:
            findings.append(
                warning(
                    RECURSIVE_SUBFLOW, f"node {node_id!r} runs this workflow itself as a subflow", **where
                )
            )
        elif not _is_known(known_workflow_ids, config.workflow_id):
            findings.append(
                error(
                    UNKNOWN_SUBFLOW,
                    f"node {node_id!r}: subflow {config.workflow_id!r} is not a workflow of this tenant",
                    **where,
                )
            )
    policy = workflow.error_policy
    compensation = policy.compensation_workflow_id
    path = ("error_policy", "compensation_workflow_id")
    if compensation is not None and not _is_known(known_workflow_ids, compensation):
        findings.append(
            error(
                UNKNOWN_SUBFLOW,
                f"compensation workflow {compensation!r} is not a workflow of this tenant",
                path=path,
            )
        )
    if policy.on_error == "compensate" and compensation is None:
        findings.append(
            warning(
                NO_COMPENSATION_WORKFLOW,
                "on_error is compensate but there is no compensation_workflow_id: failures are only logged",
                path=path,
            )
        )
    return findings


def _trigger_findings(workflow: WorkflowDSL) -> list[Finding]:
    findings: list[Finding] = []
    for index, trigger in enumerate(workflow.triggers):
        problem = json_value_problem(trigger.config, MAX_SCHEMA_DEPTH)
        if problem is not None:
            findings.append(
                error(
                    INVALID_DOCUMENT,
                    f"triggers[{index}].config {problem}",
                    path=("triggers", index, "config"),
                )
            )
    return findings + schedule_findings(workflow)
