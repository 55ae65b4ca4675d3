"""`POST /v1/messages` with `stream: true`: the gateway's stream as Anthropic's events.

The response starts only once the gateway has its first token (its `StartEvent`), so a
failure before then — every provider refused, a rate limit, an unknown provider — is an
HTTP status with Anthropic's error body, as the real API answers it. From then on the
frames follow the real API's order:

    message_start, content_block_start (index 0, text), ping,
    content_block_delta (text_delta)…, content_block_stop, message_delta, message_stop

A failure after the first token is an `event: error` frame and the stream ends there,
without message_stop, so the official clients raise instead of returning a cut reply. A
client that goes away closes the gateway stream, whose log row then says cancelled.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

from django.http import StreamingHttpResponse

from api.anthropic_compatible.conversion import message_id, stop_reason
from api.errors import ANTHROPIC_TYPES, PROVIDER_STATUS, Shape, provider_problem
from providers import gateway
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    StartEvent,
    StreamEvent,
    TokenEvent,
    UsageEvent,
)
from providers.token_estimates import prompt_tokens


def sse_frame(data: Mapping[str, Any], event: str | None = None) -> bytes:
    """One Server-Sent Event: an `event:` line when named, one compact JSON `data:` line."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def event_stream_response(frames: AsyncIterator[bytes]) -> StreamingHttpResponse:
    """`frames` as a text/event-stream that no cache or proxy holds back."""
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the tokens
    return response


def error_frame(code: ErrorCode, message: str) -> bytes:
    """The in-stream error Anthropic sends, typed as the same failure before the stream would be."""
    status = PROVIDER_STATUS.get(code, 502)
    error = {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message}
    return sse_frame({"type": "error", "error": error}, "error")


async def message_stream(request: GatewayRequest) -> StreamingHttpResponse:
    """The streamed reply to `request`, or the ApiProblem of a failure before its first token."""
    events = gateway.stream(request)
    try:
        opening = await anext(events, None)
    except BaseException:
        # The caller went away while the gateway was still choosing: close it here, now.
        await events.aclose()
        raise
    if not isinstance(opening, StartEvent):
        # Read to the end: the gateway closes its log rows as it finishes.
        async for _ in events:
            pass
        if isinstance(opening, ErrorEvent):
            failure = ProviderError(opening.code, opening.message, retry_after=opening.retry_after)
        else:
            failure = ProviderError(ErrorCode.SERVER_ERROR, "the gateway ended the stream before a reply")
        raise provider_problem(failure, Shape.ANTHROPIC)
    response = event_stream_response(_frames(opening, events, prompt_tokens(request)))
    response["request-id"] = opening.request_id
    return response


async def _frames(
    start: StartEvent, events: AsyncGenerator[StreamEvent, None], estimated_input_tokens: int
) -> AsyncGenerator[bytes, None]:
    """Anthropic's frames for a stream the gateway has started."""
    # A client that disconnects while this waits on the gateway cancels both at once. One
    # that disconnects while Django is sending leaves this suspended at a yield, to be closed
    # when collected: aclosing closes the gateway's stream with it, so its log row says
    # cancelled then, not whenever the gateway's own generator is collected.
    async with aclosing(events):
        message: dict[str, Any] = {
            "id": message_id(start.request_id),
            "type": "message",
            "role": "assistant",
            "model": start.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # The provider reports the prompt's size at the end: message_delta carries it.
            "usage": {
                "input_tokens": estimated_input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        }
        yield (
            sse_frame({"type": "message_start", "message": message}, "message_start")
            + sse_frame(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            )
            + sse_frame({"type": "ping"}, "ping")
        )
        usage: UsageEvent | None = None
        ending = error_frame(
            ErrorCode.SERVER_ERROR, "the gateway ended the stream before the reply was complete"
        )
        # The gateway is read to its end before the last frames go out: it records the
        # request as completed after its done event, and a client that has message_stop
        # may rely on that.
        async for event in events:
            match event:
                case TokenEvent():
                    delta = {"type": "text_delta", "text": event.text}
                    yield sse_frame(
                        {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
                    )
                case UsageEvent():
                    usage = event
                case DoneEvent():
                    ending = _closing_frames(event, usage)
                case ErrorEvent():
                    ending = error_frame(event.code, event.message)
        yield ending


def _closing_frames(done: DoneEvent, usage: UsageEvent | None) -> bytes:
    delta = {"stop_reason": stop_reason(done.finish_reason), "stop_sequence": None}
    counts = {"output_tokens": usage.output_tokens if usage else 0}
    if usage is not None:
        counts["input_tokens"] = usage.input_tokens
    return (
        sse_frame({"type": "content_block_stop", "index": 0}, "content_block_stop")
        + sse_frame({"type": "message_delta", "delta": delta, "usage": counts}, "message_delta")
        + sse_frame({"type": "message_stop"}, "message_stop")
    )
