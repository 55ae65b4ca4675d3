"""Rendering a whole project for the tests, and writing it to a folder."""

from __future__ import annotations

from pathlib import Path

from codegen.plans import Plan
from codegen.spec import Options, ServiceSpec
from codegen.targets import target_for


def render_project(spec: ServiceSpec, options: Options | None = None) -> tuple[Plan, dict[str, str]]:
    """The skeleton's plan and every file of it, docs included."""
    target = target_for("python-fastapi")
    options = options or Options()
    plan = target.skeleton(spec, options)
    files = dict(target.render(spec, options, plan))
    files.update(target.render_docs(spec, plan, files))
    return plan, files


def write_project(files: dict[str, str], folder: Path) -> Path:
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return folder
