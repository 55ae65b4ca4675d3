"""What a proposal page shows, and the frames that keep an open page up to date.

The page (workflows/proposal.html) renders from the database alone; while the job runs, its
socket receives numbered frames (conversations.streams, stream "proposal") with out-of-band
swaps of the same partials: the status line, one more line of the progress log, and at the
end the result (the diff and findings, or the error). Frames are rendered without a request
(in the worker) and go to every member who follows the proposal, so they hold nothing that
depends on who reads them: the accept and reject buttons are fetched by each page itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from core.streams import FrameStream
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.files import canonical_form
from workflows.dsl.findings import Finding
from workflows.models import WorkflowProposal
from workflows.proposals.generation import MAX_ATTEMPTS, failure_hint, gateway_error_label
from workflows.proposals.starter import STARTER_PROVIDER
from workflows.versions.diff import WorkflowDiff, diff_documents

logger = logging.getLogger(__name__)

STREAM = FrameStream("proposal")
PAGE = "workflows/proposal.html"


@dataclass(frozen=True)
class Status:
    """The status line: the state, and while running the attempt, provider and tokens."""

    state: str
    label: str
    attempt: int = 0
    provider: str = ""
    model: str = ""
    tokens: int | None = None


@dataclass(frozen=True)
class Event:
    """One line of the progress log."""

    text: str
    tone: str = "info"  # info | warning | error | success
    codes: tuple[str, ...] = ()
    at: Any = field(default_factory=timezone.now)


def status_of(proposal: WorkflowProposal, **progress: Any) -> Status:
    return Status(
        state=proposal.state,
        label=proposal.get_state_display(),
        attempt=progress.get("attempt", proposal.attempts),
        provider=progress.get("provider", proposal.provider),
        model=progress.get("model", proposal.model),
        tokens=progress.get("tokens"),
    )


def _findings(proposal: WorkflowProposal) -> list[Finding]:
    return [Finding.model_validate(finding) for finding in proposal.findings]


@dataclass(frozen=True)
class Route:
    """Where a decision leads: `when` (a branch's label, or "otherwise"), `to` (a node's label)."""

    when: str
    to: str


@dataclass(frozen=True)
class OutlineStep:
    """A node of a proposed workflow, as its outline lists it."""

    label: str
    kind: str
    routes: tuple[Route, ...] = ()


NODE_KINDS = {
    "activity": "step",
    "ai_action": "AI step",
    "human_task": "a person's task",
    "decision": "decision",
    "parallel": "parallel branches",
    "wait": "wait",
    "subflow": "another workflow",
    "n8n": "n8n workflow",
}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _routes(node: dict[str, Any], edges: list[dict[str, Any]], labels: dict[str, str]) -> tuple[Route, ...]:
    config = node.get("config")
    branches = _dicts(config.get("branches")) if isinstance(config, dict) else []
    named = {str(branch.get("id")): str(branch.get("label") or branch.get("id")) for branch in branches}
    routes = []
    for edge in edges:
        if edge.get("source") != node.get("id"):
            continue
        condition = edge.get("condition")
        when = named.get(str(edge.get("source_handle")), "")
        if not when and isinstance(condition, dict):
            when = str(condition.get("label") or condition.get("expression") or "")
        target = str(edge.get("target"))
        routes.append(Route(when or "otherwise", labels.get(target, target)))
    # The branches first, then where it goes otherwise.
    return tuple(sorted(routes, key=lambda route: route.when == "otherwise"))


def outline_of(document: WorkflowDocument | None) -> list[OutlineStep]:
    """The nodes of a document in its own order (a generated one is written in the order
    it runs), each with its kind in words and, for a decision, where it leads. Read from a
    document that may be broken: whatever is not as expected is left out."""
    if not isinstance(document, dict):
        return []
    nodes, edges = _dicts(document.get("nodes")), _dicts(document.get("edges"))
    labels = {str(node.get("id")): str(node.get("label") or node.get("id")) for node in nodes}
    return [
        OutlineStep(
            labels[str(node.get("id"))],
            NODE_KINDS.get(str(node.get("node_type")), "step"),
            _routes(node, edges, labels) if node.get("node_type") == "decision" else (),
        )
        for node in nodes
    ]


def is_starter(proposal: WorkflowProposal) -> bool:
    """Whether the proposal is the starter workflow, built without a model."""
    return proposal.provider == STARTER_PROVIDER


def as_sentence(text: str) -> str:
    """A message as a sentence of its own: capitalized, with a full stop."""
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else f"{text}."


def result_context(proposal: WorkflowProposal) -> dict[str, Any]:
    """What the result partial needs, from the row alone (no further queries)."""
    findings = _findings(proposal)
    diff: WorkflowDiff | None = None
    if proposal.document is not None:
        diff = diff_documents(canonical_form(proposal.base_document), canonical_form(proposal.document))
    return {
        "proposal": proposal,
        "tenant_slug": proposal.tenant.slug,
        "status": status_of(proposal),
        "max_attempts": MAX_ATTEMPTS,
        "diff": diff,
        "errors": [finding for finding in findings if finding.severity == "error"],
        "warnings": [finding for finding in findings if finding.severity == "warning"],
        "error_label": gateway_error_label(proposal.error_code) if proposal.error_code else "",
        "error_detail": as_sentence(proposal.error_message),
        "hint": failure_hint(proposal.error_code, generating=proposal.kind == WorkflowProposal.Kind.GENERATE)
        if proposal.state == WorkflowProposal.State.FAILED
        else "",
        "starter": is_starter(proposal),
        "outline": outline_of(proposal.document) if proposal.kind == WorkflowProposal.Kind.GENERATE else [],
    }


def _frame(
    proposal: WorkflowProposal, *, status: Status, event: Event | None = None, result: bool = False
) -> str:
    context = {**result_context(proposal), "status": status, "oob": True}
    html = render_to_string(f"{PAGE}#status", context)
    if event is not None:
        html += render_to_string(f"{PAGE}#event-frame", {**context, "event": event})
    if result:
        html += render_to_string(f"{PAGE}#result", context)
    return html


def publish_logged(publish: Callable[[WorkflowProposal], object], proposal: WorkflowProposal) -> None:
    """Publish a frame after a request's commit: a page that misses it is right again on
    reload, so a failure to publish (Redis away) is logged rather than failing the request.
    A proposal no page shows (a service definition) has no frames."""
    if not proposal.has_page:
        return
    try:
        publish(proposal)
    except Exception:
        logger.exception("could not publish a frame of workflow proposal %s", proposal.pk)


def publish_queued(proposal: WorkflowProposal, *, resumed: bool = False) -> None:
    event = (
        Event("The worker running this job stopped: queued again, to resume on another.", tone="warning")
        if resumed
        else Event("Queued: waiting for a worker.")
    )
    STREAM.publish_sync(proposal.pk, _frame(proposal, status=status_of(proposal), event=event))


def publish_started(proposal: WorkflowProposal, *, restarted: bool) -> None:
    event = (
        Event("Started again: the worker that ran this job stopped before it finished.", tone="warning")
        if restarted
        else Event("Started.")
    )
    STREAM.publish_sync(proposal.pk, _frame(proposal, status=status_of(proposal, attempt=0), event=event))


async def publish_asking(proposal: WorkflowProposal, number: int) -> None:
    status = status_of(proposal, attempt=number, provider="", model="")
    event = Event(f"Attempt {number} of {MAX_ATTEMPTS} started: waiting for the model's first words.")
    await STREAM.publish(proposal.pk, _frame(proposal, status=status, event=event))


async def publish_attempt(
    proposal: WorkflowProposal, number: int, provider: str, model: str, waited: float
) -> None:
    status = status_of(proposal, attempt=number, provider=provider, model=model, tokens=0)
    event = Event(f"Attempt {number}: {provider} · {model} is answering (first words after {waited:.1f} s).")
    await STREAM.publish(proposal.pk, _frame(proposal, status=status, event=event))


async def publish_tokens(proposal: WorkflowProposal, number: int, count: int) -> None:
    status = status_of(proposal, attempt=number, tokens=count)
    await STREAM.publish(proposal.pk, _frame(proposal, status=status))


async def publish_retrying(proposal: WorkflowProposal, number: int, errors: list[Finding]) -> None:
    codes = tuple(sorted({finding.code for finding in errors}))
    plural = "error" if len(errors) == 1 else "errors"
    event = Event(
        f"Attempt {number}: the validator found {len(errors)} {plural}; sending them back and retrying.",
        tone="warning",
        codes=codes,
    )
    await STREAM.publish(
        proposal.pk, _frame(proposal, status=status_of(proposal, attempt=number), event=event)
    )


def finished_event(proposal: WorkflowProposal) -> Event:
    if proposal.state == WorkflowProposal.State.FAILED:
        # The code is shown once, labelled, in the error box: after a message that ends in
        # the same word ("… the 60 s timeout") it read as "timeout timeout".
        reason = gateway_error_label(proposal.error_code)
        detail = f" {as_sentence(proposal.error_message)}" if proposal.error_message else ""
        return Event(f"Failed: {reason}.{detail}", tone="error")
    if is_starter(proposal):
        return Event("Built the starter workflow from your answers, without a model.", tone="success")
    errors = len(proposal.error_findings)
    attempts = f"{proposal.attempts} attempt{'s' if proposal.attempts != 1 else ''}"
    if errors:
        return Event(
            f"Ready after {attempts}, with {errors} error{'s' if errors != 1 else ''} left.", tone="warning"
        )
    return Event(f"Ready after {attempts}.", tone="success")


def publish_finished(proposal: WorkflowProposal) -> None:
    """The end of a run: ready with the diff, or failed with the reason."""
    frame = _frame(proposal, status=status_of(proposal), event=finished_event(proposal), result=True)
    STREAM.publish_sync(proposal.pk, frame)


def publish_decided(proposal: WorkflowProposal) -> None:
    """Accepted or rejected: other open pages stop offering the buttons."""
    decision = "Accepted." if proposal.state == WorkflowProposal.State.ACCEPTED else "Rejected."
    frame = _frame(proposal, status=status_of(proposal), event=Event(decision), result=True)
    STREAM.publish_sync(proposal.pk, frame)
