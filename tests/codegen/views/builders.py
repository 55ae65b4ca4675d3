"""Generations in a given state, written straight to the database and storage (as a run
would leave them), for the page, frame and socket tests; and the frames they publish."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from codegen import artifacts, events, services
from codegen.frames import STREAM
from codegen.models import FileVersion, GeneratedFile, Generation, TestResult, TestRun
from codegen.spec import Options
from conversations.models import Conversation
from core.redis import sync_redis
from tests.codegen.fixtures import REQUIREMENTS
from tests.conftest import TenantUsers

State = Generation.State

FILES: dict[str, str] = {
    "app/main.py": (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.get("/health")\ndef health() -> dict[str, str]:\n    return {"status": "ok"}\n'
    ),
    "app/models.py": "from pydantic import BaseModel\n\n\nclass Order(BaseModel):\n    id: int\n",
    "tests/test_api.py": "def test_health() -> None:\n    assert True\n",
    "README.md": "# Order fulfilment\n\nRun it with `uvicorn app.main:app`.\n",
}
RESULTS: list[tuple[str, str, str]] = [
    ("test_health", "tests.test_api", TestResult.Outcome.PASSED),
    ("test_create", "tests.test_api", TestResult.Outcome.FAILED),
]


@pytest.fixture(autouse=True)
def forget_generation_frames() -> None:
    """Kept frames must not outlive a test: ids come again after a flush."""
    client = sync_redis()
    for key in client.scan_iter(match=f"{STREAM.prefix}*"):
        client.delete(key)


def create(
    tenant_users: TenantUsers,
    *,
    conversation: Conversation | None = None,
    mode: str = Generation.Mode.TEMPLATE,
    include_tests: bool = True,
) -> Generation:
    """A queued generation (no task sent), on a plan with room for many."""
    tenant = tenant_users.tenant
    if tenant.plan != "enterprise":
        tenant.plan = "enterprise"
        tenant.save(update_fields=["plan"])
    return services.generation_create(
        tenant=tenant,
        actor=tenant_users.member,
        options=Options(include_tests=include_tests),
        mode=mode,
        conversation=conversation,
        requirements=None if conversation is not None else dict(REQUIREMENTS),
        enqueue=False,
    )


def set_state(generation: Generation, state: str, **fields: Any) -> Generation:
    values: dict[str, Any] = {"state": state, **fields}
    if state in (State.COMPLETED, State.FAILED, State.CANCELLED):
        values.setdefault("finished_at", timezone.now())
        values.setdefault("run_token", "")
    Generation.objects.for_tenant(generation.tenant).filter(pk=generation.pk).update(**values)
    return Generation.objects.for_tenant(generation.tenant).select_related("tenant").get(pk=generation.pk)


def add_plan(generation: Generation, paths: list[str]) -> list[GeneratedFile]:
    plan = {
        "files": [
            {"path": path, "purpose": f"The {path}", "language": "python", "depends_on": []} for path in paths
        ]
    }
    Generation.objects.for_tenant(generation.tenant).filter(pk=generation.pk).update(plan=plan)
    generation.plan = plan
    return [
        GeneratedFile.objects.create(
            tenant=generation.tenant,
            generation=generation,
            path=path,
            purpose=f"The {path}",
            position=position,
        )
        for position, path in enumerate(paths)
    ]


def add_version(
    generation: Generation,
    path: str,
    content: str,
    *,
    status: str = GeneratedFile.Status.VALID,
    findings: list[dict[str, Any]] | None = None,
) -> FileVersion:
    file = GeneratedFile.objects.for_tenant(generation.tenant).get(generation=generation, path=path)
    number = FileVersion.objects.for_tenant(generation.tenant).filter(file=file).count() + 1
    name = artifacts.store(artifacts.version_name(file, number), content)
    version = FileVersion.objects.create(
        tenant=generation.tenant,
        file=file,
        number=number,
        kind=FileVersion.Kind.GENERATED if number == 1 else FileVersion.Kind.FIXED,
        storage_name=name,
        size=len(content.encode()),
        sha256=artifacts.digest(content),
        findings=findings or [],
    )
    GeneratedFile.objects.for_tenant(generation.tenant).filter(pk=file.pk).update(
        status=status, findings=findings or [], size=version.size, sha256=version.sha256
    )
    return version


def add_test_run(
    generation: Generation, results: list[tuple[str, str, str]], *, outcome: str = TestRun.Outcome.FAILED
) -> TestRun:
    number = TestRun.objects.for_tenant(generation.tenant).filter(generation=generation).count() + 1
    run = TestRun.objects.create(
        tenant=generation.tenant, generation=generation, number=number, outcome=outcome, exit_code=1
    )
    for position, (name, classname, result_outcome) in enumerate(results):
        TestResult.objects.create(
            tenant=generation.tenant,
            run=run,
            position=position,
            name=name,
            classname=classname,
            outcome=result_outcome,
            duration_ms=12,
            message="assert 500 == 201" if result_outcome == TestResult.Outcome.FAILED else "",
        )
    return run


def completed(tenant_users: TenantUsers, *, conversation: Conversation | None = None) -> Generation:
    """A generation that ran to the end: every file written, one test run (1 passed, 1 failed)."""
    generation = create(tenant_users, conversation=conversation)
    add_plan(generation, list(FILES))
    for path, content in FILES.items():
        add_version(generation, path, content)
    add_test_run(generation, RESULTS)
    generation = set_state(generation, State.COMPLETED, tests_passed=1, tests_failed=1, test_runs=1)
    events.record(
        generation,
        "completed",
        {"tests_passed": 1, "tests_failed": 1, "files": 4, "message": "4 files; 1 of 2 tests pass."},
    )
    return generation


def progress_data(state: str, percent: int, **extra: Any) -> dict[str, Any]:
    return {
        "state": state,
        "label": State(state).label,
        "step": 3,
        "steps": 7,
        "percent": percent,
        "message": "Writing the files.",
        "files_done": 1,
        "files_total": 4,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "model_calls": 0,
        **extra,
    }
