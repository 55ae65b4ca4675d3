"""Tool calling between Chat Completions bodies and the gateway, without a server: the
request the gateway gets, the refusals that need more than one field, and the reply's
tool calls whole and streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import pytest

from api.errors import ApiProblem
from api.gateway_models import ModelChoice
from api.models import ApiKey
from api.openai_compatible import conversion, streaming
from api.openai_compatible.schemas import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
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

KEY = ApiKey(tenant_id=7, prefix="sce_tools001")
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "The weather", "parameters": WEATHER, "strict": True},
}
CLOCK_TOOL = {"type": "function", "function": {"name": "get_time"}}
ASKED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
    ],
}


def request_of(**body: Any) -> GatewayRequest:
    payload = ChatCompletionRequest.model_validate(
        {"model": "auto", "messages": [{"role": "user", "content": "Weather in Lyon?"}], **body}
    )
    conversion.refuse_unsupported(payload)
    return conversion.gateway_request(payload, choice=ModelChoice("auto"), key=KEY)


def refusal(**body: Any) -> ApiProblem:
    with pytest.raises(ApiProblem) as refused:
        request_of(**body)
    assert refused.value.status == 400
    return refused.value


def test_tools_and_the_choice_reach_the_gateway() -> None:
    request = request_of(tools=[WEATHER_TOOL, CLOCK_TOOL], tool_choice="required", parallel_tool_calls=False)
    assert request.tools == (
        Tool("get_weather", "The weather", WEATHER),
        Tool("get_time", "", {"type": "object", "properties": {}}),
    )
    assert request.tool_choice == ToolChoice("required")
    named = {"type": "function", "function": {"name": "get_time"}}
    assert request_of(tools=[WEATHER_TOOL, CLOCK_TOOL], tool_choice=named).tool_choice == ToolChoice(
        "tool", "get_time"
    )
    assert request_of(tools=[WEATHER_TOOL]).tool_choice == ToolChoice("auto")
    assert request_of(tools=[WEATHER_TOOL], tool_choice="none").tool_choice == ToolChoice("none")
    # Nothing to choose among: the choice is the default one, and nothing is offered.
    assert (request_of(tools=[], tool_choice="none").tools, request_of(tool_choice="auto").tool_choice) == (
        (),
        ToolChoice(),
    )


def test_calls_and_their_results_become_tool_turns() -> None:
    request = request_of(
        tools=[WEATHER_TOOL, CLOCK_TOOL],
        messages=[
            {"role": "user", "content": "Weather and time in Lyon?"},
            ASKED,
            {"role": "tool", "tool_call_id": "call_1", "content": "21 °C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}]},
            {"role": "assistant", "content": "Sunny, noon.", "tool_calls": []},
            {"role": "user", "content": "Thanks"},
        ],
    )
    assert request.messages == (
        Message("user", "Weather and time in Lyon?"),
        Message(
            "assistant",
            "",
            tool_calls=(
                ToolCall("call_1", "get_weather", '{"city":"Lyon"}'),
                ToolCall("call_2", "get_time", "{}"),
            ),
        ),
        Message("tool", "21 °C", tool_call_id="call_1"),
        Message("tool", "12:00", tool_call_id="call_2"),
        Message("assistant", "Sunny, noon."),
        Message("user", "Thanks"),
    )


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
            "tool_choice",
            "invalid_value",
        ),
        ({"tool_choice": "required"}, "tool_choice", "invalid_value"),
        ({"tools": [WEATHER_TOOL, WEATHER_TOOL]}, "tools.1.function.name", "invalid_value"),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    ASKED,
                    {"role": "tool", "tool_call_id": "call_9", "content": "x"},
                ]
            },
            "messages.2.tool_call_id",
            "invalid_value",
        ),
        (
            # A result must come after its call, not before.
            {"messages": [{"role": "tool", "tool_call_id": "call_1", "content": "x"}, ASKED]},
            "messages.0.tool_call_id",
            "invalid_value",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}, ASKED, {"role": "tool", "content": "x"}]},
            "messages.2.tool_call_id",
            "invalid_request",
        ),
        (
            {"messages": [{"role": "user", "content": "hi", "tool_calls": ASKED["tool_calls"]}]},
            "messages.0.tool_calls",
            "invalid_value",
        ),
        ({"functions": [{"name": "f"}]}, "functions", "unsupported_parameter"),
        ({"function_call": "auto"}, "function_call", "unsupported_parameter"),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "function", "name": "f", "content": "x"},
                ]
            },
            "messages.1.role",
            "unsupported_parameter",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}
                ]
            },
            "messages.0.function_call",
            "unsupported_parameter",
        ),
    ],
)
def test_what_needs_more_than_one_field_is_refused_naming_it(
    body: dict[str, Any], param: str, code: str
) -> None:
    problem = refusal(**body)
    assert (problem.param, problem.code) == (param, code)


def test_the_deprecated_functions_are_refused_pointing_to_tools() -> None:
    assert "send 'tools'" in refusal(functions=[{"name": "f"}]).message


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


def test_a_reply_that_calls_tools_has_null_content_and_finishes_with_tool_calls() -> None:
    call = ToolCall("call_1", "get_weather", '{"city":"Lyon"}')
    # A forced call may finish with "stop" upstream: it still is a reply that calls tools.
    body = conversion.completion_body(completion("", [call], "stop"))
    ChatCompletion.model_validate(body)
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
            }
        ],
    }
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    with_text = conversion.completion_body(completion("Let me look.", [call], "tool_calls"))
    assert with_text["choices"][0]["message"]["content"] == "Let me look."
    plain = conversion.completion_body(completion("", [], "stop"))
    assert plain["choices"][0]["message"] == {"role": "assistant", "content": "", "refusal": None}
    assert plain["choices"][0]["finish_reason"] == "stop"


async def streamed(events: list[StreamEvent]) -> list[dict[str, Any]]:
    """The chunks `events` become, after the start event, checked against the documented schema."""

    async def source() -> AsyncGenerator[StreamEvent, None]:
        for event in events:
            yield event

    start = StartEvent("req_1", "team-openai", "gpt-4o-mini")
    frames = b"".join([frame async for frame in streaming._events(start, source(), include_usage=False)])
    payloads = frames.decode().removesuffix("\n\n").split("\n\n")
    assert payloads[-1] == "data: [DONE]"
    chunks = [json.loads(payload.removeprefix("data: ")) for payload in payloads[:-1]]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    return chunks


async def test_streamed_tool_calls_come_as_openai_sends_them() -> None:
    chunks = await streamed(
        [
            ToolCallEvent(0, "call_1", "get_weather", ""),
            ToolCallEvent(0, arguments='{"city"'),
            ToolCallEvent(0, arguments=""),  # nothing new: nothing sent
            ToolCallEvent(0, arguments=':"Lyon"}'),
            ToolCallEvent(1, "call_2", "get_time", "{}"),
            UsageEvent(10, 5),
            DoneEvent("stop"),
        ]
    )
    assert [chunk["choices"][0]["delta"] for chunk in chunks] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ],
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": ':"Lyon"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ]
        },
        {},
    ]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * 4 + ["tool_calls"]


async def test_text_before_a_tool_call_opens_with_empty_content() -> None:
    chunks = await streamed(
        [
            TokenEvent(0, "Let me look."),
            ToolCallEvent(0, "call_1", "get_weather", '{"city":"Lyon"}'),
            DoneEvent("tool_calls"),
        ]
    )
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert deltas[:2] == [{"role": "assistant", "content": ""}, {"content": "Let me look."}]
    assert deltas[2]["tool_calls"][0]["id"] == "call_1"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_an_empty_reply_still_names_the_role() -> None:
    chunks = await streamed([UsageEvent(3, 0), DoneEvent("stop")])
    assert [chunk["choices"][0]["delta"] for chunk in chunks] == [{"role": "assistant", "content": ""}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
