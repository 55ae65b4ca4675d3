"""The gateway's one attempt loop, shared by completions, streams and embeddings.

Each candidate's attempts are iterated, and each attempt's upstream call runs inside it:

    async for attempt in attempts:
        async with attempt:
            reply = await attempt.upstream(client.complete(run.call(candidate, attempt.timeout)))
        if attempt.succeeded:
            ...

An attempt waits for its provider at most its timeout (the per-attempt limit, within the
request's deadline). A failed one is retried on the same provider after a backoff
(exponential with full jitter, or the provider's Retry-After) unless the circuit opened,
the attempt was the breaker's probe, no retry fits in the deadline — or part of the reply
already reached the caller, which then must not see a second beginning. Otherwise the
candidate's row is closed and the loop ends: the caller falls back to the next candidate,
or, for an error no other provider would escape, the error is raised. The candidate's
breaker hears of every success and every failure that counts against it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from types import TracebackType
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from providers import breaker
from providers.errors import ErrorCode, ProviderError
from providers.interface import KindChunk
from providers.log_row import LogRow
from providers.models import LogState
from providers.request_run import RequestRun
from providers.routing import Candidate
from providers.services import credential_flag_rejected

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long past its timeout a provider that was told the timeout (ProviderCall.timeout) is
# waited for, so that its own, more specific error comes first.
PROVIDER_GRACE_SECONDS = 1.0


async def open_attempts(run: RequestRun, candidate: Candidate) -> Attempts | None:
    """Ask the candidate's breaker and write its pending row, side by side.

    Both happen before any upstream call. An open circuit closes the row at once as
    refused, and the caller moves on to the next candidate (None).
    """
    admission, row = await asyncio.gather(_ask_breaker(candidate), LogRow.open(run, candidate))
    if admission.allowed:
        return Attempts(run, candidate, admission, row)
    error = ProviderError(
        ErrorCode.CIRCUIT_OPEN,
        f"{candidate.config.name} is failing; a probe is let through in {admission.retry_in:.0f}s",
        provider=candidate.config.name,
    )
    await row.close(LogState.FAILED, error)
    run.last_error = error
    run.fallback_from = candidate.config.name
    return None


async def _ask_breaker(candidate: Candidate) -> breaker.Admission:
    try:
        return await breaker.acquire(candidate.config.breaker_key)
    except RedisError:
        # Without breaker state, calling is better than refusing everything.
        logger.warning("breaker state unavailable for %s", candidate.config.breaker_key, exc_info=True)
        return breaker.Admission(allowed=True)


def _normalize(error: BaseException, provider: str) -> ProviderError:
    """Any failure of an attempt as a ProviderError naming the provider."""
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


class Attempts:
    """The attempts on one candidate, one per iteration until one succeeds or none is left."""

    def __init__(
        self, run: RequestRun, candidate: Candidate, admission: breaker.Admission, row: LogRow
    ) -> None:
        self.run = run
        self.candidate = candidate
        self.admission = admission
        self.row = row
        self.finished = False

    def __aiter__(self) -> Attempts:
        return self

    async def __anext__(self) -> Attempt:
        if self.finished:
            raise StopAsyncIteration
        self.row.attempts += 1
        return Attempt(self, timeout=self.run.attempt_timeout())

    async def ended(self, attempt: Attempt, raised: BaseException | None) -> bool:
        """Account for an attempt that ended; True when what it raised has been dealt with."""
        if raised is None:
            attempt.succeeded = self.finished = True
            await self._record_success()
            return False
        if not isinstance(raised, Exception):
            return False  # cancelled, or the caller closed the stream: not the provider's failure
        error = _normalize(raised, self.candidate.config.name)
        circuit_opened = await self._record_failure(error)
        if self.row.delivered:
            # No retry, no fallback, or the caller would see a second beginning: the reply
            # ends here, honestly.
            attempt.cut_short = error
            self.finished = True
            await self.row.close(LogState.FAILED_PARTIAL, error)
            return True
        if not circuit_opened and not self.admission.probe and await self._wait_before_retry(error):
            return True
        self.finished = True
        await self.row.close(LogState.FAILED, error)
        await self._flag_rejected(error)
        self.run.last_error = error
        if not error.code.fallbackable:
            raise error
        self.run.fallback_from = self.candidate.config.name
        return True

    async def _record_success(self) -> None:
        if self.admission.clean:
            return  # nothing on record to reset: spare the round trip
        try:
            await breaker.record_success(self.candidate.config.breaker_key, probe=self.admission.probe)
        except RedisError:
            logger.warning(
                "could not record success for %s", self.candidate.config.breaker_key, exc_info=True
            )

    async def _record_failure(self, error: ProviderError) -> bool:
        """Record a failed attempt with the breaker; True if the circuit is now open."""
        if not error.code.counts_for_breaker:
            return False
        key = self.candidate.config.breaker_key
        try:
            state = await breaker.record_failure(key, probe=self.admission.probe)
        except RedisError:
            logger.warning("could not record failure for %s", key, exc_info=True)
            return False
        return state == breaker.BreakerState.OPEN

    async def _wait_before_retry(self, error: ProviderError) -> bool:
        """Sleep before the next attempt on the same provider; False when it should not retry."""
        attempt = self.row.attempts
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
        if delay >= self.run.remaining() - 0.05:
            return False
        await asyncio.sleep(delay)
        return True

    async def _flag_rejected(self, error: ProviderError) -> None:
        """Mark a tenant's credential that the provider refused, for the tenant to see."""
        credential_id = self.candidate.config.credential_id
        if credential_id is None or error.code not in (ErrorCode.AUTH, ErrorCode.PERMISSION):
            return
        await sync_to_async(credential_flag_rejected)(credential_id=credential_id, reason=error.message)


class Attempt:
    """One attempt: its upstream call runs inside `async with attempt`, through `upstream`."""

    def __init__(self, attempts: Attempts, timeout: float) -> None:
        self._attempts = attempts
        self.timeout = timeout  # seconds the provider is given
        self.succeeded = False
        self.cut_short: ProviderError | None = None  # failed after part of the reply reached the caller

    async def __aenter__(self) -> Attempt:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        return await self._attempts.ended(self, exc)

    async def upstream(self, awaitable: Awaitable[T], *, grace: float = PROVIDER_GRACE_SECONDS) -> T:
        """Wait for the provider at most the attempt's timeout plus `grace`, timing the wait.

        Pass `grace=0` for a call that carries no timeout of its own.
        """
        started = time.monotonic()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives together with the result.
            async with asyncio.timeout(self.timeout + grace):
                return await awaitable
        finally:
            self._attempts.row.upstream_seconds += time.monotonic() - started

    async def chunks(self, chunks: AsyncIterator[KindChunk]) -> AsyncGenerator[KindChunk, None]:
        """A stream's chunks, each waited for as `upstream` waits: the limit is on the
        provider's wait for each chunk, and the caller's time with a chunk is its own."""
        while True:
            try:
                chunk = await self.upstream(anext(chunks))
            except StopAsyncIteration:
                return
            yield chunk
