"""read_plan and plan_layers: a model's plan is checked value by value before it is used."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from codegen.checks.plan import PlanLimits, plan_layers, read_plan
from codegen.findings import FileFinding
from codegen.plans import Endpoint, Plan, PlannedFile
from codegen.spec import Options
from codegen.targets import Target, target_for
from tests.codegen.targets.specs import plain_spec, workflow_spec

LIMITS = PlanLimits(max_files=10, max_file_bytes=100_000, max_project_bytes=1_000_000)


@pytest.fixture
def target() -> Target:
    return target_for("python-fastapi")


def row(path: str, *depends_on: str, language: str = "python") -> dict[str, Any]:
    return {"path": path, "purpose": f"The {path}.", "language": language, "depends_on": list(depends_on)}


def plan_data(*files: dict[str, Any], endpoints: list[Any] | None = None) -> dict[str, Any]:
    return {
        "files": list(files),
        "endpoints": endpoints
        if endpoints is not None
        else [{"method": "GET", "path": "/health", "summary": "Up."}],
        "notes": "A small service.",
    }


GOOD = plan_data(
    row("requirements.txt", language="text"),
    row("app/__init__.py"),
    row("app/models.py"),
    row("app/main.py", "app/models.py", "requirements.txt"),
    row("tests/test_api.py", "app/main.py"),
    row("README.md", "app/main.py", language="markdown"),
    row("Dockerfile", "requirements.txt", language="dockerfile"),
)


def refused(result: Plan | list[FileFinding]) -> list[FileFinding]:
    assert isinstance(result, list), result
    return result


def codes(result: Plan | list[FileFinding]) -> list[str]:
    return [finding.code for finding in refused(result)]


def test_it_reads_a_good_plan(target: Target) -> None:
    plan = read_plan(GOOD, target=target, limits=LIMITS)

    assert isinstance(plan, Plan)
    assert [planned.path for planned in plan.files] == [
        "requirements.txt",
        "app/__init__.py",
        "app/models.py",
        "app/main.py",
        "tests/test_api.py",
        "Dockerfile",
    ]
    assert [planned.path for planned in plan.docs] == ["README.md"]
    assert plan.file("app/main.py") == PlannedFile(
        "app/main.py", "The app/main.py.", "python", ("app/models.py", "requirements.txt")
    )
    assert plan.endpoints == (Endpoint("GET", "/health", "Up."),)
    assert plan.notes == "A small service."


def test_a_stored_plan_reads_back_the_same(target: Target) -> None:
    plan = read_plan(GOOD, target=target, limits=LIMITS)
    assert isinstance(plan, Plan)

    assert read_plan(plan.as_dict(), target=target, limits=LIMITS) == plan


def test_extra_keys_are_ignored_and_values_tidied(target: Target) -> None:
    data = plan_data(
        {**row("app/main.py", "app/models.py", "app/models.py"), "why": "extra", "language": " Python "},
        row("app/models.py"),
        endpoints=[{"method": "post", "path": "/items", "summary": "  Add.  ", "auth": True}],
    )
    data["confidence"] = 0.9

    plan = read_plan(data, target=target, limits=LIMITS)

    assert isinstance(plan, Plan)
    main = plan.files[0]
    assert main.language == "python"
    assert main.depends_on == ("app/models.py",)  # the repeated dependency once
    assert plan.endpoints == (Endpoint("POST", "/items", "Add."),)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, ["not_a_plan"]),
        ("files: []", ["not_a_plan"]),
        ([row("app/main.py")], ["not_a_plan"]),
        ({"files": "app/main.py"}, ["not_a_plan"]),
        ({"files": [], "endpoints": [], "notes": ""}, ["empty_plan"]),
        ({"files": [row("app/main.py")], "endpoints": {}, "notes": ""}, ["not_a_plan"]),
        ({"files": [row("app/main.py")], "endpoints": [], "notes": 3}, ["not_a_plan"]),
        ({"files": ["app/main.py"], "endpoints": [], "notes": ""}, ["bad_file"]),
        (plan_data({"purpose": "no path"}), ["bad_file"]),
        (plan_data({**row("app/main.py"), "depends_on": "app/models.py"}), ["bad_file"]),
        (plan_data({**row("app/main.py"), "depends_on": [1]}), ["bad_file"]),
        (plan_data({**row("app/main.py"), "purpose": None}), ["bad_file"]),
    ],
)
def test_what_is_not_a_plan_is_refused(target: Target, data: object, expected: list[str]) -> None:
    assert codes(read_plan(data, target=target, limits=LIMITS)) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../outside.py",
        "app/../../x.py",
        "C:\\x.py",
        "app\\main.py",
        "app/\x00.py",
        "\uff0e\uff0e/x.py",
    ],
)
def test_unsafe_paths_are_refused(target: Target, path: str) -> None:
    found = refused(read_plan(plan_data(row(path)), target=target, limits=LIMITS))

    assert codes(found) == ["unsafe_path"]
    assert found[0].path == ""  # the hostile path is quoted in the message, never used as one
    assert "\x00" not in found[0].message


@pytest.mark.parametrize(
    "path", ["app/main.exe", "run.sh", "app/lib.so", "Makefile.bak", "notes", "app/MAIN.PY"]
)
def test_extensions_the_target_does_not_allow_are_refused(target: Target, path: str) -> None:
    assert codes(read_plan(plan_data(row(path)), target=target, limits=LIMITS)) == ["bad_extension"]


@pytest.mark.parametrize("path", ["Dockerfile", "Makefile", ".dockerignore", ".env.example", "schema.sql"])
def test_allowed_names_and_extensions_pass(target: Target, path: str) -> None:
    assert isinstance(read_plan(plan_data(row(path)), target=target, limits=LIMITS), Plan)


@pytest.mark.parametrize(
    ("paths", "code"),
    [
        (["app/main.py", "app/main.py"], "duplicate_path"),
        (["app/main.py", "app/Main.py"], "duplicate_path"),
        (["README.md", "readme.md"], "duplicate_path"),
        (["app.py", "app.py/x.py"], "path_conflict"),
        (["app/x.py/y.py", "app/x.py"], "path_conflict"),
    ],
)
def test_paths_are_unique_ignoring_case(target: Target, paths: list[str], code: str) -> None:
    result = read_plan(plan_data(*(row(path) for path in paths)), target=target, limits=LIMITS)

    assert codes(result) == [code]


def test_too_many_files_are_refused_before_reading_them(target: Target) -> None:
    data = plan_data(*(row(f"app/m{number}.py") for number in range(11)))

    found = refused(read_plan(data, target=target, limits=LIMITS))

    assert codes(found) == ["too_many_files"]
    assert "11 files" in found[0].message
    assert "at most 10" in found[0].message
    # A million rows cost nothing: the count is checked first.
    huge = {"files": [None] * 1_000_000, "endpoints": [], "notes": ""}
    assert codes(read_plan(huge, target=target, limits=LIMITS)) == ["too_many_files"]


def test_docs_count_towards_the_limit(target: Target) -> None:
    data = plan_data(*(row(f"app/m{number}.py") for number in range(9)), row("README.md"), row("API.md"))

    assert codes(read_plan(data, target=target, limits=LIMITS)) == ["too_many_files"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([row("app/main.py", "app/missing.py")], ["unknown_dependency"]),
        ([row("app/main.py", "../etc/passwd")], ["unknown_dependency"]),
        ([row("app/main.py", "app/main.py")], ["self_dependency"]),
        ([row("app/main.py", "README.md"), row("README.md")], ["doc_dependency"]),
        ([row("app/main.py", "API.md"), row("API.md")], ["doc_dependency"]),
        ([row("README.md", "API.md"), row("API.md")], ["doc_dependency"]),
    ],
)
def test_dependencies_name_files_of_the_plan(
    target: Target, files: list[dict[str, Any]], expected: list[str]
) -> None:
    found = refused(read_plan(plan_data(*files), target=target, limits=LIMITS))

    assert codes(found) == expected
    assert found[0].path == files[0]["path"]


def test_a_cycle_is_refused_and_named(target: Target) -> None:
    data = plan_data(
        row("app/a.py", "app/b.py"),
        row("app/b.py", "app/c.py"),
        row("app/c.py", "app/a.py"),
        row("app/d.py", "app/a.py"),
    )

    found = refused(read_plan(data, target=target, limits=LIMITS))

    assert codes(found) == ["dependency_cycle"]
    message = found[0].message
    for path in ("app/a.py", "app/b.py", "app/c.py"):
        assert path in message
    assert "app/d.py" not in message
    # The chain reads "x depends on y": each step is one of the plan's dependencies.
    chain = message.split(": ", 1)[1].split(" → ")
    depends = {(r["path"], dependency) for r in data["files"] for dependency in r["depends_on"]}
    assert chain[0] == chain[-1]
    assert all((first, second) in depends for first, second in itertools.pairwise(chain))


def test_two_cycles_are_both_named(target: Target) -> None:
    data = plan_data(
        row("app/a.py", "app/b.py"),
        row("app/b.py", "app/a.py"),
        row("app/c.py", "app/d.py"),
        row("app/d.py", "app/c.py"),
    )

    assert codes(read_plan(data, target=target, limits=LIMITS)) == ["dependency_cycle", "dependency_cycle"]


@pytest.mark.parametrize(
    "endpoint",
    [
        {"method": "FETCH", "path": "/x", "summary": ""},
        {"method": None, "path": "/x", "summary": ""},
        {"method": "GET", "path": "x", "summary": ""},
        {"method": "GET", "path": "", "summary": ""},
        {"method": "GET", "path": "/a b", "summary": ""},
        {"method": "GET", "path": "/items/{id", "summary": ""},
        {"method": "GET", "path": "/items/{not valid}", "summary": ""},
        {"method": "GET", "path": "/x?y=1", "summary": ""},
        {"method": "GET", "path": "/" + "x" * 200, "summary": ""},
        {"method": "GET", "path": 5, "summary": ""},
        "GET /x",
    ],
)
def test_bad_endpoints_are_refused(target: Target, endpoint: object) -> None:
    result = read_plan(plan_data(row("app/main.py"), endpoints=[endpoint]), target=target, limits=LIMITS)

    assert codes(result) == ["bad_endpoint"]


def test_endpoints_are_unique_ignoring_parameter_names(target: Target) -> None:
    endpoints = [
        {"method": "GET", "path": "/requests/{request_id}", "summary": ""},
        {"method": "GET", "path": "/requests/{id}/", "summary": ""},
        {"method": "DELETE", "path": "/requests/{id}", "summary": ""},
    ]

    result = read_plan(plan_data(row("app/main.py"), endpoints=endpoints), target=target, limits=LIMITS)

    assert codes(result) == ["duplicate_endpoint"]


def test_good_endpoints_pass(target: Target) -> None:
    endpoints = [
        {"method": method, "path": path, "summary": "s"}
        for method, path in [
            ("GET", "/"),
            ("POST", "/requests"),
            ("PUT", "/requests/{request_id}"),
            ("PATCH", "/requests/{request_id}/steps/{position}"),
            ("DELETE", "/files/{file_path:path}"),
            ("GET", "/v1/items.json"),
        ]
    ]

    plan = read_plan(plan_data(row("app/main.py"), endpoints=endpoints), target=target, limits=LIMITS)

    assert isinstance(plan, Plan)
    assert len(plan.endpoints) == 6


def test_all_problems_are_reported_at_once(target: Target) -> None:
    data = plan_data(
        row("/abs.py"),
        row("app/x.exe"),
        row("app/main.py", "nowhere.py"),
        endpoints=[{"method": "TRACE", "path": "/x", "summary": ""}],
    )

    assert sorted(codes(read_plan(data, target=target, limits=LIMITS))) == [
        "bad_endpoint",
        "bad_extension",
        "unknown_dependency",
        "unsafe_path",
    ]


def test_long_purposes_are_cut_not_refused(target: Target) -> None:
    data = plan_data({**row("app/main.py"), "purpose": "word " * 1000})

    plan = read_plan(data, target=target, limits=LIMITS)

    assert isinstance(plan, Plan)
    assert len(plan.files[0].purpose) <= 1000


def test_the_target_skeleton_passes(target: Target) -> None:
    for spec in (plain_spec(), workflow_spec()):
        skeleton = target.skeleton(spec, Options())
        limits = PlanLimits(max_files=40, max_file_bytes=200_000, max_project_bytes=2_000_000)

        assert read_plan(skeleton.as_dict(), target=target, limits=limits) == skeleton


# Layers ------------------------------------------------------------------------------------


def test_layers_follow_dependencies_in_plan_order(target: Target) -> None:
    data = plan_data(
        row("app/main.py", "app/schemas.py", "app/service.py"),
        row("app/schemas.py", "app/models.py"),
        row("app/models.py"),
        row("app/service.py", "app/models.py"),
        row("app/__init__.py"),
        row("tests/test_api.py", "app/main.py"),
        row("README.md", "app/main.py"),
    )
    plan = read_plan(data, target=target, limits=LIMITS)
    assert isinstance(plan, Plan)

    layers = [[planned.path for planned in layer] for layer in plan_layers(plan)]

    assert layers == [
        ["app/models.py", "app/__init__.py"],
        ["app/schemas.py", "app/service.py"],
        ["app/main.py"],
        ["tests/test_api.py"],
    ]  # README.md is a doc: written after every layer


def test_every_file_is_in_exactly_one_layer_after_its_dependencies(target: Target) -> None:
    plan = target.skeleton(workflow_spec(), Options())
    layers = plan_layers(plan)
    layer_of = {planned.path: number for number, layer in enumerate(layers) for planned in layer}

    assert sorted(layer_of) == sorted(planned.path for planned in plan.files)
    assert sum(len(layer) for layer in layers) == len(plan.files)
    for planned in plan.files:
        assert all(layer_of[dependency] < layer_of[planned.path] for dependency in planned.depends_on)


def test_layers_of_a_cyclic_plan_raise() -> None:
    plan = Plan(
        files=(PlannedFile("a.py", "", "python", ("b.py",)), PlannedFile("b.py", "", "python", ("a.py",)))
    )

    with pytest.raises(ValueError, match="cycle"):
        plan_layers(plan)


def test_reading_does_not_change_the_data(target: Target) -> None:
    data = copy.deepcopy(GOOD)

    read_plan(data, target=target, limits=LIMITS)

    assert data == GOOD
