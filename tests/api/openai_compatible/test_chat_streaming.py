"""`stream: true` through the async test client: the exact event sequence, and a cut that
ends with an error event instead of `[DONE]`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from api import services
from api.openai_compatible.schemas import ChatCompletionChunk, OpenAIError
from providers.models import LogState, ProviderLog
from tests.emulators.script import DropAfter, ErrorAfter, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)


async def stream(headers: dict[str, Any], **extra: Any) -> tuple[Any, list[Any]]:
    """The response and its `data:` payloads, parsed (`[DONE]` kept as the string)."""
    body = {"model": "auto", "messages": [{"role": "user", "content": "Say hello"}], "stream": True, **extra}
    response = await AsyncClient().post(
        "/v1/chat/completions", json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.content
    raw = b"".join([part async for part in response.streaming_content]).decode()  # type: ignore[attr-defined]
    assert raw.endswith("\n\n")
    events = raw.removesuffix("\n\n").split("\n\n")
    assert all(event.startswith("data: ") for event in events), raw
    payloads = [event.removeprefix("data: ") for event in events]
    return response, [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


async def test_a_stream_is_sent_as_openai_sends_it(
    team_openai: EmulatorServer, bearer: dict[str, Any], issued: services.IssuedApiKey
) -> None:
    team_openai.push(Reply(tokens=["Bon", "jour", " !"], input_tokens=5, output_tokens=3))
    response, events = await stream(bearer, stream_options={"include_usage": True})
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert (response["Cache-Control"], response["X-Accel-Buffering"]) == ("no-cache", "no")

    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    assert {chunk["id"] for chunk in chunks} == {f"chatcmpl-{response['x-request-id']}"}
    assert {chunk["model"] for chunk in chunks} == {"gpt-4o-mini"}
    choices = [chunk["choices"] for chunk in chunks]
    assert [choice[0]["delta"] for choice in choices[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "Bon"},
        {"content": "jour"},
        {"content": " !"},
        {},
    ]
    assert [choice[0]["finish_reason"] for choice in choices[:-1]] == [None, None, None, None, "stop"]
    assert [chunk["usage"] for chunk in chunks[:-1]] == [None] * 5
    assert choices[-1] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    log = await sync_to_async(ProviderLog.objects.for_tenant(issued.key.tenant).get)()
    assert (log.request_id, log.state, log.output_tokens) == (response["x-request-id"], LogState.COMPLETED, 3)


async def test_without_include_usage_no_usage_is_sent(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    team_openai.push(Reply(tokens=["Hi", "!"], input_tokens=5, output_tokens=2))
    _response, events = await stream(bearer)
    assert events[-1] == "[DONE]"
    assert all("usage" not in chunk and chunk["choices"] for chunk in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("fault", [ErrorAfter(2), DropAfter(2)], ids=["error-frame", "dropped-connection"])
async def test_a_stream_cut_after_tokens_ends_with_an_error_not_done(
    team_openai: EmulatorServer, bearer: dict[str, Any], issued: services.IssuedApiKey, fault: Any
) -> None:
    team_openai.push(Reply(tokens=["one", " two", " three", " four"], fault=fault))
    response, events = await stream(bearer, stream_options={"include_usage": True})
    assert "[DONE]" not in events
    assert [event["choices"][0]["delta"] for event in events[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "one"},
        {"content": " two"},
    ]
    OpenAIError.model_validate(events[-1])
    assert events[-1]["error"]["type"] == "api_error"
    log = await sync_to_async(ProviderLog.objects.for_tenant(issued.key.tenant).get)()
    assert (log.request_id, log.state) == (response["x-request-id"], LogState.FAILED_PARTIAL)
