"""Compile a workflow document to a Temporal Go workflow file.

The output is deterministic (no clock, no randomness, nodes in topological order with ties
broken by document order, maps by key), gofmt-clean, and escapes every user string; see
`plan` for the execution model and `templates/` for the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.analysis.limits import WorkflowLimits
from workflows.analysis.validation import KnownWorkflows, validate_workflow
from workflows.compiler.plan import plan_workflow
from workflows.compiler.render import render_go
from workflows.dsl.document_types import RawDocument
from workflows.dsl.findings import DSLValidationError, Finding
from workflows.dsl.gc_pause import cyclic_gc_paused
from workflows.dsl.models import WorkflowDSL


@dataclass(frozen=True)
class CompiledWorkflow:
    """The Go file, the activities users must implement, and the task queues that must run."""

    code: str
    activity_stubs: list[str]
    required_workers: list[str]
    warnings: list[Finding] = field(default_factory=list)


def compile_workflow(
    document: RawDocument | WorkflowDSL,
    *,
    known_workflow_ids: KnownWorkflows,
    limits: WorkflowLimits | None = None,
    version_label: str | None = None,
) -> CompiledWorkflow:
    """Validate and compile a workflow document (JSON text or bytes, decoded JSON, WorkflowDSL).

    Raises DSLValidationError, carrying every finding, when the workflow has errors (or is
    over one of the `limits`, by default the ones in force). `version_label` (one line of
    ASCII) says what the header calls the document instead of "version N": a draft's.
    """
    with cyclic_gc_paused():
        # The analysis and plan are freed (by reference counting) when _compile returns,
        # before the collector resumes, so it has no large heap of garbage-to-be to scan.
        return _compile(document, known_workflow_ids, limits, version_label)


def _compile(
    document: RawDocument | WorkflowDSL,
    known_workflow_ids: KnownWorkflows,
    limits: WorkflowLimits | None,
    version_label: str | None,
) -> CompiledWorkflow:
    analysis = validate_workflow(document, known_workflow_ids=known_workflow_ids, limits=limits)
    if not analysis.is_valid:
        raise DSLValidationError(analysis.findings)
    plan = plan_workflow(analysis, version_label=version_label)
    return CompiledWorkflow(
        code=render_go(plan),
        activity_stubs=plan.activity_stubs,
        required_workers=plan.required_workers,
        warnings=analysis.warnings,
    )
