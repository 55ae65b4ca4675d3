"""A conversation page's socket: answers go up, frames come down (see core.frame_sockets).

Access is a tenant socket's (tenants.sockets), as the page's: every member may follow the
interview, members and above may answer in it. Each message is read safely (size, depth,
encoding: core.socket_messages) and checked as its action's model before anything is done;
what is refused is said to this socket alone, in the page's notice area.

The socket also watches the conversation's turn: while one may be running it looks, at the
lock's heartbeat, whether the turn's lock is still held; gone with a question still
streaming means the process that ran the turn died, and the question is shown as failed with
its retry button (turn.recover_interrupted), on every page following the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from typing import Any, Literal

from django.template.loader import render_to_string
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from conversations import selectors, streams
from conversations.interview import lock, turn
from conversations.interview.asking import answer_text
from conversations.models import Conversation, Message
from core.close_codes import CLOSE_CLOSED, CLOSE_NOT_FOUND
from core.frame_sockets import FrameSocket
from core.redis import UNAVAILABLE
from core.socket_messages import MessageRefused, read_action, read_object
from tenants.models import Membership, Role
from tenants.sockets import TenantSocket

logger = logging.getLogger(__name__)

FOLLOW_ONLY = "Your role can follow this conversation but not answer in it."


class _Action(BaseModel):
    model_config = ConfigDict(extra="ignore")  # htmx adds the form's HEADERS


class TextAction(_Action):
    """A free-text answer (the composer's box)."""

    action: Literal["text"]
    text: StrictStr


class ChipAction(_Action):
    """A chip, the chosen options of a multi-select, or Skip."""

    action: Literal["answer"]
    field: StrictStr | None = Field(default=None, max_length=100)
    value: StrictStr | list[StrictStr] | StrictBool | StrictInt | StrictFloat | None = Field(
        default=None, union_mode="left_to_right"
    )


class RetryAction(_Action):
    """Ask a question whose stream failed again."""

    action: Literal["retry"]


def read_message(text_data: str | None) -> TextAction | ChipAction | RetryAction:
    """The action a page sent, checked, or MessageRefused saying what is wrong with it."""
    payload = read_object(text_data)
    name = payload.get("action")
    if name == "text":
        text = read_action(payload, TextAction)
        if not text.text.strip():
            raise MessageRefused("Write an answer first.")
        _within_limit(text.text)
        return text
    if name == "answer":
        chip = read_action(payload, ChipAction)
        if chip.value is None:
            raise MessageRefused("Choose an option first.")
        _within_limit(answer_text(chip.value))
        return chip
    if name == "retry":
        return read_action(payload, RetryAction)
    raise MessageRefused("Unknown action.")


def _within_limit(text: str) -> None:
    if len(text) > turn.MAX_MESSAGE:
        raise MessageRefused(
            f"Answers are limited to {turn.MAX_MESSAGE} characters; this one has {len(text)}."
        )


def _conversation(membership: Membership, conversation_id: int) -> tuple[Conversation | None, bool]:
    """The tenant's conversation, and whether its latest question is streaming."""
    conversation = selectors.conversation_for_turn(membership.tenant_id, conversation_id)
    if conversation is None or conversation.is_complete:
        return conversation, False
    question = selectors.current_question(conversation)
    return conversation, question is not None and question.state == Message.State.STREAMING


class ConversationConsumer(TenantSocket, FrameSocket):
    stream = streams.CONVERSATIONS
    reload_template = "conversations/frames/reload.html"
    # Whether a turn may be running: set by every frame, cleared once its lock is gone.
    turn_may_run = False
    turn_watch: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        admitted = await self.admit_with(functools.partial(_conversation, conversation_id=conversation_id))
        if admitted is None:
            return
        membership, (conversation, streaming) = admitted
        if conversation is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        if conversation.is_complete:
            await self.refuse(CLOSE_CLOSED)
            return
        await self.follow(conversation.pk)
        if self.closing:
            return
        self.turn_may_run = streaming
        self.turn_watch = asyncio.get_running_loop().create_task(self._watch_turn())
        if membership.can(Role.MEMBER):
            turn.start(
                turn.ensure_progress(membership.tenant_id, conversation.pk, user_id=membership.user_id)
            )

    @property
    def conversation_id(self) -> int:
        return self.object_id

    def access_ended_html(self) -> str | None:
        return self.reload_html()

    async def role_changed(self, previous: Membership) -> None:
        if previous.can(Role.MEMBER) != self.membership.can(Role.MEMBER):
            await self.reload_page()  # the page shows or hides the composer

    async def release(self) -> None:
        watch, self.turn_watch = self.turn_watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await super().release()

    async def conversation_frame(self, event: dict[str, Any]) -> None:
        self.turn_may_run = True
        await self.deliver(event)

    async def conversation_nudge(self, event: dict[str, Any]) -> None:
        if await self.recheck_access() and self.membership.can(Role.MEMBER):
            turn.start(turn.ensure_progress(self.membership.tenant_id, self.conversation_id))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The membership was read again just before (TenantSocket.websocket_receive).
        if not self.membership.can(Role.MEMBER):
            await self._flash(FOLLOW_ONLY)
            return
        try:
            action = read_message(text_data)
        except MessageRefused as refused:
            await self._flash(str(refused))
            return
        tenant_id, user_id = self.membership.tenant_id, self.membership.user_id
        if isinstance(action, TextAction):
            self._run(turn.answer(tenant_id, self.conversation_id, user_id=user_id, text=action.text))
        elif isinstance(action, ChipAction):
            self._run(
                turn.answer(
                    tenant_id, self.conversation_id, user_id=user_id, value=action.value, field=action.field
                )
            )
        else:
            self._run(turn.retry(tenant_id, self.conversation_id, user_id=user_id))

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        turn.start(self._telling_the_sender(coroutine))

    async def _telling_the_sender(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run a turn the sender asked for; Redis out of reach is said to them straight down
        this socket (no frame can be published): whether their answer was kept or not."""
        try:
            await coroutine
        except turn.AnswerUnavailable as unavailable:
            logger.warning("conversation %s: an answer met Redis out of reach", self.conversation_id)
            await self._flash(unavailable.notice)
        except UNAVAILABLE:
            logger.warning("conversation %s: a turn met Redis out of reach", self.conversation_id)
            await self._flash("Live updates are unavailable right now; try again in a moment.")

    async def _watch_turn(self) -> None:
        while True:
            await asyncio.sleep(lock.heartbeat_seconds())
            if not self.turn_may_run:
                continue
            self.turn_may_run = False  # a frame from now on sets it again
            try:
                if await lock.turn_running(self.conversation_id):
                    self.turn_may_run = True
                    continue
                await turn.recover_interrupted(self.membership.tenant_id, self.conversation_id)
            except UNAVAILABLE:
                self.turn_may_run = True  # the next look tries again
            except Exception:
                logger.exception("conversation %s: looking after its turn failed", self.conversation_id)

    async def _flash(self, text: str) -> None:
        """A notice for this socket only, outside the numbered frames."""
        await self.send(text_data=render_to_string("conversations/frames/flash.html", {"text": text}))
