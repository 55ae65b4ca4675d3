"""What every built-in activity shares: its failure, the context it runs in, its catalog entry.

Plain Python with no Temporal in it: the Temporal activity that wraps the catalog turns an
ActivityError into the SDK's error (code as its type, `retryable` deciding whether the node's
retry policy applies), and its own heartbeat into `ActivityContext.heartbeat`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple


class ActivityError(Exception):
    """A failure the run shows: a snake_case `code`, a plain-English `message`, and whether
    trying again may help (`retryable`: timeouts and connection errors yes, bad arguments and
    refused addresses no)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"ActivityError({self.code!r}, {self.message!r}, retryable={self.retryable})"


def _no_heartbeat() -> None:
    return None


@dataclass(frozen=True)
class ActivityContext:
    """Who a built-in runs for (ids for logs and scoping) and how it reports it is still alive."""

    tenant_id: int
    run_id: int
    node_id: str
    # Called during long work (sleeps, big downloads) so Temporal can tell a slow activity
    # from a dead worker; it may be called often, so it must be cheap (the SDK throttles its own).
    heartbeat: Callable[[], None] = _no_heartbeat


class ArgumentSpec(NamedTuple):
    """One argument of a built-in, as the catalog page lists it."""

    name: str
    type: str
    required: bool
    description: str


Builtin = Callable[[dict[str, Any], ActivityContext], Awaitable[Any]]


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in activity: the coroutine that runs it and what the catalog page says of it."""

    name: str
    run: Builtin
    summary: str
    arguments: tuple[ArgumentSpec, ...]
    returns: str
