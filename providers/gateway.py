"""The gateway: every LLM call of the product goes through `complete`, `stream` or `embed`.

For each request: plan the candidates (routing), reserve quota, then for each candidate in
order — skip it if its circuit is open, try it with retries within the request's deadline
(providers/attempts.py), and fall back to the next on a fallback-able error. A stream falls
back only until its first token (a piece of text or of a tool call) reached the caller;
after that a failure ends it with an error event and the log says failed_partial. Every
candidate tried leaves a log row; usage is always recorded, estimated when not reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from providers.attempts import PROVIDER_GRACE_SECONDS, Attempts, open_attempts
from providers.errors import ErrorCode, ProviderError
from providers.interface import (
    Capability,
    Completion,
    DoneEvent,
    EmbeddingResult,
    ErrorEvent,
    GatewayRequest,
    KindChunk,
    Message,
    ProviderKind,
    StartEvent,
    StreamEvent,
    Task,
    TokenEvent,
    ToolCallEvent,
    Usage,
    UsageEvent,
)
from providers.kinds import DEFAULT_EMBEDDING_MODELS, ProviderConfig, client_for
from providers.log_row import LogRow
from providers.models import LogState
from providers.pricing import lookup
from providers.request_run import Operation, RequestRun
from providers.routing import Candidate, load_setup, plan_request, setup_for

T = TypeVar("T")


async def complete(request: GatewayRequest) -> Completion:
    """One reply, after retries and fallbacks; raises ProviderError when every option failed."""
    run = RequestRun(request, Operation.COMPLETE)
    candidates = await run.begin()
    try:
        candidate, row, reply = await _first_answer(
            run, candidates, lambda client, candidate, timeout: client.complete(run.call(candidate, timeout))
        )
        row.pieces.append(reply.text)
        row.tool_calls.add_calls(reply.tool_calls)
        row.usage, row.finish_reason = reply.usage, reply.finish_reason
        usage, cost = row.charge()
        await row.close(LogState.COMPLETED)
        return Completion(
            request_id=run.request_id,
            provider=candidate.config.name,
            model=reply.model or candidate.model,
            text=reply.text,
            finish_reason=reply.finish_reason,
            usage=usage,
            cost_usd=float(cost),
            attempts=row.attempts,
            fallback_from=row.opening.fallback_from,
            tool_calls=reply.tool_calls,
        )
    finally:
        await run.settle(Usage(0, 0), Decimal(0))


async def _first_answer(
    run: RequestRun,
    candidates: list[Candidate],
    ask: Callable[[ProviderKind, Candidate, float], Awaitable[T]],
    *,
    grace: float = PROVIDER_GRACE_SECONDS,
) -> tuple[Candidate, LogRow, T]:
    """The first answer to `ask(client, candidate, timeout)`, candidate by candidate.

    Raises the error of the last attempt when every candidate failed, and at once an error
    no other provider would escape.
    """
    for candidate in candidates:
        attempts = await open_attempts(run, candidate)
        if attempts is None:
            continue
        client = client_for(candidate.config)
        try:
            async for attempt in attempts:
                async with attempt:
                    answer = await attempt.upstream(ask(client, candidate, attempt.timeout), grace=grace)
                if attempt.succeeded:
                    return candidate, attempts.row, answer
        except asyncio.CancelledError:
            # The caller went away mid-call: its row says so now, not when the reaper comes.
            if attempts.row.state == LogState.PENDING:
                cancelled = ProviderError(ErrorCode.CANCELLED, "the caller went away")
                await asyncio.shield(attempts.row.close(LogState.CANCELLED, cancelled))
            raise
    raise run.exhausted()


async def fit_for(*, tenant_id: int | None, task: Task, needs: frozenset[Capability]) -> bool:
    """Whether a request of `task` needing `needs` has a provider to go to (no call made):
    features ask before offering what only a capable model does well."""
    try:
        plan_request(
            GatewayRequest(task=task, messages=(), tenant_id=tenant_id, needs=needs),
            await setup_for(tenant_id),
        )
    except ProviderError:
        return False
    return True


def fit_for_sync(*, tenant_id: int | None, task: Task, needs: frozenset[Capability]) -> bool:
    """`fit_for` for synchronous callers (views, Celery tasks); reads the setup afresh."""
    try:
        plan_request(
            GatewayRequest(task=task, messages=(), tenant_id=tenant_id, needs=needs), load_setup(tenant_id)
        )
    except ProviderError:
        return False
    return True


def complete_sync(request: GatewayRequest) -> Completion:
    """`complete` for synchronous callers (Celery tasks, management commands)."""
    return async_to_sync(complete)(request)


def _embedding_model(config: ProviderConfig) -> str | None:
    """The model a provider embeds with unless one is named; None if it serves no embeddings.
    An embeddings-only provider's default model is its embedding model."""
    if not config.completes:
        return config.default_model
    defaults = {
        "openai": settings.OPENAI_EMBEDDING_MODEL,
        "embedded": settings.EMBEDDED_MODEL_NAME,
        **DEFAULT_EMBEDDING_MODELS,
    }
    return defaults.get(config.kind)


def _embedding_candidates(run: RequestRun, planned: list[Candidate], model: str | None) -> list[Candidate]:
    """The planned candidates that serve embeddings, each with its embedding model and price."""
    prices = run.plan.prices if run.plan else {}
    candidates = []
    for candidate in planned:
        embedding_model = model or _embedding_model(candidate.config)
        if embedding_model is not None:
            price = lookup(prices, candidate.config.kind, embedding_model)
            candidates.append(replace(candidate, model=embedding_model, price=price))
    return candidates


async def embed(
    *,
    texts: Sequence[str],
    task: Task = Task.API,
    tenant_id: int | None = None,
    user_id: int | None = None,
    provider: str | None = None,
    model: str | None = None,
    links: Mapping[str, str] | None = None,
    request_id: str = "",
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
        request_id=request_id,
    )
    run = RequestRun(request, Operation.EMBED)
    candidates = _embedding_candidates(run, await run.begin(), model)
    try:
        if not candidates:
            raise ProviderError(ErrorCode.BAD_REQUEST, "none of the available providers serves embeddings")
        candidate, row, vectors = await _first_answer(
            run,
            candidates,
            lambda client, candidate, _timeout: client.embed(list(texts), candidate.model),
            grace=0,  # an embedding call carries no timeout of its own: the gateway's is the only one
        )
        row.usage = vectors.usage
        usage, cost = row.charge()
        await row.close(LogState.COMPLETED)
        return EmbeddingResult(
            request_id=run.request_id,
            provider=candidate.config.name,
            model=vectors.model or candidate.model,
            vectors=vectors.vectors,
            usage=usage,
            cost_usd=float(cost),
            attempts=row.attempts,
        )
    finally:
        await run.settle(Usage(0, 0), Decimal(0))


async def stream(request: GatewayRequest) -> AsyncGenerator[StreamEvent, None]:
    """Stream a reply as start/token/tool_call/usage/done events, or end with an error event.

    Never raises for provider failures: they become an `ErrorEvent`.
    """
    run = RequestRun(request, Operation.STREAM)
    try:
        candidates = await run.begin()
    except ProviderError as refusal:
        yield _error_event(refusal)
        return
    try:
        for candidate in candidates:
            attempts = await open_attempts(run, candidate)
            if attempts is None:
                continue
            # aclosing: if our caller goes away, the candidate's own cleanup (its log row)
            # runs now, not whenever the garbage collector finds it.
            async with aclosing(_stream_from(run, candidate, attempts)) as events:
                async for event in events:
                    yield event
            if attempts.row.state != LogState.FAILED:
                return  # answered, or cut short after its first token
        yield _error_event(run.exhausted())
    except ProviderError as fatal:
        # It failed before its first token, and no other provider would escape it.
        yield _error_event(fatal)
    finally:
        await asyncio.shield(run.settle(Usage(0, 0), Decimal(0)))


async def _stream_from(
    run: RequestRun, candidate: Candidate, attempts: Attempts
) -> AsyncGenerator[StreamEvent, None]:
    """Stream from one candidate: attempts until its first token, then to the end."""
    client = client_for(candidate.config)
    row = attempts.row
    try:
        async for attempt in attempts:
            call = run.call(candidate, attempt.timeout)
            async with (
                attempt,
                aclosing(client.stream(call)) as chunks,
                aclosing(attempt.chunks(chunks)) as timed,
            ):
                async for chunk in timed:
                    for event in _delivered(row, chunk):
                        if row.first_token_at is None:
                            row.first_token_at = timezone.now()
                            yield StartEvent(run.request_id, candidate.config.name, candidate.model)
                        yielded = time.monotonic()
                        yield event
                        row.suspended_seconds += time.monotonic() - yielded
                    if chunk.finish_reason:
                        row.finish_reason = chunk.finish_reason
                    if chunk.usage:
                        row.usage = chunk.usage
            if attempt.cut_short is not None:
                yield _error_event(attempt.cut_short)
                return
            if attempt.succeeded:
                if row.first_token_at is None:
                    yield StartEvent(run.request_id, candidate.config.name, candidate.model)
                usage, _cost = row.charge()
                yield UsageEvent(usage.input_tokens, usage.output_tokens, usage.estimated)
                yield DoneEvent(row.finish_reason or "stop")
                await row.close(LogState.COMPLETED)
                return
    finally:
        if row.state == LogState.PENDING:
            # The caller went away, here or at a yield: what was generated still counts.
            await row.close(LogState.CANCELLED, ProviderError(ErrorCode.CANCELLED, "the caller went away"))


def _delivered(row: LogRow, chunk: KindChunk) -> list[TokenEvent | ToolCallEvent]:
    """The events a chunk hands the caller, counted on the row before they are handed over:
    a caller may stop at any yield."""
    events: list[TokenEvent | ToolCallEvent] = []
    if chunk.text:
        row.pieces.append(chunk.text)
        events.append(TokenEvent(len(row.pieces) - 1, chunk.text))
    piece = chunk.tool_call
    if piece is not None:
        row.tool_calls.add(piece.index, id=piece.id, name=piece.name, arguments=piece.arguments)
        events.append(ToolCallEvent(piece.index, piece.id, piece.name, piece.arguments))
    return events


def _error_event(error: ProviderError) -> ErrorEvent:
    return ErrorEvent(error.code, error.message, error.code.retryable, error.retry_after)
