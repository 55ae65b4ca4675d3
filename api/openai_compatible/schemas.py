"""Bodies of the OpenAI-compatible routes, as the official `openai` clients send and read them.

Requests are validated here (a wrong type, a malformed tool schema, is a 400 naming the
field); what SCE's gateway cannot do (several choices, non-text content, the deprecated
`functions`) is refused in api.openai_compatible.conversion, with the parameter named.
Fields OpenAI takes that change nothing here (`user`, `seed`, `top_p`, penalties,
`metadata`, `parallel_tool_calls`...) are ignored, as unknown ones are. Responses are
built as plain dicts (exact nulls, no second validation on the hot path); the response
classes below document them and the tests hold the built dicts to them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, PlainValidator, model_validator

from api.openai_compatible.tool_schemas import (
    WEATHER_PARAMETERS,
    FunctionTool,
    ToolCallDelta,
    ToolCallObject,
    ToolChoiceParam,
)

MAX_OUTPUT_TOKENS = 128_000
MAX_EMBEDDING_INPUTS = 2048

UNSUPPORTED = (
    "Not supported by SCE's gateway: a request that sets it is refused with 400 `unsupported_parameter`."
)
DEPRECATED_FUNCTIONS = (
    "OpenAI's deprecated form of tool calling, not taken: send `tools` and `tool_choice` instead "
    "(a request that sets it is refused with 400 `unsupported_parameter`)."
)


class ChatContentPart(Schema):
    """One part of a message's content: SCE takes `text` parts only."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["text"])
    text: str | None = Field(default=None, examples=["What is in this file?"])


def _content(value: Any) -> str | list[dict[str, Any]] | None:
    """A message's content: a string, or an array of parts that each have a `type`.

    Validated by hand so that a wrong type is reported at `messages.N.content`, not under
    the names of the union's members.
    """
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ValueError("must be a string or an array of content parts")
    for index, part in enumerate(value):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise ValueError(f"part {index} must be an object with a string 'type'")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise ValueError(f"part {index} is a text part without a string 'text'")
    return value


MessageContent = Annotated[
    str | list[dict[str, Any]] | None,
    PlainValidator(_content, json_schema_input_type=str | list[ChatContentPart] | None),
]


class ChatMessage(Schema):
    """A message of the conversation. `system` and `developer` messages become the gateway's
    system prompt. An `assistant` message may carry the `tool_calls` the model asked for
    (its `content` then may be null); a `tool` message is the result of one of them, named by
    `tool_call_id`. `function` messages (deprecated) are refused."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"] = Field(examples=["user"])
    content: MessageContent = Field(default=None, examples=["Say hello in French."])
    name: str | None = None
    tool_calls: list[ToolCallObject] | None = Field(
        default=None, description="The calls an earlier assistant reply asked for."
    )
    tool_call_id: str | None = Field(
        default=None,
        description="In a `tool` message: the id of the call it answers.",
        examples=["call_7d3f…"],
    )
    function_call: Any = Field(default=None, description=DEPRECATED_FUNCTIONS)


class StreamOptions(Schema):
    include_usage: bool = Field(
        default=False,
        description="Send one more chunk before `data: [DONE]` with empty `choices` and the `usage`.",
    )


class JsonSchemaFormat(Schema):
    """The schema a structured reply must match."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["city"])
    description: str | None = None
    # Named otherwise in Python, where `schema` would shadow a BaseModel attribute.
    schema_document: dict[str, Any] = Field(
        default_factory=dict,
        alias="schema",
        examples=[{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}],
    )
    strict: bool | None = None


class ResponseFormat(Schema):
    """`text` (the default), `json_object` (any JSON object) or `json_schema`."""

    type: Literal["text", "json_object", "json_schema"] = Field(examples=["json_schema"])
    # Named otherwise in Python, where `json_schema` would shadow a Schema method.
    format: JsonSchemaFormat | None = Field(default=None, alias="json_schema")

    @model_validator(mode="after")
    def schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.format is None:
            raise ValueError("'json_schema' is required when type is 'json_schema'")
        return self


class ChatCompletionRequest(Schema):
    """`POST /v1/chat/completions`, as OpenAI's Chat Completions API takes it."""

    model: str = Field(
        min_length=1,
        max_length=200,
        description="`auto` (the organization's routing, with its fallbacks), a provider's name, "
        "`provider/model`, or a bare model name: GET /v1/models lists them.",
        examples=["auto"],
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = Field(default=False, description="Answer as Server-Sent Events.")
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS, examples=[256])
    max_completion_tokens: int | None = Field(
        default=None, ge=1, le=MAX_OUTPUT_TOKENS, description="Takes precedence over `max_tokens`."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, examples=[0.2])
    response_format: ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1, description="Only 1: SCE answers with one choice.")
    tools: list[FunctionTool] | None = Field(
        default=None,
        description="Functions the model may call. Routing passes over providers that cannot carry "
        "tools (the embedded model); a request pinned to one is refused with 400 `not_capable`.",
        examples=[
            [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_PARAMETERS}}]
        ],
    )
    tool_choice: ToolChoiceParam = Field(
        default=None,
        description="`auto` (the default with tools), `none`, `required`, or "
        '`{"type": "function", "function": {"name": …}}` naming one of `tools`.',
        examples=["auto"],
    )
    parallel_tool_calls: bool | None = Field(
        default=None, description="Accepted; the provider's own default applies."
    )
    functions: list[Any] | None = Field(default=None, description=DEPRECATED_FUNCTIONS)
    function_call: Any = Field(default=None, description=DEPRECATED_FUNCTIONS + " `none` is accepted.")
    stop: str | list[str] | None = Field(default=None, description=UNSUPPORTED)
    logprobs: bool | None = Field(default=None, description=UNSUPPORTED)
    top_logprobs: int | None = Field(default=None, description=UNSUPPORTED)
    audio: Any = Field(default=None, description=UNSUPPORTED)
    modalities: list[str] | None = Field(default=None, description="Only `text`.")
    prediction: Any = Field(default=None, description=UNSUPPORTED)


# --- Chat completion replies ------------------------------------------------------------


class CompletionUsage(Schema):
    prompt_tokens: int = Field(examples=[12])
    completion_tokens: int = Field(examples=[9])
    total_tokens: int = Field(examples=[21])


FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]


class AssistantMessage(Schema):
    """The reply. When it calls tools, `tool_calls` lists them (and `content` is null when
    the model wrote no text); the finish reason is then `tool_calls`."""

    role: Literal["assistant"]
    content: str | None = Field(examples=["Bonjour !"])
    refusal: None = None
    tool_calls: list[ToolCallObject] | None = Field(
        default=None,
        examples=[
            [
                {
                    "id": "call_7d3f0a9c2b1e4d5f",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'},
                }
            ]
        ],
    )


class ChatChoice(Schema):
    index: int = Field(examples=[0])
    message: AssistantMessage
    logprobs: None = None
    finish_reason: FinishReason = Field(examples=["stop"])


class ChatCompletion(Schema):
    """A whole reply. `id` is `chatcmpl-` and the gateway's request id (also `x-request-id`);
    `model` is the model that answered, after routing and any fallback."""

    id: str = Field(examples=["chatcmpl-req_4f1c2b0e9d8a4c6b8e7f6a5b4c3d2e1f"])
    object: Literal["chat.completion"]
    created: int = Field(examples=[1767225600])
    model: str = Field(examples=["claude-sonnet-4-5"])
    choices: list[ChatChoice]
    usage: CompletionUsage
    system_fingerprint: None = None


class ChatDelta(Schema):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(Schema):
    index: int
    delta: ChatDelta
    logprobs: None = None
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(Schema):
    """One `data:` event of a streamed reply. The first carries `delta.role`, the last choice
    chunk a `finish_reason`; tool calls come as `delta.tool_calls` pieces. With
    `stream_options.include_usage` one more has empty `choices` and the `usage` (`usage` is
    null on the others). Then `data: [DONE]`, unless the stream
    failed after it began: then a last `data: {"error": {...}}` event and no `[DONE]`."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: None = None


# --- Models -------------------------------------------------------------------------------


class ModelObject(Schema):
    """A name `model` takes. `owned_by` is the provider that serves it."""

    id: str = Field(examples=["team-anthropic/claude-sonnet-4-5"])
    object: Literal["model"]
    created: int = Field(examples=[1767225600])
    owned_by: str = Field(examples=["team-anthropic"])


class ModelObjectList(Schema):
    object: Literal["list"]
    data: list[ModelObject]


# --- Embeddings ---------------------------------------------------------------------------


def _embedding_input(value: Any) -> str | list[str]:
    """A text or a list of texts; token arrays (which only OpenAI's own tokenizer can read) and
    empty texts are refused with what is wrong, at `input`."""
    texts: list[Any] = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if not texts:
        raise ValueError("must be a string or a non-empty array of strings")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise ValueError(f"takes at most {MAX_EMBEDDING_INPUTS} texts")
    for index, text in enumerate(texts):
        if isinstance(text, int | list):
            raise ValueError("token arrays are not supported: send the texts as strings")
        if not isinstance(text, str):
            raise ValueError(f"item {index} is not a string")
        if not text:
            raise ValueError("texts must not be empty" if len(texts) > 1 else "must not be empty")
    return value if isinstance(value, str) else [str(text) for text in texts]


EmbeddingInput = Annotated[
    str | list[str], PlainValidator(_embedding_input, json_schema_input_type=str | list[str])
]


class EmbeddingRequest(Schema):
    """`POST /v1/embeddings`."""

    model: str = Field(min_length=1, max_length=200, examples=["text-embedding-3-small"])
    input: EmbeddingInput = Field(
        description=f"A text or a list of up to {MAX_EMBEDDING_INPUTS} texts (token arrays are not taken).",
        examples=["The food was delicious."],
    )
    encoding_format: Literal["float", "base64"] | None = Field(
        default="float",
        description="`base64`: little-endian float32, as OpenAI sends it (the SDK's default).",
    )
    dimensions: int | None = Field(
        default=None,
        ge=1,
        description="Shorter vectors, for models that allow it (OpenAI's text-embedding-3 family); "
        "400 `unsupported_parameter` for others.",
    )
    user: str | None = None


class EmbeddingObject(Schema):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(
        description="Floats, or a base64 string with `encoding_format: base64`."
    )


class EmbeddingUsage(Schema):
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(Schema):
    object: Literal["list"]
    data: list[EmbeddingObject]
    model: str = Field(examples=["text-embedding-3-small"])
    usage: EmbeddingUsage


# --- Errors -------------------------------------------------------------------------------


class OpenAIErrorDetail(Schema):
    message: str = Field(examples=["SCE answers with one choice: 'n' must be 1."])
    type: str = Field(examples=["invalid_request_error"])
    param: str | None = Field(examples=["n"])
    code: str | None = Field(examples=["unsupported_parameter"])


class OpenAIError(Schema):
    """Every failure, in OpenAI's shape: the official clients raise the class for its status."""

    error: OpenAIErrorDetail
