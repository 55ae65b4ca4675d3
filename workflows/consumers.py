"""A proposal page's socket: the job's numbered frames, replayed after a reconnect.

The page connects with `?since=N`, the last frame it reflects. The socket joins the
proposal's group first, then sends the kept frames after N, then live ones, each at most once
and in order: a live frame that skips numbers (the channel layer drops messages for a socket
that falls behind) is preceded by the missing ones from the kept frames. Nothing goes up:
accepting and rejecting are ordinary POSTs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from tenants import selectors as tenant_selectors
from tenants.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants.models import Membership, User
from workflows import proposal_selectors
from workflows.proposal_frames import PAGE, STREAM

CLOSE_NOT_FOUND = 4404


def _proposal_exists(membership: Membership, proposal_id: int) -> bool:
    return proposal_selectors.proposal_of_tenant(membership.tenant, proposal_id) is not None


class ProposalConsumer(AsyncWebsocketConsumer):
    proposal_id: int
    group: str
    sent: int = 0  # the number of the last frame this socket sent

    async def connect(self) -> None:
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        membership = await database_sync_to_async(tenant_selectors.membership_for_slug)(
            user=user, slug=kwargs["tenant_slug"]
        )
        if membership is None or membership.tenant.is_suspended:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        proposal_id = int(kwargs["proposal_id"])
        if not await database_sync_to_async(_proposal_exists)(membership, proposal_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.proposal_id = proposal_id
        self.group = STREAM.group_name(proposal_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.sent = max(0, int(query.get("since", ["0"])[0]))
        except ValueError:
            self.sent = 0
        await self._catch_up()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _catch_up(self) -> None:
        replay = await STREAM.replay(self.proposal_id, self.sent)
        if replay.incomplete:
            # What this page missed is no longer kept: only a reload makes it consistent.
            await self.send(text_data=render_to_string(f"{PAGE}#reload-frame"))
            await self.close()
            return
        for frame in replay.frames:
            if frame.seq > self.sent:
                await self.send(text_data=frame.html)
                self.sent = frame.seq

    async def proposal_frame(self, event: dict[str, Any]) -> None:
        seq = int(event["seq"])
        if seq <= self.sent:
            return
        if seq > self.sent + 1:
            await self._catch_up()
            if seq <= self.sent:
                return
        await self.send(text_data=event["html"])
        self.sent = seq

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends nothing; whatever arrives is ignored."""
