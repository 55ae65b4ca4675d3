"""Between Anthropic's Messages API and the gateway: a request in, a Message out.

The gateway speaks one vocabulary whatever provider answers (an OpenAI-kind provider can
serve an Anthropic client): this module maps its finish reasons to Anthropic's stop
reasons and its request ids to message ids, and refuses what the gateway cannot carry.
"""

from __future__ import annotations

from typing import Any, get_args

from api.anthropic_compatible.schemas import (
    MessageInput,
    MessageResponse,
    MessagesRequest,
    MessageUsage,
    StopReason,
    TextBlock,
)
from api.errors import ApiProblem
from api.gateway_models import ModelChoice
from api.models import ApiKey
from providers.interface import Completion, GatewayRequest, Message, Task

# Parameters a client may send that the gateway cannot honour: refused by name, since
# answering without them would pretend (a reply that ignored the tools it was given).
UNSUPPORTED = {
    "tools": "tool use",
    "tool_choice": "tool use",
    "thinking": "extended thinking",
    "stop_sequences": "stop sequences",
    "top_p": "top_p sampling",
    "top_k": "top_k sampling",
    "output_config": "output_config",
}

# The gateway's finish reasons (OpenAI's words, providers/kinds/anthropic.py) in Anthropic's.
# An Anthropic stop reason (from an Anthropic-kind provider) passes as it is.
STOP_REASONS: dict[str, StopReason] = {
    **{reason: reason for reason in get_args(StopReason)},
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}


def refuse_unsupported(payload: MessageInput) -> None:
    """400 for the first feature the request asks for that the gateway does not offer."""
    for name, feature in UNSUPPORTED.items():
        value: Any = getattr(payload, name, None)
        if value is None or value == [] or value == {}:
            continue
        raise ApiProblem(
            400,
            "unsupported_parameter",
            f"{name}: this gateway does not support {feature} yet; send the request without it.",
            param=name,
        )


def gateway_request(payload: MessageInput, *, choice: ModelChoice, key: ApiKey) -> GatewayRequest:
    """The gateway request for `payload`, sent where `choice` says, on behalf of `key`'s tenant."""
    refuse_unsupported(payload)
    settings: dict[str, Any] = {}
    if isinstance(payload, MessagesRequest):
        settings = {"max_tokens": payload.max_tokens, "temperature": payload.temperature}
    return GatewayRequest(
        task=Task.API,
        messages=tuple(Message(message.role, message.content) for message in payload.messages),
        tenant_id=key.tenant_id,
        system=payload.system,
        provider=choice.provider,
        model=choice.model,
        links={"api_key": key.prefix},
        **settings,
    )


def stop_reason(finish_reason: str) -> StopReason:
    """Anthropic's stop reason for the gateway's finish reason (an Anthropic one passes)."""
    return STOP_REASONS.get(finish_reason, "end_turn")


def message_id(request_id: str) -> str:
    """The Message id of a gateway request: `msg_` and the id its log rows carry."""
    return "msg_" + request_id.removeprefix("req_")


def message_response(completion: Completion) -> MessageResponse:
    """The Message a completed gateway request answers."""
    return MessageResponse(
        id=message_id(completion.request_id),
        model=completion.model,
        content=[TextBlock(text=completion.text)] if completion.text else [],
        stop_reason=stop_reason(completion.finish_reason),
        stop_sequence=None,
        usage=MessageUsage(
            input_tokens=completion.usage.input_tokens, output_tokens=completion.usage.output_tokens
        ),
    )
