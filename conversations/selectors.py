"""Reads for blueprints, conversations and messages, always within one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from conversations.blueprints.builtin import BUILTIN
from conversations.blueprints.schema import Blueprint
from conversations.models import Conversation, Message, TenantBlueprint
from providers.models import ProviderLog
from tenants.models import Tenant


def conversations_of_tenant(*, tenant: Tenant, query: str = "", status: str = "") -> QuerySet[Conversation]:
    """The tenant's conversations, most recently active first; `query` matches the title or
    the blueprint's name, `status` filters when given."""
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
    """The conversation's messages, oldest first."""
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


def question_outdated(conversation: Conversation, question: Message) -> bool:
    """Whether an answer the question's field depends on was changed after it was asked: its
    wording and options were made in the light of the old answer. An edit's notice names the
    field it changed (services.answer_edit)."""
    changed = set(
        messages_of(conversation)
        .filter(role=Message.Role.NOTICE, pk__gt=question.pk)
        .exclude(field_key="")
        .values_list("field_key", flat=True)
    )
    blueprint = conversation.schema()
    return any(question.field_key in blueprint.dependents(key) for key in changed)


def streaming_question(conversation: Conversation) -> Message | None:
    """The latest question, if it is still streaming."""
    question = current_question(conversation)
    return question if question is not None and question.state == Message.State.STREAMING else None


def failed_question(conversation: Conversation) -> Message | None:
    """The latest question, if its stream failed (the user may retry it)."""
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
    """What the gateway calls linked to the conversation cost, in US dollars."""
    total = (
        ProviderLog.objects.for_tenant(conversation.tenant)
        .filter(links__conversation=str(conversation.pk))
        .aggregate(total=Sum("cost_usd"))["total"]
    )
    return total or Decimal(0)


def conversation_reread(conversation: Conversation) -> Conversation:
    """The conversation as the database has it now, with its tenant: the caller's copy may
    predate an answer stored or edited since."""
    return (
        Conversation.objects.for_tenant(conversation.tenant).select_related("tenant").get(pk=conversation.pk)
    )


# --- Blueprints ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlueprintChoice:
    """A blueprint a tenant can start an interview from."""

    ref: str  # "builtin:<key>" or "tenant:<id>"
    blueprint: Blueprint
    own: TenantBlueprint | None = None


def blueprints_of_tenant(*, tenant: Tenant) -> list[BlueprintChoice]:
    """The built-in blueprints, then the tenant's own by name (those that still validate)."""
    choices = [BlueprintChoice(f"builtin:{key}", blueprint) for key, blueprint in BUILTIN.items()]
    for own in TenantBlueprint.objects.for_tenant(tenant).order_by("name"):
        try:
            choices.append(BlueprintChoice(f"tenant:{own.pk}", own.as_blueprint(), own))
        except ValueError:
            continue  # saved before a rule tightened: editable, not startable
    return choices


def blueprint_choice(*, tenant: Tenant, ref: str) -> BlueprintChoice | None:
    """The blueprint a ref ("builtin:<key>" or "tenant:<id>") names for the tenant, if any."""
    return next((choice for choice in blueprints_of_tenant(tenant=tenant) if choice.ref == ref), None)
