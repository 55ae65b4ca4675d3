"""A workflow run watched live, in a real Chromium against daphne: the Run form of a published
version (with a decision and a parallel block) refuses a wrong input next to its field; the
run page draws each node's state and the event log, takes live frames (one node's state and
one line each, in order even when published out of order), and after a reload mid-run shows
every event once, the frames published after the reload included.

The run's events are written here as the interpreter's recorder writes them, and their frames
published by runs.frames as the worker's activity does: the page cannot tell the difference,
and the journey needs no Temporal.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from runs import frames, selectors
from runs.models import Run, RunEvent
from tenants.models import Tenant, User
from tests.browser.test_conversation_journeys import sign_up
from tests.conftest import TenantUsers
from tests.runs.builders import add_event, forget_run_frames, half_run, published

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def state_of(page: Page, node_id: str) -> Any:
    return expect(page.locator(f'[data-testid="run-node"][data-node-id="{node_id}"]'))


def shown_lines(page: Page) -> list[int]:
    return [
        int(str(value))
        for value in page.get_by_test_id("run-event").evaluate_all(
            "lines => lines.map(line => line.getAttribute('data-order'))"
        )
    ]


def _publish_aside(run: Run, events: list[RunEvent]) -> None:
    try:
        frames.publish(run.tenant_id, run.pk, events)
    finally:
        connection.close()


def publish(run: Run, *events: RunEvent) -> None:
    """What the worker's recording activity does, from a thread of its own (Playwright keeps
    an event loop in the test's thread, where the stream's sync publishing cannot run)."""
    with ThreadPoolExecutor(max_workers=1) as aside:
        aside.submit(_publish_aside, run, list(events)).result()


def test_run_a_version_watch_it_live_reload_mid_run_and_see_every_event_once(
    people: Any, live_server_url: str
) -> None:
    forget_run_frames()
    owner = people("owner", viewport={"width": 1280, "height": 900})
    page = owner.page
    sign_up(page, "Order Desk", "olga@orders.test")
    tenant = Tenant.objects.get(name="Order Desk")
    user = User.objects.get(email="olga@orders.test")
    users = TenantUsers(tenant, user, user, user, user, user, tenant)
    version = published(users)

    # The editor offers a run of the published version, and the workflow's runs.
    page.goto(f"/t/{tenant.slug}/workflows/{version.workflow_id}/")
    expect(page.get_by_test_id("draft-actions").get_by_role("link", name="Runs", exact=True)).to_be_visible()
    owner.shot("00-editor")
    # The versions page offers a run of the latest version; its form asks for each variable
    # by type, and for test outputs.
    page.goto(f"/t/{tenant.slug}/workflows/{version.workflow_id}/versions/")
    owner.shot("00-versions-page")
    page.get_by_role("link", name="Run latest version").click()
    expect(page.get_by_role("heading", name="Run Order check, version 1")).to_be_visible()
    expect(page.get_by_test_id("run-test")).to_have_count(4)
    page.get_by_label("order_id").fill("A-17")
    page.get_by_label("amount").fill("lots")
    form = page.get_by_test_id("run-form")
    form.locator('[data-key="CheckStock"]').get_by_label("This output").check()
    form.locator('[data-key="CheckStock"]').get_by_role("textbox").fill("{not json")
    owner.shot("01-run-form")
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("run-test-problem")).to_contain_text("This is not JSON")
    expect(page.get_by_test_id("run-input-problem")).to_contain_text("A number is needed")
    expect(page.get_by_label("order_id")).to_have_value("A-17")
    expect(page.get_by_label("amount")).to_have_value("lots")
    owner.shot("02-run-form-refused")
    # The refusal is a 422 page, which Chromium reports as the one console error: expected here.
    assert len(owner.console_errors) == 1
    assert "status of 422" in owner.console_errors.pop()
    assert not Run.objects.for_tenant(tenant).exists()

    # A run halfway through its parallel block: each node's state, and a line per event.
    run = half_run(version, users)
    publish(run, *selectors.events_of(run))
    page.goto(f"/t/{tenant.slug}/runs/{run.pk}/")
    expect(page.get_by_test_id("run-state")).to_have_text("Running")
    state_of(page, "check").to_have_attribute("data-state", "succeeded")
    state_of(page, "fan_out").to_have_attribute("data-state", "running")
    state_of(page, "notify").to_have_attribute("data-state", "running")
    state_of(page, "ship").to_have_attribute("data-state", "pending")
    expect(page.get_by_test_id("run-event")).to_have_count(9)
    page.get_by_test_id("run-event").nth(2).locator("summary").click()
    expect(page.get_by_test_id("run-event").nth(2)).to_contain_text('"in_stock": true')
    owner.shot("03-run-live")

    # Live: two events whose frames are published out of order still show in their order.
    notified = add_event(
        run, "node_finished", "notify", "succeeded", label="Notify the customer", output="sent"
    )
    joined = add_event(
        run, "node_finished", "fan_out", "succeeded", label="Invoice and notify", duration_ms=40
    )
    publish(run, joined)
    publish(run, notified)
    state_of(page, "notify").to_have_attribute("data-state", "succeeded")
    state_of(page, "fan_out").to_have_attribute("data-state", "succeeded")
    expect(page.get_by_test_id("run-event")).to_have_count(11)
    assert shown_lines(page) == sorted(shown_lines(page))

    # Reloaded mid-run, with an event stored whose frame is not sent yet: the page shows it
    # from the database, the frame comes after the reload, and the line is there once.
    shipping = add_event(run, "node_started", "ship", label="Ship it")
    page.reload()
    expect(page.get_by_test_id("run-event")).to_have_count(12)
    owner.shot("04-reloaded-mid-run")
    publish(run, shipping)
    shipped = add_event(run, "node_finished", "ship", "succeeded", label="Ship it", output={"carrier": "DHL"})
    publish(run, shipped)
    state_of(page, "ship").to_have_attribute("data-state", "succeeded")
    Run.objects.for_tenant(tenant).filter(pk=run.pk).update(
        status=Run.Status.SUCCEEDED, outputs={"order_id": "A-1"}, finished_at=timezone.now()
    )
    publish(run, add_event(run, "workflow_finished", status="succeeded", variables={"order_id": "A-1"}))
    expect(page.get_by_test_id("run-state")).to_have_text("Succeeded")
    state_of(page, "review").to_have_attribute("data-state", "skipped")
    expect(page.get_by_test_id("run-again")).to_be_visible()  # the owner's buttons, fetched at the end
    expect(page.get_by_test_id("run-event")).to_have_count(14)
    every = list(selectors.events_of(run).values_list("pk", flat=True))
    assert shown_lines(page) == every, "every event once, in order"
    owner.shot("05-finished")

    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.context.add_cookies(owner.context.cookies())
    phone.page.goto(f"/t/{tenant.slug}/runs/{run.pk}/")
    expect(phone.page.get_by_test_id("run-event")).to_have_count(14)
    phone.shot("06-finished-phone")
    phone.page.goto(f"/t/{tenant.slug}/workflows/{version.workflow_id}/versions/1/run/")
    phone.shot("07-run-form-phone")
    forget_run_frames()
