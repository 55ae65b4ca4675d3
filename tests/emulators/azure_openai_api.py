"""The Azure OpenAI data-plane API: the OpenAI emulator at Azure's paths and conventions.

POST /openai/deployments/{deployment}/chat/completions and …/embeddings, GET /openai/models,
each with an `api-version` query parameter (without one Azure answers 404 "Resource not
found"), the key in an `api-key` header, errors as {"error": {"code", "message"}} with
Azure's own words for 401, 429 and 5xx, and a stream that opens with a chunk of
`prompt_filter_results` and no choices (and no model or id), as Azure's does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.emulators.openai_api import OpenAIApp, data
from tests.emulators.script import HttpError
from tests.emulators.state import Emulator
from tests.emulators.wire import Incoming, Plan, StreamFrames, random_id

_FILTERED_NOTHING = {
    category: {"filtered": False, "severity": "safe"}
    for category in ("hate", "self_harm", "sexual", "violence")
}
PROMPT_FILTER_RESULTS = [{"prompt_index": 0, "content_filter_results": _FILTERED_NOTHING}]

_MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
_INVALID_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)


class AzureOpenAIApp(OpenAIApp):
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/openai/deployments/{deployment}/chat/completions", self.deployment_chat)
        router.add_post("/openai/deployments/{deployment}/embeddings", self.deployment_embeddings)
        router.add_get("/openai/models", self.models)

    def new_request_id(self) -> str:
        return random_id(8, "0123456789abcdef") + "-" + random_id(4, "0123456789abcdef") + "-azure"

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        headers = {"apim-request-id": request_id, "x-request-id": request_id, "x-ms-region": "Sweden Central"}
        if success:
            headers.update({"x-ratelimit-remaining-requests": "999", "x-ratelimit-remaining-tokens": "99990"})
        return headers

    def error_body(self, error: HttpError, request_id: str) -> Any:
        body = super().error_body(error, request_id)
        inner = body["error"]
        if error.status == 401:
            inner.update(code="401", message=error.message or _INVALID_KEY)
        elif error.status == 429 and error.message is None:
            wait = 1.0 if error.retry_after is None else error.retry_after
            inner.update(
                code="429",
                message="Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                "2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please "
                f"retry after {wait:g} seconds.",
            )
        elif error.status >= 500 and error.message is None:
            inner.update(
                code="InternalServerError",
                message="The service is temporarily unable to process your request. Please try again later.",
            )
        return body

    def api_key(self, request: web.Request) -> str | None:
        return request.headers.get("api-key", "").strip() or None

    def missing_key(self) -> HttpError:
        return HttpError(401, message=_MISSING_KEY, code="401")

    def rejected_key(self, key: str) -> HttpError:
        return HttpError(401, message=_INVALID_KEY, code="401")

    def not_found(self, request: web.Request) -> HttpError:
        return HttpError(404, body={"error": {"code": "404", "message": "Resource not found"}})

    def header_problem(self, request: web.Request) -> HttpError | None:
        """Every data-plane call names its API version in the query."""
        if not request.query.get("api-version"):
            return self.not_found(request)
        return None

    async def deployment_chat(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "completions")
        if isinstance(incoming.body, dict):
            # The deployment is the model; the body's `model`, if any, is not read.
            incoming.body.setdefault("model", request.match_info["deployment"])
        return await self.answer_chat(incoming)

    async def deployment_embeddings(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "embeddings")
        if isinstance(incoming.body, dict):
            incoming.body.setdefault("model", request.match_info["deployment"])
        return await self.answer_embeddings(incoming)

    def whole_body(self, incoming: Incoming, plan: Plan) -> Any:
        body = super().whole_body(incoming, plan)
        body["prompt_filter_results"] = PROMPT_FILTER_RESULTS
        for choice in body["choices"]:
            choice["content_filter_results"] = _FILTERED_NOTHING
        return body

    def frames(self, incoming: Incoming, plan: Plan) -> StreamFrames:
        frames = super().frames(incoming, plan)
        opening = data(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": PROMPT_FILTER_RESULTS,
            }
        )
        return StreamFrames(
            head=opening + frames.head,
            tokens=frames.tokens,
            tail=frames.tail,
            error=frames.error,
            malformed=frames.malformed,
        )


def build_app(emulator: Emulator) -> web.Application:
    return AzureOpenAIApp(emulator).build()
