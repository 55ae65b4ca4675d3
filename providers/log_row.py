"""The log row of the attempts on one candidate: written pending, filled as they go, closed once.

The row is written before any upstream call and closed exactly once, with how the attempts
ended. Unless they failed (completed, cut short, abandoned by the caller), the row counts
what was generated, estimated when the provider reported nothing, and settles the request's
quota hold with it; a failed row delivered nothing and costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from providers.errors import ProviderError
from providers.interface import Usage
from providers.log_writer import log_writer
from providers.logs import LogClosing, LogOpening
from providers.models import LogState
from providers.request_run import Operation, RequestRun
from providers.routing import Candidate
from providers.token_estimates import estimated_usage
from providers.tool_calls import ToolCallPieces
from providers.usage_counters import count_closed_call


@dataclass
class LogRow:
    """One candidate's ProviderLog row, and what its attempts produced so far."""

    run: RequestRun
    candidate: Candidate
    opening: LogOpening
    log_id: int
    attempts: int = 0
    upstream_seconds: float = 0.0  # spent waiting on the provider
    suspended_seconds: float = 0.0  # spent at a stream's `yield`, where the caller, not the gateway, runs
    pieces: list[str] = field(default_factory=list)  # the reply's text as it reached the caller
    tool_calls: ToolCallPieces = field(default_factory=ToolCallPieces)  # its tool calls, likewise
    usage: Usage | None = None  # as the provider reported it
    finish_reason: str = ""
    first_token_at: datetime | None = None
    state: LogState = LogState.PENDING  # until it is closed

    @classmethod
    async def open(cls, run: RequestRun, candidate: Candidate) -> LogRow:
        """Write the pending row; returns once it is committed."""
        opening = run.opening(candidate)
        return cls(run=run, candidate=candidate, opening=opening, log_id=await log_writer().open(opening))

    @property
    def delivered(self) -> bool:
        """Whether some of the reply (text or a tool call) reached the caller: from then on,
        no retry and no fallback."""
        return bool(self.pieces) or bool(self.tool_calls)

    def charge(self) -> tuple[Usage, Decimal]:
        """What the attempts cost: the reported usage, or one estimated from what was generated."""
        usage = self.usage or estimated_usage(self.run.request, "".join(self.pieces), self.tool_calls.calls)
        return usage, self.candidate.price.cost_usd(usage.input_tokens, usage.output_tokens)

    async def close(self, state: LogState, error: ProviderError | None = None) -> None:
        """Record how the attempts ended and, unless they failed, settle the quota hold."""
        # A failed row delivered nothing: no usage, cost, overhead or reply to record.
        charged = state != LogState.FAILED
        usage, cost = self.charge() if charged else (None, Decimal(0))
        overhead = time.monotonic() - self.run.started - self.upstream_seconds - self.suspended_seconds
        # Embeddings are vectors, not a reply worth keeping.
        keeps_reply = charged and self.opening.store_content and self.run.operation is not Operation.EMBED
        closing = LogClosing(
            state=state,
            attempts=self.attempts,
            started_at=self.run.started_at,
            usage=usage,
            cost_usd=cost,
            price_version=self.candidate.price.version if charged else "",
            error=error,
            first_token_at=self.first_token_at,
            overhead_ms=overhead * 1000 if charged else None,
            response_text="".join(self.pieces) if keeps_reply else None,
            finish_reason=self.finish_reason,
            tool_calls=self.tool_calls.calls if keeps_reply else (),
        )
        self.state = state
        writes = [
            log_writer().close(self.log_id, closing),
            count_closed_call(
                kind=self.opening.kind, model=self.opening.model, state=state, usage=usage, cost_usd=cost
            ),
        ]
        if usage is not None:
            writes.append(self.run.settle(usage, cost))
        # Side by side, and shielded: a caller that went away must not cut the record of what
        # it cost.
        await asyncio.shield(asyncio.gather(*writes))
