"""The Anthropic Messages API emulator: /v1/messages (whole and SSE), count_tokens, models.

Wire format as the real service sends it: compact JSON bodies, `request-id` headers,
errors as {"type": "error", "error": {"type", "message"}, "request_id"}, and streams of
`event: <name>\\ndata: <json>\\n\\n` frames in the order message_start, content_block_start,
ping, content_block_delta..., content_block_stop, message_delta, message_stop. Tool use, and
what the API refuses in tools and tool blocks: anthropic_tools.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.emulators.anthropic_tools import event, tool_use_blocks, tool_use_frames, validate_tool_use
from tests.emulators.script import ErrorAfter, HttpError, Reply
from tests.emulators.state import Emulator
from tests.emulators.tokens import default_text, estimate_tokens, json_text, text_of
from tests.emulators.wire import ALPHANUMERIC, Incoming, Plan, ProviderApp, StreamFrames, dumps, random_id

# (id, display name, created_at) for /v1/models, newest first as the API lists them.
MODELS: tuple[tuple[str, str, str], ...] = (
    ("claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-01T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
)

ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization. Please try again later.",
    ),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timeout"),
    529: ("overloaded_error", "Overloaded"),
}
STATUS_OF_TYPE = {error_type: status for status, (error_type, _) in ERROR_TYPES.items()}

_ORGANIZATION = str(uuid.UUID(int=0x5CE))
_DELTA = (
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
)


class AnthropicApp(ProviderApp):
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/messages", self.messages)
        router.add_post("/v1/messages/count_tokens", self.count_tokens)
        router.add_get("/v1/models", self.models)
        router.add_get("/v1/models/{model_id}", self.model)

    # -- conventions ---------------------------------------------------------------------

    def new_request_id(self) -> str:
        return "req_011C" + random_id(20)

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        headers = {
            "request-id": request_id,
            "anthropic-organization-id": _ORGANIZATION,
            "server": "cloudflare",
            "x-robots-tag": "none",
        }
        if success:
            reset = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            headers.update(
                {
                    "anthropic-ratelimit-requests-limit": "4000",
                    "anthropic-ratelimit-requests-remaining": "3999",
                    "anthropic-ratelimit-requests-reset": reset,
                    "anthropic-ratelimit-tokens-limit": "2000000",
                    "anthropic-ratelimit-tokens-remaining": "2000000",
                    "anthropic-ratelimit-tokens-reset": reset,
                }
            )
        return headers

    def error_body(self, error: HttpError, request_id: str) -> Any:
        default_type, default_message = ERROR_TYPES.get(
            error.status, ("api_error", "Internal server error") if error.status >= 500 else ERROR_TYPES[400]
        )
        return {
            "type": "error",
            "error": {"type": error.error_type or default_type, "message": error.message or default_message},
            "request_id": request_id,
        }

    def api_key(self, request: web.Request) -> str | None:
        # The API takes `x-api-key`; the installed SDK (2.x) sends the key as a Bearer token.
        key = request.headers.get("x-api-key")
        if key:
            return key
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def missing_key(self) -> HttpError:
        return HttpError(401, "authentication_error", "x-api-key header is required")

    def rejected_key(self, key: str) -> HttpError:
        return HttpError(401, "authentication_error", "invalid x-api-key")

    def header_problem(self, request: web.Request) -> HttpError | None:
        if not request.headers.get("anthropic-version"):
            return HttpError(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def not_found(self, request: web.Request) -> HttpError:
        return HttpError(404, "not_found_error", "Not Found")

    def invalid_json(self, detail: str) -> HttpError:
        return HttpError(400, "invalid_request_error", f"There was an issue with your request body: {detail}")

    def too_large(self) -> HttpError:
        return HttpError(413)

    def error_status(self, fault: ErrorAfter) -> HttpError:
        error_type = fault.error_type or "overloaded_error"
        return HttpError(STATUS_OF_TYPE.get(error_type, 500), error_type, fault.message)

    def new_tool_call_id(self) -> str:
        return "toolu_01" + random_id(22)

    # -- /v1/messages --------------------------------------------------------------------

    async def messages(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "completions")
        body = incoming.body
        problem = validate_messages(body) or validate_tool_use(body)
        if problem is not None:
            raise self.reject(incoming, HttpError(400, "invalid_request_error", problem))
        outcome = self.choose(incoming) or Reply()
        if not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        schema = _output_schema(body)
        seed = json.dumps(body.get("messages"), sort_keys=True)

        def default(words: int) -> str:
            return json_text(seed, words, schema) if schema is not None else default_text(seed, words)

        stops = body.get("stop_sequences") or []
        plan = self.plan(
            outcome,
            model=str(body["model"]),
            default_text=default,
            max_tokens=int(body["max_tokens"]),
            stops=[str(stop) for stop in stops] if isinstance(stops, list) else [],
            input_tokens=prompt_tokens(body),
        )
        return await self.reply(incoming, plan, stream=body.get("stream") is True)

    def whole_body(self, incoming: Incoming, plan: Plan) -> Any:
        text = [{"type": "text", "text": plan.text}] if plan.tokens else []
        return {
            **self._message(plan),
            "content": text + tool_use_blocks(plan),
            "stop_reason": _stop_reason(plan),
            "stop_sequence": plan.stop_sequence,
            "usage": {
                **_usage(plan.input_tokens),
                "output_tokens": plan.output_tokens,
                "service_tier": "standard",
            },
        }

    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        start = {
            **self._message(plan),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**_usage(plan.input_tokens), "output_tokens": 1, "service_tier": "standard"},
        }
        head = event("message_start", {"type": "message_start", "message": start})
        # A reply that only calls tools opens with its first tool_use block instead of a text block.
        text_block = bool(plan.tokens) or not plan.tool_calls
        if text_block:
            block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
            head += event("content_block_start", block) + event("ping", {"type": "ping"})
        last_block = len(plan.tool_calls) - (0 if text_block else 1)
        delta = {"stop_reason": _stop_reason(plan), "stop_sequence": plan.stop_sequence}
        usage = {**_usage(plan.input_tokens, detailed=False), "output_tokens": plan.output_tokens}
        tail = (
            event("content_block_stop", {"type": "content_block_stop", "index": last_block})
            + event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
            + event("message_stop", {"type": "message_stop"})
        )
        fault = plan.fault
        error_type = (fault.error_type if isinstance(fault, ErrorAfter) else None) or "overloaded_error"
        message = (fault.message if isinstance(fault, ErrorAfter) else None) or ERROR_TYPES.get(
            STATUS_OF_TYPE.get(error_type, 500), ERROR_TYPES[500]
        )[1]
        return StreamFrames(
            head=head,
            tokens=[_DELTA + dumps(token) + b"}}\n\n" for token in plan.tokens]
            + tool_use_frames(plan, first_index=1 if text_block else 0),
            tail=tail,
            error=event("error", {"type": "error", "error": {"type": error_type, "message": message}}),
            malformed=_DELTA + b'"\n\n',
        )

    @staticmethod
    def _message(plan: Plan) -> dict[str, Any]:
        message_id = "msg_01" + random_id(22, ALPHANUMERIC)
        return {"model": plan.model, "id": message_id, "type": "message", "role": "assistant"}

    # -- /v1/messages/count_tokens ---------------------------------------------------------

    async def count_tokens(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "count_tokens")
        body = incoming.body
        if not isinstance(body, dict) or "model" not in body or not isinstance(body.get("messages"), list):
            raise self.reject(incoming, HttpError(400, "invalid_request_error", "messages: Field required"))
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        tokens = outcome.input_tokens if outcome is not None and outcome.input_tokens is not None else None
        return self.json_response({"input_tokens": tokens or prompt_tokens(body)}, incoming.request_id)

    # -- /v1/models ----------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "models", body_expected=False)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        infos = [_model_info(*model) for model in MODELS]
        query = request.query
        ids = [info["id"] for info in infos]
        if query.get("after_id") in ids:
            infos = infos[ids.index(query["after_id"]) + 1 :]
        elif query.get("before_id") in ids:
            infos = infos[: ids.index(query["before_id"])]
        limit = max(1, min(1000, int(query.get("limit", "20"))))
        page = infos[-limit:] if "before_id" in query else infos[:limit]
        return self.json_response(
            {
                "data": page,
                "has_more": len(infos) > len(page),
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            },
            incoming.request_id,
        )

    async def model(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "models", body_expected=False)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        model_id = request.match_info["model_id"]
        for model in MODELS:
            if model[0] == model_id:
                return self.json_response(_model_info(*model), incoming.request_id)
        error = HttpError(404, "not_found_error", f"model: {model_id}")
        return self.error_response(error, incoming.request_id)


def build_app(emulator: Emulator) -> web.Application:
    return AnthropicApp(emulator).build()


def validate_messages(body: Any) -> str | None:
    """The first problem the real API would report for this body, if any."""
    if not isinstance(body, dict):
        return "Input should be an object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    if not isinstance(body["messages"], list) or not body["messages"]:
        return "messages: at least one message is required"
    return None


def prompt_tokens(body: dict[str, Any]) -> int:
    parts = [text_of(body.get("system"))]
    parts += [text_of(message.get("content")) for message in body["messages"] if isinstance(message, dict)]
    if body.get("tools"):
        parts.append(json.dumps(body["tools"]))
    return estimate_tokens("\n".join(part for part in parts if part))


def _output_schema(body: dict[str, Any]) -> Any:
    """The JSON schema of a structured-output request (`output_config.format`), if any."""
    for holder in (body.get("output_config"), body):
        if isinstance(holder, dict):
            output_format = holder.get("format") if holder is not body else holder.get("output_format")
            if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
                return output_format.get("schema") or {}
    return None


def _stop_reason(plan: Plan) -> str:
    if plan.stop_reason is not None:
        return plan.stop_reason
    if plan.cut_by_max_tokens:
        return "max_tokens"
    if plan.stop_sequence is not None:
        return "stop_sequence"
    return "tool_use" if plan.tool_calls else "end_turn"


def _usage(input_tokens: int, *, detailed: bool = True) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    if detailed:  # message_delta's usage carries the totals only
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    return usage


def _model_info(model_id: str, display_name: str, created_at: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": created_at,
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    }
