"""Reading an answer: the field values a user's message or chip gives, validated.

Free text is read by the model (structured output) and every value it proposes goes
through the field's own validation; when the model gives nothing usable for the field that
was asked, the text is read as a direct answer to it. A chip is checked against the options
its question offered. What cannot be used comes back as a problem the user is told.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from conversations.blueprints.schema import BlueprintField, FieldType, InvalidAnswer
from conversations.interview import prompts
from conversations.models import Conversation
from providers import gateway
from providers.errors import ProviderError
from providers.interface import Capability

logger = logging.getLogger(__name__)


@dataclass
class Understood:
    values: dict[str, Any]
    problem: str = ""  # why the asked field could not be filled, for the user


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
    plain = _plain_answer(asked, offered, text)
    if plain is not None:
        return Understood(values=plain)
    system, messages = prompts.extraction(blueprint, asked, text)
    try:
        completion = await gateway.complete(
            prompts.gateway_request(
                conversation, user_id, system, messages,
                json_schema=blueprint.extraction_schema(), json_schema_name="requirements", max_tokens=600,
                needs=frozenset({Capability.EXTRACTION}),
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
            value = field.accepts(raw, offered if field is asked else None)
        except InvalidAnswer:
            continue
        if field is not asked:
            # A field nobody asked about is filled only with what the user's words name: a
            # small model fills fields from the prompt's option lists, not from the message.
            value = _grounded(field, value, text)
            if value is None:
                continue
        values[key] = value
    problem = ""
    if asked is not None and asked.key not in values:
        try:
            values[asked.key] = asked.accepts(text, offered)
        except InvalidAnswer as error:
            problem = str(error)
    return Understood(values=values, problem=problem)


_PLAIN_WORDS = {
    "per",
    "you",
    "the",
    "and",
    "with",
    "for",
    "our",
    "any",
    "all",
    "other",
    "none",
    "custom",
    "pay",
}


def _words(text: str) -> set[str]:
    # Four-letter prefixes: "metric" matches "metrics", "authenticate" "authentication".
    return {word[:4] for word in re.findall(r"[a-z0-9]{3,}", text.casefold()) if word not in _PLAIN_WORDS}


def _named(option: str, said: set[str]) -> bool:
    """Whether the user's words (`said`) name an option by one of its own words; a product
    name like vFirewall is named by "firewall" too."""
    own = _words(option) | {word.casefold()[:4] for word in re.findall(r"\bv([A-Z][a-z]{2,})", option)}
    return bool(own & said)


def _grounded(field: BlueprintField, value: Any, text: str) -> Any:
    """`value` as far as the user's text names it, or None: options named by a word of
    theirs, a number written in it. A yes/no is never read off a message about another field."""
    said = _words(text)
    if field.type is FieldType.MULTI_SELECT:
        named = [option for option in value if _named(str(option), said)]
        return named or None
    if field.type is FieldType.SINGLE_SELECT:
        return value if _named(str(value), said) else None
    if field.type is FieldType.NUMBER:
        written = {float(number) for number in re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))}
        return value if float(value) in written else None
    return None


# A reply this short that the asked field accepts as it is ("Fortinet", "yes", "12") says
# nothing about other fields: it is taken without asking a model, which would only add
# seconds (a small local model takes many) before the next question.
PLAIN_ANSWER_WORDS = 4


def _plain_answer(asked: BlueprintField | None, offered: list[str], text: str) -> dict[str, Any] | None:
    if asked is None or len(text.split()) > PLAIN_ANSWER_WORDS:
        return None
    try:
        return {asked.key: asked.accepts(text, offered)}
    except InvalidAnswer:
        return None


def understand_chip(
    asked: BlueprintField | None, offered: list[str], field: str | None, value: Any
) -> Understood:
    """A chip's value for `field`: accepted only for the open question (`asked`) and among
    the options it offered."""
    if asked is None:
        return Understood({}, "there is no open question to answer")
    if field != asked.key:
        return Understood({}, "that question is not the open one")
    try:
        return Understood({asked.key: asked.accepts(value, offered)})
    except InvalidAnswer as error:
        return Understood({}, str(error))
