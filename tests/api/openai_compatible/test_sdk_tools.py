"""Function calling with the official `openai` clients, unmodified, against the live server:
define tools, the model asks for calls, the client sends the results, the model answers."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionNamedToolChoiceParam,
    ChatCompletionToolMessageParam,
    ChatCompletionToolParam,
)

from api import services
from tests.emulators.script import Reply, ToolUse
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION: ChatCompletionMessageParam = {"role": "user", "content": "Weather and time in Lyon?"}
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "strict": True,
        },
    },
    {"type": "function", "function": {"name": "get_time"}},
]
CALLS = [ToolUse("get_weather", {"city": "Lyon"}, id="call_weather"), ToolUse("get_time", {}, id="call_time")]


def function_calls(message: ChatCompletionMessage) -> list[tuple[str, str, object]]:
    """A reply's calls as (id, name, parsed arguments)."""
    calls = []
    for call in message.tool_calls or []:
        assert isinstance(call, ChatCompletionMessageFunctionToolCall)
        calls.append((call.id, call.function.name, json.loads(call.function.arguments)))
    return calls


TOLD = [("call_weather", "get_weather", {"city": "Lyon"}), ("call_time", "get_time", {})]


def answered(message: ChatCompletionMessage) -> list[ChatCompletionMessageParam]:
    """The assistant turn that asked for the calls, and a result for each."""
    calls = [
        call for call in message.tool_calls or [] if isinstance(call, ChatCompletionMessageFunctionToolCall)
    ]
    asked: ChatCompletionAssistantMessageParam = {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ],
    }
    results: list[ChatCompletionToolMessageParam] = [
        {"role": "tool", "tool_call_id": call.id, "content": f"result of {call.function.name}"}
        for call in calls
    ]
    return [asked, *results]


def test_a_whole_function_calling_loop(client: openai.OpenAI, team_openai: EmulatorServer) -> None:
    team_openai.push(Reply(text="", tool_calls=CALLS))
    first = client.chat.completions.create(model="auto", messages=[QUESTION], tools=TOOLS, tool_choice="auto")
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert function_calls(first.choices[0].message) == TOLD

    team_openai.push(Reply("21 °C and sunny; it is noon."))
    second = client.chat.completions.create(
        model="auto", messages=[QUESTION, *answered(first.choices[0].message)], tools=TOOLS
    )
    assert second.choices[0].message.content == "21 °C and sunny; it is noon."
    assert second.choices[0].finish_reason == "stop"
    upstream = team_openai.last_request.body["messages"]
    assert upstream[1]["role"] == "assistant"
    assert [(call["id"], call["function"]["name"]) for call in upstream[1]["tool_calls"]] == [
        ("call_weather", "get_weather"),
        ("call_time", "get_time"),
    ]
    assert upstream[2:] == [
        {"role": "tool", "tool_call_id": "call_weather", "content": "result of get_weather"},
        {"role": "tool", "tool_call_id": "call_time", "content": "result of get_time"},
    ]


def test_the_stream_helper_rebuilds_the_calls(client: openai.OpenAI, team_openai: EmulatorServer) -> None:
    team_openai.push(Reply(text="Let me look.", tool_calls=CALLS))
    with client.chat.completions.stream(model="auto", messages=[QUESTION], tools=TOOLS) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Let me look."
    assert function_calls(final.choices[0].message) == TOLD
    assert final.choices[0].finish_reason == "tool_calls"


async def test_the_async_client_calls_a_named_function_whole_and_streamed(
    async_client: openai.AsyncOpenAI, team_openai: EmulatorServer
) -> None:
    named: ChatCompletionNamedToolChoiceParam = {"type": "function", "function": {"name": "get_time"}}
    team_openai.push(Reply(text="", tool_calls=CALLS[1:]))
    whole = await async_client.chat.completions.create(
        model="auto", messages=[QUESTION], tools=TOOLS, tool_choice=named, parallel_tool_calls=False
    )
    assert function_calls(whole.choices[0].message) == TOLD[1:]
    # OpenAI finishes a call it was told to make with "stop"; it is still a call to run.
    assert whole.choices[0].finish_reason == "tool_calls"
    assert team_openai.last_request.body["tool_choice"] == named

    team_openai.push(Reply(text="", tool_calls=CALLS))
    async with async_client.chat.completions.stream(
        model="auto", messages=[QUESTION], tools=TOOLS, tool_choice="required"
    ) as stream:
        final = await stream.get_final_completion()
    assert function_calls(final.choices[0].message) == TOLD
    assert team_openai.last_request.body["tool_choice"] == "required"


def test_bad_tool_input_is_a_bad_request_naming_the_field(
    client: openai.OpenAI, team_openai: EmulatorServer
) -> None:
    unknown: ChatCompletionNamedToolChoiceParam = {"type": "function", "function": {"name": "get_mood"}}
    with pytest.raises(openai.BadRequestError) as choice:
        client.chat.completions.create(model="auto", messages=[QUESTION], tools=TOOLS, tool_choice=unknown)
    assert choice.value.param == "tool_choice"
    orphan: ChatCompletionToolMessageParam = {
        "role": "tool",
        "tool_call_id": "call_never_made",
        "content": "42",
    }
    with pytest.raises(openai.BadRequestError) as result:
        client.chat.completions.create(model="auto", messages=[QUESTION, orphan], tools=TOOLS)
    assert result.value.param == "messages.1.tool_call_id"
    assert team_openai.requests == []


@pytest.mark.parametrize("stream", [False, True])
def test_tools_with_only_the_embedded_model_are_not_capable(
    live_server_url: str, issued: services.IssuedApiKey, stream: bool
) -> None:
    # A tenant without providers of its own has the platform's embedded model, which takes no tools.
    client = openai.OpenAI(base_url=live_server_url + "/v1", api_key=issued.plaintext, max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="auto", messages=[QUESTION], tools=TOOLS, stream=stream)
    assert refused.value.code == "not_capable"
