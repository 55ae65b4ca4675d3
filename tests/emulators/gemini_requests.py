"""What the Gemini API refuses in a request body, in its own words: unknown fields, no
contents, a role other than user/model, embedding batches too large or naming another model
(tests/emulators/gemini_api.py answers with these)."""

from __future__ import annotations

from typing import Any

from tests.emulators.script import HttpError

BATCH_LIMIT = 100

REQUEST_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "generationConfig",
        "safetySettings",
        "tools",
        "toolConfig",
        "cachedContent",
    }
)
GENERATION_FIELDS = frozenset(
    {
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
        "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
        "frequencyPenalty", "responseLogprobs", "logprobs", "thinkingConfig", "mediaResolution",
    }
)  # fmt: skip


def bad_request(message: str) -> HttpError:
    return HttpError(400, "INVALID_ARGUMENT", message)


def _unknown_field(body: dict[str, Any], known: frozenset[str], where: str = "") -> HttpError | None:
    for name in body:
        if name not in known:
            at = f" at '{where}'" if where else ""
            return bad_request(
                f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
            )
    return None


def validate_generate(body: Any) -> HttpError | None:
    """The first problem the real API would report for a generateContent body, if any."""
    if not isinstance(body, dict):
        return bad_request("Invalid JSON payload received. Expected an object.")
    problem = _unknown_field(body, REQUEST_FIELDS)
    if problem is not None:
        return problem
    generation = body.get("generationConfig")
    if isinstance(generation, dict):
        problem = _unknown_field(generation, GENERATION_FIELDS, "generation_config")
        if problem is not None:
            return problem
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return bad_request("* GenerateContentRequest.contents: contents is not specified\n")
    for content in contents:
        if not isinstance(content, dict) or not content.get("parts"):
            return bad_request("* GenerateContentRequest.contents: contents.parts must not be empty.\n")
        if content.get("role", "user") not in ("user", "model"):
            return bad_request("Please use a valid role: user, model.")
    return None


def validate_embeddings(requests: Any, model: str, *, batch: bool) -> HttpError | None:
    if not isinstance(requests, list) or not requests:
        return bad_request("* BatchEmbedContentsRequest.requests: requests is not specified\n")
    if len(requests) > BATCH_LIMIT:
        return bad_request(
            f"* BatchEmbedContentsRequest.requests: at most {BATCH_LIMIT} requests can be in one batch\n"
        )
    for request in requests:
        if not isinstance(request, dict) or not isinstance(request.get("content"), dict):
            return bad_request("* EmbedContentRequest.content: content is not specified\n")
        named = request.get("model")
        if batch and named != f"models/{model}":
            return bad_request(
                f"Model name in the request ({named}) does not match the model in the URL (models/{model})."
            )
    return None
