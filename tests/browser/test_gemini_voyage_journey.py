"""An admin adds a Gemini key and a Voyage AI key: Gemini streams a reply in "Try it" through
google-genai against the Gemini emulator; Voyage, which only embeds, is shown as such and
"Try it" does not offer it. At desktop and phone widths."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.emulators.fixtures import (
    gemini_emulator,
    gemini_emulator_server,
    voyage_emulator,
    voyage_emulator_server,
)
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["gemini_emulator", "gemini_emulator_server", "voyage_emulator", "voyage_emulator_server"]

PASSWORD = "correct horse battery staple"
GEMINI_KEY = "AIzaSy-journey-0123456789abcd"
VOYAGE_KEY = "pa-journey-0123456789abcdef"


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
def test_add_gemini_and_voyage_keys_and_try_them(
    people: Any,
    gemini_emulator: EmulatorServer,
    voyage_emulator: EmulatorServer,
    device: str,
    viewport: dict[str, int],
) -> None:
    admin = people(device, viewport=viewport, is_mobile=device == "phone")
    page = admin.page
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Organization name").fill("Gateway Labs")
    page.get_by_role("button", name="Create account").click()
    page.goto(page.url.split("/t/")[0] + "/t/gateway-labs/providers/")
    expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
    admin.shot("01-the-form")

    page.get_by_label("Name").fill("team-gemini")
    page.get_by_label("Kind").select_option("gemini")
    page.get_by_label("Default model").fill("gemini-2.5-flash")
    page.get_by_label("Base URL").fill(gemini_emulator.base_url)
    page.get_by_label("API key").fill(GEMINI_KEY)
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_test_id("provider-row").filter(has_text="team-gemini")).to_contain_text("gemini")

    page.get_by_label("Name").fill("team-vectors")
    page.get_by_label("Kind").select_option("voyage")
    page.get_by_label("Default model").fill("voyage-3.5")
    page.get_by_label("Base URL").fill(voyage_emulator.base_url)
    page.get_by_label("API key").fill(VOYAGE_KEY)
    page.get_by_role("button", name="Add key").click()
    vectors = page.get_by_test_id("provider-row").filter(has_text="team-vectors")
    expect(vectors.get_by_test_id("fit-for")).to_have_text("embeddings only")
    admin.shot("02-keys-added")

    gemini_emulator.push(Reply("Hello from Gemini, piece by piece.", tokens=6, token_latency=0.1))
    page.get_by_label("Provider", exact=True).select_option("team-gemini")
    page.get_by_label("Prompt", exact=True).fill("Say hello")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("try-status")).to_have_text("done (stop)")
    expect(page.get_by_test_id("try-output")).to_have_text("Hello from Gemini, piece by piece.")
    assert gemini_emulator.last_request.headers["x-goog-api-key"] == GEMINI_KEY
    admin.shot("03-gemini-tried")

    # Voyage answers no prompt, so "Try it" does not offer it.
    offered = page.get_by_label("Provider", exact=True).locator("option").all_inner_texts()
    assert "team-gemini" in offered
    assert "team-vectors" not in offered
    assert voyage_emulator.requests == []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the Providers page is {overflow}px wider than the screen"
    admin.shot("04-voyage-only-embeds")
