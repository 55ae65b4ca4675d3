"""End to end: a rendered project's own tests pass, run with the sandbox's interpreter.

Run here as a plain subprocess (the sandbox runner has its own tests); what matters is that the
template mode's output is a working service whatever the spec.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen.sandbox.junit import parse_junit
from codegen.spec import ServiceSpec
from codegen.targets import target_for
from tests.codegen.targets.projects import render_project, write_project
from tests.codegen.targets.specs import hostile_spec, plain_spec, workflow_spec

SPECS: dict[str, Callable[[], ServiceSpec]] = {
    "plain": plain_spec,
    "workflow": workflow_spec,
    "hostile": hostile_spec,
}


@pytest.fixture(scope="module")
def sandbox_python() -> Path:
    from codegen.sandbox.python_env import ensure_sandbox_python

    return ensure_sandbox_python()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_generated_tests_pass(name: str, sandbox_python: Path, tmp_path: Path) -> None:
    _plan, files = render_project(SPECS[name]())
    project = write_project(files, tmp_path / "project")
    junit = tmp_path / "junit.xml"
    command = [part.replace("{junit}", str(junit)) for part in target_for("python-fastapi").test_command]
    command[0] = str(sandbox_python)
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = subprocess.run(
        command, cwd=project, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    cases = parse_junit(junit.read_text(encoding="utf-8"))
    assert [case.name for case in cases if case.outcome != "passed"] == []
    # health, the service, create/fetch, list, three 422s, two 404s and a run: at least ten.
    assert len(cases) >= 10
