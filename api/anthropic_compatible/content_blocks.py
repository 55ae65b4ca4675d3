"""The content blocks a Messages request carries: text, the model's earlier `tool_use`
calls, and the `tool_result`s that answer them.

Blocks are checked by hand, so a wrong one is reported at `messages.N.content` with its
number and what is wrong, as one sentence, rather than once per member of a union. Other
block types (images, documents, thinking) are refused by name, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# What a block may carry besides its own fields, by type: they steer Anthropic's own
# caching and citations, or say which of its own tool runners made a call (`caller`, on
# blocks a client sends back as it got them); the gateway offers none of these, and none
# changes what the model reads.
EXTRAS = {
    "text": frozenset({"cache_control", "citations"}),
    "tool_use": frozenset({"cache_control", "caller", "toolset_name"}),
    "tool_result": frozenset({"cache_control", "toolset_name"}),
}


def _flatten_text_blocks(value: Any) -> Any:
    """A string as is; a list of text blocks as their texts joined by blank lines.

    Anything else is left to the strict string check, which refuses it.
    """
    if not isinstance(value, list):
        if isinstance(value, str):
            return value
        raise PydanticCustomError("text_or_blocks", "Input should be a string or a list of text blocks")
    texts = []
    for index, block in enumerate(value):
        _check_type(block, index)
        if block["type"] != "text":
            raise PydanticCustomError(
                "unsupported_content_block",
                "block {index} is of type {kind}; only text blocks are taken here",
                {"index": index, "kind": repr(block["type"])},
            )
        texts.append(_checked(block, index, {"text": str})["text"])
    return "\n\n".join(texts)


_TEXT_BLOCK_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"const": "text"},
        "text": {"type": "string"},
        "cache_control": {"type": "object", "description": "Accepted and not used."},
    },
    "required": ["type", "text"],
}
_TEXT_OR_BLOCKS_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_BLOCK_SCHEMA}]}
TextOrBlocks = Annotated[str, BeforeValidator(_flatten_text_blocks), WithJsonSchema(_TEXT_OR_BLOCKS_SCHEMA)]


class TextInput(Schema):
    type: Literal["text"] = "text"
    text: str


class ToolUseInput(Schema):
    """A call the model made in an earlier assistant turn."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultInput(Schema):
    """What the caller's tool answered to the call `tool_use_id` (its text blocks joined)."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str = ""
    is_error: bool = False


InputBlock = TextInput | ToolUseInput | ToolResultInput

# What a field holds, by its type(s), as an error message says it.
Kind = type | tuple[type, ...]
_NAMES: dict[Kind, str] = {
    str: "a string",
    dict: "an object",
    bool: "a boolean",
    (str, list): "a string or a list of text blocks",
}


def _check_type(block: Any, index: int) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise PydanticCustomError(
            "content_block", "block {index} should be an object with a 'type'", {"index": index}
        )


def _checked(
    block: dict[str, Any], index: int, required: dict[str, Kind], optional: dict[str, Kind] | None = None
) -> dict[str, Any]:
    """`block`'s fields, each of its type, with none the API does not know."""
    optional = optional or {}
    for name, kind in (required | optional).items():
        if (name in required or name in block) and not isinstance(block.get(name), kind):
            raise PydanticCustomError(
                "content_block",
                "block {index} needs {field} as {kind}",
                {"index": index, "field": repr(name), "kind": _NAMES[kind]},
            )
    unknown = sorted(set(block) - {"type"} - set(required) - set(optional) - EXTRAS[block["type"]])
    if unknown:
        raise PydanticCustomError(
            "content_block",
            "block {index} has an unknown field {field}",
            {"index": index, "field": repr(unknown[0])},
        )
    return block


def _text(block: dict[str, Any], index: int) -> InputBlock:
    return TextInput(text=_checked(block, index, {"text": str})["text"])


def _tool_use(block: dict[str, Any], index: int) -> InputBlock:
    checked = _checked(block, index, {"id": str, "name": str, "input": dict})
    return ToolUseInput(id=checked["id"], name=checked["name"], input=checked["input"])


def _tool_result(block: dict[str, Any], index: int) -> InputBlock:
    checked = _checked(block, index, {"tool_use_id": str}, {"is_error": bool, "content": (str, list)})
    content = checked.get("content", "")
    try:
        text = _flatten_text_blocks(content)
    except PydanticCustomError as error:
        raise PydanticCustomError(
            "content_block",
            "block {index}'s content: {problem}",
            {"index": index, "problem": error.message()},
        ) from error
    return ToolResultInput(
        tool_use_id=checked["tool_use_id"], content=text, is_error=checked.get("is_error", False)
    )


_READERS: dict[str, Callable[[dict[str, Any], int], InputBlock]] = {
    "text": _text,
    "tool_use": _tool_use,
    "tool_result": _tool_result,
}


def _content_blocks(value: Any) -> list[InputBlock]:
    """A string as one text block; a list of blocks, each checked and typed."""
    if isinstance(value, str):
        return [TextInput(text=value)]
    if not isinstance(value, list):
        raise PydanticCustomError("text_or_blocks", "Input should be a string or a list of content blocks")
    blocks = []
    for index, block in enumerate(value):
        _check_type(block, index)
        reader = _READERS.get(block["type"])
        if reader is None:
            raise PydanticCustomError(
                "unsupported_content_block",
                "block {index} is of type {kind}; this gateway takes text, tool_use and tool_result "
                "blocks only (images and documents are not supported yet)",
                {"index": index, "kind": repr(block["type"])},
            )
        blocks.append(reader(block, index))
    return blocks


_CONTENT_SCHEMA = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "array",
            "items": {
                "oneOf": [
                    _TEXT_BLOCK_SCHEMA,
                    {
                        "type": "object",
                        "description": "In an assistant turn: a call the model made.",
                        "properties": {
                            "type": {"const": "tool_use"},
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "input": {"type": "object"},
                        },
                        "required": ["type", "id", "name", "input"],
                    },
                    {
                        "type": "object",
                        "description": "In a user turn: the result of the call `tool_use_id`.",
                        "properties": {
                            "type": {"const": "tool_result"},
                            "tool_use_id": {"type": "string"},
                            "content": _TEXT_OR_BLOCKS_SCHEMA,
                            "is_error": {"type": "boolean"},
                        },
                        "required": ["type", "tool_use_id"],
                    },
                ]
            },
        },
    ]
}
ContentBlocks = Annotated[list[InputBlock], BeforeValidator(_content_blocks), WithJsonSchema(_CONTENT_SCHEMA)]
