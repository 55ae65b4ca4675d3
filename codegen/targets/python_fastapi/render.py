"""The template mode: every file of a Python + FastAPI plan, rendered from the templates beside it.

A file's template is its path plus `.j2` under `templates/`, with a leading dot of any path
segment spelled `dot_` (packaging skips dot files). The compiled Go workflow is copied as
the compiler wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codegen.plans import Plan
from codegen.spec import Options, ServiceSpec
from codegen.targets.python_fastapi.shape import ServiceShape, encodable_spec, service_shape
from codegen.targets.python_fastapi.skeleton import WORKFLOW_PATH
from codegen.targets.python_sandbox import PACKAGES
from codegen.targets.rendering import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"

RUNTIME_DISTRIBUTIONS = ("fastapi", "pydantic", "pydantic-settings", "uvicorn")
TEST_DISTRIBUTIONS = ("httpx", "pytest")  # httpx: fastapi.testclient runs on it


def template_name(path: str) -> str:
    """The template that renders `path`."""
    parts = [f"dot_{part[1:]}" if part.startswith(".") else part for part in path.split("/")]
    return "/".join(parts) + ".j2"


def requirement_lines(paths: set[str]) -> list[str]:
    """The pinned requirement lines of the distributions the project's code imports."""
    names = list(RUNTIME_DISTRIBUTIONS)
    if any(path.startswith("tests/") for path in paths):
        names += TEST_DISTRIBUTIONS
    return [PACKAGES[name] for name in sorted(names, key=str.lower)]


def _context(spec: ServiceSpec, options: Options, plan: Plan, shape: ServiceShape) -> dict[str, Any]:
    paths = {planned.path for planned in plan.files}
    return {
        "spec": spec,
        "options": options,
        "plan": plan,
        "shape": shape,
        "paths": paths,
        "requirement_lines": requirement_lines(paths),
        "offered_choices": {field.name: list(field.choices) for field in shape.choice_fields},
    }


def render(spec: ServiceSpec, options: Options, plan: Plan) -> dict[str, str]:
    """Every file of `plan` (not its docs), path -> content; the same inputs give the same bytes."""
    spec = encodable_spec(spec)
    shape = service_shape(spec)
    context = _context(spec, options, plan, shape)
    env = environment(TEMPLATES)
    files: dict[str, str] = {}
    for planned in plan.files:
        if planned.path == WORKFLOW_PATH:
            if not spec.go_code:
                raise ValueError(f"{WORKFLOW_PATH} is planned but the workflow did not compile")
            files[planned.path] = spec.go_code
            continue
        template = env.get_template(template_name(planned.path))
        files[planned.path] = template.render(**context)
    return files
