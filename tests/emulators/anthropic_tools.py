"""Tool use on the Anthropic Messages wire (anthropic_api.py).

What the API refuses in `tools`, `tool_choice` and the `tool_use` / `tool_result` blocks of
the messages, in its own words (but for a `tool_choice` naming no given tool: ours), and
how a reply's tool calls look:

- whole: after the text block (if any), one `{"type": "tool_use", "id": "toolu_…", "name",
  "input": {…}}` block per call; stop_reason `tool_use`;
- streamed: per call, `content_block_start` with `{"type": "tool_use", "id", "name",
  "input": {}}` (after the previous block's `content_block_stop`), a `content_block_delta`
  of `{"type": "input_json_delta", "partial_json": ""}`, then one per piece of the arguments'
  JSON, and the block's `content_block_stop`. A reply without text opens with its first
  tool_use block at index 0 (and `ping` after its empty delta).
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.wire import Plan, dumps

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
CHOICES = ("auto", "any", "tool", "none")


def event(name: str, data: Any) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def _blocks(message: Any, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """A message's content blocks of one type, with their positions."""
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [
        (n, block) for n, block in enumerate(content) if isinstance(block, dict) and block.get("type") == kind
    ]


def _tools_problem(tools: Any) -> str | None:
    if not isinstance(tools, list):
        return "tools: Input should be a valid list"
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            return f"tools.{index}: Input should be a valid dictionary"
        name = tool.get("name")
        if not isinstance(name, str):
            return f"tools.{index}.custom.name: Field required"
        if not TOOL_NAME.match(name):
            return f"tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            return f"tools.{index}.custom.input_schema: Field required"
        if schema.get("type") != "object":
            return f"tools.{index}.custom.input_schema.type: Input should be 'object'"
    return None


def _tool_choice_problem(choice: Any, tools: Any) -> str | None:
    if choice is None:
        return None
    if not isinstance(choice, dict) or choice.get("type") not in CHOICES:
        return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
    if choice["type"] == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            return "tool_choice.tool.name: Field required"
        if name not in {tool.get("name") for tool in tools or ()}:
            return f"Tool '{name}' not found in provided tools"
    return None


def _messages_problem(messages: list[Any], tools: Any) -> str | None:
    """Every tool_use answered by a tool_result in the very next (user) message, and every
    tool_result answering a tool_use of the message before it."""
    uses_tools = False
    for index, message in enumerate(messages):
        results = _blocks(message, "tool_result")
        previous = messages[index - 1] if index > 0 else None
        asked = {str(block.get("id")) for _n, block in _blocks(previous, "tool_use")}
        for position, block in results:
            uses_tools = True
            if block.get("tool_use_id") not in asked:
                return (
                    f"messages.{index}.content.{position}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        uses = _blocks(message, "tool_use")
        for position, block in uses:
            uses_tools = True
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                return f"messages.{index}.content.{position}.tool_use.id: Field required"
            if not isinstance(block.get("input"), dict):
                return (
                    f"messages.{index}.content.{position}.tool_use.input: Input should be a valid dictionary"
                )
        following = messages[index + 1] if index + 1 < len(messages) else None
        answered = {str(block.get("tool_use_id")) for _n, block in _blocks(following, "tool_result")}
        missing = [str(block["id"]) for _n, block in uses if block["id"] not in answered]
        if missing:
            return (
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately "
                f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )
    if uses_tools and not tools:
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
    return None


def validate_tool_use(body: dict[str, Any]) -> str | None:
    """The first problem the API would report in a body's tools, tool choice and tool blocks."""
    tools = body.get("tools")
    if tools is not None:
        problem = _tools_problem(tools)
        if problem is not None:
            return problem
    return _tool_choice_problem(body.get("tool_choice"), tools) or _messages_problem(body["messages"], tools)


def tool_use_blocks(plan: Plan) -> list[dict[str, Any]]:
    """A whole reply's tool_use content blocks."""
    return [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
        for call in plan.tool_calls
    ]


def _delta(index: int, partial_json: str) -> bytes:
    return event(
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": partial_json},
        },
    )


def tool_use_frames(plan: Plan, first_index: int) -> list[bytes]:
    """The stream frames of a reply's tool calls, one per piece of arguments, the first
    block at `first_index`. Each call's first frame closes the block before it (none when
    it is the reply's first block) and opens its own."""
    frames: list[bytes] = []
    for number, call in enumerate(plan.tool_calls):
        index = first_index + number
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        opening = (
            b""
            if index == 0
            else event("content_block_stop", {"type": "content_block_stop", "index": index - 1})
        )
        opening += event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
        )
        opening += _delta(index, "")
        if index == 0:
            opening += event("ping", {"type": "ping"})
        pieces = [_delta(index, piece) for piece in call.pieces]
        frames.extend([opening + pieces[0], *pieces[1:]])
    return frames
