"""What a conversation's pages show beyond its messages: the answers panel, the progress
line and the composer, assembled from the selectors' reads (and the next steps other apps
offer on the conversation, through core.navigation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conversations import selectors
from conversations.blueprints.schema import SKIPPED, Blueprint, BlueprintField
from conversations.models import Conversation, Message
from core import navigation

BOOLEAN_CHOICES = [("yes", "Yes"), ("no", "No")]


@dataclass(frozen=True)
class AnswerRow:
    field: BlueprintField
    value: Any
    shown: str
    skipped: bool


def answer_rows(blueprint: Blueprint, answers: dict[str, Any]) -> list[AnswerRow]:
    """The answers of the fields that apply, in the blueprint's order, as a page shows them."""
    rows = []
    for field in blueprint.applicable(answers):
        if field.key not in answers:
            continue
        value = answers[field.key]
        shown = (
            ", ".join(map(str, value))
            if isinstance(value, list)
            else ("Yes" if value is True else "No" if value is False else str(value))
        )
        rows.append(
            AnswerRow(
                field=field, value=value, shown="" if value == SKIPPED else shown, skipped=value == SKIPPED
            )
        )
    return rows


def requirements_payload(conversation: Conversation) -> dict[str, Any]:
    """The requirements gathered, in the JSON download format (what service generation and
    `manage.py codegen generate --requirements` read)."""
    blueprint = conversation.schema()
    return {
        "conversation": conversation.pk,
        "title": conversation.title,
        "blueprint": blueprint.name,
        "status": conversation.status,
        "requirements": {
            row.field.key: {"label": row.field.label, "value": None if row.skipped else row.value}
            for row in answer_rows(blueprint, conversation.answers)
        },
    }


def page_state(conversation: Conversation) -> dict[str, Any]:
    """What the answers panel, the progress line and the composer show."""
    conversation = selectors.conversation_reread(conversation)
    return page_state_with(conversation, selectors.current_question(conversation))


def page_state_with(conversation: Conversation, question: Message | None) -> dict[str, Any]:
    """page_state for a conversation the caller has just read or written (with its tenant)
    and its latest question: a turn has both at hand, and each read it spares is a query in
    the one database thread every socket and turn of the process waits on."""
    blueprint = conversation.schema()
    applicable = blueprint.applicable(conversation.answers)
    answered = sum(1 for field in applicable if field.key in conversation.answers)
    asking = (
        blueprint.field(question.field_key) if question and question.state == Message.State.DONE else None
    )
    if asking is not None and asking.key in conversation.answers:
        asking = None
    return {
        "conversation": conversation,
        "blueprint": blueprint,
        "rows": answer_rows(blueprint, conversation.answers),
        "step": min(answered + 1, len(applicable)),
        "answered": answered,
        "total": len(applicable),
        "question": question,
        "asking": asking,
        "cost": selectors.conversation_cost(conversation),
        "boolean_choices": BOOLEAN_CHOICES,
        "next_steps": navigation.next_steps("conversation", conversation),
    }
