"""Request and response bodies of seed 004's inference API, as its clients send and read them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, get_args
from uuid import UUID

from ninja import Schema
from pydantic import Field, field_validator

from api.gateway_models import AUTO
from api.inference.models import InferenceRequest

MAX_PROMPT_CHARS = 200_000
MAX_SYSTEM_CHARS = 50_000
MAX_METADATA_BYTES = 16_384
MAX_OUTPUT_TOKENS = 32_768

StatusName = Literal["pending", "processing", "completed", "failed"]
STATUS_NAMES: dict[str, StatusName] = {name: name for name in get_args(StatusName)}


class InferIn(Schema):
    """A prompt to answer in the background (seed 004's `POST /api/v1/infer`)."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, examples=["What is Rust?"])
    session_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Groups requests of one conversation or user; a new one is made when absent.",
        examples=["optional-session-id"],
    )
    metadata: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Yours, kept with the request and shown by its status "
            f"(at most {MAX_METADATA_BYTES} bytes of JSON)."
        ),
        examples=[{"user": "alice", "priority": "high"}],
    )
    model: str = Field(
        default=AUTO,
        min_length=1,
        max_length=200,
        description=(
            "`auto` (the organization's routing), a provider's name, or `provider/model` (GET /v1/models)."
        ),
        examples=[AUTO],
    )
    system: str = Field(default="", max_length=MAX_SYSTEM_CHARS, description="A system prompt.")
    max_tokens: int = Field(default=1024, ge=1, le=MAX_OUTPUT_TOKENS, examples=[512])
    temperature: float | None = Field(default=None, ge=0, le=2, examples=[0.2])

    @field_validator("metadata")
    @classmethod
    def small_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
            raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
        return value


class SocketRequestIn(InferIn):
    """A request sent over `WS /api/v1/ws` (seed 004's JSON protocol)."""

    type: Literal["request"] = "request"
    stream: bool = Field(
        default=True, description="Send the answer's tokens as they come, before the result."
    )


class Usage(Schema):
    input_tokens: int | None = Field(examples=[12])
    output_tokens: int | None = Field(examples=[48])


class InferenceResult(Schema):
    """Seed 004's request/response body: where a request stands, and its answer once it has one."""

    request_id: UUID = Field(examples=["550e8400-e29b-41d4-a716-446655440000"])
    session_id: str = Field(examples=["123e4567-e89b-12d3-a456-426614174000"])
    status: StatusName = Field(examples=["completed"])
    result: str | None = Field(examples=["Rust is a systems programming language..."])
    error: str | None = Field(description="Why the request failed (null unless it did).", examples=[None])
    error_code: str | None = Field(examples=[None])
    model: str = Field(description="The model name as it was sent.", examples=[AUTO])
    provider: str | None = Field(description="The provider that answered.", examples=["anthropic"])
    provider_model: str | None = Field(description="Its model that answered.", examples=["claude-sonnet-5-5"])
    finish_reason: str | None = Field(examples=["stop"])
    usage: Usage | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the request and its result will be deleted.")


class InferenceStatus(Schema):
    """Where a request stands, without its answer."""

    request_id: UUID = Field(examples=["550e8400-e29b-41d4-a716-446655440000"])
    session_id: str = Field(examples=["123e4567-e89b-12d3-a456-426614174000"])
    status: StatusName = Field(examples=["processing"])
    model: str = Field(examples=[AUTO])
    provider: str | None = Field(examples=["anthropic"])
    provider_model: str | None = Field(examples=["claude-sonnet-5-5"])
    error: str | None = Field(examples=[None])
    error_code: str | None = Field(examples=[None])
    metadata: dict[str, Any] = Field(examples=[{"user": "alice", "priority": "high"}])
    last_event_id: int = Field(
        description="The number of the last event so far: `GET /api/v1/stream/{id}` resumes after it.",
        examples=[17],
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None


class ErrorOut(Schema):
    """SCE's error body (seed 000's shape)."""

    error: str = Field(examples=["not_found"])
    message: str = Field(examples=["There is no inference request 550e8400-e29b-41d4-a716-446655440000."])
    details: Any = None


def _or_none(value: str) -> str | None:
    return value or None


def result_of(request: InferenceRequest) -> InferenceResult:
    """The request as `POST /infer` and `GET /result/{id}` answer it."""
    finished = request.is_finished
    return InferenceResult(
        request_id=request.request_id,
        session_id=request.session_id,
        status=STATUS_NAMES[request.status],
        result=request.result if request.status == InferenceRequest.Status.COMPLETED else None,
        error=_or_none(request.error_message),
        error_code=_or_none(request.error_code),
        model=request.model,
        provider=_or_none(request.provider),
        provider_model=_or_none(request.provider_model),
        finish_reason=_or_none(request.finish_reason),
        usage=Usage(input_tokens=request.input_tokens, output_tokens=request.output_tokens)
        if finished
        else None,
        created_at=request.created_at,
        finished_at=request.finished_at,
        expires_at=request.expires_at,
    )


def status_of(request: InferenceRequest, last_event_id: int) -> InferenceStatus:
    """The request as `GET /status/{id}` answers it."""
    return InferenceStatus(
        request_id=request.request_id,
        session_id=request.session_id,
        status=STATUS_NAMES[request.status],
        model=request.model,
        provider=_or_none(request.provider),
        provider_model=_or_none(request.provider_model),
        error=_or_none(request.error_message),
        error_code=_or_none(request.error_code),
        metadata=request.metadata,
        last_event_id=last_event_id,
        created_at=request.created_at,
        started_at=request.started_at,
        finished_at=request.finished_at,
        expires_at=request.expires_at,
    )
