"""The Voyage AI embeddings API emulator: POST /v1/embeddings, and nothing else (Voyage has
no completions and no model list).

Wire format as Voyage sends it: `Authorization: Bearer`, {"input", "model", "input_type"?,
"output_dimension"?} answered {"object": "list", "data": [{"object": "embedding",
"embedding", "index"}], "model", "usage": {"total_tokens"}}, and FastAPI-style errors,
{"detail": "…"}. Script it with the `embeddings` endpoint (`push(…, endpoint="embeddings")`).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web

from tests.emulators.openai_api import _vector
from tests.emulators.script import ErrorAfter, HttpError, Reply
from tests.emulators.state import Emulator
from tests.emulators.tokens import estimate_tokens
from tests.emulators.wire import Incoming, Plan, ProviderApp, random_id

MODELS = {
    "voyage-3.5": 1024,
    "voyage-3.5-lite": 1024,
    "voyage-3-large": 1024,
    "voyage-code-3": 1024,
    "voyage-finance-2": 1024,
    "voyage-law-2": 1024,
}
BATCH_LIMIT = 1000
INPUT_TYPES = (None, "query", "document")

DETAILS = {
    400: "Invalid request.",
    401: "Provided API key is invalid.",
    403: "Access to this resource is forbidden.",
    404: "Not Found",
    413: "Request entity too large.",
    429: "You have exceeded the rate limit for your organization. Please retry after a short wait.",
    500: "An unexpected error occurred. Please try again later.",
    503: "The service is temporarily unavailable due to high load. Please try again later.",
}


class VoyageApp(ProviderApp):
    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/embeddings", self.embeddings)

    def new_request_id(self) -> str:
        return random_id(32, "0123456789abcdef")

    def headers(self, request_id: str, *, success: bool) -> dict[str, str]:
        return {"x-request-id": request_id, "server": "uvicorn"}

    def error_body(self, error: HttpError, request_id: str) -> Any:
        default = DETAILS.get(error.status, DETAILS[500] if error.status >= 500 else DETAILS[400])
        return {"detail": error.message or default}

    def api_key(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def missing_key(self) -> HttpError:
        return HttpError(
            401, message="No API key provided. Provide one in the Authorization header as 'Bearer <key>'."
        )

    def rejected_key(self, key: str) -> HttpError:
        return HttpError(401)

    def not_found(self, request: web.Request) -> HttpError:
        return HttpError(404)

    def invalid_json(self, detail: str) -> HttpError:
        return HttpError(400, message=f"Invalid JSON in the request body: {detail}")

    def too_large(self) -> HttpError:
        return HttpError(413)

    def error_status(self, fault: ErrorAfter) -> HttpError:
        return HttpError(500, message=fault.message)

    def whole_body(self, incoming: Incoming, plan: Plan) -> NoReturn:
        raise TypeError("Voyage answers no completions")

    def frames(self, incoming: Incoming, plan: Plan) -> NoReturn:
        raise TypeError("Voyage streams nothing")

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        incoming = await self.receive(request, "embeddings")
        body = incoming.body
        problem = validate_embeddings(body)
        if problem is not None:
            raise self.reject(incoming, problem)
        outcome = self.choose(incoming)
        if outcome is not None and not isinstance(outcome, Reply):
            return await self.perform(incoming, outcome)
        inputs = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        model = str(body["model"])
        dimensions = int(body.get("output_dimension") or MODELS[model])
        # The query/document prefix Voyage adds changes the vector, as it does there.
        prefix = str(body.get("input_type") or "")
        return self.json_response(
            {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "embedding": _vector(prefix + json.dumps(text), dimensions),
                        "index": i,
                    }
                    for i, text in enumerate(inputs)
                ],
                "model": model,
                "usage": {"total_tokens": sum(estimate_tokens(text) for text in inputs)},
            },
            incoming.request_id,
        )


def validate_embeddings(body: Any) -> HttpError | None:
    """The first problem Voyage would report for this body, if any."""
    if not isinstance(body, dict):
        return HttpError(400, message="The request body must be a JSON object.")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(text, str) and text for text in inputs)
    ):
        return HttpError(400, message="'input' must be a non-empty string or a list of non-empty strings.")
    if len(inputs) > BATCH_LIMIT:
        return HttpError(
            400, message=f"The batch size limit is {BATCH_LIMIT}. Your batch size is {len(inputs)}."
        )
    if body.get("model") not in MODELS:
        return HttpError(
            400, message=f"Model {body.get('model')} is not supported. Supported models are {sorted(MODELS)}."
        )
    if body.get("input_type") not in INPUT_TYPES:
        return HttpError(400, message="'input_type' must be one of None, 'query' or 'document'.")
    return None


def build_app(emulator: Emulator) -> web.Application:
    return VoyageApp(emulator).build()
