"""The languages and frameworks services are generated in: one module per target.

Everything that differs between targets is in its `Target`: the default plan (skeleton),
the template generator (the offline baseline and the model's few-shot examples), which
extensions a file may have, how its tests run in the sandbox and which packages the
sandbox offers. A second target is one more module registered in `TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from codegen.plans import Plan
from codegen.spec import Options, ServiceSpec


@dataclass(frozen=True)
class Target:
    key: str  # "python-fastapi"
    label: str  # "Python · FastAPI"
    language: str  # the language of its source files: "python"
    allowed_extensions: frozenset[str]  # ".py", ".md", ... ("" for Dockerfile-like names)
    allowed_names: frozenset[str]  # extensionless file names allowed: Dockerfile, Makefile, ...
    # The default plan for a spec and options: the skeleton the model adapts, the template
    # mode's plan.
    skeleton: Callable[[ServiceSpec, Options], Plan]
    # The template mode: every file of `plan` (the skeleton), path -> content.
    render: Callable[[ServiceSpec, Options, Plan], Mapping[str, str]]
    # The docs (README.md, API.md) from the final files, path -> content.
    render_docs: Callable[[ServiceSpec, Plan, Mapping[str, str]], Mapping[str, str]]
    # The tests' command in the sandbox, run in the project's folder; it writes JUnit XML to
    # the path given in place of "{junit}".
    test_command: tuple[str, ...]
    # Top-level modules the sandbox's interpreter offers beyond the standard library, and the
    # requirement line of the distribution each comes from (module -> "fastapi==0.115.0").
    sandbox_modules: Mapping[str, str]


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    TARGETS[target.key] = target
    return target


def target_for(key: str) -> Target:
    """The target registered under `key`; KeyError when there is none."""
    if not TARGETS:
        from codegen.targets import python_fastapi  # noqa: F401  (registers itself)
    return TARGETS[key]


def target_choices() -> list[tuple[str, str]]:
    target_for("python-fastapi")
    return [(target.key, target.label) for target in TARGETS.values()]
