"""What a run writes, each write under the run's lease.

Every write locks the generation's row and checks that the run still holds it (the lease
token it took when it claimed the generation, the generation still active): a run that was
cancelled, reaped or resumed elsewhere gets `Superseded` and writes nothing more. A file's
content goes to storage first, then its row; if the row cannot be written the content is
removed again, so a half-written version never shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from codegen import artifacts
from codegen.findings import FileFinding, errors_in
from codegen.models import FileVersion, GeneratedFile, Generation, TestResult, TestRun
from codegen.plans import Plan, PlannedFile
from codegen.sandbox.junit import CaseResult
from codegen.services import _release_quota_if_empty, new_lease, settle_unfinished_files, transition
from tenants.models import Tenant

State = Generation.State


class Superseded(Exception):
    """The generation is no longer this run's: stop without writing anything."""


@dataclass(frozen=True)
class Lease:
    generation_id: int
    tenant: Tenant
    token: str


def owned(lease: Lease) -> QuerySet[Generation]:
    return Generation.objects.for_tenant(lease.tenant).filter(
        pk=lease.generation_id, run_token=lease.token, state__in=list(Generation.ACTIVE_STATES)
    )


def _lock(lease: Lease) -> Generation:
    row = owned(lease).select_for_update(of=("self",)).select_related("tenant").first()
    if row is None:
        raise Superseded()
    return row


@transaction.atomic
def claim(generation_id: int, lease: str) -> tuple[Generation, Lease] | None:
    """Start the run the message holding `lease` may start; None for a late or repeated
    delivery (the generation ran, ended, or was queued again under a newer lease)."""
    row = Generation.objects.dangerously_unscoped().filter(pk=generation_id).select_related("tenant").first()
    if row is None or not lease:
        return None
    locked = (
        Generation.objects.for_tenant(row.tenant)
        .select_for_update(of=("self",))
        .select_related("tenant")
        .filter(pk=generation_id, state=State.QUEUED, run_token=lease)
        .first()
    )
    if locked is None:
        return None
    locked.run_token = new_lease()
    locked.started_at = locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["run_token", "started_at", "heartbeat_at"])
    return locked, Lease(locked.pk, locked.tenant, locked.run_token)


def still_current(lease: Lease) -> tuple[bool, bool]:
    """(held, cancel requested)."""
    row = owned(lease).values_list("cancel_requested", flat=True).first()
    return (row is not None, bool(row))


@transaction.atomic
def set_state(lease: Lease, state: str) -> Generation:
    locked = _lock(lease)
    if locked.state != state:
        transition(locked, state)
        locked.save(update_fields=["state", "transitions"])
    return locked


@transaction.atomic
def save_plan(lease: Lease, plan: Plan, layers: Sequence[Sequence[PlannedFile]]) -> Generation:
    """Store the plan and a row per file (planned); files a resumed run already has stay."""
    locked = _lock(lease)
    locked.plan = plan.as_dict()
    locked.save(update_fields=["plan"])
    layer_of = {planned.path: number for number, layer in enumerate(layers) for planned in layer}
    existing = set(
        GeneratedFile.objects.for_tenant(lease.tenant)
        .filter(generation=locked)
        .values_list("path", flat=True)
    )
    last_layer = len(layers)
    rows = [
        GeneratedFile(
            tenant=lease.tenant,
            generation=locked,
            path=planned.path,
            purpose=planned.purpose[:500],
            language=planned.language[:40],
            depends_on=list(planned.depends_on),
            position=position,
            layer=layer_of.get(planned.path, last_layer),
        )
        for position, planned in enumerate((*plan.files, *plan.docs))
        if planned.path not in existing
    ]
    GeneratedFile.objects.for_tenant(lease.tenant).bulk_create(rows)
    return locked


def files(lease: Lease) -> QuerySet[GeneratedFile]:
    return GeneratedFile.objects.for_tenant(lease.tenant).filter(generation_id=lease.generation_id)


def stored_files(
    lease: Lease,
) -> tuple[dict[str, str], dict[str, tuple[str, list[dict[str, Any]]]], dict[str, int]]:
    """What a resumed or follow-up run finds stored: each file's latest content, each file's
    status and findings, and how many times each was fixed."""
    latest = {
        version.file.path: version
        for version in FileVersion.objects.for_tenant(lease.tenant)
        .filter(file__generation_id=lease.generation_id)
        .select_related("file")
        .order_by("file_id", "number")
    }
    contents = {path: artifacts.read_version(version) for path, version in latest.items()}
    rows = {file.path: (file.status, file.findings) for file in files(lease)}
    fixes = {path: version.number - 1 for path, version in latest.items()}
    return contents, rows, fixes


@transaction.atomic
def mark_file(lease: Lease, path: str, status: str) -> Generation:
    locked = _lock(lease)
    files(lease).filter(path=path).update(status=status, updated_at=timezone.now())
    return locked


def status_for(kind: str, findings: list[FileFinding]) -> str:
    return GeneratedFile.status_of(kind, has_errors=bool(errors_in(findings)))


def save_version(
    lease: Lease, path: str, content: str, *, kind: str, findings: list[FileFinding]
) -> tuple[Generation, GeneratedFile, FileVersion]:
    """Store a new version of a file with its findings; the file's status follows them."""
    file = files(lease).get(path=path)
    number = (
        FileVersion.objects.for_tenant(lease.tenant).filter(file=file).aggregate(n=Max("number"))["n"] or 0
    ) + 1
    name = artifacts.store(artifacts.version_name(file, number), content)
    try:
        with transaction.atomic():
            locked = _lock(lease)
            found = [finding.as_dict() for finding in findings]
            version = FileVersion.objects.create(
                tenant=lease.tenant,
                file=file,
                number=number,
                kind=kind,
                storage_name=name,
                size=len(content.encode()),
                sha256=artifacts.digest(content),
                findings=found,
            )
            file.status = status_for(kind, findings)
            file.findings = found
            file.size, file.sha256, file.updated_at = version.size, version.sha256, timezone.now()
            file.save(update_fields=["status", "findings", "size", "sha256", "updated_at"])
    except BaseException:
        artifacts.discard(name)
        raise
    return locked, file, version


@transaction.atomic
def save_findings(lease: Lease, path: str, findings: list[FileFinding]) -> GeneratedFile:
    """New findings for a file's latest version (a project-wide check found something)."""
    _lock(lease)
    file = files(lease).get(path=path)
    latest = FileVersion.objects.for_tenant(lease.tenant).filter(file=file).order_by("-number").first()
    found = [finding.as_dict() for finding in findings]
    if latest is not None:
        latest.findings = found
        latest.save(update_fields=["findings"])
        file.status = status_for(latest.kind, findings)
    file.findings = found
    file.save(update_fields=["status", "findings"])
    return file


@transaction.atomic
def add_usage(
    lease: Lease, *, input_tokens: int, output_tokens: int, cost_usd: float, calls: int
) -> Generation:
    owned(lease).update(
        input_tokens=F("input_tokens") + input_tokens,
        output_tokens=F("output_tokens") + output_tokens,
        cost_usd=F("cost_usd") + Decimal(str(round(cost_usd, 6))),
        model_calls=F("model_calls") + calls,
    )
    return _lock(lease)


@transaction.atomic
def start_test_run(lease: Lease) -> TestRun:
    locked = _lock(lease)
    number = (
        TestRun.objects.for_tenant(lease.tenant).filter(generation=locked).aggregate(n=Max("number"))["n"]
        or 0
    ) + 1
    return TestRun.objects.create(tenant=lease.tenant, generation=locked, number=number)


@transaction.atomic
def finish_test_run(
    lease: Lease,
    run: TestRun,
    *,
    outcome: str,
    cases: Sequence[CaseResult],
    exit_code: int | None,
    timed_out: bool,
    output: str,
    reason: str,
) -> tuple[Generation, TestRun]:
    locked = _lock(lease)
    TestResult.objects.for_tenant(lease.tenant).bulk_create(
        TestResult(
            tenant=lease.tenant,
            run=run,
            position=position,
            name=case.name[:300],
            classname=case.classname[:300],
            outcome=case.outcome,
            duration_ms=max(0, case.duration_ms),
            message=case.message,
        )
        for position, case in enumerate(cases)
    )
    run.outcome = outcome
    run.exit_code = exit_code
    run.timed_out = timed_out
    run.output = output
    run.reason = reason[:500]
    run.finished_at = timezone.now()
    run.save()
    counts = {
        outcome: sum(case.outcome == outcome for case in cases)
        for outcome in ("passed", "failed", "error", "skipped")
    }
    locked.tests_passed = counts["passed"]
    locked.tests_failed = counts["failed"] + counts["error"]
    locked.tests_skipped = counts["skipped"]
    locked.test_runs = run.number
    locked.save(update_fields=["tests_passed", "tests_failed", "tests_skipped", "test_runs"])
    return locked, run


@transaction.atomic
def finish(lease: Lease, state: str, *, code: str = "", message: str = "") -> Generation:
    """End the run: completed, failed or cancelled. A failed or cancelled generation that
    produced no file gives its month's generation back."""
    locked = _lock(lease)
    settle_unfinished_files(locked)
    if state != State.COMPLETED:
        _release_quota_if_empty(locked)
    locked.error_code, locked.error_message = code[:40], message[:500]
    locked.run_token = ""
    locked.cancel_requested = False
    locked.finished_at = timezone.now()
    transition(locked, state)
    locked.save()
    return locked


def refresh_heartbeat(lease: Lease) -> bool:
    return bool(owned(lease).update(heartbeat_at=timezone.now()))


def plan_files_data(generation: Generation) -> list[dict[str, Any]]:
    rows = GeneratedFile.objects.for_tenant(generation.tenant).filter(generation=generation)
    return [
        {
            "path": row.path,
            "purpose": row.purpose,
            "language": row.language,
            "layer": row.layer,
            "status": row.status,
        }
        for row in rows
    ]
