"""The AI jobs as the API shows them: a workflow proposal's state, and seed 000's
GenerationResult made from what the proposal recorded.

The job is the portal's own AI proposal (workflows.proposals): the same task runs it, the
same sweeper and reaper look after it. Its explanation and suggestions are written here from
the result (what the workflow does or what changed, and what validation warns about) rather
than asked of the model, whose reply is the document alone (structured output).
"""

from __future__ import annotations

from typing import Any

from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.files import canonical_form
from workflows.models import WorkflowProposal
from workflows.proposals import selectors as proposal_selectors
from workflows.versions.diff import diff_documents

Kind = WorkflowProposal.Kind
State = WorkflowProposal.State

JOB_KINDS = {
    Kind.GENERATE: "generate_workflow",
    Kind.ENHANCE: "enhance_workflow",
    Kind.SERVICE: "generate_service",
}
MAX_SUGGESTIONS = 5
MISSING_ADVICE = "Say it in the prompt and ask again, or fill it in before generating code"
# Steps an explanation names one by one; a larger workflow is summed up.
NAMED_STEPS = 12


def job_state(proposal: WorkflowProposal) -> str:
    """queued, running, completed (ready, and whatever was decided since) or failed."""
    if proposal.state in (State.QUEUED, State.RUNNING):
        return str(proposal.state)
    return "failed" if proposal.state == State.FAILED else "completed"


def status_url(proposal: WorkflowProposal) -> str:
    return f"/api/v1/jobs/{proposal.pk}"


def accepted(proposal: WorkflowProposal) -> dict[str, Any]:
    """The answer to the request that queued the job."""
    return {
        "job_id": proposal.pk,
        "kind": JOB_KINDS[Kind(proposal.kind)],
        "status": job_state(proposal),
        "status_url": status_url(proposal),
    }


def job_status(proposal: WorkflowProposal) -> dict[str, Any]:
    """The job's state, and its result or error once it ended."""
    state = job_state(proposal)
    body: dict[str, Any] = {
        "job_id": proposal.pk,
        "kind": JOB_KINDS[Kind(proposal.kind)],
        "status": state,
        "created_at": proposal.created_at,
        "started_at": proposal.started_at,
        "finished_at": proposal.finished_at,
        "attempts": proposal.attempts,
        "result": None,
        "error": None,
    }
    if state == "failed":
        body["error"] = {"error": proposal.error_code or "failed", "message": proposal.error_message}
    elif state == "completed":
        body["result"] = _result(proposal)
    return body


def _model_used(proposal: WorkflowProposal) -> str:
    return f"{proposal.provider}/{proposal.model}" if proposal.provider and proposal.model else proposal.model


def _result(proposal: WorkflowProposal) -> dict[str, Any]:
    findings: list[dict[str, Any]] = list(proposal.findings)
    errors = [finding for finding in findings if finding.get("severity") == "error"]
    warnings = [finding for finding in findings if finding.get("severity") != "error"]
    result: dict[str, Any] = {
        "status": "invalid" if errors else "success",
        "service_definition": None,
        "workflow_dsl": None,
        "generated_code": None,
        "findings": findings,
        "tokens_used": proposal_selectors.proposal_tokens(proposal),
        "model_used": _model_used(proposal),
    }
    if proposal.kind == Kind.SERVICE:
        definition = proposal.definition or {}
        result["service_definition"] = definition
        result["explanation"] = _service_explanation(definition, len(warnings))
        result["suggestions"] = [
            f"{MISSING_ADVICE}: {_after_colon(finding)}" for finding in warnings[:MAX_SUGGESTIONS]
        ]
        return result
    document = proposal.document or {}
    result["workflow_dsl"] = document
    if proposal.kind == Kind.ENHANCE:
        result["explanation"] = _changes(proposal.base_document, document)
    else:
        result["explanation"] = _outline(document)
    result["suggestions"] = [
        f"{'Fix' if finding.get('severity') == 'error' else 'Consider'}: {finding.get('message', '')}"
        for finding in [*errors, *warnings][:MAX_SUGGESTIONS]
    ]
    return result


def _after_colon(finding: dict[str, Any]) -> str:
    message = str(finding.get("message", ""))
    return message.split(": ", 1)[-1]


def _service_explanation(definition: dict[str, Any], missing: int) -> str:
    requirements = definition.get("requirements")
    filled = len(requirements) if isinstance(requirements, dict) else 0
    text = (
        f"A “{definition.get('blueprint', '')}” definition of “{definition.get('title', '')}”: "
        f"{filled} requirement{'s' if filled != 1 else ''} filled from the description"
    )
    if missing:
        text += f", {missing} required one{'s' if missing != 1 else ''} it does not say"
    return text + "."


def _label(node: dict[str, Any]) -> str:
    return f"“{node.get('label') or node.get('id')}” ({node.get('node_type')})"


def _outline(document: WorkflowDocument) -> str:
    """What a workflow does, step by step in document order, and where it starts."""
    nodes = [node for node in document.get("nodes") or [] if isinstance(node, dict)]
    if not nodes:
        return "An empty workflow."
    by_id = {str(node.get("id")): node for node in nodes}
    steps = "; ".join(_label(node) for node in nodes[:NAMED_STEPS])
    if len(nodes) > NAMED_STEPS:
        steps += f"; and {len(nodes) - NAMED_STEPS} more"
    text = f"A workflow of {len(nodes)} step{'s' if len(nodes) != 1 else ''}: {steps}."
    # Subflows were checked when the job ran; only where it starts is read here.
    graph = validate_workflow(document, known_workflow_ids=lambda _id: True).graph
    entries = [by_id[entry] for entry in graph.entries if entry in by_id] if graph is not None else []
    if len(entries) == 1:
        text += f" It starts at {_label(entries[0])}."
    elif entries:
        text += f" Its {len(entries)} entry nodes start together: " + ", ".join(map(_label, entries)) + "."
    return text


def _changes(before: WorkflowDocument, after: WorkflowDocument) -> str:
    """What an enhancement changed, by section."""
    diff = diff_documents(canonical_form(before), canonical_form(after))
    if diff.is_empty:
        return "Nothing changed: the workflow already does what was asked, or the model made no change."
    parts = []
    for kind in ("added", "removed", "changed"):
        changes = [change for change in diff.changes if change.kind == kind]
        if changes:
            named = ", ".join(_change_label(change.section, change.label) for change in changes[:NAMED_STEPS])
            more = f" and {len(changes) - NAMED_STEPS} more" if len(changes) > NAMED_STEPS else ""
            parts.append(f"{kind.capitalize()}: {named}{more}.")
    return " ".join(parts)


SECTION_WORDS = {"nodes": "step", "edges": "edge", "variables": "variable", "workflow": "setting"}


def _change_label(section: str, label: str) -> str:
    word = SECTION_WORDS.get(section)
    return f"{word} “{label}”" if word else label
