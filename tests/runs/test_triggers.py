"""Schedules and webhooks start runs, on the real Temporal dev server: publishing keeps a
workflow's Temporal Schedule in line with its published version, a schedule's firing becomes
a run with the trigger "schedule", and a webhook's secret URL starts a run with its JSON body
as the inputs, or answers each refusal with its own status."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from temporalio.client import Client as TemporalClient
from temporalio.client import ScheduleDescription
from temporalio.service import RPCError, RPCStatusCode

from core import temporal_client
from runs import webhook_views
from runs.engine.scheduled import SCHEDULED_WORKFLOW_NAME, ScheduledFire
from runs.models import Run, WebhookTrigger
from runs.triggers import schedules
from tenants.tokens import hash_token
from tests.conftest import TenantUsers
from tests.runs.conftest import WorkerThread, queue_name, wait_for_run
from tests.servers import free_port
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.dsl.findings import INVALID_TRIGGER
from workflows.dsl.schedules import ScheduleTiming
from workflows.models import Workflow, WorkflowVersion

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


# --- Helpers -----------------------------------------------------------------------------------


def document(*triggers: dict[str, Any], required: bool = False) -> dict[str, Any]:
    """A one-node workflow that logs its `order_id` input, started by `triggers`."""
    return samples.workflow(
        [samples.node("note", activity_name="log", input_mapping={"message": "order {{order_id}}"})],
        variables=[
            samples.variable("order_id", required=required, default_value=None if required else "none")
        ],
        triggers=list(triggers),
    )


def schedule(**config: Any) -> dict[str, Any]:
    return {"trigger_type": "schedule", "config": config}


WEBHOOK = {"trigger_type": "webhook", "config": {}}
MANUAL = {"trigger_type": "manual", "config": {}}


def publish(users: TenantUsers, doc: dict[str, Any], workflow: Workflow | None = None) -> WorkflowVersion:
    """`doc` published: as a new workflow's first version, or as `workflow`'s next one."""
    if workflow is None:
        workflow = workflow_services.workflow_create(
            tenant=users.tenant, actor=users.owner, name="Nightly orders", document=doc
        )
    else:
        workflow_services.workflow_edit(workflow=workflow, actor=users.owner, document=doc, summary="changed")
    return workflow_services.workflow_publish(workflow=workflow, actor=users.owner)


def temporal(coroutine_function: Any, *args: Any) -> Any:
    async def main() -> Any:
        client = await temporal_client.connect()
        return await coroutine_function(client, *args)

    return asyncio.run(main())


async def _describe(client: TemporalClient, key: str) -> ScheduleDescription | None:
    try:
        return await client.get_schedule_handle(key).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def describe(version: WorkflowVersion) -> ScheduleDescription | None:
    described: ScheduleDescription | None = temporal(
        _describe, schedules.schedule_id(version.tenant_id, version.workflow_id)
    )
    return described


async def _fire_of(client: TemporalClient, description: ScheduleDescription) -> ScheduledFire:
    action: Any = description.schedule.action
    [fire] = await client.data_converter.decode(action.args, [ScheduledFire])
    assert isinstance(fire, ScheduledFire)
    return fire


@pytest.fixture
def schedules_removed(temporal_settings: Any) -> Iterator[None]:
    """Whatever schedules the test made are deleted after it, so none fires into a task queue
    nobody polls any more."""
    yield
    ids = [
        schedules.schedule_id(tenant_id, workflow_id)
        for tenant_id, workflow_id in Workflow.objects.dangerously_unscoped().values_list("tenant_id", "pk")
    ]

    async def remove_all(client: TemporalClient) -> None:
        for key in ids:
            await schedules.remove_schedule(client, key)

    temporal(remove_all)


def scheduled_runs(users: TenantUsers) -> Any:
    return Run.objects.for_tenant(users.tenant).filter(trigger=Run.Trigger.SCHEDULE).order_by("id")


def wait_for(check: Any, *, timeout: float = 12.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.1)


# --- Schedules ---------------------------------------------------------------------------------


def test_publishing_creates_the_schedule_and_newer_versions_replace_then_remove_it(
    tenant_users: TenantUsers, schedules_removed: None
) -> None:
    first = publish(tenant_users, document(schedule(cron="0 9 * * 1-5", timezone="Asia/Tokyo")))
    described = describe(first)
    assert described is not None
    action: Any = described.schedule.action
    assert action.workflow == SCHEDULED_WORKFLOW_NAME
    assert action.task_queue == queue_name()
    assert temporal(_fire_of, described) == ScheduledFire(tenant_users.tenant.pk, first.workflow_id, 1)
    upcoming = [moment.astimezone(ZoneInfo("Asia/Tokyo")) for moment in described.info.next_action_times[:5]]
    assert {(moment.hour, moment.minute) for moment in upcoming} == {(9, 0)}
    assert all(moment.weekday() < 5 for moment in upcoming)

    second = publish(tenant_users, document(schedule(interval_seconds="3600")), first.workflow)
    described = describe(second)
    assert described is not None
    assert [interval.every for interval in described.schedule.spec.intervals] == [timedelta(hours=1)]
    assert not described.schedule.spec.calendars
    assert temporal(_fire_of, described).version == 2

    third = publish(tenant_users, document(MANUAL), first.workflow)
    assert describe(third) is None


def test_a_workflow_without_a_schedule_trigger_has_no_schedule(
    tenant_users: TenantUsers, schedules_removed: None
) -> None:
    version = publish(tenant_users, document(MANUAL, WEBHOOK))
    assert describe(version) is None


def test_a_schedule_starts_runs_with_the_trigger_schedule(
    tenant_users: TenantUsers, run_worker: WorkerThread, schedules_removed: None
) -> None:
    # As the editor's rows store it: the interval as text.
    version = publish(tenant_users, document(schedule(interval_seconds="1")))
    run = wait_for(lambda: scheduled_runs(tenant_users).first())
    run = wait_for_run(run, timeout=15)
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert (run.workflow_id, run.version_id, run.tenant_id) == (
        version.workflow_id,
        version.pk,
        version.tenant_id,
    )
    assert run.inputs == {"order_id": "none"}
    assert run.started_by is None


def test_a_scheduled_run_that_is_refused_is_recorded_as_failed(
    tenant_users: TenantUsers, run_worker: WorkerThread, schedules_removed: None
) -> None:
    version = publish(tenant_users, document(schedule(interval_seconds=1), required=True))
    run = wait_for(lambda: scheduled_runs(tenant_users).first())
    assert run.status == Run.Status.FAILED
    assert run.error_code == "bad_input"
    assert "The schedule could not start this run" in run.error_message
    assert "order_id" in run.error_message
    assert run.version_id == version.pk


def test_publishing_while_temporal_is_down_succeeds_and_sync_puts_the_schedule_right(
    tenant_users: TenantUsers, settings: Any, schedules_removed: None
) -> None:
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"  # nothing listens there
    version = publish(tenant_users, document(schedule(cron="@daily")))
    assert version.number == 1
    with pytest.raises(CommandError, match="not answering"):
        call_command("runs_schedules", "sync")
    settings.TEMPORAL_ADDRESS = address
    assert describe(version) is None

    # A schedule left behind by a workflow that is gone goes at the same time.
    orphan = schedules.WantedSchedule(
        schedules.schedule_id(tenant_users.other_tenant.pk, 987654),
        ScheduledFire(tenant_users.other_tenant.pk, 987654, 1),
        (ScheduleTiming(cron="@daily"),),
    )
    temporal(schedules.put_schedule, orphan)
    wait_for(lambda: orphan.schedule_id in temporal(schedules.existing_schedule_ids))

    call_command("runs_schedules", "sync")
    assert describe(version) is not None
    assert temporal(_describe, orphan.schedule_id) is None


def test_a_worker_starting_puts_schedules_right(
    tenant_users: TenantUsers, settings: Any, schedules_removed: None
) -> None:
    address = settings.TEMPORAL_ADDRESS
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    version = publish(tenant_users, document(schedule(interval_seconds=3600)))
    settings.TEMPORAL_ADDRESS = address

    async def start_worker(client: TemporalClient) -> str:
        return await schedules.reconcile_at_worker_start(client)

    assert temporal(start_worker).startswith("Schedules: 1 created")
    assert describe(version) is not None


def test_a_bad_schedule_is_refused_at_publishing(tenant_users: TenantUsers) -> None:
    workflow = workflow_services.workflow_create(
        tenant=tenant_users.tenant,
        actor=tenant_users.owner,
        name="Bad",
        document=document(schedule(cron="61 * * * *")),
    )
    with pytest.raises(workflow_services.PublishRefused) as refused:
        workflow_services.workflow_publish(workflow=workflow, actor=tenant_users.owner)
    assert [finding.code for finding in refused.value.findings] == [INVALID_TRIGGER]
    assert "minute 61" in refused.value.findings[0].message


# --- Webhooks: the page ------------------------------------------------------------------------


def page_url(workflow: Workflow, name: str = "webhook") -> str:
    return reverse(f"runs:{name}", kwargs={"tenant_slug": workflow.tenant.slug, "workflow_id": workflow.pk})


def issue(users: TenantUsers, workflow: Workflow) -> str:
    """The webhook URL a member gets from the page (its path)."""
    response = users.client_for(users.member).post(page_url(workflow, "webhook_issue"))
    assert response.status_code == 200
    match = re.search(r'value="http://testserver(/hooks/runs/[^"]+)"', response.content.decode())
    assert match is not None
    return match.group(1)


def call(path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
    data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
    return Client(enforce_csrf_checks=True).post(path, data=data, content_type="application/json")


def test_the_url_is_shown_once_and_only_members_change_it(tenant_users: TenantUsers) -> None:
    workflow = publish(tenant_users, document(WEBHOOK)).workflow
    path = issue(tenant_users, workflow)
    token = path.rsplit("/", 1)[1]
    webhook = WebhookTrigger.objects.for_tenant(tenant_users.tenant).get(workflow=workflow)
    assert token.startswith(webhook.token_prefix)
    assert webhook.token_hash == hash_token(token)  # the token itself is kept nowhere
    page = tenant_users.client_for(tenant_users.viewer).get(page_url(workflow)).content.decode()
    assert token not in page
    assert webhook.token_prefix in page
    viewer = tenant_users.client_for(tenant_users.viewer)
    assert viewer.post(page_url(workflow, "webhook_issue")).status_code == 403
    assert viewer.post(page_url(workflow, "webhook_disable")).status_code == 403
    outsider = tenant_users.client_for(tenant_users.outsider)
    assert outsider.get(page_url(workflow)).status_code == 404
    assert outsider.post(page_url(workflow, "webhook_issue")).status_code == 404


# --- Webhooks: the endpoint --------------------------------------------------------------------


def test_a_webhook_call_starts_a_run_with_the_body_as_inputs(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    version = publish(tenant_users, document(WEBHOOK, required=True))
    path = issue(tenant_users, version.workflow)
    response = call(path, {"order_id": "A-7"})
    assert response.status_code == 202, response.content
    answer = response.json()
    assert set(answer) == {"run_id", "status"}
    run = wait_for_run(Run.objects.for_tenant(tenant_users.tenant).get(pk=answer["run_id"]))
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert (run.trigger, run.inputs, run.version_id) == (Run.Trigger.WEBHOOK, {"order_id": "A-7"}, version.pk)
    # The token names its tenant: the run is that tenant's, whoever calls.
    assert run.tenant_id == tenant_users.tenant.pk
    assert not Run.objects.for_tenant(tenant_users.other_tenant).exists()
    webhook = WebhookTrigger.objects.for_tenant(tenant_users.tenant).get(workflow=version.workflow)
    assert webhook.last_used_at is not None


def test_bodies_that_cannot_be_inputs_are_400(tenant_users: TenantUsers) -> None:
    path = issue(tenant_users, publish(tenant_users, document(WEBHOOK, required=True)).workflow)
    for raw in (b"not json", b'{"order_id": NaN}', b"\xff\xfe", b"[" * 100_000):
        response = call(path, raw=raw)
        assert (response.status_code, response.json()["error"]) == (400, "not_json"), raw[:20]
    for raw in (b"[1, 2]", b'"text"', b"null"):
        response = call(path, raw=raw)
        assert (response.status_code, response.json()["error"]) == (400, "not_an_object"), raw
    unknown = call(path, {"order_id": "A-1", "colour": "red"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "bad_input"
    assert set(unknown.json()["details"]["problems"]) == {"colour"}
    missing = call(path, {})
    assert missing.status_code == 400
    assert set(missing.json()["details"]["problems"]) == {"order_id"}
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


def test_unknown_disabled_and_replaced_tokens_get_the_same_404(tenant_users: TenantUsers) -> None:
    workflow = publish(tenant_users, document(WEBHOOK)).workflow
    old = issue(tenant_users, workflow)
    new = issue(tenant_users, workflow)  # replaces the old one
    member = tenant_users.client_for(tenant_users.member)
    assert member.post(page_url(workflow, "webhook_disable")).status_code == 200
    answers = [
        call(path) for path in (old, new, "/hooks/runs/whk_nothing-like-it", "/hooks/runs/" + "x" * 300)
    ]
    assert [answer.status_code for answer in answers] == [404] * 4
    assert len({answer.content for answer in answers}) == 1
    # Turned on again with a new URL, which works (up to needing Temporal).
    newest = issue(tenant_users, workflow)
    assert call(newest, raw=b"nope").status_code == 400
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


def test_a_workflow_that_cannot_run_from_a_webhook_is_409(tenant_users: TenantUsers) -> None:
    unpublished = workflow_services.workflow_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="Draft", document=document(WEBHOOK)
    )
    response = call(issue(tenant_users, unpublished), {})
    assert (response.status_code, response.json()["error"]) == (409, "not_published")

    workflow = publish(tenant_users, document(WEBHOOK)).workflow
    path = issue(tenant_users, workflow)
    publish(tenant_users, document(MANUAL), workflow)  # version 2 drops the webhook trigger
    response = call(path, {})
    assert (response.status_code, response.json()["error"]) == (409, "no_webhook_trigger")
    assert "Version 2" in response.json()["message"]
    assert not Run.objects.for_tenant(tenant_users.tenant).exists()


def test_big_bodies_are_413_and_floods_429(
    tenant_users: TenantUsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = issue(tenant_users, publish(tenant_users, document(WEBHOOK)).workflow)
    big = json.dumps({"order_id": "x" * (webhook_views.MAX_BODY_BYTES + 1)}).encode()
    response = call(path, raw=big)
    assert (response.status_code, response.json()["error"]) == (413, "too_large")

    monkeypatch.setattr(webhook_views, "CALLS_PER_WINDOW", 3)
    answers = [call(path, raw=b"nope").status_code for _ in range(4)]
    assert answers == [400, 400, 429, 429]  # the 413 above counted too
    limited = call(path, raw=b"nope")
    assert limited["Retry-After"] == "60"
    # Another URL has its own allowance.
    other = issue(tenant_users, publish(tenant_users, document(WEBHOOK)).workflow)
    assert call(other, raw=b"nope").status_code == 400


def test_only_post_is_answered(tenant_users: TenantUsers) -> None:
    path = issue(tenant_users, publish(tenant_users, document(WEBHOOK)).workflow)
    response = Client().get(path)
    assert (response.status_code, response["Allow"]) == (405, "POST")


def test_a_call_while_temporal_is_down_keeps_the_run_as_failed(
    tenant_users: TenantUsers, settings: Any
) -> None:
    path = issue(tenant_users, publish(tenant_users, document(WEBHOOK)).workflow)
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    response = call(path, {"order_id": "A-1"})
    assert response.status_code == 503
    run = Run.objects.for_tenant(tenant_users.tenant).get(pk=response.json()["run_id"])
    assert (run.status, run.trigger, run.error_code) == (Run.Status.FAILED, "webhook", "temporal_unavailable")
