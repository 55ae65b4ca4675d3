"""One turn of an interview: take an answer, pick the next question, ask it while streaming.

Turns run in the web process's event loop, detached from the socket that asked for them:
a reload or a closed tab does not stop a turn, and every page of the conversation follows
it through the frames it publishes (conversations.streams). One turn per conversation at a
time, across processes, through a lock in Redis. The model is used to understand free text
and to phrase questions; when it fails or answers out of bounds, the blueprint's own
question and options are used instead, so the interview never dead-ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string

from conversations import selectors, services, streams
from conversations.blueprints.schema import (
    SKIPPED,
    Blueprint,
    BlueprintField,
    FieldType,
    InvalidAnswer,
    normalize_options,
)
from conversations.interview import prompts
from conversations.models import Conversation, Message
from core.db import database_sync_to_async
from core.redis import LuaScript, async_redis
from providers import gateway
from providers.errors import ProviderError
from providers.interface import GatewayRequest, StartEvent, Task
from providers.stream_reply import read_stream

logger = logging.getLogger(__name__)

# At most this many frames a second per stream: deltas are coalesced in between.
FRAME_INTERVAL = 0.05
LOCK_SECONDS = 30.0
LOCK_POLL_SECONDS = 0.05
# An answer sent while the previous turn is wrapping up (its last frames are out, the lock
# not yet released) waits for it rather than being refused.
ANSWER_WAIT_SECONDS = 3.0
MAX_MESSAGE = 4000

_running: set[asyncio.Task[None]] = set()


def start(coroutine: Any) -> None:
    """Run a turn detached from the caller (a socket may close; the turn goes on)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("conversation turn failed", exc_info=task.exception())


# --- The per-conversation lock -------------------------------------------------------------

RELEASE = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
EXTEND = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
""")


def lock_key(conversation_id: int) -> str:
    return f"{streams.PREFIX}{conversation_id}:turn"


@contextlib.asynccontextmanager
async def turn_lock(conversation_id: int, *, wait: float = 0.0) -> AsyncIterator[bool]:
    """Hold the conversation's turn (True), or learn that another process holds it (False)
    after waiting up to `wait` seconds for it to finish."""
    token = uuid.uuid4().hex
    key = lock_key(conversation_id)
    redis = async_redis()
    deadline = time.monotonic() + wait
    while not await redis.set(key, token, nx=True, ex=int(LOCK_SECONDS)):
        if time.monotonic() >= deadline:
            yield False
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)

    async def keep() -> None:
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await EXTEND.run([key], [token, int(LOCK_SECONDS)])

    keeper = asyncio.get_running_loop().create_task(keep())
    try:
        yield True
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await RELEASE.run([key], [token])


async def turn_running(conversation_id: int) -> bool:
    return bool(await async_redis().exists(lock_key(conversation_id)))


# --- Frames ---------------------------------------------------------------------------------


async def _frame(conversation: Conversation, template: str, context: dict[str, Any]) -> int:
    html = render_to_string(template, {"conversation": conversation, **context})
    return (await streams.publish(conversation.pk, html)).seq


async def _refresh(conversation: Conversation, **extra: Any) -> int:
    """Publish the answers panel, progress and composer as the database has them now."""
    context = await database_sync_to_async(selectors.page_state)(conversation)
    return (await streams.publish(conversation.pk, _state_html(context, **extra))).seq


class Coalescer:
    """Collects streamed text and publishes it at most every FRAME_INTERVAL, as deltas.

    One frame of a stream is on its way at a time: tokens that come while it is being
    published go into the next one. Under load frames then carry more tokens instead of
    queueing up, and they are published in the order of their numbers (a frame overtaking
    the one before it would make every page fetch the gap from the kept frames).
    """

    def __init__(self, conversation: Conversation, message: Message) -> None:
        self.conversation = conversation
        self.message = message
        self.pending: list[str] = []
        self.sent: list[str] = []
        self.last = 0.0
        self.flusher: asyncio.Task[None] | None = None
        self.publishing = False

    def add(self, text: str) -> None:
        self.pending.append(text)
        if self.flusher is None:
            self._schedule()

    def _schedule(self) -> None:
        delay = max(0.0, self.last + FRAME_INTERVAL - time.monotonic())
        self.flusher = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.publishing = True
        try:
            await self.flush()
        except Exception:
            # The text is not lost: the message's final frame carries all of it.
            logger.exception("a frame of conversation %s could not be published", self.conversation.pk)
        finally:
            self.publishing = False
            self.flusher = None
        if self.pending:
            self._schedule()

    async def flush(self) -> None:
        if not self.pending:
            return
        delta = "".join(self.pending)
        self.pending.clear()
        self.sent.append(delta)
        self.last = time.monotonic()
        await _frame(
            self.conversation, "conversations/frames/tokens.html", {"message": self.message, "delta": delta}
        )

    async def close(self) -> str:
        """Publish what is pending, after the frame on its way; the whole text so far."""
        while self.flusher is not None:
            flusher = self.flusher
            if self.publishing:
                await asyncio.shield(flusher)
                continue
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            self.flusher = None
        await self.flush()
        return "".join(self.sent)


# --- Understanding an answer -------------------------------------------------------------------


@dataclass
class Understood:
    values: dict[str, Any]
    problem: str = ""  # why the asked field could not be filled, for the user


def _request(
    conversation: Conversation, user_id: int | None, system: str, messages: Any, **extra: Any
) -> GatewayRequest:
    return GatewayRequest(
        task=Task.CONVERSATION,
        messages=messages,
        system=system,
        tenant_id=conversation.tenant_id,
        user_id=user_id,
        links={"conversation": str(conversation.pk)},
        **extra,
    )


async def understand(
    conversation: Conversation,
    asked: BlueprintField | None,
    offered: list[str],
    text: str,
    user_id: int | None,
) -> Understood:
    """Field values a free-text message gives: the model's reading, validated, and the asked
    field read directly when the model gave nothing usable for it."""
    blueprint = conversation.schema()
    answers = dict(conversation.answers)
    values: dict[str, Any] = {}
    system, messages = prompts.extraction(blueprint, asked, text)
    try:
        completion = await gateway.complete(
            _request(
                conversation, user_id, system, messages,
                json_schema=blueprint.extraction_schema(), json_schema_name="requirements", max_tokens=600,
            )
        )  # fmt: skip
        extracted = prompts.parse_extraction(completion.text)
    except ProviderError as error:
        logger.info("extraction unavailable for conversation %s: %s", conversation.pk, error.code)
        extracted = {}
    for key, raw in extracted.items():
        field = blueprint.field(key) if isinstance(key, str) else None
        # Not taken from the model's reading: keys outside the schema, fields already
        # answered (answers change through the panel), fields that do not apply, and free
        # text, which is the user's own words or nothing.
        if field is None or key in answers or field.type is FieldType.FREE_TEXT:
            continue
        if not field.applies({**answers, **values}):
            continue
        try:
            values[key] = field.accepts(raw, offered if field is asked else None)
        except InvalidAnswer:
            continue
    problem = ""
    if asked is not None and asked.key not in values:
        try:
            values[asked.key] = asked.accepts(text, offered)
        except InvalidAnswer as error:
            problem = str(error)
    return Understood(values=values, problem=problem)


# --- Turns ---------------------------------------------------------------------------------------


async def answer(
    tenant_id: int,
    conversation_id: int,
    *,
    user_id: int,
    text: str | None = None,
    value: Any = None,
    field: str | None = None,
) -> None:
    """A user's answer to the current question: a chip's value (for `field`), or free text."""
    async with turn_lock(conversation_id, wait=ANSWER_WAIT_SECONDS) as held:
        if not held:
            await _notice(
                conversation_id, "The assistant is still answering; send your answer when it is done."
            )
            return
        if text is None:
            # A chip: read, checked, stored and the next question added in one database call.
            chip = await database_sync_to_async(_chip_add)(tenant_id, conversation_id, field, value)
            if chip is None:
                return
            conversation, user_message, understood, asked, upcoming = chip
            await _frame(
                conversation,
                "conversations/frames/message_added.html",
                {"message": user_message, "busy": True},
            )
            await _unusable(conversation, asked, understood)
            await _ask(conversation, user_id=user_id, upcoming=upcoming)
            return
        found, question = await database_sync_to_async(_conversation_and_question)(tenant_id, conversation_id)
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
        await _frame(
            conversation,
            "conversations/frames/message_added.html",
            {"message": user_message, "busy": True},
        )
        understood = await understand(conversation, asked, offered, text, user_id)
        if understood.values:
            conversation = await database_sync_to_async(_answers_store)(
                conversation, user_message, understood.values
            )
        await _unusable(conversation, asked, understood)
        await _ask(conversation, user_id=user_id)


async def _unusable(conversation: Conversation, asked: BlueprintField | None, understood: Understood) -> None:
    """Tell the user why their answer could not fill the asked field, if it could not."""
    if understood.problem and asked is not None:
        await _notice_message(
            conversation, f"I could not use that for “{asked.label}”: {understood.problem}."
        )


@dataclass
class Upcoming:
    """The next question, added with the page's state in the call that stored the answer."""

    field: BlueprintField
    state: dict[str, Any]
    message: Message


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
    if asked is None:
        understood = Understood({}, "there is no open question to answer")
    elif field != asked.key:
        understood = Understood({}, "that question is not the open one")
    else:
        try:
            understood = Understood({asked.key: asked.accepts(value, offered)})
        except InvalidAnswer as error:
            understood = Understood({}, str(error))
    conversation, message = _answer_add(
        conversation, _shown(value), asked.key if asked else "", understood.values
    )
    upcoming = None if understood.problem else _question_add(conversation)
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


def _state_html(context: dict[str, Any], **extra: Any) -> str:
    return render_to_string("conversations/frames/state.html", {**context, **extra})


def _shown(value: Any) -> str:
    if value == SKIPPED:
        return "Skip"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


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
        interrupted = question if question is not None and question.state == Message.State.STREAMING else None
        if interrupted is not None:
            # Its turn is gone (no lock): the process that ran it stopped mid-stream.
            interrupted.state, interrupted.error = Message.State.FAILED, "interrupted"
            seq = await _frame(
                conversation, "conversations/frames/message_replaced.html", {"message": interrupted}
            )
            await database_sync_to_async(services.question_failed)(
                message=interrupted, text=interrupted.text, error="interrupted", seq=seq
            )
            await _refresh(conversation)
            return
        if conversation.is_complete:
            return
        if question is not None and question.state == Message.State.FAILED:
            return  # its retry button is the user's to press
        upcoming = conversation.schema().next_field(conversation.answers)
        if question is None or upcoming is None or question.field_key != upcoming.key:
            await _ask(conversation, user_id=user_id)


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
            await _phrase(conversation, message, field, user_id=user_id)


async def _ask(conversation: Conversation, *, user_id: int | None, upcoming: Upcoming | None = None) -> None:
    """Ask the next open field (`upcoming`, when the caller's database call added it), or
    wrap up when every field that applies is answered."""
    blueprint = conversation.schema()
    if upcoming is None:
        upcoming = await database_sync_to_async(_question_add)(conversation)
    if upcoming is None:
        summary = await database_sync_to_async(services.message_add)(
            conversation=conversation,
            role=Message.Role.NOTICE,
            text=_summary(blueprint, conversation.answers),
        )
        await _frame(conversation, "conversations/frames/message_added.html", {"message": summary})
        await _refresh(conversation)
        return
    await streams.publish(conversation.pk, _state_html(upcoming.state, busy=True))
    await _phrase(conversation, upcoming.message, upcoming.field, user_id=user_id)


def _question_add(conversation: Conversation) -> Upcoming | None:
    """The next open field's question (streaming) with the page's state, or None when every
    field that applies is answered. `conversation` is as this turn read or wrote it, with
    the tenant the turn's socket or lock belongs to."""
    field = conversation.schema().next_field(conversation.answers)
    if field is None:
        return None
    message = services.message_add(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        field_key=field.key,
        state=Message.State.STREAMING,
    )
    return Upcoming(field, selectors.page_state_with(conversation, message), message)


def _question_finish(conversation: Conversation, message: Message, **finished: Any) -> dict[str, Any]:
    """Store a question's final form; the page's state with it (the answers read again: a
    member may have edited one while it streamed)."""
    services.question_finished(message=message, **finished)
    fresh = selectors.conversation_for_turn(conversation.tenant_id, conversation.pk)
    return selectors.page_state_with(fresh or conversation, message)


async def _phrase(
    conversation: Conversation, message: Message, field: BlueprintField, *, user_id: int | None
) -> None:
    """Stream the model's wording of a question, then publish it with its options."""
    blueprint = conversation.schema()
    # A retried question moves to the end of the list, where a fresh one goes (see
    # message_added.html): pages then apply its first frame the same way in both cases.
    seq = await _frame(conversation, "conversations/frames/message_added.html", {"message": message})
    await database_sync_to_async(services.question_started)(message=message, seq=seq)
    system, messages = prompts.question(blueprint, field, conversation.answers)
    request = _request(conversation, user_id, system, messages, max_tokens=220)
    coalescer = Coalescer(conversation, message)
    options_task: asyncio.Task[tuple[list[str], bool]] | None = None

    def suggest() -> asyncio.Task[tuple[list[str], bool]]:
        return asyncio.get_running_loop().create_task(_suggest(conversation, blueprint, field, user_id))

    def started(event: StartEvent) -> None:
        nonlocal options_task
        # Options are proposed while the question streams; asked once the question's own
        # request is under way, so the two calls reach a provider in a fixed order.
        if field.suggest and options_task is None:
            options_task = suggest()

    reply = await read_stream(
        gateway.stream(request), on_start=started, on_token=lambda event: coalescer.add(event.text)
    )
    provider, model = reply.provider, reply.model
    failure = f"{reply.error.code.value}: {reply.error.message}" if reply.error else ""
    if field.suggest and options_task is None:
        options_task = suggest()
    text = (await coalescer.close()).strip()
    options, options_degraded = (await options_task) if options_task else (list(field.options), False)
    if failure and text:
        # Broke mid-way: keep what came and offer a retry (the blueprint's wording now
        # would repeat what the user has half read).
        message.state, message.text, message.error = Message.State.FAILED, text, failure
        seq = await _frame(conversation, "conversations/frames/message_replaced.html", {"message": message})
        await database_sync_to_async(services.question_failed)(
            message=message, text=text, error=failure, seq=seq
        )
        await _refresh(conversation)
        return
    off_topic = bool(text) and not on_topic(text, field)
    degraded = bool(failure) or not text or off_topic or options_degraded
    if failure or not text or off_topic:
        text = f"{field.question}\n\nWhy: {field.why}" if field.why else field.question
    message.text, message.options, message.degraded = text, options, degraded
    message.provider, message.model, message.state = provider, model, Message.State.DONE
    seq = await _frame(conversation, "conversations/frames/message_replaced.html", {"message": message})
    state = await database_sync_to_async(_question_finish)(
        conversation,
        message,
        text=text,
        options=options,
        provider=provider,
        model=model,
        degraded=degraded,
        seq=seq,
    )
    await streams.publish(conversation.pk, _state_html(state))


def _stems(text: str) -> set[str]:
    # Four-letter prefixes: "feature" matches "features", "authenticate" "authentication".
    return {word[:4] for word in re.findall(r"[a-z0-9]{3,}", text.casefold()) if word not in _COMMON}


_COMMON = {
    "which", "what", "how", "the", "and", "you", "your", "this", "that", "should", "would", "does",
    "will", "with", "from", "for", "are", "want", "like", "need", "question", "next",
}  # fmt: skip


def on_topic(text: str, field: BlueprintField) -> bool:
    """Whether a phrased question asks something and names its subject (a word of the
    field's label or standard question); small models sometimes ask nothing in particular."""
    return "?" in text and bool(_stems(text) & _stems(f"{field.label} {field.question}"))


async def _suggest(
    conversation: Conversation, blueprint: Blueprint, field: BlueprintField, user_id: int | None
) -> tuple[list[str], bool]:
    """Options the model proposes for a "suggest" field (validated), or the blueprint's."""
    system, messages = prompts.options(blueprint, field, conversation.answers)
    try:
        completion = await gateway.complete(
            _request(
                conversation, user_id, system, messages,
                json_schema=prompts.OPTIONS_SCHEMA, json_schema_name="options", max_tokens=300,
            )
        )  # fmt: skip
    except ProviderError:
        return list(field.options), True
    proposed = prompts.parse_extraction(completion.text).get("options")
    # An option that repeats another question's answer is the model echoing the prompt.
    given = {str(item).casefold() for key, value in conversation.answers.items() if key != field.key
             for item in (value if isinstance(value, list) else [value])}  # fmt: skip
    typical = {option.casefold() for option in field.options}
    options = [
        option
        for option in normalize_options(proposed if isinstance(proposed, list) else [])
        if option.casefold() in typical or option.casefold() not in given
    ]
    if len(options) < 2:
        return list(field.options), True
    return options, False


def _summary(blueprint: Blueprint, answers: dict[str, Any]) -> str:
    lines = ["All set. Here is what I gathered:", ""]
    for field in blueprint.applicable(answers):
        value = answers.get(field.key)
        if value is None or value == SKIPPED:
            continue
        lines.append(f"- **{field.label}**: {_shown(value)}")
    return "\n".join(lines)


async def _notice_message(conversation: Conversation, text: str) -> None:
    notice = await database_sync_to_async(services.message_add)(
        conversation=conversation, role=Message.Role.NOTICE, text=text
    )
    await _frame(conversation, "conversations/frames/message_added.html", {"message": notice})


async def _notice(conversation_id: int, text: str) -> None:
    """A passing notice (not stored): something the sender should know now."""
    await streams.publish(
        conversation_id, render_to_string("conversations/frames/flash.html", {"text": text})
    )
