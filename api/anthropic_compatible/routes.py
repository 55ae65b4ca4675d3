"""Anthropic-compatible gateway routes: /v1/messages and /v1/messages/count_tokens.

The official `anthropic` clients work unchanged against them with SCE's base URL and a
tenant key (`x-api-key` or `Authorization: Bearer`); `anthropic-version` is accepted, not
required. Every call goes through the gateway (routing, retries, fallback, quotas, logs,
cost), whichever kind of provider answers; failures answer in Anthropic's error shape.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Router

from api import request_ids
from api.anthropic_compatible import conversion, streaming
from api.anthropic_compatible.schemas import (
    CountTokensRequest,
    CountTokensResponse,
    ErrorResponse,
    MessageResponse,
    MessagesRequest,
)
from api.authentication import caller_key, key_auth
from api.gateway_models import resolve_for
from api.models import Scope
from providers import gateway
from providers.token_estimates import prompt_tokens

router = Router(tags=["anthropic_compatible"], auth=key_auth(Scope.GATEWAY))

ERRORS: dict[int, type[ErrorResponse]] = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    413: ErrorResponse,
    429: ErrorResponse,
    502: ErrorResponse,
    503: ErrorResponse,
    504: ErrorResponse,
    529: ErrorResponse,
}
# Anthropic's own status, which OpenAPI tools know no words for.
OVERLOADED = {529: {"description": "Overloaded: the providers that could answer are overloaded."}}

STREAM_EXAMPLE = """\
event: message_start
data: {"type":"message_start","message":{"id":"msg_5f0c…","type":"message","role":"assistant",\
"model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,\
"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},\
"usage":{"output_tokens":3,"input_tokens":12}}

event: message_stop
data: {"type":"message_stop"}
"""


@router.post(
    "/messages",
    summary="Create a message (Anthropic Messages API)",
    description=(
        "Anthropic's `POST /v1/messages`, through the gateway. With `stream: true` the reply is "
        "Server-Sent Events in Anthropic's order; a failure after the first token arrives as an "
        "`event: error` frame, with no `message_stop`. Tool use: `tools` (client tools: name, "
        "description, input_schema) and `tool_choice`; a reply that calls tools ends with "
        "`tool_use` blocks and stop reason `tool_use` (streamed as `input_json_delta`s); send "
        "the results back as `tool_result` blocks in the next user turn. Refused with a 400 "
        "naming the field: server tools, images, documents, extended thinking, stop sequences. "
        "The `request-id` header is the gateway's request id, as on its logs."
    ),
    response={200: MessageResponse, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "content": {"text/event-stream": {"schema": {"type": "string"}, "example": STREAM_EXAMPLE}}
            },
            **OVERLOADED,
        }
    },
)
async def create_message(request: HttpRequest, payload: MessagesRequest) -> HttpResponseBase:
    key = caller_key(request)
    choice = await resolve_for(key.tenant_id, payload.model)
    gateway_request = conversion.gateway_request(
        payload, choice=choice, key=key, request_id=request_ids.request_id_of(request)
    )
    if payload.stream:
        return await streaming.message_stream(gateway_request)
    completion = await gateway.complete(gateway_request)
    response = JsonResponse(conversion.message_response(completion).model_dump(mode="json"))
    response["request-id"] = completion.request_id
    return response


@router.post(
    "/messages/count_tokens",
    summary="Count a message's input tokens (Anthropic Messages API)",
    description=(
        "Anthropic's `POST /v1/messages/count_tokens`. The count is the gateway's own estimate "
        "(about four characters a token) of the system prompt, the messages (tool calls and "
        "results included) and the tools' definitions, not the provider's tokenizer: no "
        "provider is called."
    ),
    response={
        200: CountTokensResponse,
        **dict.fromkeys((400, 401, 403, 404, 413, 429), ErrorResponse),
    },
)
async def count_tokens(request: HttpRequest, payload: CountTokensRequest) -> CountTokensResponse:
    key = caller_key(request)
    choice = await resolve_for(key.tenant_id, payload.model)
    return CountTokensResponse(
        input_tokens=prompt_tokens(conversion.gateway_request(payload, choice=choice, key=key))
    )
