"""`POST /v1/messages` with `stream: true`: the gateway's stream as Anthropic's events.

The response starts only once the gateway has its first token (its `StartEvent`), so a
failure before then — every provider refused, a rate limit, an unknown provider — is an
HTTP status with Anthropic's error body, as the real API answers it. From then on the
frames follow the real API's order:

    message_start, content_block_start (index 0), ping,
    content_block_delta…, content_block_stop, [more blocks], message_delta, message_stop

A text block's deltas are `text_delta`s. A tool call is a block of its own, opened as
`{"type": "tool_use", "id", "name", "input": {}}`, its arguments sent as they come in
`input_json_delta`s (`partial_json`), closed once the call is complete; the stop reason
is then `tool_use`. A call whose whole arguments are not a JSON object cannot become a
tool_use input: the stream ends with an `api_error` frame (the non-streamed reply is a
502, api.anthropic_compatible.conversion), or the SDK's own parser raises on it first.

A failure after the first token is an `event: error` frame and the stream ends there,
without message_stop, so the official clients raise instead of returning a cut reply. A
client that goes away closes the gateway stream, whose log row then says cancelled.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any

from django.http import StreamingHttpResponse

from api.anthropic_compatible.conversion import message_id, stop_reason, tool_input
from api.errors import ANTHROPIC_TYPES, PROVIDER_STATUS, ApiProblem, Shape, provider_problem
from providers import gateway
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    DoneEvent,
    ErrorEvent,
    GatewayRequest,
    StartEvent,
    StreamEvent,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
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


class InvalidToolArgumentsError(Exception):
    """A streamed tool call whose whole arguments are not a JSON object."""


class Blocks:
    """The content blocks of a streamed Message, opened and closed in Anthropic's order: one
    at a time, each with the next index; a ping follows the first block's start."""

    def __init__(self) -> None:
        self.count = 0
        self.open_index: int | None = None
        self.open_kind = ""
        # The gateway's tool call index -> the call so far (arguments as they came) and its block.
        self.calls: dict[int, tuple[ToolCall, int]] = {}

    def _start(self, kind: str, block: dict[str, Any]) -> tuple[bytes, int]:
        """The frames that close the open block and open a new one, and the new one's index."""
        frames = self.close()
        index = self.count
        self.count += 1
        self.open_index, self.open_kind = index, kind
        frames += sse_frame(
            {"type": "content_block_start", "index": index, "content_block": block}, "content_block_start"
        )
        if index == 0:
            frames += sse_frame({"type": "ping"}, "ping")
        return frames, index

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return sse_frame(
            {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
        )

    def text(self, text: str) -> bytes:
        frames = b""
        index = self.open_index
        if index is None or self.open_kind != "text":
            frames, index = self._start("text", {"type": "text", "text": ""})
        return frames + self._delta(index, {"type": "text_delta", "text": text})

    def tool_call(self, event: ToolCallEvent) -> bytes:
        frames = b""
        if event.index not in self.calls:
            # The gateway gives every call an id; one made up here keeps the reply usable.
            call_id = event.id or f"toolu_{uuid.uuid4().hex[:24]}"
            block = {"type": "tool_use", "id": call_id, "name": event.name, "input": {}}
            frames, index = self._start("tool_use", block)
            self.calls[event.index] = (ToolCall(call_id, event.name, ""), index)
        call, index = self.calls[event.index]
        if not event.arguments:
            return frames
        # A piece of a call whose block was closed still names its own block's index, which
        # is how the clients put deltas together.
        self.calls[event.index] = (ToolCall(call.id, call.name, call.arguments + event.arguments), index)
        return frames + self._delta(index, {"type": "input_json_delta", "partial_json": event.arguments})

    def close(self) -> bytes:
        """The open block's stop frame; a tool call's whole arguments are checked first."""
        if self.open_index is None:
            return b""
        index, self.open_index, self.open_kind = self.open_index, None, ""
        for call, block_index in self.calls.values():
            if block_index == index:
                try:
                    tool_input(call)
                except ApiProblem as problem:
                    raise InvalidToolArgumentsError(problem.message) from problem
        return sse_frame({"type": "content_block_stop", "index": index}, "content_block_stop")

    def finish(self) -> bytes:
        """The last block's stop; a reply with no block at all gets an empty text block."""
        if self.count == 0:
            frames, _index = self._start("text", {"type": "text", "text": ""})
            return frames + self.close()
        return self.close()


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
        yield sse_frame({"type": "message_start", "message": message}, "message_start")
        blocks = Blocks()
        usage: UsageEvent | None = None
        ending = error_frame(
            ErrorCode.SERVER_ERROR, "the gateway ended the stream before the reply was complete"
        )
        broken = False
        # The gateway is read to its end before the last frames go out: it records the
        # request as completed after its done event, and a client that has message_stop
        # may rely on that. After a broken tool call nothing more goes out but the error.
        async for event in events:
            try:
                match event:
                    case TokenEvent() if not broken:
                        yield blocks.text(event.text)
                    case ToolCallEvent() if not broken and (frames := blocks.tool_call(event)):
                        yield frames
                    case UsageEvent():
                        usage = event
                    case DoneEvent() if not broken:
                        ending = blocks.finish() + _closing_frames(
                            event, usage, called_tools=bool(blocks.calls)
                        )
                    case ErrorEvent() if not broken:
                        ending = error_frame(event.code, event.message)
            except InvalidToolArgumentsError as invalid:
                broken = True
                ending = error_frame(ErrorCode.INVALID_OUTPUT, str(invalid))
        yield ending


def _closing_frames(done: DoneEvent, usage: UsageEvent | None, *, called_tools: bool) -> bytes:
    delta = {"stop_reason": stop_reason(done.finish_reason, called_tools=called_tools), "stop_sequence": None}
    counts = {"output_tokens": usage.output_tokens if usage else 0}
    if usage is not None:
        counts["input_tokens"] = usage.input_tokens
    return sse_frame({"type": "message_delta", "delta": delta, "usage": counts}, "message_delta") + sse_frame(
        {"type": "message_stop"}, "message_stop"
    )
