"""Text helpers shared by both emulators: token splitting, token estimates, default replies.

The emulators do not run a real tokenizer. A "token" here is one streamed piece of text
(by default a word with its leading whitespace), and prompt sizes are estimated at four
characters per token, which is the rule of thumb both providers document.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\s*\S+|\s+$")

_VOCABULARY = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
    "yankee", "zulu", "amber", "basalt", "cobalt", "dune", "ember", "fjord",
)  # fmt: skip


def split_tokens(text: str, count: int | None = None) -> list[str]:
    """Split `text` into stream pieces whose concatenation is exactly `text`.

    Without `count`, one piece per word (leading whitespace kept with the word). With
    `count`, `count` pieces of near-equal length (fewer if the text is shorter).
    """
    if not text:
        return []
    if count is None:
        return _WORD.findall(text)
    if count < 1:
        raise ValueError("a reply needs at least one token")
    count = min(count, len(text))
    base, extra = divmod(len(text), count)
    pieces: list[str] = []
    start = 0
    for index in range(count):
        end = start + base + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def estimate_tokens(text: str) -> int:
    """About four characters per token, never less than one."""
    return max(1, math.ceil(len(text) / 4))


def text_of(content: Any) -> str:
    """The text a prompt part contributes: strings as they are, content blocks by their
    text, anything else (images, tool calls) by its JSON so that it still counts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(text_of(part) for part in content)
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        if "content" in content:
            return text_of(content["content"])
    return json.dumps(content, sort_keys=True, default=str)


def default_text(seed: str, words: int) -> str:
    """A deterministic reply of `words` words, derived from `seed` (the prompt)."""
    digest = hashlib.sha256(seed.encode()).digest()
    while len(digest) < words:
        digest += hashlib.sha256(digest).digest()
    return " ".join(_VOCABULARY[digest[i] % len(_VOCABULARY)] for i in range(words))


def json_text(seed: str, words: int, schema: Any = None) -> str:
    """A deterministic JSON reply: an instance of `schema` if given, else an object with
    one `reply` string. Spaces separate the tokens, as in `default_text`."""
    value = (
        example_for_schema(schema, default_text(seed, words))
        if schema
        else {"reply": default_text(seed, words)}
    )
    return json.dumps(value, ensure_ascii=False)


def example_for_schema(schema: Any, text: str, root: Any = None) -> Any:
    """A small value that validates against a JSON schema (the subset structured outputs use)."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return text
    if "$ref" in schema:
        return example_for_schema(_resolve_ref(root, schema["$ref"]), text, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_for_schema(schema[combinator][0], text, root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {
            name: example_for_schema(sub, text, root) for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example_for_schema(schema.get("items", {}), text, root)] * schema.get("minItems", 1)
    return {"string": text, "integer": 0, "number": 0.0, "boolean": False, "null": None}.get(str(kind), text)


def _resolve_ref(root: Any, ref: str) -> Any:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def cut_at_stop(tokens: Sequence[str], stops: Sequence[str]) -> tuple[list[str], str | None]:
    """Tokens up to (not including) the earliest stop sequence, and the sequence that hit."""
    text = "".join(tokens)
    hits = [(text.find(stop), stop) for stop in stops if stop and stop in text]
    if not hits:
        return list(tokens), None
    position, stop = min(hits)
    kept: list[str] = []
    used = 0
    for token in tokens:
        if used + len(token) >= position:
            if position > used:
                kept.append(token[: position - used])
            break
        kept.append(token)
        used += len(token)
    return kept, stop
