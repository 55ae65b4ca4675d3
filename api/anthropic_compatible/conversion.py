"""Between Anthropic's Messages API and the gateway: a request in, a Message out.

The gateway speaks one vocabulary whatever provider answers (an OpenAI-kind provider can
serve an Anthropic client): this module maps its finish reasons to Anthropic's stop
reasons, its request ids to message ids, tool_use / tool_result blocks to its tool calls
and tool turns, and refuses what the gateway cannot carry.

A reply's tool calls carry their arguments as the model wrote them (JSON text); a Message
needs each `input` as an object. Arguments that are not a JSON object (a model that wrote
broken JSON, typically one behind an OpenAI-kind provider) cannot be given to the client
as a tool_use block: the reply is refused as a 502 `api_error`, which the SDKs retry.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from api.anthropic_compatible.content_blocks import TextInput, ToolResultInput, ToolUseInput
from api.anthropic_compatible.schemas import (
    MessageInput,
    MessageResponse,
    MessagesRequest,
    MessageUsage,
    StopReason,
    TextBlock,
    ToolUseBlock,
)
from api.errors import ApiProblem
from api.gateway_models import ModelChoice
from api.models import ApiKey
from providers.interface import Completion, GatewayRequest, Message, Task, Tool, ToolCall, ToolChoice

# Parameters a client may send that the gateway cannot honour: refused by name, since
# answering without them would pretend (a reply that ignored the thinking it was asked for).
UNSUPPORTED = {
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

# Anthropic's tool choices in the gateway's words.
TOOL_CHOICES: dict[str, Literal["auto", "none", "required", "tool"]] = {
    "auto": "auto",
    "any": "required",
    "none": "none",
    "tool": "tool",
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


def bad_request(field: str, message: str) -> ApiProblem:
    """A 400 whose message starts with the field, as the validation errors' do."""
    return ApiProblem(400, "invalid_request", f"{field}: {message}", param=field)


def _tools(payload: MessageInput) -> tuple[tuple[Tool, ...], ToolChoice]:
    tools: list[Tool] = []
    for index, tool in enumerate(payload.tools or []):
        if any(known.name == tool.name for known in tools):
            raise bad_request(
                f"tools.{index}.name", f"two tools are named {tool.name!r}; names must be unique"
            )
        tools.append(Tool(tool.name, tool.description or "", tool.input_schema))
    choice = payload.tool_choice
    if choice is None or (not tools and choice.type in ("auto", "none")):
        return tuple(tools), ToolChoice()
    if not tools:
        raise bad_request(
            "tool_choice", f"a tool_choice of type {choice.type!r} needs 'tools' to choose from"
        )
    name = choice.name or ""
    if choice.type == "tool" and not any(tool.name == name for tool in tools):
        raise bad_request("tool_choice.name", f"{name!r} is not the name of one of 'tools'")
    return tuple(tools), ToolChoice(TOOL_CHOICES[choice.type], name)


def _messages(payload: MessageInput) -> tuple[Message, ...]:
    """The turns in the gateway's terms. A user turn's tool_result blocks become tool turns,
    then its text (if any) a user turn; each result must answer an earlier tool_use block."""
    asked: set[str] = set()
    messages: list[Message] = []
    for index, message in enumerate(payload.messages):
        texts = [block.text for block in message.content if isinstance(block, TextInput)]
        text = "\n\n".join(texts)
        if message.role == "assistant":
            calls = tuple(
                ToolCall(block.id, block.name, json.dumps(block.input, ensure_ascii=False))
                for block in message.content
                if isinstance(block, ToolUseInput)
            )
            asked.update(call.id for call in calls)
            messages.append(Message("assistant", text, tool_calls=calls))
            continue
        results = [
            (number, block)
            for number, block in enumerate(message.content)
            if isinstance(block, ToolResultInput)
        ]
        for number, block in results:
            if block.tool_use_id not in asked:
                raise bad_request(
                    f"messages.{index}.content.{number}.tool_use_id",
                    f"{block.tool_use_id!r} answers no tool_use block of an earlier assistant turn",
                )
            messages.append(
                Message("tool", block.content, tool_call_id=block.tool_use_id, is_error=block.is_error)
            )
        if texts or not results:
            messages.append(Message("user", text))
    return tuple(messages)


def gateway_request(
    payload: MessageInput, *, choice: ModelChoice, key: ApiKey, request_id: str = ""
) -> GatewayRequest:
    """The gateway request for `payload`, sent where `choice` says, on behalf of `key`'s tenant
    (`request_id`: the call's, api.request_ids; empty: the gateway makes one)."""
    refuse_unsupported(payload)
    settings: dict[str, Any] = {}
    if isinstance(payload, MessagesRequest):
        settings = {"max_tokens": payload.max_tokens, "temperature": payload.temperature}
    tools, tool_choice = _tools(payload)
    return GatewayRequest(
        task=Task.API,
        messages=_messages(payload),
        tenant_id=key.tenant_id,
        system=payload.system,
        provider=choice.provider,
        model=choice.model,
        links={"api_key": key.prefix},
        tools=tools,
        tool_choice=tool_choice,
        request_id=request_id,
        **settings,
    )


def stop_reason(finish_reason: str, *, called_tools: bool = False) -> StopReason:
    """Anthropic's stop reason for the gateway's finish reason (an Anthropic one passes); a
    reply that calls tools says `tool_use` even where its provider said it simply stopped."""
    reason = STOP_REASONS.get(finish_reason, "end_turn")
    return "tool_use" if called_tools and reason == "end_turn" else reason


def message_id(request_id: str) -> str:
    """The Message id of a gateway request: `msg_` and the id its log rows carry."""
    return "msg_" + request_id.removeprefix("req_")


def tool_input(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as a tool_use block's `input`; no arguments is an empty object."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ApiProblem(
            502,
            "invalid_tool_arguments",
            f"The model's arguments for the tool {call.name!r} are not a JSON object, so they cannot "
            "be given as a tool_use block's input; try the request again.",
        )
    return value


def message_response(completion: Completion) -> MessageResponse:
    """The Message a completed gateway request answers: its text, then its tool calls."""
    content: list[TextBlock | ToolUseBlock] = [TextBlock(text=completion.text)] if completion.text else []
    content += [
        ToolUseBlock(id=call.id, name=call.name, input=tool_input(call)) for call in completion.tool_calls
    ]
    return MessageResponse(
        id=message_id(completion.request_id),
        model=completion.model,
        content=content,
        stop_reason=stop_reason(completion.finish_reason, called_tools=bool(completion.tool_calls)),
        stop_sequence=None,
        usage=MessageUsage(
            input_tokens=completion.usage.input_tokens, output_tokens=completion.usage.output_tokens
        ),
    )
