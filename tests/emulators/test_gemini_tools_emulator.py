"""Function calling on the Gemini emulator, as plain HTTP (the SDK-driven suite is
tests/providers/test_tool_calls.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.emulators import EmulatorServer, Reply, ToolUse

KEY_HEADER = {"x-goog-api-key": "AIza-test"}
SITES = {"city": "Oslo", "region": "Østlandet"}
QUESTION = {"role": "user", "parts": [{"text": "Where are our sites?"}]}
CALL = {"functionCall": {"name": "lookup_sites", "args": SITES}}
CALLED = {"role": "model", "parts": [CALL]}
TOOLS = [{"functionDeclarations": [{"name": "lookup_sites", "parametersJsonSchema": {"type": "object"}}]}]


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=5) as client:
        yield client


def generate(
    http: httpx2.Client, emulator: EmulatorServer, body: Any, method: str = "generateContent"
) -> Any:
    suffix = "?alt=sse" if method == "streamGenerateContent" else ""
    return http.post(
        f"{emulator.base_url}/v1beta/models/gemini-2.5-flash:{method}{suffix}", json=body, headers=KEY_HEADER
    )


def response(name: str = "lookup_sites") -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": {"output": "3 sites"}}}


def test_a_reply_calls_functions_after_its_text(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(
        Reply("Looking.", tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("noop", id="c2")])
    )
    reply = generate(http, gemini_emulator, {"contents": [QUESTION], "tools": TOOLS}).json()
    [candidate] = reply["candidates"]
    assert candidate["content"] == {
        "parts": [
            {"text": "Looking."},
            {"functionCall": {"name": "lookup_sites", "args": SITES}},
            {"functionCall": {"name": "noop", "args": {}, "id": "c2"}},
        ],
        "role": "model",
    }
    assert candidate["finishReason"] == "STOP"


def test_a_stream_sends_each_call_whole_in_a_chunk_of_its_own(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    gemini_emulator.push(Reply(tool_calls=[ToolUse("lookup_sites", SITES), ToolUse("noop")]))
    text = generate(
        http, gemini_emulator, {"contents": [QUESTION], "tools": TOOLS}, "streamGenerateContent"
    ).text
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in text.split("\r\n\r\n") if frame]
    parts = [chunk["candidates"][0]["content"]["parts"] for chunk in chunks]
    assert parts == [
        [{"functionCall": {"name": "lookup_sites", "args": SITES}}],
        [{"functionCall": {"name": "noop", "args": {}}}],
        [{"text": ""}],
    ]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


REFUSALS: dict[str, tuple[list[Any], str]] = {
    "a response without a call before it": (
        [QUESTION, {"role": "user", "parts": [response()]}],
        "Please ensure that function response turn comes immediately after a function call turn.",
    ),
    "fewer responses than calls": (
        [QUESTION, {"role": "model", "parts": [CALL, CALL]}, {"role": "user", "parts": [response()]}],
        "Please ensure that the number of function response parts is equal to the number of function call "
        "parts of the function call turn.",
    ),
    "a call after a call": (
        [QUESTION, CALLED, CALLED],
        "Please ensure that function call turn comes immediately after a user turn or after a function "
        "response turn.",
    ),
    "a response without a name": (
        [QUESTION, CALLED, {"role": "user", "parts": [response(name="")]}],
        "* GenerateContentRequest.contents[2].parts[0].function_response.name: Name cannot be empty.\n",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_turns_out_of_order_are_refused_in_googles_words(
    http: httpx2.Client, gemini_emulator: EmulatorServer, case: str
) -> None:
    contents, message = REFUSALS[case]
    refused = generate(http, gemini_emulator, {"contents": contents, "tools": TOOLS})
    assert refused.status_code == 400
    assert refused.json()["error"] == {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}


def test_function_declarations_are_checked(http: httpx2.Client, gemini_emulator: EmulatorServer) -> None:
    bad_name = [{"functionDeclarations": [{"name": "look up"}]}]
    refused = generate(http, gemini_emulator, {"contents": [QUESTION], "tools": bad_name})
    assert refused.status_code == 400
    assert "function_declarations[0].name: Invalid function name." in refused.json()["error"]["message"]
    unknown = [{"functionDeclarations": [{"name": "f", "colour": "red"}]}]
    refused = generate(http, gemini_emulator, {"contents": [QUESTION], "tools": unknown})
    assert 'Unknown name "colour"' in refused.json()["error"]["message"]
    bad_mode = {"functionCallingConfig": {"mode": "SOMETIMES"}}
    refused = generate(
        http, gemini_emulator, {"contents": [QUESTION], "tools": TOOLS, "toolConfig": bad_mode}
    )
    assert "tool_config.function_calling_config.mode" in refused.json()["error"]["message"]


def test_a_turn_answering_its_calls_is_taken_and_recorded(
    http: httpx2.Client, gemini_emulator: EmulatorServer
) -> None:
    # Field names as google-genai sends some of them: snake_case, which the API also reads.
    tools = [
        {"functionDeclarations": [{"name": "lookup_sites", "parameters_json_schema": {"type": "object"}}]}
    ]
    body = {
        "contents": [QUESTION, CALLED, {"role": "user", "parts": [response()]}],
        "tools": tools,
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup_sites"]}},
    }
    gemini_emulator.push(Reply("Three sites."))
    reply = generate(http, gemini_emulator, body)
    assert reply.status_code == 200
    assert reply.json()["candidates"][0]["content"]["parts"] == [{"text": "Three sites."}]
    assert gemini_emulator.last_request.body == body
