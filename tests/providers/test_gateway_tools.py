"""Tool calling through the gateway: routing, completions and streams, logs and estimates.

The platform's providers are the Anthropic and OpenAI emulators and the embedded model,
which cannot call tools: routing passes it over for a request with tools, and refuses one
pinned to it without calling anything.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from providers import gateway, services
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    Message,
    StartEvent,
    StreamEvent,
    Task,
    Tool,
    ToolCall,
    ToolCallEvent,
    ToolChoice,
)
from providers.models import LogState, ProviderLog
from providers.stream_reply import read_stream
from providers.token_estimates import estimate_tokens, prompt_tokens
from providers.tool_calls import tools_text
from tests.conftest import TenantUsers
from tests.emulators.script import DropAfter, Reply, ToolUse
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

Emulators = tuple[EmulatorServer, EmulatorServer]

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = (Tool("lookup_sites", "Find the customer's sites in a city.", SCHEMA),)
SITES = {"city": "Oslo", "kind": "branch office"}
ARGUMENTS = json.dumps(SITES, separators=(",", ":"))


def request(**overrides: Any) -> GatewayRequest:
    values: dict[str, Any] = {
        "task": Task.CONVERSATION,
        "messages": (Message("user", "Where are our Oslo sites?"),),
        "tools": TOOLS,
        "max_tokens": 100,
        "deadline_seconds": 20,
    }
    values.update(overrides)
    return GatewayRequest(**values)


def calling(**overrides: Any) -> Reply:
    return Reply(tool_calls=[ToolUse("lookup_sites", SITES)], **overrides)


def rows(request_id: str | None = None) -> list[ProviderLog]:
    logs = ProviderLog.objects.dangerously_unscoped().order_by("pk")
    return list(logs.filter(request_id=request_id) if request_id else logs)


async def events_of(gateway_request: GatewayRequest) -> list[StreamEvent]:
    return [event async for event in gateway.stream(gateway_request)]


async def test_a_completion_brings_its_tool_calls_into_the_result_and_the_log(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(
        Reply("Checking.", tool_calls=[ToolUse("lookup_sites", SITES)], input_tokens=900, output_tokens=40)
    )
    completion = await gateway.complete(request(tool_choice=ToolChoice("tool", "lookup_sites")))
    assert completion.text == "Checking."
    assert completion.finish_reason == "tool_calls"
    [call] = completion.tool_calls
    assert (call.name, call.arguments) == ("lookup_sites", ARGUMENTS)
    assert call.id.startswith("toolu_")
    # Usage and cost as for any call: claude-sonnet-5-5 at $2 in, $10 out per million tokens.
    assert completion.cost_usd == pytest.approx((900 * 2 + 40 * 10) / 1_000_000)
    sent = anthropic.last_request.body
    assert sent["tools"] == [
        {
            "name": "lookup_sites",
            "input_schema": SCHEMA,
            "description": "Find the customer's sites in a city.",
        }
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "lookup_sites"}
    [log] = await sync_to_async(rows)(completion.request_id)
    assert log.state == LogState.COMPLETED
    assert log.response_json == {
        "text": "Checking.",
        "finish_reason": "tool_calls",
        "tool_calls": [{"id": call.id, "name": "lookup_sites", "arguments": ARGUMENTS}],
    }
    assert log.request_json is not None
    assert log.request_json["tools"] == [
        {"name": "lookup_sites", "description": "Find the customer's sites in a city.", "parameters": SCHEMA}
    ]
    assert log.request_json["tool_choice"] == {"mode": "tool", "name": "lookup_sites"}


async def test_a_second_turn_is_logged_with_the_calls_and_results_it_carries(platform: Emulators) -> None:
    _anthropic, openai = platform
    openai.push(Reply("Two sites in Oslo."))
    asked = ToolCall("call_sites", "lookup_sites", ARGUMENTS)
    conversation = (
        Message("user", "Where are our Oslo sites?"),
        Message("assistant", "", tool_calls=(asked,)),
        Message("tool", "Oslo-1, Oslo-2", tool_call_id="call_sites"),
    )
    completion = await gateway.complete(request(messages=conversation, provider="openai"))
    assert completion.finish_reason == "stop"
    [log] = await sync_to_async(rows)(completion.request_id)
    assert log.request_json is not None
    assert log.request_json["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_sites", "name": "lookup_sites", "arguments": ARGUMENTS}],
        },
        {"role": "tool", "content": "Oslo-1, Oslo-2", "tool_call_id": "call_sites"},
    ]
    assert openai.last_request.body["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_sites",
        "content": "Oslo-1, Oslo-2",
    }


async def test_a_stream_yields_tool_call_pieces_after_its_start(platform: Emulators) -> None:
    anthropic, _openai = platform
    anthropic.push(calling(input_tokens=50, output_tokens=12))
    pieces: list[ToolCallEvent] = []
    reply = await read_stream(gateway.stream(request()), on_tool_call=pieces.append)
    assert reply.provider == "anthropic"
    assert reply.text == ""
    [call] = reply.tool_calls
    assert (call.name, call.arguments) == ("lookup_sites", ARGUMENTS)
    assert pieces[0].id == call.id
    assert pieces[0].name == "lookup_sites"
    assert len(pieces) > 2, "the arguments came in pieces"
    assert all(piece.index == 0 and not piece.id for piece in pieces[1:])
    assert reply.finish_reason == "tool_calls"
    assert reply.usage is not None
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (50, 12)
    [log] = await sync_to_async(rows)(reply.request_id)
    assert log.state == LogState.COMPLETED
    assert log.first_token_at is not None
    assert log.response_json is not None
    assert log.response_json["tool_calls"] == [
        {"id": call.id, "name": "lookup_sites", "arguments": ARGUMENTS}
    ]


async def test_a_stream_falls_back_while_no_piece_of_a_tool_call_was_sent(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(*[calling(fault=DropAfter(0))] * 3)
    openai.push(calling())
    events = await events_of(request())
    assert isinstance(events[0], StartEvent)
    assert events[0].provider == "openai"
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallEvent)) == ARGUMENTS
    assert events[-1] == DoneEvent("tool_calls")
    states = [(log.provider, log.state) for log in await sync_to_async(rows)(events[0].request_id)]
    assert states == [("anthropic", "failed"), ("openai", "completed")]


async def test_a_piece_of_a_tool_call_is_a_first_token_no_fallback_after_it(platform: Emulators) -> None:
    anthropic, openai = platform
    anthropic.push(calling(fault=DropAfter(1)))
    events = await events_of(request())
    assert isinstance(events[0], StartEvent)
    pieces = [e for e in events if isinstance(e, ToolCallEvent)]
    assert pieces[0].name == "lookup_sites"
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].code is ErrorCode.CONNECTION
    assert openai.requests == []
    [log] = await sync_to_async(rows)()
    assert log.state == LogState.FAILED_PARTIAL
    assert log.usage_estimated
    assert log.output_tokens > 0, "the pieces that were sent still count"


async def test_routing_passes_over_the_embedded_model_for_a_request_with_tools(
    platform: Emulators, tenant_users: TenantUsers
) -> None:
    _anthropic, openai = platform
    tenant = tenant_users.tenant
    await sync_to_async(services.route_set)(
        tenant=tenant, task=Task.CONVERSATION, targets=[{"provider": "embedded"}, {"provider": "openai"}]
    )
    openai.push(calling())
    completion = await gateway.complete(request(tenant_id=tenant.pk))
    assert completion.provider == "openai"
    assert completion.fallback_from == "", "passed over, not tried"
    # A turn carrying tool results needs a kind that carries tools, tools given or not.
    openai.push(Reply("Two sites."))
    history = (
        Message("user", "Where?"),
        Message("assistant", "", tool_calls=completion.tool_calls),
        Message("tool", "Oslo-1, Oslo-2", tool_call_id=completion.tool_calls[0].id),
    )
    answer = await gateway.complete(request(tenant_id=tenant.pk, tools=(), messages=history))
    assert answer.provider == "openai"
    providers = [log.provider for log in await sync_to_async(rows)()]
    assert providers == ["openai", "openai"]


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_a_request_with_tools_pinned_to_the_embedded_model_is_not_capable(
    platform: Emulators, streamed: bool
) -> None:
    anthropic, openai = platform
    pinned = request(provider="embedded")
    if streamed:
        [event] = await events_of(pinned)
        assert isinstance(event, ErrorEvent)
        code, message = event.code, event.message
    else:
        with pytest.raises(ProviderError) as raised:
            await gateway.complete(pinned)
        code, message = raised.value.code, raised.value.message
    assert code is ErrorCode.NOT_CAPABLE
    assert message.startswith("embedded (embedded) cannot call tools")
    assert await sync_to_async(rows)() == []
    assert anthropic.requests == []
    assert openai.requests == []


async def test_tool_definitions_and_calls_count_in_the_estimates(platform: Emulators) -> None:
    _anthropic, openai = platform
    assert prompt_tokens(request()) - prompt_tokens(request(tools=())) == estimate_tokens(tools_text(TOOLS))
    assert estimate_tokens(tools_text(TOOLS)) > 10
    openai.push(calling(include_usage=False))
    completion = await gateway.complete(request(provider="openai"))
    assert completion.usage.estimated
    assert completion.usage.input_tokens == prompt_tokens(request())
    assert completion.usage.output_tokens == estimate_tokens("lookup_sites" + ARGUMENTS)


def test_the_log_page_shows_the_tool_calls(tenant_users: TenantUsers) -> None:
    arguments = '{"city": "<b>Oslo</b>"}'
    entry = ProviderLog.objects.create(
        tenant=tenant_users.tenant, request_id="req_tools", task="api", provider="anthropic",
        kind="anthropic", model="claude-sonnet-5-5", state=LogState.COMPLETED, duration_ms=300,
        request_json={
            "messages": [{"role": "user", "content": "Where?"}],
            "tools": [{"name": "lookup_sites", "description": "Find sites.", "parameters": SCHEMA}],
            "tool_choice": {"mode": "auto"},
        },
        response_json={
            "text": "", "finish_reason": "tool_calls",
            "tool_calls": [{"id": "toolu_01abc", "name": "lookup_sites", "arguments": arguments}],
        },
    )  # fmt: skip
    page = (
        tenant_users.client_for(tenant_users.viewer)
        .get(f"/t/acme/providers/logs/{entry.pk}/")
        .content.decode()
    )
    assert 'data-testid="request-tools"' in page
    assert page.count('data-testid="tool-call"') == 1
    assert "toolu_01abc" in page
    assert "&lt;b&gt;Oslo&lt;/b&gt;" in page
    assert "<b>Oslo</b>" not in page
