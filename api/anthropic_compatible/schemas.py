"""The bodies of the Anthropic-compatible routes, as the Messages API defines them.

Requests are validated strictly, as Anthropic does: a string where a number belongs, or a
field the API does not know, is a 400 naming the field. Message content comes as a string
or a list of text, `tool_use` and `tool_result` blocks (api.anthropic_compatible.
content_blocks); the system prompt as a string or text blocks. Other blocks (images,
documents) and server tools are refused by name, never dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from api.anthropic_compatible.content_blocks import (
    ContentBlocks,
    InputBlock,
    TextOrBlocks,
    ToolResultInput,
    ToolUseInput,
)
from api.tool_checks import TOOL_NAME_PATTERN, arguments_schema_problem

WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}

NOT_SUPPORTED = "Not supported by this gateway yet: a request that sets it is refused with a 400."


class InputMessage(Schema):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: ContentBlocks = Field(
        description="A string, or a list of blocks: `text` (joined by blank lines), `tool_use` in "
        "assistant turns (the calls the model made), `tool_result` in user turns (what the "
        "tools answered; they become tool turns before the turn's text).",
        examples=["Say hello in French."],
    )

    @field_validator("content")
    @classmethod
    def blocks_fit_the_role(cls, blocks: list[InputBlock], info: ValidationInfo) -> list[InputBlock]:
        role = info.data.get("role")
        misplaced = ToolResultInput if role == "assistant" else ToolUseInput
        for index, block in enumerate(blocks):
            if isinstance(block, misplaced):
                owner = "user" if role == "assistant" else "assistant"
                raise PydanticCustomError(
                    "content_block",
                    "block {index} is a {kind} block, which only {owner} turns carry",
                    {"index": index, "kind": block.type, "owner": owner},
                )
        return blocks


class CustomTool(Schema):
    """A function the model may ask the caller to run. Server tools (web search, code
    execution, …: a `type` other than `custom`) are refused by name."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["custom"] | None = None
    name: str = Field(pattern=TOOL_NAME_PATTERN, examples=["get_weather"])
    description: str | None = Field(None, examples=["The current weather in a city."])
    input_schema: dict[str, Any] = Field(
        description="The input, as a JSON Schema of `type: object`.", examples=[WEATHER_SCHEMA]
    )
    cache_control: Any = Field(None, description="Accepted and not used.")
    strict: bool | None = Field(None, description="Accepted and not used.")
    eager_input_streaming: bool | None = Field(None, description="Accepted and not used.")

    @model_validator(mode="before")
    @classmethod
    def client_tools_only(cls, value: Any) -> Any:
        kind = value.get("type") if isinstance(value, dict) else None
        if kind not in (None, "custom"):
            raise PydanticCustomError(
                "server_tool",
                "{kind} is a server tool, which this gateway does not offer; define your own "
                "tool with name, description and input_schema",
                {"kind": repr(kind)},
            )
        return value

    @field_validator("input_schema")
    @classmethod
    def input_is_an_object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = arguments_schema_problem(value)
        if problem is not None:
            raise PydanticCustomError("tool_schema", problem)
        return value


class ToolChoiceSpec(Schema):
    """`auto` (the default), `any` (some tool), `tool` (the one `name`d) or `none`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["auto", "any", "tool", "none"] = Field(examples=["auto"])
    name: str | None = Field(None, description="With `type: tool`: the tool to call.")
    disable_parallel_tool_use: bool | None = Field(
        None, description="Accepted; the provider's own default applies."
    )

    @model_validator(mode="after")
    def name_with_tool_only(self) -> ToolChoiceSpec:
        if (self.type == "tool") != (self.name is not None):
            raise PydanticCustomError(
                "tool_choice", "'name' is required with type 'tool', and taken with no other type"
            )
        return self


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
    tools: list[CustomTool] | None = Field(
        None,
        description="Tools the model may call. Routing passes over providers that cannot carry "
        "tools (the embedded model); a request pinned to one is refused with a 400.",
    )
    tool_choice: ToolChoiceSpec | None = None
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
                },
                {
                    "model": "auto",
                    "max_tokens": 256,
                    "tools": [
                        {"name": "get_weather", "description": "The weather", "input_schema": WEATHER_SCHEMA}
                    ],
                    "messages": [
                        {"role": "user", "content": "The weather in Lyon?"},
                        {
                            "role": "assistant",
                            "content": [
                                {
                                    "type": "tool_use",
                                    "id": "toolu_01",
                                    "name": "get_weather",
                                    "input": {"city": "Lyon"},
                                }
                            ],
                        },
                        {
                            "role": "user",
                            "content": [
                                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "21 °C, sunny"}
                            ],
                        },
                    ],
                },
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


class ToolUseBlock(Schema):
    """A call the model asks for: run the tool `name` with `input`, then send a `tool_result`
    block with this `id`."""

    type: Literal["tool_use"] = "tool_use"
    id: str = Field(examples=["toolu_01A09q90qw90lq917835lq9"])
    name: str = Field(examples=["get_weather"])
    input: dict[str, Any] = Field(examples=[{"city": "Lyon"}])


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
    content: list[TextBlock | ToolUseBlock] = Field(
        description="Text, then the tool calls the model asks for (`stop_reason` is then `tool_use`).",
        examples=[[{"type": "text", "text": "Bonjour !"}]],
    )
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
