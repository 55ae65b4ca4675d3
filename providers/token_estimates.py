"""Token counts the gateway estimates for itself: quota holds, and usage nobody reported."""

from __future__ import annotations

from providers.interface import GatewayRequest, Usage


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token), used when none is reported."""
    return (len(text) + 3) // 4


def prompt_tokens(request: GatewayRequest) -> int:
    """The estimated size of a request's prompt: its system prompt and its messages."""
    return estimate_tokens(request.system) + sum(estimate_tokens(m.content) + 4 for m in request.messages)


def estimated_usage(request: GatewayRequest, output_text: str) -> Usage:
    """The usage of a reply whose provider reported none, flagged as estimated."""
    return Usage(prompt_tokens(request), estimate_tokens(output_text), estimated=True)
