"""The request id of a public API call: made once per call, sent back on every answer of it
(failures included) as `x-request-id` (what the openai SDK reads) and `request-id` (the
anthropic SDK's), and given to the gateway so that its log rows carry the same id: a caller
quoting the id of a failed call leads an operator straight to its rows."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADERS = ("x-request-id", "request-id")
_ATTRIBUTE = "_sce_request_id"


def request_id_of(request: HttpRequest) -> str:
    """This call's id (`req_` and 32 hex digits), made on first use."""
    request_id: str | None = getattr(request, _ATTRIBUTE, None)
    if request_id is None:
        request_id = f"req_{uuid.uuid4().hex}"
        setattr(request, _ATTRIBUTE, request_id)
    return request_id


def stamp(request: HttpRequest, response: HttpResponseBase) -> None:
    """Name the call's id on its answer, unless the route named one (a streamed answer's
    headers are written before its first byte, by the route)."""
    if any(response.has_header(name) for name in HEADERS):
        return
    request_id = request_id_of(request)
    for name in HEADERS:
        response[name] = request_id
