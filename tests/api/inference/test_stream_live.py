"""The inference API over real HTTP: daphne, a Celery worker, the Anthropic wire emulator.

A request submitted with POST is answered by the worker; its events reach SSE readers
(httpx) numbered, resumable with Last-Event-ID or `last_event_id`, and the same for
hundreds of readers of one request at once, through one subscription in the server.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import httpx
import pytest

from api import services as key_services
from api.inference.events import STREAM
from core.redis import sync_redis
from core.streams import pubsub_channel
from tests.api.inference.conftest import team_anthropic
from tests.api.inference.live import SseEvent, aparse, parse, read_stream, submit
from tests.conftest import TenantUsers
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

Issued = key_services.IssuedApiKey


@pytest.fixture
def served(
    issued: Issued,
    anthropic_emulator: EmulatorServer,
    model_prices: None,
    live_server_url: str,
    celery_worker_process: subprocess.Popen[bytes],
) -> EmulatorServer:
    """The tenant's API calls go to the emulator, through daphne and the worker."""
    team_anthropic(issued.key.tenant, anthropic_emulator)
    return anthropic_emulator


def test_a_submitted_request_streams_start_tokens_complete_then_has_its_result(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    served.push(Reply("Rust is a systems programming language.", token_latency=0.01))
    submitted = submit(live_server_url, issued.plaintext)

    response, events = read_stream(live_server_url, issued.plaintext, submitted["request_id"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    assert [event.event for event in events] == ["start", *["token"] * 6, "complete"]
    assert events[0].data["request_id"] == submitted["request_id"]
    assert events[1].data == {"chunk": 0, "data": "Rust"}
    assert events[-1].data["status"] == "done"
    text = "".join(event.data["data"] for event in events if event.event == "token")
    result = httpx.get(
        f"{live_server_url}/api/v1/result/{submitted['request_id']}", headers={"x-api-key": issued.plaintext}
    )
    assert result.status_code == 200
    assert (result.json()["status"], result.json()["result"]) == ("completed", text)


def test_a_reader_that_drops_out_resumes_with_last_event_id_without_gaps_or_repeats(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    served.push(Reply(tokens=[f"w{index} " for index in range(40)], token_latency=0.05))
    request_id = submit(live_server_url, issued.plaintext)["request_id"]
    url = f"{live_server_url}/api/v1/stream/{request_id}"

    first: list[SseEvent] = []
    with httpx.stream("GET", url, headers={"x-api-key": issued.plaintext}, timeout=30) as response:
        for event in parse(response.iter_lines()):
            first.append(event)
            if len(first) == 6:
                break  # the connection drops mid-answer
    _response, rest = read_stream(live_server_url, issued.plaintext, request_id, **{"Last-Event-ID": "6"})
    assert rest[0].id == 7, "the answer was still streaming when the reader came back"

    seen = first + rest
    assert [event.id for event in seen] == list(range(1, 43))
    assert seen[-1].event == "complete"
    # The whole stream, replayed now that it has ended, is the same.
    _response, replay = read_stream(live_server_url, issued.plaintext, request_id)
    assert replay == seen
    # As a query parameter (for clients that cannot send headers), the key too.
    with httpx.stream("GET", f"{url}?api_key={issued.plaintext}&last_event_id=40", timeout=30) as response:
        assert [event.id for event in parse(response.iter_lines())] == [41, 42]
    # The header wins over the query parameter (EventSource sends it when it reconnects).
    _response, tail = read_stream(
        live_server_url, issued.plaintext, f"{request_id}?last_event_id=3", **{"Last-Event-ID": "41"}
    )
    assert [event.id for event in tail] == [42]
    done = httpx.get(url, headers={"x-api-key": issued.plaintext, "Last-Event-ID": "42"})
    assert done.status_code == 204


def test_a_failure_upstream_after_tokens_ends_the_stream_with_an_error_event(
    issued: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    from tests.emulators.script import DropAfter

    served.push(Reply("one two three four five", token_latency=0.01, fault=DropAfter(2)))
    request_id = submit(live_server_url, issued.plaintext)["request_id"]
    _response, events = read_stream(live_server_url, issued.plaintext, request_id)
    assert [event.event for event in events] == ["start", "token", "token", "error"]
    assert events[-1].data["status"] == "failed"
    result = httpx.get(
        f"{live_server_url}/api/v1/result/{request_id}", headers={"x-api-key": issued.plaintext}
    )
    assert (result.status_code, result.json()["status"], result.json()["result"]) == (200, "failed", None)


def test_another_tenants_key_finds_nothing_over_http(
    issued: Issued, outsider_key: Issued, served: EmulatorServer, live_server_url: str
) -> None:
    request_id = submit(live_server_url, issued.plaintext)["request_id"]
    for route in ("status", "result", "stream"):
        response = httpx.get(
            f"{live_server_url}/api/v1/{route}/{request_id}", headers={"x-api-key": outsider_key.plaintext}
        )
        assert response.status_code == 404, route
    query = httpx.get(f"{live_server_url}/api/v1/stream/{request_id}?api_key={outsider_key.plaintext}")
    assert query.status_code == 404
    assert httpx.get(f"{live_server_url}/api/v1/stream/{request_id}").status_code == 401


READERS = 300


async def _read_all(url: str, key: str, readers: int) -> tuple[list[list[SseEvent]], list[float]]:
    limits = httpx.Limits(max_connections=readers + 10, max_keepalive_connections=readers + 10)
    opened: list[float] = []

    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def reader() -> list[SseEvent]:
            async with client.stream("GET", url, headers={"x-api-key": key}) as response:
                assert response.status_code == 200, (response.status_code, await response.aread())
                opened.append(time.monotonic())
                return [event async for event in aparse(response.aiter_lines())]

        return list(await asyncio.gather(*(reader() for _ in range(READERS)))), opened


def test_hundreds_of_readers_of_one_request_get_every_event_through_one_subscription(
    issued: Issued, served: EmulatorServer, live_server_url: str, tenant_users: TenantUsers
) -> None:
    served.push(
        Reply(tokens=[f"t{index} " for index in range(80)], first_token_latency=2.0, token_latency=0.04)
    )
    submitted = submit(live_server_url, issued.plaintext)
    request_id = submitted["request_id"]
    url = f"{live_server_url}/api/v1/stream/{request_id}"
    from api.inference.models import InferenceRequest

    pk = InferenceRequest.objects.for_tenant(tenant_users.tenant).get(request_id=request_id).pk
    channel = pubsub_channel(STREAM.group_name(pk))
    subscribers: list[int] = []

    async def watch_subscriptions() -> None:
        # While the answer streams: how many subscriptions to its frames Redis has.
        while True:
            await asyncio.sleep(0.25)
            counts: list[tuple[str, int]] = sync_redis().pubsub_numsub(channel)  # type: ignore[assignment]
            subscribers.append(int(counts[0][1]))

    async def run() -> tuple[list[list[SseEvent]], list[float]]:
        watcher = asyncio.ensure_future(watch_subscriptions())
        try:
            return await _read_all(url, issued.plaintext, READERS)
        finally:
            watcher.cancel()

    started = time.monotonic()
    everything, opened = asyncio.run(run())
    elapsed = time.monotonic() - started

    expected = [event.id for event in everything[0]]
    assert expected == list(range(1, 83)), "start, 80 tokens, complete"
    assert all(events == everything[0] for events in everything), "every reader, every event, once, in order"
    assert max(subscribers) == 1, "one subscription in the server process, whatever the readers"
    print(f"{READERS} SSE readers of one request: all connected after {max(opened) - started:.2f} s, "
          f"all done after {elapsed:.2f} s")  # fmt: skip
