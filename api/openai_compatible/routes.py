"""OpenAI-compatible gateway routes: /v1/chat/completions, /v1/models, /v1/embeddings.

The official `openai` clients work unchanged with SCE's base URL (`…/v1`) and a key with
the `gateway` scope. Every call goes through the gateway (routing, retries, pre-first-token
fallback, breaker, quotas, logs, cost) as task `api`, its log row linked to the key's
prefix. Each answer carries `x-request-id`: the gateway's request id (also in the reply's
`id` and on its log row), or a fresh one where no gateway call was made.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Router

from api import request_ids
from api.authentication import caller_key, key_auth
from api.gateway_models import models_for, resolve_for
from api.models import Scope
from api.openai_compatible import conversion, streaming
from api.openai_compatible.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingRequest,
    ModelObject,
    ModelObjectList,
    OpenAIError,
)
from providers import gateway
from providers.interface import Task

router = Router(tags=["openai_compatible"], auth=key_auth(Scope.GATEWAY))

# The statuses a /v1/ call may fail with, each with OpenAI's error body.
FAILURES = frozenset({400, 401, 403, 404, 413, 429, 502, 503, 504})

STREAM_EXAMPLE = (
    'data: {"id":"chatcmpl-req_4f1c…","object":"chat.completion.chunk","created":1767225600,'
    '"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,'
    '"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-req_4f1c…","object":"chat.completion.chunk","created":1767225600,'
    '"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,'
    '"delta":{"content":"Bonjour"},"logprobs":null,"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-req_4f1c…","object":"chat.completion.chunk","created":1767225600,'
    '"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,'
    '"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)
STREAM_DOC: dict[str, Any] = {
    "responses": {
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "string",
                        "description": "With `stream: true`: `data: <chat.completion.chunk>` events "
                        "(schema ChatCompletionChunk), then `data: [DONE]`; a failure after the "
                        'first event ends the stream with `data: {"error": {...}}` and no `[DONE]`.',
                    },
                    "example": STREAM_EXAMPLE,
                }
            }
        }
    }
}


def _json(body: dict[str, Any], *, request_id: str) -> JsonResponse:
    response = JsonResponse(body)
    response["x-request-id"] = request_id
    return response


@router.post(
    "/chat/completions",
    response={200: ChatCompletion, FAILURES: OpenAIError},
    summary="Create a chat completion (OpenAI-compatible)",
    description="OpenAI's Chat Completions: a whole reply, or with `stream: true` Server-Sent "
    "Events. `response_format` json_schema and json_object give structured output. Tool "
    "calling: `tools` (functions) and `tool_choice`; a reply that calls tools has "
    "`message.tool_calls` (streamed as `delta.tool_calls` pieces) and finish reason "
    "`tool_calls`; send each result back as a `tool` message with its `tool_call_id`. Not "
    "supported, and refused with 400 `unsupported_parameter` naming the field: the deprecated "
    "`functions` / `function_call`, `n` > 1, `stop`, `logprobs`, audio, non-text content parts.",
    openapi_extra=STREAM_DOC,
)
async def chat_completions(request: HttpRequest, payload: ChatCompletionRequest) -> HttpResponseBase:
    key = caller_key(request)
    conversion.refuse_unsupported(payload)
    choice = await resolve_for(key.tenant_id, payload.model)
    gateway_request = conversion.gateway_request(
        payload, choice=choice, key=key, request_id=request_ids.request_id_of(request)
    )
    if payload.stream:
        include_usage = payload.stream_options is not None and payload.stream_options.include_usage
        return await streaming.chat_stream(gateway_request, include_usage=include_usage)
    completion = await gateway.complete(gateway_request)
    return _json(conversion.completion_body(completion), request_id=completion.request_id)


@router.get(
    "/models",
    response={200: ModelObjectList, FAILURES: OpenAIError},
    summary="List models (OpenAI-compatible)",
    description="The names `model` takes for this key's organization: `auto` (its routing), "
    "then per provider in route order `provider/model` and the provider's name.",
)
async def list_models(request: HttpRequest) -> HttpResponseBase:
    key = caller_key(request)
    listed = await models_for(key.tenant_id)
    body = {"object": "list", "data": [conversion.model_body(model) for model in listed]}
    return _json(body, request_id=request_ids.request_id_of(request))


@router.get(
    "/models/{path:model}",
    response={200: ModelObject, FAILURES: OpenAIError},
    summary="Retrieve a model (OpenAI-compatible)",
    description="Any name `model` takes, listed or not (a bare model name); else 404 `model_not_found`.",
)
async def retrieve_model(request: HttpRequest, model: str) -> HttpResponseBase:
    key = caller_key(request)
    listed = await models_for(key.tenant_id)
    request_id = request_ids.request_id_of(request)
    for candidate in listed:
        if candidate.id == model:
            return _json(conversion.model_body(candidate), request_id=request_id)
    choice = await resolve_for(key.tenant_id, model)  # 404 in OpenAI's shape when unknown
    return _json(conversion.chosen_model_body(choice, listed), request_id=request_id)


@router.post(
    "/embeddings",
    response={200: CreateEmbeddingResponse, FAILURES: OpenAIError},
    summary="Create embeddings (OpenAI-compatible)",
    description="Vectors for a text or a list of texts, from the first provider of the route "
    "that serves embeddings. `encoding_format: base64` (the openai SDK's default) sends "
    "little-endian float32 as OpenAI does.",
)
async def create_embeddings(request: HttpRequest, payload: EmbeddingRequest) -> HttpResponseBase:
    key = caller_key(request)
    choice = await resolve_for(key.tenant_id, payload.model)
    conversion.check_dimensions(payload.dimensions, choice.model)
    texts = [payload.input] if isinstance(payload.input, str) else list(payload.input)
    result = await gateway.embed(
        texts=texts,
        task=Task.API,
        tenant_id=key.tenant_id,
        provider=choice.provider,
        model=choice.model,
        links={"api_key": key.prefix},
        request_id=request_ids.request_id_of(request),
    )
    body = conversion.embeddings_body(
        result, encoding_format=payload.encoding_format or "float", dimensions=payload.dimensions
    )
    return _json(body, request_id=result.request_id)
