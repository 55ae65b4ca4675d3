"""The scripting model: what the emulator does with the next request.

A test pushes outcomes onto an emulator's FIFO (`Emulator.push`); each request to the
endpoint takes the next one, and an empty FIFO gives a default reply derived from the
request. Outcomes are plain frozen dataclasses so they can also be sent as JSON to a
standalone emulator (`outcome_from_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class DropAfter:
    """Abort the TCP connection after `after` tokens: no final frames, no chunked terminator."""

    after: int


@dataclass(frozen=True)
class ErrorAfter:
    """Send the provider's in-stream error frame after `after` tokens, then end the stream.

    Defaults: Anthropic `overloaded_error` / "Overloaded"; OpenAI `server_error`.
    """

    after: int
    error_type: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class MalformedAfter:
    """Send one frame whose data line is not valid JSON after `after` tokens, then go on."""

    after: int


@dataclass(frozen=True)
class StallAfter:
    """Send `after` tokens, then nothing more (a read timeout in the middle of a stream)."""

    after: int


StreamFault = DropAfter | ErrorAfter | MalformedAfter | StallAfter


@dataclass(frozen=True)
class ToolUse:
    """A tool call in a reply: the function's name and its arguments (a mapping is sent as
    its JSON text; a str is sent as is, so a test can send invalid JSON). `id`: None for one
    made up in the provider's own form (`call_…`, `toolu_…`)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A successful completion.

    text: the reply; None for the default reply derived from the request (JSON when the
        request asks for JSON output), or for no text when the reply calls tools.
    tokens: how to split it: None for one token per word, an int for that many near-equal
        pieces, or the pieces themselves (then `text` may be omitted).
    token_latency / first_token_latency: seconds per token and extra seconds before the
        first one; None for the emulator's settings. A non-streamed reply is sent after the
        same total time.
    input_tokens / output_tokens: reported usage; None to estimate from the prompt and to
        count the tokens actually sent.
    stop_reason: the provider's own value (`end_turn`, `length`, ...), overriding the
        computed one (`max_tokens` / `length` when `max_tokens` cut the reply).
    include_usage: False to leave usage out (OpenAI: no usage chunk even when requested,
        and no `usage` in a non-streamed body). Anthropic always reports usage.
    tool_calls: the tool calls the reply makes after its text (the text may be empty); the
        stop reason becomes the provider's (`tool_calls`, `tool_use`, ...), and a stream
        sends each call's arguments in several pieces, in the provider's own frames. Stream
        faults count those pieces as tokens (`after` counts the text's tokens, then each
        call's pieces); a reply that max_tokens or a stop sequence ended sends no calls.
    fault: what goes wrong in the stream; for a non-streamed request DropAfter becomes a
        dropped connection, StallAfter no response, ErrorAfter the matching HTTP error and
        MalformedAfter a truncated JSON body.
    """

    text: str | None = None
    tokens: int | Sequence[str] | None = None
    token_latency: float | None = None
    first_token_latency: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None
    model: str | None = None
    include_usage: bool = True
    fault: StreamFault | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    tool_calls: Sequence[ToolUse] = ()


@dataclass(frozen=True)
class HttpError:
    """An HTTP error status with the provider's error body.

    `error_type`, `message` (and OpenAI's `code` / `param`) default to what the provider
    sends for that status. `retry_after` (seconds) sets `retry-after`; a 429 gets
    `retry-after: 1` unless told otherwise. `body` replaces the whole body (a str is sent
    as is, anything else as JSON), e.g. for a proxy's HTML error page.
    """

    status: int
    error_type: str | None = None
    message: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class NoResponse:
    """Read the request, then send nothing (`after_headers`: send 200 headers, then nothing).

    The client sees a read timeout. The handler gives up after `seconds` (default: the
    emulator's `stall_seconds`), when the client disconnects, or on `reset()`.
    """

    after_headers: bool = False
    seconds: float | None = None


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without any response (the client sees the server disconnect)."""


Outcome = Reply | HttpError | NoResponse | Disconnect

_OUTCOMES: dict[str, type[Any]] = {
    "reply": Reply,
    "http_error": HttpError,
    "no_response": NoResponse,
    "disconnect": Disconnect,
}
_FAULTS: dict[str, type[Any]] = {
    "drop_after": DropAfter,
    "error_after": ErrorAfter,
    "malformed_after": MalformedAfter,
    "stall_after": StallAfter,
}


def outcome_from_dict(data: Mapping[str, Any]) -> Outcome:
    """An outcome from JSON: {"kind": "reply", "text": "...", "fault": {"kind": "drop_after", "after": 2},
    "tool_calls": [{"name": "lookup", "arguments": {"city": "Oslo"}, "id": "call_1"}]}."""
    kind = data.get("kind", "reply")
    if kind not in _OUTCOMES:
        raise ValueError(f"unknown outcome kind {kind!r}; one of {sorted(_OUTCOMES)}")
    cls = _OUTCOMES[kind]
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known - {"kind"}
    if unknown:
        raise ValueError(f"unknown fields for {kind}: {sorted(unknown)}")
    values = {name: value for name, value in data.items() if name in known}
    fault = values.get("fault")
    if isinstance(fault, Mapping):
        fault_kind = fault.get("kind")
        if fault_kind not in _FAULTS:
            raise ValueError(f"unknown fault kind {fault_kind!r}; one of {sorted(_FAULTS)}")
        values["fault"] = _FAULTS[str(fault_kind)](**{k: v for k, v in fault.items() if k != "kind"})
    calls = values.get("tool_calls")
    if calls is not None:
        values["tool_calls"] = tuple(_tool_use_from_dict(call) for call in calls)
    outcome: Outcome = cls(**values)
    return outcome


def _tool_use_from_dict(data: Any) -> ToolUse:
    if not isinstance(data, Mapping):
        raise ValueError(f"a tool call is an object with name, arguments and id, not {data!r}")
    known = {f.name for f in fields(ToolUse)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown fields for a tool call: {sorted(unknown)}")
    if not isinstance(data.get("name"), str):
        raise ValueError("a tool call needs a name")
    return ToolUse(**data)
