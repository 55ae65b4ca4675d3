"""The pipeline in template mode, driven by hand: the stages in order, every file stored
with its versions and findings, the events, resuming after a worker died (each file
generated once), a run that lost its lease writing nothing, cancel, follow-up runs.

The sandbox here is `ScriptedRunner` (our own interface, answering from a script); the real
bubblewrap runner is exercised in tests/codegen/test_end_to_end.py and tests/codegen/sandbox.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from codegen import artifacts, jobs, records, selectors, services
from codegen.models import FileVersion, GeneratedFile, Generation, GenerationEvent
from codegen.spec import Options
from tests.codegen.fixtures import FAILING_JUNIT, REQUIREMENTS, Message, ScriptedRunner, order_flow, sent
from tests.conftest import TenantUsers
from tests.threads import database_thread

__all__ = ["sent"]

pytestmark = pytest.mark.django_db(transaction=True)
State = Generation.State


def create(tenant_users: TenantUsers, **overrides: Any) -> Generation:
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save()
    values: dict[str, Any] = {
        "tenant": tenant_users.tenant,
        "actor": tenant_users.member,
        "options": Options(),
        "mode": Generation.Mode.TEMPLATE,
        "requirements": dict(REQUIREMENTS),
        "workflow_document": order_flow(),
        **overrides,
    }
    return services.generation_create(**values)


def row(generation: Generation) -> Generation:
    return Generation.objects.for_tenant(generation.tenant).get(pk=generation.pk)


def kinds(generation: Generation) -> list[str]:
    return list(
        GenerationEvent.objects.for_tenant(generation.tenant)
        .filter(generation=generation)
        .values_list("kind", flat=True)
    )


def test_a_template_generation_runs_every_stage_and_stores_every_file(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    create(tenant_users)
    runner = ScriptedRunner()
    [(generation_id, lease)] = sent
    ended = jobs.generation_run(generation_id=generation_id, lease=lease, runner=runner)
    assert ended is not None
    assert ended.state == State.COMPLETED, ended.error_message
    states = [entry["state"] for entry in ended.transitions]
    assert states == [
        "queued",
        "planning",
        "generating",
        "validating",
        "checking",
        "documenting",
        "testing",
        "completed",
    ]
    files = {file.path: file for file in selectors.files_of(ended)}
    assert {"requirements.txt", "app/main.py", "README.md", "API.md"} <= set(files)
    assert any(path.endswith(".go") for path in files), "the compiled Go workflow is included"
    failing = {
        path: file.findings for path, file in files.items() if file.status == GeneratedFile.Status.FAILING
    }
    assert failing == {}, "the templates' files pass their own checks"
    # The sandbox got the project as stored, and the results were read per test.
    [project] = runner.projects
    assert project == artifacts.latest_contents(ended)
    assert (ended.tests_passed, ended.tests_failed, ended.test_runs) == (2, 0, 1)
    assert ended.mode == "template"
    assert ended.model_calls == 0
    events = kinds(ended)
    assert events[0] == "progress"
    assert events[-1] == "completed"
    assert events.count("file_generated") == len(files)
    assert events.count("test_result") == 2
    assert "plan" in events
    # Delivered again: nothing runs twice.
    assert jobs.generation_run(generation_id=generation_id, lease=lease, runner=runner) is None


def test_failed_tests_complete_the_generation_with_the_failures_shown(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    generation = create(tenant_users)
    ended = jobs.generation_run(
        generation_id=generation.pk, lease=sent[0][1], runner=ScriptedRunner(junit=FAILING_JUNIT, exit_code=1)
    )
    assert ended is not None
    assert ended.state == State.COMPLETED
    assert (ended.tests_passed, ended.tests_failed) == (1, 1)
    run = selectors.last_test_run(ended)
    assert run is not None
    assert run.outcome == "failed"
    failure = selectors.results_of(run).get(name="test_create")
    assert failure.outcome == "failed"
    assert "assert 500 == 201" in failure.message


def test_a_resumed_run_skips_the_files_already_stored(tenant_users: TenantUsers, sent: list[Message]) -> None:
    generation = create(tenant_users)
    # The first run claims the generation, plans and stores two files, then its worker dies.
    claimed = records.claim(generation.pk, sent[0][1])
    assert claimed is not None
    _row, lease = claimed
    setup = jobs.setup_for(row(generation), runner=ScriptedRunner())
    plan = setup.target.skeleton(setup.spec, setup.options)
    from codegen.checks.plan import plan_layers

    records.set_state(lease, State.GENERATING)
    records.save_plan(lease, plan, plan_layers(plan))
    rendered = setup.target.render(setup.spec, setup.options, plan)
    first_two = [planned.path for planned in plan.files[:2]]
    for path in first_two:
        records.save_version(lease, path, rendered[path], kind="generated", findings=[])
    # The sweeper queues it again under a new lease.
    from datetime import timedelta

    from django.utils import timezone

    from codegen.recovery import generations_resume_stalled

    Generation.objects.for_tenant(generation.tenant).filter(pk=generation.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert (
        generations_resume_stalled(stale_before=timezone.now() - timedelta(seconds=30), max_resumptions=3)
        == 1
    )
    resumed_lease = sent[-1][1]
    assert resumed_lease != sent[0][1]
    # The dead run's late write finds its lease gone.
    with pytest.raises(records.Superseded):
        records.save_version(lease, first_two[0], "late", kind="generated", findings=[])
    ended = jobs.generation_run(generation_id=generation.pk, lease=resumed_lease, runner=ScriptedRunner())
    assert ended is not None
    assert ended.state == State.COMPLETED
    versions = FileVersion.objects.for_tenant(generation.tenant).filter(file__generation=generation)
    per_file: dict[str, list[int]] = {}
    for version in versions.select_related("file"):
        per_file.setdefault(version.file.path, []).append(version.number)
    assert all(numbers == [1] for numbers in per_file.values()), "each file generated once"
    assert ended.resumptions == 1


def test_cancel_stops_the_sandbox_and_records_the_cancellation(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    generation = create(tenant_users)
    runner = ScriptedRunner(hold=threading.Event())
    results: list[Generation | None] = []
    thread = database_thread(
        lambda: results.append(
            jobs.generation_run(generation_id=generation.pk, lease=sent[0][1], runner=runner)
        )
    )
    try:
        assert runner.started.wait(60), "the tests started"
        started = time.monotonic()
        services.generation_cancel(generation=row(generation), actor=tenant_users.member)
        thread.join(timeout=15)
        assert not thread.is_alive()
        assert time.monotonic() - started < 5, "stopped within seconds"
    finally:
        runner.hold.set() if runner.hold else None
        thread.join(timeout=5)
    [ended] = results
    assert ended is not None
    assert ended.state == State.CANCELLED
    assert kinds(ended)[-1] == "cancelled"
    assert ended.quota_counted, "it produced files: the month's generation stays used"


def test_follow_up_runs_rerun_the_tests_and_regenerate_one_file(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    generation = create(tenant_users)
    ended = jobs.generation_run(generation_id=generation.pk, lease=sent[0][1], runner=ScriptedRunner())
    assert ended is not None
    services.generation_rerun_tests(generation=ended, actor=tenant_users.member)
    again = jobs.generation_run(generation_id=generation.pk, lease=sent[-1][1], runner=ScriptedRunner())
    assert again is not None
    assert again.state == State.COMPLETED
    assert again.test_runs == 2
    services.generation_regenerate_file(generation=again, path="app/main.py", actor=tenant_users.member)
    third = jobs.generation_run(generation_id=generation.pk, lease=sent[-1][1], runner=ScriptedRunner())
    assert third is not None
    assert third.state == State.COMPLETED
    assert third.test_runs == 3
    main = selectors.file_of(third, "app/main.py")
    assert main is not None
    assert list(selectors.versions_of(main).values_list("number", flat=True)) == [1, 2]
    other = selectors.file_of(third, "requirements.txt")
    assert other is not None
    assert selectors.versions_of(other).count() == 1


def test_the_zip_holds_the_latest_version_of_every_file_and_nothing_unsafe(
    tenant_users: TenantUsers, sent: list[Message]
) -> None:
    import io
    import zipfile

    generation = create(tenant_users)
    ended = jobs.generation_run(generation_id=generation.pk, lease=sent[0][1], runner=ScriptedRunner())
    assert ended is not None
    archive = zipfile.ZipFile(io.BytesIO(artifacts.zip_generation(ended)))
    names = archive.namelist()
    files = artifacts.latest_contents(ended)
    assert sorted(name.split("/", 1)[1] for name in names) == sorted(files)
    for info in archive.infolist():
        assert (info.external_attr >> 16) & 0o170000 == 0o100000, "regular files only"
    hostile = artifacts.zip_files(
        {"/etc/passwd": "x", "../up": "x", "ok.txt": "fine", "a/../../b": "x"}, root="../x"
    )
    assert zipfile.ZipFile(io.BytesIO(hostile)).namelist() == ["service/ok.txt"]


def test_a_project_over_the_size_limit_fails_with_a_clear_reason(
    tenant_users: TenantUsers, sent: list[Message], settings: Any
) -> None:
    settings.CODEGEN_MAX_PROJECT_BYTES = 6000
    generation = create(tenant_users)
    ended = jobs.generation_run(generation_id=generation.pk, lease=sent[0][1], runner=ScriptedRunner())
    assert ended is not None
    assert ended.state == State.FAILED
    assert ended.error_code == "too_large"
    assert "6000 bytes" in ended.error_message
    assert kinds(ended)[-1] == "failed"
