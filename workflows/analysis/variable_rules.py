"""Checks of the declared variables: names, duplicates, defaults that fit their type."""

from __future__ import annotations

from collections.abc import Iterable

from workflows.dsl.expressions import is_identifier
from workflows.dsl.findings import DUPLICATE_ID, INVALID_VARIABLE, UNUSED_VARIABLE, Finding, error, warning
from workflows.dsl.json_values import json_value_problem
from workflows.dsl.models import VariableType, WorkflowDSL

# Deeper default values are refused: they would only make unreadable Go literals.
MAX_DEFAULT_DEPTH = 32


def variable_findings(workflow: WorkflowDSL, used_names: Iterable[str]) -> list[Finding]:
    """Problems with the declared variables; `used_names` are the names anything reads."""
    findings: list[Finding] = []
    seen: set[str] = set()
    used = set(used_names)
    for index, variable in enumerate(workflow.variables):
        path = ("variables", index)
        if not is_identifier(variable.name):
            findings.append(
                error(
                    INVALID_VARIABLE,
                    f"variable name {variable.name!r}: use letters, digits and _, not starting with a digit",
                    path=(*path, "name"),
                )
            )
        if variable.name in seen:
            findings.append(error(DUPLICATE_ID, f"variable {variable.name!r} is declared twice", path=path))
        seen.add(variable.name)
        if variable.default_value is not None:
            problem = _default_problem(variable.default_value, variable.variable_type)
            if problem:
                findings.append(
                    error(
                        INVALID_VARIABLE,
                        f"variable {variable.name!r}: default_value {problem}",
                        path=(*path, "default_value"),
                    )
                )
        if variable.name not in used:
            findings.append(
                warning(UNUSED_VARIABLE, f"variable {variable.name!r} is never used", path=(*path, "name"))
            )
    return findings


def _default_problem(value: object, variable_type: VariableType) -> str | None:
    expected = {
        "string": str,
        "boolean": bool,
        "object": dict,
        "array": list,
    }
    if variable_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
    elif not isinstance(value, expected[variable_type]):
        return f"must be a JSON {variable_type}"
    return json_value_problem(value, MAX_DEFAULT_DEPTH)
