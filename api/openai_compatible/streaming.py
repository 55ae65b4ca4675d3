"""`stream: true` chat completions as OpenAI sends them: Server-Sent Events of
`chat.completion.chunk`s, then `data: [DONE]`.

The first chunk carries the role with the reply's first piece: `content: ""` before text,
or `content: null` and the first tool call. A tool call comes as OpenAI sends it: its
first piece with `index`, `id`, `type` and `function.name`, then `function.arguments`
fragments under the same `index`; the finish reason is then `tool_calls`.

The status is decided before the first byte: the gateway's stream is read until its first
token (retries and pre-first-token fallback happen in that wait), so a request that fails
before it is an HTTP error in OpenAI's shape and status, which the clients raise as theirs.
Once the events began, a failure can only be written into the stream: a last
`data: {"error": {...}}` event and no `[DONE]` (the openai SDK raises `APIError` on it; a
stream that merely stopped would read as a clean end). A client that goes away cancels the
response; the gateway's stream is closed with it, so its log row ends cancelled.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from django.http import StreamingHttpResponse

from api.errors import ApiProblem, Shape, provider_problem
from api.openai_compatible.conversion import chat_id, error_body, finish_reason, usage_body
from providers import gateway
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    StartEvent,
    StreamEvent,
    TokenEvent,
    ToolCallEvent,
    UsageEvent,
)

DONE = b"data: [DONE]\n\n"


def _frame(value: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def _problem(error: ErrorEvent | None) -> ApiProblem:
    """The gateway's error event as the API's problem (status, code, message, retry-after)."""
    if error is None:  # the gateway always ends with an event; this is its contract broken
        return provider_problem(
            ProviderError(ErrorCode.SERVER_ERROR, "the gateway gave no reply"), Shape.OPENAI
        )
    return provider_problem(
        ProviderError(error.code, error.message, retry_after=error.retry_after), Shape.OPENAI
    )


class Chunks:
    """The frames of one reply: every chunk carries its id, creation time and model."""

    def __init__(self, start: StartEvent, *, include_usage: bool) -> None:
        self.identity = {
            "id": chat_id(start.request_id),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": start.model,
            "system_fingerprint": None,
        }
        self.include_usage = include_usage
        self.began = False
        # The tool calls begun, by the gateway's index: a call's id and name go out once, on
        # its first piece (the clients concatenate what a later piece repeats).
        self.calls: set[int] = set()

    def choice(self, delta: dict[str, Any], reason: str | None = None) -> bytes:
        body: dict[str, Any] = {
            **self.identity,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
        }
        if self.include_usage:
            body["usage"] = None  # as OpenAI sends it: null on every chunk but the last
        return _frame(body)

    def _opening(self) -> bytes:
        """The role chunk, before the reply's first text (or its end), once."""
        if self.began:
            return b""
        self.began = True
        return self.choice({"role": "assistant", "content": ""})

    def text(self, event: TokenEvent) -> bytes:
        return self._opening() + self.choice({"content": event.text})

    def tool_call(self, event: ToolCallEvent) -> bytes:
        delta: dict[str, Any] = {}
        if not self.began:
            # A reply that begins with a tool call has no content: null, not "".
            self.began = True
            delta = {"role": "assistant", "content": None}
        if event.index not in self.calls:
            self.calls.add(event.index)
            # The gateway gives every call an id; one made up here keeps the reply usable.
            call_id = event.id or f"call_{uuid.uuid4().hex[:24]}"
            piece = {
                "index": event.index,
                "id": call_id,
                "type": "function",
                "function": {"name": event.name, "arguments": event.arguments},
            }
        elif event.arguments:
            piece = {"index": event.index, "function": {"arguments": event.arguments}}
        else:
            return b""  # a later piece with nothing in it
        return self.choice({**delta, "tool_calls": [piece]})

    def finish(self, reason: str) -> bytes:
        return self._opening() + self.choice({}, finish_reason(reason, called_tools=bool(self.calls)))

    def usage(self, usage: UsageEvent | None) -> bytes:
        counts = usage_body(usage.input_tokens, usage.output_tokens) if usage else usage_body(0, 0)
        return _frame({**self.identity, "choices": [], "usage": counts})


async def _events(
    start: StartEvent, events: AsyncGenerator[StreamEvent, None], *, include_usage: bool
) -> AsyncGenerator[bytes, None]:
    """The SSE body after the first token: the role chunk, content and tool calls, finish,
    usage, [DONE]."""
    chunks = Chunks(start, include_usage=include_usage)
    # aclosing: when the client goes away the response is cancelled here or at a yield, and
    # the gateway's stream must end now (its log row says cancelled), not when collected.
    async with aclosing(events):
        usage: UsageEvent | None = None
        last: bytes | None = None
        async for event in events:
            if isinstance(event, TokenEvent):
                yield chunks.text(event)
            elif isinstance(event, ToolCallEvent) and (frame := chunks.tool_call(event)):
                yield frame
            elif isinstance(event, UsageEvent):
                usage = event
            elif isinstance(event, DoneEvent):
                yield chunks.finish(event.finish_reason)
                if include_usage:
                    yield chunks.usage(usage)
                last = DONE
            elif isinstance(event, ErrorEvent):
                last = _frame(error_body(_problem(event)))
        # Read to its end: the gateway closes its log row after its last event, and a stream
        # closed at that event would be logged as cancelled. The gateway ending without a
        # last word must not read as a clean end either.
        yield last or _frame(error_body(_problem(None)))


async def chat_stream(request: GatewayRequest, *, include_usage: bool) -> StreamingHttpResponse:
    """The streaming response to `request`, once its first token came; raises the API's
    problem when the gateway failed before it."""
    events = gateway.stream(request)
    handed_over = False
    try:
        first = await anext(events, None)
        if not isinstance(first, StartEvent):
            raise _problem(first if isinstance(first, ErrorEvent) else None)
        response = StreamingHttpResponse(
            _events(first, events, include_usage=include_usage),
            content_type="text/event-stream; charset=utf-8",
        )
        handed_over = True
    finally:
        if not handed_over:  # refused, or the client went away while the gateway worked
            await events.aclose()
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the tokens back
    response["x-request-id"] = first.request_id
    return response
