"""An admin adds a provider key, tries it with a streamed reply, then finds the call in the
logs and on the usage plot: in a real Chromium against daphne and the OpenAI emulator."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.emulators.fixtures import openai_emulator, openai_emulator_server
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["openai_emulator", "openai_emulator_server"]

PASSWORD = "correct horse battery staple"
KEY = "sk-journey-0123456789abcdef"


def test_add_a_key_try_it_and_find_the_call(
    people: Any, live_server_url: str, openai_emulator: EmulatorServer
) -> None:
    admin = people("admin")
    page = admin.page
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Gateway Labs")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Providers").click()
    expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()

    page.get_by_label("Name").fill("team-openai")
    page.get_by_label("Kind").select_option("openai")
    page.get_by_label("Default model").fill("gpt-6-sol")
    page.get_by_label("Base URL").fill(openai_emulator.base_url)
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Add key").click()
    row = page.get_by_test_id("provider-row").filter(has_text="team-openai")
    expect(row).to_contain_text("••••cdef")
    assert KEY not in page.content()
    admin.shot("01-key-added")

    openai_emulator.push(
        Reply(
            "Hello from the emulator, one token at a time.",
            tokens=8,
            token_latency=0.15,
            input_tokens=9,
            output_tokens=8,
        )
    )
    page.get_by_label("Provider", exact=True).select_option("team-openai")
    page.get_by_label("Prompt", exact=True).fill("Say hello")
    page.get_by_role("button", name="Send").click()
    output = page.get_by_test_id("try-output")
    expect(output).to_contain_text("Hello from")  # part of the reply, while the rest still streams
    partial = output.inner_text()
    assert partial != "Hello from the emulator, one token at a time."
    expect(page.get_by_test_id("try-status")).to_have_text("done (stop)")
    expect(output).to_have_text("Hello from the emulator, one token at a time.")
    expect(page.get_by_test_id("try-usage")).to_have_text("9 + 8 tokens")
    expect(page.get_by_test_id("try-meta")).to_contain_text("team-openai")
    assert openai_emulator.last_request.api_key == KEY
    admin.shot("02-tried-streaming")

    page.get_by_role("navigation", name="Gateway").get_by_role("link", name="Logs").click()
    rows = page.get_by_test_id("log-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("team-openai")
    expect(rows.first).to_contain_text("Completed")
    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("log-facts")).to_contain_text("9 in, 8 out")
    expect(page.get_by_text("Say hello")).to_be_visible()
    admin.shot("03-log-record")

    # No rollup runs here: the Usage page counts the call the moment its log row is written.
    page.get_by_role("navigation", name="Gateway").get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("usage-requests")).to_have_text("1")
    expect(page.get_by_test_id("chart")).to_have_count(4)
    assert page.locator("[data-testid=chart] polyline").count() >= 7
    # A call in the window: no chart may say there were none (the Cost chart once did).
    expect(page.get_by_text("No calls in this window.")).to_have_count(0)
    admin.shot("04-usage-plot")

    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the Usage page is {overflow}px wider than a phone"
    admin.shot("05-usage-on-a-phone")

    page.get_by_test_id("usage-calls-card").click()
    expect(page.get_by_test_id("log-count")).to_contain_text("1 call started in the last 24h")
    expect(page.get_by_test_id("log-row")).to_have_count(1)
    admin.shot("06-the-windows-calls-on-a-phone")
