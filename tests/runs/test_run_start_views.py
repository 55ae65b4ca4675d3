"""The run pages against the real Temporal dev server and an SCE worker: a run started from
the Run form goes through every node and its page shows how; cancel and terminate stop a
waiting run; its frames reach the stream one per event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from runs import selectors
from runs.frames import STREAM
from runs.models import Run
from tests.conftest import TenantUsers
from tests.runs.builders import forget_run_frames, order_document, published
from tests.runs.conftest import WorkerThread, wait_for_run
from tests.runs.test_frames import first_group
from tests.workflows import samples

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

CANNED = {
    "test-0-mode": "output",
    "test-0-text": '{"in_stock": true}',
    "test-1-mode": "output",
    "test-1-text": '"looks fine"',
    "test-2-mode": "output",
    "test-2-text": '"Your order is on its way."',
    "test-3-mode": "output",
    "test-3-text": '{"carrier": "DHL"}',
}


@pytest.fixture(autouse=True)
def no_frames_left() -> Iterator[None]:
    forget_run_frames()
    yield
    forget_run_frames()


def page_of(users: TenantUsers, run: Run) -> str:
    url = reverse("runs:run_detail", kwargs={"tenant_slug": "acme", "run_id": run.pk})
    return str(users.client_for(users.member).get(url).content.decode())


def test_a_run_started_from_the_form_goes_through_its_nodes(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    version = published(tenant_users)
    url = reverse(
        "runs:run_new", kwargs={"tenant_slug": "acme", "workflow_id": version.workflow_id, "number": 1}
    )
    response = tenant_users.client_for(tenant_users.member).post(
        url, {"input-0": "A-1", "input-1": "10", **CANNED}
    )
    assert response.status_code == 302
    run = wait_for_run(Run.objects.for_tenant(tenant_users.tenant).get())
    assert run.status == Run.Status.SUCCEEDED, run.error_message
    assert run.outputs is not None
    assert run.outputs["shipment"] == {"carrier": "DHL"}
    page = page_of(tenant_users, run)
    states = dict(re.findall(r'data-node-id="([^"]+)" data-state="(\w+)"', page))
    assert states == {
        "check": "succeeded",
        "route": "succeeded",
        "review": "skipped",
        "fan_out": "succeeded",
        "invoice": "succeeded",
        "notify": "succeeded",
        "ship": "succeeded",
    }
    events = list(selectors.events_of(run))
    kept = async_to_sync(STREAM.replay)(run.pk, 0).frames
    assert len(kept) == len(events), "a frame per event"
    assert [first_group(r'<li id="run-event-(\d+)"', frame.html) for frame in kept] == [
        str(event.pk) for event in events
    ]


def waiting_document() -> dict[str, Any]:
    return samples.workflow(
        [
            samples.node("hold", "wait", wait_type="signal", signal_name="go", duration_seconds=None),
            samples.node("after", activity_name="log", input_mapping={"message": "went"}),
        ],
        samples.chain("hold", "after"),
        name="Hold on",
    )


def waiting_run(users: TenantUsers) -> Run:
    version = published(users, waiting_document(), name="Hold on")
    url = reverse(
        "runs:run_new", kwargs={"tenant_slug": "acme", "workflow_id": version.workflow_id, "number": 1}
    )
    assert users.client_for(users.member).post(url, {}).status_code == 302
    run = Run.objects.for_tenant(users.tenant).get()
    return wait_for_run(run, lambda current: current.status == Run.Status.WAITING)


def test_terminating_a_waiting_run_stops_it_at_once(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    run = waiting_run(tenant_users)
    url = reverse("runs:run_terminate", kwargs={"tenant_slug": "acme", "run_id": run.pk})
    response = tenant_users.client_for(tenant_users.member).post(
        url, {"confirm": "terminate", "reason": "Wrong order"}
    )
    assert response.status_code == 302
    run = wait_for_run(run)
    assert run.status == Run.Status.TERMINATED
    page = page_of(tenant_users, run)
    assert 'data-testid="run-terminated"' in page
    assert "Wrong order" in page
    assert 'data-node-id="hold" data-state="cancelled"' in page
    # Pages open meanwhile learn of it from the frame of the event the termination wrote.
    assert "Terminated" in async_to_sync(STREAM.replay)(run.pk, 0).frames[-1].html


def test_cancelling_a_waiting_run_lets_it_stop_cleanly(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    run = waiting_run(tenant_users)
    url = reverse("runs:run_cancel", kwargs={"tenant_slug": "acme", "run_id": run.pk})
    assert tenant_users.client_for(tenant_users.member).post(url).status_code == 302
    run = wait_for_run(run)
    assert run.status == Run.Status.CANCELLED
    page = page_of(tenant_users, run)
    assert 'data-node-id="hold" data-state="cancelled"' in page
    assert 'data-node-id="after" data-state="skipped"' in page


def test_running_again_from_a_node_keeps_the_earlier_outputs(
    tenant_users: TenantUsers, run_worker: WorkerThread
) -> None:
    version = published(tenant_users, order_document())
    url = reverse(
        "runs:run_new", kwargs={"tenant_slug": "acme", "workflow_id": version.workflow_id, "number": 1}
    )
    client = tenant_users.client_for(tenant_users.member)
    client.post(url, {"input-0": "A-2", "input-1": "10", **CANNED})
    first = wait_for_run(Run.objects.for_tenant(tenant_users.tenant).get())
    assert first.status == Run.Status.SUCCEEDED, first.error_message
    again_url = reverse("runs:run_rerun", kwargs={"tenant_slug": "acme", "run_id": first.pk})
    response = client.post(again_url, {"node_id": "ship"})
    again = Run.objects.for_tenant(tenant_users.tenant).exclude(pk=first.pk).get()
    assert response["Location"] == reverse(
        "runs:run_detail", kwargs={"tenant_slug": "acme", "run_id": again.pk}
    )
    again = wait_for_run(again)
    assert again.status == Run.Status.SUCCEEDED, again.error_message
    assert (again.rerun_of_id, again.rerun_from, again.trigger) == (first.pk, "ship", Run.Trigger.RERUN)
    assert again.outputs is not None
    assert again.outputs["stock"] == {"in_stock": True}, "check's output, kept from the first run"
    states = dict(re.findall(r'data-node-id="([^"]+)" data-state="(\w+)"', page_of(tenant_users, again)))
    assert states["ship"] == "succeeded"
    assert states["check"] == "skipped"
