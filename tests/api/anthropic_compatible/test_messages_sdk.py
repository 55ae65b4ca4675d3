"""`POST /v1/messages` with the official `anthropic` clients, unmodified, against the live
daphne server, the tenant's API calls answered by the wire emulators."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, MessageParam, TextBlock

from api import services as api_services
from api.models import Scope
from providers.models import LogState, ProviderLog
from tests.api.anthropic_compatible.conftest import settled_log
from tests.conftest import TenantUsers
from tests.emulators.script import DropAfter, HttpError, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello in French."}]


def error_of(refusal: anthropic.APIStatusError) -> Any:
    """The `error` object of Anthropic's error body the SDK kept."""
    body = refusal.body
    assert isinstance(body, dict)
    return body["error"]


def text_of(message: Message) -> str:
    """The text of a reply's text blocks."""
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def test_it_completes_with_the_sdk(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    team_anthropic.push(Reply("Bonjour tout le monde", input_tokens=12, output_tokens=4))
    raw = client.messages.with_raw_response.create(
        model="auto",
        max_tokens=64,
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Say hello in French."}]}],
        extra_headers={"anthropic-version": "2023-06-01"},
    )
    message = raw.parse()
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == "claude-sonnet-4-5"
    assert [block.type for block in message.content] == ["text"]
    assert text_of(message) == "Bonjour tout le monde"
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 4)
    row = settled_log(tenant_users)
    assert row.state == LogState.COMPLETED
    assert raw.headers["request-id"] == row.request_id
    assert message.id == "msg_" + row.request_id.removeprefix("req_")
    upstream = team_anthropic.last_request.body
    assert upstream["system"] == "Be brief.\n\nBe kind."
    assert upstream["messages"] == [{"role": "user", "content": "Say hello in French."}]
    assert upstream["max_tokens"] == 64


def test_it_streams_anthropics_exact_event_sequence(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply(tokens=["Bon", "jour", " !"], input_tokens=9, output_tokens=3))
    with client.messages.with_streaming_response.create(
        model="auto", max_tokens=64, messages=HELLO, stream=True
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["request-id"].startswith("req_")
        frames = [frame for frame in "".join(response.iter_text()).split("\n\n") if frame]
    events = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name, data = event_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        events.append(data)
    assert [event["type"] for event in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]["message"]
    assert start["id"].startswith("msg_")
    assert (start["role"], start["model"], start["content"], start["stop_reason"]) == (
        "assistant",
        "claude-sonnet-4-5",
        [],
        None,
    )
    assert events[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert [event["delta"] for event in events[3:6]] == [
        {"type": "text_delta", "text": text} for text in ("Bon", "jour", " !")
    ]
    assert events[7]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[7]["usage"] == {"output_tokens": 3, "input_tokens": 9}


def test_the_sdk_reads_the_stream_as_events(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply(tokens=["Bon", "jour"], input_tokens=9, output_tokens=2))
    stream = client.messages.create(model="auto", max_tokens=64, messages=HELLO, stream=True)
    types = [event.type for event in list(stream)]
    assert types == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_the_async_stream_helper_builds_the_final_message(
    async_client: anthropic.AsyncAnthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply(tokens=["Bon", "jour"], input_tokens=21, output_tokens=2))
    async with async_client.messages.stream(model="auto", max_tokens=64, messages=HELLO) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert texts == ["Bon", "jour"]
    assert text_of(final) == "Bonjour"
    assert final.stop_reason == "end_turn"
    # message_start carries an estimate; message_delta the provider's count, which wins.
    assert (final.usage.input_tokens, final.usage.output_tokens) == (21, 2)


async def test_the_async_client_completes(
    async_client: anthropic.AsyncAnthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply("Salut"))
    message = await async_client.messages.create(model="team-anthropic", max_tokens=64, messages=HELLO)
    assert text_of(message) == "Salut"


def test_an_openai_provider_answers_an_anthropic_client(
    client: anthropic.Anthropic, team_openai: EmulatorServer
) -> None:
    team_openai.push(Reply("Bonjour", input_tokens=7, output_tokens=1))
    message = client.messages.create(model="auto", max_tokens=64, system="Be brief.", messages=HELLO)
    assert message.model == "gpt-4o-mini"
    assert text_of(message) == "Bonjour"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 1)
    upstream = team_openai.last_request.body
    assert upstream["messages"][0] == {"role": "system", "content": "Be brief."}

    # Cut by max_tokens: OpenAI's "length" is Anthropic's "max_tokens", streamed too.
    team_openai.push(Reply("one two three four five six"))
    with client.messages.stream(model="auto", max_tokens=3, messages=HELLO) as stream:
        final = stream.get_final_message()
    assert text_of(final) == "one two three"
    assert final.stop_reason == "max_tokens"


def test_a_wrong_key_is_an_authentication_error(
    live_server_url: str, issued: api_services.IssuedApiKey
) -> None:
    wrong = anthropic.Anthropic(base_url=live_server_url, api_key=issued.plaintext + "x", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        wrong.messages.create(model="auto", max_tokens=8, messages=HELLO)
    assert refused.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "The API key is not valid."},
    }


def test_a_key_without_the_gateway_scope_is_a_permission_error(
    live_server_url: str, tenant_users: TenantUsers
) -> None:
    workflows_only = api_services.api_key_create(
        tenant=tenant_users.tenant, actor=tenant_users.owner, name="compiler", scopes=[Scope.WORKFLOWS]
    )
    sdk = anthropic.Anthropic(base_url=live_server_url, api_key=workflows_only.plaintext, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        sdk.messages.create(model="auto", max_tokens=8, messages=HELLO)
    assert error_of(refused.value)["type"] == "permission_error"


def test_an_unknown_model_is_not_found(client: anthropic.Anthropic, team_anthropic: EmulatorServer) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="claude-unknown-9", max_tokens=8, messages=HELLO)
    assert error_of(missing.value)["type"] == "not_found_error"
    assert "claude-unknown-9" in missing.value.message
    assert team_anthropic.requests == []


def test_wrong_types_and_unsupported_features_are_bad_requests_naming_the_field(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer
) -> None:
    with pytest.raises(anthropic.BadRequestError) as wrong:
        client.messages.create(model="auto", max_tokens=8, messages=HELLO, extra_body={"temperature": "hot"})
    assert error_of(wrong.value)["message"] == "temperature: Input should be a valid number"
    with pytest.raises(anthropic.BadRequestError) as image:
        client.messages.create(
            model="auto",
            max_tokens=8,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                    ],
                }
            ],
        )
    assert error_of(image.value)["message"].startswith(
        "messages.0.content: block 1 is of type 'image'; this gateway takes text, tool_use and "
        "tool_result blocks only"
    )
    with pytest.raises(anthropic.BadRequestError) as server_tool:
        client.messages.create(
            model="auto",
            max_tokens=8,
            messages=HELLO,
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}],
        )
    assert error_of(server_tool.value) == {
        "type": "invalid_request_error",
        "message": "tools.0: 'web_search_20250305' is a server tool, which this gateway does not offer; "
        "define your own tool with name, description and input_schema",
    }
    assert team_anthropic.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_an_overloaded_provider_is_529(
    client: anthropic.Anthropic,
    team_anthropic: EmulatorServer,
    stream: bool,
    issued: api_services.IssuedApiKey,
) -> None:
    # A retry-after over the gateway's patience: it gives up at once, with no retry to wait for.
    team_anthropic.push(HttpError(529, retry_after=60))
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(model="auto", max_tokens=8, messages=HELLO, stream=stream)
    assert overloaded.value.status_code == 529
    assert error_of(overloaded.value)["type"] == "overloaded_error"
    assert overloaded.value.response.headers["retry-after"] == "60"
    # The SDK's request id of the failure is the one on its log row.
    assert overloaded.value.request_id is not None
    logs = ProviderLog.objects.for_tenant(issued.key.tenant)
    assert set(logs.values_list("request_id", flat=True)) == {overloaded.value.request_id}


@pytest.mark.parametrize("stream", [False, True])
def test_a_rate_limited_provider_is_429_with_retry_after(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer, stream: bool
) -> None:
    team_anthropic.push(HttpError(429, retry_after=45))
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="auto", max_tokens=8, messages=HELLO, stream=stream)
    assert error_of(limited.value)["type"] == "rate_limit_error"
    assert limited.value.response.headers["retry-after"] == "45"


def test_a_stream_cut_after_tokens_raises_in_the_sdk(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    team_anthropic.push(Reply(tokens=["one ", "two ", "three ", "four"], fault=DropAfter(2)))
    received: list[str] = []
    events = client.messages.create(model="auto", max_tokens=64, messages=HELLO, stream=True)

    def read_all() -> None:
        received.extend(event.type for event in events)

    with pytest.raises(anthropic.APIStatusError) as cut:
        read_all()
    assert received == ["message_start", "content_block_start", "content_block_delta", "content_block_delta"]
    assert isinstance(cut.value.body, dict)
    assert cut.value.body["type"] == "error"
    assert error_of(cut.value)["type"] == "api_error"
    assert settled_log(tenant_users).state == LogState.FAILED_PARTIAL

    # The helper raises too, rather than handing back half a message.
    team_anthropic.push(Reply(tokens=["one ", "two ", "three ", "four"], fault=DropAfter(2)))
    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(model="auto", max_tokens=64, messages=HELLO) as stream,
    ):
        stream.get_final_message()


def test_a_client_that_goes_away_mid_stream_cancels_the_call(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer, tenant_users: TenantUsers
) -> None:
    team_anthropic.push(Reply(tokens=[f"word{n} " for n in range(40)], token_latency=0.1))
    with client.messages.stream(model="auto", max_tokens=256, messages=HELLO) as stream:
        for count, _text in enumerate(stream.text_stream, start=1):
            if count == 3:
                break
    row = settled_log(tenant_users)
    assert row.state == LogState.CANCELLED
    assert row.error_code == "cancelled"
    assert ProviderLog.objects.for_tenant(tenant_users.tenant).count() == 1
