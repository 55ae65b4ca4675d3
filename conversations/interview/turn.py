"""One turn of an interview: take an answer, pick the next question, ask it while streaming.

Turns run in the web process's event loop, detached from the socket that asked for them:
a reload or a closed tab does not stop a turn, and every page of the conversation follows
it through the frames it publishes (conversations.streams). One turn per conversation at a
time, across processes, through a lock in Redis (interview.lock). The model is used to
understand free text (interview.understanding) and to phrase questions (interview.asking);
when it fails or answers out of bounds, the blueprint's own question and options are used
instead, so the interview never dead-ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from django.db import transaction

from conversations import selectors, services
from conversations.blueprints.schema import BlueprintField
from conversations.interview import asking, frames
from conversations.interview.asking import Upcoming
from conversations.interview.lock import turn_lock, turn_running
from conversations.interview.understanding import Understood, understand, understand_chip
from conversations.models import Conversation, Message
from core.db import database_sync_to_async
from core.redis import UNAVAILABLE

logger = logging.getLogger(__name__)

# An answer sent while the previous turn is wrapping up (its last frames are out, the lock
# not yet released) waits for it rather than being refused.
ANSWER_WAIT_SECONDS = 3.0
MAX_MESSAGE = 4000

_running: set[asyncio.Task[None]] = set()


class AnswerUnavailable(Exception):
    """Redis (the turn lock, the frames) went out of reach while an answer was being taken:
    `stored` says whether the answer was saved first. The sender is told either way."""

    def __init__(self, *, stored: bool) -> None:
        self.stored = stored
        super().__init__(self.notice)

    @property
    def notice(self) -> str:
        if self.stored:
            return (
                "Your answer was saved, but live updates are unavailable right now: "
                "reload the page in a moment."
            )
        return "Live updates are unavailable right now, so your answer was not sent. Try again in a moment."


def start(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a turn detached from the caller (a socket may close; the turn goes on)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("conversation turn failed", exc_info=task.exception())


async def answer(
    tenant_id: int,
    conversation_id: int,
    *,
    user_id: int,
    text: str | None = None,
    value: Any = None,
    field: str | None = None,
) -> None:
    """A user's answer to the current question: a chip's value (for `field`), or free text.
    AnswerUnavailable when Redis is out of reach, saying whether the answer was stored."""
    stored = False
    try:
        async with turn_lock(conversation_id, wait=ANSWER_WAIT_SECONDS) as held:
            if not held:
                await frames.publish_flash(
                    conversation_id, "The assistant is still answering; send your answer when it is done."
                )
                return
            if text is None:
                # A chip: read, checked, stored and the next question added in one database call.
                chip = await database_sync_to_async(_chip_add)(tenant_id, conversation_id, field, value)
                if chip is None:
                    return
                stored = True
                conversation, user_message, understood, asked, upcoming = chip
                await frames.publish(
                    conversation,
                    "conversations/frames/message_added.html",
                    {"message": user_message, "busy": True},
                )
                await _unusable(conversation, asked, understood)
                await asking.ask(conversation, user_id=user_id, upcoming=upcoming)
                return
            found, question = await database_sync_to_async(_conversation_and_question)(
                tenant_id, conversation_id
            )
            if found is None or found.is_complete:
                return
            conversation = found
            blueprint = conversation.schema()
            asked = blueprint.field(question.field_key) if question else None
            offered = list(question.options) if question else []
            user_message = await database_sync_to_async(services.message_add)(
                conversation=conversation,
                role=Message.Role.USER,
                text=text,
                field_key=asked.key if asked else "",
            )
            stored = True
            # Acknowledged at once: reading a typed answer may take a model a few seconds.
            await frames.publish(
                conversation,
                "conversations/frames/message_added.html",
                {"message": user_message, "busy": "reading"},
            )
            # The next question's wording starts while the answer is read, when the answer
            # cannot change which question that is; shown only once it is confirmed.
            early = asking.prefetch(conversation, asked, user_id)
            try:
                understood = await understand(conversation, asked, offered, text, user_id)
                if understood.values:
                    conversation = await database_sync_to_async(_answers_store)(
                        conversation, user_message, understood.values
                    )
                await _unusable(conversation, asked, understood)
            except BaseException:
                if early is not None:
                    await asyncio.shield(early.cancel())
                raise
            await asking.ask(conversation, user_id=user_id, early=early)
    except UNAVAILABLE as error:
        raise AnswerUnavailable(stored=stored) from error


async def _unusable(conversation: Conversation, asked: BlueprintField | None, understood: Understood) -> None:
    """Tell the user why their answer could not fill the asked field, if it could not."""
    if understood.problem and asked is not None:
        await _notice_message(
            conversation, f"I could not use that for “{asked.label}”: {understood.problem}."
        )


def _chip_add(
    tenant_id: int, conversation_id: int, field: str | None, value: Any
) -> tuple[Conversation, Message, Understood, BlueprintField | None, Upcoming | None] | None:
    """A chip's answer to the open question: checked against the options it offered,
    stored with its message, and the next question added (None: the conversation is gone
    or complete)."""
    conversation, question = _conversation_and_question(tenant_id, conversation_id)
    if conversation is None or conversation.is_complete:
        return None
    asked = conversation.schema().field(question.field_key) if question else None
    offered = list(question.options) if question else []
    understood = understand_chip(asked, offered, field, value)
    conversation, message = _answer_add(
        conversation, asking.answer_text(value), asked.key if asked else "", understood.values
    )
    upcoming = None if understood.problem else asking.question_add(conversation)
    return conversation, message, understood, asked, upcoming


def _conversation_and_question(
    tenant_id: int, conversation_id: int
) -> tuple[Conversation | None, Message | None]:
    conversation = selectors.conversation_for_turn(tenant_id, conversation_id)
    if conversation is None:
        return None, None
    return conversation, selectors.current_question(conversation)


def _answers_store(conversation: Conversation, message: Message, values: dict[str, Any]) -> Conversation:
    """Apply the values a message gave and note them on it."""
    conversation = services.answers_apply(conversation=conversation, values=values)
    message.values = values
    message.save(update_fields=["values"])
    return conversation


@transaction.atomic
def _answer_add(
    conversation: Conversation, shown: str, field_key: str, values: dict[str, Any]
) -> tuple[Conversation, Message]:
    """The user's message with the values it gave, and those applied (which moves the
    conversation's last activity)."""
    message = services.message_add(
        conversation=conversation,
        role=Message.Role.USER,
        text=shown,
        field_key=field_key,
        values=values,
        touch=not values,
    )
    if values:
        conversation = services.answers_apply(conversation=conversation, values=values)
    return conversation, message


async def ensure_progress(tenant_id: int, conversation_id: int, *, user_id: int | None = None) -> None:
    """Make sure the conversation has its next question: ask it if none is open (a new
    conversation, an edited answer) or if the turn asking it was interrupted."""
    if await turn_running(conversation_id):
        return
    async with turn_lock(conversation_id) as held:
        if not held:
            return
        conversation, question = await database_sync_to_async(_conversation_and_question)(
            tenant_id, conversation_id
        )
        if conversation is None:
            return
        if question is not None and question.state == Message.State.STREAMING:
            await _fail_interrupted(conversation, question)
            return
        if conversation.is_complete:
            return
        if question is not None and question.state == Message.State.FAILED:
            return  # its retry button is the user's to press
        upcoming = conversation.schema().next_field(conversation.answers)
        if question is None or upcoming is None or question.field_key != upcoming.key:
            await asking.ask(conversation, user_id=user_id)
        elif await database_sync_to_async(selectors.question_outdated)(conversation, question):
            await asking.ask(conversation, user_id=user_id)  # asked again in the light of the edit


async def recover_interrupted(tenant_id: int, conversation_id: int) -> None:
    """Show a question whose turn died mid-stream as failed, with its retry button: what any
    page following the conversation does once the turn's lock has expired (the process that
    ran the turn stopped renewing it). Calls no model, so a viewer's page does it too."""
    if await turn_running(conversation_id):
        return
    # Read first, without the lock: a page looks after every turn, and the lock taken for
    # nothing would make a concurrent ensure_progress give up.
    _conversation, question = await database_sync_to_async(_conversation_and_question)(
        tenant_id, conversation_id
    )
    if question is None or question.state != Message.State.STREAMING:
        return
    async with turn_lock(conversation_id) as held:
        if not held:
            return
        conversation, question = await database_sync_to_async(_conversation_and_question)(
            tenant_id, conversation_id
        )
        if conversation is not None and question is not None and question.state == Message.State.STREAMING:
            await _fail_interrupted(conversation, question)


async def _fail_interrupted(conversation: Conversation, question: Message) -> None:
    """A question left streaming with no turn running (the lock is held by the caller): the
    process that ran its turn stopped mid-stream."""
    question.state, question.error = Message.State.FAILED, "interrupted"
    seq = await frames.publish(
        conversation, "conversations/frames/message_replaced.html", {"message": question}
    )
    await database_sync_to_async(services.question_failed)(
        message=question, text=question.text, error="interrupted", seq=seq
    )
    await frames.publish_state(conversation)


async def retry(tenant_id: int, conversation_id: int, *, user_id: int | None) -> None:
    """Ask a question whose stream failed again, in its place."""
    async with turn_lock(conversation_id) as held:
        if not held:
            return
        conversation = await database_sync_to_async(selectors.conversation_for_turn)(
            tenant_id, conversation_id
        )
        if conversation is None or conversation.is_complete:
            return
        failed = await database_sync_to_async(selectors.failed_question)(conversation)
        if failed is None:
            return
        message = await database_sync_to_async(services.question_restart)(message=failed)
        field = conversation.schema().field(message.field_key)
        if field is not None:
            await asking.phrase(conversation, message, field, user_id=user_id)


async def _notice_message(conversation: Conversation, text: str) -> None:
    """A notice kept among the conversation's messages."""
    notice = await database_sync_to_async(services.message_add)(
        conversation=conversation, role=Message.Role.NOTICE, text=text
    )
    await frames.publish(conversation, "conversations/frames/message_added.html", {"message": notice})
