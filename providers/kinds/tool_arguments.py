"""A tool call's arguments between the gateway's form (JSON text, as the model wrote it) and
the object that the Anthropic and Gemini APIs take and give."""

from __future__ import annotations

import json
from typing import Any

from providers.errors import ErrorCode, ProviderError
from providers.interface import ToolCall


def arguments_text(value: object) -> str:
    """An API's arguments object as JSON text, compact as OpenAI's models write it, so that
    a call reads the same whether it came whole or streamed; text stays as it came."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def arguments_object(call: ToolCall, *, provider: str) -> dict[str, Any]:
    """The arguments of an earlier call, to send back to an API that takes an object. A call
    another model made may carry invalid JSON, which such an API cannot be given."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ProviderError(
            ErrorCode.BAD_REQUEST,
            f"the arguments of tool call {call.id!r} ({call.name}) are not a JSON object, "
            f"which {provider} needs them to be",
            provider=provider,
        )
    return value
