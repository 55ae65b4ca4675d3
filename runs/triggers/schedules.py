"""Schedule triggers as Temporal Schedules: one per workflow whose published version has a
`schedule` trigger, starting runs of that version.

Publishing a version brings the workflow's schedule in line with it (created, replaced, or
removed when the new version has none). Temporal may be down then: publishing still
succeeds, and `reconcile` (run by `manage.py runs_schedules sync` and whenever a worker
starts) later brings every tenant's schedules in line with their published versions.

A schedule's action starts the launcher workflow (runs.engine.scheduled), whose activity
calls `schedule_fire` here: the run is admitted and recorded like any other, with the
trigger "schedule".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from core import temporal_client
from runs.engine.scheduled import SCHEDULED_WORKFLOW_NAME, ScheduledFire
from runs.models import Run
from runs.services import RunRefused, run_start
from tenants.models import Tenant
from workflows import selectors as workflow_selectors
from workflows.dsl.schedules import ScheduleConfigError, ScheduleTiming, read_schedule
from workflows.models import Workflow, WorkflowVersion

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "sce-schedule-"
# Publishing waits at most this long for Temporal before leaving the schedule to `reconcile`.
PUBLISH_CONNECT_TIMEOUT = 2.0
# A firing missed while Temporal was down is made up for within this window, not later: a
# long outage must not end in a burst of runs.
CATCHUP_WINDOW = timedelta(minutes=1)


class ScheduleRefused(Exception):
    """Temporal refused a schedule (its spec, most likely): the message says why."""


@dataclass(frozen=True)
class WantedSchedule:
    """The Temporal Schedule a workflow's published version asks for."""

    schedule_id: str
    fire: ScheduledFire
    timings: tuple[ScheduleTiming, ...]


@dataclass
class ReconcileReport:
    """What `reconcile` did, by schedule id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.removed)} removed, {len(self.failed)} failed"
        )
        return text + "".join(f"\n  {key}: {reason}" for key, reason in self.failed.items())


def schedule_id(tenant_id: int, workflow_id: int) -> str:
    return f"{SCHEDULE_PREFIX}{tenant_id}-{workflow_id}"


def schedule_timings(document: Any) -> tuple[ScheduleTiming, ...]:
    """The timings of a document's schedule triggers that give one (validation refuses to
    publish the others; a document that predates that check simply skips them)."""
    triggers = document.get("triggers") if isinstance(document, dict) else None
    timings: list[ScheduleTiming] = []
    for trigger in triggers if isinstance(triggers, list) else []:
        if not isinstance(trigger, dict) or trigger.get("trigger_type") != "schedule":
            continue
        try:
            timing = read_schedule(trigger.get("config"))
        except ScheduleConfigError:
            continue
        if timing is not None:
            timings.append(timing)
    return tuple(timings)


def wanted_for(version: WorkflowVersion) -> WantedSchedule | None:
    """The schedule a published version asks for; None when it has no schedule trigger."""
    timings = schedule_timings(version.document)
    if not timings:
        return None
    return WantedSchedule(
        schedule_id=schedule_id(version.tenant_id, version.workflow_id),
        fire=ScheduledFire(
            tenant_id=version.tenant_id, workflow_id=version.workflow_id, version=version.number
        ),
        timings=timings,
    )


def wanted_schedules() -> dict[str, WantedSchedule]:
    """Every tenant's wanted schedules: one per workflow whose published version has a
    schedule trigger (of active tenants only)."""
    # Cross-tenant maintenance: the one place that reads every tenant's published versions.
    versions = (
        WorkflowVersion.objects.dangerously_unscoped()
        .filter(number=F("workflow__published_version"), tenant__status=Tenant.Status.ACTIVE)
        .only("id", "tenant_id", "workflow_id", "number", "document")
        .order_by("id")
    )
    wanted = (wanted_for(version) for version in versions.iterator(chunk_size=200))
    return {schedule.schedule_id: schedule for schedule in wanted if schedule is not None}


def temporal_schedule(wanted: WantedSchedule) -> Schedule:
    """The Temporal Schedule for `wanted`: every cron and interval of the version's schedule
    triggers, starting the launcher on the runs task queue."""
    crons = [timing.cron for timing in wanted.timings if timing.cron is not None]
    intervals = [
        ScheduleIntervalSpec(every=timedelta(seconds=timing.interval_seconds))
        for timing in wanted.timings
        if timing.interval_seconds is not None
    ]
    # One time zone a schedule (validation refuses crons in two); intervals need none.
    zone = next((timing.timezone for timing in wanted.timings if timing.cron is not None), None)
    fire = wanted.fire
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SCHEDULED_WORKFLOW_NAME,
            fire,
            # Temporal appends each firing's time, so every launcher has an id of its own.
            id=f"scheduled-{fire.tenant_id}-{fire.workflow_id}",
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        ),
        spec=ScheduleSpec(cron_expressions=crons, intervals=intervals, time_zone_name=zone),
        # The launcher is over in moments; one still waiting for a worker is enough.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
    )


# --- Temporal ---------------------------------------------------------------------------------


async def put_schedule(client: Client, wanted: WantedSchedule) -> str:
    """Create the schedule, or replace what an existing one does; "created" or "updated"."""
    schedule = temporal_schedule(wanted)
    try:
        try:
            await client.create_schedule(wanted.schedule_id, schedule)
            return "created"
        except ScheduleAlreadyRunningError:

            def replace(_current: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(wanted.schedule_id).update(replace)
            return "updated"
    except RPCError as error:
        raise _refused(error) from None


async def remove_schedule(client: Client, schedule_id_: str) -> bool:
    """Delete the schedule; False when there was none."""
    try:
        await client.get_schedule_handle(schedule_id_).delete()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise _refused(error) from None
    return True


def _refused(error: RPCError) -> Exception:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return temporal_client.TemporalUnavailable(f"Temporal did not answer: {error.message}")
    return ScheduleRefused(error.message)


async def existing_schedule_ids(client: Client) -> list[str]:
    """The ids of SCE's schedules on the server (Temporal lists them eventually: one made a
    moment ago may be missing)."""
    listing = await client.list_schedules()
    return [entry.id async for entry in listing if entry.id.startswith(SCHEDULE_PREFIX)]


async def reconcile(client: Client, wanted: dict[str, WantedSchedule]) -> ReconcileReport:
    """Make the server's SCE schedules exactly `wanted`: put each wanted one, delete the rest."""
    report = ReconcileReport()
    try:
        existing = await existing_schedule_ids(client)
    except RPCError as error:
        raise _refused(error) from None
    for stale in sorted(set(existing) - set(wanted)):
        try:
            if await remove_schedule(client, stale):
                report.removed.append(stale)
        except ScheduleRefused as refusal:
            report.failed[stale] = str(refusal)
    for key, schedule in wanted.items():
        try:
            outcome = await put_schedule(client, schedule)
        except ScheduleRefused as refusal:
            report.failed[key] = str(refusal)
            continue
        (report.created if outcome == "created" else report.updated).append(key)
    return report


# --- What Django calls --------------------------------------------------------------------


def schedule_sync_workflow(*, workflow: Workflow, within: float = temporal_client.CONNECT_TIMEOUT) -> str:
    """Bring the workflow's schedule in line with its published version: "created",
    "updated", "removed" or "none". Raises TemporalUnavailable or ScheduleRefused."""
    version = (
        workflow_selectors.version_of(workflow, workflow.published_version)
        if workflow.published_version
        else None
    )
    wanted = wanted_for(version) if version is not None else None
    return async_to_sync(_sync_one)(schedule_id(workflow.tenant_id, workflow.pk), wanted, within)


async def _sync_one(key: str, wanted: WantedSchedule | None, within: float) -> str:
    client = await temporal_client.connect(within=within)
    if wanted is not None:
        return await put_schedule(client, wanted)
    return "removed" if await remove_schedule(client, key) else "none"


def schedules_sync() -> ReconcileReport:
    """Every tenant's schedules in line with their published versions (`reconcile`).
    Raises TemporalUnavailable."""
    wanted = wanted_schedules()
    return async_to_sync(_reconcile_connected)(wanted)


async def _reconcile_connected(wanted: dict[str, WantedSchedule]) -> ReconcileReport:
    return await reconcile(await temporal_client.connect(), wanted)


async def reconcile_at_worker_start(client: Client) -> str:
    """`reconcile`, as a worker starts: what it did in a line. Never raises, since a worker
    must poll even when schedules cannot be put right (they are, at the next start)."""
    try:
        wanted = await sync_to_async(wanted_schedules, thread_sensitive=False)()
        report = await reconcile(client, wanted)
    except Exception as error:  # any: logged, and the worker goes on
        logger.exception("Schedules were not reconciled")
        return f"Schedules not reconciled: {error}"
    return f"Schedules: {report.summary()}"


def has_schedule(versions: Iterable[WorkflowVersion | None]) -> bool:
    """Whether any of the versions asks for a schedule."""
    return any(version is not None and schedule_timings(version.document) for version in versions)


def on_version_published(*, version: WorkflowVersion, **_signal: Any) -> None:
    """After a version is published: its workflow's schedule follows it. Temporal is asked
    only when this version or the one before has a schedule trigger; when it cannot be
    reached, publishing stands and `reconcile` puts it right later."""
    workflow = version.workflow
    previous = workflow_selectors.version_of(workflow, version.number - 1) if version.number > 1 else None
    if not has_schedule([version, previous]):
        return
    try:
        outcome = schedule_sync_workflow(workflow=workflow, within=PUBLISH_CONNECT_TIMEOUT)
    except temporal_client.TemporalUnavailable as error:
        logger.warning(
            "The schedule of workflow %s (version %s) is left for `runs_schedules sync`: %s",
            workflow.pk,
            version.number,
            error,
        )
    except ScheduleRefused as refusal:
        logger.error("Temporal refused the schedule of workflow %s: %s", workflow.pk, refusal)
    else:
        logger.info("Schedule of workflow %s %s for version %s", workflow.pk, outcome, version.number)


# --- A firing -----------------------------------------------------------------------------


def schedule_fire(*, fire: ScheduledFire, launcher_id: str) -> Run | None:
    """Start the run a schedule's firing asks for, as its trigger "schedule". A run refused
    (the plan's limit, a required input without default) is recorded as a failed run, so the
    runs list shows it. None when the schedule is out of date: the workflow is gone, its
    tenant suspended, or a newer version published (then the schedule is put right)."""
    tenant = Tenant.objects.filter(pk=fire.tenant_id).first()
    workflow = (
        Workflow.objects.for_tenant(tenant).filter(pk=fire.workflow_id).first()
        if tenant is not None
        else None
    )
    key = schedule_id(fire.tenant_id, fire.workflow_id)
    if tenant is None or workflow is None:
        _put_right(key, None, "its workflow is gone")
        return None
    if tenant.is_suspended:
        logger.info("Schedule %s skipped: its organization is suspended", key)
        return None
    version = workflow_selectors.version_of(workflow, fire.version)
    if (
        workflow.published_version != fire.version
        or version is None
        or not schedule_timings(version.document)
    ):
        _put_right(key, workflow, f"version {fire.version} is no longer the published one")
        return None
    try:
        return run_start(
            tenant=tenant,
            document=version.document,
            inputs={},
            trigger=Run.Trigger.SCHEDULE,
            workflow=workflow,
            version=version,
        )
    except RunRefused as refusal:
        return _record_refused(tenant, workflow, version, refusal, launcher_id)


def _put_right(key: str, workflow: Workflow | None, why: str) -> None:
    """An out-of-date schedule removed or made to follow the published version."""
    logger.info("Schedule %s is out of date (%s): putting it right", key, why)
    try:
        if workflow is None:
            async_to_sync(_sync_one)(key, None, temporal_client.CONNECT_TIMEOUT)
        else:
            schedule_sync_workflow(workflow=workflow)
    except (temporal_client.TemporalUnavailable, ScheduleRefused) as error:
        logger.warning("Schedule %s is left for `runs_schedules sync`: %s", key, error)


def _record_refused(
    tenant: Tenant, workflow: Workflow, version: WorkflowVersion, refusal: RunRefused, launcher_id: str
) -> Run:
    now = timezone.now()
    run, _ = Run.objects.for_tenant(tenant).get_or_create(
        # The launcher's id is this firing's own: a firing records one refusal at most.
        temporal_workflow_id=launcher_id,
        defaults={
            "tenant": tenant,
            "workflow": workflow,
            "version": version,
            "title": str(version.document.get("name") or "Workflow")[:200],
            "document": version.document,
            "trigger": Run.Trigger.SCHEDULE,
            "status": Run.Status.FAILED,
            "error_code": refusal.code[:40],
            "error_message": f"The schedule could not start this run: {refusal.message}"[:1000],
            "finished_at": now,
        },
    )
    return run
