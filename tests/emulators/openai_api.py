"""The OpenAI Chat Completions API emulator: /v1/chat/completions (whole and SSE),
/v1/embeddings and /v1/models.

Wire format as the real service sends it: compact JSON, `x-request-id` headers, errors as
{"error": {"message", "type", "param", "code"}}, streams of `data: <chat.completion.chunk>\\n\\n`
frames ending with `data: [DONE]\\n\\n`, and with `stream_options.include_usage` a `"usage": null`
on every chunk plus a final usage chunk whose `choices` is empty. In-stream errors are a
`data: {"error": {...}}` frame, as the API sends them. Tool calls, and what the API refuses
in tools and tool messages: openai_tools.py.

An emulator with another profile (tests/emulators/profiles.py) behaves like an
OpenAI-compatible server that refuses some `response_format` types or `stream_options`,
with that server's own error, or that never reports usage in a stream.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import time
from typing import Any

from aiohttp import web

from tests.emulators.openai_tools import (
    forces_a_function,
    message_tool_calls,
    tool_call_frames,
    validate_tool_use,
)
from tests.emulators.script import ErrorAfter, HttpError, Reply
from tests.emulators.state import Emulator
from tests.emulators.tokens import default_text, estimate_tokens, json_text, text_of
from tests.emulators.wire import ALPHANUMERIC, Incoming, Plan, ProviderApp, StreamFrames, dumps, random_id

MODELS: tuple[tuple[str, int, str], ...] = (
    ("gpt-4o-mini", 1721172741, "system"),
    ("gpt-4o", 1715367049, "system"),
    ("gpt-4.1-mini", 1744318173, "system"),
    ("text-embedding-3-small", 1705948997, "system"),
    ("text-embedding-3-large", 1705953180, "system"),
)

# status -> (type, message, code)
ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "Invalid request.", None),
    401: ("invalid_request_error", "Incorrect API key provided. You can find your API key at "
          "https://platform.openai.com/account/api-keys.", "invalid_api_key"),
    403: ("request_forbidden", "Country, region, or territory not supported",
          "unsupported_country_region_territory"),
    404: ("invalid_request_error", "The model does not exist or you do not have access to it.",
          "model_not_found"),
    413: ("invalid_request_error", "Request too large.", "request_too_large"),
    429: ("requests", "Rate limit reached for requests per min (RPM). Please try again in 1s. "
          "Visit https://platform.openai.com/account/rate-limits to learn more.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!", None),
    503: ("server_error", "The engine is currently overloaded, please try again later.", None),
}  # fmt: skip
STATUS_OF_TYPE = {"server_error": 500, "invalid_request_error": 400, "requests": 429, "tokens": 429}

_MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
    "from https://platform.openai.com/account/api-keys."
)


def data(value: Any) -> bytes:
    return b"data: " + dumps(value) + b"\n\n"


class OpenAIApp(ProviderApp):
    # (id, created, owned_by) of what GET /models lists.
    listed_models: tuple[tuple[str, int, str], ...] = MODELS
    # Whether a stream sends each tool call whole, in one chunk, rather than its arguments in pieces.
    streams_whole_tool_calls = False

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self.chat_completions)
        router.add_post("/v1/embeddings", self.embeddings)
        router.add_get("/v1/models", self.models)
        router.add_get("/v1/models/{model}", self.model)

    # -- conventions ---------------------------------------------------------------------

    def new_request_id(self) -> str:
        return "req_" + random_id(32, "0123456789abcdef")

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        headers = {
            "x-request-id": request_id,
            "openai-organization": "user-emulator",
            "openai-project": "proj_emulator",
            "openai-version": "2020-10-01",
            "openai-processing-ms": "1",
            "server": "cloudflare",
            "access-control-expose-headers": "X-Request-ID",
        }
        if success:
            headers.update(
                {
                    "x-ratelimit-limit-requests": "10000",
                    "x-ratelimit-limit-tokens": "10000000",
                    "x-ratelimit-remaining-requests": "9999",
                    "x-ratelimit-remaining-tokens": "9999990",
                    "x-ratelimit-reset-requests": "6ms",
                    "x-ratelimit-reset-tokens": "0s",
                }
            )
        return headers

    def error_body(self, error: HttpError, request_id: str) -> Any:
        default = ERRORS.get(error.status, ERRORS[500] if error.status >= 500 else ERRORS[400])
        if error.status == 429:
            wait = 1.0 if error.retry_after is None else error.retry_after
            default = (default[0], default[1].replace("in 1s", f"in {wait:g}s"), default[2])
        code = error.code if error.code is not None or error.error_type is not None else default[2]
        return {
            "error": {
                "message": error.message or default[1],
                "type": error.error_type or default[0],
                "param": error.param,
                "code": code,
            }
        }

    def api_key(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def missing_key(self) -> HttpError:
        return HttpError(401, "invalid_request_error", _MISSING_KEY)

    def rejected_key(self, key: str) -> HttpError:
        shown = f"{key[:3]}*{key[-4:]}" if len(key) > 8 else key
        return HttpError(
            401,
            "invalid_request_error",
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def not_found(self, request: web.Request) -> HttpError:
        return HttpError(404, "invalid_request_error", f"Invalid URL ({request.method} {request.path})")

    def invalid_json(self, detail: str) -> HttpError:
        return HttpError(
            400,
            "invalid_request_error",
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)",
        )

    def too_large(self) -> HttpError:
        return HttpError(413)

    def error_status(self, fault: ErrorAfter) -> HttpError:
        error_type = fault.error_type or "server_error"
        return HttpError(STATUS_OF_TYPE.get(error_type, 500), error_type, fault.message)

    # -- /v1/chat/completions ------------------------------------------------------------

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self.answer_chat(await self.receive(request, "completions"))

    async def answer_chat(self, incoming: Incoming) -> web.StreamResponse:
        """A received chat request's answer (the Azure and Groq apps route to it too)."""
        body = incoming.body
        problem = validate_chat(body) or self.emulator.profile.refusal(body)
        if problem is not None:
            raise self.reject(incoming, problem)
        outcome = self.choose(incoming) or Reply()
        if not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        json_mode, schema = _response_format(body)
        seed = json.dumps(body.get("messages"), sort_keys=True)

        def default(words: int) -> str:
            return json_text(seed, words, schema) if json_mode else default_text(seed, words)

        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else [str(s) for s in stop] if isinstance(stop, list) else []
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        plan = self.plan(
            outcome,
            model=str(body["model"]),
            default_text=default,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            stops=stops,
            input_tokens=prompt_tokens(body),
        )
        return await self.reply(incoming, plan, stream=body.get("stream") is True)

    def whole_body(self, incoming: Incoming, plan: Plan) -> Any:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text if plan.tokens or not plan.tool_calls else None,
        }
        if plan.tool_calls:
            message["tool_calls"] = message_tool_calls(plan)
        message.update(refusal=None, annotations=[])
        body: dict[str, Any] = {
            **_identity(plan, "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": _finish_reason(plan, incoming.body),
                }
            ],
        }
        if plan.include_usage:
            body["usage"] = _usage(plan)
        return {**body, **_serving(plan)}

    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        usage_requested = self.emulator.profile.usage_streamed(incoming.body)
        identity = {**_identity(plan, "chat.completion.chunk"), **_serving(plan)}
        prefix = dumps(identity)[:-1] + b',"choices":[{"index":0,"delta":'
        suffix = b"}]" + (b',"usage":null' if usage_requested else b"") + b"}\n\n"

        def chunk(delta: bytes, finish_reason: str | None = None) -> bytes:
            return (
                b"data: "
                + prefix
                + delta
                + b',"logprobs":null,"finish_reason":'
                + dumps(finish_reason)
                + suffix
            )

        tail = chunk(b"{}", _finish_reason(plan, incoming.body))
        if usage_requested and plan.include_usage:
            tail += data({**identity, "choices": [], "usage": _usage(plan)})
        tail += b"data: [DONE]\n\n"
        fault = plan.fault
        error_type = (fault.error_type if isinstance(fault, ErrorAfter) else None) or "server_error"
        message = (fault.message if isinstance(fault, ErrorAfter) else None) or ERRORS[
            STATUS_OF_TYPE.get(error_type, 500)
        ][1]
        # A reply that only calls tools opens with no content at all.
        opening = b"null" if plan.tool_calls and not plan.tokens else b'""'
        return StreamFrames(
            head=chunk(b'{"role":"assistant","content":' + opening + b',"refusal":null}'),
            tokens=[chunk(b'{"content":' + dumps(token) + b"}") for token in plan.tokens]
            + tool_call_frames(plan, chunk, whole_calls=self.streams_whole_tool_calls),
            tail=tail,
            error=data({"error": {"message": message, "type": error_type, "param": None, "code": None}}),
            malformed=b"data: " + prefix + b'{"content":"\n\n',
        )

    # -- /v1/embeddings ------------------------------------------------------------------

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        return await self.answer_embeddings(await self.receive(request, "embeddings"))

    async def answer_embeddings(self, incoming: Incoming) -> web.StreamResponse:
        """A received embeddings request's answer."""
        body = incoming.body
        inputs: Any = body.get("input") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "model" not in body or inputs in (None, "", []):
            raise self.reject(
                incoming,
                HttpError(400, "invalid_request_error", "'input' is a required property", param="input"),
            )
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        # A list of token ids is one input; a list of strings or of token lists is many.
        items: list[Any] = [inputs] if isinstance(inputs, str) or _is_token_list(inputs) else list(inputs)
        model = str(body["model"])
        dimensions = body.get("dimensions") or (3072 if "large" in model else 1536)
        as_base64 = body.get("encoding_format") == "base64"
        vectors = [_vector(json.dumps(item), int(dimensions)) for item in items]
        tokens = sum(len(item) if _is_token_list(item) else estimate_tokens(str(item)) for item in items)
        return self.json_response(
            {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "index": index,
                        "embedding": _base64(vector) if as_base64 else vector,
                    }
                    for index, vector in enumerate(vectors)
                ],
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
            incoming.request_id,
        )

    # -- /v1/models ----------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        return await self.answer_models(await self.receive(request, "models", body_expected=False))

    async def answer_models(self, incoming: Incoming) -> web.StreamResponse:
        """A received model list request's answer."""
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        return self.json_response(
            {"object": "list", "data": [_model(*model) for model in self.listed_models]}, incoming.request_id
        )

    async def model(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "models", body_expected=False)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        name = request.match_info["model"]
        for model in MODELS:
            if model[0] == name:
                return self.json_response(_model(*model), incoming.request_id)
        error = HttpError(
            404,
            "invalid_request_error",
            f"The model '{name}' does not exist",
            code="model_not_found",
            param="model",
        )
        return self.error_response(error, incoming.request_id)


def build_app(emulator: Emulator) -> web.Application:
    return OpenAIApp(emulator).build()


def validate_chat(body: Any) -> HttpError | None:
    """The first problem the real API would report for this body, if any."""
    if not isinstance(body, dict):
        return HttpError(400, "invalid_request_error", "Invalid type for request body: expected an object.")
    if "model" not in body:
        return HttpError(400, "invalid_request_error", "you must provide a model parameter")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return HttpError(
            400,
            "invalid_request_error",
            "Missing required parameter: 'messages'.",
            code="missing_required_parameter",
            param="messages",
        )
    return validate_tool_use(body)


def prompt_tokens(body: dict[str, Any]) -> int:
    parts = [text_of(message.get("content")) for message in body["messages"] if isinstance(message, dict)]
    parts += [
        text_of(m["tool_calls"]) for m in body["messages"] if isinstance(m, dict) and m.get("tool_calls")
    ]
    if body.get("tools"):
        parts.append(json.dumps(body["tools"]))
    return estimate_tokens("\n".join(part for part in parts if part))


def _response_format(body: dict[str, Any]) -> tuple[bool, Any]:
    """Whether the request asks for JSON, and the schema it gives (if any)."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return False, None
    if response_format.get("type") == "json_object":
        return True, None
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        return True, (spec.get("schema") if isinstance(spec, dict) else None) or {}
    return False, None


def _identity(plan: Plan, kind: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + random_id(29, ALPHANUMERIC),
        "object": kind,
        "created": int(time.time()),
        "model": plan.model,
    }


def _serving(plan: Plan) -> dict[str, Any]:
    return {
        "service_tier": "default",
        "system_fingerprint": "fp_" + hashlib.sha256(plan.model.encode()).hexdigest()[:10],
    }


def _finish_reason(plan: Plan, body: dict[str, Any]) -> str:
    if plan.stop_reason is not None:
        return plan.stop_reason
    if plan.cut_by_max_tokens:
        return "length"
    if plan.tool_calls and not forces_a_function(body):
        return "tool_calls"
    return "stop"


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _model(model_id: str, created: int, owned_by: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


def _is_token_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, int) for v in value)


def _vector(seed: str, dimensions: int) -> list[float]:
    """A deterministic unit vector derived from `seed`."""
    raw = hashlib.shake_256(seed.encode()).digest(2 * dimensions)
    values = [v / 32767.5 - 1.0 for v in struct.unpack(f"<{dimensions}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _base64(vector: list[float]) -> str:
    """Little-endian float32, as the API encodes `encoding_format: base64`."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
