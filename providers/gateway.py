"""The gateway: every LLM call of the product goes through `complete`, `stream` or `embed`.

For each request: plan the candidates (routing), reserve quota, then for each candidate in
order — skip it if its circuit is open, try it with retries (exponential backoff with full
jitter, honouring Retry-After, within the request's deadline), and fall back to the next
on a fallback-able error. A stream falls back only until its first token reached the
caller; after that a failure ends it with an error event and the log says failed_partial.
Every attempt leaves a log row; usage is always recorded, estimated when not reported.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from providers import breaker, quotas
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    Completion,
    DoneEvent,
    EmbeddingResult,
    ErrorEvent,
    GatewayRequest,
    KindChunk,
    KindCompletion,
    Message,
    ProviderCall,
    StartEvent,
    StreamEvent,
    Task,
    TokenEvent,
    Usage,
    UsageEvent,
)
from providers.kinds import client_for
from providers.log_writer import log_writer
from providers.logs import LogClosing, LogOpening
from providers.models import LogState
from providers.pricing import lookup
from providers.routing import Candidate, Plan, plan_request, setup_for

logger = logging.getLogger(__name__)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token), used when none is reported."""
    return (len(text) + 3) // 4


def _prompt_tokens(request: GatewayRequest) -> int:
    return estimate_tokens(request.system) + sum(estimate_tokens(m.content) + 4 for m in request.messages)


def _estimated_usage(request: GatewayRequest, output_text: str) -> Usage:
    return Usage(_prompt_tokens(request), estimate_tokens(output_text), estimated=True)


@dataclass
class _Run:
    """The state of one gateway request across its candidates and attempts."""

    request: GatewayRequest
    streamed: bool
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=timezone.now)
    plan: Plan | None = None
    reservation: quotas.Reservation | None = None
    fallback_from: str = ""
    last_error: ProviderError | None = None

    @property
    def deadline(self) -> float:
        return self.started + self.request.deadline_seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def opening(self, candidate: Candidate | None) -> LogOpening:
        return LogOpening(
            request=self.request,
            request_id=self.request_id,
            provider=candidate.config.name if candidate else "gateway",
            kind=candidate.config.kind if candidate else "",
            model=candidate.model if candidate else (self.request.model or ""),
            streamed=self.streamed,
            store_content=self.plan.store_content if self.plan else False,
            fallback_from=self.fallback_from,
        )

    def call(self, candidate: Candidate) -> ProviderCall:
        request = self.request
        return ProviderCall(
            model=candidate.model,
            messages=request.messages,
            system=request.system,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            json_schema=request.json_schema,
            json_schema_name=request.json_schema_name,
            timeout=max(0.1, min(settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS, self.remaining())),
        )

    async def begin(self) -> list[Candidate]:
        """Plan and reserve; a refusal is logged and raised."""
        try:
            self.plan = plan_request(self.request, await setup_for(self.request.tenant_id))
            limits = self.plan.limits
            if limits is not None and self.request.tenant_id is not None and not limits.unlimited:
                worst = _prompt_tokens(self.request) + self.request.max_tokens
                dearest = max(
                    (float(c.price.cost_usd(_prompt_tokens(self.request), self.request.max_tokens))
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
            candidate = self.plan.candidates[0] if self.plan else None
            await log_writer().refuse(self.opening(candidate), error)
            raise
        return list(self.plan.candidates)

    async def settle(self, usage: Usage, cost: Decimal) -> None:
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

    async def _ask_breaker(self, candidate: Candidate) -> breaker.Admission:
        try:
            return await breaker.acquire(candidate.config.breaker_key)
        except RedisError:
            # Without breaker state, calling is better than refusing everything.
            logger.warning("breaker state unavailable for %s", candidate.config.breaker_key, exc_info=True)
            return breaker.Admission(allowed=True)

    async def open_attempt(self, candidate: Candidate) -> tuple[breaker.Admission, int] | None:
        """Ask the candidate's breaker and write the pending row, side by side.

        Both happen before any upstream call. An open circuit closes the row at once as
        refused, and the caller moves on to the next candidate (None).
        """
        opening = self.opening(candidate)
        admission, log_id = await asyncio.gather(self._ask_breaker(candidate), log_writer().open(opening))
        if admission.allowed:
            return admission, log_id
        error = ProviderError(
            ErrorCode.CIRCUIT_OPEN,
            f"{candidate.config.name} is failing; a probe is let through in {admission.retry_in:.0f}s",
            provider=candidate.config.name,
        )
        closing = LogClosing(state=LogState.FAILED, attempts=0, started_at=self.started_at, error=error)
        await log_writer().close(log_id, closing)
        self.last_error = error
        self.fallback_from = candidate.config.name
        return None

    async def on_failure(
        self, candidate: Candidate, admission: breaker.Admission, error: ProviderError
    ) -> bool:
        """Record a failed attempt with the breaker; True if the circuit is now open."""
        if not error.code.counts_for_breaker:
            return False
        try:
            state = await breaker.record_failure(candidate.config.breaker_key, probe=admission.probe)
        except RedisError:
            logger.warning("could not record failure for %s", candidate.config.breaker_key, exc_info=True)
            return False
        return state == breaker.BreakerState.OPEN

    async def on_success(self, candidate: Candidate, admission: breaker.Admission) -> None:
        if admission.clean:
            return  # nothing on record to reset: spare the round trip
        try:
            await breaker.record_success(candidate.config.breaker_key, probe=admission.probe)
        except RedisError:
            logger.warning("could not record success for %s", candidate.config.breaker_key, exc_info=True)

    async def wait_before_retry(self, error: ProviderError, attempt: int) -> bool:
        """Sleep before the next attempt on the same provider; False when it should not retry."""
        if not error.code.retryable or attempt >= settings.GATEWAY_MAX_ATTEMPTS:
            return False
        if error.retry_after is not None:
            if error.retry_after > settings.GATEWAY_MAX_RETRY_AFTER_SECONDS:
                return False
            delay = error.retry_after
        else:
            ceiling = min(
                settings.GATEWAY_BACKOFF_MAX_SECONDS,
                settings.GATEWAY_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1),
            )
            delay = random.uniform(0, ceiling)
        if delay >= self.remaining() - 0.05:
            return False
        await asyncio.sleep(delay)
        return True

    async def flag_rejected(self, candidate: Candidate, error: ProviderError) -> None:
        if candidate.config.credential_id is None or error.code not in (ErrorCode.AUTH, ErrorCode.PERMISSION):
            return
        from providers.services import credential_flag_rejected

        await sync_to_async(credential_flag_rejected)(
            credential_id=candidate.config.credential_id, reason=error.message
        )

    async def attempt_failed(
        self,
        candidate: Candidate,
        admission: breaker.Admission,
        log_id: int,
        error: ProviderError,
        attempt: int,
    ) -> bool:
        """After a failed attempt: True to try the same provider again (after the backoff);
        else the attempt's row is closed and the caller falls back (False) or, for an
        error no other provider would escape, the error is raised."""
        circuit_opened = await self.on_failure(candidate, admission, error)
        if not circuit_opened and not admission.probe and await self.wait_before_retry(error, attempt):
            return True
        closing = LogClosing(state=LogState.FAILED, attempts=attempt, started_at=self.started_at, error=error)
        await log_writer().close(log_id, closing)
        await self.flag_rejected(candidate, error)
        self.last_error = error
        if not error.code.fallbackable:
            raise error
        self.fallback_from = candidate.config.name
        return False

    def exhausted(self) -> ProviderError:
        return self.last_error or ProviderError(ErrorCode.SERVER_ERROR, "every provider failed")


def _normalize(error: BaseException, provider: str) -> ProviderError:
    if isinstance(error, ProviderError):
        if not error.provider:
            error.provider = provider
        return error
    if isinstance(error, TimeoutError):
        return ProviderError(ErrorCode.TIMEOUT, f"{provider} did not answer in time", provider=provider)
    logger.exception("unexpected error from %s", provider, exc_info=error)
    return ProviderError(
        ErrorCode.SERVER_ERROR, f"{provider} failed: {type(error).__name__}", provider=provider
    )


async def complete(request: GatewayRequest) -> Completion:
    """One reply, after retries and fallbacks; raises ProviderError when every option failed."""
    run = _Run(request, streamed=False)
    candidates = await run.begin()
    try:
        for candidate in candidates:
            opened = await run.open_attempt(candidate)
            if opened is None:
                continue
            completion = await _complete_on(run, candidate, *opened)
            if completion is not None:
                return completion
        raise run.exhausted()
    finally:
        await run.settle(Usage(0, 0), Decimal(0))


async def _complete_on(
    run: _Run, candidate: Candidate, admission: breaker.Admission, log_id: int
) -> Completion | None:
    """Try one candidate with retries: its Completion, or None to fall back (raises otherwise)."""
    client = client_for(candidate.config)
    opening = run.opening(candidate)
    upstream = 0.0
    attempt = 0
    while True:
        attempt += 1
        call = run.call(candidate)
        upstream_started = time.monotonic()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives together with the result.
            async with asyncio.timeout(call.timeout + 1.0):
                reply: KindCompletion = await client.complete(call)
        except Exception as raw:
            upstream += time.monotonic() - upstream_started
            if await run.attempt_failed(
                candidate, admission, log_id, _normalize(raw, candidate.config.name), attempt
            ):
                continue
            return None
        upstream += time.monotonic() - upstream_started
        break

    usage = reply.usage or _estimated_usage(run.request, reply.text)
    cost = candidate.price.cost_usd(usage.input_tokens, usage.output_tokens)
    total = time.monotonic() - run.started
    closing = LogClosing(
        state=LogState.COMPLETED,
        attempts=attempt,
        started_at=run.started_at,
        usage=usage,
        cost_usd=cost,
        price_version=candidate.price.version,
        overhead_ms=(total - upstream) * 1000,
        response_text=reply.text if opening.store_content else None,
        finish_reason=reply.finish_reason,
    )
    # Independent bookkeeping, side by side: the caller waits for the slowest, not the sum.
    await asyncio.gather(
        run.on_success(candidate, admission),
        run.settle(usage, cost),
        log_writer().close(log_id, closing),
    )
    return Completion(
        request_id=run.request_id,
        provider=candidate.config.name,
        model=reply.model or candidate.model,
        text=reply.text,
        finish_reason=reply.finish_reason,
        usage=usage,
        cost_usd=float(cost),
        attempts=attempt,
        fallback_from=opening.fallback_from,
    )


# Kinds that serve embeddings, and the model each uses unless one is named.
def _embedding_model(kind: str) -> str | None:
    return {"openai": settings.OPENAI_EMBEDDING_MODEL, "embedded": settings.EMBEDDED_MODEL_NAME}.get(kind)


async def embed(
    *,
    texts: Sequence[str],
    task: Task = Task.API,
    tenant_id: int | None = None,
    user_id: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    links: Mapping[str, str] | None = None,
) -> EmbeddingResult:
    """Vectors for `texts`, from the first candidate that serves embeddings.

    Routing, quotas, retries, fallback, breaker and logs work as for completions; providers
    without an embeddings API (Anthropic) are passed over.
    """
    if not texts or any(not text for text in texts):
        raise ProviderError(ErrorCode.BAD_REQUEST, "embeddings need one or more non-empty texts")
    request = GatewayRequest(
        task=task,
        messages=tuple(Message("user", text) for text in texts),
        tenant_id=tenant_id,
        user_id=user_id,
        provider=provider,
        max_tokens=0,
        links=links or {},
    )
    run = _Run(request, streamed=False)
    planned = await run.begin()
    prices = run.plan.prices if run.plan else {}
    candidates = []
    for candidate in planned:
        embedding_model = model or _embedding_model(candidate.config.kind)
        if embedding_model is not None:
            price = lookup(prices, candidate.config.kind, embedding_model)
            candidates.append(replace(candidate, model=embedding_model, price=price))
    try:
        if not candidates:
            raise ProviderError(ErrorCode.BAD_REQUEST, "none of the available providers serves embeddings")
        for candidate in candidates:
            opened = await run.open_attempt(candidate)
            if opened is None:
                continue
            result = await _embed_on(run, candidate, *opened, list(texts))
            if result is not None:
                return result
        raise run.exhausted()
    finally:
        await run.settle(Usage(0, 0), Decimal(0))


async def _embed_on(
    run: _Run, candidate: Candidate, admission: breaker.Admission, log_id: int, texts: list[str]
) -> EmbeddingResult | None:
    client = client_for(candidate.config)
    attempt = 0
    upstream = 0.0
    while True:
        attempt += 1
        timeout = max(0.1, min(settings.GATEWAY_ATTEMPT_TIMEOUT_SECONDS, run.remaining()))
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                vectors = await client.embed(texts, candidate.model)
        except Exception as raw:
            upstream += time.monotonic() - started
            if await run.attempt_failed(
                candidate, admission, log_id, _normalize(raw, candidate.config.name), attempt
            ):
                continue
            return None
        upstream += time.monotonic() - started
        break
    usage = vectors.usage or Usage(_prompt_tokens(run.request), 0, estimated=True)
    cost = candidate.price.cost_usd(usage.input_tokens, 0)
    closing = LogClosing(
        state=LogState.COMPLETED,
        attempts=attempt,
        started_at=run.started_at,
        usage=usage,
        cost_usd=cost,
        price_version=candidate.price.version,
        overhead_ms=(time.monotonic() - run.started - upstream) * 1000,
    )
    await asyncio.gather(
        run.on_success(candidate, admission), run.settle(usage, cost), log_writer().close(log_id, closing)
    )
    return EmbeddingResult(
        request_id=run.request_id,
        provider=candidate.config.name,
        model=vectors.model or candidate.model,
        vectors=vectors.vectors,
        usage=usage,
        cost_usd=float(cost),
        attempts=attempt,
    )


def complete_sync(request: GatewayRequest) -> Completion:
    """`complete` for synchronous callers (Celery tasks, management commands)."""
    return async_to_sync(complete)(request)


async def stream(request: GatewayRequest) -> AsyncGenerator[StreamEvent, None]:
    """Stream a reply as start/token/usage/done events, or end with an error event.

    Never raises for provider failures: they become an `ErrorEvent`.
    """
    run = _Run(request, streamed=True)
    try:
        candidates = await run.begin()
    except ProviderError as refusal:
        yield _error_event(refusal)
        return
    try:
        for candidate in candidates:
            opened = await run.open_attempt(candidate)
            if opened is None:
                continue
            outcome = _StreamOutcome()
            # aclosing: if our caller goes away, the attempt's own cleanup (its log row)
            # runs now, not whenever the garbage collector finds it.
            async with aclosing(_stream_on(run, candidate, *opened, outcome)) as events:
                async for event in events:
                    yield event
            if outcome.finished:
                return
            if outcome.fatal is not None:
                yield _error_event(outcome.fatal)
                return
        yield _error_event(run.exhausted())
    finally:
        await asyncio.shield(run.settle(Usage(0, 0), Decimal(0)))


def _error_event(error: ProviderError) -> ErrorEvent:
    return ErrorEvent(error.code, error.message, error.code.retryable)


@dataclass
class _Clock:
    """Time spent waiting on the upstream provider."""

    seconds: float = 0.0


async def _with_timeout(
    chunks: AsyncIterator[KindChunk], per_chunk_seconds: float, clock: _Clock
) -> AsyncGenerator[KindChunk, None]:
    """The chunks, each awaited for at most `per_chunk_seconds`, timing the provider."""
    while True:
        started = time.monotonic()
        try:
            async with asyncio.timeout(per_chunk_seconds):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        finally:
            clock.seconds += time.monotonic() - started
        yield chunk


@dataclass
class _StreamOutcome:
    finished: bool = False  # done or failed after tokens: the stream is over
    fatal: ProviderError | None = None  # failed before tokens, not fallback-able


async def _stream_on(
    run: _Run, candidate: Candidate, admission: breaker.Admission, log_id: int, outcome: _StreamOutcome
) -> AsyncGenerator[StreamEvent, None]:
    """Stream from one candidate with retries until its first token; then to the end."""
    client = client_for(candidate.config)
    opening = run.opening(candidate)
    text: list[str] = []
    first_token_at: datetime | None = None
    attempt = 0
    state = LogState.CANCELLED
    error: ProviderError | None = None
    usage: Usage | None = None
    finish_reason = ""
    upstream_clock = _Clock()
    suspended = 0.0  # time spent at `yield`, where the caller, not the gateway, runs
    try:
        while True:
            attempt += 1
            call = run.call(candidate)
            try:
                async with (
                    aclosing(client.stream(call)) as chunks,
                    aclosing(_with_timeout(chunks, call.timeout + 1.0, upstream_clock)) as timed,
                ):
                    async for chunk in timed:
                        if chunk.text:
                            if first_token_at is None:
                                first_token_at = timezone.now()
                                yield StartEvent(run.request_id, candidate.config.name, candidate.model)
                            # Counted before it is handed over: a caller may stop at any yield.
                            text.append(chunk.text)
                            yielded = time.monotonic()
                            yield TokenEvent(len(text) - 1, chunk.text)
                            suspended += time.monotonic() - yielded
                        if chunk.finish_reason:
                            finish_reason = chunk.finish_reason
                        if chunk.usage:
                            usage = chunk.usage
            except Exception as raw:
                error = _normalize(raw, candidate.config.name)
                circuit_opened = await run.on_failure(candidate, admission, error)
                if text:
                    # Tokens reached the caller: no retry, no fallback, or it would see a
                    # second beginning. The stream ends here, honestly.
                    state = LogState.FAILED_PARTIAL
                    yield _error_event(error)
                    outcome.finished = True
                    return
                if not circuit_opened and not admission.probe and await run.wait_before_retry(error, attempt):
                    error = None
                    continue
                state = LogState.FAILED
                await run.flag_rejected(candidate, error)
                run.last_error = error
                if error.code.fallbackable:
                    run.fallback_from = candidate.config.name
                else:
                    outcome.fatal = error
                return
            break

        await run.on_success(candidate, admission)
        if first_token_at is None:
            yield StartEvent(run.request_id, candidate.config.name, candidate.model)
        usage = usage or _estimated_usage(run.request, "".join(text))
        yield UsageEvent(usage.input_tokens, usage.output_tokens, usage.estimated)
        yield DoneEvent(finish_reason or "stop")
        state = LogState.COMPLETED
        outcome.finished = True
    finally:
        if state == LogState.FAILED:
            usage, cost = None, Decimal(0)
        else:
            # Completed, cut short or abandoned: what was generated counts, estimated if unreported.
            usage = usage or _estimated_usage(run.request, "".join(text))
            cost = candidate.price.cost_usd(usage.input_tokens, usage.output_tokens)
        total = time.monotonic() - run.started
        closing = LogClosing(
            state=state,
            attempts=attempt,
            started_at=run.started_at,
            usage=usage,
            cost_usd=cost,
            price_version=candidate.price.version if usage is not None else "",
            error=error
            if state != LogState.CANCELLED
            else ProviderError(ErrorCode.CANCELLED, "the caller went away"),
            first_token_at=first_token_at,
            overhead_ms=(total - upstream_clock.seconds - suspended) * 1000,
            response_text="".join(text) if opening.store_content else None,
            finish_reason=finish_reason,
        )
        bookkeeping = [log_writer().close(log_id, closing)]
        if usage is not None:
            bookkeeping.append(run.settle(usage, cost))
        # Shielded: a caller that went away must not cut the record of what it cost.
        await asyncio.shield(asyncio.gather(*bookkeeping))
