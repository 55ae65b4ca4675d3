"""Tool calling through each SDK-based kind, against the emulator of its protocol.

Every kind that carries tools (all of tests/providers/sdk_kinds.py) sends the tools and the
tool choice in its provider's own form, reads a reply's tool calls whole and streamed, and
sends the calls and their results back on the next turn as its provider takes them (the
emulators refuse what the providers refuse, so an accepted turn is a well-formed one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from providers.errors import ErrorCode, ProviderError
from providers.interface import KindChunk, Message, Tool, ToolCall, ToolChoice
from providers.model_traits import forget_cached_traits
from providers.tool_calls import ToolCallPieces
from tests.emulators.script import Reply, ToolUse
from tests.emulators.server import EmulatorServer
from tests.providers.sdk_kinds import KINDS, OPENAI_KIND, Kind, call, client

# A kind reads what it learned about a model from the database (providers/model_traits.py).
pytestmark = pytest.mark.django_db(transaction=True)

SITE_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "sites": {"type": "integer"}},
    "required": ["city"],
}
PRICE_SCHEMA = {"type": "object", "properties": {"sku": {"type": "string"}}}
TOOLS = (
    Tool("lookup_sites", "Find the customer's sites in a city.", SITE_SCHEMA),
    Tool("price", "The list price of a SKU.", PRICE_SCHEMA),
)
SITES = {"city": "Oslo", "sites": 3, "note": "branch offices with a virtual firewall each"}
SKU = {"sku": "vfw-1"}
QUESTION = Message("user", "How much for our Oslo sites?")


@pytest.fixture(autouse=True)
def no_learned_traits() -> Iterator[None]:
    forget_cached_traits()
    yield
    forget_cached_traits()


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    chosen: Kind = request.param
    return chosen


@pytest.fixture
def emulator(kind: Kind, request: pytest.FixtureRequest) -> EmulatorServer:
    server: EmulatorServer = request.getfixturevalue(f"{kind.emulator}_emulator")
    return server


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def two_calls(text: str | None = "Let me look.") -> Reply:
    return Reply(text, tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("price", SKU)])


def assembled(chunks: list[KindChunk]) -> tuple[ToolCall, ...]:
    pieces = ToolCallPieces()
    for chunk in chunks:
        if chunk.tool_call is not None:
            piece = chunk.tool_call
            pieces.add(piece.index, id=piece.id, name=piece.name, arguments=piece.arguments)
    return pieces.calls


async def test_a_completion_calls_tools_and_the_tools_went_in_the_providers_form(
    kind: Kind, emulator: EmulatorServer
) -> None:
    emulator.push(two_calls())
    reply = await client(kind, emulator.base_url).complete(call(kind, messages=(QUESTION,), tools=TOOLS))
    assert reply.text == "Let me look."
    assert reply.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("lookup_sites", compact(SITES)),
        ("price", compact(SKU)),
    ]
    ids = [c.id for c in reply.tool_calls]
    assert all(ids)
    assert len(set(ids)) == 2
    sent = emulator.last_request.body
    if kind.wire == "anthropic":
        assert sent["tools"][0] == {
            "name": "lookup_sites",
            "input_schema": SITE_SCHEMA,
            "description": "Find the customer's sites in a city.",
        }
        assert all(i.startswith("toolu_") for i in ids)
    elif kind.wire == "gemini":
        [declarations] = sent["tools"]
        assert declarations["functionDeclarations"][0] == {
            "name": "lookup_sites",
            "description": "Find the customer's sites in a city.",
            # google-genai sends this field by its proto name, which the API reads as well.
            "parameters_json_schema": SITE_SCHEMA,
        }
    else:
        assert sent["tools"][0] == {
            "type": "function",
            "function": {
                "name": "lookup_sites",
                "parameters": SITE_SCHEMA,
                "description": "Find the customer's sites in a city.",
            },
        }
        assert all(i.startswith("call_") for i in ids)
    # auto is every API's default: not sent.
    assert "tool_choice" not in sent
    assert "toolConfig" not in sent


async def test_a_streamed_tool_call_is_its_pieces_in_order(kind: Kind, emulator: EmulatorServer) -> None:
    emulator.push(two_calls(text=None))
    whole = await client(kind, emulator.base_url).complete(call(kind, messages=(QUESTION,), tools=TOOLS))
    emulator.push(two_calls(text=None))
    chunks = [
        c async for c in client(kind, emulator.base_url).stream(call(kind, messages=(QUESTION,), tools=TOOLS))
    ]
    streamed = assembled(chunks)
    assert [(c.name, c.arguments) for c in streamed] == [(c.name, c.arguments) for c in whole.tool_calls]
    assert all(c.id for c in streamed)
    pieces = [c.tool_call for c in chunks if c.tool_call is not None]
    # The first piece of each call names it; no later piece does.
    firsts = {p.index: p for p in reversed(pieces)}
    assert all(p.id and p.name for p in firsts.values())
    assert sum(1 for p in pieces if p.id) == 2
    # Gemini and Groq send a call whole; the others its arguments a few characters at a time.
    whole_calls = kind.wire in ("gemini", "groq")
    assert (len(pieces) == 2) is whole_calls
    assert not any(c.text for c in chunks)
    assert chunks[-1].finish_reason == "tool_calls"


async def test_the_next_turn_sends_the_calls_and_their_results_in_the_providers_form(
    kind: Kind, emulator: EmulatorServer
) -> None:
    emulator.push(two_calls())
    first = await client(kind, emulator.base_url).complete(call(kind, messages=(QUESTION,), tools=TOOLS))
    sites, price = first.tool_calls
    conversation = (
        QUESTION,
        Message("assistant", first.text, tool_calls=first.tool_calls),
        Message("tool", '{"sites": ["Oslo-1", "Oslo-2", "Oslo-3"]}', tool_call_id=sites.id),
        Message("tool", "price list unavailable", tool_call_id=price.id, is_error=True),
    )
    emulator.push(Reply("Three sites; the price list is down."))
    second = await client(kind, emulator.base_url).complete(call(kind, messages=conversation, tools=TOOLS))
    assert second.text == "Three sites; the price list is down."
    assert second.finish_reason == "stop"
    sent = emulator.last_request.body
    if kind.wire == "anthropic":
        assert sent["messages"][1:] == [
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": sites.id, "name": "lookup_sites", "input": SITES},
                    {"type": "tool_use", "id": price.id, "name": "price", "input": SKU},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": sites.id,
                        "content": '{"sites": ["Oslo-1", "Oslo-2", "Oslo-3"]}',
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": price.id,
                        "content": "price list unavailable",
                        "is_error": True,
                    },
                ],
            },
        ]
    elif kind.wire == "gemini":
        assert sent["contents"][1:] == [
            {
                "role": "model",
                "parts": [
                    {"text": "Let me look."},
                    {"functionCall": {"id": sites.id, "name": "lookup_sites", "args": SITES}},
                    {"functionCall": {"id": price.id, "name": "price", "args": SKU}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": sites.id,
                            "name": "lookup_sites",
                            "response": {"output": '{"sites": ["Oslo-1", "Oslo-2", "Oslo-3"]}'},
                        }
                    },
                    {
                        "functionResponse": {
                            "id": price.id,
                            "name": "price",
                            "response": {"error": "price list unavailable"},
                        }
                    },
                ],
            },
        ]
    else:
        assert sent["messages"][2:] == [
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": sites.id,
                        "type": "function",
                        "function": {"name": "lookup_sites", "arguments": compact(SITES)},
                    },
                    {
                        "id": price.id,
                        "type": "function",
                        "function": {"name": "price", "arguments": compact(SKU)},
                    },
                ],
            },
            {
                "role": "tool",
                "tool_call_id": sites.id,
                "content": '{"sites": ["Oslo-1", "Oslo-2", "Oslo-3"]}',
            },
            {"role": "tool", "tool_call_id": price.id, "content": "price list unavailable"},
        ]


TOOL_CHOICES = {
    "required": (ToolChoice("required"), "required", {"type": "any"}, {"mode": "ANY"}),
    "tool": (
        ToolChoice("tool", "price"),
        {"type": "function", "function": {"name": "price"}},
        {"type": "tool", "name": "price"},
        {"mode": "ANY", "allowedFunctionNames": ["price"]},
    ),
    "none": (ToolChoice("none"), "none", {"type": "none"}, {"mode": "NONE"}),
}


@pytest.mark.parametrize("mode", list(TOOL_CHOICES))
@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_the_tool_choice_is_forwarded(
    kind: Kind, emulator: EmulatorServer, mode: str, streamed: bool
) -> None:
    choice, openai_form, anthropic_form, gemini_form = TOOL_CHOICES[mode]
    reply = Reply("No tools, then.") if mode == "none" else Reply(tool_calls=[ToolUse("price", SKU)])
    emulator.push(reply)
    asked = call(kind, messages=(QUESTION,), tools=TOOLS, tool_choice=choice)
    if streamed:
        chunks = [c async for c in client(kind, emulator.base_url).stream(asked)]
        calls, finish = assembled(chunks), chunks[-1].finish_reason
    else:
        completion = await client(kind, emulator.base_url).complete(asked)
        calls, finish = completion.tool_calls, completion.finish_reason
    sent = emulator.last_request.body
    if kind.wire == "anthropic":
        assert sent["tool_choice"] == anthropic_form
    elif kind.wire == "gemini":
        assert sent["toolConfig"] == {"functionCallingConfig": gemini_form}
    else:
        assert sent["tool_choice"] == openai_form
    # OpenAI finishes a forced call with `stop`; the gateway's word is `tool_calls` all the same.
    assert finish == ("stop" if mode == "none" else "tool_calls")
    assert [c.name for c in calls] == ([] if mode == "none" else ["price"])


async def test_a_result_that_answers_no_call_is_a_bad_request(kind: Kind, emulator: EmulatorServer) -> None:
    """The provider refuses it (Gemini's kind before sending: it cannot name the function)."""
    conversation = (QUESTION, Message("tool", "3 sites", tool_call_id="call_nobody_made"))
    with pytest.raises(ProviderError) as raised:
        await client(kind, emulator.base_url).complete(call(kind, messages=conversation, tools=TOOLS))
    assert raised.value.code is ErrorCode.BAD_REQUEST
    if kind.wire == "gemini":
        assert emulator.requests_to("completions") == []
    else:
        assert emulator.last_request.outcome == "http_error 400"


async def test_invalid_json_arguments_are_passed_on_as_written(openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply(tool_calls=[ToolUse("price", '{"sku": "vfw-1"', id="call_broken")]))
    reply = await client(OPENAI_KIND, openai_emulator.base_url).complete(
        call(OPENAI_KIND, messages=(QUESTION,), tools=TOOLS)
    )
    assert reply.tool_calls == (ToolCall("call_broken", "price", '{"sku": "vfw-1"'),)


async def test_anthropic_and_gemini_refuse_to_send_back_arguments_that_are_not_an_object(
    anthropic_emulator: EmulatorServer, gemini_emulator: EmulatorServer
) -> None:
    broken = ToolCall("call_1", "price", '{"sku": ')
    conversation = (
        QUESTION,
        Message("assistant", "", tool_calls=(broken,)),
        Message("tool", "?", tool_call_id="call_1"),
    )
    for kind, emulator in ((KINDS[0], anthropic_emulator), (KINDS[-1], gemini_emulator)):
        with pytest.raises(ProviderError) as raised:
            await client(kind, emulator.base_url).complete(call(kind, messages=conversation, tools=TOOLS))
        assert raised.value.code is ErrorCode.BAD_REQUEST
        assert "not a JSON object" in raised.value.message
        assert emulator.requests_to("completions") == []
