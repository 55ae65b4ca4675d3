"""Whatever a model sends, the checks answer with findings: they never raise.

Property tests (hypothesis) over arbitrary text and JSON-like objects, plus the rendered
template projects, which must pass every check (they are the offline baseline and the
model's few-shot examples).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codegen.checks.consistency import check_project
from codegen.checks.files import CheckedFile, ProjectContext, check_file, project_modules_of
from codegen.checks.interfaces import interface_of
from codegen.checks.paths import safe_relative_path
from codegen.checks.plan import PlanLimits, read_plan
from codegen.findings import FileFinding, errors_in
from codegen.plans import Plan
from codegen.targets import target_for
from codegen.targets.python_sandbox import MODULES
from tests.codegen.targets.projects import render_project
from tests.codegen.targets.specs import hostile_spec, plain_spec, workflow_spec

LIMITS = PlanLimits(max_files=40, max_file_bytes=200_000, max_project_bytes=2_000_000)
CONTEXT = ProjectContext(
    project_modules=project_modules_of(["app/__init__.py", "app/main.py"]),
    sandbox_modules=MODULES,
    max_file_bytes=20_000,
)
# Each example may run ruff and gofmt: keep the count modest and the deadline off.
PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

SUFFIXES = [".py", ".json", ".yaml", ".yml", ".toml", ".go", ".md", ".sql", ""]
paths = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda stem, suffix: stem + suffix, st.text(min_size=1, max_size=20), st.sampled_from(SUFFIXES)
    ),
)
python_like = st.lists(
    st.sampled_from(
        [
            "import os\n",
            "from . import x\n",
            "from .. import y\n",
            "import fastapi_magic\n",
            "from app.main import app\n",
            "def f(:\n",
            "class A(BaseModel):\n    x: int = 1\n",
            "    return 1\n",
            "x = (\n",
            '"""doc\n',
            "\x00",
            "\ud800",
            "é",
            "\t",
            "@app.get('/x')\n",
            "try:\n    import ujson\nexcept ImportError:\n    pass\n",
            "if True:\n",
            "lambda: (yield)\n",
        ]
    ),
    max_size=20,
).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
file_rows = st.fixed_dictionaries(
    {},
    optional={
        "path": st.one_of(
            st.sampled_from(["app/main.py", "app/models.py", "README.md", "../x.py", "/abs"]), json_values
        ),
        "purpose": json_values,
        "language": json_values,
        "depends_on": st.one_of(
            st.lists(st.sampled_from(["app/main.py", "app/models.py", "x"]), max_size=3), json_values
        ),
    },
)
plans = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"files": st.lists(st.one_of(file_rows, json_values), max_size=6)},
        optional={
            "endpoints": st.one_of(json_values, st.lists(json_values, max_size=3)),
            "notes": json_values,
        },
    ),
)


@PROPERTY
@given(path=paths, content=st.one_of(st.text(max_size=400), python_like))
def test_check_file_never_raises(path: str, content: str) -> None:
    checked = check_file(path, content, context=CONTEXT)

    assert isinstance(checked, CheckedFile)
    assert isinstance(checked.content, str)
    assert all(isinstance(finding, FileFinding) for finding in checked.findings)
    checked.content.encode("utf-8")  # what is returned can be stored
    json.dumps([finding.as_dict() for finding in checked.findings])


@PROPERTY
@given(data=plans)
def test_read_plan_never_raises(data: Any) -> None:
    result = read_plan(data, target=target_for("python-fastapi"), limits=LIMITS)

    assert isinstance(result, Plan | list)
    if isinstance(result, list):
        assert result
        assert all(isinstance(finding, FileFinding) for finding in result)
    else:
        assert all(
            safe_relative_path(planned.path) == planned.path for planned in (*result.files, *result.docs)
        )


@settings(max_examples=200, deadline=None, database=None)
@given(path=st.text(max_size=250))
def test_a_safe_path_stays_inside_the_project(path: str) -> None:
    safe = safe_relative_path(path)

    if safe is not None:
        assert not safe.startswith("/")
        assert ".." not in safe.split("/")
        assert "\\" not in safe
        assert "\x00" not in safe
        assert safe_relative_path(safe) == safe  # normalizing twice changes nothing


@settings(max_examples=100, deadline=None, database=None)
@given(path=paths, content=st.one_of(st.text(max_size=2000), python_like), budget=st.integers(0, 500))
def test_interface_of_never_raises_and_keeps_its_budget(path: str, content: str, budget: int) -> None:
    assert len(interface_of(path, content, max_chars=budget)) <= budget


@settings(max_examples=60, deadline=None, database=None)
@given(
    files=st.dictionaries(
        st.sampled_from(["app/__init__.py", "app/main.py", "requirements.txt", "tests/test_x.py"]),
        python_like,
    )
)
def test_check_project_never_raises(files: dict[str, str]) -> None:
    plan = Plan(files=(), endpoints=())
    found = check_project(files, plan=plan, context=CONTEXT)

    assert all(isinstance(finding, FileFinding) for finding in found)


@pytest.mark.parametrize("make_spec", [plain_spec, workflow_spec, hostile_spec])
def test_the_template_projects_pass_every_check(make_spec: Any) -> None:
    target = target_for("python-fastapi")
    skeleton, files = render_project(make_spec())
    plan = read_plan(skeleton.as_dict(), target=target, limits=LIMITS)
    assert plan == skeleton
    context = ProjectContext(project_modules_of(files), target.sandbox_modules, LIMITS.max_file_bytes)

    for path, content in files.items():
        checked = check_file(path, content, context=context)
        assert checked.findings == [], path
        assert checked.content == content, path  # already formatted

    assert errors_in(check_project(files, plan=skeleton, context=context)) == []
    assert check_project(files, plan=skeleton, context=context) == []
