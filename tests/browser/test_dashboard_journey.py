"""A new tenant's owner is told what to do first, does it, and finds it on the dashboard: in a
real Chromium, on a desktop and on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from providers.interface import Task
from tenants.models import Tenant
from tests.browser.test_conversation_journeys import team_anthropic
from tests.emulators.fixtures import anthropic_emulator, anthropic_emulator_server
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import model_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["anthropic_emulator", "anthropic_emulator_server", "model_prices"]

PASSWORD = "correct horse battery staple"


def no_wider_than_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_a_new_owner_follows_the_first_step_and_finds_it_done(
    people: Any, live_server_url: str, anthropic_emulator: EmulatorServer, model_prices: None
) -> None:
    desk = people("desktop", viewport={"width": 1280, "height": 900})
    page = desk.page
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Olivia Owner")
    page.get_by_label("Email").fill("olivia@northwind.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Northwind Telecom")
    page.get_by_role("button", name="Create account").click()
    dashboard = f"{live_server_url}/t/northwind-telecom/"
    expect(page).to_have_url(dashboard)

    steps = page.get_by_test_id("next-step")
    expect(page.get_by_role("heading", name="Get started")).to_be_visible()
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Start a service interview")
    expect(steps.nth(1)).to_contain_text("Add a provider key")
    expect(steps.nth(2)).to_contain_text("Invite a colleague")
    expect(page.get_by_test_id("steps-progress")).to_have_text("0 of 3 done")
    expect(page.get_by_test_id("no-work")).to_be_visible()
    no_wider_than_the_screen(page)
    desk.shot("01-new-tenant")

    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.page.goto("/accounts/login/")
    phone.page.get_by_label("Email").fill("olivia@northwind.test")
    phone.page.get_by_label("Password").fill(PASSWORD)
    phone.page.get_by_role("button", name="Log in").click()
    expect(phone.page).to_have_url(dashboard)
    expect(phone.page.get_by_test_id("next-step")).to_have_count(3)
    no_wider_than_the_screen(phone.page)
    phone.shot("01-new-tenant")

    # The interview's first question comes from the tenant's key, answered by the emulator.
    tenant = Tenant.objects.get(slug="northwind-telecom")
    team_anthropic(tenant, anthropic_emulator, Task.CONVERSATION)
    anthropic_emulator.push(
        Reply("Which kind of network service do you want to offer?", tokens=8, token_latency=0.02)
    )

    page.get_by_role("link", name="Start a service interview").click()
    expect(page).to_have_url(f"{dashboard}services/new/")
    page.get_by_label("Name").fill("Branch office firewall")
    page.get_by_role("button", name="Start the interview").click()
    expect(page.get_by_role("heading", name="Branch office firewall")).to_be_visible()
    expect(page.locator('[data-testid="message"][data-role="assistant"][data-state="done"]')).to_have_count(
        1, timeout=30_000
    )

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(dashboard)
    expect(page.get_by_role("heading", name="Next steps")).to_be_visible()
    expect(page.get_by_test_id("steps-progress")).to_have_text("2 of 3 done")
    expect(steps.nth(0).get_by_test_id("step-done")).to_be_visible()
    expect(steps.nth(1).get_by_test_id("step-done")).to_be_visible()
    expect(steps.nth(2).get_by_test_id("step-done")).to_have_count(0)
    services = page.get_by_test_id("recent-services")
    expect(services.get_by_test_id("recent-item")).to_have_count(1)
    expect(services.get_by_role("link", name="Branch office firewall")).to_be_visible()
    expect(services).to_contain_text("Gathering")
    expect(page.get_by_test_id("recent-workflows")).to_contain_text("No workflows yet")
    expect(page.get_by_test_id("figure-month_spend")).to_contain_text("spent this month")
    no_wider_than_the_screen(page)
    desk.shot("02-first-service-listed")

    phone.page.reload()
    expect(phone.page.get_by_test_id("recent-services").get_by_test_id("recent-item")).to_have_count(1)
    expect(phone.page.get_by_test_id("steps-progress")).to_have_text("2 of 3 done")
    no_wider_than_the_screen(phone.page)
    phone.shot("02-first-service-listed")

    services.get_by_role("link", name="Branch office firewall").click()
    expect(page.get_by_role("heading", name="Branch office firewall")).to_be_visible()
