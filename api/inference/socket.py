"""`WS /api/v1/ws`: seed 004's bidirectional JSON protocol.

A program connects with its API key in the handshake (`Authorization: Bearer`, `x-api-key`,
or `?api_key=` for a browser's WebSocket, which cannot send headers); a missing, wrong,
revoked or expired key has its handshake refused with 4401, a suspended tenant's or one
without the `gateway` scope with 4403 (under daphne, a refused handshake is an HTTP 403).
No cookie reaches this socket and no Origin is required: the key is the credential
(core.origins).

Then, for each request it sends (`{"prompt": …}`, the fields of `POST /api/v1/infer`, plus
`"stream": true|false`), the socket answers:
- `{"type": "ack", "request_id", "session_id", "status"}` once the request is queued;
- `{"type": "token", "request_id", "chunk", "data"}` per piece of the answer (with `stream`);
- `{"type": "result", "request_id", "status": "completed", "result", …}` at the end, or
- `{"type": "error", "request_id", "error", "message", …}` if it failed.
A message that is not a valid request gets `{"type": "error", "request_id": null, …}` and
the socket stays open. Several requests may be in flight at once; their messages carry
their ids. The key is read again with each request: a key revoked since closes the socket
(4401, 4403 when it lost the scope or its tenant was suspended). Requests run in the
background: closing the socket does not stop them, and `GET /api/v1/result/{id}` still
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from api.authentication import ApiKeyRefused
from api.errors import ApiProblem, validation_problem
from api.gateway_models import resolve_for
from api.inference import events, fanout, services
from api.inference.keys import QUERY_PARAMETER, admit_presented, count_call
from api.inference.models import InferenceRequest
from api.inference.schemas import SocketRequestIn
from api.models import ApiKey, Scope
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from core.db import database_sync_to_async
from core.sockets import Socket

logger = logging.getLogger(__name__)

# Requests one socket may have in flight; more are refused until one ends.
MAX_IN_FLIGHT = 16


def handshake_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The handshake's headers by lower-case name (a repeated header: its last value)."""
    return {
        bytes(name).decode("latin1").lower(): bytes(value).decode("latin1")
        for name, value in scope["headers"]
    }


def handshake_query_key(scope: Mapping[str, Any]) -> str | None:
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin1"))
    values = query.get(QUERY_PARAMETER) or [""]
    return values[0].strip() or None


def _error(code: str, message: str, *, request_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "request_id": request_id, "error": code, "message": message, **extra}


class InferenceSocket(Socket):
    """One program's socket: requests in, acks, tokens and results out."""

    key: ApiKey
    headers: dict[str, str]
    query_key: str | None
    address: str

    async def connect(self) -> None:
        self.headers = handshake_headers(self.scope)
        self.query_key = handshake_query_key(self.scope)
        client = self.scope.get("client")
        self.address = str(client[0]) if client else "unknown"
        self.followers: set[asyncio.Task[None]] = set()
        try:
            self.key = await self._admit()
        except ApiKeyRefused as refusal:
            logger.info("inference socket refused: %s", refusal.code)
            # Before accepting: the handshake is refused (HTTP 403 under daphne), with the
            # generation socket's codes for an ASGI client that sees them.
            await self.close(code=CLOSE_UNAUTHENTICATED if refusal.status == 401 else CLOSE_FORBIDDEN)
            return
        await self.accept()

    async def _admit(self) -> ApiKey:
        return await database_sync_to_async(admit_presented)(
            self.headers, self.query_key, Scope.GATEWAY, address=self.address
        )

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, ensure_ascii=False))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_json(_error("invalid_request", "Send requests as JSON text messages."))
            return
        try:
            raw = json.loads(text_data)
        except ValueError:
            await self.send_json(_error("invalid_json", "The message is not valid JSON."))
            return
        try:
            request = SocketRequestIn.model_validate(raw)
        except ValidationError as invalid:
            problem = validation_problem([dict(error) for error in invalid.errors()])
            await self.send_json(_error(problem.code, problem.message, details=problem.details))
            return
        try:
            # A key revoked or expired since the handshake acts no more; each request counts
            # against the key's own limit, as an HTTP call does.
            self.key = await self._admit()
            await database_sync_to_async(count_call)(self.key)
        except ApiKeyRefused as refusal:
            await self.send_json(_error(refusal.code, refusal.message))
            await self.refuse(CLOSE_UNAUTHENTICATED if refusal.status == 401 else CLOSE_FORBIDDEN)
            return
        except ApiProblem as problem:  # the key's own rate limit
            await self.send_json(_error(problem.code, problem.message))
            return
        if len(self.followers) >= MAX_IN_FLIGHT:
            message = f"At most {MAX_IN_FLIGHT} requests may be in flight on one socket; wait for a result."
            await self.send_json(_error("too_many_requests", message))
            return
        await self._submit(request)

    async def _submit(self, request: SocketRequestIn) -> None:
        try:
            await resolve_for(self.key.tenant_id, request.model)
        except ApiProblem as problem:
            await self.send_json(_error(problem.code, problem.message))
            return
        created = await database_sync_to_async(services.inference_request_create)(
            key=self.key,
            prompt=request.prompt,
            system=request.system,
            session_id=request.session_id,
            metadata=request.metadata,
            model=request.model,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
        )
        await self.send_json(
            {
                "type": "ack",
                "request_id": str(created.request_id),
                "session_id": created.session_id,
                "status": created.status,
            }
        )
        follower = asyncio.ensure_future(self._follow(created, stream=request.stream))
        self.followers.add(follower)
        follower.add_done_callback(self.followers.discard)

    async def _follow(self, request: InferenceRequest, *, stream: bool) -> None:
        request_id = str(request.request_id)
        try:
            async with fanout.following(request.tenant, request.pk) as topic:
                async for batch in fanout.batches(topic, 0):
                    for event in batch:
                        if event.kind == events.TOKEN and not stream:
                            continue
                        result = None
                        if event.kind == events.COMPLETE:
                            result = "".join(
                                str(e.data.get("data", "")) for e in topic.events if e.kind == events.TOKEN
                            )
                        message = event.message(request_id, result, session_id=request.session_id)
                        if message is not None:
                            await self.send_json(message)
        except Exception:
            logger.exception("inference socket: following request %s failed", request_id)
            failure = "Following the request failed; GET /api/v1/result/{id} has its result."
            await self.send_json(_error("internal_error", failure, request_id=request_id))

    async def release(self) -> None:
        await super().release()
        followers, self.followers = list(getattr(self, "followers", ())), set()
        for follower in followers:
            follower.cancel()
        for follower in followers:
            with contextlib.suppress(asyncio.CancelledError):
                await follower
