"""What a service is generated from: the requirements, the workflow, and the options chosen.

Both writers (templates and the model) read a `ServiceSpec`; it is built from a generation's
snapshots, so the portal, the command line and the API produce the same spec from the same
inputs. The workflow's activities are what the service must implement: one vendor
integration per activity, named as the compiled Go workflow calls it.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.compiler import compile_workflow
from workflows.dsl.findings import DSLValidationError


@dataclass(frozen=True)
class Options:
    target: str = "python-fastapi"
    include_tests: bool = True
    include_docs: bool = True
    include_deployment: bool = True


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    value: Any  # a JSON value; None when the question was skipped


@dataclass(frozen=True)
class ActivitySpec:
    name: str  # the activity_name the workflow calls
    identifier: str  # a Python identifier for it (snake_case, unique in the service)
    label: str
    node_id: str
    inputs: tuple[str, ...]  # the input_mapping's field names
    output_variable: str | None


@dataclass(frozen=True)
class ServiceSpec:
    title: str
    blueprint: str
    package: str  # the Python package of the service (snake_case of the title)
    requirements: tuple[Requirement, ...]
    workflow: Mapping[str, Any] | None = None
    activities: tuple[ActivitySpec, ...] = ()
    go_code: str | None = None  # the compiled Temporal Go workflow, when there is a workflow
    workflow_findings: tuple[str, ...] = field(default=())  # why it did not compile, if it did not

    def requirement_lines(self) -> list[str]:
        return [
            f"{requirement.label}: {'(skipped)' if requirement.value is None else requirement.value}"
            for requirement in self.requirements
        ]


def snake_case(text: str, *, fallback: str = "service") -> str:
    """An ASCII Python identifier for any text (accents dropped, keywords suffixed)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", ascii_text))
    name = "_".join(word.lower() for word in words)[:50].strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in {"app", "tests", "test"}:
        name = f"{name}_{fallback}"
    return name


def _requirements(payload: Mapping[str, Any]) -> tuple[Requirement, ...]:
    rows = payload.get("requirements")
    if not isinstance(rows, Mapping):
        return ()
    requirements = []
    for key, row in rows.items():
        if isinstance(row, Mapping):
            requirements.append(Requirement(str(key), str(row.get("label") or key), row.get("value")))
        else:
            requirements.append(Requirement(str(key), str(key), row))
    return tuple(requirements)


def _activities(document: Mapping[str, Any]) -> tuple[ActivitySpec, ...]:
    taken: set[str] = set()
    activities: list[ActivitySpec] = []
    nodes = document.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        config = node.get("config") if isinstance(node, Mapping) else None
        if not isinstance(config, Mapping) or config.get("type") != "activity":
            continue
        name = str(config.get("activity_name") or "")
        if not name or any(activity.name == name for activity in activities):
            continue  # one integration per activity, however many nodes call it
        identifier = base = snake_case(name, fallback="activity")
        number = 2
        while identifier in taken:
            identifier, number = f"{base}_{number}", number + 1
        taken.add(identifier)
        mapping = config.get("input_mapping")
        activities.append(
            ActivitySpec(
                name=name,
                identifier=identifier,
                label=str(node.get("label") or name),
                node_id=str(node.get("id") or ""),
                inputs=tuple(str(key) for key in mapping) if isinstance(mapping, Mapping) else (),
                output_variable=str(config["output_variable"]) if config.get("output_variable") else None,
            )
        )
    return tuple(activities)


def build_spec(*, requirements: Mapping[str, Any], workflow: Mapping[str, Any] | None) -> ServiceSpec:
    """The spec of a service from the interview's JSON download format and a workflow document
    (a published version's: valid; a file's: compiled here, and findings kept when it fails)."""
    title = str(requirements.get("title") or "Generated service")[:200]
    go_code: str | None = None
    findings: tuple[str, ...] = ()
    activities: tuple[ActivitySpec, ...] = ()
    if workflow is not None:
        activities = _activities(workflow)
        try:
            # Subflows call the tenant's other workflows: they are the Go workflow's business.
            go_code = compile_workflow(dict(workflow), known_workflow_ids=lambda _id: True).code
        except DSLValidationError as invalid:
            findings = tuple(f"{finding.code}: {finding.message}" for finding in invalid.findings[:20])
    return ServiceSpec(
        title=title,
        blueprint=str(requirements.get("blueprint") or ""),
        package=snake_case(title),
        requirements=_requirements(requirements),
        workflow=workflow,
        activities=activities,
        go_code=go_code,
        workflow_findings=findings,
    )
