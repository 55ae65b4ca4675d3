"""`GET /api/v1/stream/{id}`: a request's events as Server-Sent Events.

Each event is sent as `id: <n>`, `event: start|token|complete|error`, `data: <json>`; the
stream ends after `complete` or `error`. A reader resumes after the last id it saw: the
`Last-Event-ID` header (which EventSource sends by itself when it reconnects) or the
`last_event_id` query parameter, the header winning. A finished request replays what is
left and closes; with nothing left it answers 204, which tells EventSource to stop
reconnecting. While nothing happens a comment line is sent every KEEPALIVE_SECONDS so
proxies keep the connection open.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from django.http import StreamingHttpResponse

from api.errors import ApiProblem
from api.inference import fanout
from tenants.models import Tenant

KEEPALIVE_SECONDS = 15.0
# How long EventSource waits before reconnecting after a dropped connection.
RETRY_MILLISECONDS = 2000
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MEDIA_TYPE = "text/event-stream"


def resume_point(header: str | None, query: str | None) -> int:
    """The number of the last event the reader has (0: none), from `Last-Event-ID` or else
    `last_event_id`; 400 when it is not a whole number."""
    value = header if header not in (None, "") else query
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < 0:
        raise ApiProblem(
            400,
            "invalid_last_event_id",
            f"Last-Event-ID must be the id of an event (a whole number), not {str(value)[:40]!r}.",
            param="last_event_id",
        )
    return number


async def _frames(tenant: Tenant, request_pk: int, after: int) -> AsyncIterator[bytes]:
    # First bytes at once: the headers go out with them, and EventSource fires `open`.
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    async with fanout.following(tenant, request_pk) as topic:
        written = time.monotonic()
        async for batch in fanout.batches(topic, after):
            if batch:
                yield b"".join(event.sse for event in batch)
            elif time.monotonic() - written >= KEEPALIVE_SECONDS:
                yield b": keep-alive\n\n"
            else:
                continue
            written = time.monotonic()


def event_stream(tenant: Tenant, request_pk: int, after: int) -> StreamingHttpResponse:
    """The SSE response of the tenant's request `request_pk`, from the event after `after`."""
    response = StreamingHttpResponse(_frames(tenant, request_pk, after), content_type=MEDIA_TYPE)
    for name, value in HEADERS.items():
        response[name] = value
    return response
