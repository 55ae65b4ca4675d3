"""The default plan: seed 002's order, acyclic dependencies, the options, the endpoints."""

from __future__ import annotations

from collections.abc import Callable

from codegen.plans import Plan
from codegen.spec import Options, ServiceSpec
from codegen.targets import target_for
from tests.codegen.targets.specs import hostile_spec, plain_spec, workflow_spec

SEED_ORDER = [
    "requirements.txt",
    "app/config.py",
    "app/models.py",
    "app/schemas.py",
    "app/integrations/vendor.py",
    "app/service_manager.py",
    "app/main.py",
    "schema.sql",
    "tests/test_api.py",
    "Dockerfile",
    "docker-compose.yml",
    "k8s/deployment.yaml",
    ".github/workflows/ci.yml",
]


def skeleton(
    spec_factory: Callable[[], ServiceSpec] = plain_spec,
    *,
    include_tests: bool = True,
    include_docs: bool = True,
    include_deployment: bool = True,
) -> Plan:
    options = Options(
        include_tests=include_tests, include_docs=include_docs, include_deployment=include_deployment
    )
    return target_for("python-fastapi").skeleton(spec_factory(), options)


def test_the_files_follow_seed_002s_order() -> None:
    paths = [planned.path for planned in skeleton().files]
    assert [path for path in paths if path in SEED_ORDER] == SEED_ORDER
    assert [planned.path for planned in skeleton().docs] == ["README.md", "API.md"]


def test_every_file_depends_only_on_files_planned_before_it() -> None:
    plan = skeleton(workflow_spec)
    seen: set[str] = set()
    for planned in plan.files:
        assert set(planned.depends_on) <= seen, planned.path
        seen.add(planned.path)
    for planned in plan.docs:
        assert set(planned.depends_on) <= seen, planned.path
    assert all(planned.purpose and planned.language for planned in (*plan.files, *plan.docs))


def test_the_compiled_workflow_is_planned_only_when_there_is_one() -> None:
    with_workflow = [planned.path for planned in skeleton(workflow_spec).files]
    assert "workflow/workflow.go" in with_workflow
    vendor = skeleton(workflow_spec).file("app/integrations/vendor.py")
    assert vendor is not None
    assert "workflow/workflow.go" in vendor.depends_on
    assert "workflow/workflow.go" not in [planned.path for planned in skeleton().files]
    # The hostile workflow does not compile: no Go file, and the notes say why.
    plan = skeleton(hostile_spec)
    assert "workflow/workflow.go" not in [planned.path for planned in plan.files]
    assert "did not compile" in plan.notes


def test_options_leave_out_tests_docs_and_deployment() -> None:
    plan = skeleton(include_tests=False, include_docs=False, include_deployment=False)
    paths = [planned.path for planned in plan.files]
    assert not [path for path in paths if path.startswith("tests/")]
    assert plan.docs == ()
    for path in ("Dockerfile", "docker-compose.yml", "k8s/deployment.yaml", ".github/workflows/ci.yml"):
        assert path not in paths
    assert "app/main.py" in paths


def test_endpoints_cover_the_requests_and_one_per_activity() -> None:
    endpoints = [(endpoint.method, endpoint.path) for endpoint in skeleton(workflow_spec).endpoints]
    assert endpoints == [
        ("GET", "/health"),
        ("GET", "/service"),
        ("POST", "/requests"),
        ("GET", "/requests"),
        ("GET", "/requests/{request_id}"),
        ("POST", "/requests/{request_id}/run"),
        ("POST", "/activities/validate_order"),
        ("POST", "/activities/auto_approve"),
    ]
    summaries = {
        (endpoint.method, endpoint.path): endpoint.summary for endpoint in skeleton(workflow_spec).endpoints
    }
    assert "Managed vFirewall" in summaries["POST", "/requests"]
    assert "app/integrations/vendor.py" in summaries["POST", "/activities/validate_order"]


def test_the_skeleton_is_deterministic() -> None:
    assert skeleton(hostile_spec).as_dict() == skeleton(hostile_spec).as_dict()
