"""What the templates need to know about a service: its request fields, activities and names.

Derived from the spec alone, deterministically. Every name that becomes Python here is an
ASCII identifier that collides with nothing the generated modules define or use; user text
stays text, and the templates' filters quote it wherever it lands.
"""

from __future__ import annotations

import builtins
import heapq
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from codegen.spec import ActivitySpec, Requirement, ServiceSpec, snake_case

# Names the generated modules define or import: a derived identifier equal to one is renamed.
_RESERVED = frozenset(dir(builtins)) | {
    "annotations",
    "app",
    "dataclass",
    "customer",
    "field_validator",
    "model_config",
    "settings",
    "vendor",
}
# Attributes of pydantic's BaseModel a field must not shadow.
_MODEL_ATTRIBUTES = frozenset(
    {"copy", "dict", "json", "schema", "schema_json", "construct", "validate", "parse_obj", "parse_raw"}
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

PYTHON_TYPES = {
    "string": "str",
    "number": "float",
    "boolean": "bool",
    "object": "dict[str, Any]",
    "array": "list[Any]",
}
# A value of each type for the generated tests' example request.
EXAMPLE_VALUES: dict[str, Any] = {
    "string": "example",
    "number": 1.5,
    "boolean": True,
    "object": {},
    "array": [],
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@dataclass(frozen=True)
class RequestField:
    """A field of the service request's schema."""

    name: str  # the Python attribute
    alias: str | None  # the JSON key, when it is not `name`
    annotation: str  # the Python type, e.g. "list[str]" or "float | None"
    required: bool
    description: str
    source: str  # "variable" (a workflow input) or "choice" (a multi-select requirement)
    choices: tuple[str, ...] = ()  # the values a "choice" field offers
    variable_type: str = ""

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Activity:
    """An activity the service implements: its stub, its endpoint, its place in the run."""

    spec: ActivitySpec
    function: str  # the stub's name in app/integrations/vendor.py

    @property
    def identifier(self) -> str:
        return self.spec.identifier

    @property
    def path(self) -> str:
        return f"/activities/{self.spec.identifier}"


@dataclass(frozen=True)
class ServiceShape:
    spec: ServiceSpec
    fields: tuple[RequestField, ...]
    activities: tuple[Activity, ...]  # in the workflow's order
    variable_defaults: Mapping[str, Any]  # JSON key -> default, for inputs the workflow defaults
    vendor: str  # who the integrations connect to, for messages
    slug: str  # the DNS-safe name of deployments, images and containers

    @property
    def choice_fields(self) -> tuple[RequestField, ...]:
        return tuple(field for field in self.fields if field.source == "choice")

    @property
    def required_fields(self) -> tuple[RequestField, ...]:
        return tuple(field for field in self.fields if field.required)

    def example_request(self) -> dict[str, Any]:
        """A valid request body: the customer and every required field."""
        example: dict[str, Any] = {"customer": "Example Customer Ltd"}
        for field in self.required_fields:
            example[field.key] = EXAMPLE_VALUES.get(field.variable_type, "example")
        return example

    def requirements_data(self) -> dict[str, dict[str, Any]]:
        return {
            requirement.key: {"label": requirement.label, "value": requirement.value}
            for requirement in self.spec.requirements
        }


def _encodable(value: Any) -> Any:
    """A JSON value whose texts all encode as UTF-8: a lone surrogate (which JSON can carry)
    would make the generated service fail to answer, so it becomes "?"."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list | tuple):
        return type(value)(_encodable(item) for item in value)
    if isinstance(value, Mapping):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    return value


def encodable_spec(spec: ServiceSpec) -> ServiceSpec:
    """`spec` with every text UTF-8 encodable; the same spec when it already is."""
    return replace(
        spec,
        title=_encodable(spec.title),
        blueprint=_encodable(spec.blueprint),
        requirements=tuple(
            Requirement(_encodable(row.key), _encodable(row.label), _encodable(row.value))
            for row in spec.requirements
        ),
        workflow=_encodable(spec.workflow) if spec.workflow is not None else None,
        activities=tuple(
            replace(
                activity,
                name=_encodable(activity.name),
                label=_encodable(activity.label),
                inputs=_encodable(activity.inputs),
                output_variable=_encodable(activity.output_variable),
            )
            for activity in spec.activities
        ),
    )


def _field_name(raw: str, taken: set[str]) -> str:
    name = raw if _IDENTIFIER.fullmatch(raw) else snake_case(raw, fallback="field")
    if (
        keyword.iskeyword(name)
        or name in _RESERVED
        or name in _MODEL_ATTRIBUTES
        or name.startswith(("_", "model_"))
    ):
        name = f"{name.lstrip('_')}_value"
    base, number = name, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def _variable_fields(spec: ServiceSpec, taken: set[str]) -> tuple[list[RequestField], dict[str, Any]]:
    fields: list[RequestField] = []
    defaults: dict[str, Any] = {}
    rows = spec.workflow.get("variables") if spec.workflow else None
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping) or not str(row.get("name") or ""):
            continue
        raw = str(row["name"])
        if raw in {field.key for field in fields}:
            continue
        variable_type = str(row.get("variable_type") or "string")
        python_type = PYTHON_TYPES.get(variable_type, "Any")
        default = row.get("default_value")
        usable_default = default is not None and isinstance(
            default, _JSON_TYPES.get(variable_type, (object,))
        )
        if variable_type == "number" and isinstance(default, bool):
            usable_default = False
        required = bool(row.get("required")) and not usable_default
        name = _field_name(raw, taken)
        if usable_default:
            defaults[raw] = default  # keyed as the request sends it (the alias)
        description = str(row.get("description") or f"The workflow's `{raw}` input.")
        fields.append(
            RequestField(
                name=name,
                alias=None if name == raw else raw,
                annotation=python_type if required or python_type == "Any" else f"{python_type} | None",
                required=required,
                description=description,
                source="variable",
                variable_type=variable_type,
            )
        )
    return fields, defaults


def _choice_fields(spec: ServiceSpec, taken: set[str]) -> list[RequestField]:
    """A multi-select requirement (a list of texts) offers its values: a request picks among them."""
    fields = []
    for requirement in spec.requirements:
        value = requirement.value
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            continue
        name = _field_name(snake_case(requirement.key, fallback="choice"), taken)
        fields.append(
            RequestField(
                name=name,
                alias=None,
                annotation="list[str]",
                required=False,
                description=f"Which of the offered {requirement.label} the request wants.",
                source="choice",
                choices=tuple(dict.fromkeys(value)),
            )
        )
    return fields


def workflow_order(spec: ServiceSpec) -> tuple[ActivitySpec, ...]:
    """The activities in the order the workflow reaches them: a topological order of its graph,
    ties and cycles broken by document order (branches and parallel paths are the Go workflow's)."""
    document = spec.workflow or {}
    nodes = [node for node in document.get("nodes") or [] if isinstance(node, Mapping)]
    ids = list(dict.fromkeys(str(node.get("id") or "") for node in nodes))
    position = {node_id: index for index, node_id in enumerate(ids)}
    incoming = dict.fromkeys(ids, 0)
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in document.get("edges") or []:
        if isinstance(edge, Mapping):
            source, target = str(edge.get("source") or ""), str(edge.get("target") or "")
            if source in outgoing and target in incoming and source != target:
                outgoing[source].append(target)
                incoming[target] += 1
    rank: dict[str, int] = {}
    ready = [position[node_id] for node_id in ids if incoming[node_id] == 0]
    heapq.heapify(ready)
    while len(rank) < len(ids):
        if not ready:  # a cycle: go on from the earliest node not placed yet
            heapq.heappush(ready, min(position[node_id] for node_id in ids if node_id not in rank))
        node_id = ids[heapq.heappop(ready)]
        if node_id in rank:
            continue
        rank[node_id] = len(rank)
        for target in outgoing[node_id]:
            incoming[target] -= 1
            if incoming[target] == 0 and target not in rank:
                heapq.heappush(ready, position[target])
    first_reached: dict[str, int] = {}
    for node in nodes:
        config = node.get("config")
        if isinstance(config, Mapping) and config.get("type") == "activity":
            name, node_rank = str(config.get("activity_name") or ""), rank[str(node.get("id") or "")]
            first_reached[name] = min(first_reached.get(name, node_rank), node_rank)
    return tuple(sorted(spec.activities, key=lambda activity: first_reached.get(activity.name, len(rank))))


def _vendor(spec: ServiceSpec) -> str:
    for requirement in spec.requirements:
        if requirement.key == "vendor" and isinstance(requirement.value, str) and requirement.value.strip():
            return requirement.value.strip()
    return "the vendor"


def service_shape(spec: ServiceSpec) -> ServiceShape:
    """The shape of the service generated for `spec`."""
    taken: set[str] = set()
    variable_fields, defaults = _variable_fields(spec, taken)
    fields = (*variable_fields, *_choice_fields(spec, taken))
    activities = []
    for activity in workflow_order(spec):
        function = activity.identifier
        if function in _RESERVED or keyword.iskeyword(function):
            function = f"{function}_activity"
        activities.append(Activity(spec=activity, function=function))
    return ServiceShape(
        spec=spec,
        fields=fields,
        activities=tuple(activities),
        variable_defaults=defaults,
        vendor=_vendor(spec),
        slug=spec.package.replace("_", "-")[:50].strip("-") or "service",
    )
