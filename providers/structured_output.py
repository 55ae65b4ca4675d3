"""Structured output from servers that cannot take a JSON schema: modes, prompts, checking.

A request with a JSON schema goes to an OpenAI-compatible server in the best mode its
model takes, one of:

  json_schema  the schema in `response_format`: the server constrains the reply to it.
  json_object  `response_format: {"type": "json_object"}` and the schema in the system
               prompt: the server guarantees JSON, not its shape (llama-cpp-python's server).
  prompt       no `response_format`; the schema and "reply with JSON only" in the system
               prompt (a server that takes neither: LM Studio refuses json_object).

A server's refusal of a mode steps the call down one (providers/kinds/openai.py), and the
step is remembered per provider and model (providers/model_traits.py). In the degraded
modes nothing upstream checks the shape, so the reply is parsed and validated here; one that
does not conform is INVALID_OUTPUT.

Validation uses `jsonschema`: pydantic validates its own models, not an arbitrary schema,
and the workflow schema (pydantic's export: $defs, $ref, discriminated unions) needs a full
implementation of the standard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match

from providers.errors import ErrorCode, ProviderError


class StructuredOutputMode(StrEnum):
    """How a schema is asked for, best first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"

    @property
    def degraded(self) -> bool:
        """Whether the server leaves the reply's shape unchecked (so the gateway checks it)."""
        return self is not StructuredOutputMode.JSON_SCHEMA

    def step_down(self) -> StructuredOutputMode | None:
        """The next mode to try when this one is refused; None when there is none left."""
        modes = list(StructuredOutputMode)
        index = modes.index(self)
        return modes[index + 1] if index + 1 < len(modes) else None

    def at_most(self, other: StructuredOutputMode) -> StructuredOutputMode:
        """The lesser of two modes (a mode learned is never raised by a later refusal)."""
        modes = list(StructuredOutputMode)
        return modes[max(modes.index(self), modes.index(other))]


def system_prompt(system: str, schema: Mapping[str, Any], name: str, mode: StructuredOutputMode) -> str:
    """The system prompt for `mode`: the caller's own, and in a degraded mode the schema the
    reply must follow (the server no longer receives it)."""
    if not mode.degraded:
        return system
    # Compact: the workflow schema is large, and every token of it is paid on every call.
    rendered = json.dumps(dict(schema), separators=(",", ":"), ensure_ascii=False)
    if mode is StructuredOutputMode.JSON_OBJECT:
        instruction = (
            f"Reply with one JSON object ({name}) that is valid against this JSON schema:\n{rendered}"
        )
    else:
        instruction = (
            "Reply with JSON only: one JSON value that is valid against the JSON schema below, "
            "with no other text before or after it and no code fence.\n"
            f"JSON schema ({name}):\n{rendered}"
        )
    return f"{system}\n\n{instruction}" if system else instruction


# A reply wrapped as a markdown code block, as models asked for "JSON only" often do anyway.
_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)


def bare_json(text: str) -> str:
    """The reply without surrounding whitespace and without a ```json fence around it."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    return fenced.group("body").strip() if fenced else stripped


def invalid_output(provider: str, problem: str) -> ProviderError:
    """The failure of a reply that is not what the schema asked for; `problem` is kept for
    the log row only (it quotes the model's reply)."""
    return ProviderError(
        ErrorCode.INVALID_OUTPUT,
        f"{provider}: {ErrorCode.INVALID_OUTPUT.summary}",
        provider=provider,
        detail=problem,
    )


def checked_reply(text: str, schema: Mapping[str, Any], *, provider: str) -> str:
    """The reply's bare JSON text, parsed and valid against `schema`; INVALID_OUTPUT if not."""
    bare = bare_json(text)
    try:
        value = json.loads(bare)
    except json.JSONDecodeError as error:
        raise invalid_output(provider, f"not JSON: {error}") from error
    problem = schema_violation(value, schema)
    if problem is not None:
        raise invalid_output(provider, problem)
    return bare


def schema_violation(value: Any, schema: Mapping[str, Any]) -> str | None:
    """What is wrong with `value` (decoded JSON) under `schema` (the most relevant error), or None."""
    schema = dict(schema)
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except SchemaError as error:
        # Our own schemas are constants, so this is a programming error, not the model's.
        raise ProviderError(
            ErrorCode.BAD_REQUEST, "the requested JSON schema is not valid", detail=error.message
        ) from error
    violation = best_match(validator_class(schema).iter_errors(value))
    if violation is None:
        return None
    return f"{violation.message} at {violation.json_path}"


class FenceStripper:
    """Takes a streamed reply piece by piece and passes it on without a ```json fence
    around it: an opening fence is held until it is complete (and dropped), and the last
    few characters are held until the end, where a closing fence is dropped."""

    # Long enough for "\n```" and trailing whitespace to be still held when the stream ends.
    HELD_TAIL = 8

    def __init__(self) -> None:
        self._head = ""  # the start of the reply, until it is known whether it opens a fence
        self._opened = False
        self._decided = False
        self._tail = ""

    def feed(self, text: str) -> str:
        """What of the reply so far may be passed on now."""
        if not self._decided:
            self._head += text
            start = self._head.lstrip()
            if start and not "```".startswith(start[:3]):
                self._decided = True
            elif "\n" in start:
                self._decided = True
                self._opened = start.startswith("```")
                if self._opened:
                    self._head = start.split("\n", 1)[1]
            if not self._decided:
                return ""
            text, self._head = self._head, ""
        pending = self._tail + text
        self._tail = pending[-self.HELD_TAIL :]
        return pending[: -self.HELD_TAIL] if len(pending) > self.HELD_TAIL else ""

    def finish(self) -> str:
        """The rest of the reply, without its closing fence."""
        rest = self._head + self._tail
        self._head = self._tail = ""
        if self._opened:
            stripped = rest.rstrip()
            if stripped.endswith("```"):
                return stripped[:-3].rstrip()
        return rest
