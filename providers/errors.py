"""The gateway's one error taxonomy.

Every failure, whichever SDK or server it came from, becomes a `ProviderError` with one of
these codes. The code alone decides what the router does next: retry the same provider,
fall back to the next one, and whether the failure counts against the circuit breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ErrorPolicy:
    retryable: bool
    fallbackable: bool
    counts_for_breaker: bool


class ErrorCode(StrEnum):
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    AUTH = "auth"
    PERMISSION = "permission"
    BAD_REQUEST = "bad_request"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    BUDGET_EXCEEDED = "budget_exceeded"
    CIRCUIT_OPEN = "circuit_open"
    CANCELLED = "cancelled"

    @property
    def policy(self) -> ErrorPolicy:
        return POLICIES[self]

    @property
    def retryable(self) -> bool:
        return self.policy.retryable

    @property
    def fallbackable(self) -> bool:
        return self.policy.fallbackable

    @property
    def counts_for_breaker(self) -> bool:
        return self.policy.counts_for_breaker


POLICIES: dict[ErrorCode, ErrorPolicy] = {
    # A 429 is the provider pacing us, not failing: wait and retry, or go elsewhere, but
    # do not trip the breaker over it.
    ErrorCode.RATE_LIMITED: ErrorPolicy(retryable=True, fallbackable=True, counts_for_breaker=False),
    ErrorCode.OVERLOADED: ErrorPolicy(retryable=True, fallbackable=True, counts_for_breaker=True),
    ErrorCode.TIMEOUT: ErrorPolicy(retryable=True, fallbackable=True, counts_for_breaker=True),
    ErrorCode.CONNECTION: ErrorPolicy(retryable=True, fallbackable=True, counts_for_breaker=True),
    ErrorCode.SERVER_ERROR: ErrorPolicy(retryable=True, fallbackable=True, counts_for_breaker=True),
    # A rejected key will not start working on retry, but another credential may work;
    # the credential is flagged instead of tripping the breaker.
    ErrorCode.AUTH: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
    ErrorCode.PERMISSION: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
    # The request itself is wrong: every provider would refuse it.
    ErrorCode.BAD_REQUEST: ErrorPolicy(retryable=False, fallbackable=False, counts_for_breaker=False),
    # Another model may have a larger window.
    ErrorCode.CONTEXT_LENGTH: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
    ErrorCode.CONTENT_FILTER: ErrorPolicy(retryable=False, fallbackable=False, counts_for_breaker=False),
    ErrorCode.BUDGET_EXCEEDED: ErrorPolicy(retryable=False, fallbackable=False, counts_for_breaker=False),
    ErrorCode.CIRCUIT_OPEN: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
    ErrorCode.CANCELLED: ErrorPolicy(retryable=False, fallbackable=False, counts_for_breaker=False),
}


class ProviderError(Exception):
    """A normalized failure of the gateway or of a provider behind it."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        provider: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.provider = provider

    def __repr__(self) -> str:
        return f"ProviderError({self.code.value!r}, {self.message!r}, status={self.status})"

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code.value, "message": self.message, "retryable": self.code.retryable}
