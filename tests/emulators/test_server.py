"""The emulator runner, the CLI, the HTTP control API, settings and the text helpers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.emulators import DropAfter, EmulatorServer, HttpError, Reply, Settings
from tests.emulators.script import outcome_from_dict
from tests.emulators.tokens import cut_at_stop, example_for_schema, split_tokens

REPO = Path(__file__).resolve().parents[2]
HELLO: list[Any] = [{"role": "user", "content": "hi"}]


def post_json(url: str, payload: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


# -- runner ----------------------------------------------------------------------------------


def test_server_lifecycle_and_addresses() -> None:
    with EmulatorServer("openai") as first, EmulatorServer("anthropic") as second:
        assert first.port != second.port
        assert first.base_url == f"http://127.0.0.1:{first.port}/v1"
        assert second.base_url == f"http://127.0.0.1:{second.port}"
        port = first.port

    with pytest.raises(RuntimeError):
        _ = first.base_url
    client = openai.OpenAI(api_key="k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2)
    with client, pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_settings_shape_the_default_reply() -> None:
    settings = Settings(default_tokens=3, token_latency=0.02)
    with EmulatorServer("anthropic", settings=settings) as emulator:
        client = anthropic.Anthropic(api_key="k", base_url=emulator.base_url, max_retries=0)
        started = time.monotonic()
        with client, client.messages.stream(model="m", max_tokens=50, messages=HELLO) as stream:
            pieces = list(stream.text_stream)
        elapsed = time.monotonic() - started

        emulator.settings.default_tokens = 5
        emulator.reset()  # restores the settings given at construction
        assert emulator.settings.default_tokens == 3

    assert len(pieces) == 3
    assert elapsed >= 0.06


# -- control API and CLI -----------------------------------------------------------------------


def test_control_api_scripts_a_running_emulator(openai_emulator: EmulatorServer) -> None:
    root = openai_emulator.root_url
    pushed = post_json(
        f"{root}/_emulator/push",
        [{"kind": "http_error", "status": 429, "retry_after": 2}, {"kind": "reply", "text": "from JSON"}],
    )
    assert pushed == {"pending": 2}
    with openai.OpenAI(api_key="k", base_url=openai_emulator.base_url, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=HELLO)
        reply = client.chat.completions.create(model="m", messages=HELLO)

    assert reply.choices[0].message.content == "from JSON"
    with urllib.request.urlopen(f"{root}/_emulator/requests", timeout=5) as response:
        logged = json.loads(response.read())
    assert [entry["outcome"] for entry in logged] == ["http_error 429", "reply"]
    assert logged[0]["body"]["messages"] == HELLO
    assert post_json(f"{root}/_emulator/settings", {"default_tokens": 4})["default_tokens"] == 4
    assert post_json(f"{root}/_emulator/reset", {}) == {"reset": True}
    assert openai_emulator.requests == []


def test_cli_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators", "openai", "--port", "0", "--default-tokens", "2"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"base_url=(http://127\.0\.0\.1:\d+/v1)$", line.strip())
        assert match, line
        with openai.OpenAI(api_key="k", base_url=match.group(1), max_retries=0, timeout=5) as client:
            reply = client.chat.completions.create(model="m", messages=HELLO)
        assert reply.usage is not None
        assert reply.usage.completion_tokens == 2
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


# -- scripting model ---------------------------------------------------------------------------


def test_outcome_from_dict() -> None:
    assert outcome_from_dict({"text": "hi", "fault": {"kind": "drop_after", "after": 2}}) == Reply(
        "hi", fault=DropAfter(2)
    )
    assert outcome_from_dict({"kind": "http_error", "status": 529}) == HttpError(529)
    with pytest.raises(ValueError, match="unknown outcome kind"):
        outcome_from_dict({"kind": "explode"})
    with pytest.raises(ValueError, match="unknown fields"):
        outcome_from_dict({"kind": "reply", "colour": "red"})


def test_push_rejects_an_unknown_endpoint(openai_emulator: EmulatorServer) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        openai_emulator.push(Reply(), endpoint="nowhere")  # type: ignore[arg-type]


# -- text helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "one", "Hello,  world!\n", "  leading and trailing  "])
def test_split_tokens_keeps_every_character(text: str) -> None:
    assert "".join(split_tokens(text)) == text
    if text:
        assert "".join(split_tokens(text, 3)) == text
        assert len(split_tokens(text, 3)) == min(3, len(text))


def test_split_tokens_by_word() -> None:
    assert split_tokens("Hello  big world ") == ["Hello", "  big", " world", " "]


def test_cut_at_stop() -> None:
    assert cut_at_stop(["ab", "cd", "ef"], ["d"]) == (["ab", "c"], "d")
    assert cut_at_stop(["ab", "cd"], ["cd", "b"]) == (["a"], "b")
    assert cut_at_stop(["ab"], ["z"]) == (["ab"], None)


def test_example_for_schema_follows_refs_and_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "item": {"$ref": "#/$defs/Item"},
            "flag": {"type": "boolean"},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
        "$defs": {"Item": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }

    assert example_for_schema(schema, "txt") == {"item": {"name": "txt"}, "flag": False, "maybe": 0}
