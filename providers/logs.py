"""ProviderLog rows: opened pending before the upstream call, closed in one update after it.

Each write leaves a complete row, so a process that dies mid-call leaves a pending row that
the reaper (`reap_stuck`) marks failed; nothing is ever half written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from core.storable import storable_text
from providers.errors import ProviderError
from providers.interface import GatewayRequest, Message, ToolCall, Usage
from providers.models import LogState, ProviderLog
from providers.tool_calls import tool_call_record, tool_definition


def request_record(request: GatewayRequest) -> dict[str, Any]:
    """What a log keeps of a request when the tenant stores content (tools only when it has them)."""
    record: dict[str, Any] = {
        "system": request.system,
        "messages": [_message_record(message) for message in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json_schema": dict(request.json_schema) if request.json_schema else None,
    }
    if request.tools:
        record["tools"] = [tool_definition(tool) for tool in request.tools]
        choice = request.tool_choice
        record["tool_choice"] = (
            {"mode": choice.mode, "name": choice.name} if choice.name else {"mode": choice.mode}
        )
    return record


def _message_record(message: Message) -> dict[str, Any]:
    record: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        record["tool_calls"] = [tool_call_record(call) for call in message.tool_calls]
    if message.role == "tool":
        record["tool_call_id"] = message.tool_call_id
        if message.is_error:
            record["is_error"] = True
    return record


@dataclass(frozen=True)
class LogOpening:
    request: GatewayRequest
    request_id: str
    provider: str
    kind: str
    model: str
    streamed: bool
    store_content: bool
    fallback_from: str = ""


def pending_row(opening: LogOpening) -> ProviderLog:
    """The (unsaved) pending row of an attempt on one provider."""
    request = opening.request
    return ProviderLog(
        tenant_id=request.tenant_id,
        user_id=request.user_id,
        request_id=opening.request_id,
        task=str(request.task),
        provider=opening.provider,
        kind=opening.kind,
        model=opening.model,
        streamed=opening.streamed,
        fallback_from=opening.fallback_from,
        links=dict(request.links),
        request_json=request_record(request) if opening.store_content else None,
    )


@dataclass(frozen=True)
class LogClosing:
    state: LogState
    attempts: int
    started_at: datetime
    usage: Usage | None = None
    cost_usd: Decimal = Decimal(0)
    price_version: str = ""
    error: ProviderError | None = None
    first_token_at: datetime | None = None
    overhead_ms: float | None = None
    response_text: str | None = None
    finish_reason: str = ""
    # The reply's tool calls, kept with its text (so only when the text is).
    tool_calls: tuple[ToolCall, ...] = ()


# Written when an attempt ends: every column, so one statement shape serves every row.
CLOSING_COLUMNS = [
    "state", "attempts", "input_tokens", "output_tokens", "usage_estimated", "cost_usd", "price_version",
    "first_token_at", "finished_at", "duration_ms", "gateway_overhead_ms", "error_code", "error_message",
    "response_json",
]  # fmt: skip


def _closing_values(closing: LogClosing, finished: datetime) -> dict[str, Any]:
    usage = closing.usage or Usage(0, 0)
    error = closing.error
    return {
        "state": closing.state,
        "attempts": closing.attempts,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "usage_estimated": usage.estimated,
        "cost_usd": closing.cost_usd,
        "price_version": closing.price_version,
        "first_token_at": closing.first_token_at,
        "finished_at": finished,
        "duration_ms": max(0, int((finished - closing.started_at).total_seconds() * 1000)),
        "gateway_overhead_ms": closing.overhead_ms,
        "error_code": error.code.value if error is not None else "",
        "error_message": storable_text(error.recorded_message[:2000]) if error is not None else "",
        "response_json": _response_record(closing),
    }


def _response_record(closing: LogClosing) -> dict[str, Any] | None:
    if closing.response_text is None:
        return None
    record: dict[str, Any] = {"text": closing.response_text, "finish_reason": closing.finish_reason}
    if closing.tool_calls:
        record["tool_calls"] = [tool_call_record(call) for call in closing.tool_calls]
    return record


def log_close_many(closings: list[tuple[int, LogClosing]]) -> None:
    """Record how attempts ended: one parameterized UPDATE run for all of them.

    The ORM's update() builds a query per row; under load that cost, paid inside one
    batch, was most of the gateway's overhead. Values still go through each field's own
    database preparation (decimals, datetimes, JSON).
    """
    if not closings:
        return
    finished = timezone.now()
    rows = []
    for log_id, closing in closings:
        values = _closing_values(closing, finished)
        prepared = [field.get_db_prep_save(values[field.name], connection) for field in _closing_fields()]
        rows.append([*prepared, log_id])
    with connection.cursor() as cursor:
        cursor.executemany(_closing_sql(), rows)


def _closing_fields() -> list[models.Field[Any, Any]]:
    fields = [ProviderLog._meta.get_field(name) for name in CLOSING_COLUMNS]
    return [field for field in fields if isinstance(field, models.Field)]


def _closing_sql() -> str:
    """UPDATE … SET col = %s, … WHERE id = %s, from the model's own table and column names."""
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in _closing_fields() if field.column)
    return f"UPDATE {quote(ProviderLog._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"


def log_close(log_id: int, closing: LogClosing) -> None:
    """Record how one attempt ended."""
    log_close_many([(log_id, closing)])


def refused_row(opening: LogOpening, error: ProviderError) -> ProviderLog:
    """The (unsaved) row of a request refused before any upstream call (budget, rate limit)."""
    row = pending_row(opening)
    row.started_at = row.finished_at = timezone.now()
    row.state = LogState.FAILED
    row.attempts = 0
    row.error_code = error.code.value
    row.error_message = storable_text(error.message)
    row.duration_ms = 0
    return row


def reap_stuck(*, older_than: timedelta) -> int:
    """Fail every row left pending longer than `older_than`: its process died mid-call."""
    cutoff = timezone.now() - older_than
    return (
        ProviderLog.objects.dangerously_unscoped()
        .filter(state=LogState.PENDING, started_at__lt=cutoff)
        .update(
            state=LogState.FAILED,
            error_code="cancelled",
            error_message="the process handling this call stopped before it finished",
            finished_at=timezone.now(),
        )
    )
