"""Reading a gateway stream: one walk over its events for every caller that shows or keeps them.

Callers pass handlers for the events they act on as they arrive (sync or async) and get back
what the stream said: who answered, the text, the tool calls, the usage, how it ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from providers.interface import (
    DoneEvent,
    ErrorEvent,
    StartEvent,
    StreamEvent,
    TokenEvent,
    ToolCall,
    ToolCallEvent,
    UsageEvent,
)
from providers.tool_calls import ToolCallPieces

E = TypeVar("E")
Handler = Callable[[E], Awaitable[None] | None] | None


@dataclass
class StreamReply:
    """Everything a finished stream said."""

    request_id: str = ""
    provider: str = ""
    model: str = ""
    pieces: list[str] = field(default_factory=list)
    tool_call_pieces: ToolCallPieces = field(default_factory=ToolCallPieces)
    usage: UsageEvent | None = None
    finish_reason: str = ""
    error: ErrorEvent | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.tool_call_pieces.calls


async def read_stream(
    events: AsyncIterable[StreamEvent],
    *,
    on_start: Handler[StartEvent] = None,
    on_token: Handler[TokenEvent] = None,
    on_tool_call: Handler[ToolCallEvent] = None,
    on_usage: Handler[UsageEvent] = None,
    on_done: Handler[DoneEvent] = None,
    on_error: Handler[ErrorEvent] = None,
) -> StreamReply:
    """Walk `events` to their end, calling the handler of each event's type as it comes."""
    reply = StreamReply()
    async for event in events:
        match event:
            case StartEvent():
                reply.request_id, reply.provider, reply.model = event.request_id, event.provider, event.model
                await _call(on_start, event)
            case TokenEvent():
                reply.pieces.append(event.text)
                await _call(on_token, event)
            case ToolCallEvent():
                reply.tool_call_pieces.add(
                    event.index, id=event.id, name=event.name, arguments=event.arguments
                )
                await _call(on_tool_call, event)
            case UsageEvent():
                reply.usage = event
                await _call(on_usage, event)
            case DoneEvent():
                reply.finish_reason = event.finish_reason
                await _call(on_done, event)
            case ErrorEvent():
                reply.error = event
                await _call(on_error, event)
    return reply


async def _call(handler: Handler[E], event: E) -> None:
    if handler is not None:
        result = handler(event)
        if result is not None:
            await result
