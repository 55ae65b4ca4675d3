"""What only the gemini kind does, against the Gemini API emulator (tests/emulators/gemini_api.py):
Google's paths and key header, roles, safety blocks, thinking tokens, Google's error details,
embeddings in batches, and the egress guard on a tenant's credential. What every kind is held
to is in test_conformance.py."""

from __future__ import annotations

from typing import Any

import pytest

from providers.errors import ErrorCode, ProviderError
from providers.interface import KindChunk, Message, ProviderCall, Usage
from providers.kinds import ProviderConfig, client_for
from tests.emulators.script import HttpError, NoResponse, Reply
from tests.emulators.server import EmulatorServer

MODEL = "gemini-2.5-flash"
KEY = "AIzaSy-emulator-key-0123456789"


def gemini(base_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "name": "gemini-test",
        "kind": "gemini",
        "default_model": MODEL,
        "api_key": KEY,
        "base_url": base_url,
    }
    values.update(overrides)
    return client_for(ProviderConfig(**values))


def call(**overrides: Any) -> ProviderCall:
    values: dict[str, Any] = {
        "model": MODEL,
        "messages": (Message("user", "Which service do you need?"),),
        "max_tokens": 200,
        "timeout": 5.0,
    }
    values.update(overrides)
    return ProviderCall(**values)


async def streamed(
    emulator: EmulatorServer, **overrides: Any
) -> tuple[list[KindChunk], ProviderError | None]:
    chunks: list[KindChunk] = []
    try:
        async for chunk in gemini(emulator.base_url).stream(call(**overrides)):
            chunks.append(chunk)
    except ProviderError as error:
        return chunks, error
    return chunks, None


async def test_calls_go_to_googles_paths_with_the_key_in_its_header(gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(Reply("whole"), Reply("streamed"))
    client = gemini(gemini_emulator.base_url)
    await client.complete(call())
    [_chunks, error] = await streamed(gemini_emulator)
    assert error is None
    whole, stream = gemini_emulator.requests
    assert whole.path.endswith(f"/models/{MODEL}:generateContent")
    assert stream.path.endswith(f"/models/{MODEL}:streamGenerateContent")
    assert stream.query["alt"] == "sse"
    assert whole.headers["x-goog-api-key"] == KEY
    assert "authorization" not in whole.headers


async def test_assistant_turns_are_the_models_and_no_system_prompt_is_sent_empty(
    gemini_emulator: EmulatorServer,
) -> None:
    gemini_emulator.push(Reply("A managed firewall."))
    conversation = (
        Message("user", "We need security."),
        Message("assistant", "For which sites?"),
        Message("user", "All branches."),
    )
    await gemini(gemini_emulator.base_url).complete(call(messages=conversation))
    sent = gemini_emulator.last_request.body
    assert [content["role"] for content in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][1]["parts"] == [{"text": "For which sites?"}]
    assert "systemInstruction" not in sent


async def test_a_safety_stop_is_content_filter(gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(Reply("I cannot", stop_reason="SAFETY"))
    with pytest.raises(ProviderError) as raised:
        await gemini(gemini_emulator.base_url).complete(call())
    assert raised.value.code is ErrorCode.CONTENT_FILTER
    assert "safety" in raised.value.message


async def test_a_stream_stopped_for_safety_ends_in_content_filter_after_its_text(
    gemini_emulator: EmulatorServer,
) -> None:
    gemini_emulator.push(Reply("first words then", stop_reason="RECITATION"))
    chunks, error = await streamed(gemini_emulator)
    assert "".join(chunk.text for chunk in chunks) == "first words then"
    assert error is not None
    assert error.code is ErrorCode.CONTENT_FILTER


@pytest.mark.parametrize("streamed_call", [False, True], ids=["complete", "stream"])
async def test_a_blocked_prompt_is_content_filter(
    gemini_emulator: EmulatorServer, streamed_call: bool
) -> None:
    gemini_emulator.push(Reply("never sent", stop_reason="prompt:PROHIBITED_CONTENT"))
    if streamed_call:
        chunks, error = await streamed(gemini_emulator)
        assert chunks == []
    else:
        with pytest.raises(ProviderError) as raised:
            await gemini(gemini_emulator.base_url).complete(call())
        error = raised.value
    assert error is not None
    assert error.code is ErrorCode.CONTENT_FILTER
    assert "prompt" in error.message


async def test_thinking_tokens_are_billed_as_output(gemini_emulator: EmulatorServer) -> None:
    """A thinking model's thoughts are paid at the output rate; their text is not the reply."""
    # The emulator's scripted replies have no thoughts: this whole 200 body is sent as it is.
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Weighing the options", "thought": True}, {"text": "A vRouter."}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 4,
            "thoughtsTokenCount": 30,
            "totalTokenCount": 46,
        },
        "modelVersion": "gemini-2.5-flash",
    }
    gemini_emulator.push(HttpError(200, body=body))
    reply = await gemini(gemini_emulator.base_url).complete(call())
    assert reply.text == "A vRouter."
    assert reply.usage == Usage(12, 34)


async def test_a_stream_without_usage_reports_none(gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(Reply("no usage here", include_usage=False))
    chunks, error = await streamed(gemini_emulator)
    assert error is None
    assert chunks[-1].usage is None, "the gateway estimates it"
    assert chunks[-1].finish_reason == "stop"


UNSUPPORTED_LOCATION = "User location is not supported for the API use."
INPUT_TOO_LONG = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
KEY_EXPIRED = "API key expired. Please renew the API key."


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (HttpError(504, "DEADLINE_EXCEEDED"), ErrorCode.TIMEOUT),
        (HttpError(400, "FAILED_PRECONDITION", UNSUPPORTED_LOCATION), ErrorCode.PERMISSION),
        (HttpError(400, message=INPUT_TOO_LONG), ErrorCode.CONTEXT_LENGTH),
        (HttpError(400, "INVALID_ARGUMENT", KEY_EXPIRED, code="API_KEY_EXPIRED"), ErrorCode.AUTH),
        (HttpError(429, retry_after=37), ErrorCode.RATE_LIMITED),
    ],
    ids=["deadline", "failed-precondition", "input-too-long", "key-expired", "retry-info"],
)
async def test_googles_error_details_decide_the_code(
    gemini_emulator: EmulatorServer, fault: HttpError, code: ErrorCode
) -> None:
    gemini_emulator.push(fault)
    with pytest.raises(ProviderError) as raised:
        await gemini(gemini_emulator.base_url).complete(call())
    assert raised.value.code is code
    assert raised.value.status == fault.status
    if code is ErrorCode.RATE_LIMITED:  # from RetryInfo: Google sends no retry-after header
        assert raised.value.retry_after == 37


@pytest.mark.parametrize(
    "outcome",
    [Reply("late", first_token_latency=2.0), NoResponse(after_headers=True)],
    ids=["slow-first-byte", "headers-then-nothing"],
)
async def test_a_slow_first_token_is_a_timeout(gemini_emulator: EmulatorServer, outcome: Any) -> None:
    gemini_emulator.push(outcome)
    chunks, error = await streamed(gemini_emulator, timeout=0.3)
    assert error is not None
    assert error.code is ErrorCode.TIMEOUT
    assert [chunk.text for chunk in chunks] == []


async def test_embeddings_go_in_batches_of_a_hundred(gemini_emulator: EmulatorServer) -> None:
    texts = [f"service {number}" for number in range(150)]
    result = await gemini(gemini_emulator.base_url).embed(texts, "gemini-embedding-001")
    assert len(result.vectors) == 150
    assert len(result.vectors[0]) == 3072
    assert result.vectors[0] != result.vectors[1]
    assert result.usage is None, "the Gemini API reports none: the gateway estimates it"
    first, second = gemini_emulator.requests_to("embeddings")
    assert first.path.endswith("/models/gemini-embedding-001:batchEmbedContents")
    assert [len(first.body["requests"]), len(second.body["requests"])] == [100, 50]
    assert first.body["requests"][0]["model"] == "models/gemini-embedding-001"


async def test_an_embedding_failure_is_normalized(gemini_emulator: EmulatorServer) -> None:
    gemini_emulator.push(HttpError(503), endpoint="embeddings")
    with pytest.raises(ProviderError) as raised:
        await gemini(gemini_emulator.base_url).embed(["vRouter"], "text-embedding-004")
    assert raised.value.code is ErrorCode.OVERLOADED


async def test_models_are_listed_by_the_names_routes_use(gemini_emulator: EmulatorServer) -> None:
    models = await gemini(gemini_emulator.base_url).list_models()
    assert MODEL in models
    assert not any(name.startswith("models/") for name in models)


async def test_a_credential_without_a_key_is_refused_before_any_call() -> None:
    with pytest.raises(ProviderError) as raised:
        gemini("http://127.0.0.1:9", api_key="")
    assert raised.value.code is ErrorCode.AUTH


async def test_a_tenant_credential_connects_through_the_egress_guard(
    gemini_emulator: EmulatorServer, settings: Any
) -> None:
    """Unlike Groq's, Google's SDK takes our guarded client: a tenant's base URL is checked."""
    settings.EGRESS_ALLOWED_HOSTS = []
    tenant_client = gemini(gemini_emulator.base_url, credential_id=7)
    with pytest.raises(ProviderError) as raised:
        await tenant_client.complete(call())
    assert raised.value.code is ErrorCode.EGRESS_REFUSED
    assert gemini_emulator.requests == [], "no byte reached the emulator"
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{gemini_emulator.port}"]
    gemini_emulator.push(Reply("allowed"))
    assert (await tenant_client.complete(call())).text == "allowed"
