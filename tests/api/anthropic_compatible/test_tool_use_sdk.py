"""Tool use with the official `anthropic` clients, unmodified, against the live server:
define tools, the model asks for calls, the client sends the results, the model answers."""

from __future__ import annotations

import json

import anthropic
import pytest
from anthropic.types import (
    Message,
    MessageParam,
    TextBlock,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlock,
)

from api import services as api_services
from tests.emulators.script import Reply, ToolUse
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION: MessageParam = {"role": "user", "content": "Weather and time in Lyon?"}
WEATHER: dict[str, object] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
TOOLS: list[ToolParam] = [
    {"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER},
    {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
]
CALLS = [
    ToolUse("get_weather", {"city": "Lyon"}, id="toolu_weather"),
    ToolUse("get_time", {}, id="toolu_time"),
]
TOLD = [("toolu_weather", "get_weather", {"city": "Lyon"}), ("toolu_time", "get_time", {})]


def tool_uses(message: Message) -> list[tuple[str, str, object]]:
    return [
        (block.id, block.name, block.input) for block in message.content if isinstance(block, ToolUseBlock)
    ]


def message_of(refusal: anthropic.APIStatusError) -> str:
    """The message of Anthropic's error body, checked to be an invalid request's."""
    assert isinstance(refusal.body, dict)
    assert refusal.body["error"]["type"] == "invalid_request_error"
    message: str = refusal.body["error"]["message"]
    return message


def text_of(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock))


def answered(message: Message, text: str) -> list[MessageParam]:
    """The assistant turn as the client got it, then a user turn with each call's result
    (the second one failed) and `text`."""
    results: list[ToolResultBlockParam] = [
        {"type": "tool_result", "tool_use_id": tool_id, "content": f"result of {name}"}
        for tool_id, name, _input in tool_uses(message)
    ]
    results[-1] |= {"is_error": True, "content": [{"type": "text", "text": "the clock is down"}]}
    return [
        {"role": "assistant", "content": message.content},
        {"role": "user", "content": [*results, {"type": "text", "text": text}]},
    ]


def test_a_whole_tool_use_loop(client: anthropic.Anthropic, team_anthropic: EmulatorServer) -> None:
    team_anthropic.push(Reply(text="Let me look.", tool_calls=CALLS))
    first = client.messages.create(
        model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS, tool_choice={"type": "auto"}
    )
    assert [block.type for block in first.content] == ["text", "tool_use", "tool_use"]
    assert text_of(first) == "Let me look."
    assert tool_uses(first) == TOLD
    assert first.stop_reason == "tool_use"
    upstream = team_anthropic.last_request.body
    assert upstream["tools"] == [
        {"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
    ]

    team_anthropic.push(Reply("21 °C and sunny; the time is unknown."))
    second = client.messages.create(
        model="auto", max_tokens=256, messages=[QUESTION, *answered(first, "Thanks!")], tools=TOOLS
    )
    assert text_of(second) == "21 °C and sunny; the time is unknown."
    assert second.stop_reason == "end_turn"
    turns = team_anthropic.last_request.body["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_weather", "name": "get_weather", "input": {"city": "Lyon"}},
            {"type": "tool_use", "id": "toolu_time", "name": "get_time", "input": {}},
        ],
    }
    assert turns[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_weather", "content": "result of get_weather"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_time",
                "content": "the clock is down",
                "is_error": True,
            },
            {"type": "text", "text": "Thanks!"},
        ],
    }


def test_the_stream_helper_rebuilds_the_tool_use_blocks(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply(text="Let me look.", tool_calls=CALLS))
    with client.messages.stream(
        model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS, tool_choice={"type": "any"}
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert text_of(final) == "Let me look."
    assert tool_uses(final) == TOLD
    assert final.stop_reason == "tool_use"
    assert kinds.count("input_json") >= 2, "the arguments came as input_json_delta pieces"
    assert team_anthropic.last_request.body["tool_choice"] == {"type": "any"}


async def test_the_async_client_whole_and_streamed(
    async_client: anthropic.AsyncAnthropic, team_anthropic: EmulatorServer
) -> None:
    team_anthropic.push(Reply(text="", tool_calls=CALLS[1:]))
    whole = await async_client.messages.create(
        model="auto",
        max_tokens=256,
        messages=[QUESTION],
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
    )
    assert [block.type for block in whole.content] == ["tool_use"]
    assert tool_uses(whole) == TOLD[1:]
    assert team_anthropic.last_request.body["tool_choice"] == {"type": "tool", "name": "get_time"}

    team_anthropic.push(Reply(text="", tool_calls=CALLS))
    async with async_client.messages.stream(
        model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS
    ) as stream:
        final = await stream.get_final_message()
    assert [block.type for block in final.content] == ["tool_use", "tool_use"]
    assert tool_uses(final) == TOLD
    assert final.stop_reason == "tool_use"


def test_an_openai_provider_calls_tools_for_an_anthropic_client(
    client: anthropic.Anthropic, team_openai: EmulatorServer
) -> None:
    team_openai.push(Reply(text="", tool_calls=[ToolUse("get_weather", {"city": "Lyon"}, id="call_weather")]))
    first = client.messages.create(model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS)
    assert tool_uses(first) == [("call_weather", "get_weather", {"city": "Lyon"})]
    assert first.stop_reason == "tool_use"
    assert team_openai.last_request.body["tools"][0]["function"]["parameters"] == WEATHER

    team_openai.push(Reply("21 °C."))
    with client.messages.stream(
        model="auto", max_tokens=256, messages=[QUESTION, *answered(first, "And tomorrow?")], tools=TOOLS
    ) as stream:
        assert text_of(stream.get_final_message()) == "21 °C."
    turns = team_openai.last_request.body["messages"]
    assert turns[-3]["tool_calls"][0]["id"] == "call_weather"
    assert json.loads(turns[-3]["tool_calls"][0]["function"]["arguments"]) == {"city": "Lyon"}
    assert turns[-2:] == [
        {"role": "tool", "tool_call_id": "call_weather", "content": "the clock is down"},
        {"role": "user", "content": "And tomorrow?"},
    ]


def test_arguments_that_are_not_a_json_object_are_an_api_error(
    client: anthropic.Anthropic, team_openai: EmulatorServer
) -> None:
    broken = Reply(text="", tool_calls=[ToolUse("get_weather", '{"city": "Lyon"', id="call_weather")])
    team_openai.push(broken)
    with pytest.raises(anthropic.InternalServerError) as whole:
        client.messages.create(model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS)
    assert whole.value.status_code == 502
    assert isinstance(whole.value.body, dict)
    assert whole.value.body["error"]["type"] == "api_error"

    team_openai.push(broken)
    received: list[str] = []
    events = client.messages.create(
        model="auto", max_tokens=256, messages=[QUESTION], tools=TOOLS, stream=True
    )

    def read_all() -> None:
        received.extend(event.type for event in events)

    with pytest.raises(anthropic.APIStatusError) as streamed:
        read_all()
    assert "message_stop" not in received
    assert "'get_weather'" in streamed.value.message


def test_bad_tool_input_is_a_bad_request_naming_the_field(
    client: anthropic.Anthropic, team_anthropic: EmulatorServer
) -> None:
    with pytest.raises(anthropic.BadRequestError) as choice:
        client.messages.create(
            model="auto",
            max_tokens=8,
            messages=[QUESTION],
            tools=TOOLS,
            tool_choice={"type": "tool", "name": "x"},
        )
    assert message_of(choice.value) == "tool_choice.name: 'x' is not the name of one of 'tools'"
    orphan: MessageParam = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_never"}],
    }
    with pytest.raises(anthropic.BadRequestError) as result:
        client.messages.create(model="auto", max_tokens=8, messages=[orphan], tools=TOOLS)
    assert message_of(result.value).startswith("messages.0.content.0.tool_use_id: 'toolu_never' answers no")
    assert team_anthropic.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_tools_with_only_the_embedded_model_are_a_bad_request(
    live_server_url: str, issued: api_services.IssuedApiKey, stream: bool
) -> None:
    # A tenant without providers of its own has the platform's embedded model, which takes no tools.
    sdk = anthropic.Anthropic(base_url=live_server_url, api_key=issued.plaintext, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(model="embedded", max_tokens=8, messages=[QUESTION], tools=TOOLS, stream=stream)
    assert "cannot call tools" in message_of(refused.value)
