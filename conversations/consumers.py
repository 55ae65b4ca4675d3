"""A conversation page's socket: answers go up, frames come down.

The page connects with `?since=N`, the last frame it reflects. The socket joins the
conversation's group first, then sends the kept frames after N, then live frames, each at
most once and in order: a live frame that skips numbers (the channel layer drops messages
for a socket that falls behind) is preceded by the missing ones from the kept frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from conversations import selectors, streams, turns
from conversations.blueprints import SKIPPED
from conversations.models import Conversation
from conversations.turns import database_sync_to_async
from tenants import selectors as tenant_selectors
from tenants.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from tenants.models import Membership, Role, User

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_CLOSED = 4409
# The pub/sub channel layer sends a socket's SUBSCRIBE without waiting for Redis to confirm
# it: a frame published before it takes effect misses the socket, and when no frame follows
# (the last of a turn) nothing shows the gap. Once the subscription is surely in place, the
# socket looks at the kept frames once more.
RECHECK_SECONDS = 1.0


def _admit(user: User, slug: str, conversation_id: int) -> tuple[Membership | None, Conversation | None]:
    """The user's membership in the tenant, and the tenant's conversation: one database call
    (a thousand pages connecting at once queue their calls in one thread)."""
    membership = tenant_selectors.membership_for_slug(user=user, slug=slug)
    if membership is None or membership.tenant.is_suspended:
        return membership, None
    return membership, selectors.conversation_for_turn(membership.tenant_id, conversation_id)


class ConversationConsumer(AsyncWebsocketConsumer):
    membership: Membership
    conversation_id: int
    group: str
    sent: int = 0  # the number of the last frame this socket sent
    recheck: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user: object = self.scope.get("user")  # a lazy proxy: isinstance sees the real class
        if not isinstance(user, User):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        membership, conversation = await database_sync_to_async(_admit)(
            user, kwargs["tenant_slug"], int(kwargs["conversation_id"])
        )
        if membership is None or membership.tenant.is_suspended:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if conversation.is_complete:
            await self.close(code=CLOSE_CLOSED)
            return
        self.membership = membership
        self.conversation_id = conversation.pk
        self.group = streams.group_name(conversation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.sent = max(0, int(query.get("since", ["0"])[0]))
        except ValueError:
            self.sent = 0
        await self._catch_up()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck_later())
        if self.membership.can(Role.MEMBER):
            turns.start(turns.ensure_progress(membership.tenant_id, conversation.pk, user_id=user.pk))

    async def disconnect(self, code: int) -> None:
        if self.recheck is not None:
            self.recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.recheck
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _recheck_later(self) -> None:
        # Through the socket's own channel, so it is handled in turn with the live frames.
        await asyncio.sleep(RECHECK_SECONDS)
        await self.channel_layer.send(self.channel_name, {"type": "conversation.recheck"})

    async def conversation_recheck(self, event: dict[str, Any]) -> None:
        await self._catch_up()

    async def _catch_up(self) -> None:
        replay = await streams.replay(self.conversation_id, self.sent)
        if replay.incomplete:
            # What this page missed is no longer kept: only a reload makes it consistent.
            await self.send(text_data=render_to_string("conversations/frames/reload.html"))
            await self.close()
            return
        for frame in replay.frames:
            if frame.seq > self.sent:
                await self.send(text_data=frame.html)
                self.sent = frame.seq

    async def conversation_frame(self, event: dict[str, Any]) -> None:
        seq = int(event["seq"])
        if seq <= self.sent:
            return
        if seq > self.sent + 1:
            await self._catch_up()
            if seq <= self.sent:
                return
        await self.send(text_data=event["html"])
        self.sent = seq

    async def conversation_nudge(self, event: dict[str, Any]) -> None:
        if self.membership.can(Role.MEMBER):
            turns.start(turns.ensure_progress(self.membership.tenant_id, self.conversation_id))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.membership.can(Role.MEMBER):
            await self._flash("Your role can follow this conversation but not answer in it.")
            return
        try:
            payload = json.loads(text_data or "")
        except json.JSONDecodeError:
            await self._flash("That message could not be read.")
            return
        if not isinstance(payload, dict):
            await self._flash("That message could not be read.")
            return
        action = payload.get("action")
        user_id = self.membership.user_id
        tenant_id = self.membership.tenant_id
        if action == "text":
            text = payload.get("text")
            if not isinstance(text, str) or not text.strip():
                await self._flash("Write an answer first.")
                return
            if len(text) > turns.MAX_MESSAGE:
                await self._flash(
                    f"Answers are limited to {turns.MAX_MESSAGE} characters; this one has {len(text)}."
                )
                return
            turns.start(turns.answer(tenant_id, self.conversation_id, user_id=user_id, text=text))
        elif action == "answer":
            value = payload.get("value")
            if value is None:
                await self._flash("Choose an option first.")
                return
            if value == SKIPPED or isinstance(value, str | list | bool | int | float):
                turns.start(
                    turns.answer(
                        tenant_id,
                        self.conversation_id,
                        user_id=user_id,
                        value=value,
                        field=payload.get("field"),
                    )
                )
            else:
                await self._flash("That answer could not be read.")
        elif action == "retry":
            turns.start(turns.retry(tenant_id, self.conversation_id, user_id=user_id))
        else:
            await self._flash("Unknown action.")

    async def _flash(self, text: str) -> None:
        """A notice for this socket only, outside the numbered frames."""
        await self.send(text_data=render_to_string("conversations/frames/flash.html", {"text": text}))
