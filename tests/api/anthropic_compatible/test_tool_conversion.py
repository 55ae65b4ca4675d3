"""Tool use between Messages bodies and the gateway, without a server: the request the
gateway gets, the Message a reply with tool calls becomes, and its streamed frames."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import pytest

from api.anthropic_compatible import conversion, streaming
from api.anthropic_compatible.schemas import MessageResponse, MessagesRequest
from api.errors import ApiProblem
from api.gateway_models import ModelChoice
from api.models import ApiKey
from providers.interface import (
    Completion,
    DoneEvent,
    GatewayRequest,
    Message,
    StartEvent,
    StreamEvent,
    TokenEvent,
    Tool,
    ToolCall,
    ToolCallEvent,
    ToolChoice,
    Usage,
    UsageEvent,
)

KEY = ApiKey(tenant_id=7, prefix="sce_tools002")
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather",
        "input_schema": WEATHER,
        "cache_control": {"type": "ephemeral"},
    },
    {"type": "custom", "name": "get_time", "input_schema": {"type": "object"}},
]
ASKED = {
    "role": "assistant",
    "content": [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Lyon"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
    ],
}


def request_of(**body: Any) -> GatewayRequest:
    payload = MessagesRequest.model_validate(
        {"model": "auto", "max_tokens": 64, "messages": [{"role": "user", "content": "Weather?"}], **body}
    )
    return conversion.gateway_request(payload, choice=ModelChoice("auto"), key=KEY)


def test_tools_and_the_choice_reach_the_gateway() -> None:
    request = request_of(tools=TOOLS, tool_choice={"type": "any", "disable_parallel_tool_use": True})
    assert request.tools == (
        Tool("get_weather", "The weather", WEATHER),
        Tool("get_time", "", {"type": "object"}),
    )
    assert request.tool_choice == ToolChoice("required")
    for choice, expected in [
        ({"type": "auto"}, ToolChoice("auto")),
        ({"type": "none"}, ToolChoice("none")),
        ({"type": "tool", "name": "get_time"}, ToolChoice("tool", "get_time")),
    ]:
        assert request_of(tools=TOOLS, tool_choice=choice).tool_choice == expected
    assert request_of(tool_choice={"type": "auto"}).tool_choice == ToolChoice()


def test_tool_use_and_tool_result_blocks_become_calls_and_tool_turns() -> None:
    request = request_of(
        tools=TOOLS,
        messages=[
            {"role": "user", "content": "Weather and time in Lyon?"},
            ASKED,
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21 °C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "clock"}, {"type": "text", "text": "down"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
    )
    assert request.messages == (
        Message("user", "Weather and time in Lyon?"),
        Message(
            "assistant",
            "Let me look.",
            tool_calls=(
                ToolCall("toolu_1", "get_weather", '{"city": "Lyon"}'),
                ToolCall("toolu_2", "get_time", "{}"),
            ),
        ),
        Message("tool", "21 °C", tool_call_id="toolu_1"),
        Message("tool", "clock\n\ndown", tool_call_id="toolu_2", is_error=True),
        Message("user", "And tomorrow?"),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "get_mood"}},
            "tool_choice.name: 'get_mood' is not the name of one of 'tools'",
        ),
        (
            {"tool_choice": {"type": "any"}},
            "tool_choice: a tool_choice of type 'any' needs 'tools' to choose from",
        ),
        (
            {"tools": [TOOLS[0], TOOLS[0]]},
            "tools.1.name: two tools are named 'get_weather'; names must be unique",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    ASKED,
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9"}]},
                ]
            },
            "messages.2.content.0.tool_use_id: 'toolu_9' answers no tool_use block of an earlier "
            "assistant turn",
        ),
    ],
)
def test_what_needs_more_than_one_field_is_refused_naming_it(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        request_of(**body)
    assert (refused.value.status, refused.value.message) == (400, message)


def completion(text: str, calls: Sequence[ToolCall], finish_reason: str) -> Completion:
    return Completion(
        request_id="req_1",
        provider="team-openai",
        model="gpt-4o-mini",
        text=text,
        finish_reason=finish_reason,
        usage=Usage(10, 5),
        cost_usd=0.0,
        attempts=1,
        tool_calls=tuple(calls),
    )


def test_a_reply_that_calls_tools_is_text_then_tool_use_blocks() -> None:
    calls = [ToolCall("call_1", "get_weather", '{"city":"Lyon"}'), ToolCall("call_2", "get_time", "")]
    # An OpenAI-kind provider may finish a forced call with "stop": it still calls tools.
    message = conversion.message_response(completion("Let me look.", calls, "stop"))
    assert message.model_dump(mode="json")["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Lyon"}},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
    ]
    assert message.stop_reason == "tool_use"
    assert conversion.message_response(completion("", calls[:1], "tool_calls")).content[0].type == "tool_use"


@pytest.mark.parametrize("arguments", ['{"city": "Ly', "[1, 2]", "null"])
def test_arguments_that_are_not_a_json_object_are_a_502(arguments: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        conversion.message_response(
            completion("", [ToolCall("call_1", "get_weather", arguments)], "tool_calls")
        )
    assert (refused.value.status, refused.value.code) == (502, "invalid_tool_arguments")
    assert "'get_weather'" in refused.value.message


async def frames_of(events: list[StreamEvent]) -> list[dict[str, Any]]:
    """The frames' data, each checked to name its event, after the start event."""

    async def source() -> AsyncGenerator[StreamEvent, None]:
        for event in events:
            yield event

    start = StartEvent("req_1", "team-openai", "gpt-4o-mini")
    raw = b"".join([frame async for frame in streaming._frames(start, source(), 12)]).decode()
    frames = []
    for frame in raw.removesuffix("\n\n").split("\n\n"):
        event_line, data_line = frame.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event_line.removeprefix("event: ")
        frames.append(data)
    return frames


async def test_streamed_tool_calls_are_tool_use_blocks_with_input_json_deltas() -> None:
    frames = await frames_of(
        [
            TokenEvent(0, "Let me look."),
            ToolCallEvent(0, "call_1", "get_weather", ""),
            ToolCallEvent(0, arguments='{"city"'),
            ToolCallEvent(0, arguments=':"Lyon"}'),
            ToolCallEvent(1, "call_2", "get_time", "{}"),
            UsageEvent(10, 5),
            DoneEvent("stop"),
        ]
    )
    assert frames[1:] == [
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me look."}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city"'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ':"Lyon"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": "{}"},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 5, "input_tokens": 10},
        },
        {"type": "message_stop"},
    ]
    assert frames[0]["type"] == "message_start"


async def test_a_reply_that_only_calls_a_tool_opens_with_its_block() -> None:
    frames = await frames_of([ToolCallEvent(0, "call_1", "get_time", ""), DoneEvent("tool_calls")])
    assert [frame["type"] for frame in frames] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert frames[1]["content_block"]["type"] == "tool_use"


async def test_streamed_arguments_that_are_not_a_json_object_end_with_an_error() -> None:
    frames = await frames_of(
        [
            ToolCallEvent(0, "call_1", "get_weather", '{"city": "Ly'),
            ToolCallEvent(1, "call_2", "get_time", "{}"),
            UsageEvent(10, 5),
            DoneEvent("tool_calls"),
        ]
    )
    assert [frame["type"] for frame in frames] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "error",
    ]
    assert frames[-1]["error"]["type"] == "api_error"
    assert "'get_weather'" in frames[-1]["error"]["message"]


async def test_an_empty_reply_has_one_empty_text_block() -> None:
    frames = await frames_of([UsageEvent(3, 0), DoneEvent("stop")])
    assert [frame["type"] for frame in frames] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert frames[-2]["delta"]["stop_reason"] == "end_turn"


def test_the_documented_message_holds_tool_use_blocks() -> None:
    body = conversion.message_response(
        completion("", [ToolCall("c", "get_time", "{}")], "tool_calls")
    ).model_dump(mode="json")
    assert MessageResponse.model_validate(body).content[0].type == "tool_use"
