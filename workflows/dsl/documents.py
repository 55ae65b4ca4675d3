"""Raw workflow documents (JSON text, bytes or decoded data) to DSL models or findings.

Nothing here raises for bad input: every problem becomes a finding with the path of the
offending value, so the editor can point at it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from workflows.dsl.document_types import RawDocument, WorkflowDocument
from workflows.dsl.findings import (
    INVALID_DOCUMENT,
    INVALID_EDGE,
    INVALID_NODE,
    INVALID_VARIABLE,
    UNKNOWN_FIELD,
    Finding,
    PathPart,
    error,
    format_path,
    warning,
)
from workflows.dsl.gc_pause import cyclic_gc_paused
from workflows.dsl.json_values import nested_deeper_than
from workflows.dsl.models import WorkflowDSL

_CODE_OF_SECTION = {"nodes": INVALID_NODE, "edges": INVALID_EDGE, "variables": INVALID_VARIABLE}

# How deeply objects and lists may nest in a document, counted from the document itself. A
# valid workflow needs at most 68 levels (a node's output_schema, itself at most 64 deep);
# a deeper document is refused as it comes in, with the same finding whichever way it came
# (API, CLI, import, AI replies, drafts saved through the services; the editor's JSON fields
# say the same), before anything that recurses reads it: pydantic stops serializing at 255
# levels, copy.deepcopy and the JSON encoders at Python's recursion limit.
MAX_DOCUMENT_DEPTH = 128
NESTED_TOO_DEEPLY = (
    f"nested too deeply: a workflow document may have at most {MAX_DOCUMENT_DEPTH} levels of objects "
    "and lists"
)


@dataclass(frozen=True)
class ParsedDocument:
    """A parsed workflow (None when the document cannot be read as one) and what was found."""

    workflow: WorkflowDSL | None
    findings: list[Finding] = field(default_factory=list)


def parse_workflow(document: RawDocument | WorkflowDSL) -> ParsedDocument:
    """Read a workflow from JSON text or bytes, decoded JSON data, or a WorkflowDSL.

    Unknown fields are dropped with an `unknown_field` warning (the original compiler
    ignored them); anything else that does not fit the DSL is an error finding.
    """
    if isinstance(document, WorkflowDSL):
        return ParsedDocument(document)
    with cyclic_gc_paused():
        return _parse(document)


def too_deep(value: object, *, levels_above: int = 0) -> Finding | None:
    """The finding for a document nested more than MAX_DOCUMENT_DEPTH levels (or for a value
    that would make one so, `levels_above` levels down in a document); None when it is not."""
    if nested_deeper_than(value, MAX_DOCUMENT_DEPTH - levels_above):
        return nested_too_deeply()
    return None


def nested_too_deeply() -> Finding:
    """The finding for a document nested more than MAX_DOCUMENT_DEPTH levels."""
    return error(INVALID_DOCUMENT, f"the document is {NESTED_TOO_DEEPLY}")


def parse_object(data: WorkflowDocument) -> ParsedDocument:
    """Parse a document already read by `read_document` (so known to be a JSON object of a
    depth that can be read)."""
    with cyclic_gc_paused():
        return _parse_object(data)


def read_document(document: RawDocument) -> WorkflowDocument | Finding:
    """The JSON object in JSON text or bytes (or decoded data), or the finding that says why
    there is none: not UTF-8, not JSON, not an object, or nested too deeply.

    This is what tells an unreadable document (the API's 400, the CLI's exit 2) from a
    readable one with problems; pass the object on to parse or validate it.
    """
    with cyclic_gc_paused():
        return _read(document)


def _read(document: RawDocument) -> WorkflowDocument | Finding:
    data, problem = _decode(document)
    if problem is not None:
        return problem
    if (deep := too_deep(data)) is not None:
        return deep
    if isinstance(data, dict):
        return data
    if isinstance(data, Mapping):  # decoded data handed over by Python code need not be a dict
        return dict(data)
    return error(INVALID_DOCUMENT, "a workflow document must be a JSON object")


def _parse(document: RawDocument) -> ParsedDocument:
    data = _read(document)
    if isinstance(data, Finding):
        return ParsedDocument(None, [data])
    return _parse_object(data)


def _parse_object(data: WorkflowDocument) -> ParsedDocument:
    try:
        return ParsedDocument(WorkflowDSL.model_validate(data))
    except ValidationError as first_attempt:
        problems = first_attempt.errors(include_url=False, include_context=False, include_input=False)
    unknown = [problem for problem in problems if problem["type"] == "extra_forbidden"]
    findings = [_finding(data, problem, severity="warning") for problem in unknown]
    if len(unknown) < len(problems):
        findings += [_finding(data, problem) for problem in problems if problem["type"] != "extra_forbidden"]
        return ParsedDocument(None, findings)
    stripped = _without_keys(data, [_document_path(data, problem["loc"]) for problem in unknown])
    try:
        return ParsedDocument(WorkflowDSL.model_validate(stripped), findings)
    except ValidationError as second_attempt:  # only if dropping a key exposed another problem
        problems = second_attempt.errors(include_url=False, include_context=False, include_input=False)
        return ParsedDocument(None, findings + [_finding(stripped, problem) for problem in problems])


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _decode(document: RawDocument) -> tuple[object, Finding | None]:
    if isinstance(document, bytes | bytearray | memoryview):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError as problem:
            return None, error(INVALID_DOCUMENT, f"the document is not UTF-8 text: {problem.reason}")
    if not isinstance(document, str):
        return document, None
    try:
        return json.loads(document, parse_constant=_reject_constant, parse_float=_finite_float), None
    except json.JSONDecodeError as problem:
        return None, error(INVALID_DOCUMENT, f"the document is not JSON: {problem.msg}", position=problem.pos)
    except ValueError as problem:
        return None, error(INVALID_DOCUMENT, f"the document is not JSON: {problem}")
    except RecursionError:
        return None, nested_too_deeply()


def _document_path(data: WorkflowDocument, location: tuple[int | str, ...]) -> tuple[PathPart, ...]:
    """Pydantic's error location as a path in the document.

    Pydantic inserts the tag of a discriminated union (`config.activity.activity_name`);
    the document has no such level, so it is skipped when the value there carries that tag.
    """
    path: list[PathPart] = []
    current: object = data
    for index, part in enumerate(location):
        more_follows = index + 1 < len(location)
        if (
            isinstance(current, Mapping)
            and more_follows
            and part not in current
            and current.get("type") == part
        ):
            continue
        path.append(part)
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list | tuple) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(path)


def _finding(data: WorkflowDocument, problem: Any, severity: str = "error") -> Finding:
    path = _document_path(data, problem["loc"])
    where: dict[str, Any] = {"path": path}
    code = INVALID_DOCUMENT
    if len(path) >= 2 and path[0] in _CODE_OF_SECTION and isinstance(path[1], int):
        code = _CODE_OF_SECTION[str(path[0])]
        items = data.get(str(path[0]))
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        item_id = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(item_id, str) and path[0] == "nodes":
            where["node_id"] = item_id
        elif isinstance(item_id, str) and path[0] == "edges":
            where["edge_id"] = item_id
    location = format_path(path) or "document"
    if severity == "warning":
        return warning(UNKNOWN_FIELD, f"{location}: unknown field, ignored", **where)
    return error(code, f"{location}: {problem['msg']}", **where)


def _without_keys(data: WorkflowDocument, paths: list[tuple[PathPart, ...]]) -> WorkflowDocument:
    """A copy of `data` without the keys at `paths`; only containers on those paths are copied."""
    tree: dict[PathPart, Any] = {}
    for path in paths:
        branch = tree
        for part in path[:-1]:
            branch = branch.setdefault(part, {})
        branch[path[-1]] = None  # None marks a key to drop
    return _pruned_mapping(data, tree)


def _pruned_mapping(value: Mapping[Any, Any], tree: dict[PathPart, Any]) -> dict[Any, Any]:
    copied = dict(value)
    for key, subtree in tree.items():
        if key not in copied:
            continue
        if subtree is None:
            del copied[key]
        else:
            copied[key] = _prune(copied[key], subtree)
    return copied


def _prune(value: object, tree: dict[PathPart, Any]) -> object:
    if isinstance(value, Mapping):
        return _pruned_mapping(value, tree)
    if isinstance(value, list | tuple):
        items = list(value)
        for key, subtree in tree.items():
            if isinstance(key, int) and 0 <= key < len(items) and subtree is not None:
                items[key] = _prune(items[key], subtree)
        return items
    return value
