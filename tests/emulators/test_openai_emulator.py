"""The OpenAI emulator, driven through the official `openai` SDK over real HTTP."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.emulators import (
    Disconnect,
    DropAfter,
    EmulatorServer,
    ErrorAfter,
    HttpError,
    MalformedAfter,
    NoResponse,
    Reply,
    StallAfter,
    StreamFault,
)

MODEL = "gpt-4o-mini"
HELLO: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be terse."},
    {"role": "user", "content": "Say hello"},
]
SHORT_TIMEOUT = httpx2.Timeout(0.4, connect=0.2)


@pytest.fixture
def client(openai_emulator: EmulatorServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        api_key="sk-test", base_url=openai_emulator.base_url, max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture
def impatient(client: openai.OpenAI) -> openai.OpenAI:
    """The same client with a short timeout, for the tests that expect one."""
    return client.with_options(timeout=SHORT_TIMEOUT)


def stream_text(client: openai.OpenAI, received: list[str]) -> None:
    """Stream a reply, appending each content delta to `received` as it arrives."""
    stream = client.chat.completions.create(
        model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)


# -- replies ---------------------------------------------------------------------------------


def test_default_reply_is_derived_from_the_request_and_logged(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=HELLO)
    again = client.chat.completions.create(model=MODEL, messages=HELLO)

    choice = completion.choices[0]
    assert choice.message.content
    assert len(choice.message.content.split()) == 12
    assert again.choices[0].message.content == choice.message.content
    assert choice.finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-")
    assert completion.id != again.id
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert abs(completion.created - time.time()) < 60
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 12)
    assert completion.usage.total_tokens == 17
    request = openai_emulator.requests[0]
    assert (request.method, request.path, request.endpoint) == ("POST", "/v1/chat/completions", "completions")
    assert request.body == {"model": MODEL, "messages": HELLO}
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.api_key == "sk-test"


def test_scripted_reply_and_max_tokens(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("Hello there, friend."), Reply("one two three four"))

    first = client.chat.completions.create(model=MODEL, messages=HELLO)
    cut = client.chat.completions.create(model=MODEL, messages=HELLO, max_completion_tokens=2)

    assert first.choices[0].message.content == "Hello there, friend."
    assert cut.choices[0].message.content == "one two"
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage is not None
    assert cut.usage.completion_tokens == 2


def test_stop_sequence(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("alpha beta STOP gamma"))

    completion = client.chat.completions.create(model=MODEL, messages=HELLO, stop=["STOP"])

    assert completion.choices[0].message.content == "alpha beta "
    assert completion.choices[0].finish_reason == "stop"


def test_json_object_mode(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply(None), Reply('{"answer": 42}'))

    default = client.chat.completions.create(
        model=MODEL, messages=HELLO, response_format={"type": "json_object"}
    )
    scripted = client.chat.completions.create(
        model=MODEL, messages=HELLO, response_format={"type": "json_object"}
    )

    assert isinstance(json.loads(default.choices[0].message.content or ""), dict)
    assert json.loads(scripted.choices[0].message.content or "") == {"answer": 42}


def test_json_schema_mode(client: openai.OpenAI) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number"},
            "kind": {"type": "string", "enum": ["a", "b"]},
        },
        "required": ["title", "tags", "score", "kind"],
        "additionalProperties": False,
    }

    completion = client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "doc", "schema": schema, "strict": True},
        },
    )

    value = json.loads(completion.choices[0].message.content or "")
    assert set(value) == {"title", "tags", "score", "kind"}
    assert isinstance(value["title"], str)
    assert isinstance(value["tags"], list)
    assert value["kind"] == "a"


# -- streaming -------------------------------------------------------------------------------


def test_stream_with_usage(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("Streaming is fun", tokens=4))

    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )

    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["Stre", "amin", "g is", " fun"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * 5 + ["stop"]
    assert all(c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (5, 4, 9)
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].id.startswith("chatcmpl-")
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert {c.model for c in chunks} == {MODEL}


def test_stream_without_usage_request_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))

    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_usage_can_be_withheld(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("no usage here", include_usage=False), Reply("nor here", include_usage=False))

    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    whole = client.chat.completions.create(model=MODEL, messages=HELLO)

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "no usage here"
    assert all(c.choices for c in chunks)
    assert whole.usage is None


def test_stream_wire_bytes(openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply(tokens=["Hi"]))
    with openai.OpenAI(api_key="k", base_url=openai_emulator.base_url, max_retries=0) as sdk:
        response = sdk.chat.completions.with_streaming_response.create(
            model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        with response as raw:
            assert raw.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert raw.headers["x-request-id"].startswith("req_")
            body = raw.read()

    frames = body.split(b"\n\n")
    assert all(frame.startswith(b"data: {") for frame in frames[:4])
    token = json.loads(frames[1][len(b"data: ") :])
    assert token["choices"] == [
        {"index": 0, "delta": {"content": "Hi"}, "logprobs": None, "finish_reason": None}
    ]
    assert token["usage"] is None
    assert b" " not in frames[1].replace(b"data: ", b"", 1)  # compact JSON, as the API sends it
    assert frames[4:] == [b"data: [DONE]", b""]


def test_token_latency_is_observable(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("a b c d e", token_latency=0.05))
    arrivals: list[float] = []

    started = time.monotonic()
    for chunk in client.chat.completions.create(model=MODEL, messages=HELLO, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)

    assert len(arrivals) == 5
    assert arrivals[-1] >= 0.2
    assert arrivals[-1] - arrivals[0] >= 0.15
    assert arrivals[-1] < 2.0


async def test_async_client_streams(openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("async works", token_latency=0.01))
    async with openai.AsyncOpenAI(api_key="k", base_url=openai_emulator.base_url, max_retries=0) as sdk:
        stream = await sdk.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert text == "async works"


# -- HTTP errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "error_type", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (403, openai.PermissionDeniedError, "request_forbidden", "unsupported_country_region_territory"),
        (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
        (413, openai.APIStatusError, "invalid_request_error", "request_too_large"),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
)
def test_http_errors_have_the_real_body(
    client: openai.OpenAI,
    openai_emulator: EmulatorServer,
    status: int,
    exception: type[openai.APIStatusError],
    error_type: str,
    code: str | None,
) -> None:
    openai_emulator.push(HttpError(status))

    with pytest.raises(exception) as raised:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    error = raised.value
    assert error.status_code == status
    assert error.type == error_type
    assert error.code == code
    message = error.message.removeprefix(f"Error code: {status} - ")
    assert error.body == {"message": message, "type": error_type, "param": None, "code": code}
    assert error.request_id == error.response.headers["x-request-id"]


def test_rate_limit_carries_retry_after(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(HttpError(429, retry_after=20, retry_after_ms=19500))

    with pytest.raises(openai.RateLimitError, match="try again in 20s") as raised:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert raised.value.response.headers["retry-after"] == "20"
    assert raised.value.response.headers["retry-after-ms"] == "19500"


def test_error_with_a_custom_body(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(HttpError(502, body="<html><body>502 Bad Gateway</body></html>"))

    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert raised.value.status_code == 502
    assert "Bad Gateway" in raised.value.response.text


# -- authentication --------------------------------------------------------------------------


def test_missing_key_is_rejected(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    with pytest.raises(openai.AuthenticationError, match="You didn't provide an API key") as raised:
        client.chat.completions.create(
            model=MODEL,
            messages=HELLO,
            extra_headers={"Authorization": openai.Omit()},
        )

    assert raised.value.code is None
    assert openai_emulator.last_request.api_key is None


def test_rejected_key(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.reject_key("sk-test")

    with pytest.raises(openai.AuthenticationError, match="Incorrect API key provided") as raised:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert raised.value.code == "invalid_api_key"


def test_invalid_body_takes_no_scripted_outcome(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    openai_emulator.push(Reply("kept"))

    with pytest.raises(openai.BadRequestError, match="Missing required parameter: 'messages'"):
        client.post("/chat/completions", body={"model": MODEL}, cast_to=object)

    assert openai_emulator.pending() == 1
    assert client.chat.completions.create(model=MODEL, messages=HELLO).choices[0].message.content == "kept"


def test_unknown_path(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(POST /v1/nothing\)"):
        client.post("/nothing", body={}, cast_to=object)


# -- timeouts and connection faults ------------------------------------------------------------


def test_read_timeout(impatient: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(NoResponse())

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model=MODEL, messages=HELLO)

    assert 0.25 < time.monotonic() - started < 3


def test_connect_timeout(openai_emulator: EmulatorServer) -> None:
    sdk = openai.OpenAI(
        api_key="k", base_url=openai_emulator.blackhole_base_url, max_retries=0, timeout=SHORT_TIMEOUT
    )
    with sdk, pytest.raises(openai.APITimeoutError) as raised:
        sdk.chat.completions.create(model=MODEL, messages=HELLO)

    assert isinstance(raised.value.__cause__, httpx2.ConnectTimeout)


def test_disconnect_without_response(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Disconnect())

    with pytest.raises(openai.APIConnectionError) as raised:
        client.chat.completions.create(model=MODEL, messages=HELLO)

    assert not isinstance(raised.value, openai.APITimeoutError)


# -- faults inside a stream --------------------------------------------------------------------


def test_dropped_stream_after_k_tokens(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("one two three four", fault=DropAfter(2)))
    received: list[str] = []

    with pytest.raises(openai.APIConnectionError) as raised:
        stream_text(client, received)

    assert received == ["one", " two"]
    assert isinstance(raised.value.__cause__, httpx2.RemoteProtocolError)


def test_error_frame_after_k_tokens(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("one two three", fault=ErrorAfter(1, message="The model is overloaded.")))
    received: list[str] = []

    with pytest.raises(openai.APIError, match=r"The model is overloaded\.") as raised:
        stream_text(client, received)

    assert received == ["one"]
    assert raised.value.body == {
        "message": "The model is overloaded.",
        "type": "server_error",
        "param": None,
        "code": None,
    }


def test_malformed_chunk_raises(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("one two three", fault=MalformedAfter(1)))
    received: list[str] = []

    with pytest.raises(json.JSONDecodeError):
        stream_text(client, received)

    assert received == ["one"]


def test_stall_mid_stream_times_out(impatient: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(Reply("one two three", fault=StallAfter(2)))
    received: list[str] = []

    with pytest.raises(openai.APITimeoutError):
        stream_text(impatient, received)

    assert received == ["one", " two"]


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        (DropAfter(1), openai.APIConnectionError),
        (ErrorAfter(1), openai.InternalServerError),
        (StallAfter(1), openai.APITimeoutError),
        (MalformedAfter(1), json.JSONDecodeError),
    ],
)
def test_stream_faults_on_a_whole_reply(
    impatient: openai.OpenAI, openai_emulator: EmulatorServer, fault: StreamFault, exception: type[Exception]
) -> None:
    openai_emulator.push(Reply("one two", fault=fault))

    with pytest.raises(exception):
        impatient.chat.completions.create(model=MODEL, messages=HELLO)


# -- other endpoints ---------------------------------------------------------------------------


def test_models(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    models = list(client.models.list())

    assert MODEL in [model.id for model in models]
    assert {model.object for model in models} == {"model"}
    assert client.models.retrieve(MODEL).owned_by == "system"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-none")
    assert raised.value.code == "model_not_found"
    assert openai_emulator.requests[0].path == "/v1/models"


def test_embeddings_are_deterministic_unit_vectors(
    client: openai.OpenAI, openai_emulator: EmulatorServer
) -> None:
    first = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    again = client.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="float")
    short = client.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=8)

    alpha, beta = first.data[0].embedding, first.data[1].embedding
    assert len(alpha) == 1536
    assert [d.index for d in first.data] == [0, 1]
    assert alpha != beta
    assert again.data[0].embedding == pytest.approx(alpha, abs=1e-6)  # float32 over base64 vs float JSON
    assert math.isclose(math.fsum(v * v for v in alpha), 1.0, rel_tol=1e-5)
    assert len(short.data[0].embedding) == 8
    assert first.usage.prompt_tokens == first.usage.total_tokens == 3  # "alpha": 2, "beta": 1
    assert first.model == "text-embedding-3-small"
    assert openai_emulator.requests[0].body["encoding_format"] == "base64"  # the SDK's default


def test_embedding_errors_are_scriptable(client: openai.OpenAI, openai_emulator: EmulatorServer) -> None:
    openai_emulator.push(HttpError(429), endpoint="embeddings")

    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert client.embeddings.create(model="text-embedding-3-small", input="x").data
