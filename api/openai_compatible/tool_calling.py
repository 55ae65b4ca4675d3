"""Tool calling between OpenAI's Chat Completions and the gateway: the tools and the choice a
request offers, the results its `tool` messages carry, and the calls a reply asks for.

What is checked here needs more than one field: a tool name used twice, a `tool_choice`
naming no tool of the request, a `tool` message answering no call an earlier assistant
message made. Each is a 400 naming the field, before any provider is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.errors import ApiProblem
from api.openai_compatible.schemas import ChatCompletionRequest, ChatMessage
from api.openai_compatible.tool_schemas import NamedToolChoice
from providers.interface import Message, Tool, ToolCall, ToolChoice

# What a function without parameters takes: no arguments, as one empty object.
NO_PARAMETERS = {"type": "object", "properties": {}}


def invalid(param: str, message: str) -> ApiProblem:
    return ApiProblem(400, "invalid_value", message, param=param)


def gateway_tools(payload: ChatCompletionRequest) -> tuple[tuple[Tool, ...], ToolChoice]:
    """The request's functions and tool choice, in the gateway's terms. Without tools the
    choice is the default one: there is nothing to choose among."""
    tools: list[Tool] = []
    for index, definition in enumerate(payload.tools or []):
        function = definition.function
        if any(tool.name == function.name for tool in tools):
            raise invalid(
                f"tools.{index}.function.name",
                f"Two tools are named {function.name!r}: tool names must be unique.",
            )
        tools.append(Tool(function.name, function.description or "", function.parameters or NO_PARAMETERS))
    choice = payload.tool_choice
    if isinstance(choice, NamedToolChoice):
        if not any(tool.name == choice.function.name for tool in tools):
            raise invalid(
                "tool_choice",
                f"tool_choice names the function {choice.function.name!r}, which is not one of 'tools'.",
            )
        return tuple(tools), ToolChoice("tool", choice.function.name)
    if choice == "required" and not tools:
        raise invalid("tool_choice", "tool_choice 'required' needs 'tools' to choose from.")
    if choice is None or not tools:
        return tuple(tools), ToolChoice()
    return tuple(tools), ToolChoice(choice)


def assistant_calls(message: ChatMessage) -> tuple[ToolCall, ...]:
    """The calls an earlier assistant message asked for, their arguments as written."""
    return tuple(
        ToolCall(call.id, call.function.name, call.function.arguments) for call in message.tool_calls or []
    )


def tool_result(message: ChatMessage, index: int, text: str, asked: set[str]) -> Message:
    """A `tool` message as the gateway's tool turn; it must answer a call asked for before it."""
    field = f"messages.{index}.tool_call_id"
    if not message.tool_call_id:
        raise ApiProblem(400, "invalid_request", f"{field} is required in a 'tool' message.", param=field)
    if message.tool_call_id not in asked:
        raise invalid(
            field,
            f"{field} {message.tool_call_id!r} answers no tool call of an earlier assistant message.",
        )
    return Message("tool", text, tool_call_id=message.tool_call_id)


def tool_calls_body(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    """A reply's calls as OpenAI's `message.tool_calls`."""
    return [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        for call in calls
    ]
