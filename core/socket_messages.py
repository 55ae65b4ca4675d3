"""What a page sends up a WebSocket, read safely before any of it is used.

A message is refused with a reason the page can show (never a closed socket or a traceback)
when it is binary, longer than the socket allows (checked before parsing), not valid UTF-8
text (a lone surrogate, which no database column takes), not a JSON object, nested deeper
than MAX_DEPTH (the parser itself stops far before Python's recursion limit), or holds a
NUL character or a number JSON columns cannot keep (infinity). Each socket then checks its
actions' fields (pydantic models) with its own wording.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

# Far above what a page sends (an answer is at most 4,000 characters, each at most a
# 12-character escape), far below what would cost anything to refuse.
MAX_MESSAGE_CHARS = 64 * 1024
# The pages' messages are flat objects with lists of strings at most.
MAX_DEPTH = 8

UNREADABLE = "That message could not be read."

M = TypeVar("M", bound=BaseModel)


class MessageRefused(Exception):
    """A message the socket will not act on; the text says why, for the page."""


def read_object(text_data: str | None, *, max_chars: int = MAX_MESSAGE_CHARS) -> dict[str, Any]:
    """The JSON object a text message holds, or MessageRefused."""
    if text_data is None:
        raise MessageRefused(UNREADABLE)
    if len(text_data) > max_chars:
        raise MessageRefused(
            f"That message is too long ({len(text_data):,} characters; at most {max_chars:,})."
        )
    try:
        text_data.encode()
    except UnicodeEncodeError:
        raise MessageRefused(UNREADABLE) from None
    try:
        # pydantic's parser: bounded recursion, and escaped lone surrogates refused.
        value = pydantic_core.from_json(text_data, allow_inf_nan=False)
    except ValueError:
        raise MessageRefused(UNREADABLE) from None
    if not isinstance(value, dict):
        raise MessageRefused(UNREADABLE)
    _check_values(value)
    return value


def _check_values(value: dict[str, Any]) -> None:
    """Depth, NUL characters and non-finite numbers, without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, str) and "\x00" in item:
                raise MessageRefused(f"{UNREADABLE[:-1]}: it contains a NUL character.")
            if isinstance(item, float) and not math.isfinite(item):
                raise MessageRefused(f"{UNREADABLE[:-1]}: a number in it is out of range.")
            continue
        if depth > MAX_DEPTH:
            raise MessageRefused(f"{UNREADABLE[:-1]}: it is nested too deeply.")
        pending.extend((child, depth + 1) for child in children)


def read_action(payload: dict[str, Any], model: type[M]) -> M:
    """`payload` as an action's model, or MessageRefused naming the first wrong field."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise MessageRefused(f"{UNREADABLE[:-1]} ({where}: {first['msg']}).") from None
