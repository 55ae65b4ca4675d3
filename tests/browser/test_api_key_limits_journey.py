"""An admin gives a new API key its own rate limit, on a desktop and on a phone, and reads
the key changes on the page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from api import selectors
from tests.browser.test_api_keys_journey import log_in, no_wider_than_the_screen
from tests.conftest import TenantUsers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
def test_an_admin_limits_a_new_key(
    tenant_users: TenantUsers, people: Any, device: str, viewport: dict[str, int]
) -> None:
    person = people(device, viewport=viewport, is_mobile=device == "phone")
    page = person.page
    log_in(page, tenant_users.admin.email)
    page.goto("/t/acme/api-keys/")
    limit = page.get_by_label("Requests per minute")
    expect(limit).to_be_visible()
    expect(page.get_by_text("organization's limit of 20 model calls a minute")).to_be_visible()
    no_wider_than_the_screen(page)
    person.shot("01-form")

    page.get_by_label("Name").fill("partner portal")
    page.get_by_label("Gateway (OpenAI- and Anthropic-compatible model calls)").check()
    limit.fill("30")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("key-issued")).to_contain_text("up to 30 requests a minute")
    expect(page.get_by_test_id("key-events")).to_contain_text("partner portal")
    (key,) = selectors.api_keys_of_tenant(tenant=tenant_users.tenant)
    assert key.requests_per_minute == 30
    if device == "desktop":
        expect(page.get_by_test_id("key-rate-limit")).to_have_text("30 a minute")
    expect(page.get_by_test_id("key-revoke")).to_be_visible()
    no_wider_than_the_screen(page)
    person.shot("02-created")
    assert person.console_errors == []
