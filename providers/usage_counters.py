"""Running totals of the gateway's calls, tokens and cost, for the operators' metrics.

They are counted in Redis where a log row is closed (providers.log_row), so they add up the
calls of every process (the web server and the Celery workers alike) and whichever process
answers a scrape reads the same totals. They only grow: Prometheus takes a Redis that lost
them for a counter reset. The provider logs stay the record a page or an invoice is built
from; these are for rates and alerts.

Labels are the provider's kind and the model, never a tenant or a credential's name, so the
number of series stays bounded by the models in use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from redis.exceptions import RedisError

from core.redis import async_redis, sync_redis
from providers.interface import Usage

logger = logging.getLogger(__name__)

KEY = "sce:metrics:gateway"
MICRO = 1_000_000
# Separates the parts of a field's name; model names never contain it.
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class UsageTotals:
    """What the gateway's closed calls add up to, since the counters began."""

    # (kind, model, state) -> calls
    calls: dict[tuple[str, str, str], int]
    # (kind, model, "input" | "output") -> tokens
    tokens: dict[tuple[str, str, str], int]
    # (kind, model) -> US dollars
    cost_usd: dict[tuple[str, str], float]


def _field(*parts: str) -> str:
    return SEPARATOR.join(part.replace(SEPARATOR, " ") for part in parts)


async def count_closed_call(
    *, kind: str, model: str, state: str, usage: Usage | None, cost_usd: Decimal
) -> None:
    """Add one closed call (and what it used, when it was charged) to the totals.

    Never raises: a Redis that does not answer costs the metrics a call, not the caller its
    reply or its log row.
    """
    try:
        pipeline = async_redis().pipeline(transaction=False)
        pipeline.hincrby(KEY, _field("calls", kind, model, state), 1)
        if usage is not None:
            pipeline.hincrby(KEY, _field("tokens", kind, model, "input"), usage.input_tokens)
            pipeline.hincrby(KEY, _field("tokens", kind, model, "output"), usage.output_tokens)
            pipeline.hincrby(KEY, _field("cost", kind, model), int(cost_usd * MICRO))
        await pipeline.execute()
    except (RedisError, OSError):
        logger.warning(
            "the gateway's usage counters missed a %s call to %s %s", state, kind, model, exc_info=True
        )


def usage_totals() -> UsageTotals:
    """The totals as Redis holds them now. Raises RedisError when it does not answer."""
    raw = cast(dict[str, str], sync_redis().hgetall(KEY))
    totals = UsageTotals(calls={}, tokens={}, cost_usd={})
    for field, value in raw.items():
        what, *labels = field.split(SEPARATOR)
        if what == "calls" and len(labels) == 3:
            totals.calls[(labels[0], labels[1], labels[2])] = int(value)
        elif what == "tokens" and len(labels) == 3:
            totals.tokens[(labels[0], labels[1], labels[2])] = int(value)
        elif what == "cost" and len(labels) == 2:
            totals.cost_usd[(labels[0], labels[1])] = int(value) / MICRO
    return totals
