"""The embedded kind against the real SmolLM2-135M-Instruct model, run by llama.cpp.

Replies stay a few dozen tokens long so that the file runs in seconds on two cores. Long
generations, where a test needs one, come from a JSON schema that demands hundreds of
array items: the grammar leaves the model no way to stop early.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.errors import ErrorCode, ProviderError
from providers.interface import KindChunk, Message, ProviderCall
from providers.kinds import ProviderConfig
from providers.kinds.embedded import EmbeddedKind
from providers.kinds.embedded_model import bundled_model_path, chat_model, reset_models
from providers.kinds.json_schema_grammar import constrainable_schema

MODEL_NAME = "smollm2-135m-instruct"
# At least 800 tokens of output, and no end-of-generation token allowed before them.
ENDLESS_SCHEMA = {"type": "array", "items": {"type": "integer"}, "minItems": 400}


@pytest.fixture
def kind() -> EmbeddedKind:
    return EmbeddedKind(ProviderConfig(name="embedded", kind="embedded", default_model=MODEL_NAME))


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """Tests that point EMBEDDED_MODEL_PATH elsewhere leave no model of theirs behind."""
    reset_models()
    yield
    reset_models()


def call(text: str, **overrides: Any) -> ProviderCall:
    values: dict[str, Any] = {
        "model": MODEL_NAME,
        "messages": (Message("user", text),),
        "max_tokens": 16,
        "temperature": 0.0,
        "timeout": 120.0,
    }
    values.update(overrides)
    return ProviderCall(**values)


async def drain(chunks: AsyncIterator[KindChunk], into: list[KindChunk] | None = None) -> None:
    async for chunk in chunks:
        if into is not None:
            into.append(chunk)


async def wait_until_idle(seconds: float = 2.0) -> float:
    """How long until no generation holds the model; fails after `seconds`."""
    started = time.monotonic()
    while chat_model.lock.locked():
        assert time.monotonic() - started < seconds, "the model is still busy"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_complete_returns_text_finish_reason_and_real_usage(kind: EmbeddedKind) -> None:
    reply = await kind.complete(
        call("Name a colour.", system="You answer in one short sentence.", max_tokens=12)
    )

    assert reply.text.strip()
    assert reply.model == MODEL_NAME
    assert reply.finish_reason in {"stop", "length"}
    assert reply.usage is not None
    assert reply.usage.input_tokens > 10  # the system prompt and the chat template count
    assert 0 < reply.usage.output_tokens <= 12
    assert reply.usage.estimated is False


async def test_complete_cut_at_max_tokens_says_length(kind: EmbeddedKind) -> None:
    reply = await kind.complete(call("Write a poem about the sea.", max_tokens=5))

    assert reply.finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.output_tokens == 5


async def test_stream_yields_tokens_then_finish_and_real_usage(kind: EmbeddedKind) -> None:
    request = call("Write a poem about the sea.", max_tokens=20)
    chunks = [chunk async for chunk in kind.stream(request)]

    texts, final = chunks[:-1], chunks[-1]
    assert len(texts) >= 5
    assert all(chunk.text and chunk.finish_reason is None and chunk.usage is None for chunk in texts)
    assert "".join(chunk.text for chunk in texts).strip()
    assert final.text == ""
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.output_tokens == 20
    assert final.usage.estimated is False


async def test_stream_usage_counts_like_llama_cpp(kind: EmbeddedKind) -> None:
    """The stream counts its tokens itself; llama.cpp counts a complete reply's. Greedy
    decoding from the same starting state gives the same reply, so the counts must agree.

    The same state, because llama.cpp reuses the evaluated prefix a prompt shares with the
    previous one, and a prefix evaluated in a different batch can tip a near-tie in the
    logits: each run follows the same other call.
    """
    request = call("Say hello.", max_tokens=40)
    await kind.complete(call("Count to three.", max_tokens=2))
    completed = await kind.complete(request)
    await kind.complete(call("Count to three.", max_tokens=2))
    chunks = [chunk async for chunk in kind.stream(request)]
    streamed = "".join(chunk.text for chunk in chunks)

    assert completed.finish_reason == "stop"  # ended by the model, not by max_tokens
    assert chunks[-1].finish_reason == "stop"
    assert streamed == completed.text
    assert chunks[-1].usage == completed.usage


async def test_json_schema_constrains_the_reply(kind: EmbeddedKind) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer"},
            "height_m": {"type": "number"},
            "member": {"type": "boolean"},
            "colour": {"enum": ["red", "green", "blue"]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}, "maxItems": 2},
        },
        "required": ["name", "age", "height_m", "member", "colour", "tags"],
    }
    reply = await kind.complete(
        call("Describe a person as JSON.", json_schema=schema, max_tokens=150, temperature=0.2)
    )

    assert reply.finish_reason == "stop"
    document = json.loads(reply.text)
    assert set(document) == set(schema["required"])
    assert isinstance(document["name"], str)
    assert len(document["name"]) <= 20
    assert isinstance(document["age"], int)
    assert isinstance(document["height_m"], int | float)
    assert isinstance(document["member"], bool)
    assert document["colour"] in {"red", "green", "blue"}
    assert isinstance(document["tags"], list)
    assert len(document["tags"]) <= 2
    assert all(isinstance(tag, str) for tag in document["tags"])


async def test_closing_a_stream_early_stops_the_generation(kind: EmbeddedKind) -> None:
    endless = call("List numbers.", json_schema=ENDLESS_SCHEMA, max_tokens=1500)
    chunks = kind.stream(endless)
    received: list[KindChunk] = []
    async for chunk in chunks:
        received.append(chunk)
        if len(received) == 2:
            break
    await chunks.aclose()

    # The worker notices between two tokens: the model is free long before 1,500 tokens.
    assert await wait_until_idle() < 1.0
    started = time.monotonic()
    reply = await kind.complete(call("Say hi.", max_tokens=4))
    assert reply.text
    assert time.monotonic() - started < 5.0


async def test_cancelling_a_stream_consumer_stops_the_generation(kind: EmbeddedKind) -> None:
    endless = call("List numbers.", json_schema=ENDLESS_SCHEMA, max_tokens=1500)

    task = asyncio.create_task(drain(kind.stream(endless)))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await wait_until_idle() < 1.0


async def test_concurrent_calls_are_serialized_off_the_event_loop(kind: EmbeddedKind) -> None:
    await kind.complete(call("Hi.", max_tokens=1))  # loads the model before the clock starts
    gaps: list[float] = []
    finished = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not finished.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def both() -> list[Any]:
        try:
            return list(
                await asyncio.gather(
                    kind.complete(call("Name a fruit.", max_tokens=16)),
                    kind.complete(call("Name an animal.", max_tokens=16)),
                )
            )
        finally:
            finished.set()

    replies, _ = await asyncio.gather(both(), ticker())

    assert all(reply.text and reply.usage.output_tokens > 0 for reply in replies)
    assert len(gaps) >= 10
    # The loop kept ticking while llama.cpp worked: no tick waited on a generation.
    assert max(gaps) < 0.25


async def test_a_prompt_longer_than_the_context_window_is_refused_before_generating(
    kind: EmbeddedKind,
) -> None:
    await kind.complete(call("Hi.", max_tokens=1))
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        await kind.complete(call("word " * 3000, max_tokens=16))

    assert raised.value.code == ErrorCode.CONTEXT_LENGTH
    assert raised.value.provider == "embedded"
    assert "context window is 2048 tokens" in raised.value.message
    prompt_tokens = int(raised.value.message.split("the prompt is ")[1].split()[0])
    assert prompt_tokens > 2048
    # Tokenizing takes milliseconds; evaluating 3,000 tokens would take seconds.
    assert time.monotonic() - started < 1.0

    with pytest.raises(ProviderError) as streamed:
        await drain(kind.stream(call("word " * 3000)))
    assert streamed.value.code == ErrorCode.CONTEXT_LENGTH


async def test_a_generation_over_its_timeout_is_stopped(kind: EmbeddedKind) -> None:
    await kind.complete(call("Hi.", max_tokens=1))
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        await kind.complete(call("List numbers.", json_schema=ENDLESS_SCHEMA, max_tokens=1500, timeout=0.5))

    assert raised.value.code == ErrorCode.TIMEOUT
    assert "0.5 s timeout" in raised.value.message
    assert time.monotonic() - started < 2.0
    assert await wait_until_idle() < 1.0


async def test_a_stream_over_its_timeout_fails_after_its_first_tokens(kind: EmbeddedKind) -> None:
    await kind.complete(call("Hi.", max_tokens=1))
    received: list[KindChunk] = []
    endless = call("List numbers.", json_schema=ENDLESS_SCHEMA, max_tokens=1500, timeout=1.5)
    with pytest.raises(ProviderError) as raised:
        await drain(kind.stream(endless), into=received)

    assert raised.value.code == ErrorCode.TIMEOUT
    assert received
    assert all(chunk.finish_reason is None for chunk in received)
    assert await wait_until_idle() < 1.0


async def test_embeddings_are_real_vectors(kind: EmbeddedKind) -> None:
    texts = ["The router picks a provider.", "Bananas are yellow.", "The router picks a provider."]
    result = await kind.embed(texts, MODEL_NAME)

    assert result.model == MODEL_NAME
    assert len(result.vectors) == 3
    assert len({len(vector) for vector in result.vectors}) == 1
    assert len(result.vectors[0]) > 0
    for vector in result.vectors:
        assert math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-3)  # normalized
    assert result.vectors[0] != result.vectors[1]
    assert result.vectors[0] == pytest.approx(result.vectors[2], abs=1e-5)
    assert result.usage is not None
    assert result.usage.input_tokens > 6
    assert result.usage.output_tokens == 0


async def test_embedding_an_empty_text_is_a_bad_request(kind: EmbeddedKind) -> None:
    with pytest.raises(ProviderError) as raised:
        await kind.embed(["fine", ""], MODEL_NAME)
    assert raised.value.code == ErrorCode.BAD_REQUEST
    assert "text 1" in raised.value.message


async def test_list_models_probes_the_file_without_loading_it(kind: EmbeddedKind, fresh_models: None) -> None:
    assert await kind.list_models() == [MODEL_NAME]
    assert chat_model.loaded is None


async def test_a_model_named_by_path_reports_its_file_stem(
    kind: EmbeddedKind, settings: Any, fresh_models: None
) -> None:
    path = bundled_model_path()
    settings.EMBEDDED_MODEL_PATH = str(path)

    assert await kind.list_models() == [path.stem]
    reply = await kind.complete(call("Hi.", max_tokens=2))
    assert reply.model == path.stem


async def test_a_missing_model_file_is_a_server_error_naming_the_path(
    kind: EmbeddedKind, settings: Any, tmp_path: Path, fresh_models: None
) -> None:
    missing = tmp_path / "nowhere.gguf"
    settings.EMBEDDED_MODEL_PATH = str(missing)

    with pytest.raises(ProviderError) as probed:
        await kind.list_models()
    assert probed.value.code == ErrorCode.SERVER_ERROR
    assert str(missing) in probed.value.message
    assert "does not exist" in probed.value.message

    with pytest.raises(ProviderError) as completed:
        await kind.complete(call("Hi."))
    assert completed.value.code == ErrorCode.SERVER_ERROR
    assert str(missing) in completed.value.message

    with pytest.raises(ProviderError) as embedded_error:
        await kind.embed(["Hi."], MODEL_NAME)
    assert embedded_error.value.code == ErrorCode.SERVER_ERROR


async def test_a_file_that_is_not_gguf_is_a_server_error(
    kind: EmbeddedKind, settings: Any, tmp_path: Path, fresh_models: None
) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    settings.EMBEDDED_MODEL_PATH = str(text)

    with pytest.raises(ProviderError) as probed:
        await kind.list_models()
    assert probed.value.code == ErrorCode.SERVER_ERROR
    assert f"{text} is not a GGUF file" in probed.value.message

    with pytest.raises(ProviderError) as streamed:
        await drain(kind.stream(call("Hi.")))
    assert streamed.value.code == ErrorCode.SERVER_ERROR


async def test_a_gguf_llama_cpp_cannot_load_is_a_server_error(
    kind: EmbeddedKind, settings: Any, tmp_path: Path, fresh_models: None
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00 and then nothing sensible")
    settings.EMBEDDED_MODEL_PATH = str(broken)

    assert await kind.list_models() == ["broken"]  # the probe only reads the header
    with pytest.raises(ProviderError) as raised:
        await kind.complete(call("Hi."))
    assert raised.value.code == ErrorCode.SERVER_ERROR
    assert f"cannot load the embedded model from {broken}" in raised.value.message


async def test_max_tokens_below_one_is_a_bad_request(kind: EmbeddedKind) -> None:
    with pytest.raises(ProviderError) as raised:
        await kind.complete(call("Hi.", max_tokens=0))
    assert raised.value.code == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param({"type": "no-such-type"}, id="unconvertible"),
        # Converts to a grammar llama.cpp cannot parse, and would crash on if it sampled.
        pytest.param({"enum": []}, id="unparsable-grammar"),
    ],
)
async def test_a_json_schema_llama_cpp_cannot_follow_is_a_bad_request(
    kind: EmbeddedKind, schema: dict[str, Any]
) -> None:
    with pytest.raises(ProviderError) as raised:
        await kind.complete(call("Hi.", json_schema=schema))
    assert raised.value.code == ErrorCode.BAD_REQUEST
    assert "JSON schema" in raised.value.message
    # The model survived and serves the next request.
    assert (await kind.complete(call("Hi.", max_tokens=2))).text


async def test_a_schema_with_annotation_only_fields_accepts_any_json_value_there(kind: EmbeddedKind) -> None:
    # What pydantic makes of an `Any` field: a title, a description, a default, and no type.
    # llama.cpp's converter refuses such a subschema; the kind gives it "any JSON value".
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "extra": {"title": "Extra", "description": "Anything.", "default": None},
        },
        "required": ["name", "extra"],
        "additionalProperties": False,
    }
    reply = await kind.complete(
        call('Reply with {"name": "Tom", "extra": 3}.', json_schema=schema, max_tokens=300, temperature=0.0)
    )
    assert reply.finish_reason == "stop", reply.text
    document = json.loads(reply.text)
    assert set(document) == {"name", "extra"}
    assert isinstance(document["name"], str)
    assert constrainable_schema(schema)["properties"]["extra"]["anyOf"]
