"""Render a workflow plan through the Jinja2 templates beside this module."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from workflows.compiler.layout import tidy
from workflows.compiler.plan import WorkflowPlan

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Go, not HTML: HTML escaping would corrupt the code. Every user string is escaped
        # for Go by the planner (go_string / comment_text) before it reaches a template.
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_go(plan: WorkflowPlan) -> str:
    """The gofmt-clean Go source of a planned workflow."""
    return tidy(_environment().get_template("workflow.go.j2").render(plan=plan))
