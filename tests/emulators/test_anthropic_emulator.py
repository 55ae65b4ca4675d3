"""The Anthropic emulator, driven through the official `anthropic` SDK over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import MessageParam, RawMessageDeltaEvent, RawMessageStartEvent, TextBlock

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

MODEL = "claude-haiku-4-5-20251001"
HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello"}]
# For the tests that expect a timeout: short, so that they stay fast.
SHORT_TIMEOUT = httpx2.Timeout(0.4, connect=0.2)


@pytest.fixture
def client(anthropic_emulator: EmulatorServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key="sk-ant-test", base_url=anthropic_emulator.base_url, max_retries=0, timeout=10
    ) as sdk:
        yield sdk


@pytest.fixture
def impatient(client: anthropic.Anthropic) -> anthropic.Anthropic:
    """The same client with a short timeout."""
    return client.with_options(timeout=SHORT_TIMEOUT)


def text(message: anthropic.types.Message) -> str:
    block = message.content[0]
    assert isinstance(block, TextBlock)
    return block.text


def stream_text(client: anthropic.Anthropic, received: list[str], **kwargs: Any) -> None:
    """Stream a reply, appending each text delta to `received` as it arrives."""
    with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO, **kwargs) as stream:
        for piece in stream.text_stream:
            received.append(piece)


# -- replies ---------------------------------------------------------------------------------


def test_default_reply_is_derived_from_the_request_and_logged(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    message = client.messages.create(model=MODEL, max_tokens=100, system="Be terse.", messages=HELLO)
    again = client.messages.create(model=MODEL, max_tokens=100, system="Be terse.", messages=HELLO)

    assert message.content[0].type == "text"
    assert len(text(message).split()) == 12
    assert text(again) == text(message)  # deterministic
    assert message.id.startswith("msg_01")
    assert message.id != again.id
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 12
    assert message.usage.input_tokens == 5  # "Be terse.\nSay hello": 19 characters, 4 a token
    request = anthropic_emulator.requests[0]
    assert (request.method, request.path, request.endpoint) == ("POST", "/v1/messages", "completions")
    assert request.body == {"model": MODEL, "max_tokens": 100, "system": "Be terse.", "messages": HELLO}
    assert request.api_key == "sk-ant-test"
    assert request.headers["anthropic-version"]
    assert request.outcome == "reply (default)"


def test_scripted_reply_with_usage(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(
        Reply("Hello there, friend."),
        Reply("Counted", input_tokens=321, output_tokens=7, model="claude-echo"),
    )

    first = client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
    second = client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert text(first) == "Hello there, friend."
    assert first.usage.output_tokens == 3
    assert (second.usage.input_tokens, second.usage.output_tokens, second.model) == (321, 7, "claude-echo")
    assert anthropic_emulator.pending() == 0


def test_max_tokens_cuts_the_reply(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("one two three four five"))

    message = client.messages.create(model=MODEL, max_tokens=2, messages=HELLO)

    assert text(message) == "one two"
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 2


def test_stop_sequence_ends_the_reply(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("first line\nEND second line"))

    message = client.messages.create(model=MODEL, max_tokens=50, messages=HELLO, stop_sequences=["END"])

    assert text(message) == "first line\n"
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "END")


def test_structured_output_default_reply_is_json_of_the_schema(client: anthropic.Anthropic) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }

    message = client.messages.create(
        model=MODEL,
        max_tokens=200,
        messages=HELLO,
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )

    value = json.loads(text(message))
    assert set(value) == {"name", "age"}
    assert isinstance(value["name"], str)
    assert isinstance(value["age"], int)


# -- streaming -------------------------------------------------------------------------------


def test_stream_assembles_the_scripted_text_and_usage(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("Streaming is fun", tokens=4))

    with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert pieces == ["Stre", "amin", "g is", " fun"]
    assert text(final) == "Streaming is fun"
    assert (final.stop_reason, final.usage.output_tokens, final.usage.input_tokens) == ("end_turn", 4, 3)
    assert anthropic_emulator.last_request.body["stream"] is True


def test_raw_stream_events_come_in_the_real_order(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply(tokens=["Hi", " there"]))

    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=HELLO, stream=True))

    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start, delta = events[0], events[-2]
    assert isinstance(start, RawMessageStartEvent)
    assert start.message.stop_reason is None
    assert isinstance(delta, RawMessageDeltaEvent)
    assert (delta.delta.stop_reason, delta.usage.output_tokens) == ("end_turn", 2)


def test_stream_wire_bytes(anthropic_emulator: EmulatorServer) -> None:
    """Byte-level framing, read with the SDK's own raw-event access."""
    anthropic_emulator.push(Reply(tokens=["Hi"], fault=ErrorAfter(1)))
    with anthropic.Anthropic(api_key="k", base_url=anthropic_emulator.base_url, max_retries=0) as sdk:
        response = sdk.messages.with_streaming_response.create(
            model=MODEL, max_tokens=10, messages=HELLO, stream=True
        )
        with response as raw:
            assert raw.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert raw.headers["request-id"].startswith("req_")
            body = raw.read()

    frames = body.split(b"\n\n")
    assert frames[1] == (
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}'
    )
    assert frames[2] == b'event: ping\ndata: {"type":"ping"}'
    assert frames[3] == (
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"Hi"}}'
    )
    assert frames[4] == (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    )
    assert frames[5:] == [b""]


def test_stream_stops_at_max_tokens(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("a b c d e f"))

    with client.messages.stream(model=MODEL, max_tokens=3, messages=HELLO) as stream:
        final = stream.get_final_message()

    assert text(final) == "a b c"
    assert (final.stop_reason, final.usage.output_tokens) == ("max_tokens", 3)


def test_token_latency_is_observable(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("a b c d e", token_latency=0.05))
    arrivals: list[float] = []

    started = time.monotonic()
    with client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as stream:
        for _ in stream.text_stream:
            arrivals.append(time.monotonic() - started)

    assert len(arrivals) == 5
    assert arrivals[-1] >= 0.2
    assert arrivals[-1] - arrivals[0] >= 0.15  # tokens were flushed one by one, not at the end
    assert arrivals[-1] < 2.0


async def test_async_client_streams(anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("async works", token_latency=0.01))
    sdk = anthropic.AsyncAnthropic(api_key="k", base_url=anthropic_emulator.base_url, max_retries=0)
    async with sdk, sdk.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as stream:
        text = "".join([piece async for piece in stream.text_stream])

    assert text == "async works"


# -- HTTP errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_http_errors_have_the_real_body(
    client: anthropic.Anthropic,
    anthropic_emulator: EmulatorServer,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    anthropic_emulator.push(HttpError(status))

    with pytest.raises(exception) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    error = raised.value
    assert error.status_code == status
    assert error.body == {
        "type": "error",
        "error": {"type": error_type, "message": error.api_message},
        "request_id": error.response.headers["request-id"],
    }
    assert error.type == error_type
    assert error.api_message
    assert anthropic_emulator.last_request.outcome == f"http_error {status}"


def test_rate_limit_carries_retry_after(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(HttpError(429), HttpError(429, retry_after=7, retry_after_ms=6500))

    with pytest.raises(anthropic.RateLimitError) as default:
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as scripted:
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    assert default.value.response.headers["retry-after"] == "1"
    assert scripted.value.response.headers["retry-after"] == "7"
    assert scripted.value.response.headers["retry-after-ms"] == "6500"


def test_streamed_request_gets_the_http_error_before_any_event(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(HttpError(529, message="Busy"))

    with pytest.raises(anthropic.OverloadedError, match="Busy"):
        stream_text(client, [])


# -- authentication --------------------------------------------------------------------------


def test_missing_key_is_rejected(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    with pytest.raises(anthropic.AuthenticationError) as raised:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=HELLO, extra_headers={"Authorization": anthropic.Omit()}
        )

    assert raised.value.body["error"] == {  # type: ignore[index]
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }
    assert anthropic_emulator.last_request.api_key is None
    assert anthropic_emulator.pending() == 0


def test_x_api_key_header_is_accepted(anthropic_emulator: EmulatorServer) -> None:
    with anthropic.Anthropic(
        api_key="unused",
        base_url=anthropic_emulator.base_url,
        max_retries=0,
        default_headers={"x-api-key": "sk-ant-header"},
    ) as sdk:
        sdk.messages.create(
            model=MODEL, max_tokens=10, messages=HELLO, extra_headers={"Authorization": anthropic.Omit()}
        )

    assert anthropic_emulator.last_request.api_key == "sk-ant-header"
    assert "authorization" not in anthropic_emulator.last_request.headers


def test_rejected_key(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.reject_key("sk-ant-test")

    with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    anthropic_emulator.reset()
    assert client.messages.create(model=MODEL, max_tokens=10, messages=HELLO).content


def test_accept_only(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.accept_only("sk-ant-other")

    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)


def test_missing_version_header_and_invalid_body(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version: header is required"):
        client.messages.create(
            model=MODEL, max_tokens=10, messages=HELLO, extra_headers={"anthropic-version": anthropic.Omit()}
        )
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Field required"):
        client.post("/v1/messages", body={"model": MODEL, "messages": HELLO}, cast_to=object)

    anthropic_emulator.push(Reply("kept"))
    message = client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    assert text(message) == "kept"  # invalid requests took nothing


# -- timeouts and connection faults ------------------------------------------------------------


def test_read_timeout(impatient: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(NoResponse())

    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError) as raised:
        impatient.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    assert isinstance(raised.value.__cause__, httpx2.ReadTimeout)
    assert 0.25 < time.monotonic() - started < 3


def test_read_timeout_after_headers(
    impatient: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(NoResponse(after_headers=True))

    with pytest.raises(anthropic.APITimeoutError):
        impatient.messages.create(model=MODEL, max_tokens=10, messages=HELLO)


def test_connect_timeout(anthropic_emulator: EmulatorServer) -> None:
    with anthropic.Anthropic(
        api_key="k", base_url=anthropic_emulator.blackhole_base_url, max_retries=0, timeout=SHORT_TIMEOUT
    ) as sdk:
        started = time.monotonic()
        with pytest.raises(anthropic.APITimeoutError) as raised:
            sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    assert isinstance(raised.value.__cause__, httpx2.ConnectTimeout)
    assert 0.15 < time.monotonic() - started < 3
    assert anthropic_emulator.requests == []


def test_connection_refused(anthropic_emulator: EmulatorServer) -> None:
    sdk = anthropic.Anthropic(api_key="k", base_url=anthropic_emulator.refused_base_url, max_retries=0)
    with sdk, pytest.raises(anthropic.APIConnectionError) as raised:
        sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    assert isinstance(raised.value.__cause__, httpx2.ConnectError)


def test_disconnect_without_response(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Disconnect())

    with pytest.raises(anthropic.APIConnectionError) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    assert not isinstance(raised.value, anthropic.APITimeoutError)


def test_reset_releases_a_held_connection(anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(NoResponse())
    with anthropic.Anthropic(
        api_key="k", base_url=anthropic_emulator.base_url, max_retries=0, timeout=10
    ) as sdk:
        timer = threading.Timer(0.2, anthropic_emulator.reset)
        timer.start()
        started = time.monotonic()
        with pytest.raises(anthropic.APIConnectionError):
            sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
        timer.join()

    assert time.monotonic() - started < 5


# -- faults inside a stream --------------------------------------------------------------------


def test_dropped_stream_after_k_tokens(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("one two three four", fault=DropAfter(2)))
    received: list[str] = []

    # The SDK does not wrap errors raised while reading a stream's body.
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        stream_text(client, received)

    assert received == ["one", " two"]


def test_error_event_after_k_tokens(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("one two three", fault=ErrorAfter(1)))
    received: list[str] = []

    with pytest.raises(anthropic.APIStatusError) as raised:
        stream_text(client, received)

    assert received == ["one"]
    assert raised.value.status_code == 200  # the error came inside a successful response
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_error_event_of_another_type(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("one two", fault=ErrorAfter(0, "api_error", "Internal server error")))

    with pytest.raises(anthropic.APIStatusError) as raised:
        stream_text(client, [])

    assert raised.value.type == "api_error"


def test_malformed_chunk_raises(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    anthropic_emulator.push(Reply("one two three", fault=MalformedAfter(2)))
    received: list[str] = []

    with pytest.raises(json.JSONDecodeError):
        stream_text(client, received)

    assert received == ["one", " two"]


def test_stall_mid_stream_times_out(
    impatient: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(Reply("one two three", fault=StallAfter(1)))
    received: list[str] = []

    with pytest.raises(httpx2.ReadTimeout):
        stream_text(impatient, received)

    assert received == ["one"]


@pytest.mark.parametrize(
    ("fault", "exception"),
    [
        (DropAfter(1), anthropic.APIConnectionError),
        (ErrorAfter(1), anthropic.OverloadedError),
        (ErrorAfter(1, "rate_limit_error"), anthropic.RateLimitError),
        (StallAfter(1), anthropic.APITimeoutError),
        (MalformedAfter(1), json.JSONDecodeError),
    ],
)
def test_stream_faults_on_a_whole_reply(
    impatient: anthropic.Anthropic,
    anthropic_emulator: EmulatorServer,
    fault: StreamFault,
    exception: type[Exception],
) -> None:
    anthropic_emulator.push(Reply("one two", fault=fault))

    with pytest.raises(exception):
        impatient.messages.create(model=MODEL, max_tokens=10, messages=HELLO)


# -- other endpoints ---------------------------------------------------------------------------


def test_models_list_pages_and_retrieve(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    page = client.models.list(limit=2)
    every = [model.id for model in client.models.list(limit=1)]  # auto-pagination follows last_id

    assert [model.id for model in page.data] == every[:2]
    assert (page.has_more, page.first_id, page.last_id) == (True, every[0], every[1])
    assert len(every) == 3
    assert MODEL in every
    assert client.models.retrieve(MODEL).display_name == "Claude Haiku 4.5"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-none")
    assert anthropic_emulator.requests[0].path == "/v1/models"
    assert anthropic_emulator.requests[0].query == {"limit": "2"}


def test_count_tokens(client: anthropic.Anthropic, anthropic_emulator: EmulatorServer) -> None:
    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x" * 40}])

    assert counted.input_tokens == 10
    assert anthropic_emulator.last_request.endpoint == "count_tokens"


def test_errors_can_be_scripted_for_other_endpoints(
    client: anthropic.Anthropic, anthropic_emulator: EmulatorServer
) -> None:
    anthropic_emulator.push(HttpError(500), endpoint="models")

    with pytest.raises(anthropic.InternalServerError):
        client.models.list()
    assert client.messages.create(model=MODEL, max_tokens=10, messages=HELLO).content
