"""Token counts the gateway estimates for itself: quota holds, and usage nobody reported."""

from __future__ import annotations

from collections.abc import Sequence

from providers.interface import GatewayRequest, ToolCall, Usage
from providers.tool_calls import tool_calls_text, tools_text


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token), used when none is reported."""
    return (len(text) + 3) // 4


def prompt_tokens(request: GatewayRequest) -> int:
    """The estimated size of a request's prompt: its system prompt, its tool definitions and
    its messages (with the tool calls they carry)."""
    return (
        estimate_tokens(request.system)
        + estimate_tokens(tools_text(request.tools))
        + sum(estimate_tokens(m.content + tool_calls_text(m.tool_calls)) + 4 for m in request.messages)
    )


def estimated_usage(request: GatewayRequest, output_text: str, tool_calls: Sequence[ToolCall] = ()) -> Usage:
    """The usage of a reply whose provider reported none, flagged as estimated: its text and
    the tool calls it made."""
    return Usage(
        prompt_tokens(request), estimate_tokens(output_text + tool_calls_text(tool_calls)), estimated=True
    )
