"""A member gives a published workflow a webhook URL from its page (shown once), replaces and
disables it; on a phone, an admin turns it on again with a new URL."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import TenantUsers
from tests.factories import PASSWORD
from tests.workflows import samples
from workflows import services as workflow_services
from workflows.models import Workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def log_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/t/acme/")


def no_wider_than_the_screen(page: Page) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page is {width}px wide on a {viewport['width']}px screen"


def order_intake(users: TenantUsers) -> Workflow:
    document = samples.workflow(
        [samples.node("note", activity_name="log", input_mapping={"message": "order {{order_id}}"})],
        variables=[samples.variable("order_id", required=True), samples.variable("amount", "number")],
        triggers=[{"trigger_type": "webhook", "config": {}}],
        name="Order intake",
    )
    workflow = workflow_services.workflow_create(
        tenant=users.tenant, actor=users.owner, name="Order intake", document=document
    )
    workflow_services.workflow_publish(workflow=workflow, actor=users.owner)
    return workflow


def test_a_member_makes_replaces_and_disables_the_webhook_url(
    tenant_users: TenantUsers, people: object, live_server_url: str
) -> None:
    workflow = order_intake(tenant_users)
    desk = people("desktop", viewport={"width": 1280, "height": 900})  # type: ignore[operator]
    page = desk.page
    log_in(page, tenant_users.member.email)
    page.goto(f"/t/acme/workflows/{workflow.pk}/")
    page.get_by_test_id("draft-actions").get_by_role("link", name="Webhook", exact=True).click()
    expect(page.get_by_test_id("webhook-none")).to_be_visible()
    desk.shot("01-no-url")

    page.get_by_test_id("webhook-issue").click()
    url = page.get_by_test_id("webhook-url")
    expect(url).to_be_visible()
    first = url.input_value()
    assert first.startswith(f"{live_server_url}/hooks/runs/whk_")
    expect(page.get_by_test_id("webhook-facts")).to_contain_text("on")
    desk.shot("02-url-shown-once")

    page.reload()
    expect(page.get_by_test_id("webhook-url")).to_have_count(0)
    assert first not in page.content()
    desk.shot("03-after-reload")

    page.get_by_test_id("webhook-issue").click()
    expect(page.get_by_test_id("webhook-url")).not_to_have_value(first)
    page.get_by_test_id("webhook-disable").click()
    expect(page.get_by_test_id("webhook-facts")).to_contain_text("disabled")
    expect(page.get_by_test_id("webhook-issue")).to_have_text("Turn on with a new URL")
    desk.shot("04-disabled")

    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)  # type: ignore[operator]
    log_in(phone.page, tenant_users.admin.email)
    phone.page.goto(f"/t/acme/workflows/{workflow.pk}/webhook/")
    expect(phone.page.get_by_test_id("webhook-facts")).to_contain_text("disabled")
    no_wider_than_the_screen(phone.page)
    phone.shot("01-disabled")
    phone.page.get_by_test_id("webhook-issue").click()
    expect(phone.page.get_by_test_id("webhook-url")).to_be_visible()
    no_wider_than_the_screen(phone.page)
    phone.shot("02-url-shown-once")

    # Through the ASGI server: the replaced URL is gone, the new one reads its body.
    assert post(first, b"{}") == 404
    assert post(phone.page.get_by_test_id("webhook-url").input_value(), b"[1]") == 400


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
