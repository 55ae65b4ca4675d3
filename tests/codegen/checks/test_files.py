"""check_file: one generated file made text, parsed, formatted, linted and its imports resolved."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from codegen.checks import files as file_checks
from codegen.checks.files import CheckedFile, ProjectContext, check_file, project_modules_of
from codegen.findings import FileFinding
from codegen.targets.python_sandbox import MODULES

PATHS = [
    "app/__init__.py",
    "app/main.py",
    "app/models.py",
    "app/api/__init__.py",
    "app/api/routes.py",
    "tests/conftest.py",
    "tests/helpers.py",
    "tests/test_api.py",
    "main.py",
    "README.md",
]
CONTEXT = ProjectContext(
    project_modules=project_modules_of(PATHS), sandbox_modules=MODULES, max_file_bytes=10_000
)


def check(path: str, content: str, context: ProjectContext = CONTEXT) -> CheckedFile:
    return check_file(path, content, context=context)


def only(findings: list[FileFinding], code: str) -> list[FileFinding]:
    return [finding for finding in findings if finding.code == code]


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["app/main.py"], {"app", "app.main"}),
        (["app/__init__.py"], {"app"}),
        (["app/integrations/vendor.py"], {"app", "app.integrations", "app.integrations.vendor"}),
        (["main.py", "README.md", "Dockerfile", "schema.sql"], {"main"}),
        (["my-app/main.py", "app/class.py", "app/1st.py", "app/.hidden.py"], set()),
        (["tests/test_api.py"], {"tests", "tests.test_api"}),
    ],
)
def test_project_modules_of(paths: list[str], expected: set[str]) -> None:
    assert project_modules_of(paths) == frozenset(expected)


# Text and size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "import os\x00\n",
        "\x00\x01\x02\x03" * 100,
        "x = '\ud800'\n",
        "".join(chr(n) for n in range(1, 32)) * 50,
    ],
)
def test_binary_content_is_a_finding_and_made_text(content: str) -> None:
    checked = check("app/main.py", content)

    assert [finding.code for finding in checked.findings] == ["binary_content"]
    assert checked.findings[0].severity == "error"
    assert "\x00" not in checked.content
    checked.content.encode("utf-8")  # storable


def test_a_tab_form_feed_or_carriage_return_is_text() -> None:
    assert check("notes.md", "a\tb\r\nc\x0cd\n").findings == []


def test_an_oversized_file_is_cut_to_the_limit() -> None:
    content = "é" * 6_000  # 12,000 bytes

    checked = check("notes.md", content)

    assert [finding.code for finding in checked.findings] == ["too_large"]
    assert "12000" in checked.findings[0].message
    assert len(checked.content.encode("utf-8")) <= 10_000
    assert checked.content == "é" * 5_000  # cut at a character boundary


# Python ------------------------------------------------------------------------------------


def test_a_syntax_error_names_its_line() -> None:
    checked = check("app/main.py", "import os\n\n\ndef broken(:\n    return 1\n")

    assert [(finding.code, finding.line, finding.severity) for finding in checked.findings] == [
        ("syntax_error", 4, "error")
    ]
    assert checked.content.startswith("import os")  # left as it is


def test_the_content_comes_back_formatted() -> None:
    checked = check("app/models.py", "import os\nx  =  {'a':1,\n  'b':os.sep}\n")

    assert checked.content == 'import os\n\nx = {"a": 1, "b": os.sep}\n'
    assert checked.findings == []


def test_undefined_names_are_errors_and_unused_imports_warnings() -> None:
    checked = check("app/models.py", "import os\n\n\ndef f():\n    return missing_name\n")

    lint = {(finding.message.split()[0], finding.severity, finding.line) for finding in checked.findings}
    assert ("F821", "error", 5) in lint
    assert ("F401", "warning", 1) in lint


def test_a_noqa_comment_does_not_hide_a_bug() -> None:
    checked = check("app/models.py", "def f():\n    return missing_name  # noqa\n")

    assert any(finding.message.startswith("F821") for finding in checked.findings)


def test_bugbear_findings_are_warnings_and_fastapi_depends_is_fine() -> None:
    source = (
        "from fastapi import Depends\n\n\n"
        "def get_db():\n    return 1\n\n\n"
        "def handler(db=Depends(get_db), items=[]):\n    return db, items\n"
    )

    checked = check("app/main.py", source)

    assert [(finding.message.split()[0], finding.severity) for finding in checked.findings] == [
        ("B006", "warning")
    ]


@pytest.mark.parametrize("module", ["fastapi_magic", "fastapi_magic.helpers", "requests", "numpy"])
def test_a_hallucinated_import_is_reported_and_kept(module: str) -> None:
    source = f"import os\nimport {module}\n\nprint(os.sep, {module})\n"

    checked = check("app/main.py", source)

    unresolved = only(checked.findings, "unresolved_import")
    assert [(finding.line, finding.severity) for finding in unresolved] == [(2, "error")]
    assert f"`{module}`" in unresolved[0].message
    assert "fastapi" in unresolved[0].message  # what the sandbox offers, to choose from
    assert f"import {module}" in checked.content  # never silently removed


def test_a_from_import_of_an_unknown_package_is_reported() -> None:
    checked = check("app/main.py", "from magic_orm import Model\n\nprint(Model)\n")

    assert [finding.line for finding in only(checked.findings, "unresolved_import")] == [1]


@pytest.mark.parametrize(
    "source",
    [
        "import json, os.path, sqlite3\nfrom __future__ import annotations\n",
        "from fastapi import FastAPI\nfrom starlette.responses import JSONResponse\nimport yaml\n",
        "import pydantic_settings, sqlalchemy.orm, httpx, uvicorn\n",
        "from app import models\nfrom app.api.routes import router\nimport app.models\n",
    ],
)
def test_standard_sandbox_and_project_imports_resolve(source: str) -> None:
    assert only(check("app/main.py", source).findings, "unresolved_import") == []


def test_a_project_module_that_is_not_planned_is_reported() -> None:
    checked = check("app/main.py", "from app.services import run\nimport app.nothing\n")

    assert [(finding.line, finding.severity) for finding in only(checked.findings, "unresolved_import")] == [
        (1, "error"),
        (2, "error"),
    ]
    assert "app.services" in only(checked.findings, "unresolved_import")[0].message


@pytest.mark.parametrize(
    ("path", "source", "unresolved_lines"),
    [
        ("app/api/routes.py", "from ..models import Order\nfrom . import routes\nfrom .. import main\n", []),
        ("app/api/__init__.py", "from .routes import router\nfrom . import routes\n", []),
        ("app/api/routes.py", "from .missing import thing\nfrom ..gone import x\n", [1, 2]),
        ("app/api/routes.py", "from ... import x\n", [1]),  # above the top-level package
        ("app/main.py", "from .. import x\n", [1]),
        ("main.py", "from . import x\n", [1]),  # a top-level module is in no package
    ],
)
def test_relative_imports_resolve_against_the_files_package(
    path: str, source: str, unresolved_lines: list[int]
) -> None:
    found = only(check(path, source).findings, "unresolved_import")

    assert [finding.line for finding in found] == unresolved_lines


def test_imports_inside_functions_and_blocks_are_checked() -> None:
    source = "def f():\n    import ghost_module\n\n    return ghost_module\n"

    assert [finding.line for finding in only(check("app/main.py", source).findings, "unresolved_import")] == [
        2
    ]


def test_an_import_guarded_by_import_error_is_a_warning() -> None:
    source = "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\nprint(json)\n"

    found = only(check("app/main.py", source).findings, "unresolved_import")

    assert [(finding.line, finding.severity) for finding in found] == [(2, "warning")]


def test_tests_may_import_modules_beside_them() -> None:
    assert (
        only(check("tests/test_api.py", "import helpers\n\nprint(helpers)\n").findings, "unresolved_import")
        == []
    )
    found = only(check("app/main.py", "import helpers\n\nprint(helpers)\n").findings, "unresolved_import")
    assert len(found) == 1


def test_each_unresolved_module_is_reported_once() -> None:
    source = "import ghost\n\n\ndef f():\n    import ghost\n\n    return ghost\n"

    assert len(only(check("app/main.py", source).findings, "unresolved_import")) == 1


def test_without_ruff_the_imports_are_still_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_checks, "_ruff_bin", lambda: None)

    checked = check("app/main.py", "import ghost\nx  =  1\n")

    assert checked.content == "import ghost\nx  =  1\n"
    assert [(finding.code, finding.severity) for finding in checked.findings] == [
        ("not_checked", "warning"),
        ("unresolved_import", "error"),
    ]


def test_a_ruff_that_hangs_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(command, 20)

    monkeypatch.setattr(subprocess, "run", hang)

    checked = check("app/main.py", "x = 1\n")

    assert checked.content == "x = 1\n"
    assert {finding.code for finding in checked.findings} == {"not_checked"}
    assert all(finding.severity == "warning" for finding in checked.findings)
    assert "took longer" in checked.findings[0].message


def test_a_hostile_path_is_not_passed_to_ruff_as_an_option() -> None:
    checked = check("--config=/etc/passwd", "x  =  1\n")

    assert checked.content == "x  =  1\n"  # not Python by its name: left alone
    checked = check("-x.py", "import ghost\nx  =  ghost\n")
    assert checked.content == "import ghost\n\nx = ghost\n"
    assert {finding.code for finding in checked.findings} == {"unresolved_import"}


# Data files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content", "code", "line"),
    [
        ("config.json", '{\n  "a": 1,\n  "b": \n}\n', "invalid_json", 4),
        ("docker-compose.yml", "services:\n  web:\n    image: x\n   ports: [1\n", "invalid_yaml", 4),
        ("k8s/service.yaml", "a: 1\n---\nb: [2\n", "invalid_yaml", None),
        ("pyproject.toml", '[project]\nname = "x"\nversion = \n', "invalid_toml", 3),
        ("pyproject.toml", "[a]\nx = 1\n[a]\n", "invalid_toml", 3),
    ],
)
def test_bad_data_files_are_findings(path: str, content: str, code: str, line: int | None) -> None:
    checked = check(path, content)

    assert [finding.code for finding in checked.findings] == [code]
    if line is not None:
        assert checked.findings[0].line == line
    assert checked.content == content


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("config.json", '{"a": [1, 2, {"b": null}]}'),
        ("docker-compose.yml", "services:\n  web:\n    image: app\n    ports: ['8000:8000']\n"),
        ("k8s/all.yaml", "kind: Service\n---\nkind: Deployment\n"),
        ("pyproject.toml", '[project]\nname = "x"\n\n[tool.ruff]\nline-length = 88\n'),
        ("README.md", "# Anything { goes ]\n"),
        ("schema.sql", "CREATE TABLE x (\n"),
    ],
)
def test_good_data_files_pass(path: str, content: str) -> None:
    checked = check(path, content)

    assert checked == CheckedFile(content, [])


def test_a_yaml_alias_bomb_is_harmless() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 10):
        previous = chr(ord("a") + level - 1)
        lines.append(
            f"{chr(ord('a') + level)}: &{chr(ord('a') + level)} [{', '.join([f'*{previous}'] * 10)}]"
        )
    started = time.monotonic()

    checked = check("bomb.yaml", "\n".join(lines) + "\n")

    assert time.monotonic() - started < 2
    assert checked.findings == []  # aliases share objects: loading does not expand them


def test_json_with_a_huge_number_or_deep_nesting_is_a_finding() -> None:
    context = ProjectContext(frozenset(), {}, max_file_bytes=1_000_000)

    assert [f.code for f in check("a.json", "1" * 5000, context).findings] == ["invalid_json"]
    assert [f.code for f in check("b.json", "[" * 200_000 + "]" * 200_000, context).findings] == [
        "invalid_json"
    ]


def test_python_yaml_tags_are_refused() -> None:
    checked = check("evil.yaml", "!!python/object/apply:os.system ['echo hacked']\n")

    assert [finding.code for finding in checked.findings] == ["invalid_yaml"]


# Go ----------------------------------------------------------------------------------------


needs_gofmt = pytest.mark.skipif(shutil.which("gofmt") is None, reason="gofmt is not installed")


@needs_gofmt
def test_go_is_formatted() -> None:
    checked = check("workflow/workflow.go", "package workflow\nfunc Run( ) error {\nreturn nil\n}\n")

    assert checked.findings == []
    assert checked.content == "package workflow\n\nfunc Run() error {\n\treturn nil\n}\n"


@needs_gofmt
def test_go_syntax_errors_name_their_line() -> None:
    checked = check("workflow/workflow.go", "package workflow\n\nfunc Run( {\n}\n")

    assert [(finding.code, finding.line) for finding in checked.findings][:1] == [("syntax_error", 3)]
    assert checked.content.startswith("package workflow\n\nfunc Run( {")


def test_without_gofmt_go_is_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    checked = check("workflow/workflow.go", "package workflow\n")

    assert [(finding.code, finding.severity) for finding in checked.findings] == [("not_checked", "warning")]
