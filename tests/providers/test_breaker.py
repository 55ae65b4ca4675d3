"""The circuit breaker, shared through Redis by every gateway process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import breaker, gateway
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, Message, Task
from providers.models import CircuitReset, ProviderLog
from providers.services import circuit_reset
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer
from tests.gateway_fixtures import ANTHROPIC_KEY
from tests.providers.peers import Peer

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "platform:anthropic"


def pinned() -> GatewayRequest:
    return GatewayRequest(
        task=Task.API,
        messages=(Message("user", "hi"),),
        provider="anthropic",
        max_tokens=20,
        deadline_seconds=20,
    )


async def outcome() -> str:
    try:
        await gateway.complete(pinned())
    except ProviderError as error:
        return error.code.value
    return "ok"


@pytest.fixture
def one_attempt(platform: tuple[EmulatorServer, EmulatorServer], settings: Any) -> EmulatorServer:
    """Every failed request is one failure of the breaker: no retries."""
    settings.GATEWAY_MAX_ATTEMPTS = 1
    settings.BREAKER_COOLDOWN_SECONDS = 1.0
    return platform[0]


async def test_five_consecutive_failures_open_it_and_no_call_goes_out_while_open(
    one_attempt: EmulatorServer,
) -> None:
    one_attempt.push(*[HttpError(500)] * 5)
    assert [await outcome() for _ in range(5)] == ["server_error"] * 5
    assert breaker.status(KEY).state == breaker.BreakerState.OPEN

    assert await outcome() == "circuit_open"
    assert len(one_attempt.requests) == 5, "no upstream call while open"
    refused = await sync_to_async(
        ProviderLog.objects.dangerously_unscoped().filter(error_code="circuit_open").get
    )()
    assert refused.attempts == 0


async def test_a_success_resets_the_count(one_attempt: EmulatorServer) -> None:
    one_attempt.push(*[HttpError(500)] * 4, Reply("fine"), *[HttpError(500)] * 4)
    results = [await outcome() for _ in range(9)]
    assert results.count("ok") == 1
    assert breaker.status(KEY).state == breaker.BreakerState.CLOSED


async def test_rate_limits_and_bad_requests_do_not_trip_it(one_attempt: EmulatorServer) -> None:
    one_attempt.push(*[HttpError(429, retry_after=0)] * 3, *[HttpError(400)] * 3)
    [await outcome() for _ in range(6)]
    assert breaker.status(KEY) == breaker.BreakerStatus(KEY, breaker.BreakerState.CLOSED, 0, None)


async def test_a_failed_probe_reopens_it(one_attempt: EmulatorServer) -> None:
    one_attempt.push(*[HttpError(500)] * 6)
    [await outcome() for _ in range(5)]
    await asyncio.sleep(1.05)
    assert await outcome() == "server_error", "the probe went out and failed"
    assert breaker.status(KEY).state == breaker.BreakerState.OPEN
    assert await outcome() == "circuit_open"
    assert len(one_attempt.requests) == 6


async def test_across_two_processes_it_opens_refuses_and_admits_exactly_one_probe(
    one_attempt: EmulatorServer, settings: Any
) -> None:
    cooldown = 3.0
    settings.BREAKER_COOLDOWN_SECONDS = cooldown
    peer_env = {
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": one_attempt.base_url,
        "GATEWAY_MAX_ATTEMPTS": "1",
        "BREAKER_COOLDOWN_SECONDS": str(cooldown),
    }
    # Started up front (a Django process takes a while to boot); each waits for its cue. The
    # cooldown is each caller's own setting: the peer that must be refused gets a long one, so
    # a slow machine taking more than `cooldown` between the opening and its calls cannot turn
    # its refusals into a probe.
    failing, probing = (Peer({"count": n, "provider": "anthropic"}, peer_env) for n in (2, 5))
    refused = Peer({"count": 3, "provider": "anthropic"}, {**peer_env, "BREAKER_COOLDOWN_SECONDS": "600"})

    # Three failures here and two in the other process: five in a row, as Redis counts them.
    one_attempt.push(*[HttpError(500)] * 5)
    assert [await outcome() for _ in range(3)] == ["server_error"] * 3
    failing.go()
    assert [r["code"] for r in failing.results()] == ["server_error"] * 2
    assert breaker.status(KEY).state == breaker.BreakerState.OPEN

    # Open: the other process makes no call either.
    refused.go()
    assert [r.get("code", "ok") for r in refused.results()] == ["circuit_open"] * 3
    assert len(one_attempt.requests) == 5

    # After the cooldown, ten requests from two processes at once: one probe goes out.
    one_attempt.push(Reply("probe ok", token_latency=0.1, tokens=5))
    opened_at = breaker.status(KEY).opened_at
    assert opened_at is not None
    await asyncio.sleep(max(0.0, opened_at + cooldown - time.time()) + 0.05)
    probing.go()
    here = await asyncio.gather(*(outcome() for _ in range(5)))
    there = [r.get("code", "ok") for r in probing.results()]
    everything = list(here) + there
    assert everything.count("ok") == 1, everything
    assert everything.count("circuit_open") == 9, everything
    assert len(one_attempt.requests) == 6, "exactly one probe reached the provider"
    assert breaker.status(KEY).state == breaker.BreakerState.CLOSED
    assert await outcome() == "ok"


def test_a_reset_closes_it_and_records_who(one_attempt: EmulatorServer) -> None:
    from asgiref.sync import async_to_sync

    one_attempt.push(*[HttpError(500)] * 5)
    for _ in range(5):
        async_to_sync(outcome)()
    assert breaker.status(KEY).state == breaker.BreakerState.OPEN
    record = circuit_reset(
        breaker_key=KEY, provider="anthropic", tenant=None, actor=None, via="cli", label="ops-alice"
    )
    assert breaker.status(KEY).state == breaker.BreakerState.CLOSED
    assert (record.previous_state, record.reset_via, record.reset_by_label) == ("open", "cli", "ops-alice")
    assert CircuitReset.objects.count() == 1


async def test_without_redis_the_breaker_lets_calls_through(
    one_attempt: EmulatorServer, settings: Any
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    one_attempt.push(Reply("still served"))
    assert await outcome() == "ok"
    assert ErrorCode.CIRCUIT_OPEN.fallbackable
