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
class Message:
    role: Literal["user", "assistant"]
    content: str


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
    finish_reason: str
    usage: Usage | None


@dataclass(frozen=True)
class KindChunk:
    """A piece of a streamed reply: text, and on the last chunk the finish reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    model: str
    usage: Usage | None


class ProviderKind(Protocol):
    """A client for one credential of one kind of provider (anthropic, openai, embedded)."""

    kind: str

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


StreamEvent = StartEvent | TokenEvent | UsageEvent | DoneEvent | ErrorEvent
