"""The gateway end to end: routing, retries, fallback, streaming rules, logs, usage and cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import gateway, services
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    KindChunk,
    Message,
    StartEvent,
    StreamEvent,
    Task,
    TokenEvent,
    UsageEvent,
)
from providers.models import LogState, ProviderCredential, ProviderLog
from tenants.models import Tenant
from tests.emulators.script import DropAfter, HttpError, Reply
from tests.emulators.server import EmulatorServer
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)

Emulators = tuple[EmulatorServer, EmulatorServer]


def request(**overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "task": Task.CONVERSATION,
        "messages": (Message("user", "We need a virtual firewall."),),
        "system": "You interview business users.",
        "max_tokens": 100,
        "deadline_seconds": 20,
    }
    values.update(overrides)
    return GatewayRequest(**values)


async def events_of(gateway_request: GatewayRequest) -> list[StreamEvent]:
    return [event async for event in gateway.stream(gateway_request)]


def rows(request_id: str | None = None) -> list[ProviderLog]:
    logs = ProviderLog.objects.dangerously_unscoped().order_by("pk")
    return list(logs.filter(request_id=request_id) if request_id else logs)


async def test_a_completion_is_logged_with_usage_cost_and_price(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("A firewall it is.", input_tokens=1000, output_tokens=200))
    completion = await gateway.complete(request())
    assert completion.text == "A firewall it is."
    assert completion.provider == "anthropic"
    assert completion.attempts == 1
    # claude-sonnet-5-5: $2 in, $10 out per million tokens.
    assert completion.cost_usd == pytest.approx((1000 * 2 + 200 * 10) / 1_000_000)
    [log] = await sync_to_async(rows)(completion.request_id)
    assert log.state == LogState.COMPLETED
    assert (log.input_tokens, log.output_tokens, log.usage_estimated) == (1000, 200, False)
    assert log.cost_usd == Decimal("0.004")
    assert log.price_version == "anthropic/claude-sonnet-5-5@2026-11-23"
    assert log.request_json is not None
    assert log.request_json["messages"] == [{"role": "user", "content": "We need a virtual firewall."}]
    assert log.response_json == {"text": "A firewall it is.", "finish_reason": "stop"}
    assert log.duration_ms is not None
    assert log.gateway_overhead_ms is not None
    assert 0 <= log.gateway_overhead_ms < log.duration_ms + 1


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_a_reply_no_database_column_takes_is_logged_all_the_same(
    platform: Emulators, streamed: bool
) -> None:
    """A NUL reaches the caller as sent; the log keeps U+FFFD in its place (PostgreSQL refuses
    it in JSON), and the row is closed completed, not left pending."""
    anthropic, _openai = platform
    unstorable = "binary\x00payload\x00 end"
    anthropic.push(Reply(unstorable))
    prompt = request(messages=(Message("user", "prompt with a \x00 in it"),))
    if streamed:
        events = await events_of(prompt)
        text = "".join(event.text for event in events if isinstance(event, TokenEvent))
        request_id = next(event.request_id for event in events if isinstance(event, StartEvent))
    else:
        completion = await gateway.complete(prompt)
        text, request_id = completion.text, completion.request_id
    assert text == unstorable
    [log] = await sync_to_async(rows)(request_id)
    assert log.state == LogState.COMPLETED
    assert log.response_json is not None
    assert log.response_json["text"] == "binary\ufffdpayload\ufffd end"
    assert log.request_json is not None
    assert log.request_json["messages"][0]["content"] == "prompt with a \ufffd in it"


async def test_server_errors_are_retried_on_the_same_provider(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(HttpError(500), HttpError(503), Reply("third time lucky"))
    completion = await gateway.complete(request())
    assert completion.text == "third time lucky"
    assert completion.attempts == 3
    assert len(anthropic.requests) == 3
    assert openai.requests == []


async def test_retry_after_is_honoured(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(HttpError(429, retry_after_ms=300), Reply("after the pause"))
    started = time.monotonic()
    completion = await gateway.complete(request())
    assert time.monotonic() - started >= 0.3
    assert completion.attempts == 2


async def test_a_retry_after_beyond_the_deadline_falls_back_at_once(
    platform: Emulators, settings: Any
) -> None:
    anthropic, openai = platform
    anthropic.push(HttpError(429, retry_after=60))
    openai.push(Reply("from openai"))
    started = time.monotonic()
    completion = await gateway.complete(request(deadline_seconds=5))
    assert time.monotonic() - started < 2
    assert completion.provider == "openai"


async def test_anthropic_overloaded_falls_back_to_openai_and_both_are_logged(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(HttpError(529), HttpError(529), HttpError(529))
    openai.push(Reply("OpenAI answers instead.", input_tokens=40, output_tokens=5))
    completion = await gateway.complete(request())
    assert completion.provider == "openai"
    assert completion.fallback_from == "anthropic"
    assert len(anthropic.requests) == 3
    first, second = await sync_to_async(rows)(completion.request_id)
    assert (first.provider, first.state, first.error_code, first.attempts) == (
        "anthropic",
        "failed",
        "overloaded",
        3,
    )
    assert (second.provider, second.state, second.fallback_from) == ("openai", "completed", "anthropic")
    assert (second.input_tokens, second.output_tokens) == (40, 5)


async def test_a_servers_traceback_is_logged_as_its_last_line_without_file_paths(platform: Emulators) -> None:
    """An upstream's error page may carry its traceback and file paths: its internals, not
    something the log's reader can use. The error itself is kept."""
    anthropic, openai = platform
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/opt/server/lib/python3.11/site-packages/llama_cpp/server/app.py", line 212, in chat\n'
        "    raise ValueError(detail)\n"
        "ValueError: model /srv/models/smollm2.gguf cannot do json_schema"
    )
    anthropic.push(*[HttpError(500, message=traceback)] * 3)
    openai.push(Reply("OpenAI answers instead."))
    completion = await gateway.complete(request())
    failed, _answered = await sync_to_async(rows)(completion.request_id)
    assert failed.error_code == "server_error"
    assert "ValueError: model smollm2.gguf cannot do json_schema" in failed.error_message
    assert "Traceback" not in failed.error_message
    assert "/srv/" not in failed.error_message
    assert "app.py" not in failed.error_message


async def test_a_bad_request_is_neither_retried_nor_passed_on(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(HttpError(400, message="messages: at least one message is required"))
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(request())
    assert raised.value.code is ErrorCode.BAD_REQUEST
    assert len(anthropic.requests) == 1
    assert openai.requests == []
    [log] = await sync_to_async(rows)()
    assert (log.state, log.error_code) == ("failed", "bad_request")


async def test_an_unknown_provider_is_a_bad_request_with_a_log_row(platform: Emulators) -> None:
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(request(provider="gemini"))
    assert raised.value.code is ErrorCode.BAD_REQUEST
    [log] = await sync_to_async(rows)()
    assert (log.state, log.error_code, log.attempts) == ("failed", "bad_request", 0)


async def test_when_every_provider_fails_the_last_error_is_raised(platform: Emulators) -> None:
    anthropic, openai = platform
    tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    await sync_to_async(services.route_set)(
        tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": "anthropic"}, {"provider": "openai"}]
    )
    anthropic.push(*[HttpError(503)] * 3)
    openai.push(*[HttpError(500)] * 3)
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(request(tenant_id=tenant.pk))
    assert raised.value.code is ErrorCode.SERVER_ERROR
    assert raised.value.provider == "openai"
    states = [(log.provider, log.state, log.attempts) for log in await sync_to_async(rows)()]
    assert states == [("anthropic", "failed", 3), ("openai", "failed", 3)]


async def test_a_pinned_provider_gets_no_fallback(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(*[HttpError(503)] * 3)
    with pytest.raises(ProviderError) as raised:
        await gateway.complete(request(provider="anthropic"))
    assert raised.value.code is ErrorCode.OVERLOADED
    assert openai.requests == []


# --- Streaming ----------------------------------------------------------------------------


async def test_a_stream_is_start_tokens_usage_done(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("one two three", input_tokens=12, output_tokens=3))
    events = await events_of(request())
    assert isinstance(events[0], StartEvent)
    assert events[0].provider == "anthropic"
    assert [e.text for e in events if isinstance(e, TokenEvent)] == ["one", " two", " three"]
    assert [e.index for e in events if isinstance(e, TokenEvent)] == [0, 1, 2]
    assert events[-2] == UsageEvent(12, 3, False)
    assert events[-1] == DoneEvent("stop")
    [log] = await sync_to_async(rows)(events[0].request_id)
    assert log.state == LogState.COMPLETED
    assert log.streamed
    assert log.first_token_at is not None


async def test_a_stream_falls_back_while_no_token_was_sent(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(*[Reply("lost", fault=DropAfter(0))] * 3)
    openai.push(Reply("rescued by openai"))
    events = await events_of(request())
    assert isinstance(events[0], StartEvent)
    assert events[0].provider == "openai", "one start, from the provider that answers"
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == "rescued by openai"
    assert isinstance(events[-1], DoneEvent)
    states = [(log.provider, log.state) for log in await sync_to_async(rows)(events[0].request_id)]
    assert states == [("anthropic", "failed"), ("openai", "completed")]


async def test_a_stream_that_breaks_after_tokens_ends_with_an_error_and_no_fallback(
    platform: Emulators,
) -> None:
    anthropic, openai = platform
    anthropic.push(Reply("alpha beta gamma delta", fault=DropAfter(2)))
    events = await events_of(request())
    assert [e.text for e in events if isinstance(e, TokenEvent)] == ["alpha", " beta"]
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code is ErrorCode.CONNECTION
    assert openai.requests == []
    [log] = await sync_to_async(rows)()
    assert log.state == LogState.FAILED_PARTIAL
    assert log.usage_estimated, "the tokens that were sent still count"
    assert log.output_tokens > 0


async def test_usage_is_estimated_and_flagged_when_the_provider_sends_none(platform: Emulators) -> None:
    _anthropic, openai = platform
    openai.push(Reply("twelve characters or so", include_usage=False))
    events = await events_of(request(provider="openai"))
    usage = next(e for e in events if isinstance(e, UsageEvent))
    assert usage.estimated
    assert usage.output_tokens == len("twelve characters or so") // 4 + 1
    [log] = await sync_to_async(rows)()
    assert log.usage_estimated


async def test_the_pending_row_exists_before_the_reply_arrives(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(Reply("slow answer here", token_latency=0.2))
    stream = gateway.stream(request())
    first = await anext(stream)
    token = await anext(stream)
    assert isinstance(first, StartEvent)
    assert isinstance(token, TokenEvent)
    [log] = await sync_to_async(rows)()
    assert log.state == LogState.PENDING
    await stream.aclose()
    [log] = await sync_to_async(rows)()
    assert log.state == LogState.CANCELLED, "a caller that goes away is recorded as such"
    assert log.output_tokens > 0


# --- Tenants: credentials, routes, content storage ---------------------------------------------


async def test_a_tenant_route_with_its_own_credential(platform: Emulators, settings: Any) -> None:
    _anthropic, openai = platform
    tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    await sync_to_async(services.credential_create)(
        tenant=tenant,
        actor=None,
        name="team-openai",
        kind="openai",
        api_key="sk-tenant-key-0000000001",
        default_model="gpt-4o-mini",
        base_url=openai.base_url,
    )
    await sync_to_async(services.route_set)(
        tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": "team-openai", "model": "gpt-4.1-mini"}]
    )
    openai.push(Reply("tenant reply"))
    completion = await gateway.complete(request(tenant_id=tenant.pk))
    assert completion.provider == "team-openai"
    assert completion.model == "gpt-4.1-mini"
    assert openai.last_request.api_key == "sk-tenant-key-0000000001"


async def test_a_rejected_tenant_key_is_flagged_and_the_next_provider_answers(platform: Emulators) -> None:
    anthropic, openai = platform
    tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    credential = await sync_to_async(services.credential_create)(
        tenant=tenant, actor=None, name="stale", kind="openai", api_key="sk-revoked-000000000",
        default_model="gpt-4o-mini", base_url=openai.base_url,
    )  # fmt: skip
    openai.reject_key("sk-revoked-000000000")
    anthropic.push(Reply("platform answers"))
    completion = await gateway.complete(request(tenant_id=tenant.pk))
    assert completion.provider == "anthropic"
    assert len(openai.requests) == 1, "a rejected key is not retried"
    refreshed = await sync_to_async(ProviderCredential.objects.for_tenant(tenant).get)(pk=credential.pk)
    assert refreshed.rejected_at is not None
    assert "sk-revoked" not in refreshed.rejected_reason


async def test_content_storage_can_be_switched_off(platform: Emulators) -> None:
    anthropic, _openai = platform
    tenant = await sync_to_async(TenantFactory.create)(plan=Tenant.Plan.ENTERPRISE)
    await sync_to_async(services.gateway_settings_update)(
        tenant=tenant,
        store_content=False,
        requests_per_minute=None,
        monthly_token_budget=None,
        monthly_cost_budget_usd=None,
    )
    anthropic.push(Reply("secret business plan"))
    await gateway.complete(request(tenant_id=tenant.pk))
    [log] = await sync_to_async(rows)()
    assert log.request_json is None
    assert log.response_json is None
    assert log.output_tokens > 0, "counts and timings are still kept"


async def test_many_concurrent_calls_share_one_client_per_credential(platform: Emulators) -> None:
    anthropic, _openai = platform
    completions = await asyncio.gather(*(gateway.complete(request(provider="anthropic")) for _ in range(20)))
    assert len({c.request_id for c in completions}) == 20
    assert len(anthropic.requests) == 20


# --- Embeddings ---------------------------------------------------------------------------


async def test_embeddings_skip_providers_without_them_and_are_logged_and_costed(platform: Emulators) -> None:
    anthropic, openai = platform
    result = await gateway.embed(texts=["vFirewall", "vRouter"])
    assert result.provider == "openai"
    assert result.model == "text-embedding-3-small"
    assert len(result.vectors) == 2
    assert anthropic.requests == []
    assert openai.last_request.body["model"] == "text-embedding-3-small"
    [log] = await sync_to_async(rows)(result.request_id)
    assert (log.state, log.model, log.output_tokens) == ("completed", "text-embedding-3-small", 0)
    assert log.input_tokens == result.usage.input_tokens > 0
    assert log.price_version == "openai/text-embedding-3-small@2026-11-23"


async def test_embeddings_retry_and_refuse_bad_input(platform: Emulators) -> None:
    _anthropic, openai = platform
    openai.push(HttpError(503), endpoint="embeddings")
    result = await gateway.embed(texts=["again"], provider="openai")
    assert result.attempts == 2
    with pytest.raises(ProviderError) as raised:
        await gateway.embed(texts=["", "x"])
    assert raised.value.code is ErrorCode.BAD_REQUEST
    with pytest.raises(ProviderError) as raised:
        await gateway.embed(texts=["x"], provider="anthropic")
    assert raised.value.code is ErrorCode.BAD_REQUEST
    assert "serves embeddings" in raised.value.message


class StallingKind:
    """Sends its chunks, then neither sends nor closes: a provider that stopped mid-reply
    (what the gateway's limit on the wait for each chunk is for)."""

    def __init__(self, chunks: list[str], *, stall: bool) -> None:
        self.chunks, self.stall = chunks, stall

    async def stream(self, call: Any) -> AsyncGenerator[KindChunk, None]:
        for text in self.chunks:
            yield KindChunk(text=text)
        if self.stall:
            await asyncio.Event().wait()
        yield KindChunk(finish_reason="stop")


async def test_a_stream_that_stalls_after_tokens_times_out_at_the_chunk_limit(
    platform: Emulators, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS = 0.3  # a chunk may take 1.3 s
    monkeypatch.setattr(gateway, "client_for", lambda config: StallingKind(["one", " two"], stall=True))
    started = time.monotonic()
    events = await events_of(request())
    assert time.monotonic() - started < 5
    assert [e.text for e in events if isinstance(e, TokenEvent)] == ["one", " two"]
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code is ErrorCode.TIMEOUT
    [log] = await sync_to_async(rows)()
    assert log.state == LogState.FAILED_PARTIAL


async def test_a_caller_slower_than_the_chunk_limit_is_not_timed_out(
    platform: Emulators, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is on the provider's wait: time the caller spends with a chunk is its own."""
    settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS = 0.2  # a chunk may take 1.2 s
    monkeypatch.setattr(gateway, "client_for", lambda config: StallingKind(["a", "b"], stall=False))
    events = []
    async for event in gateway.stream(request()):
        events.append(event)
        if isinstance(event, TokenEvent):
            await asyncio.sleep(1.4)
    assert [e.text for e in events if isinstance(e, TokenEvent)] == ["a", "b"]
    assert events[-1] == DoneEvent("stop")
