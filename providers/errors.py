"""The gateway's one error taxonomy.

Every failure, whichever SDK or server it came from, becomes a `ProviderError` with one of
these codes. The code alone decides what the router does next: retry the same provider,
fall back to the next one, and whether the failure counts against the circuit breaker.

A `ProviderError`'s `message` is the gateway's own words (code, provider, HTTP status) and
goes wherever the failure is shown; what the upstream said, which may be anything its
server chose to put in an error body, is kept apart in `detail`, cut to
UPSTREAM_DETAIL_CHARS, and recorded only in the log row that admins read.
"""

from __future__ import annotations

import re
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
    EGRESS_REFUSED = "egress_refused"
    NOT_CAPABLE = "not_capable"
    INVALID_OUTPUT = "invalid_output"

    @property
    def summary(self) -> str:
        """What the code means, in words fit for anyone in the tenant."""
        return SUMMARIES.get(self, self.value.replace("_", " "))

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
    # The egress guard refused the credential's address (core/egress): no byte was sent, so
    # the provider did not fail and the breaker must not open (its cooldown would only hide
    # the reason and delay a fixed URL); a retry meets the same refusal; another provider
    # may serve the request.
    ErrorCode.EGRESS_REFUSED: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
    # No provider the request may use declares what it needs (providers.interface.Capability):
    # nothing was sent; the caller does without a model or says where to add one.
    ErrorCode.NOT_CAPABLE: ErrorPolicy(retryable=False, fallbackable=False, counts_for_breaker=False),
    # The model answered, but not in the requested format (providers/structured_output.py).
    # The kind has already asked it once more (a second sample often conforms), so the
    # gateway does not retry; another model may do better; the provider did not fail.
    ErrorCode.INVALID_OUTPUT: ErrorPolicy(retryable=False, fallbackable=True, counts_for_breaker=False),
}

SUMMARIES: dict[ErrorCode, str] = {
    ErrorCode.RATE_LIMITED: "the provider is rate limiting requests",
    ErrorCode.OVERLOADED: "the provider is overloaded",
    ErrorCode.TIMEOUT: "the provider did not answer in time",
    ErrorCode.CONNECTION: "the provider could not be reached",
    ErrorCode.SERVER_ERROR: "the provider failed",
    ErrorCode.AUTH: "the provider refused the API key",
    ErrorCode.PERMISSION: "the API key may not do this",
    ErrorCode.BAD_REQUEST: "the provider refused the request as invalid",
    ErrorCode.CONTEXT_LENGTH: "the prompt is longer than the model accepts",
    ErrorCode.CONTENT_FILTER: "the provider's content policy withheld the reply",
    ErrorCode.BUDGET_EXCEEDED: "the organization's limits refused the request",
    ErrorCode.CIRCUIT_OPEN: "the provider is failing and is paused",
    ErrorCode.CANCELLED: "the request was cancelled",
    ErrorCode.EGRESS_REFUSED: "the provider's address is not allowed",
    ErrorCode.NOT_CAPABLE: "no configured provider is fit for this",
    ErrorCode.INVALID_OUTPUT: "the model's reply did not match the requested format",
}

# How much of what an upstream said is kept: enough to diagnose, too little to carry much
# of an internal service's page.
UPSTREAM_DETAIL_CHARS = 300


_TRACEBACK = "Traceback (most recent call last)"
# An absolute file path standing alone (not the path part of a URL): `/srv/app/x.py`.
_FILE_PATH = re.compile(r"""(?<![\w:/.~-])(?:/[^\s/'"(),:;]+){2,}""")


def upstream_detail(text: object) -> str:
    """What an upstream said, on one line, cut to UPSTREAM_DETAIL_CHARS: a server's traceback
    reduced to its last line (the error itself), file paths to their file names. Those are
    the server's internals, of no use to whoever reads the log."""
    raw = str(text or "")
    if _TRACEBACK in raw:
        lines = [line.strip() for line in raw[raw.index(_TRACEBACK) :].splitlines() if line.strip()]
        raw = raw[: raw.index(_TRACEBACK)] + " " + (lines[-1] if len(lines) > 1 else "")
    # Cut before flattening: a body may be a whole page.
    flat = " ".join(raw[: UPSTREAM_DETAIL_CHARS * 4].split())
    flat = _FILE_PATH.sub(lambda match: match.group(0).rsplit("/", 1)[-1], flat)
    if len(flat) <= UPSTREAM_DETAIL_CHARS:
        return flat
    return flat[: UPSTREAM_DETAIL_CHARS - 1] + "…"


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
        detail: object = "",
        unsupported_parameter: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.provider = provider
        self.detail = upstream_detail(detail)
        # A bad_request caused by an optional parameter the server does not take (its name,
        # e.g. "response_format"): the kind can send the request again without it.
        self.unsupported_parameter = unsupported_parameter

    @property
    def recorded_message(self) -> str:
        """The message with the upstream's detail, for the log row (shown to admins only)."""
        return f"{self.message} (detail: {self.detail})" if self.detail else self.message

    def __repr__(self) -> str:
        return f"ProviderError({self.code.value!r}, {self.message!r}, status={self.status})"

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code.value, "message": self.message, "retryable": self.code.retryable}
