"""Tool calling on the OpenAI emulator (and Groq's), through the `openai` SDK and as raw bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from tests.emulators import DropAfter, EmulatorServer, Reply, ToolUse
from tests.emulators.script import outcome_from_dict

MODEL = "gpt-4o-mini"
QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Where are our sites?"}]
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {"name": "lookup_sites", "parameters": {"type": "object", "properties": {}}},
    }
]
SITES = {"city": "Oslo", "region": "Østlandet"}
ARGUMENTS = '{"city":"Oslo","region":"Østlandet"}'
ASKED: ChatCompletionAssistantMessageParam = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup_sites", "arguments": ARGUMENTS}}
    ],
}


@pytest.fixture
def client(openai_emulator: EmulatorServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        api_key="sk-test", base_url=openai_emulator.base_url, max_retries=0, timeout=10
    ) as sdk:
        yield sdk


def streamed(emulator: EmulatorServer, path: str, body: dict[str, Any]) -> list[Any]:
    """A streamed reply's chunks as sent, the [DONE] line left out."""
    response = httpx2.post(
        emulator.base_url + path,
        json={**body, "stream": True},
        headers={"authorization": "Bearer k"},
        timeout=5,
    )
    frames = [frame for frame in response.text.split("\n\n") if frame]
    assert frames[-1] == "data: [DONE]"
    return [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]


def deltas(chunks: list[Any]) -> list[Any]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk.get("choices")]


def test_a_whole_reply_calls_tools_after_its_text(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    openai_emulator.push(Reply("Looking.", tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("noop")]))
    completion = client.chat.completions.create(model=MODEL, messages=QUESTION, tools=TOOLS)
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Looking."
    calls = [call for call in choice.message.tool_calls or [] if call.type == "function"]
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("lookup_sites", ARGUMENTS),
        ("noop", "{}"),
    ]
    assert all(c.id.startswith("call_") and len(c.id) == 29 for c in calls)
    # One token a piece: the text's word, then the arguments eight characters at a time.
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 1 + 5 + 1


def test_a_reply_that_only_calls_a_tool_has_null_content(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    openai_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES, id="call_given")]))
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=QUESTION, tools=TOOLS)
    message = json.loads(raw.http_response.text)["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_given",
                "type": "function",
                "function": {"name": "lookup_sites", "arguments": ARGUMENTS},
            }
        ],
        "refusal": None,
        "annotations": [],
    }


def test_a_stream_opens_each_call_then_sends_its_arguments_in_pieces(openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES)]))
    chunks = streamed(
        openai_emulator, "/chat/completions", {"model": MODEL, "messages": QUESTION, "tools": TOOLS}
    )
    head, opening, *pieces, last = deltas(chunks)
    assert head == {"role": "assistant", "content": None, "refusal": None}
    call_id = opening["tool_calls"][0]["id"]
    assert opening == {
        "tool_calls": [
            {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": "lookup_sites", "arguments": ""},
            }
        ]
    }
    assert pieces[0] == {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}
    assert "".join(p["tool_calls"][0]["function"]["arguments"] for p in pieces) == ARGUMENTS
    assert len(pieces) == 5
    assert last == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_the_sdk_reassembles_a_streamed_call(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("Sure.", tool_calls=[ToolUse("lookup_sites", SITES)]))
    with client.chat.completions.stream(model=MODEL, messages=QUESTION, tools=TOOLS) as stream:
        final = stream.get_final_completion()
    [choice] = final.choices
    assert choice.message.content == "Sure."
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.function.name, call.function.arguments) == ("lookup_sites", ARGUMENTS)


def test_a_call_forced_by_name_finishes_with_stop(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    openai_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES)]))
    completion = client.chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "lookup_sites"}},
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.tool_calls


def test_groq_streams_each_call_whole(groq_emulator: EmulatorServer) -> None:
    groq_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES)]))
    chunks = streamed(
        groq_emulator,
        "/openai/v1/chat/completions",
        {"model": "llama-3.3-70b-versatile", "messages": QUESTION},
    )
    calls = [delta["tool_calls"] for delta in deltas(chunks) if "tool_calls" in delta]
    assert len(calls) == 1
    assert calls[0][0]["function"] == {"name": "lookup_sites", "arguments": ARGUMENTS}


def test_a_dropped_stream_counts_argument_pieces_as_tokens(openai_emulator: EmulatorServer) -> None:
    """After=3: the text's one token, then the call's opening with its first piece, and one more
    piece (the arguments' 36 characters go in five pieces of seven or eight)."""
    openai_emulator.push(Reply("Hi", tool_calls=[ToolUse("lookup_sites", SITES)], fault=DropAfter(3)))
    received = b""
    body = {"model": MODEL, "messages": QUESTION, "tools": TOOLS, "stream": True}
    url = openai_emulator.base_url + "/chat/completions"
    with httpx2.stream("POST", url, json=body, headers={"authorization": "Bearer k"}) as response:
        parts = response.iter_bytes()
        while True:
            try:
                received += next(parts)
            except httpx2.RemoteProtocolError:
                break  # the connection was dropped: no final chunk, no [DONE]
    frames = [json.loads(frame.removeprefix(b"data: ")) for frame in received.split(b"\n\n") if frame]
    sent = deltas(frames)
    assert sent[1] == {"content": "Hi"}
    assert "".join(d["tool_calls"][0]["function"]["arguments"] for d in sent[2:]) == '{"city":"Oslo",'
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in frames)


def test_a_tool_call_in_a_pushed_script(openai_emulator: EmulatorServer) -> None:
    outcome = outcome_from_dict(
        {"tool_calls": [{"name": "lookup_sites", "arguments": {"city": "Oslo"}, "id": "call_x"}]}
    )
    assert outcome == Reply(tool_calls=(ToolUse("lookup_sites", {"city": "Oslo"}, id="call_x"),))
    with pytest.raises(ValueError, match="unknown fields for a tool call"):
        outcome_from_dict({"tool_calls": [{"name": "f", "colour": "red"}]})
    with pytest.raises(ValueError, match="needs a name"):
        outcome_from_dict({"tool_calls": [{"arguments": {}}]})


REFUSALS: dict[str, tuple[dict[str, Any], str, str]] = {
    "a tool message answering nothing": (
        {"messages": [*QUESTION, {"role": "tool", "tool_call_id": "call_1", "content": "3"}]},
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
        "'tool_calls'.",
        "messages.[1].role",
    ),
    "a call left unanswered": (
        {"messages": [*QUESTION, ASKED, {"role": "user", "content": "well?"}]},
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: call_1",
        "messages.[1].role",
    ),
    "a tool choice without tools": (
        {"messages": QUESTION, "tool_choice": "required"},
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        "tool_choice",
    ),
    "a function name with a space": (
        {"messages": QUESTION, "tools": [{"type": "function", "function": {"name": "look up"}}]},
        "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that matches "
        "the pattern '^[a-zA-Z0-9_-]+$'.",
        "tools[0].function.name",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_what_the_api_refuses_is_refused_in_its_words(
    client: openai.OpenAI, openai_emulator: EmulatorServer, case: str
) -> None:
    body, message, param = REFUSALS[case]
    openai_emulator.push(Reply("kept"))
    with pytest.raises(openai.BadRequestError) as raised:
        client.post("/chat/completions", body={"model": MODEL, **body}, cast_to=object)
    assert raised.value.body == {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": raised.value.code,
    }
    assert openai_emulator.last_request.outcome == "http_error 400"
    assert openai_emulator.pending() == 1, "a refused request takes no scripted outcome"


def test_a_turn_answering_its_calls_is_taken_and_recorded(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    conversation: list[ChatCompletionMessageParam] = [
        *QUESTION,
        ASKED,
        {"role": "tool", "tool_call_id": "call_1", "content": "3 sites"},
    ]
    openai_emulator.push(Reply("Three sites."))
    completion = client.chat.completions.create(
        model=MODEL, messages=conversation, tools=TOOLS, tool_choice="auto"
    )
    assert completion.choices[0].message.content == "Three sites."
    assert openai_emulator.last_request.body["messages"] == conversation
