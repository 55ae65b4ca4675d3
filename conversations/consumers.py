"""A conversation page's socket: answers go up, frames come down (see frame_sockets)."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.template.loader import render_to_string

from conversations import selectors, streams
from conversations.blueprints.schema import SKIPPED
from conversations.interview import turn
from conversations.models import Conversation
from core.close_codes import CLOSE_CLOSED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from core.db import database_sync_to_async
from core.frame_sockets import FrameSocket
from tenants import selectors as tenant_selectors
from tenants.models import Membership, Role, User

logger = logging.getLogger(__name__)


def _admit(user: User, slug: str, conversation_id: int) -> tuple[Membership | None, Conversation | None]:
    """The user's membership in the tenant, and the tenant's conversation: one database call
    (a thousand pages connecting at once queue their calls in one thread)."""
    membership = tenant_selectors.membership_for_slug(user=user, slug=slug)
    if membership is None or membership.tenant.is_suspended:
        return membership, None
    return membership, selectors.conversation_for_turn(membership.tenant_id, conversation_id)


class ConversationConsumer(FrameSocket):
    stream = streams.CONVERSATIONS
    reload_template = "conversations/frames/reload.html"
    membership: Membership

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
        await self.follow(conversation.pk)
        if self.membership.can(Role.MEMBER):
            turn.start(turn.ensure_progress(membership.tenant_id, conversation.pk, user_id=user.pk))

    @property
    def conversation_id(self) -> int:
        return self.object_id

    async def conversation_frame(self, event: dict[str, Any]) -> None:
        await self.deliver(event)

    async def conversation_nudge(self, event: dict[str, Any]) -> None:
        if self.membership.can(Role.MEMBER):
            turn.start(turn.ensure_progress(self.membership.tenant_id, self.conversation_id))

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
            if len(text) > turn.MAX_MESSAGE:
                await self._flash(
                    f"Answers are limited to {turn.MAX_MESSAGE} characters; this one has {len(text)}."
                )
                return
            turn.start(turn.answer(tenant_id, self.conversation_id, user_id=user_id, text=text))
        elif action == "answer":
            value = payload.get("value")
            if value is None:
                await self._flash("Choose an option first.")
                return
            if value == SKIPPED or isinstance(value, str | list | bool | int | float):
                turn.start(
                    turn.answer(
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
            turn.start(turn.retry(tenant_id, self.conversation_id, user_id=user_id))
        else:
            await self._flash("Unknown action.")

    async def _flash(self, text: str) -> None:
        """A notice for this socket only, outside the numbered frames."""
        await self.send(text_data=render_to_string("conversations/frames/flash.html", {"text": text}))
