"""Tool calling on the OpenAI Chat Completions wire (openai_api.py, and so Azure and Groq).

What the API refuses in `tools`, `tool_choice` and the messages that carry tool calls and
tool results, in its own words (the one wording not taken from the API is marked), and
how a reply's tool calls look:

- whole: `message.tool_calls: [{"id": "call_…", "type": "function", "function": {"name",
  "arguments"}}]`, `content` null when the reply has no text;
- streamed: per call, one chunk whose delta is `{"tool_calls": [{"index", "id", "type":
  "function", "function": {"name", "arguments": ""}}]}`, then one per piece of the arguments,
  `{"tool_calls": [{"index", "function": {"arguments": "<piece>"}}]}` (a server that sends
  whole calls, as Groq does, puts all the arguments in the first);
- finish_reason `tool_calls`, except `stop` when `tool_choice` named the function (as the
  API does for a forced call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.emulators.script import HttpError
from tests.emulators.wire import Plan, dumps

INVALID = "invalid_request_error"
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
CHOICES = ("none", "auto", "required")


def _missing(param: str) -> HttpError:
    return HttpError(
        400,
        INVALID,
        f"Missing required parameter: '{param}'.",
        code="missing_required_parameter",
        param=param,
    )


def _wrong_type(param: str, expected: str, value: Any) -> HttpError:
    got = {bool: "a boolean", int: "an integer", float: "a number", list: "an array", dict: "an object"}.get(
        type(value), "null" if value is None else "a string"
    )
    return HttpError(
        400,
        INVALID,
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        code="invalid_type",
        param=param,
    )


def _function_problem(function: Any, where: str) -> HttpError | None:
    if not isinstance(function, dict):
        return _missing(where) if function is None else _wrong_type(where, "an object", function)
    name = function.get("name")
    if name is None:
        return _missing(f"{where}.name")
    if not isinstance(name, str):
        return _wrong_type(f"{where}.name", "a string", name)
    if not FUNCTION_NAME.match(name):
        return HttpError(
            400,
            INVALID,
            f"Invalid '{where}.name': string does not match pattern. Expected a string that matches the "
            "pattern '^[a-zA-Z0-9_-]+$'.",
            code="invalid_value",
            param=f"{where}.name",
        )
    return None


def _tools_problem(tools: Any) -> HttpError | None:
    if not isinstance(tools, list):
        return _wrong_type("tools", "an array", tools)
    if not tools:
        return HttpError(
            400,
            INVALID,
            "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array "
            "instead.",
            code="empty_array",
            param="tools",
        )
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            return _wrong_type(where, "an object", tool)
        if tool.get("type") != "function":
            return HttpError(
                400,
                INVALID,
                f"Invalid value: '{tool.get('type')}'. Supported values are: 'function' and 'custom'.",
                code="invalid_value",
                param=f"{where}.type",
            )
        problem = _function_problem(tool.get("function"), f"{where}.function")
        if problem is not None:
            return problem
    return None


def _names(tools: Any) -> set[str]:
    return {str(tool["function"]["name"]) for tool in tools or ()}


def _tool_choice_problem(choice: Any, tools: Any) -> HttpError | None:
    if choice is None:
        return None
    if not tools:
        return HttpError(
            400,
            INVALID,
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if isinstance(choice, str):
        if choice in CHOICES:
            return None
        return HttpError(
            400,
            INVALID,
            f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            code="invalid_value",
            param="tool_choice",
        )
    if not isinstance(choice, dict):
        return _wrong_type("tool_choice", "one of a string or an object", choice)
    problem = _function_problem(choice.get("function"), "tool_choice.function")
    if problem is not None:
        return problem
    name = choice["function"]["name"]
    if name not in _names(tools):
        # Our wording: the API refuses a forced function that is not among the tools.
        return HttpError(
            400,
            INVALID,
            f"Invalid value for 'tool_choice': function '{name}' is not among the 'tools'.",
            param="tool_choice",
        )
    return None


def _call_problem(call: Any, where: str) -> HttpError | None:
    if not isinstance(call, dict):
        return _wrong_type(where, "an object", call)
    if not isinstance(call.get("id"), str):
        return _missing(f"{where}.id")
    if call.get("type") != "function":
        return _missing(f"{where}.type")
    problem = _function_problem(call.get("function"), f"{where}.function")
    if problem is None and not isinstance(call["function"].get("arguments"), str):
        return _missing(f"{where}.function.arguments")
    return problem


def _unanswered(index: int, waiting: dict[str, None]) -> HttpError:
    return HttpError(
        400,
        INVALID,
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: " + ", ".join(waiting),
        param=f"messages.[{index}].role",
    )


def _messages_problem(messages: list[Any]) -> HttpError | None:
    """Every tool call answered by a `tool` message right after it, and no other tool message."""
    waiting: dict[str, None] = {}  # the last assistant turn's calls not answered yet, in order
    opened = 0
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                return _missing(f"messages[{index}].tool_call_id")
            if call_id not in waiting:
                return HttpError(
                    400,
                    INVALID,
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            del waiting[call_id]
            continue
        if waiting:
            return _unanswered(opened, waiting)
        calls = message.get("tool_calls") if role == "assistant" else None
        if calls:
            if not isinstance(calls, list):
                return _wrong_type(f"messages[{index}].tool_calls", "an array", calls)
            for number, call in enumerate(calls):
                problem = _call_problem(call, f"messages[{index}].tool_calls[{number}]")
                if problem is not None:
                    return problem
            waiting = {str(call["id"]): None for call in calls}
            opened = index
    return _unanswered(opened, waiting) if waiting else None


def validate_tool_use(body: dict[str, Any]) -> HttpError | None:
    """The first problem the API would report in a chat body's tools, tool choice and tool
    messages, if any (the body is otherwise valid)."""
    tools = body.get("tools")
    if tools is not None:
        problem = _tools_problem(tools)
        if problem is not None:
            return problem
    return _tool_choice_problem(body.get("tool_choice"), tools) or _messages_problem(body["messages"])


def forces_a_function(body: dict[str, Any]) -> bool:
    """Whether `tool_choice` names the function the reply must call."""
    return isinstance(body.get("tool_choice"), dict)


def message_tool_calls(plan: Plan) -> list[dict[str, Any]]:
    """A whole reply's `message.tool_calls`."""
    return [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        for call in plan.tool_calls
    ]


def tool_call_frames(plan: Plan, chunk: Callable[[bytes], bytes], *, whole_calls: bool) -> list[bytes]:
    """The stream frames of a reply's tool calls, one per piece of arguments (one per call
    with `whole_calls`); `chunk` wraps a delta into a chat.completion.chunk frame."""
    frames: list[bytes] = []
    for index, call in enumerate(plan.tool_calls):
        opening = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments if whole_calls else ""},
        }
        first = chunk(dumps({"tool_calls": [opening]}))
        if whole_calls:
            frames.append(first)
            continue
        pieces = [
            chunk(dumps({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
            for piece in call.pieces
        ]
        frames.extend([first + pieces[0], *pieces[1:]])
    return frames
