"""Per-tenant quotas: reserved atomically before the call, settled after, shared via Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import gateway, quotas, services
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, Message, Task
from providers.models import ProviderLog
from tenants.models import Tenant
from tests.emulators.script import Reply
from tests.emulators.server import EmulatorServer
from tests.factories import TenantFactory
from tests.gateway_fixtures import ANTHROPIC_KEY
from tests.providers.peers import Peer

pytestmark = pytest.mark.django_db(transaction=True)


def limited_tenant(**limits: Any) -> Tenant:
    tenant = TenantFactory.create(plan=Tenant.Plan.ENTERPRISE)
    services.gateway_settings_update(
        tenant=tenant,
        store_content=True,
        requests_per_minute=limits.get("rpm"),
        monthly_token_budget=limits.get("tokens"),
        monthly_cost_budget_usd=limits.get("cost"),
    )
    return tenant


def ask(tenant: Tenant, max_tokens: int = 100) -> GatewayRequest:
    return GatewayRequest(
        task=Task.API,
        messages=(Message("user", "hi"),),
        tenant_id=tenant.pk,
        provider="anthropic",
        max_tokens=max_tokens,
        deadline_seconds=30,
    )


async def attempt(tenant: Tenant, max_tokens: int = 100) -> str:
    try:
        await gateway.complete(ask(tenant, max_tokens))
    except ProviderError as error:
        return error.code.value
    return "ok"


async def test_the_requests_per_minute_limit_refuses_without_calling_upstream(
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:
    anthropic, _openai = platform
    tenant = await sync_to_async(limited_tenant)(rpm=2)
    assert [await attempt(tenant) for _ in range(3)] == ["ok", "ok", "rate_limited"]
    assert len(anthropic.requests) == 2
    refused = await sync_to_async(
        ProviderLog.objects.for_tenant(tenant).filter(error_code="rate_limited").get
    )()
    assert refused.attempts == 0


async def test_the_token_budget_refuses_the_request_that_would_exceed_it(
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:
    anthropic, _openai = platform
    tenant = await sync_to_async(limited_tenant)(tokens=500)
    anthropic.push(Reply("ok", input_tokens=5, output_tokens=195))
    assert await attempt(tenant, max_tokens=200) == "ok"  # holds ~205, uses 200
    assert await attempt(tenant, max_tokens=400) == "budget_exceeded"  # 200 used + ~405 > 500
    assert len(anthropic.requests) == 1
    usage = quotas.month_usage(tenant_id=tenant.pk)
    assert (usage.used_tokens, usage.reserved_tokens) == (200, 0)


async def test_the_cost_budget_counts_real_spend(platform: tuple[EmulatorServer, EmulatorServer]) -> None:
    anthropic, _openai = platform
    tenant = await sync_to_async(limited_tenant)(cost=Decimal("0.01"))
    # claude-sonnet-5-5 at $10 per million output tokens: each call spends $0.004 and holds
    # at most $0.00401 while it runs.
    anthropic.push(*[Reply("spent", input_tokens=0, output_tokens=400)] * 3)
    assert [await attempt(tenant, max_tokens=400) for _ in range(3)] == ["ok", "ok", "budget_exceeded"]
    assert len(anthropic.requests) == 2
    assert quotas.month_usage(tenant_id=tenant.pk).used_cost_usd == pytest.approx(0.008)


async def test_without_its_counter_store_the_gateway_fails_closed(
    platform: tuple[EmulatorServer, EmulatorServer], settings: Any
) -> None:
    anthropic, _openai = platform
    tenant = await sync_to_async(limited_tenant)(rpm=100)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(ask(tenant))
    assert raised.value.code is ErrorCode.SERVER_ERROR
    assert "usage counters are unavailable" in raised.value.message
    assert anthropic.requests == []


async def test_two_processes_with_fifty_calls_each_admit_no_more_than_the_budget(
    platform: tuple[EmulatorServer, EmulatorServer],
) -> None:
    anthropic, _openai = platform
    # Each call holds its worst case, 100 output tokens plus 5 of prompt, and really uses
    # all of it, so settling frees nothing: whatever the timing, 9 calls fit in 1000 tokens.
    tenant = await sync_to_async(limited_tenant)(tokens=1000)
    for _ in range(100):
        anthropic.push(Reply("slow", first_token_latency=0.5, input_tokens=5, output_tokens=100))
    peer = Peer(
        {"count": 50, "provider": "anthropic", "tenant_id": tenant.pk, "max_tokens": 100},
        {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": anthropic.base_url},
    )
    peer.go()
    here = await asyncio.gather(*(attempt(tenant) for _ in range(50)))
    there = [r.get("code", "ok") for r in peer.results()]
    everything = list(here) + there
    admitted = everything.count("ok")
    assert admitted == 9, everything
    assert everything.count("budget_exceeded") == 91
    assert len(anthropic.requests) == 9
    usage = quotas.month_usage(tenant_id=tenant.pk)
    assert usage.reserved_tokens == 0
    assert usage.used_tokens == 9 * 105


def test_stale_reservations_are_released() -> None:
    from asgiref.sync import async_to_sync

    limits = quotas.Limits(requests_per_minute=None, monthly_tokens=1000, monthly_cost_usd=None)
    async_to_sync(quotas.reserve)(
        tenant_id=4242,
        request_id="req_dead",
        limits=limits,
        tokens=600,
        cost_usd=0.0,
        hold_seconds=1,
        now=1_000,
    )
    assert quotas.release_stale(tenant_id=4242, now=1_000) == 0
    assert quotas.release_stale(tenant_id=4242, now=1_002) == 1
