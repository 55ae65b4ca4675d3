from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Chromium on these machines has no network: without these flags it keeps trying to reach
# Google's services and fills the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    # Playwright's sync API keeps an event loop in this thread; Django would then refuse the
    # test's own database calls (flush, fixtures) as if they came from async code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Session:
    """One browser context (a person), recording every console error on its pages.

    A console error fails the journey: it is how Chromium reports a Content-Security-Policy
    violation, a script error or a WebSocket that could not connect.
    """

    def __init__(self, context: BrowserContext, name: str, screenshots: Path) -> None:
        self.context = context
        self.name = name
        self.screenshots = screenshots
        self.console_errors: list[str] = []
        self.page = context.new_page()
        self.watch(self.page)

    def watch(self, page: Page) -> None:
        def record(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        page.on("console", record)
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))

    def shot(self, step: str, page: Page | None = None) -> None:
        (page or self.page).screenshot(path=str(self.screenshots / f"{step}-{self.name}.png"), full_page=True)


@pytest.fixture
def people(
    browser: Browser, live_server_url: str, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[object]:
    screenshots = artifacts_dir / "screenshots" / request.node.name
    screenshots.mkdir(parents=True, exist_ok=True)
    sessions: list[Session] = []

    def person(name: str, **context_options: Any) -> Session:
        context = browser.new_context(base_url=live_server_url, **context_options)
        context.set_default_timeout(10_000)
        session = Session(context, name, screenshots)
        sessions.append(session)
        return session

    yield person
    for session in sessions:
        session.context.close()
    errors = [error for session in sessions for error in session.console_errors]
    assert errors == [], "console errors (CSP violations, script errors) on the pages"
