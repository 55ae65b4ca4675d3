"""The Gemini Developer API emulator, at the paths google-genai uses under /v1 and /v1beta:
POST models/{model}:generateContent, :streamGenerateContent (SSE with `alt=sse`, a JSON
array without), :embedContent, :batchEmbedContents; GET models (paged) and models/{model}.

Wire format as Google sends it: the key in `x-goog-api-key` (or `?key=`), compact JSON,
errors as {"error": {"code", "message", "status", "details"}} with Google's canonical status
names, a wrong key answered 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID, the
wait of a 429 in a RetryInfo detail (`retryDelay`), not in a header. A stream is
`data: <GenerateContentResponse>\\r\\n\\r\\n` frames, each with the usage so far; the last
carries the finish reason and the whole usage; an error inside it is a `data: {"error": …}`
frame. Request bodies are checked as the API checks them (gemini_requests.py).

Scripting, as for the other emulators (tests/emulators/script.py), with Google's words:
- HttpError: `error_type` is the canonical status (RESOURCE_EXHAUSTED…), `code` an ErrorInfo
  reason (API_KEY_INVALID…); retry_after / retry_after_ms become RetryInfo's delay.
- ErrorAfter: `error_type` is the canonical status of the in-stream error (default INTERNAL).
- Reply(stop_reason=…): a finish reason (SAFETY, RECITATION…; default STOP or MAX_TOKENS);
  "prompt:SAFETY" (or another block reason) blocks the prompt: no candidates, only
  `promptFeedback.blockReason`.
- Reply(tool_calls=…): `{"functionCall": {"name", "args": {…}}}` parts after the text part
  (no text part when there is no text), finish reason STOP, no id unless the script gives
  one; a stream sends each call whole in a chunk of its own, which faults count as a token.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.emulators.gemini_requests import bad_request, validate_embeddings, validate_generate
from tests.emulators.openai_api import _vector
from tests.emulators.script import ErrorAfter, HttpError, Reply
from tests.emulators.state import Emulator, Endpoint
from tests.emulators.tokens import default_text, estimate_tokens, json_text, text_of
from tests.emulators.wire import (
    ALPHANUMERIC,
    Incoming,
    Plan,
    PlannedToolCall,
    ProviderApp,
    StreamFrames,
    dumps,
    random_id,
)

API_VERSIONS = "v1|v1beta"

# (name, display name, input limit, output limit, methods)
GENERATE = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
EMBED = ["embedContent"]
MODELS: tuple[tuple[str, str, int, int, list[str]], ...] = (
    ("gemini-2.5-pro", "Gemini 2.5 Pro", 1048576, 65536, GENERATE),
    ("gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536, GENERATE),
    ("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1048576, 65536, GENERATE),
    ("gemini-embedding-001", "Gemini Embedding 001", 2048, 1, EMBED),
    ("text-embedding-004", "Text Embedding 004", 2048, 1, EMBED),
)
DIMENSIONS = {"gemini-embedding-001": 3072, "text-embedding-004": 768}

# status -> (canonical status, message)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access "
          "token, login cookie or other valid authentication credential."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit: 20971520 bytes."),
    429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing "
          "details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
          "rate-limits."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
          "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}  # fmt: skip
STATUS_OF_NAME = {name: status for status, (name, _message) in ERRORS.items() if status != 413}

_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n"
    "  <p><b>404.</b> <ins>That\u2019s an error.</ins>\n  <p>The requested URL was not found on this server."
    "  <ins>That\u2019s all we know.</ins>\n"
)
_SAFE_RATINGS = [
    {"category": category, "probability": "NEGLIGIBLE"}
    for category in (
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    )
]
_UNSAFE_RATINGS = [{**_SAFE_RATINGS[0], "probability": "HIGH", "blocked": True}, *_SAFE_RATINGS[1:]]
PROMPT_BLOCK = "prompt:"


def frame(value: Any) -> bytes:
    return b"data: " + dumps(value) + b"\r\n\r\n"


def duration(seconds: float) -> str:
    """A protobuf Duration as JSON: "2s", "0.250s"."""
    return f"{seconds:g}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


class GeminiApp(ProviderApp):
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(f"/{{version:{API_VERSIONS}}}/models/{{call}}", self.model_call)
        router.add_get(f"/{{version:{API_VERSIONS}}}/models", self.models)
        router.add_get(f"/{{version:{API_VERSIONS}}}/models/{{model}}", self.model)

    # -- conventions ---------------------------------------------------------------------

    def new_request_id(self) -> str:
        return random_id(20, ALPHANUMERIC)

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        return {
            "server": "scaffolding on HTTPServer2",
            "vary": "Origin, X-Origin, Referer",
            "x-xss-protection": "0",
            "x-frame-options": "SAMEORIGIN",
            "x-content-type-options": "nosniff",
            "server-timing": "gfet4t7; dur=1",
        }

    def error_body(self, error: HttpError, request_id: str) -> Any:
        status_name, message = ERRORS.get(error.status, ERRORS[500] if error.status >= 500 else ERRORS[400])
        details: list[dict[str, Any]] = []
        if error.code:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": error.code,
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            )
        wait = error.retry_after_ms / 1000 if error.retry_after_ms is not None else error.retry_after
        if wait is None and error.status == 429:
            wait = 1.0
        if wait is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": duration(wait)}
            )
        inner: dict[str, Any] = {
            "code": error.status,
            "message": error.message or message,
            "status": error.error_type or status_name,
        }
        if details:
            inner["details"] = details
        return {"error": inner}

    def error_response(self, error: HttpError, request_id: str) -> web.Response:
        """Google says how long to wait in the body (RetryInfo), never in a retry-after header."""
        headers = {**self.headers(request_id, success=False), **error.headers}
        if isinstance(error.body, str):
            return web.Response(
                text=error.body, status=error.status, headers=headers, content_type="text/html"
            )
        body = error.body if error.body is not None else self.error_body(error, request_id)
        return web.Response(
            body=dumps(body), status=error.status, headers=headers, content_type="application/json"
        )

    def api_key(self, request: web.Request) -> str | None:
        return request.headers.get("x-goog-api-key", "").strip() or request.query.get("key") or None

    def missing_key(self) -> HttpError:
        return HttpError(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use "
            "API Key or other form of API consumer identity to call this API.",
        )

    def rejected_key(self, key: str) -> HttpError:
        return HttpError(
            400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", code="API_KEY_INVALID"
        )

    def not_found(self, request: web.Request) -> HttpError:
        return HttpError(404, body=_NOT_FOUND_PAGE)

    def invalid_json(self, detail: str) -> HttpError:
        return bad_request(f"Invalid JSON payload received. {detail}")

    def too_large(self) -> HttpError:
        return HttpError(413)

    def error_status(self, fault: ErrorAfter) -> HttpError:
        name = fault.error_type or "INTERNAL"
        return HttpError(STATUS_OF_NAME.get(name, 500), name, fault.message)

    def new_tool_call_id(self) -> str:
        return ""  # Gemini's function calls carry no id

    # -- POST models/{model}:{method} ------------------------------------------------------

    async def model_call(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].partition(":")
        endpoints: dict[str, Endpoint] = {
            "generateContent": "completions",
            "streamGenerateContent": "completions",
            "embedContent": "embeddings",
            "batchEmbedContents": "embeddings",
        }
        if method not in endpoints:
            raw = await request.read()
            self._log(request, "unknown", raw, None, self.api_key(request), "http_error 404")
            return self.error_response(self.not_found(request), self.new_request_id())
        incoming = await self.receive(request, endpoints[method])
        if method in ("embedContent", "batchEmbedContents"):
            return await self.answer_embeddings(incoming, model, batch=method == "batchEmbedContents")
        return await self.answer_generate(incoming, model, streamed=method == "streamGenerateContent")

    async def answer_generate(self, incoming: Incoming, model: str, *, streamed: bool) -> web.StreamResponse:
        body = incoming.body
        problem = validate_generate(body)
        if problem is not None:
            raise self.reject(incoming, problem)
        outcome = self.choose(incoming) or Reply()
        if not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        generation = body.get("generationConfig") or {}
        json_mode = generation.get("responseMimeType") == "application/json"
        schema = generation.get("responseJsonSchema") or generation.get("responseSchema")
        seed = json.dumps(body.get("contents"), sort_keys=True)

        def default(words: int) -> str:
            return json_text(seed, words, schema) if json_mode else default_text(seed, words)

        stops = generation.get("stopSequences")
        max_tokens = generation.get("maxOutputTokens")
        plan = self.plan(
            outcome,
            model=model,
            default_text=default,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            stops=[str(stop) for stop in stops] if isinstance(stops, list) else [],
            input_tokens=prompt_tokens(body),
        )
        if streamed and incoming.request.query.get("alt") != "sse":
            # Without alt=sse the chunks come as one JSON array (the SDK always asks for SSE).
            return self.json_response(self._chunks(plan), incoming.request_id)
        return await self.reply(incoming, plan, stream=streamed)

    def whole_body(self, incoming: Incoming, plan: Plan) -> Any:
        if _blocked(plan):
            return self._blocked_body(plan)
        parts = [{"text": plan.text}] if plan.tokens or not plan.tool_calls else []
        parts += [_function_call(call) for call in plan.tool_calls]
        body: dict[str, Any] = {"candidates": [_candidate(plan, parts, finished=True)]}
        if plan.include_usage:
            body["usageMetadata"] = _usage(plan, final=True)
        return {**body, **_identity(plan)}

    def _chunks(self, plan: Plan) -> list[Any]:
        """The chunk objects of a streamed reply: one per token, one per function call (whole:
        Gemini does not stream a call's arguments), then the finishing one."""
        if _blocked(plan):
            return [self._blocked_body(plan)]
        identity = _identity(plan)
        running = {"usageMetadata": _usage(plan, final=False)} if plan.include_usage else {}
        pieces = [[{"text": token}] for token in plan.tokens] + [[_function_call(c)] for c in plan.tool_calls]
        chunks: list[Any] = [
            {"candidates": [_candidate(plan, parts, finished=False)], **running, **identity}
            for parts in pieces
        ]
        final = {"usageMetadata": _usage(plan, final=True)} if plan.include_usage else {}
        chunks.append({"candidates": [_candidate(plan, [{"text": ""}], finished=True)], **final, **identity})
        return chunks

    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        *token_chunks, last = self._chunks(plan)
        fault = plan.fault
        name = (fault.error_type if isinstance(fault, ErrorAfter) else None) or "INTERNAL"
        status = STATUS_OF_NAME.get(name, 500)
        message = (fault.message if isinstance(fault, ErrorAfter) else None) or ERRORS[status][1]
        return StreamFrames(
            head=b"",
            tokens=[frame(chunk) for chunk in token_chunks],
            tail=frame(last),
            error=frame({"error": {"code": status, "message": message, "status": name}}),
            malformed=b'data: {"candidates":[{"content":{"parts":[{"text":"\r\n\r\n',
        )

    def _blocked_body(self, plan: Plan) -> Any:
        reason = (plan.stop_reason or "").removeprefix(PROMPT_BLOCK)
        body: dict[str, Any] = {"promptFeedback": {"blockReason": reason, "safetyRatings": _UNSAFE_RATINGS}}
        if plan.include_usage:
            body["usageMetadata"] = {
                "promptTokenCount": plan.input_tokens,
                "totalTokenCount": plan.input_tokens,
            }
        return {**body, **_identity(plan)}

    # -- embeddings ----------------------------------------------------------------------

    async def answer_embeddings(self, incoming: Incoming, model: str, *, batch: bool) -> web.StreamResponse:
        body = incoming.body
        requests: Any = body.get("requests") if batch and isinstance(body, dict) else [body]
        problem = validate_embeddings(requests, model, batch=batch)
        if problem is not None:
            raise self.reject(incoming, problem)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        embeddings = [
            {
                "values": _vector(
                    json.dumps(request["content"], sort_keys=True),
                    int(request.get("outputDimensionality") or DIMENSIONS.get(model, 768)),
                )
            }
            for request in requests
        ]
        answer: dict[str, Any] = {"embeddings": embeddings} if batch else {"embedding": embeddings[0]}
        return self.json_response(answer, incoming.request_id)

    # -- GET models ----------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "models", body_expected=False)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        try:
            size = max(1, min(1000, int(request.query.get("pageSize", "50"))))
            start = int(request.query.get("pageToken") or "0")
        except ValueError:
            return self.error_response(bad_request("Invalid page size or page token."), incoming.request_id)
        page: dict[str, Any] = {"models": [_model(*model) for model in MODELS[start : start + size]]}
        if start + size < len(MODELS):
            page["nextPageToken"] = str(start + size)
        return self.json_response(page, incoming.request_id)

    async def model(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "models", body_expected=False)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        name = request.match_info["model"]
        for model in MODELS:
            if model[0] == name:
                return self.json_response(_model(*model), incoming.request_id)
        version = request.match_info["version"]
        error = HttpError(404, "NOT_FOUND", f"models/{name} is not found for API version {version}.")
        return self.error_response(error, incoming.request_id)


def build_app(emulator: Emulator) -> web.Application:
    return GeminiApp(emulator).build()


def prompt_tokens(body: dict[str, Any]) -> int:
    parts = [text_of(content.get("parts")) for content in body["contents"] if isinstance(content, dict)]
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        parts.append(text_of(system.get("parts")))
    if body.get("tools"):
        parts.append(json.dumps(body["tools"]))
    return estimate_tokens("\n".join(part for part in parts if part))


def _blocked(plan: Plan) -> bool:
    return (plan.stop_reason or "").startswith(PROMPT_BLOCK)


def _finish_reason(plan: Plan) -> str:
    if plan.stop_reason is not None:
        return plan.stop_reason
    return "MAX_TOKENS" if plan.cut_by_max_tokens else "STOP"


def _function_call(call: PlannedToolCall) -> dict[str, Any]:
    """A functionCall part: `args` an object; an `id` only when the script gave one (the
    Gemini API sends none)."""
    function_call: dict[str, Any] = {"name": call.name, "args": call.input}
    if call.id:
        function_call["id"] = call.id
    return {"functionCall": function_call}


def _candidate(plan: Plan, parts: list[dict[str, Any]], *, finished: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finished:
        reason = _finish_reason(plan)
        candidate["finishReason"] = reason
        if reason == "SAFETY":
            candidate["safetyRatings"] = _UNSAFE_RATINGS
    return candidate


def _usage(plan: Plan, *, final: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": plan.input_tokens}
    total = plan.input_tokens
    if final:
        usage["candidatesTokenCount"] = plan.output_tokens
        total += plan.output_tokens
    usage["totalTokenCount"] = total
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": plan.input_tokens}]
    return usage


def _identity(plan: Plan) -> dict[str, Any]:
    return {"modelVersion": plan.model, "responseId": random_id(22, ALPHANUMERIC)}


def _model(name: str, display_name: str, input_limit: int, output_limit: int, methods: list[str]) -> Any:
    model: dict[str, Any] = {
        "name": f"models/{name}",
        "version": "001",
        "displayName": display_name,
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": methods,
    }
    if methods is GENERATE:
        model.update(temperature=1, topP=0.95, topK=64, maxTemperature=2, thinking=True)
    return model
