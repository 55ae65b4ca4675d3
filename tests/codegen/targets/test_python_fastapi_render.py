"""The template mode's files: they parse, are ruff-clean, import only what the sandbox offers,
pin what they import, and come out the same every time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from codegen.spec import Options
from codegen.targets import target_for
from codegen.targets.python_fastapi.shape import encodable_spec
from codegen.targets.python_sandbox import MODULES, PACKAGES
from tests.codegen.targets.projects import render_project, write_project
from tests.codegen.targets.specs import SPECS, hostile_spec, plain_spec, workflow_spec

RUFF = Path(sys.executable).with_name("ruff")


def _imports(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def _ruff(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    # From the project's folder, so that `app` counts as first-party for import sorting.
    return subprocess.run(
        [str(RUFF), *arguments, "--isolated", "."], cwd=folder, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_file_parses_and_python_is_ruff_clean(name: str, tmp_path: Path) -> None:
    _plan, files = render_project(SPECS[name]())
    for path, content in files.items():
        if path.endswith(".py"):
            ast.parse(content, filename=path)
        elif path.endswith((".yaml", ".yml")):
            assert list(yaml.safe_load_all(content)), path
        elif path.endswith(".toml"):
            tomllib.loads(content)
        elif path.endswith(".json"):
            json.loads(content)
        content.encode("utf-8")
    folder = write_project(files, tmp_path)
    checked = _ruff(folder, "check", "--select", "E,F,W,I,B", "--output-format", "concise")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = _ruff(folder, "format", "--check", "--diff")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


@pytest.mark.parametrize("name", sorted(SPECS))
def test_python_imports_only_the_stdlib_the_project_and_the_sandbox(name: str) -> None:
    _plan, files = render_project(SPECS[name]())
    allowed = set(sys.stdlib_module_names) | {"app"} | set(MODULES)
    for path, content in files.items():
        if path.endswith(".py"):
            assert _imports(content) <= allowed, path


@pytest.mark.parametrize("include_tests", [True, False])
def test_requirements_pin_exactly_the_distributions_the_code_imports(include_tests: bool) -> None:
    _plan, files = render_project(workflow_spec(), Options(include_tests=include_tests))
    imported = set().union(*(_imports(content) for path, content in files.items() if path.endswith(".py")))
    distributions = {MODULES[module] for module in imported if module in MODULES}
    if include_tests:
        distributions.add("httpx")  # fastapi.testclient's transport, imported by starlette
    pinned = [line for line in files["requirements.txt"].splitlines() if line and not line.startswith("#")]
    assert pinned == [PACKAGES[name] for name in sorted(distributions, key=str.lower)]


def test_rendering_is_deterministic() -> None:
    first = render_project(hostile_spec())
    second = render_project(hostile_spec())
    assert first == second


def test_the_files_are_the_plans() -> None:
    plan, files = render_project(workflow_spec())
    assert list(files) == [planned.path for planned in (*plan.files, *plan.docs)]
    assert files["workflow/workflow.go"] == workflow_spec().go_code


def test_options_shape_the_project() -> None:
    _plan, files = render_project(plain_spec(), Options(include_tests=False, include_deployment=False))
    assert not [path for path in files if path.startswith("tests/")]
    assert "Dockerfile" not in files
    assert "pytest" not in files["requirements.txt"]
    assert "[tool.pytest" not in files["pyproject.toml"]
    assert "## Test it" not in files["README.md"]
    assert "## Deploy it" not in files["README.md"]
    _plan, files = render_project(plain_spec(), Options(include_docs=False))
    assert "README.md" not in files
    assert "API.md" not in files


def test_each_activity_has_a_stub_an_endpoint_and_a_test() -> None:
    spec = hostile_spec()
    _plan, files = render_project(spec)
    vendor = ast.parse(files["app/integrations/vendor.py"])
    stubs = {node.name for node in vendor.body if isinstance(node, ast.FunctionDef)}
    # Keywords and builtins are renamed; everything else keeps the spec's identifier.
    assert stubs == {
        "provision_fw_x",
        "class_activity",
        "list_activity",
        "activity",
        "provision_fw",
        "provision_fw_2",
    }
    for activity in spec.activities:
        assert f'"/activities/{activity.identifier}"' in files["app/main.py"]
        assert f'"{activity.identifier}",' in files["tests/test_api.py"]


def test_the_request_schema_comes_from_the_workflow_and_the_requirements() -> None:
    _plan, files = render_project(workflow_spec())
    schemas = files["app/schemas.py"]
    for field in ("order_id: str = Field(", "amount: float | None = Field(", "features: list[str] = Field("):
        assert field in schemas
    config = files["app/config.py"]
    assert '"features": [\n        "Stateful filtering",' in config
    assert 'VENDOR = "Cisco"' in config


def test_hostile_text_stays_text() -> None:
    spec = hostile_spec()
    _plan, files = render_project(spec)
    config = files["app/config.py"]
    # The data part of config.py, without the settings class (pydantic-settings is not here).
    data = "from typing import Any\n" + config[config.index("SERVICE_TITLE") :]
    namespace: dict[str, object] = {}
    exec(compile(data, "app/config.py", "exec"), namespace)  # noqa: S102
    expected = encodable_spec(spec)
    assert namespace["SERVICE_TITLE"] == expected.title
    assert namespace["BLUEPRINT"] == expected.blueprint
    assert namespace["REQUIREMENTS"] == {
        requirement.key: {"label": requirement.label, "value": requirement.value}
        for requirement in expected.requirements
    }


def test_the_target_is_registered() -> None:
    target = target_for("python-fastapi")
    assert target.label == "Python · FastAPI"
    assert target.language == "python"
    assert "{junit}" in " ".join(target.test_command)
    assert target.sandbox_modules == MODULES
    _plan, files = render_project(workflow_spec())
    for path in files:
        name = path.rsplit("/", 1)[-1]
        assert Path(name).suffix in target.allowed_extensions or name in target.allowed_names, path
