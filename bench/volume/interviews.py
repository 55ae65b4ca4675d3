"""A volume tenant's services (conversations): interviews at every stage, as the interview
leaves them — questions asked, answers given and applied, a summary once complete.

Each conversation is started and its answers applied through conversations.services. Its
messages are written in bulk in the shape the interview writes them (a question, then the
answer to it, …): adding them one by one through `message_add` would cost a transaction and
two statements each, about 150,000 of them for the big tenant, and the pages read the rows,
not how they were written.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from conversations import selectors, services
from conversations.blueprints.schema import BlueprintField, FieldType
from conversations.models import Conversation, Message
from tenants.models import Tenant, User

COMPLETE_SHARE = 0.35
SUBJECTS = ["Branch office", "Payments", "Partner onboarding", "Edge site", "Data centre", "Customer portal"]
FREE_TEXTS = [
    "Traffic from the branch offices goes through the service before it reaches the internet.",
    "Invoices above the threshold need a second approval from finance.",
    "The operations team runs it; incidents go to the on-call rotation.",
    "It must keep working when one of the two data centres is down.",
]
# The models that phrase questions (provider name, model), as routing picks them.
PHRASERS = [("team-anthropic", "claude-haiku-5-5"), ("anthropic", "claude-sonnet-5-5"), ("embedded", "")]


def _sample_value(field: BlueprintField, rng: random.Random) -> Any:
    """An answer a person could give to `field`, as the field stores it."""
    if field.type is FieldType.SINGLE_SELECT:
        value: Any = rng.choice(field.options)
    elif field.type is FieldType.MULTI_SELECT:
        value = rng.sample(field.options, k=rng.randint(1, min(3, len(field.options))))
    elif field.type is FieldType.NUMBER:
        low = int(field.min_value) if field.min_value is not None else 1
        high = int(field.max_value) if field.max_value is not None else max(low, 1) * 100
        value = rng.randint(low, max(low, high))
    elif field.type is FieldType.BOOLEAN:
        value = rng.random() < 0.5
    else:
        value = rng.choice(FREE_TEXTS)[: field.max_length]
    return field.accepts(value)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _interview(
    conversation: Conversation, rng: random.Random, *, complete: bool, started: datetime, now: datetime
) -> tuple[dict[str, Any], list[Message]]:
    """The answers given and the messages of an interview run to its end, or stopped at a
    random point; timed from `started` onwards (never after `now`)."""
    blueprint = conversation.schema()
    stop_after = 10_000 if complete else rng.randint(0, max(0, blueprint.fewest_questions - 1))
    answers: dict[str, Any] = {}
    messages: list[Message] = []
    moment = started
    provider, model = rng.choice(PHRASERS)

    def add(**values: Any) -> None:
        nonlocal moment
        moment = min(moment + timedelta(seconds=rng.randint(5, 240)), now)
        seq = len(messages) * 40
        messages.append(
            Message(
                tenant_id=conversation.tenant_id,
                conversation=conversation,
                created_at=moment,
                seq_start=seq if values["role"] == Message.Role.ASSISTANT else None,
                seq_end=seq + 39 if values["role"] == Message.Role.ASSISTANT else None,
                **values,
            )
        )

    while (field := blueprint.next_field(answers)) is not None:
        options = list(field.options) if field.type.is_select else []
        add(
            role=Message.Role.ASSISTANT,
            text=field.question,
            field_key=field.key,
            options=options,
            provider=provider,
            model=model,
            degraded=provider == "embedded",
        )
        if len(answers) >= stop_after:
            break
        value = _sample_value(field, rng)
        answers[field.key] = value
        add(role=Message.Role.USER, text=_shown(value), field_key=field.key, values={field.key: value})
    if blueprint.next_field(answers) is None:
        labels = ", ".join(blueprint.labels(list(answers)))
        add(role=Message.Role.NOTICE, text=f"All set: {labels}.")
    return answers, messages


def add_conversations(
    *, tenant: Tenant, users: list[User], count: int, days: int, rng: random.Random
) -> list[int]:
    """`count` conversations of `tenant`, started over the last `days` days; returns their ids."""
    choices = selectors.blueprints_of_tenant(tenant=tenant)
    now = timezone.now()
    touched: list[Conversation] = []
    messages: list[Message] = []
    # Started in id order, as conversations are.
    starts = sorted(now - timedelta(seconds=rng.uniform(4 * 3600, days * 86400)) for _ in range(count))
    for index, started in enumerate(starts):
        # The first is the same complete interview in every tenant: the one its detail pages
        # are read for (bench.volume.reads.anchors_of), so big and small read alike.
        first = index == 0
        choice = choices[0] if first or rng.random() < 0.6 else rng.choice(choices)
        title = f"{rng.choice(SUBJECTS)} {choice.blueprint.name.lower()} {index + 1}"
        conversation = services.conversation_create(
            tenant=tenant, owner=rng.choice(users), blueprint=choice.blueprint, title=title
        )
        answers, asked = _interview(
            conversation,
            random.Random(0) if first else rng,
            complete=first or rng.random() < COMPLETE_SHARE,
            started=started,
            now=now,
        )
        if answers:
            conversation = services.answers_apply(conversation=conversation, values=answers)
        # Stamped as if it had happened over the last `days` days (the services stamp now).
        conversation.created_at = started
        conversation.last_activity_at = asked[-1].created_at if asked else started
        touched.append(conversation)
        messages.extend(asked)
        if len(messages) >= 5_000:
            Message.objects.for_tenant(tenant).bulk_create(messages, batch_size=1_000)
            messages.clear()
    Message.objects.for_tenant(tenant).bulk_create(messages, batch_size=1_000)
    Conversation.objects.for_tenant(tenant).bulk_update(
        touched, ["created_at", "last_activity_at"], batch_size=1_000
    )
    return [conversation.pk for conversation in touched]
