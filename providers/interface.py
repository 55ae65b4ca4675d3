"""What goes into the gateway and what comes out of it, and what a provider kind implements.

Feature apps build a `GatewayRequest`; the router turns it into one `ProviderCall` per
attempt on a concrete provider and model; a provider kind answers a call with a
`KindCompletion`, a stream of `KindChunk`s, or raises `ProviderError`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from providers.errors import ErrorCode


class Task(StrEnum):
    """What a request is for; routing chooses providers per task."""

    CONVERSATION = "conversation"
    WORKFLOW = "workflow"
    CODEGEN = "codegen"
    DOCS = "docs"
    TESTS = "tests"
    API = "api"
    RUN = "run"  # an AI action node of a workflow run


class Capability(StrEnum):
    """What a model may be trusted with. A request names what it needs; routing passes over
    candidates that do not declare it, so a small model is used for what it does well."""

    # Writing words a person reads as the product's own: a question, proposed options.
    PHRASING = "phrasing"
    # Choosing among given options, or pulling values out of a short answer, under a schema.
    EXTRACTION = "extraction"
    # Writing a whole document to a schema: a workflow, a service plan.
    STRUCTURED_OUTPUT = "structured_output"
    CODE = "code"


ALL_CAPABILITIES = frozenset(Capability)


@dataclass(frozen=True)
class Tool:
    """A function the model may ask the caller to run; `parameters` is its JSON Schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolChoice:
    """Whether the model may (`auto`), must not (`none`), or must (`required`) call a tool,
    or must call the one named (`tool`)."""

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str = ""


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for. `arguments` is the JSON text the model wrote, kept as
    written (a client parses it; a model may write invalid JSON and the caller must see it)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    """A turn. An assistant turn may carry the tool calls it asked for; a `tool` turn is the
    result of one of them (`tool_call_id`), `is_error` when the tool failed."""

    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    is_error: bool = False


@dataclass(frozen=True)
class GatewayRequest:
    """A request to the gateway. `tenant_id` None means the platform (operators, CLI)."""

    task: Task
    messages: tuple[Message, ...]
    tenant_id: int | None = None
    user_id: int | None = None
    system: str = ""
    # Pin a provider (by name) and/or a model; otherwise the tenant's routing decides.
    provider: str | None = None
    model: str | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    # Structured output: the reply must be JSON matching this schema.
    json_schema: Mapping[str, Any] | None = None
    json_schema_name: str = "response"
    # Links recorded on the log row, e.g. {"conversation": "42"}.
    links: Mapping[str, str] = field(default_factory=dict)
    # What the model must be fit for; candidates that do not declare it are passed over.
    needs: frozenset[Capability] = frozenset()
    # Wall-clock budget for the whole request, retries and fallbacks included.
    deadline_seconds: float = 120.0
    # Functions the model may call; routing passes over kinds that cannot carry them.
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = ToolChoice()
    # The caller's id for this request (the public API's, on its answer headers); empty: the
    # gateway makes one. Log rows and the Completion carry it.
    request_id: str = ""

    @property
    def uses_tools(self) -> bool:
        """Whether the request gives tools or its turns carry tool calls or results: only a
        provider kind that carries tools can take it."""
        return bool(self.tools) or any(m.role == "tool" or m.tool_calls for m in self.messages)


@dataclass(frozen=True)
class ProviderCall:
    """One attempt on one provider with one model."""

    model: str
    messages: tuple[Message, ...]
    system: str = ""
    max_tokens: int = 1024
    temperature: float | None = None
    json_schema: Mapping[str, Any] | None = None
    json_schema_name: str = "response"
    # Seconds this attempt may take before it counts as a timeout.
    timeout: float = 60.0
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = ToolChoice()


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    # True when the provider reported nothing and the gateway counted for itself.
    estimated: bool = False


@dataclass(frozen=True)
class KindCompletion:
    text: str
    model: str
    # OpenAI's words: stop, length, content_filter, tool_calls.
    finish_reason: str
    usage: Usage | None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call. The first piece of call `index` carries its id and
    name; every piece may carry a fragment of its JSON arguments."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True)
class KindChunk:
    """A piece of a streamed reply: text, and on the last chunk the finish reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_call: ToolCallDelta | None = None


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    model: str
    usage: Usage | None


class ProviderKind(Protocol):
    """A client for one credential of one kind of provider (anthropic, openai, embedded)."""

    kind: str
    # Whether it passes tools, tool calls and tool results to its provider.
    carries_tools: bool

    async def complete(self, call: ProviderCall) -> KindCompletion: ...

    def stream(self, call: ProviderCall) -> AsyncGenerator[KindChunk, None]:
        """The reply in chunks; raises ProviderError, also mid-stream."""
        ...

    async def embed(self, texts: list[str], model: str) -> Embeddings: ...

    async def list_models(self) -> list[str]:
        """A zero-cost probe: proves the endpoint answers and the key is accepted."""
        ...


# --- What the gateway gives back ------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    request_id: str
    provider: str
    model: str
    text: str
    finish_reason: str
    usage: Usage
    cost_usd: float
    attempts: int
    fallback_from: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class EmbeddingResult:
    request_id: str
    provider: str
    model: str
    vectors: list[list[float]]
    usage: Usage
    cost_usd: float
    attempts: int


@dataclass(frozen=True)
class StartEvent:
    request_id: str
    provider: str
    model: str
    type: Literal["start"] = "start"


@dataclass(frozen=True)
class TokenEvent:
    index: int
    text: str
    type: Literal["token"] = "token"


@dataclass(frozen=True)
class ToolCallEvent:
    """A piece of a streamed tool call (see ToolCallDelta); `index` counts calls from 0."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True)
class UsageEvent:
    input_tokens: int
    output_tokens: int
    estimated: bool = False
    type: Literal["usage"] = "usage"


@dataclass(frozen=True)
class DoneEvent:
    finish_reason: str
    type: Literal["done"] = "done"


@dataclass(frozen=True)
class ErrorEvent:
    code: ErrorCode
    message: str
    retryable: bool
    # Seconds the caller should wait before trying again, when the failure says (a 429's).
    retry_after: float | None = None
    type: Literal["error"] = "error"


StreamEvent = StartEvent | TokenEvent | ToolCallEvent | UsageEvent | DoneEvent | ErrorEvent
