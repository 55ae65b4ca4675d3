"""Text every database column can keep, whatever a model or a client sent.

PostgreSQL refuses a NUL character in text and in JSON (`\\u0000`), and a lone surrogate
is not UTF-8 at all; SQLite takes both, so a row that saves in development fails in
production. Model replies and request bodies are not ours to trust, so the columns that
keep them store such characters as U+FFFD, the replacement character, instead of failing
the write (and with it the log row, the turn or the generation).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL characters and lone surrogates replaced."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable(value: Any) -> Any:
    """`value` (JSON-shaped) with every string, keys included, made storable.

    Iterative, not recursive: documents nested near Python's recursion limit are refused
    elsewhere, but a log row must still be written for them.
    """
    # (container copy to fill, original container)
    pending: list[tuple[Any, Any]] = []

    def copy_of(item: Any) -> Any:
        if isinstance(item, str):
            return storable_text(item)
        if isinstance(item, dict | list | tuple):
            fresh: Any = {} if isinstance(item, dict) else []
            pending.append((fresh, item))
            return fresh
        return item

    result = copy_of(value)
    while pending:
        target, source = pending.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[storable_text(key) if isinstance(key, str) else key] = copy_of(item)
        else:
            target.extend(copy_of(item) for item in source)
    return result


class StorableJSONEncoder(DjangoJSONEncoder):
    """JSONField encoder: the value made storable first, then Django's encoding (dates,
    decimals, UUIDs)."""

    def encode(self, o: Any) -> str:
        return super().encode(storable(o))
