"""One gateway request across its candidates: its plan, quota hold, deadline and fallbacks."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from providers import quotas
from providers.errors import ErrorCode, ProviderError
from providers.interface import GatewayRequest, ProviderCall, Usage
from providers.log_writer import log_writer
from providers.logs import LogOpening
from providers.routing import Candidate, Plan, plan_request, setup_for
from providers.token_estimates import prompt_tokens

logger = logging.getLogger(__name__)


class Operation(StrEnum):
    """What the caller asked the gateway for."""

    COMPLETE = "complete"
    STREAM = "stream"
    EMBED = "embed"


@dataclass
class RequestRun:
    """The state of one gateway request across its candidates and attempts."""

    request: GatewayRequest
    operation: Operation
    request_id: str = ""
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=timezone.now)
    plan: Plan | None = None
    reservation: quotas.Reservation | None = None
    fallback_from: str = ""
    last_error: ProviderError | None = None

    def __post_init__(self) -> None:
        if not self.request_id:
            self.request_id = self.request.request_id or f"req_{uuid.uuid4().hex}"

    @property
    def deadline(self) -> float:
        return self.started + self.request.deadline_seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attempt_timeout(self) -> float:
        """Seconds the next attempt may take: the per-attempt limit, within the deadline."""
        return max(0.1, min(settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS, self.remaining()))

    def opening(self, candidate: Candidate | None) -> LogOpening:
        """The log row's opening for an attempt on `candidate` (None: refused before routing)."""
        return LogOpening(
            request=self.request,
            request_id=self.request_id,
            provider=candidate.config.name if candidate else "gateway",
            kind=candidate.config.kind if candidate else "",
            model=candidate.model if candidate else (self.request.model or ""),
            streamed=self.operation is Operation.STREAM,
            store_content=self.plan.store_content if self.plan else False,
            fallback_from=self.fallback_from,
        )

    def call(self, candidate: Candidate, timeout: float) -> ProviderCall:
        """The request as one attempt on `candidate` that may take `timeout` seconds."""
        request = self.request
        return ProviderCall(
            model=candidate.model,
            messages=request.messages,
            system=request.system,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            json_schema=request.json_schema,
            json_schema_name=request.json_schema_name,
            timeout=timeout,
            tools=request.tools,
            tool_choice=request.tool_choice,
        )

    async def begin(self) -> list[Candidate]:
        """Plan and reserve; a refusal is logged (unless no provider is fit) and raised."""
        try:
            self.plan = plan_request(
                self.request,
                await setup_for(self.request.tenant_id),
                embeddings=self.operation is Operation.EMBED,
            )
            limits = self.plan.limits
            if limits is not None and self.request.tenant_id is not None and not limits.unlimited:
                worst = prompt_tokens(self.request) + self.request.max_tokens
                dearest = max(
                    (float(c.price.cost_usd(prompt_tokens(self.request), self.request.max_tokens))
                     for c in self.plan.candidates),
                    default=0.0,
                )  # fmt: skip
                self.reservation = await quotas.reserve(
                    tenant_id=self.request.tenant_id,
                    request_id=self.request_id,
                    limits=limits,
                    tokens=worst,
                    cost_usd=dearest,
                    hold_seconds=self.request.deadline_seconds + 60,
                )
        except ProviderError as error:
            # No provider being fit for the request is routing's answer, not a failed call:
            # callers ask so on every question of an offline interview, and do without.
            if error.code is not ErrorCode.NOT_CAPABLE:
                candidate = self.plan.candidates[0] if self.plan else None
                await log_writer().refuse(self.opening(candidate), error)
            raise
        return list(self.plan.candidates)

    async def settle(self, usage: Usage, cost: Decimal) -> None:
        """Turn the quota hold into what the request cost; later calls do nothing."""
        if self.reservation is None:
            return
        try:
            await quotas.settle(
                self.reservation, tokens=usage.input_tokens + usage.output_tokens, cost_usd=float(cost)
            )
        except RedisError:
            # The hold is released by the stale-reservation reaper; the usage is in the log.
            logger.warning("could not settle quota of %s", self.request_id, exc_info=True)
        self.reservation = None

    def exhausted(self) -> ProviderError:
        """The error to report once every candidate failed."""
        return self.last_error or ProviderError(ErrorCode.SERVER_ERROR, "every provider failed")
