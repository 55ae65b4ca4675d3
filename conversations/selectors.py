"""Reads for blueprints, conversations and messages, always within one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from conversations.blueprints.schema import BUILTIN, SKIPPED, Blueprint, BlueprintField
from conversations.models import Conversation, Message, TenantBlueprint
from core import navigation
from providers.models import ProviderLog
from tenants.models import Tenant


def conversations_of_tenant(*, tenant: Tenant, query: str = "", status: str = "") -> QuerySet[Conversation]:
    conversations = Conversation.objects.for_tenant(tenant).select_related("owner")
    if query:
        conversations = conversations.filter(Q(title__icontains=query) | Q(blueprint_name__icontains=query))
    if status:
        conversations = conversations.filter(status=status)
    return conversations.order_by("-last_activity_at", "-pk")


def conversation_for_turn(tenant_id: int, conversation_id: int) -> Conversation | None:
    """A conversation of a tenant, for a turn whose socket already checked the member."""
    return (
        Conversation.objects.for_tenant(Tenant(pk=tenant_id))
        .select_related("tenant")
        .filter(pk=conversation_id)
        .first()
    )


def messages_of(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.for_tenant(conversation.tenant).filter(conversation=conversation).order_by("pk")


def current_question(conversation: Conversation) -> Message | None:
    """The latest question asked, whatever its state: an answer is to it."""
    return (
        messages_of(conversation)
        .filter(role=Message.Role.ASSISTANT)
        .exclude(field_key="")
        .order_by("-pk")
        .first()
    )


def streaming_question(conversation: Conversation) -> Message | None:
    question = current_question(conversation)
    return question if question is not None and question.state == Message.State.STREAMING else None


def failed_question(conversation: Conversation) -> Message | None:
    question = current_question(conversation)
    return question if question is not None and question.state == Message.State.FAILED else None


def offered_options(conversation: Conversation, key: str) -> list[str]:
    """The options last shown for a field (suggested ones included)."""
    question = (
        messages_of(conversation)
        .filter(role=Message.Role.ASSISTANT, field_key=key)
        .exclude(options=[])
        .order_by("-pk")
        .first()
    )
    return list(question.options) if question else []


def conversation_cost(conversation: Conversation) -> Decimal:
    total = (
        ProviderLog.objects.for_tenant(conversation.tenant)
        .filter(links__conversation=str(conversation.pk))
        .aggregate(total=Sum("cost_usd"))["total"]
    )
    return total or Decimal(0)


@dataclass(frozen=True)
class AnswerRow:
    field: BlueprintField
    value: Any
    shown: str
    skipped: bool


def answer_rows(blueprint: Blueprint, answers: dict[str, Any]) -> list[AnswerRow]:
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


BOOLEAN_CHOICES = [("yes", "Yes"), ("no", "No")]


def page_state(conversation: Conversation) -> dict[str, Any]:
    """What the answers panel, the progress line and the composer show."""
    conversation = (
        Conversation.objects.for_tenant(conversation.tenant).select_related("tenant").get(pk=conversation.pk)
    )
    return page_state_with(conversation, current_question(conversation))


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
        "cost": conversation_cost(conversation),
        "boolean_choices": BOOLEAN_CHOICES,
        "next_steps": navigation.next_steps("conversation", conversation),
    }


# --- Blueprints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlueprintChoice:
    """A blueprint a tenant can start an interview from."""

    ref: str  # "builtin:<key>" or "tenant:<id>"
    blueprint: Blueprint
    own: TenantBlueprint | None = None


def blueprints_of_tenant(*, tenant: Tenant) -> list[BlueprintChoice]:
    choices = [BlueprintChoice(f"builtin:{key}", blueprint) for key, blueprint in BUILTIN.items()]
    for own in TenantBlueprint.objects.for_tenant(tenant).order_by("name"):
        try:
            choices.append(BlueprintChoice(f"tenant:{own.pk}", own.as_blueprint(), own))
        except ValueError:
            continue  # saved before a rule tightened: editable, not startable
    return choices


def blueprint_choice(*, tenant: Tenant, ref: str) -> BlueprintChoice | None:
    return next((choice for choice in blueprints_of_tenant(tenant=tenant) if choice.ref == ref), None)
