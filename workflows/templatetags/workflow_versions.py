"""Filters of the version, diff and code pages; the diff partial renders a WorkflowDiff with them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import template

from workflows.dsl.findings import CYCLIC_GRAPH, Finding, format_path
from workflows.versions.diff import Change, WorkflowDiff

register = template.Library()

SECTION_TITLES = {
    "workflow": "Settings",
    "nodes": "Nodes",
    "edges": "Edges",
    "variables": "Variables",
    "triggers": "Triggers",
}


@dataclass(frozen=True)
class DiffSection:
    name: str
    title: str
    changes: list[Change]


@register.filter
def diff_sections(diff: WorkflowDiff) -> list[DiffSection]:
    """The diff's changes grouped by section, in the diff's order, empty sections left out."""
    return [
        DiffSection(name, title, diff.of(name)) for name, title in SECTION_TITLES.items() if diff.of(name)
    ]


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON value as indented text; the template escapes it like any other string."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def finding_path(finding: Finding) -> str:
    """Where a finding points: the cycle's nodes for a cycle, else the document path."""
    if not finding.path:
        return ""
    if finding.code == CYCLIC_GRAPH:
        return " → ".join(str(part) for part in finding.path)
    return format_path(finding.path)
