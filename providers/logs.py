"""ProviderLog rows: opened pending before the upstream call, closed in one update after it.

Each write leaves a complete row, so a process that dies mid-call leaves a pending row that
the reaper (`reap_stuck`) marks failed; nothing is ever half written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from providers.errors import ProviderError
from providers.interface import GatewayRequest, Usage
from providers.models import LogState, ProviderLog


def request_record(request: GatewayRequest) -> dict[str, Any]:
    """What a log keeps of a request when the tenant stores content."""
    return {
        "system": request.system,
        "messages": [{"role": message.role, "content": message.content} for message in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "json_schema": dict(request.json_schema) if request.json_schema else None,
    }


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


def log_open(opening: LogOpening) -> int:
    """Write the pending row of an attempt on one provider; returns its id."""
    request = opening.request
    row = ProviderLog(
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
    row.save(force_insert=True)
    return row.pk


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


def log_close(log_id: int, closing: LogClosing) -> None:
    """Record how the attempt ended, in one update."""
    finished = timezone.now()
    usage = closing.usage or Usage(0, 0)
    fields: dict[str, Any] = {
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
    }
    if closing.error is not None:
        fields["error_code"] = closing.error.code.value
        fields["error_message"] = closing.error.message[:2000]
    if closing.response_text is not None:
        fields["response_json"] = {"text": closing.response_text, "finish_reason": closing.finish_reason}
    # The row was just written by this process; its id is the only key needed.
    ProviderLog.objects.dangerously_unscoped().filter(pk=log_id).update(**fields)


def log_refusal(opening: LogOpening, error: ProviderError) -> None:
    """A request refused before any upstream call (budget, rate, open circuit): one closed row."""
    now = timezone.now()
    request = opening.request
    ProviderLog(
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
        state=LogState.FAILED,
        attempts=0,
        error_code=error.code.value,
        error_message=error.message,
        started_at=now,
        finished_at=now,
        duration_ms=0,
    ).save(force_insert=True)


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
