"""Seed 004's inference API: submit a prompt, follow it, read its result.

`POST /api/v1/infer` answers at once (202) with the request's id; a Celery worker answers
the prompt through the gateway (the tenant's routing for API calls, or the model named),
recording every token as a numbered event. `GET /api/v1/status/{id}` tells where it
stands, `GET /api/v1/result/{id}` gives the answer (202 while there is none yet),
`GET /api/v1/stream/{id}` streams the events as Server-Sent Events, resumable. Requests are
the key's tenant's: another tenant's id is 404, like one that does not exist. Finished
requests are kept for INFERENCE_RESULT_TTL_HOURS, then deleted.
"""

from __future__ import annotations

from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja import Query, Router, Schema, Status
from pydantic import Field

from api.authentication import caller_key, key_auth
from api.errors import ApiProblem
from api.gateway_models import resolve_sync
from api.inference import schemas, selectors, services, streaming
from api.inference.keys import QUERY_PARAMETER, QueryKey
from api.inference.models import InferenceRequest
from api.models import Scope

router = Router(tags=["inference"], auth=key_auth(Scope.GATEWAY))

ERRORS: dict[int, type[Schema]] = {
    400: schemas.ErrorOut,
    401: schemas.ErrorOut,
    403: schemas.ErrorOut,
    404: schemas.ErrorOut,
}

SSE_EXAMPLE = """\
retry: 2000

id: 1
event: start
data: {"request_id":"550e8400-…","session_id":"123e4567-…","provider":"anthropic","model":"claude-sonnet-5-5"}

id: 2
event: token
data: {"chunk":0,"data":"Rust"}

id: 3
event: token
data: {"chunk":1,"data":" is"}

id: 4
event: complete
data: {"status":"done","finish_reason":"stop","provider":"anthropic","model":"claude-sonnet-5-5",\
"usage":{"input_tokens":12,"output_tokens":2}}

"""


def _not_found(request_id: str) -> ApiProblem:
    return ApiProblem(404, "not_found", f"There is no inference request {request_id[:80]}.")


def _own_request(request: HttpRequest, request_id: str) -> InferenceRequest:
    found = selectors.inference_request_of_tenant(tenant=caller_key(request).tenant, request_id=request_id)
    if found is None:
        raise _not_found(request_id)
    return found


@router.post(
    "/infer",
    response={202: schemas.InferenceResult, 413: schemas.ErrorOut, **ERRORS},
    summary="Submit an inference request",
    description=(
        "Queues the prompt and answers at once with the request's id (202, and its status URL in "
        "`Location`). Follow it with `GET /api/v1/stream/{id}` (Server-Sent Events) or poll "
        "`GET /api/v1/result/{id}`. An unknown `model` is 404 `model_not_found`."
    ),
    url_name="inference_submit",
)
def infer(
    request: HttpRequest, payload: schemas.InferIn, response: HttpResponse
) -> Status[schemas.InferenceResult]:
    key = caller_key(request)
    resolve_sync(key.tenant_id, payload.model)  # 404 now rather than a failed request later
    created = services.inference_request_create(
        key=key,
        prompt=payload.prompt,
        system=payload.system,
        session_id=payload.session_id,
        metadata=payload.metadata,
        model=payload.model,
        max_tokens=payload.max_tokens,
        temperature=payload.temperature,
    )
    response["Location"] = f"/api/v1/status/{created.request_id}"
    return Status(202, schemas.result_of(created))


@router.get(
    "/status/{request_id}",
    response={200: schemas.InferenceStatus, **ERRORS},
    summary="Where an inference request stands",
    description="Its status, who answers it, and `last_event_id`, the event the stream would resume after.",
    url_name="inference_status",
)
def status(request: HttpRequest, request_id: str) -> schemas.InferenceStatus:
    found = _own_request(request, request_id)
    return schemas.status_of(found, selectors.last_event_seq(found))


@router.get(
    "/result/{request_id}",
    response={200: schemas.InferenceResult, 202: schemas.InferenceResult, **ERRORS},
    summary="The result of an inference request",
    description=(
        "200 once the request has finished: `completed` with its `result`, or `failed` with its "
        "`error`. 202 (with `Retry-After`) while it is still pending or processing: ask again later."
    ),
    url_name="inference_result",
)
def result(request: HttpRequest, request_id: str, response: HttpResponse) -> Status[schemas.InferenceResult]:
    found = _own_request(request, request_id)
    if not found.is_finished:
        response["Retry-After"] = "1"
        return Status(202, schemas.result_of(found))
    return Status(200, schemas.result_of(found))


class StreamQuery(Schema):
    last_event_id: str | None = Field(
        default=None,
        description="Resume after this event, for clients that cannot send `Last-Event-ID` (which wins).",
    )


@router.get(
    "/stream/{request_id}",
    auth=[*key_auth(Scope.GATEWAY), QueryKey(Scope.GATEWAY)],
    response={204: None, **ERRORS},
    summary="Stream an inference request's events (Server-Sent Events)",
    description=(
        "`start`, one `token` per piece of the answer (`{chunk, data}`), then `complete` or `error`; "
        "each with an `id:`. Send `Last-Event-ID` (EventSource does when it reconnects) or "
        "`last_event_id` to resume after an event: nothing is skipped or repeated. A finished request "
        "replays and closes; 204 when nothing is left after the id given. Browsers' EventSource cannot "
        f"send headers: pass the key as `?{QUERY_PARAMETER}=` instead (query strings are more often "
        "logged than headers: prefer a header wherever the client can send one)."
    ),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The events, until `complete` or `error`.",
                "content": {streaming.MEDIA_TYPE: {"schema": {"type": "string"}, "example": SSE_EXAMPLE}},
            }
        }
    },
    url_name="inference_stream",
)
def stream(request: HttpRequest, request_id: str, query: Query[StreamQuery]) -> HttpResponseBase:
    # A plain view: the key and the request are read in one trip to the database thread (an
    # async view would take one for the auth and one for the read); the response's events
    # are then sent from the event loop (an async iterator).
    after = streaming.resume_point(request.headers.get("Last-Event-ID"), query.last_event_id)
    found = _own_request(request, request_id)
    if found.is_finished and after >= selectors.last_event_seq(found):
        return HttpResponse(status=204)  # nothing left: EventSource stops reconnecting
    # The stream may stay open for minutes: it must not hold this request's database
    # connection (a pooled one in production) all that time; what the stream reads, its
    # topic reads in the shared database thread (api.inference.fanout).
    connections.close_all()
    return streaming.event_stream(found.tenant, found.pk, after)
