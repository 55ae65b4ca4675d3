"""The Groq API: the OpenAI emulator at Groq's paths (/openai/v1/…) and conventions.

Groq speaks the OpenAI Chat Completions wire under /openai/v1, with its `x_groq` extension
on streamed chunks: the first chunk carries `x_groq.id`, the last (the one with the finish
reason) `x_groq.id` and, unasked, `x_groq.usage`. A request with
`stream_options.include_usage` also gets OpenAI's usage chunk. A streamed tool call comes
whole, in one chunk. Errors are OpenAI-shaped with Groq's words.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.emulators.openai_api import OpenAIApp, _usage
from tests.emulators.script import HttpError
from tests.emulators.state import Emulator
from tests.emulators.wire import ALPHANUMERIC, Incoming, Plan, StreamFrames, dumps, random_id

MODELS: tuple[tuple[str, int, str], ...] = (
    ("llama-3.3-70b-versatile", 1733447754, "Meta"),
    ("llama-3.1-8b-instant", 1693721698, "Meta"),
    ("openai/gpt-oss-120b", 1754408224, "OpenAI"),
)


def _with(frame: bytes, extra: dict[str, Any]) -> bytes:
    """A `data: {…}` frame with `extra` added to its JSON object."""
    payload = json.loads(frame.removeprefix(b"data: ").strip())
    return b"data: " + dumps({**payload, **extra}) + b"\n\n"


class GroqApp(OpenAIApp):
    listed_models = MODELS
    # Groq streams each tool call whole, arguments and all, in one chunk.
    streams_whole_tool_calls = True

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/openai/v1/chat/completions", self.chat_completions)
        router.add_post("/openai/v1/embeddings", self.embeddings)
        router.add_get("/openai/v1/models", self.models)

    def new_request_id(self) -> str:
        return "req_" + random_id(26, "0123456789abcdefghjkmnpqrstvwxyz")

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        headers = {"x-request-id": request_id, "x-groq-region": "dls", "server": "cloudflare"}
        if success:
            headers.update(
                {"x-ratelimit-remaining-requests": "14399", "x-ratelimit-remaining-tokens": "5990"}
            )
        return headers

    def error_body(self, error: HttpError, request_id: str) -> Any:
        body = super().error_body(error, request_id)
        if error.message is None and error.status == 401:
            body["error"]["message"] = "Invalid API Key"
        return body

    def rejected_key(self, key: str) -> HttpError:
        return HttpError(401, "invalid_request_error", "Invalid API Key", code="invalid_api_key")

    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        frames = super().frames(incoming, plan)
        groq_id = "req_" + random_id(26, ALPHANUMERIC.lower())
        finish, _, rest = frames.tail.partition(b"\n\n")
        last: dict[str, Any] = {"id": groq_id}
        if plan.include_usage:
            last["usage"] = _usage(plan)
        return StreamFrames(
            head=_with(frames.head, {"x_groq": {"id": groq_id}}),
            tokens=frames.tokens,
            tail=_with(finish, {"x_groq": last}) + rest,
            error=frames.error,
            malformed=frames.malformed,
        )


def build_app(emulator: Emulator) -> web.Application:
    return GroqApp(emulator).build()
