"""Validation findings and the exception that carries them out of the compiler."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning"]

# Errors: the workflow cannot be compiled.
INVALID_DOCUMENT = "invalid_document"  # not JSON, not an object, or a field of the wrong shape
INVALID_NODE = "invalid_node"
INVALID_EDGE = "invalid_edge"
INVALID_VARIABLE = "invalid_variable"
DUPLICATE_ID = "duplicate_id"
CYCLIC_GRAPH = "cyclic_graph"
NO_ENTRY_NODE = "no_entry_node"
UNREACHABLE_NODE = "unreachable_node"
UNDEFINED_VARIABLE = "undefined_variable"
UNKNOWN_SUBFLOW = "unknown_subflow"
INVALID_TRIGGER = "invalid_trigger"  # a schedule that cannot be used (as a warning: does nothing)
TOO_LARGE = "too_large"  # over a size limit (nodes, edges, branches, nesting): not analysed

# Warnings: the workflow compiles but probably does not do what was meant.
UNKNOWN_FIELD = "unknown_field"
ISOLATED_NODE = "isolated_node"  # no edges at all: it runs alone, as one more entry node
UNUSED_VARIABLE = "unused_variable"
NO_DEFAULT_BRANCH = "no_default_branch"
MISSING_TIMEOUT = "missing_timeout"
SINGLE_BRANCH_PARALLEL = "single_branch_parallel"
UNLIMITED_RETRIES = "unlimited_retries"
NO_COMPENSATION_WORKFLOW = "no_compensation_workflow"
RECURSIVE_SUBFLOW = "recursive_subflow"

PathPart = str | int


class Finding(BaseModel):
    """One problem found in a workflow document.

    `path` is, for `cyclic_graph`, the node ids around the cycle (the first repeated at the
    end); for everything else, where in the document the problem is (keys and list indexes).
    `position` is the 0-based character offset inside the expression or template at `path`.
    """

    model_config = ConfigDict(frozen=True)

    severity: Severity
    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    path: tuple[PathPart, ...] | None = None
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data, without the fields that do not apply."""
        data = self.model_dump(exclude_none=True)
        if self.path is not None:
            data["path"] = list(self.path)
        return data


def format_path(path: tuple[PathPart, ...]) -> str:
    """A document path as people write it: `nodes[2].config.prompt_template`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def error(code: str, message: str, **where: Any) -> Finding:
    """An error finding; `where` takes node_id, edge_id, path and position."""
    return Finding(severity="error", code=code, message=message, **where)


def warning(code: str, message: str, **where: Any) -> Finding:
    """A warning finding; `where` takes node_id, edge_id, path and position."""
    return Finding(severity="warning", code=code, message=message, **where)


def errors_in(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that block compilation."""
    return [finding for finding in findings if finding.severity == "error"]


class DSLValidationError(Exception):
    """A workflow that cannot be compiled; `code` is the first error's code (the API's `error`)."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        first = next((finding for finding in self.findings if finding.severity == "error"), None)
        self.code = first.code if first else INVALID_DOCUMENT
        self.message = first.message if first else "the workflow is not valid"
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        """The HTTP 400 body: `{error, message, details}`; details lists every finding."""
        return {
            "error": self.code,
            "message": self.message,
            "details": [finding.as_dict() for finding in self.findings],
        }
