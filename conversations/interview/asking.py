"""Asking the next question: a model fit for phrasing words it while it streams to the page
and proposes options for "suggest" fields; the blueprint's own wording and options stand in
when no such model is available, or it fails or strays; with every field answered, a
summary closes the interview."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from conversations import pages, selectors, services, streams
from conversations.blueprints.schema import SKIPPED, Blueprint, BlueprintField, FieldType, normalize_options
from conversations.interview import frames, prompts
from conversations.interview.coalescer import Coalescer
from conversations.models import Conversation, Message
from core.db import database_sync_to_async
from providers import gateway
from providers.errors import ProviderError
from providers.interface import Capability, GatewayRequest, StartEvent, StreamEvent
from providers.stream_reply import read_stream


@dataclass
class Upcoming:
    """The next question, added with the page's state in the call that stored the answer."""

    field: BlueprintField
    state: dict[str, Any]
    message: Message


async def ask(
    conversation: Conversation,
    *,
    user_id: int | None,
    upcoming: Upcoming | None = None,
    early: Prefetch | None = None,
) -> None:
    """Ask the next open field (`upcoming`, when the caller's database call added it), or
    wrap up when every field that applies is answered. `early` is a phrasing started before
    the answer was read: used when it is for the field asked now, cancelled otherwise."""
    blueprint = conversation.schema()
    if upcoming is None:
        upcoming = await database_sync_to_async(question_add)(conversation)
    if early is not None and (upcoming is None or upcoming.field.key != early.field.key):
        await early.cancel()
        early = None
    if upcoming is None:
        summary = await database_sync_to_async(services.message_add)(
            conversation=conversation,
            role=Message.Role.NOTICE,
            text=_summary(blueprint, conversation.answers),
        )
        await frames.publish(conversation, "conversations/frames/message_added.html", {"message": summary})
        await frames.publish_state(conversation)
        return
    await streams.publish(conversation.pk, frames.state_html(upcoming.state, busy=True))
    await phrase(conversation, upcoming.message, upcoming.field, user_id=user_id, early=early)


def question_add(conversation: Conversation) -> Upcoming | None:
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
    return Upcoming(field, pages.page_state_with(conversation, message), message)


def _question_finish(conversation: Conversation, message: Message, **finished: Any) -> dict[str, Any]:
    """Store a question's final form; the page's state with it (the answers read again: a
    member may have edited one while it streamed)."""
    services.question_finished(message=message, **finished)
    fresh = selectors.conversation_for_turn(conversation.tenant_id, conversation.pk)
    return pages.page_state_with(fresh or conversation, message)


async def phrase(
    conversation: Conversation,
    message: Message,
    field: BlueprintField,
    *,
    user_id: int | None,
    early: Prefetch | None = None,
) -> None:
    """Stream the model's wording of a question, then publish it with its options.

    Only a model declared fit for phrasing words a question, and the user sees its words
    only once they are seen to ask about the field (`on_topic`): a question is on topic
    from its first shown word or asked in the blueprint's own words, never swapped while
    it is read. `early` is this question's phrasing, started while the answer was read.
    """
    blueprint = conversation.schema()
    # A retried question moves to the end of the list, where a fresh one goes (see
    # message_added.html): pages then apply its first frame the same way in both cases.
    seq = await frames.publish(conversation, "conversations/frames/message_added.html", {"message": message})
    await database_sync_to_async(services.question_started)(message=message, seq=seq)
    coalescer = Coalescer(conversation, message)
    gate = _TopicGate(field, coalescer)
    options_task: asyncio.Task[tuple[list[str], bool]] | None = None

    def suggest() -> asyncio.Task[tuple[list[str], bool]]:
        return asyncio.get_running_loop().create_task(_suggest(conversation, blueprint, field, user_id))

    def started(event: StartEvent) -> None:
        nonlocal options_task
        # Options are proposed while the question streams; asked once the question's own
        # request is under way, so the two calls reach a provider in a fixed order.
        if field.suggest and options_task is None:
            options_task = suggest()

    events = (
        early.events()
        if early is not None
        else gateway.stream(phrasing_request(conversation, field, user_id))
    )
    reply = await read_stream(events, on_start=started, on_token=lambda event: gate.add(event.text))
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
        seq = await frames.publish(
            conversation, "conversations/frames/message_replaced.html", {"message": message}
        )
        await database_sync_to_async(services.question_failed)(
            message=message, text=text, error=failure, seq=seq
        )
        await frames.publish_state(conversation)
        return
    # No shown text: the model failed, is not fit to phrase, or strayed (and was never shown).
    degraded = not text or options_degraded
    if not text:
        text = f"{field.question}\n\nWhy: {field.why}" if field.why else field.question
        provider = model = ""
    message.text, message.options, message.degraded = text, options, degraded
    message.provider, message.model, message.state = provider, model, Message.State.DONE
    seq = await frames.publish(
        conversation, "conversations/frames/message_replaced.html", {"message": message}
    )
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
    await streams.publish(conversation.pk, frames.state_html(state))


def phrasing_request(
    conversation: Conversation, field: BlueprintField, user_id: int | None
) -> GatewayRequest:
    """The gateway request that words `field`'s question, for a model fit to phrase."""
    system, messages = prompts.question(conversation.schema(), field, conversation.answers)
    return prompts.gateway_request(
        conversation, user_id, system, messages, max_tokens=220, needs=frozenset({Capability.PHRASING})
    )


class _TopicGate:
    """Holds a phrased question back until what came so far asks about its field; from then
    on everything streams. What never got there is never shown."""

    def __init__(self, field: BlueprintField, coalescer: Coalescer) -> None:
        self.field = field
        self.coalescer = coalescer
        self.held: list[str] = []
        self.open = False

    def add(self, text: str) -> None:
        if self.open:
            self.coalescer.add(text)
            return
        self.held.append(text)
        # Once a prefix asks about the field, every longer text does too (on_topic only
        # looks for a question mark and the field's words).
        if on_topic("".join(self.held), self.field):
            self.open = True
            self.coalescer.add("".join(self.held))
            self.held.clear()


class Prefetch:
    """A question's phrasing started before its message exists (while the answer before it
    is read): its events are kept until the question is confirmed, or it is cancelled."""

    def __init__(self, field: BlueprintField, request: GatewayRequest) -> None:
        self.field = field
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run(request))

    async def _run(self, request: GatewayRequest) -> None:
        try:
            async with aclosing(gateway.stream(request)) as events:
                async for event in events:
                    self.queue.put_nowait(event)
        finally:
            self.queue.put_nowait(None)

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        while (event := await self.queue.get()) is not None:
            yield event

    async def cancel(self) -> None:
        """Stop the call (its log row says cancelled): the question turned out another."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def prefetch(
    conversation: Conversation, asked: BlueprintField | None, user_id: int | None
) -> Prefetch | None:
    """Start phrasing the question after `asked` while its answer is read, when no answer to
    it can change which question that is (no field's condition looks at it), and when that
    question can only be a field the reading cannot fill (free text is never extracted).
    None when it is not safe to guess."""
    if asked is None:
        return None
    blueprint = conversation.schema()
    if blueprint.dependents(asked.key):
        return None
    upcoming = blueprint.next_field({**conversation.answers, asked.key: SKIPPED})
    if upcoming is None or upcoming.type is not FieldType.FREE_TEXT:
        return None
    return Prefetch(upcoming, phrasing_request(conversation, upcoming, user_id))


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
            prompts.gateway_request(
                conversation, user_id, system, messages,
                json_schema=prompts.OPTIONS_SCHEMA, json_schema_name="options", max_tokens=300,
                needs=frozenset({Capability.PHRASING}),
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


def answer_text(value: Any) -> str:
    """An answer as the conversation writes it: the text of a chip's message, a summary line."""
    if value == SKIPPED:
        return "Skip"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _summary(blueprint: Blueprint, answers: dict[str, Any]) -> str:
    lines = ["All set. Here is what I gathered:", ""]
    for field in blueprint.applicable(answers):
        value = answers.get(field.key)
        if value is None or value == SKIPPED:
            continue
        lines.append(f"- **{field.label}**: {answer_text(value)}")
    return "\n".join(lines)
