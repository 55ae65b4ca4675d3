"""A real EventSource in Chromium reads a request's stream: the key in `?api_key=` (an
EventSource sends no headers), every event with its id, and no reconnecting once it ended."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from playwright.sync_api import Browser

from api import services as key_services
from tests.api.inference.conftest import team_anthropic
from tests.api.inference.live import submit
from tests.browser.conftest import browser
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects the stream's events until `complete` or `error`, then closes the EventSource.
READ = """
(url) => new Promise((resolve, reject) => {
  const seen = [];
  const source = new EventSource(url);
  const take = (event) => {
    seen.push({id: event.lastEventId, type: event.type, data: JSON.parse(event.data)});
    if (event.type === "complete" || event.type === "error") { source.close(); resolve(seen); }
  };
  for (const type of ["start", "token", "complete"]) source.addEventListener(type, take);
  // The stream's own `error` event carries data; the EventSource's connection errors do not.
  source.addEventListener("error", (event) => event.data ? take(event) : null);
  const giveUp = () => { source.close(); reject(new Error("no ending: " + JSON.stringify(seen))); };
  setTimeout(giveUp, 30000);
})
"""


def test_an_eventsource_in_chromium_reads_the_stream_with_the_key_in_the_query(
    browser: Browser,
    issued: key_services.IssuedApiKey,
    anthropic_emulator: EmulatorServer,
    model_prices: None,
    live_server_url: str,
    celery_worker_process: subprocess.Popen[bytes],
) -> None:
    team_anthropic(issued.key.tenant, anthropic_emulator)
    anthropic_emulator.push(Reply("Streams reach browsers too", token_latency=0.05))
    request_id = submit(live_server_url, issued.plaintext)["request_id"]
    page = browser.new_page()
    page.goto(f"{live_server_url}/accounts/login/")  # the API's own origin: no CORS involved
    url = f"/api/v1/stream/{request_id}?api_key={issued.plaintext}"

    events: list[dict[str, Any]] = page.evaluate(READ, url)

    assert [event["type"] for event in events] == ["start", "token", "token", "token", "token", "complete"]
    assert [event["id"] for event in events] == ["1", "2", "3", "4", "5", "6"]
    assert "".join(event["data"]["data"] for event in events if event["type"] == "token") == (
        "Streams reach browsers too"
    )
    # Resumed after the fourth event, as EventSource resumes after a dropped connection.
    rest: list[dict[str, Any]] = page.evaluate(READ, f"{url}&last_event_id=4")
    assert [event["id"] for event in rest] == ["5", "6"]
    page.close()
