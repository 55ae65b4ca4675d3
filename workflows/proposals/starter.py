"""A starter workflow built from a finished interview's answers, without a model.

When no provider the organization may use is fit to write a workflow (the gateway's
`Capability.STRUCTURED_OUTPUT`), generating one would only wait for a model that cannot
do it. This builds a plain one instead, from the blueprint and the answers, in words the
person who answered recognizes:

- a start node, named after the trigger when the blueprint asks for one;
- one step per sentence of a "steps" answer, and one per option chosen in a multi-select
  (an AI step for the options of an AI field; "No AI" and the like add nothing);
- an approval (a human task) and an "Approved?" decision for a yes to an approval question,
  whose "no" branch notifies and stops;
- an end node that reports the outcome.
Every other answer (a vendor, a pricing model, a number, a note) becomes a workflow variable
holding it, which the start node takes in; the error-handling answer sets the error policy.

Pure and deterministic: the same blueprint, answers and identity give the same document,
which validates without errors (tests/workflows/proposals/test_starter.py holds it to that for
the built-in blueprints and for varied answers).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from conversations.blueprints.schema import SKIPPED, Blueprint, BlueprintField, FieldType
from workflows.analysis.validation import validate_workflow
from workflows.dsl.document_types import WorkflowDocument
from workflows.dsl.files import canonical_document, file_stem
from workflows.dsl.findings import Finding

# Recorded as the proposal's provider: no model wrote it. Not a slug, so never the name of
# a credential (providers.forms.CredentialForm takes slugs).
STARTER_PROVIDER = "starter template"

# Steps taken from one free-text answer at most; the rest of the text stays in the answer.
MAX_STEPS_PER_ANSWER = 20
MAX_LABEL = 80
STEP_GAP = 120.0  # the editor's vertical spacing (it lays the graph out itself anyway)
SIDE_X = 280.0
ACTIVITY_TIMEOUT_SECONDS = 60
AI_TIMEOUT_SECONDS = 120
RETRY_POLICY = {
    "max_attempts": 3,
    "initial_interval_ms": 1000,
    "backoff_coefficient": 2.0,
    "max_interval_ms": 30_000,
}

_NONE_OPTION = re.compile(r"^(no|none|nothing)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|[a-z][.)])\s+", re.IGNORECASE)
# "…, then …", "…; …", sentence ends: where one step of a described process ends.
_STEP_BREAK = re.compile(r"\s*(?:[;\n]|,?\s+and then\s+|,?\s+then\s+|(?<=[.!?])\s+)\s*", re.IGNORECASE)
_TRIGGER_TYPES = (
    ("webhook", "webhook"),
    ("schedul", "schedule"),
    ("every", "schedule"),
    ("event", "event"),
)
_ERROR_POLICIES = (
    ("retry", "retry"),
    ("undo", "compensate"),
    ("compensat", "compensate"),
    ("roll back", "compensate"),
    ("continue", "ignore"),
    ("ignore", "ignore"),
    ("skip", "ignore"),
)


def _words(field_: BlueprintField) -> str:
    return f"{field_.key.replace('_', ' ')} {field_.label}".casefold()


def _is_trigger(field_: BlueprintField) -> bool:
    return field_.type is FieldType.SINGLE_SELECT and "trigger" in _words(field_)


def _is_error_policy(field_: BlueprintField) -> bool:
    return field_.type is FieldType.SINGLE_SELECT and "error" in _words(field_)


def _is_steps(field_: BlueprintField) -> bool:
    return field_.type is FieldType.FREE_TEXT and "step" in _words(field_)


def _is_approval(field_: BlueprintField) -> bool:
    return field_.type is FieldType.BOOLEAN and "approv" in _words(field_)


def _is_ai(field_: BlueprintField) -> bool:
    words = _words(field_).split()
    return field_.type is FieldType.MULTI_SELECT and ("ai" in words or "artificial" in words)


def _plain(text: str) -> str:
    """User text placed in a template: no `{{`, which would read as a variable."""
    return text.replace("{", "(").replace("}", ")")


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!?;:,").strip()
    return text[:1].upper() + text[1:]


def split_steps(text: str) -> list[str]:
    """The steps a described process names, in order: lines, bullets, sentences and
    "…, then …" each start a new one."""
    steps: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line)
        steps += [step for part in _STEP_BREAK.split(line) if (step := _sentence(part))]
    return steps[:MAX_STEPS_PER_ANSWER]


def _pick(table: tuple[tuple[str, str], ...], answer: str, default: str) -> str:
    answer = answer.casefold()
    return next((value for word, value in table if word in answer), default)


def _variable_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "string"


@dataclass
class _Builder:
    """The document as it grows: nodes in order, each joined to the ones before it."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # node ids, variable and output names
    # The node the next step follows, and the branch of it that leads there.
    tail: tuple[str, str | None] | None = None
    retry_policy: dict[str, Any] | None = None

    def unique(self, wanted: str, fallback: str) -> str:
        base = file_stem(wanted, fallback=fallback)[:40].strip("_") or fallback
        if not base[0].isalpha():
            base = f"{fallback}_{base}"
        name, number = base, 2
        while name in self.names:
            name, number = f"{base}_{number}", number + 1
        self.names.add(name)
        return name

    def add(self, node_id: str, node_type: str, label: str, config: dict[str, Any], *, x: float = 0.0) -> str:
        timeout = {"activity": ACTIVITY_TIMEOUT_SECONDS, "ai_action": AI_TIMEOUT_SECONDS}.get(node_type)
        self.nodes.append(
            {
                "id": node_id,
                "node_type": node_type,
                "label": _label(label),
                "position": {"x": x, "y": STEP_GAP * len(self.nodes)},
                "config": {"type": node_type, **config},
                "retry_policy": dict(self.retry_policy)
                if self.retry_policy is not None and node_type in ("activity", "ai_action")
                else None,
                "timeout_seconds": timeout,
            }
        )
        return node_id

    def link(self, source: str, target: str, *, handle: str | None = None) -> str:
        edge_id = f"e_{source}_{target}"
        self.edges.append(
            {
                "id": edge_id,
                "source": source,
                "target": target,
                "source_handle": handle,
                "target_handle": None,
                "condition": None,
            }
        )
        return edge_id

    def follow(self, node_id: str) -> None:
        """Join `node_id` after the last step (out of its `handle`, after a decision)."""
        if self.tail is not None:
            source, handle = self.tail
            self.link(source, node_id, handle=handle)
        self.tail = (node_id, None)

    def activity(
        self,
        label: str,
        *,
        inputs: dict[str, str],
        output: str | None = None,
        node_id: str = "",
        x: float = 0.0,
    ) -> str:
        """An activity registered under a name made of its id's words (`CheckTheStock`)."""
        node_id = node_id or self.unique(label, "step")
        activity_name = "".join(part.capitalize() for part in node_id.split("_"))
        config = {"activity_name": activity_name, "input_mapping": inputs, "output_variable": output}
        return self.add(node_id, "activity", label, config, x=x)


@dataclass(frozen=True)
class _Plan:
    """What the answers say, field by field: the nodes' material and the configuration."""

    trigger: str | None
    error_policy: str
    variables: list[tuple[BlueprintField, Any]]


def _answered(blueprint: Blueprint, answers: Mapping[str, Any]) -> list[tuple[BlueprintField, Any]]:
    applicable = blueprint.applicable(dict(answers))
    return [(f, answers[f.key]) for f in applicable if f.key in answers and answers[f.key] != SKIPPED]


def _plan(answered: list[tuple[BlueprintField, Any]], approval_notes: Collection[str]) -> _Plan:
    trigger = next((str(value) for f, value in answered if _is_trigger(f)), None)
    policy_answer = next((str(value) for f, value in answered if _is_error_policy(f)), "")
    variables = [
        (f, value)
        for f, value in answered
        if not (
            _is_trigger(f)
            or _is_error_policy(f)
            or _is_steps(f)
            or _is_approval(f)
            or f.type is FieldType.MULTI_SELECT
            or f.key in approval_notes
        )
    ]
    return _Plan(trigger, _pick(_ERROR_POLICIES, policy_answer, "fail"), variables)


def _approval_notes(blueprint: Blueprint, answered: list[tuple[BlueprintField, Any]]) -> dict[str, str]:
    """Free-text answers asked only after a yes to an approval question (who approves what),
    by the key of that question: they describe the approval."""
    notes: dict[str, str] = {}
    for f, value in answered:
        condition = f.depends_on
        if f.type is not FieldType.FREE_TEXT or condition is None or condition.field in notes:
            continue
        asked_after = blueprint.field(condition.field)
        if asked_after is not None and _is_approval(asked_after):
            notes[condition.field] = str(value)
    return notes


def starter_document(
    *, blueprint: Blueprint, answers: Mapping[str, Any], identity: Mapping[str, Any]
) -> WorkflowDocument:
    """The starter workflow for `answers` to `blueprint`, with the identity (id, name,
    tenant_id, version) of the workflow it is for; not yet validated."""
    answered = _answered(blueprint, answers)
    notes = _approval_notes(blueprint, answered)
    note_fields = {
        f.key for f, _ in answered if f.depends_on is not None and notes.get(f.depends_on.field) is not None
    }
    plan = _plan(answered, note_fields)
    build = _Builder(retry_policy=dict(RETRY_POLICY) if plan.error_policy == "retry" else None)
    build.names.update(f.key for f, _ in plan.variables)  # variables keep their fields' keys
    for f, value in plan.variables:
        build.variables.append(
            {
                "name": f.key,
                "variable_type": _variable_type(value),
                "default_value": value,
                "required": False,
                "description": f.label,
            }
        )
    request = build.unique("request", "request")
    start = build.activity(
        f"Start: {plan.trigger}" if plan.trigger else "Start: receive the request",
        inputs={f.key: _reference(f.key) for f, _ in plan.variables},
        output=request,
    )
    build.follow(start)
    for f, value in answered:
        if _is_steps(f):
            for step in split_steps(str(value)):
                build.follow(build.activity(step, inputs={"request": _reference(request)}))
        elif f.type is FieldType.MULTI_SELECT:
            for option in map(str, value if isinstance(value, list) else [value]):
                if not _NONE_OPTION.match(option):
                    _option_step(build, f, option, request=request)
        elif _is_approval(f) and value is True:
            _approval(build, f, notes.get(f.key), title=str(identity.get("name") or ""), request=request)
    build.follow(build.activity("Finish: report the outcome", inputs={"request": _reference(request)}))
    return {
        **{key: identity.get(key) for key in ("id", "name", "tenant_id", "version")},
        "nodes": build.nodes,
        "edges": build.edges,
        "variables": build.variables,
        "triggers": [{"trigger_type": _pick(_TRIGGER_TYPES, plan.trigger or "", "manual"), "config": {}}],
        "error_policy": {"on_error": plan.error_policy},
    }


def _reference(name: str) -> str:
    return "{{" + name + "}}"


def _option_step(build: _Builder, f: BlueprintField, option: str, *, request: str) -> None:
    """One step for an option chosen in a multi-select: an AI step for an AI field's."""
    label = f"{f.label}: {option}"
    if not _is_ai(f):
        build.follow(build.activity(label, inputs={"request": _reference(request)}))
        return
    config = {
        "provider": "local",
        "model": "local",
        "prompt_template": f"{_plain(option)}: {_reference(request)}",
        "temperature": 0.2,
        "max_tokens": 1024,
        "use_local_model": True,
        "output_variable": None,
    }
    build.follow(build.add(build.unique(option, "ai_step"), "ai_action", label, config))


def _approval(
    build: _Builder, approval: BlueprintField, details: str | None, *, title: str, request: str
) -> None:
    """A human task, then "Approved?": yes goes on to the next step, no notifies and stops."""
    output = build.unique(f"{approval.key}_decision", "approval")
    task = build.unique(f"ask_{approval.key}", "approval_task")
    label = "Ask for approval" if approval.key == "human_approvals" else f"Ask for approval: {approval.label}"
    human_task = {
        "task_type": "approval",
        "title": _plain(f"Approve: {title}" if title else "Approve the request"),
        "description": _plain(details) if details else None,
        "output_variable": output,
    }
    build.follow(build.add(task, "human_task", label, human_task))
    decision = build.unique(f"{approval.key}_given", "approved")
    stop = build.unique("stop_not_approved", "stop")
    approved = {
        "id": "approved",
        "condition": f"{_reference(output + '.approved')} == true",
        "label": "Approved",
    }
    # Taken when the approval is not given: the edge to the stop node is the default.
    rejected = f"e_{decision}_{stop}"
    branches = {"condition_expression": "", "branches": [approved], "default_branch": rejected}
    build.follow(build.add(decision, "decision", "Approved?", branches))
    label = "Stop: tell the requester it was not approved"
    build.activity(label, inputs={"request": _reference(request)}, node_id=stop, x=SIDE_X)
    build.link(decision, stop)
    build.tail = (decision, "approved")


def starter_workflow(
    *,
    blueprint: Blueprint,
    answers: Mapping[str, Any],
    identity: Mapping[str, Any],
    known_workflow_ids: Collection[str],
) -> tuple[WorkflowDocument, list[Finding]]:
    """The starter workflow validated like any proposal: its canonical document and the
    findings (warnings only, as the builder only writes what validates)."""
    document = starter_document(blueprint=blueprint, answers=answers, identity=identity)
    analysis = validate_workflow(document, known_workflow_ids=known_workflow_ids)
    if analysis.workflow is None:  # the builder is wrong: say so rather than store it
        raise ValueError(f"the starter workflow does not parse: {analysis.findings}")
    return canonical_document(analysis.workflow), analysis.findings
