"""A business user interviews with the assistant until the requirements are complete: in a
real Chromium against daphne, with the Anthropic emulator or the embedded model answering."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from providers import services as provider_services
from providers.interface import Task
from tenants.models import Tenant
from tests.emulators.fixtures import anthropic_emulator, anthropic_emulator_server
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import model_prices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["anthropic_emulator", "anthropic_emulator_server", "model_prices"]

PASSWORD = "correct horse battery staple"


def sign_up(page: Page, organization: str, email: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Nadia Network")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill(organization)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()


def team_anthropic(tenant: Tenant, emulator: EmulatorServer, task: Task) -> None:
    """The tenant's own Anthropic key ("team-anthropic"), served by the emulator, alone on `task`'s route."""
    provider_services.credential_create(
        tenant=tenant,
        actor=None,
        name="team-anthropic",
        kind="anthropic",
        api_key="sk-ant-journey-0123456789",
        default_model="claude-sonnet-5-5",
        base_url=emulator.base_url,
    )
    provider_services.route_set(tenant=tenant, task=task, targets=[{"provider": "team-anthropic"}])


def start_service(page: Page, title: str, blueprint: str = "Network service") -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Services", exact=True).click()
    page.get_by_test_id("new-service").click()
    page.get_by_label(blueprint).check()
    page.get_by_label("Name").fill(title)
    page.get_by_role("button", name="Start the interview").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def questions(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-role="assistant"][data-state="done"]')


def wait_for_question(page: Page, number: int) -> None:
    """The `number`th question has finished streaming and its answering controls are shown."""
    expect(questions(page)).to_have_count(number, timeout=60_000)
    expect(page.get_by_test_id("message-form")).to_be_visible()


def question(text: str) -> Reply:
    return Reply(text, tokens=max(4, len(text.split())), token_latency=0.02, input_tokens=120)


def test_a_network_service_interview_to_the_end_with_one_answer_changed(
    people: Any, live_server_url: str, anthropic_emulator: EmulatorServer, model_prices: None
) -> None:
    nadia = people("nadia")
    page = nadia.page
    sign_up(page, "Edge Networks", "nadia@edge.test")
    tenant = Tenant.objects.get(name="Edge Networks")
    team_anthropic(tenant, anthropic_emulator, Task.CONVERSATION)

    anthropic_emulator.push(
        question(
            "Which kind of network service do you want to offer?\n\nWhy: it decides the vendors and APIs."
        )
    )
    start_service(page, "Branch firewall")
    wait_for_question(page, 1)
    expect(page.get_by_test_id("progress")).to_have_text("Step 1 of 7")
    expect(questions(page).first).to_contain_text("team-anthropic · claude-sonnet-5-5")
    expect(page.get_by_test_id("chips").get_by_role("button", name="vFirewall")).to_be_visible()
    nadia.shot("01-first-question")

    # One sentence answers three questions; the model's reading is validated, then the next
    # open question (features) comes with options the model proposed.
    anthropic_emulator.push(
        Reply(json.dumps({"service_type": "vFirewall", "vendor": "Fortinet", "pricing_model": "Per user"})),
        question("Which features should the firewall include?\n\nWhy: they set the licence tier."),
        Reply(
            json.dumps({"options": ["Stateful filtering", "Intrusion prevention", "SSL inspection", "NAT"]})
        ),
    )
    page.get_by_label("Your answer").fill("A firewall on Fortinet, billed per user.")
    page.get_by_test_id("send").click()
    wait_for_question(page, 2)
    panel = page.get_by_test_id("answers-panel")
    expect(panel).to_contain_text("vFirewall")
    expect(panel).to_contain_text("Fortinet")
    expect(panel).to_contain_text("Per user")
    expect(page.get_by_test_id("progress")).to_have_text("Step 4 of 7")
    nadia.shot("02-three-answers-from-one-sentence")

    anthropic_emulator.push(
        question("Where are the API docs of the firewall?\n\nWhy: we integrate with them.")
    )
    chips = page.get_by_test_id("chips")
    chips.get_by_label("SSL inspection").check()
    chips.get_by_label("NAT").check()
    page.get_by_test_id("submit-choices").click()
    wait_for_question(page, 3)
    expect(panel).to_contain_text("SSL inspection, NAT")

    anthropic_emulator.push(question("How do API clients authenticate?\n\nWhy: it shapes the gateway."))
    page.get_by_test_id("skip").click()
    wait_for_question(page, 4)
    expect(panel.locator('[data-key="api_docs"]')).to_contain_text("skipped")

    anthropic_emulator.push(question("What should be logged or monitored?\n\nWhy: operations need it."))
    page.get_by_test_id("chips").get_by_role("button", name="OAuth 2.0 client credentials").click()
    wait_for_question(page, 5)
    page.get_by_test_id("chips").get_by_label("Syslog").check()
    page.get_by_test_id("submit-choices").click()
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("progress")).to_have_text("Complete · 7 of 7 answered")
    expect(page.locator('[data-role="notice"]').last).to_contain_text("All set.")
    cost = page.get_by_test_id("cost").inner_text()
    assert cost.startswith("Assistant cost so far: $")
    assert cost != "Assistant cost so far: $0.0000"
    nadia.shot("03-complete")

    # Change the service type to a VPN: what was given in the light of a firewall (its vendor,
    # features and API docs) is asked again, and the VPN protocols now apply.
    anthropic_emulator.push(
        question("Which vendor should the VPN run on?\n\nWhy: vendors make different gateways."),
        Reply(json.dumps({"options": ["Fortinet", "Palo Alto Networks", "Cisco"]})),
    )
    panel.get_by_role("link", name="vFirewall").click()
    page.get_by_test_id("answer-form").get_by_label("Service type").select_option("vVPN")
    page.get_by_test_id("answer-form").get_by_role("button", name="Save").click()
    wait_for_question(page, 6)
    expect(page.get_by_test_id("progress")).to_have_text("Step 5 of 8")
    asked_again = (
        "Because you changed Service type, I will ask again: Vendor, Features, API and integration docs."
    )
    expect(page.locator('[data-role="notice"]').filter(has_text=asked_again)).to_have_count(1)
    anthropic_emulator.push(question("Which VPN protocols must it support?\n\nWhy: clients depend on them."))
    page.get_by_test_id("chips").get_by_role("button", name="Fortinet").click()
    wait_for_question(page, 7)
    anthropic_emulator.push(
        question("Which features should the VPN include?\n\nWhy: they set the licence tier."),
        Reply(json.dumps({"options": ["Split tunnelling", "Always-on VPN", "NAT"]})),
    )
    page.get_by_test_id("chips").get_by_label("WireGuard").check()
    page.get_by_test_id("submit-choices").click()
    wait_for_question(page, 8)
    anthropic_emulator.push(question("Where are the API docs of the VPN?\n\nWhy: we integrate with them."))
    page.get_by_test_id("chips").get_by_label("Split tunnelling").check()
    page.get_by_test_id("chips").get_by_label("NAT").check()
    page.get_by_test_id("submit-choices").click()
    wait_for_question(page, 9)
    page.get_by_test_id("skip").click()
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("progress")).to_have_text("Complete · 8 of 8 answered")
    nadia.shot("04-changed-and-complete-again")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download requirements (JSON)").click()
    requirements = json.loads(download.value.path().read_text())["requirements"]
    assert requirements["service_type"]["value"] == "vVPN"
    assert requirements["vpn_protocols"]["value"] == ["WireGuard"]
    assert requirements["features"]["value"] == ["Split tunnelling", "NAT"]
    assert requirements["api_docs"]["value"] is None

    # Every model call of the interview was a user-data message inside delimiters.
    extraction = anthropic_emulator.requests[1].body
    assert "<<<USER_DATA" in extraction["messages"][0]["content"]
    assert "A firewall on Fortinet" not in extraction["system"]


def test_a_reload_mid_answer_shows_the_text_so_far_and_continues(
    people: Any, live_server_url: str, anthropic_emulator: EmulatorServer, model_prices: None
) -> None:
    nadia = people("nadia")
    page = nadia.page
    sign_up(page, "Reload Networks", "nadia@reload.test")
    tenant = Tenant.objects.get(name="Reload Networks")
    team_anthropic(tenant, anthropic_emulator, Task.CONVERSATION)
    words = [f"word{n}" for n in range(40)]
    text = "Which kind of network service? " + " ".join(words)
    anthropic_emulator.push(Reply(text, tokens=45, token_latency=0.12))

    start_service(page, "Slow answer")
    live = page.get_by_test_id("live-text")
    expect(live).to_contain_text("word3")
    nadia.shot("01-streaming")
    page.reload()
    expect(page.get_by_test_id("live-text")).to_contain_text("word5")  # the text so far, then more
    nadia.shot("02-reloaded-mid-answer")
    wait_for_question(page, 1)
    shown = questions(page).first.locator(".msg-body").inner_text()
    assert shown == text, "the answer continues after the reload without gaps or repeats"
    assert len(anthropic_emulator.requests) == 1, "the reload joined the stream, it did not ask again"


def test_an_interview_with_only_the_embedded_model_reaches_the_end(people: Any, live_server_url: str) -> None:
    """No provider keys at all: the embedded model is fit only to read answers, so every
    question is asked at once in the blueprint's own words, labelled as such, and nothing a
    small model wrote is ever shown as a question."""
    nadia = people("nadia", viewport={"width": 1280, "height": 900})
    page = nadia.page
    sign_up(page, "Offline Networks", "nadia@offline.test")
    start_service(page, "Offline firewall")
    wait_for_question(page, 1)
    first = questions(page).first
    expect(first).to_contain_text("Which kind of network service do you want to offer?")
    expect(first.locator(".badge")).to_have_text("standard question")
    expect(first).not_to_contain_text("embedded")
    nadia.shot("01-first-question-offline")
    # A sentence, read by the embedded model under the blueprint's grammar (the reading may
    # take it some seconds: the page acknowledges the answer at once).
    page.get_by_label("Your answer").fill("We want to offer a virtual firewall for branch offices")
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("thinking")).to_have_text("Reading your answer…", timeout=5_000)
    for number in range(2, 13):
        page.wait_for_function(
            """n => document.querySelector('[data-testid="complete"]') || document.querySelectorAll(
                '[data-testid="message"][data-role="assistant"][data-state="done"]').length >= n""",
            arg=number,
            timeout=120_000,
        )
        if page.get_by_test_id("complete").count():
            break
        latest = questions(page).last
        expect(latest.locator(".badge")).to_have_text("standard question")
        chips = page.get_by_test_id("chips")
        if page.get_by_test_id("submit-choices").count():
            chips.locator("input[type=checkbox]").first.check()
            page.get_by_test_id("submit-choices").click()
        elif chips.count():
            chips.get_by_role("button").first.click()
        else:
            page.get_by_label("Your answer").fill("https://docs.offline.test/api")
            page.get_by_test_id("send").click()
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("progress")).to_contain_text("Complete")
    shown = " ".join(questions(page).all_inner_texts())
    assert "User:" not in shown
    assert "User_Data" not in shown
    nadia.shot("02-complete-offline")
    page.set_viewport_size({"width": 390, "height": 844})
    nadia.shot("03-complete-offline-phone")
