"""A business user changes earlier answers of a finished interview, on a desktop and on a
phone: what was given in the light of the old answer is cleared, the chat says so, and it
is asked again (the Anthropic emulator answers, in a real Chromium against daphne)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conversations.models import TenantBlueprint
from providers.interface import Task
from tenants.models import Tenant
from tests.browser.test_conversation_journeys import (
    PASSWORD,
    question,
    sign_up,
    start_service,
    team_anthropic,
    wait_for_question,
)
from tests.emulators.fixtures import anthropic_emulator, anthropic_emulator_server
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import model_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["anthropic_emulator", "anthropic_emulator_server", "model_prices"]


def notices(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-role="notice"]')


def no_wider_than_the_screen(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def change_answer(page: Page, shown: str, label: str, to: str) -> None:
    """Open an answer of the panel and pick another option, without saving yet."""
    page.get_by_test_id("answers-panel").get_by_role("link", name=shown).click()
    form = page.get_by_test_id("answer-form")
    form.get_by_label(label).select_option(to)


def test_changed_answers_have_what_depended_on_them_asked_again(
    people: Any, live_server_url: str, anthropic_emulator: EmulatorServer, model_prices: None
) -> None:
    desk = people("desktop", viewport={"width": 1280, "height": 900})
    page = desk.page
    sign_up(page, "Edge Networks", "nadia@edge.test")
    tenant = Tenant.objects.get(name="Edge Networks")
    team_anthropic(tenant, anthropic_emulator, Task.CONVERSATION)

    # A firewall on Fortinet, its API, and the rest: the interview runs to its end.
    anthropic_emulator.push(
        question("Which kind of network service do you want to offer?\n\nWhy: it decides the rest.")
    )
    start_service(page, "Branch firewall")
    wait_for_question(page, 1)
    anthropic_emulator.push(
        Reply(
            json.dumps({
                "service_type": "vFirewall",
                "vendor": "Fortinet",
                "features": ["Stateful filtering", "NAT"],
                "pricing_model": "Per user",
            })
        ),
        question("Which Fortinet APIs should the firewall use?\n\nWhy: the generated code calls them."),
    )  # fmt: skip
    page.get_by_label("Your answer").fill(
        "A Fortinet firewall with stateful filtering and NAT, billed per user."
    )
    page.get_by_test_id("send").click()
    wait_for_question(page, 2)
    # A free-text answer to a free-text question is read without a model.
    anthropic_emulator.push(
        question("How should customers authenticate to the firewall?\n\nWhy: it shapes the API gateway.")
    )
    page.get_by_label("Your answer").fill("FortiOS REST API")
    page.get_by_test_id("send").click()
    wait_for_question(page, 3)
    anthropic_emulator.push(question("Where should logs and metrics go?\n\nWhy: operations need them."))
    page.get_by_test_id("chips").get_by_role("button", name="API keys").click()
    wait_for_question(page, 4)
    page.get_by_test_id("chips").get_by_label("Syslog").check()
    page.get_by_test_id("submit-choices").click()
    expect(page.get_by_test_id("complete")).to_be_visible()
    panel = page.get_by_test_id("answers-panel")
    expect(panel.locator('[data-key="api_docs"]')).to_contain_text("FortiOS REST API")
    desk.shot("01-complete")

    # Fortinet becomes Palo Alto Networks: the FortiOS API was given for Fortinet.
    change_answer(page, "Fortinet", "Vendor", "Palo Alto Networks")
    expect(page.get_by_test_id("cleared-by-change")).to_have_text(
        "Changing it clears: API and integration docs (asked again if still relevant)."
    )
    desk.shot("02-changing-the-vendor")
    anthropic_emulator.push(
        question(
            "Which Palo Alto Networks APIs should the firewall use?\n\nWhy: the generated code calls them."
        )
    )
    page.get_by_test_id("answer-form").get_by_role("button", name="Save").click()
    wait_for_question(page, 5)
    expect(notices(page).last).to_have_text(
        "Because you changed Vendor, I will ask again: API and integration docs."
    )
    expect(panel.locator('[data-key="api_docs"]')).to_have_count(0)
    expect(panel.locator('[data-key="vendor"]')).to_contain_text("Palo Alto Networks")
    expect(panel.locator('[data-key="features"]')).to_contain_text("Stateful filtering, NAT")
    expect(page.get_by_test_id("progress")).to_have_text("Step 7 of 7")
    desk.shot("03-api-asked-again")
    page.get_by_label("Your answer").fill("PAN-OS XML API")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(panel.locator('[data-key="api_docs"]')).to_contain_text("PAN-OS XML API")

    # On a phone, the firewall becomes a router: its vendor, features and API are asked again.
    phone = people("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.page
    mobile.goto("/accounts/login/")
    mobile.get_by_label("Email").fill("nadia@edge.test")
    mobile.get_by_label("Password").fill(PASSWORD)
    mobile.get_by_role("button", name="Log in").click()
    mobile.goto(page.url)
    expect(mobile.get_by_test_id("complete")).to_be_visible()
    change_answer(mobile, "vFirewall", "Service type", "vRouter")
    expect(mobile.get_by_test_id("cleared-by-change")).to_have_text(
        "Changing it clears: Vendor, Features, API and integration docs (asked again if still relevant)."
    )
    no_wider_than_the_screen(mobile)
    phone.shot("04-changing-the-service-type")
    anthropic_emulator.push(
        question("Which vendor should the router run on?\n\nWhy: vendors make different routers."),
        Reply(json.dumps({"options": ["Cisco", "Juniper", "MikroTik"]})),
    )
    mobile.get_by_test_id("answer-form").get_by_role("button", name="Save").click()
    wait_for_question(mobile, 6)
    expect(notices(mobile).last).to_have_text(
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
    )
    expect(mobile.get_by_test_id("progress")).to_have_text("Step 5 of 7")
    mobile_panel = mobile.get_by_test_id("answers-panel")
    for key in ("vendor", "features", "api_docs"):
        expect(mobile_panel.locator(f'[data-key="{key}"]')).to_have_count(0)
    no_wider_than_the_screen(mobile)
    phone.shot("05-vendor-asked-again")

    # The desktop page is told too: a reload shows the same.
    page.reload()
    expect(notices(page).last).to_have_text(
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
    )
    notices(page).last.scroll_into_view_if_needed()
    expect(page.get_by_test_id("chips").get_by_role("button", name="MikroTik")).to_be_visible()
    desk.shot("06-desktop-sees-the-change")

    # The features are asked again, for a router, and the API after them.
    anthropic_emulator.push(
        question("Which features should the router include?\n\nWhy: features become its API operations."),
        Reply(json.dumps({"options": ["Static routing", "BGP", "OSPF", "NAT"]})),
    )
    mobile.get_by_test_id("chips").get_by_role("button", name="MikroTik").click()
    wait_for_question(mobile, 7)
    chips = mobile.get_by_test_id("chips")
    chips.get_by_label("BGP").check()
    chips.get_by_label("OSPF").check()
    anthropic_emulator.push(
        question("Which MikroTik APIs should the router use?\n\nWhy: the generated code calls them.")
    )
    mobile.get_by_test_id("submit-choices").click()
    wait_for_question(mobile, 8)
    mobile.get_by_test_id("skip").click()
    expect(mobile.get_by_test_id("complete")).to_be_visible()
    expect(mobile.get_by_test_id("progress")).to_have_text("Complete · 7 of 7 answered")
    expect(mobile_panel.locator('[data-key="features"]')).to_contain_text("BGP, OSPF")
    expect(mobile_panel.locator('[data-key="pricing_model"]')).to_contain_text("Per user")
    no_wider_than_the_screen(mobile)
    phone.shot("07-complete-again")


def test_an_admin_declares_what_an_answer_is_given_in_the_light_of(people: Any, live_server_url: str) -> None:
    desk = people("desktop", viewport={"width": 1280, "height": 900})
    page = desk.page
    sign_up(page, "Edge Networks", "nadia@edge.test")
    page.goto("/t/edge-networks/blueprints/")
    page.get_by_test_id("builtin-blueprints").get_by_role("row", name="Network service").get_by_role(
        "button", name="Copy"
    ).click()
    expect(page.get_by_role("heading", name="Edit Copy of Network service")).to_be_visible()

    # Authentication is asked again when the pricing model changes: tick it among the fields above.
    field = page.get_by_test_id("field-form").filter(
        has=page.get_by_role("heading", name=re.compile("authentication"))
    )
    boxes = field.get_by_role("group", name="Asked again when these answers change")
    expect(boxes.get_by_role("checkbox")).to_have_count(6)  # the six fields above it
    expect(boxes.get_by_label("Service type (service_type)")).not_to_be_checked()
    boxes.get_by_label("Pricing model (pricing_model)").check()
    # The whole editor is long: the field's own card is what these pictures are of.
    field.screenshot(path=str(desk.screenshots / "01-ticking-a-dependency-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    no_wider_than_the_screen(page)
    field.screenshot(path=str(desk.screenshots / "02-ticking-a-dependency-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Save blueprint").first.click()
    expect(page.get_by_text("Saved Copy of Network service")).to_be_visible()

    tenant = Tenant.objects.get(name="Edge Networks")
    copy = TenantBlueprint.objects.for_tenant(tenant).get(name="Copy of Network service").as_blueprint()
    assert copy.dependents("pricing_model") == ["authentication"]
