"""Tool use on the Anthropic emulator, through the `anthropic` SDK and as raw events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import AssistantMessageParam, MessageParam, ToolParam

from tests.emulators import EmulatorServer, Reply, ToolUse

MODEL = "claude-haiku-4-5-20251001"
QUESTION: list[MessageParam] = [{"role": "user", "content": "Where are our sites?"}]
TOOLS: list[ToolParam] = [{"name": "lookup_sites", "input_schema": {"type": "object", "properties": {}}}]
SITES: dict[str, object] = {"city": "Oslo", "region": "Østlandet"}
ASKED: AssistantMessageParam = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup_sites", "input": SITES}],
}


@pytest.fixture
def client(anthropic_emulator: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key="k", base_url=anthropic_emulator.base_url, max_retries=0, timeout=10
    ) as sdk:
        yield sdk


def raw_events(client: anthropic.Anthropic, **extra: Any) -> list[tuple[str, Any]]:
    response = client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=200, messages=QUESTION, tools=TOOLS, stream=True, **extra
    )
    with response as raw:
        body = raw.read().decode()
    events = []
    for frame in body.split("\n\n"):
        if frame:
            name, data = frame.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_a_whole_reply_has_tool_use_blocks_after_its_text(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("Looking.", tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("noop")]))
    message = client.messages.create(model=MODEL, max_tokens=200, messages=QUESTION, tools=TOOLS)
    assert message.stop_reason == "tool_use"
    text, sites, noop = message.content
    assert text.type == "text"
    assert text.text == "Looking."
    assert sites.type == "tool_use"
    assert noop.type == "tool_use"
    assert (sites.name, sites.input, noop.name, noop.input) == ("lookup_sites", SITES, "noop", {})
    assert sites.id.startswith("toolu_01")
    assert len(sites.id) == 30


def test_a_stream_of_tool_use_only_opens_with_the_tool_use_block(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES, id="toolu_given")]))
    events = raw_events(client)
    names = [name for name, _data in events]
    assert names[:4] == ["message_start", "content_block_start", "content_block_delta", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "toolu_given", "name": "lookup_sites", "input": {}},
    }
    pieces = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert pieces[0] == {"type": "input_json_delta", "partial_json": ""}
    assert all(piece["type"] == "input_json_delta" for piece in pieces)
    assert json.loads("".join(piece["partial_json"] for piece in pieces)) == SITES
    assert len(pieces) == 1 + 5
    assert events[-3][1] == {"type": "content_block_stop", "index": 0}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_a_stream_with_text_puts_each_call_in_a_block_of_its_own(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("Looking.", tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("noop")]))
    events = raw_events(client)
    blocks = [
        (name, data["index"])
        for name, data in events
        if name.startswith("content_block_") and "index" in data
    ]
    starts_and_stops = [(name, index) for name, index in blocks if name != "content_block_delta"]
    assert starts_and_stops == [
        ("content_block_start", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_stop", 2),
    ]


def test_the_sdk_accumulates_a_streamed_tool_use(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("Sure.", tool_calls=[ToolUse("lookup_sites", SITES)]))
    with client.messages.stream(model=MODEL, max_tokens=200, messages=QUESTION, tools=TOOLS) as stream:
        final = stream.get_final_message()
    text, call = final.content
    assert text.type == "text"
    assert call.type == "tool_use"
    assert (text.text, call.name, call.input) == ("Sure.", "lookup_sites", SITES)
    assert final.stop_reason == "tool_use"


REFUSALS: dict[str, tuple[list[Any], Any, str]] = {
    "a tool_use left unanswered": (
        [*QUESTION, ASKED, {"role": "user", "content": "well?"}],
        TOOLS,
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
    ),
    "a tool_result answering nothing": (
        [*QUESTION, ASKED, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "4"},
        ]}],
        TOOLS,
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2. Each "
        "`tool_result` block must have a corresponding `tool_use` block in the previous message.",
    ),
    "tool blocks without tools": (
        [*QUESTION, ASKED, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3"},
        ]}],
        None,
        "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    ),
    "a tool without a schema": (
        QUESTION,
        [{"name": "lookup_sites"}],
        "tools.0.custom.input_schema: Field required",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_what_the_api_refuses_is_refused_in_its_words(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer, case: str
) -> None:
    messages, tools, message = REFUSALS[case]
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": messages}
    if tools is not None:
        body["tools"] = tools
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.post("/v1/messages", body=body, cast_to=object)
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["error"] == {"type": "invalid_request_error", "message": message}


def test_a_turn_answering_its_calls_is_taken_and_recorded(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    conversation: list[MessageParam] = [
        *QUESTION,
        ASKED,
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 sites", "is_error": False}
            ],
        },
    ]
    anthropic_emulator.push(Reply("Three sites."))
    message = client.messages.create(
        model=MODEL, max_tokens=50, messages=conversation, tools=TOOLS, tool_choice={"type": "any"}
    )
    assert message.content[0].type == "text"
    assert anthropic_emulator.last_request.body["messages"] == conversation
    assert anthropic_emulator.last_request.body["tool_choice"] == {"type": "any"}
