"""Writes for blueprints, conversations and their messages; service definitions from a prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations import definitions
from conversations.blueprints.schema import AnswerChange, Blueprint
from conversations.models import Conversation, Message, TenantBlueprint
from core.storable import storable_text
from providers import gateway
from providers.interface import Capability, GatewayRequest, Task
from tenants.models import Tenant, User


class ConversationError(Exception):
    """A request the interview rules refuse; the message is shown to the user."""


@transaction.atomic
def conversation_create(
    *, tenant: Tenant, owner: User, blueprint: Blueprint, title: str = ""
) -> Conversation:
    """Start an interview for a blueprint; it keeps a copy of the blueprint as it is now."""
    return Conversation.objects.create(
        tenant=tenant,
        owner=owner,
        title=title or f"New {blueprint.name.lower()}",
        blueprint_name=blueprint.name,
        blueprint=blueprint.model_dump(mode="json"),
    )


def _touch(conversation: Conversation) -> None:
    conversation.last_activity_at = timezone.now()


@transaction.atomic
def message_add(
    *,
    conversation: Conversation,
    role: Message.Role,
    text: str = "",
    field_key: str = "",
    values: dict[str, Any] | None = None,
    options: list[str] | None = None,
    state: Message.State = Message.State.DONE,
    degraded: bool = False,
    touch: bool = True,
) -> Message:
    """A message of the conversation; its last activity moves to now unless the caller
    writes the conversation itself in the same transaction (`touch=False`)."""
    message = Message.objects.create(
        tenant_id=conversation.tenant_id,
        conversation=conversation,
        role=role,
        text=text,
        field_key=field_key,
        values=values or {},
        options=options or [],
        state=state,
        degraded=degraded,
    )
    if touch:
        _touch(conversation)
        conversation.save(update_fields=["last_activity_at"])
    return message


@transaction.atomic
def question_started(*, message: Message, seq: int) -> None:
    """Note the frame a question's stream started at: a page opened mid-stream replays it from there."""
    message.seq_start = seq
    message.save(update_fields=["seq_start"])


@transaction.atomic
def question_finished(
    *,
    message: Message,
    text: str,
    options: list[str],
    provider: str,
    model: str,
    degraded: bool,
    seq: int,
) -> Message:
    """A question's final text and options: what the user now answers."""
    message.text = storable_text(text)
    message.options = options
    message.provider = provider
    message.model = model
    message.degraded = degraded
    message.state = Message.State.DONE
    message.error = ""
    message.seq_end = seq
    message.save(
        update_fields=["text", "options", "provider", "model", "degraded", "state", "error", "seq_end"]
    )
    return message


@transaction.atomic
def question_failed(*, message: Message, text: str, error: str, seq: int | None) -> Message:
    """A question whose stream broke after it began: kept as far as it got, to be retried."""
    message.text = storable_text(text)
    message.state = Message.State.FAILED
    message.error = storable_text(error[:300])
    message.seq_end = seq
    message.save(update_fields=["text", "state", "error", "seq_end"])
    return message


@transaction.atomic
def question_restart(*, message: Message) -> Message:
    """Ask a failed question again, in the same place of the chat."""
    message.text = ""
    message.state = Message.State.STREAMING
    message.error = ""
    message.seq_start = message.seq_end = None
    message.save(update_fields=["text", "state", "error", "seq_start", "seq_end"])
    return message


@transaction.atomic
def answers_apply(*, conversation: Conversation, values: dict[str, Any]) -> Conversation:
    """Merge validated values into the answers; answers of fields that no longer apply go."""
    locked = Conversation.objects.for_tenant(conversation.tenant).select_for_update().get(pk=conversation.pk)
    locked.tenant = conversation.tenant
    blueprint = locked.schema()
    locked.answers = blueprint.prune({**locked.answers, **values})
    locked.status = (
        Conversation.Status.COMPLETE
        if blueprint.next_field(locked.answers) is None
        else Conversation.Status.GATHERING
    )
    _touch(locked)
    locked.save(update_fields=["answers", "status", "last_activity_at"])
    return locked


@transaction.atomic
def answer_edit(*, conversation: Conversation, key: str, value: Any) -> tuple[Conversation, Message]:
    """Change one answer; the answers given in the light of it are cleared, to be asked again.

    Cleared: every field that depends on `key` (a condition on it, or `based_on` it),
    directly or through others; those whose condition now fails are removed instead. The
    next open question is then the first cleared one. The same value again clears nothing.
    Returns the conversation and the notice that says, in the chat, what was cleared.
    """
    locked = Conversation.objects.for_tenant(conversation.tenant).select_for_update().get(pk=conversation.pk)
    blueprint = locked.schema()
    change = blueprint.answer_changed(locked.answers, key, value)
    if change.changed:
        locked.answers = change.answers
        locked.status = (
            Conversation.Status.COMPLETE
            if blueprint.next_field(locked.answers) is None
            else Conversation.Status.GATHERING
        )
        _touch(locked)
        locked.save(update_fields=["answers", "status", "last_activity_at"])
    notice = Message.objects.create(
        tenant_id=locked.tenant_id,
        conversation=locked,
        role=Message.Role.NOTICE,
        text=_change_notice(blueprint, key, change),
        # The field changed: a question open on a field that depends on it is out of date
        # and asked again (selectors.question_outdated).
        field_key=key if change.changed else "",
        values={key: value} if change.changed else {},
    )
    return locked, notice


def _change_notice(blueprint: Blueprint, key: str, change: AnswerChange) -> str:
    """What an edit did, in the chat's words: which answers go and which are asked again."""
    [label] = blueprint.labels([key])
    if not change.changed:
        return f"{label} is unchanged, so no other answer was cleared."
    if change.asked_again:
        again = ", ".join(blueprint.labels(change.asked_again))
        text = f"Because you changed {label}, I will ask again: {again}."
    elif change.removed:
        text = f"Changed {label}."
    else:
        text = f"Changed {label}; no other answer depended on it."
    if change.removed:
        removed = blueprint.labels(change.removed)
        text += (
            f" {removed[0]} no longer applies, so its answer was removed."
            if len(removed) == 1
            else f" {', '.join(removed)} no longer apply, so their answers were removed."
        )
    return text


@transaction.atomic
def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give the conversation a new title."""
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


# --- Blueprints ------------------------------------------------------------------------------


@transaction.atomic
def blueprint_copy(*, tenant: Tenant, actor: User | None, source: Blueprint, name: str) -> TenantBlueprint:
    """A tenant's own, editable copy of a blueprint."""
    return TenantBlueprint.objects.create(
        tenant=tenant,
        name=name,
        description=source.description,
        fields=[field.model_dump(mode="json", exclude_none=True) for field in source.fields],
        copied_from=source.name,
        created_by=actor,
    )


@transaction.atomic
def blueprint_update(*, blueprint: TenantBlueprint, validated: Blueprint) -> TenantBlueprint:
    """Save a tenant blueprint that `validated` has already checked. Running interviews
    keep the version they started with."""
    blueprint.name = validated.name
    blueprint.description = validated.description
    blueprint.fields = [field.model_dump(mode="json", exclude_none=True) for field in validated.fields]
    blueprint.updated_at = timezone.now()
    blueprint.save(update_fields=["name", "description", "fields", "updated_at"])
    return blueprint


@transaction.atomic
def blueprint_delete(*, blueprint: TenantBlueprint) -> None:
    """Delete one of a tenant's own blueprints."""
    blueprint.delete()


# A definition is one structured reply: the blueprint's fields at most, short values.
DEFINITION_MAX_TOKENS = 2000
# What a model must be fit for to write one (routing passes over the others).
DEFINITION_NEEDS = frozenset({Capability.STRUCTURED_OUTPUT})


def service_definition_generate(
    *,
    tenant_id: int,
    blueprint: Blueprint,
    prompt: str,
    context: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    links: Mapping[str, str] | None = None,
) -> definitions.ServiceDefinition:
    """A service definition of `blueprint` from a description in words, by one model call
    (the tenant's `conversation` task, structured output); each value validated by its field.

    Synchronous (Celery); raises ProviderError when no model could answer. Writes nothing:
    the caller keeps the definition where it belongs.
    """
    system, messages = definitions.definition_prompt(blueprint, prompt=prompt, context=context or {})
    completion = gateway.complete_sync(
        GatewayRequest(
            task=Task.CONVERSATION,
            messages=messages,
            system=system,
            tenant_id=tenant_id,
            user_id=user_id,
            max_tokens=DEFINITION_MAX_TOKENS,
            json_schema=definitions.definition_schema(blueprint),
            json_schema_name="service_definition",
            links=dict(links or {}),
            needs=DEFINITION_NEEDS,
        )
    )
    title, values = definitions.read_definition(blueprint, completion.text)
    return definitions.ServiceDefinition(
        title=title or blueprint.name,
        blueprint=blueprint,
        values=values,
        provider=completion.provider,
        model=completion.model,
        tokens=completion.usage.input_tokens + completion.usage.output_tokens,
        missing=definitions.missing_fields(blueprint, values),
    )
