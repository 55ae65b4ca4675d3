"""Tool calling on POST /v1/chat/completions through the test client: what the provider
receives, the reply's tool calls whole and streamed, and the refusals naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from api.openai_compatible.schemas import ChatCompletion, ChatCompletionChunk, OpenAIError
from tests.api.openai_compatible.test_chat_streaming import stream
from tests.emulators.script import Reply, ToolUse
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/v1/chat/completions"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather", "parameters": WEATHER},
    },
    {"type": "function", "function": {"name": "get_time"}},
]
QUESTION = {"role": "user", "content": "Weather in Lyon?"}


def post(headers: dict[str, Any], **body: Any) -> Any:
    body = {"model": "auto", "messages": [QUESTION], **body}
    return Client().post(URL, json.dumps(body), content_type="application/json", headers=headers)


def test_a_reply_that_calls_tools_is_in_openai_shape(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    team_openai.push(
        Reply(
            text="",
            tool_calls=[
                ToolUse("get_weather", {"city": "Lyon"}, id="call_w"),
                ToolUse("get_time", {}, id="call_t"),
            ],
        )
    )
    response = post(bearer, tools=TOOLS, tool_choice="required", parallel_tool_calls=True)
    assert response.status_code == 200, response.content
    body = response.json()
    ChatCompletion.model_validate(body)
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert [(call["id"], call["type"], call["function"]["name"]) for call in message["tool_calls"]] == [
        ("call_w", "function", "get_weather"),
        ("call_t", "function", "get_time"),
    ]
    assert [json.loads(call["function"]["arguments"]) for call in message["tool_calls"]] == [
        {"city": "Lyon"},
        {},
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"

    sent = team_openai.last_request.body
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["get_weather", "get_time"]
    assert sent["tools"][0] == {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather", "parameters": WEATHER},
    }
    assert sent["tool_choice"] == "required"


def test_the_results_reach_the_provider_as_tool_messages(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    team_openai.push(Reply("21 °C and sunny in Lyon."))
    named = {"type": "function", "function": {"name": "get_weather"}}
    asked = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_w",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
            }
        ],
    }
    result = {"role": "tool", "tool_call_id": "call_w", "content": [{"type": "text", "text": "21 °C, sunny"}]}
    response = post(bearer, tools=TOOLS, tool_choice=named, messages=[QUESTION, asked, result])
    assert response.status_code == 200, response.content
    assert response.json()["choices"][0]["message"]["content"] == "21 °C and sunny in Lyon."
    assert response.json()["choices"][0]["finish_reason"] == "stop"
    sent = team_openai.last_request.body
    assert sent["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": asked["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_w", "content": "21 °C, sunny"},
    ]
    assert sent["tool_choice"] == named


async def test_streamed_tool_calls_come_in_openai_pieces(
    team_openai: EmulatorServer, bearer: dict[str, Any]
) -> None:
    team_openai.push(
        Reply(text="", tool_calls=[ToolUse("get_weather", {"city": "Lyon", "days": 3}, id="call_w")])
    )
    _response, events = await stream(bearer, tools=TOOLS)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert deltas[0] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": "call_w",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ],
    }
    pieces = [delta["tool_calls"][0]["function"]["arguments"] for delta in deltas[1:-1]]
    assert len(pieces) > 1, "the arguments came in several pieces"
    assert all(set(delta["tool_calls"][0]) == {"index", "function"} for delta in deltas[1:-1])
    assert json.loads("".join(pieces)) == {"city": "Lyon", "days": 3}
    assert (deltas[-1], chunks[-1]["choices"][0]["finish_reason"]) == ({}, "tool_calls")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "get_mood"}}},
            "tool_choice",
        ),
        (
            {"messages": [QUESTION, {"role": "tool", "tool_call_id": "call_never_made", "content": "21 °C"}]},
            "messages.1.tool_call_id",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]},
            "tools.0.function.parameters",
        ),
    ],
)
def test_bad_tool_input_is_400_naming_the_field(
    team_openai: EmulatorServer, bearer: dict[str, Any], body: dict[str, Any], param: str
) -> None:
    response = post(bearer, **body)
    assert response.status_code == 400
    OpenAIError.model_validate(response.json())
    assert (response.json()["error"]["param"], response.json()["error"]["type"]) == (
        param,
        "invalid_request_error",
    )
    assert team_openai.requests == [], "nothing was sent upstream"


@pytest.mark.parametrize("stream", [False, True])
def test_tools_for_the_embedded_model_alone_are_not_capable(bearer: dict[str, Any], stream: bool) -> None:
    # No provider of its own: the tenant has the platform's embedded model, which takes no tools.
    response = post(bearer, model="embedded", tools=TOOLS, stream=stream)
    assert response.status_code == 400, response.content
    OpenAIError.model_validate(response.json())
    assert response.json()["error"]["code"] == "not_capable"
