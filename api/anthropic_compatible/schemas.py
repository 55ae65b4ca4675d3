"""The bodies of the Anthropic-compatible routes, as the Messages API defines them.

Requests are validated strictly, as Anthropic does: a string where a number belongs, or a
field the API does not know, is a 400 naming the field. Message content and the system
prompt come as a string or a list of text blocks; the gateway carries text only, so other
blocks (images, documents, tool use and results) are refused by name, never dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, WithJsonSchema
from pydantic_core import PydanticCustomError

# What a text block may carry besides its text; both only steer Anthropic's own caching and
# citations, which the gateway does not offer, and neither changes what the model reads.
TEXT_BLOCK_EXTRAS = frozenset({"cache_control", "citations"})


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
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise PydanticCustomError(
                "content_block", "block {index} should be an object with a 'type'", {"index": index}
            )
        if block["type"] != "text":
            raise PydanticCustomError(
                "unsupported_content_block",
                "block {index} is of type {kind}; this gateway takes text blocks only "
                "(images, documents, tool use and tool results are not supported yet)",
                {"index": index, "kind": repr(block["type"])},
            )
        if not isinstance(block.get("text"), str):
            raise PydanticCustomError(
                "content_block", "block {index} needs 'text' as a string", {"index": index}
            )
        unknown = sorted(set(block) - {"type", "text"} - TEXT_BLOCK_EXTRAS)
        if unknown:
            raise PydanticCustomError(
                "content_block",
                "block {index} has an unknown field {field}",
                {"index": index, "field": repr(unknown[0])},
            )
        texts.append(block["text"])
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
TextOrBlocks = Annotated[
    str,
    BeforeValidator(_flatten_text_blocks),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_BLOCK_SCHEMA}]}),
]

NOT_SUPPORTED = "Not supported by this gateway yet: a request that sets it is refused with a 400."


class InputMessage(Schema):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: TextOrBlocks = Field(
        description="A string, or a list of text blocks (joined by blank lines).",
        examples=["Say hello in French."],
    )


class MessageInput(Schema):
    """What every Messages call sends: the model, the conversation, the system prompt, and the
    features the gateway refuses by name rather than ignores."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(
        description=(
            "`auto`, a provider's name, `provider/model`, or a model name (GET /v1/models lists them)."
        ),
        examples=["auto"],
    )
    messages: list[InputMessage] = Field(min_length=1)
    system: TextOrBlocks = Field("", description="A string, or a list of text blocks.")
    tools: Any = Field(None, description=NOT_SUPPORTED)
    tool_choice: Any = Field(None, description=NOT_SUPPORTED)
    thinking: Any = Field(None, description=NOT_SUPPORTED)


class MessagesRequest(MessageInput):
    """`POST /v1/messages`."""

    max_tokens: int = Field(ge=1, description="Required, as Anthropic requires it.", examples=[256])
    stream: bool = Field(False, description="Answer as Server-Sent Events, in Anthropic's event sequence.")
    temperature: float | None = Field(None, ge=0, le=1)
    metadata: dict[str, Any] | None = Field(None, description="Accepted and not used.")
    service_tier: str | None = Field(None, description="Accepted and not used.")
    stop_sequences: list[str] | None = Field(None, description=NOT_SUPPORTED)
    top_p: float | None = Field(None, description=NOT_SUPPORTED)
    top_k: int | None = Field(None, description=NOT_SUPPORTED)
    output_config: Any = Field(None, description=NOT_SUPPORTED)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "auto",
                    "max_tokens": 256,
                    "system": "Answer in one sentence.",
                    "messages": [{"role": "user", "content": "What is a circuit breaker?"}],
                }
            ]
        }
    )


class CountTokensRequest(MessageInput):
    """`POST /v1/messages/count_tokens`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}]
        }
    )


class TextBlock(Schema):
    type: Literal["text"] = "text"
    text: str


class MessageUsage(Schema):
    input_tokens: int
    output_tokens: int
    # The gateway sends no cache hints upstream, so nothing is cached or read from a cache.
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class MessageResponse(Schema):
    """The reply: a Message, as the Messages API returns it."""

    id: str = Field(examples=["msg_5f0c2b6d0a8e4c1f9b3a7e2d4c6b8a0f"])
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str = Field(description="The model that answered.", examples=["claude-sonnet-4-5"])
    content: list[TextBlock] = Field(examples=[[{"type": "text", "text": "Bonjour !"}]])
    stop_reason: StopReason = Field(examples=["end_turn"])
    stop_sequence: str | None = None
    usage: MessageUsage


class CountTokensResponse(Schema):
    input_tokens: int = Field(
        description="An estimate (about four characters a token), not the provider's tokenizer.",
        examples=[14],
    )


class ErrorDetail(Schema):
    type: str = Field(examples=["not_found_error"])
    message: str = Field(examples=["The model 'gpt-9' does not exist or this key cannot use it."])


class ErrorResponse(Schema):
    """Every failure, in Anthropic's error shape."""

    type: Literal["error"] = "error"
    error: ErrorDetail
