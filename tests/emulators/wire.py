"""What both emulators share on the wire: reading and logging requests, key checks, error
responses, paced SSE streaming with faults, stalls and dropped connections.

A provider module subclasses `ProviderApp` and supplies its routes, its error body and
header conventions, and the frames of its stream.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import string
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from aiohttp import web

from tests.emulators.script import (
    Disconnect,
    DropAfter,
    ErrorAfter,
    HttpError,
    MalformedAfter,
    NoResponse,
    Outcome,
    Reply,
    StallAfter,
    StreamFault,
    ToolUse,
    outcome_from_dict,
)
from tests.emulators.state import ENDPOINTS, Emulator, Endpoint, RecordedRequest
from tests.emulators.tokens import cut_at_stop, split_tokens

# Anthropic accepts request bodies up to 32 MB; larger ones get the provider's own 413.
MAX_BODY = 32 * 1024 * 1024

# A streamed tool call's arguments come in pieces of at most this many characters (the
# providers send them about a token at a time).
ARGUMENT_PIECE_CHARS = 8

ALPHANUMERIC = string.ascii_letters + string.digits

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def random_id(length: int, alphabet: str = ALPHANUMERIC) -> str:
    return "".join(random.choices(alphabet, k=length))


def dumps(value: Any) -> bytes:
    """Compact JSON, as both providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class Rejection(Exception):
    """Raised by a handler to answer with a provider error (already logged)."""

    def __init__(self, error: HttpError, request_id: str) -> None:
        super().__init__(error.status)
        self.error = error
        self.request_id = request_id


@dataclass(frozen=True)
class Incoming:
    """A received request that passed the key check."""

    request: web.Request
    body: Any
    raw: bytes
    api_key: str
    endpoint: Endpoint
    request_id: str


@dataclass(frozen=True)
class Timing:
    first_token: float
    per_token: float

    def due(self, start: float, index: int) -> float:
        """When token `index` (0-based) is due, counting from the stream's start."""
        return start + self.first_token + (index + 1) * self.per_token


@dataclass(frozen=True)
class PlannedToolCall:
    """A tool call as the reply sends it: its id (scripted, or made up in the provider's
    form), the function's name, its arguments as JSON text, and that text in stream pieces."""

    id: str
    name: str
    arguments: str
    pieces: tuple[str, ...]

    @property
    def input(self) -> Any:
        """The arguments as a JSON object, for the providers that send an object (Anthropic's
        `input`, Gemini's `args`); the text itself when it is not one (a test's invalid JSON)."""
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return self.arguments
        return value if isinstance(value, dict) else self.arguments


def plan_tool_call(tool: ToolUse, made_up_id: str) -> PlannedToolCall:
    """A scripted tool call resolved: a mapping's arguments as compact JSON."""
    arguments = tool.arguments if isinstance(tool.arguments, str) else dumps(dict(tool.arguments)).decode()
    count = max(1, math.ceil(len(arguments) / ARGUMENT_PIECE_CHARS))
    pieces = tuple(split_tokens(arguments, count)) or ("",)
    return PlannedToolCall(
        id=tool.id if tool.id is not None else made_up_id, name=tool.name, arguments=arguments, pieces=pieces
    )


@dataclass(frozen=True)
class Plan:
    """A reply resolved against the request: exactly what will be sent. Its tool calls come
    after its text, unless max_tokens or a stop sequence ended the text (and so the reply)."""

    tokens: list[str]
    cut_by_max_tokens: bool
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int
    timing: Timing
    model: str
    include_usage: bool
    fault: StreamFault | None
    stop_reason: str | None
    headers: Mapping[str, str]
    tool_calls: tuple[PlannedToolCall, ...] = ()

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def pieces(self) -> int:
        """How many pieces the reply streams: its text tokens and its tool calls' argument pieces."""
        return len(self.tokens) + sum(len(call.pieces) for call in self.tool_calls)

    @property
    def generation_seconds(self) -> float:
        return self.timing.first_token + self.pieces * self.timing.per_token


@dataclass(frozen=True)
class StreamFrames:
    """A stream's bytes: `head` before the tokens, one frame per token (a text token or a
    piece of a tool call's arguments, the call's opening frames with its first piece), `tail`
    after. `error` is the in-stream error frame (ErrorAfter), `malformed` an unparseable one."""

    head: bytes
    tokens: list[bytes]
    tail: bytes
    error: bytes
    malformed: bytes


class ProviderApp(ABC):
    """The aiohttp application of one provider emulator."""

    stream_content_type = "text/event-stream"

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    # -- provider conventions ------------------------------------------------------------

    @abstractmethod
    def add_routes(self, router: web.UrlDispatcher) -> None: ...

    @abstractmethod
    def new_request_id(self) -> str: ...

    @abstractmethod
    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        """Headers the provider sends on every response."""

    @abstractmethod
    def error_body(self, error: HttpError, request_id: str) -> Any:
        """The provider's error body, with the defaults for the status filled in."""

    @abstractmethod
    def api_key(self, request: web.Request) -> str | None: ...

    @abstractmethod
    def missing_key(self) -> HttpError: ...

    @abstractmethod
    def rejected_key(self, key: str) -> HttpError: ...

    @abstractmethod
    def not_found(self, request: web.Request) -> HttpError: ...

    @abstractmethod
    def invalid_json(self, detail: str) -> HttpError: ...

    @abstractmethod
    def too_large(self) -> HttpError: ...

    def header_problem(self, request: web.Request) -> HttpError | None:
        """A required header the request lacks (after the key check), if any."""
        return None

    @abstractmethod
    def error_status(self, fault: ErrorAfter) -> HttpError:
        """The HTTP error a non-streamed request gets for an in-stream error."""

    def new_tool_call_id(self) -> str:
        """The id the provider gives a tool call of its reply (OpenAI's form by default)."""
        return "call_" + random_id(24)

    # -- application ---------------------------------------------------------------------

    def build(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        app.router.add_get("/_emulator/requests", self._control_requests)
        app.router.add_post("/_emulator/push", self._control_push)
        app.router.add_post("/_emulator/reset", self._control_reset)
        app.router.add_post("/_emulator/settings", self._control_settings)
        self.add_routes(app.router)
        app.router.add_route("*", "/{tail:.*}", self._unknown_path)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Rejection as rejection:
            return self.error_response(rejection.error, rejection.request_id)

    async def _unknown_path(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self._log(request, "unknown", raw, None, self.api_key(request), "http_error 404")
        raise Rejection(self.not_found(request), self.new_request_id())

    # -- receiving -----------------------------------------------------------------------

    async def receive(
        self, request: web.Request, endpoint: Endpoint, *, body_expected: bool = True
    ) -> Incoming:
        """Read and parse the request and check its key. Failures are logged and raised as
        `Rejection`; a request that passes is logged by `choose`."""
        request_id = self.new_request_id()
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raw = b""
            self._log(request, endpoint, raw, None, None, "http_error 413")
            raise Rejection(self.too_large(), request_id) from None
        body: Any = None
        problem: HttpError | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as error:
                problem = self.invalid_json(str(error))
        elif body_expected:
            problem = self.invalid_json("empty body")
        key = self.api_key(request)
        if key is None:
            problem = self.missing_key()
        elif not self.emulator.key_allowed(key):
            problem = self.rejected_key(key)
        else:
            problem = problem or self.header_problem(request)
        if problem is not None:
            self._log(request, endpoint, raw, body, key, f"http_error {problem.status}")
            raise Rejection(problem, request_id)
        return Incoming(request, body, raw, key or "", endpoint, request_id)

    def reject(self, incoming: Incoming, error: HttpError) -> Rejection:
        """Log `incoming` as answered with `error`, for the handler to raise."""
        self._log_incoming(incoming, f"http_error {error.status}")
        return Rejection(error, incoming.request_id)

    def choose(self, incoming: Incoming) -> Outcome | None:
        """Take the next scripted outcome for the endpoint (None: the default) and log it."""
        outcome = self.emulator.next_outcome(incoming.endpoint)
        self._log_incoming(incoming, describe(outcome))
        return outcome

    def _log_incoming(self, incoming: Incoming, outcome: str) -> None:
        self._log(incoming.request, incoming.endpoint, incoming.raw, incoming.body, incoming.api_key, outcome)

    def _log(
        self, request: web.Request, endpoint: str, raw: bytes, body: Any, key: str | None, outcome: str
    ) -> None:
        self.emulator.record(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=body,
                raw=raw,
                api_key=key,
                endpoint=endpoint,
                outcome=outcome,
            )
        )

    # -- answering -----------------------------------------------------------------------

    def json_response(self, body: Any, request_id: str, *, status: int = 200) -> web.Response:
        return web.Response(
            body=dumps(body),
            status=status,
            content_type="application/json",
            headers=self.headers(request_id, success=status < 400),
        )

    def error_response(self, error: HttpError, request_id: str) -> web.Response:
        headers = self.headers(request_id, success=False)
        status = error.status
        if error.retry_after is not None or status == 429:
            seconds = 1.0 if error.retry_after is None else error.retry_after
            headers["retry-after"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        if error.retry_after_ms is not None:
            headers["retry-after-ms"] = str(error.retry_after_ms)
        headers.update(error.headers)
        if isinstance(error.body, str):
            return web.Response(text=error.body, status=status, headers=headers, content_type="text/html")
        body = error.body if error.body is not None else self.error_body(error, request_id)
        return web.Response(body=dumps(body), status=status, headers=headers, content_type="application/json")

    async def perform(self, incoming: Incoming, outcome: Outcome) -> web.StreamResponse:
        """Carry out an outcome other than a Reply."""
        request = incoming.request
        if isinstance(outcome, HttpError):
            return self.error_response(outcome, incoming.request_id)
        if isinstance(outcome, Disconnect):
            return await self.drop(request, None)
        if isinstance(outcome, NoResponse):
            response: web.StreamResponse | None = None
            if outcome.after_headers:
                response = web.StreamResponse(headers=self.headers(incoming.request_id, success=True))
                response.content_type = self.stream_content_type
                response.charset = "utf-8"
                await response.prepare(request)
            await self.emulator.hold(outcome.seconds)
            return await self.drop(request, response)
        raise TypeError(f"not an outcome: {outcome!r}")

    async def drop(self, request: web.Request, response: web.StreamResponse | None) -> web.StreamResponse:
        """Abort the connection: the client gets a reset, or an incomplete body if a
        response had started."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        # aiohttp will not write to an aborted transport; it only needs a response object.
        return response if response is not None else web.Response(status=499)

    async def reply(self, incoming: Incoming, plan: Plan, stream: bool) -> web.StreamResponse:
        """Send a planned reply, streamed or whole, faults included."""
        if stream:
            return await self.stream(incoming, plan, self.frames(incoming, plan))
        fault = plan.fault
        await asyncio.sleep(plan.generation_seconds)
        if isinstance(fault, DropAfter):
            return await self.drop(incoming.request, None)
        if isinstance(fault, StallAfter):
            await self.emulator.hold(None)
            return await self.drop(incoming.request, None)
        if isinstance(fault, ErrorAfter):
            return self.error_response(self.error_status(fault), incoming.request_id)
        body = dumps(self.whole_body(incoming, plan))
        if isinstance(fault, MalformedAfter):
            body = body[: len(body) // 2]
        return web.Response(
            body=body,
            content_type="application/json",
            headers={**self.headers(incoming.request_id, success=True), **plan.headers},
        )

    @abstractmethod
    def whole_body(self, incoming: Incoming, plan: Plan) -> Any:
        """The JSON body of a non-streamed reply."""

    @abstractmethod
    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        """The stream of a reply, precomputed so that each token costs one write."""

    async def stream(self, incoming: Incoming, plan: Plan, frames: StreamFrames) -> web.StreamResponse:
        request = incoming.request
        response = web.StreamResponse(
            headers={
                **self.headers(incoming.request_id, success=True),
                "cache-control": "no-cache",
                **plan.headers,
            }
        )
        response.content_type = self.stream_content_type
        response.charset = "utf-8"
        fault = plan.fault
        split = len(frames.tokens) if fault is None else min(fault.after, len(frames.tokens))
        try:
            await response.prepare(request)
            loop = asyncio.get_running_loop()
            start = loop.time()
            await response.write(frames.head)
            await self._paced(response, frames.tokens[:split], plan.timing, start, 0)
            if isinstance(fault, DropAfter):
                return await self.drop(request, response)
            if isinstance(fault, StallAfter):
                await self.emulator.hold(None)
                return await self.drop(request, response)
            if isinstance(fault, ErrorAfter):
                await response.write(frames.error)
                await response.write_eof()
                return response
            if isinstance(fault, MalformedAfter):
                await response.write(frames.malformed)
            await self._paced(response, frames.tokens[split:], plan.timing, start, split)
            await response.write(frames.tail)
            await response.write_eof()
        except ConnectionError:
            # The client went away mid-stream; there is nobody left to answer.
            pass
        return response

    @staticmethod
    async def _paced(
        response: web.StreamResponse, frames: Sequence[bytes], timing: Timing, start: float, offset: int
    ) -> None:
        if not frames:
            return
        if timing.per_token <= 0 and timing.first_token <= 0:
            await response.write(b"".join(frames))
            return
        loop = asyncio.get_running_loop()
        for index, frame in enumerate(frames, start=offset):
            # Against an absolute schedule, so that slow writes do not add up to drift.
            delay = timing.due(start, index) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await response.write(frame)

    # -- planning ------------------------------------------------------------------------

    def plan(
        self,
        reply: Reply,
        *,
        model: str,
        default_text: Callable[[int], str],
        max_tokens: int | None,
        stops: Sequence[str],
        input_tokens: int,
    ) -> Plan:
        settings = self.emulator.settings
        if reply.tokens is not None and not isinstance(reply.tokens, int):
            tokens = list(reply.tokens)
        elif reply.text is None and reply.tool_calls:
            tokens = []  # a reply that only calls tools
        elif reply.text is None:
            words = reply.tokens if isinstance(reply.tokens, int) else settings.default_tokens
            tokens = split_tokens(default_text(words))
        else:
            tokens = split_tokens(reply.text, reply.tokens)
        tokens, stop_sequence = cut_at_stop(tokens, stops)
        cut = max_tokens is not None and len(tokens) > max_tokens
        if max_tokens is not None and cut:
            tokens = tokens[:max_tokens]
        ended = cut or stop_sequence is not None
        tool_calls = (
            () if ended else tuple(plan_tool_call(t, self.new_tool_call_id()) for t in reply.tool_calls)
        )
        generated = len(tokens) + sum(len(call.pieces) for call in tool_calls)
        return Plan(
            tokens=tokens,
            cut_by_max_tokens=cut,
            stop_sequence=stop_sequence,
            input_tokens=input_tokens if reply.input_tokens is None else reply.input_tokens,
            output_tokens=generated if reply.output_tokens is None else reply.output_tokens,
            timing=Timing(
                first_token=settings.first_token_latency
                if reply.first_token_latency is None
                else reply.first_token_latency,
                per_token=settings.token_latency if reply.token_latency is None else reply.token_latency,
            ),
            model=reply.model or model,
            include_usage=reply.include_usage,
            fault=reply.fault,
            stop_reason=reply.stop_reason,
            headers=reply.headers,
            tool_calls=tool_calls,
        )

    # -- control API (for a standalone emulator) -------------------------------------------

    async def _control_requests(self, request: web.Request) -> web.Response:
        logged = [
            {key: value for key, value in asdict(entry).items() if key != "raw"}
            for entry in self.emulator.requests
        ]
        return web.json_response(logged)

    async def _control_push(self, request: web.Request) -> web.Response:
        endpoint = request.query.get("endpoint", "completions")
        try:
            data = await request.json()
            items = data if isinstance(data, list) else [data]
            outcomes = [outcome_from_dict(item) for item in items]
            if endpoint not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {endpoint!r}")
        except (ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        checked = cast(Endpoint, endpoint)
        self.emulator.push(*outcomes, endpoint=checked)
        return web.json_response({"pending": self.emulator.pending(checked)})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.emulator.reset()
        return web.json_response({"reset": True})

    async def _control_settings(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            for name, value in data.items():
                if not hasattr(self.emulator.settings, name):
                    raise ValueError(f"unknown setting {name!r}")
                setattr(self.emulator.settings, name, value)
        except (ValueError, TypeError, AttributeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(asdict(self.emulator.settings))


def describe(outcome: Outcome | None) -> str:
    """How the request log names an outcome: its JSON kind, with the status or the fault."""
    if outcome is None:
        return "reply (default)"
    if isinstance(outcome, HttpError):
        return f"http_error {outcome.status}"
    if isinstance(outcome, NoResponse):
        return "no_response"
    if isinstance(outcome, Disconnect):
        return "disconnect"
    if outcome.fault is not None:
        return f"reply {type(outcome.fault).__name__}({outcome.fault.after})"
    return "reply"
