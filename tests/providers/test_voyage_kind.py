"""The voyage kind against the Voyage AI emulator (tests/emulators/voyage_api.py): embeddings
over our own guarded HTTP client, Voyage's errors normalized, and routing that never sends it
a completion (it serves embeddings only, the reverse of Anthropic)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import gateway, services
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, Message, ProviderCall, Task, Usage
from providers.kinds import ProviderConfig, client_for
from providers.models import ProviderLog
from tests.conftest import TenantUsers
from tests.emulators.script import HttpError, NoResponse, Reply
from tests.emulators.server import EmulatorServer

MODEL = "voyage-3.5"
KEY = "pa-emulator-key-0123456789"
Emulators = tuple[EmulatorServer, EmulatorServer]


def voyage(base_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "name": "voyage-test",
        "kind": "voyage",
        "default_model": MODEL,
        "api_key": KEY,
        "base_url": base_url,
    }
    values.update(overrides)
    return client_for(ProviderConfig(**values))


async def failure(voyage_emulator: EmulatorServer, base_url: str | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await voyage(base_url or voyage_emulator.base_url).embed(["vRouter"], MODEL)
    return raised.value


async def test_embed_posts_input_and_model_and_reads_vectors_and_usage(
    voyage_emulator: EmulatorServer,
) -> None:
    result = await voyage(voyage_emulator.base_url).embed(["vFirewall", "vRouter"], MODEL)
    assert len(result.vectors) == 2
    assert len(result.vectors[0]) == 1024
    assert result.vectors[0] != result.vectors[1]
    assert result.model == MODEL
    assert result.usage == Usage(result.usage.input_tokens, 0)
    assert result.usage.input_tokens > 0
    sent = voyage_emulator.last_request
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"input": ["vFirewall", "vRouter"], "model": MODEL}
    assert sent.headers["authorization"] == f"Bearer {KEY}"


async def test_vectors_come_back_in_input_order(voyage_emulator: EmulatorServer) -> None:
    texts = ["alpha", "bravo", "charlie"]
    expected = (await voyage(voyage_emulator.base_url).embed(texts, MODEL)).vectors
    # The same vectors, listed out of order, as Voyage may: `index` says whose each is.
    shuffled = [{"object": "embedding", "embedding": expected[i], "index": i} for i in (2, 0, 1)]
    body = {"object": "list", "data": shuffled, "model": MODEL, "usage": {"total_tokens": 3}}
    voyage_emulator.push(HttpError(200, body=body), endpoint="embeddings")
    assert (await voyage(voyage_emulator.base_url).embed(texts, MODEL)).vectors == expected


async def test_more_than_a_thousand_texts_go_in_batches(voyage_emulator: EmulatorServer) -> None:
    result = await voyage(voyage_emulator.base_url).embed([f"text {n}" for n in range(1500)], MODEL)
    assert len(result.vectors) == 1500
    assert [len(r.body["input"]) for r in voyage_emulator.requests] == [1000, 500]


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (HttpError(401), ErrorCode.AUTH),
        (HttpError(429, retry_after=2), ErrorCode.RATE_LIMITED),
        (HttpError(500), ErrorCode.SERVER_ERROR),
        (HttpError(503), ErrorCode.OVERLOADED),
        (HttpError(400, message="Request to model 'voyage-3.5' failed. The max allowed tokens per "
                                "submitted batch is 320000."), ErrorCode.BAD_REQUEST),
        (HttpError(502, body="<html><body>Bad gateway</body></html>"), ErrorCode.SERVER_ERROR),
    ],
    ids=["401", "429", "500", "503", "400", "proxy-page"],
)  # fmt: skip
async def test_http_errors_are_normalized(
    voyage_emulator: EmulatorServer, fault: HttpError, code: ErrorCode
) -> None:
    voyage_emulator.push(fault, endpoint="embeddings")
    error = await failure(voyage_emulator)
    assert error.code is code
    assert error.status == fault.status
    assert error.retry_after == (2 if code is ErrorCode.RATE_LIMITED else None)
    assert error.detail, "what Voyage said is kept for the log"


async def test_a_rejected_key_is_auth_and_not_quoted(voyage_emulator: EmulatorServer) -> None:
    voyage_emulator.reject_key(KEY)
    error = await failure(voyage_emulator)
    assert error.code is ErrorCode.AUTH
    assert KEY not in error.message
    assert "Provided API key is invalid" in error.detail


async def test_timeouts_refusals_and_malformed_replies(
    voyage_emulator: EmulatorServer, monkeypatch: Any
) -> None:
    monkeypatch.setattr("providers.kinds.voyage.EMBED_SECONDS", 0.3)
    voyage_emulator.push(NoResponse(), endpoint="embeddings")
    assert (await failure(voyage_emulator)).code is ErrorCode.TIMEOUT
    assert (await failure(voyage_emulator, voyage_emulator.refused_base_url)).code is ErrorCode.CONNECTION
    voyage_emulator.push(HttpError(200, body={"data": "not a list"}), endpoint="embeddings")
    malformed = await failure(voyage_emulator)
    assert (malformed.code, malformed.message) == (
        ErrorCode.SERVER_ERROR,
        "voyage-test sent a malformed response",
    )


async def test_completions_are_refused_without_a_request(voyage_emulator: EmulatorServer) -> None:
    client = voyage(voyage_emulator.base_url)
    call = ProviderCall(model=MODEL, messages=(Message("user", "hi"),))
    with pytest.raises(ProviderError) as raised:
        await client.complete(call)
    assert raised.value.code is ErrorCode.NOT_CAPABLE
    with pytest.raises(ProviderError) as raised:
        [chunk async for chunk in client.stream(call)]
    assert raised.value.code is ErrorCode.NOT_CAPABLE
    assert voyage_emulator.requests == []


async def test_the_probe_embeds_one_word_with_the_default_model(voyage_emulator: EmulatorServer) -> None:
    assert await voyage(voyage_emulator.base_url).list_models() == [MODEL]
    assert voyage_emulator.last_request.body == {"input": ["ping"], "model": MODEL}
    voyage_emulator.reject_key(KEY)
    with pytest.raises(ProviderError) as raised:
        await voyage(voyage_emulator.base_url).list_models()
    assert raised.value.code is ErrorCode.AUTH


async def test_a_tenant_credential_connects_through_the_egress_guard(
    voyage_emulator: EmulatorServer, settings: Any
) -> None:
    """Voyage's calls are our own httpx2 client's: a tenant's base URL is checked."""
    settings.EGRESS_ALLOWED_HOSTS = []
    with pytest.raises(ProviderError) as raised:
        await voyage(voyage_emulator.base_url, credential_id=7).embed(["vRouter"], MODEL)
    assert raised.value.code is ErrorCode.EGRESS_REFUSED
    assert voyage_emulator.requests == []


# --- Through the gateway -------------------------------------------------------------------


async def tenant_with_voyage(tenant_users: TenantUsers, voyage_emulator: EmulatorServer) -> int:
    """The tenant's own Voyage key (its first credential), routed first for conversations."""
    tenant = tenant_users.tenant
    await sync_to_async(services.credential_create)(
        tenant=tenant, actor=None, name="vectors", kind="voyage", api_key=KEY,
        default_model=MODEL, base_url=voyage_emulator.base_url,
    )  # fmt: skip
    await sync_to_async(services.route_set)(
        tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": "vectors"}, {"provider": "anthropic"}]
    )
    return int(tenant.pk)


def ask(tenant_id: int, **overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "task": Task.CONVERSATION,
        "messages": (Message("user", "Which vendor?"),),
        "tenant_id": tenant_id,
        "max_tokens": 50,
        "deadline_seconds": 20,
    }
    values.update(overrides)
    return GatewayRequest(**values)


@pytest.mark.django_db(transaction=True)
async def test_routing_never_sends_voyage_a_completion(
    platform: Emulators, tenant_users: TenantUsers, voyage_emulator: EmulatorServer
) -> None:
    anthropic, _openai = platform
    tenant_id = await tenant_with_voyage(tenant_users, voyage_emulator)
    anthropic.push(Reply("Fortinet?"), Reply("streamed"))
    completion = await gateway.complete(ask(tenant_id))
    assert completion.provider == "anthropic"
    events = [event async for event in gateway.stream(ask(tenant_id))]
    assert events[0].type == "start"
    assert events[0].provider == "anthropic"
    # Without a route either: the tenant's own keys come first, but not this one.
    await sync_to_async(services.route_set)(tenant=tenant_users.tenant, task=Task.CONVERSATION, targets=[])
    anthropic.push(Reply("unrouted"))
    assert (await gateway.complete(ask(tenant_id))).provider == "anthropic"
    assert voyage_emulator.requests == []
    rows = ProviderLog.objects.for_tenant(tenant_users.tenant)
    assert not await rows.filter(provider="vectors").aexists()


@pytest.mark.django_db(transaction=True)
async def test_a_completion_pinned_to_voyage_is_not_capable(
    platform: Emulators, tenant_users: TenantUsers, voyage_emulator: EmulatorServer
) -> None:
    tenant_id = await tenant_with_voyage(tenant_users, voyage_emulator)
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(ask(tenant_id, provider="vectors"))
    assert raised.value.code is ErrorCode.NOT_CAPABLE
    assert "embeddings only" in raised.value.message
    assert voyage_emulator.requests == []


@pytest.mark.django_db(transaction=True)
async def test_gateway_embeddings_use_voyage_and_its_default_model(
    platform: Emulators, tenant_users: TenantUsers, voyage_emulator: EmulatorServer
) -> None:
    _anthropic, openai = platform
    tenant_id = await tenant_with_voyage(tenant_users, voyage_emulator)
    result = await gateway.embed(texts=["vFirewall", "vRouter"], tenant_id=tenant_id)
    assert (result.provider, result.model) == ("vectors", MODEL)
    assert len(result.vectors) == 2
    assert openai.requests_to("embeddings") == []
    [row] = [row async for row in ProviderLog.objects.for_tenant(tenant_users.tenant)]
    assert (row.provider, row.kind, row.model, row.state) == ("vectors", "voyage", MODEL, "completed")
    assert row.input_tokens == result.usage.input_tokens > 0
    assert not row.usage_estimated
