"""The JSON event socket of a generation (seed 002): WS /api/v1/generate/<id>/ws.

A program connects with its API key in the handshake (`Authorization: Bearer`,
`x-api-key`, or `?api_key=` for clients that cannot set headers, such as a browser's
WebSocket). A key that is missing, wrong, revoked or expired closes the handshake with 4401;
one without the `generations` scope, or a suspended tenant's, with 4403; another tenant's
generation, or none, with 4404. The key is read again every few seconds, so a revoked key's
socket closes within that time.

The socket sends the generation's events as JSON (api.generation.events) from the database,
where codegen keeps them numbered: `?after=<id>` resumes after the last one a client saw,
with nothing missed or repeated, however long it was away. It joins the group the portal's
frames go to (codegen.frames) only to be woken when a new event is in; it looks again every
few seconds in case a wake-up was lost. Once the generation has ended and its ending event
(`completed`, `failed`, `cancelled`) is sent, the socket closes (1000). It takes no messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from api.authentication import ApiKeyRefused, identify
from api.generation.events import ENDINGS, event_message
from api.models import ApiKey, Scope
from codegen import selectors
from codegen.frames import STREAM
from core.close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.db import database_sync_to_async
from core.redis import UNAVAILABLE
from core.sockets import Socket

# The first look after connecting comes soon (the group's subscription may not have been in
# place for an event published meanwhile); later ones also re-read the key.
FIRST_RECHECK_SECONDS = 1.0
RECHECK_SECONDS = 5.0
BATCH = 500
CLOSE_NORMAL = 1000
KEY_HEADERS = (b"authorization", b"x-api-key")


class HandshakeRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def presented_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The handshake's key headers, with `?api_key=` as `x-api-key` when no header sends one.

    A key header sent twice, or a query key that differs from the header's, is refused: which
    one would act is a guess.
    """
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        lowered = bytes(name).lower()
        if lowered in KEY_HEADERS:
            text = lowered.decode()
            if text in headers:
                raise HandshakeRefused(CLOSE_UNAUTHENTICATED)
            headers[text] = bytes(value).decode("latin1")
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin1"))
    from_query = query.get("api_key", [""])[0].strip()
    if from_query:
        if headers.get("x-api-key", from_query).strip() != from_query:
            raise HandshakeRefused(CLOSE_UNAUTHENTICATED)
        headers["x-api-key"] = from_query
    return headers


def _after(scope: Mapping[str, Any]) -> int:
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin1"))
    try:
        return max(0, int(query.get("after", ["0"])[0]))
    except ValueError:
        return 0


def _address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def admitted_key(headers: Mapping[str, str], address: str) -> ApiKey:
    """The active key with the generations scope the handshake presents; HandshakeRefused."""
    try:
        key = identify(headers, address=address)
    except ApiKeyRefused as refused:
        raise HandshakeRefused(CLOSE_UNAUTHENTICATED if refused.status == 401 else CLOSE_FORBIDDEN) from None
    if not key.allows(Scope.GENERATIONS):
        raise HandshakeRefused(CLOSE_FORBIDDEN)
    return key


def _admit(headers: Mapping[str, str], address: str, generation_id: int) -> ApiKey | int:
    """The key if it may follow the generation, else the close code."""
    try:
        key = admitted_key(headers, address)
    except HandshakeRefused as refused:
        return refused.code
    if selectors.generation_of_tenant(key.tenant, generation_id) is None:
        return CLOSE_NOT_FOUND
    return key


def _key_still_admitted(headers: Mapping[str, str], address: str) -> int | None:
    """None while the key may still act; the close code once it may not."""
    try:
        admitted_key(headers, address)
    except HandshakeRefused as refused:
        return refused.code
    return None


@dataclass
class Batch:
    messages: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False  # a full batch: more events are waiting
    ended: bool = False  # the generation has ended, its ending event among what was read
    gone: bool = False  # the generation no longer exists


def _events_after(key: ApiKey, generation_id: int, after: int) -> Batch:
    # The generation is read before its events: its state is set before its ending event
    # is written, so an ended state read here means the ending event is read too, or comes.
    generation = selectors.generation_of_tenant(key.tenant, generation_id)
    if generation is None:
        return Batch(gone=True)
    events = list(selectors.events_of(generation, after=after).order_by("pk")[:BATCH])
    if len(events) == BATCH:
        return Batch([event_message(event) for event in events], more=True)
    latest = events[-1] if events else selectors.events_of(generation).order_by("-pk").first()
    ended = not generation.is_active and latest is not None and latest.kind in ENDINGS
    return Batch([event_message(event) for event in events], ended=ended)


class GenerationEventsSocket(Socket):
    """One client following one generation's events."""

    generation_id: int
    key: ApiKey
    headers: dict[str, str]
    address: str
    sent: int = 0  # the id of the last event sent
    group: str | None = None
    recheck: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.generation_id = int(self.scope["url_route"]["kwargs"]["generation_id"])
        self.address = _address(self.scope)
        try:
            self.headers = presented_headers(self.scope)
        except HandshakeRefused as refused:
            await self.refuse(refused.code)
            return
        admitted = await database_sync_to_async(_admit)(self.headers, self.address, self.generation_id)
        if isinstance(admitted, int):
            await self.refuse(admitted)
            return
        self.key = admitted
        self.sent = _after(self.scope)
        # Joined before the first read: an event written after it wakes this socket.
        self.group = STREAM.group_name(self.generation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.catch_up()
        if not self.closing:
            self.recheck = asyncio.get_running_loop().create_task(self._recheck_later())

    async def catch_up(self) -> None:
        """Send every event after the last one sent; close once the generation has ended."""
        while not self.closing:
            batch = await database_sync_to_async(_events_after)(self.key, self.generation_id, self.sent)
            if batch.gone:
                await self.refuse(CLOSE_NOT_FOUND)
                return
            for message in batch.messages:
                await self.send(text_data=json.dumps(message, ensure_ascii=False))
                self.sent = int(message["id"])
            if batch.ended:
                await self.refuse(CLOSE_NORMAL)
                return
            if not batch.more:
                return

    async def _recheck_later(self) -> None:
        # Through the socket's own channel, so a look is taken in turn with the wake-ups.
        delay = FIRST_RECHECK_SECONDS
        while True:
            await asyncio.sleep(delay)
            delay = RECHECK_SECONDS
            try:
                await self.channel_layer.send(self.channel_name, {"type": "events.recheck"})
            except UNAVAILABLE:
                continue  # no event can wake it either; the next look tries again

    async def events_recheck(self, message: dict[str, Any]) -> None:
        code = await database_sync_to_async(_key_still_admitted)(self.headers, self.address)
        if code is not None:
            await self.refuse(code)
            return
        await self.catch_up()

    async def generation_frame(self, message: dict[str, Any]) -> None:
        """A portal frame of this generation: a new event is in (the frame itself is HTML
        for the portal's pages, and is not sent)."""
        await self.catch_up()

    async def release(self) -> None:
        await super().release()
        recheck, self.recheck = self.recheck, None
        if recheck is not None and recheck is not asyncio.current_task():
            recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recheck
        group, self.group = self.group, None
        if group is not None:
            await self.leave_group(group)
