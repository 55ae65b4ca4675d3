"""An admin creates an API key (shown once), sees it work, and revokes it after confirming;
on a phone, a viewer reads the keys without any way to change them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from api import services
from api.authentication import authenticate
from tests.conftest import TenantUsers
from tests.factories import PASSWORD

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


def test_an_admin_creates_a_key_and_revokes_it(tenant_users: TenantUsers, people: Any) -> None:
    desk = people("desktop", viewport={"width": 1280, "height": 900})
    page = desk.page
    log_in(page, tenant_users.admin.email)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="API keys").click()
    expect(page.get_by_test_id("no-keys")).to_be_visible()
    desk.shot("01-no-keys")

    page.get_by_label("Name").fill("billing sync")
    page.get_by_label("Gateway (OpenAI- and Anthropic-compatible model calls)").check()
    page.get_by_label("Runs (start and follow workflow runs)").check()
    page.get_by_label("Expires after (days)").fill("90")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_test_id("new-api-key")
    expect(shown).to_be_visible()
    plaintext = shown.input_value()
    key = authenticate({"Authorization": f"Bearer {plaintext}"})
    assert key is not None
    assert key.scopes == ["gateway", "runs"]
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("key-status")).to_have_text("active")
    no_wider_than_the_screen(page)
    desk.shot("02-key-shown-once")

    page.reload()
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    assert plaintext not in page.content()
    expect(page.get_by_test_id("key-prefix")).to_have_text(f"{key.prefix}…")

    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_test_id("key-revoke").click()
    expect(page.get_by_test_id("key-status")).to_have_text("revoked")
    assert len(dialogs) == 1
    assert "billing sync" in dialogs[0]
    assert authenticate({"x-api-key": plaintext}) is None
    expect(page.get_by_test_id("key-events")).to_contain_text("revoked by admin@acme.test")
    desk.shot("03-revoked")
    assert desk.console_errors == []


def test_a_viewer_on_a_phone_reads_the_keys(tenant_users: TenantUsers, people: Any) -> None:
    services.api_key_create(
        tenant=tenant_users.tenant,
        actor=tenant_users.owner,
        name="nightly export",
        scopes=["workflows", "generations"],
    )
    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.page
    log_in(page, tenant_users.viewer.email)
    page.goto("/t/acme/api-keys/")
    expect(page.get_by_test_id("key-row")).to_have_count(1)
    expect(page.get_by_test_id("key-form")).to_have_count(0)
    expect(page.get_by_test_id("key-revoke")).to_have_count(0)
    expect(page.get_by_text("Your role can see the keys")).to_be_visible()
    no_wider_than_the_screen(page)
    phone.shot("01-viewer")
    assert phone.console_errors == []
