"""Prometheus metrics of the public API and the gateway, for /metrics.

Two sources, chosen for what each process can know:

- The API's requests (by family, route, method and status) and their latencies are counted
  in the memory of the web process that served them. Each daphne process is its own scrape
  target, as Prometheus expects; Celery workers serve no requests, so they have none to count.
  prometheus-client's multiprocess mode is not used: it needs one shared directory for every
  process, which separate machines do not have, and nothing here needs it.
- The gateway's calls, tokens and cost (providers.usage_counters, counted where a log row is
  closed, in whichever process made the call) and the breakers' states (providers.breaker)
  live in Redis, and are read from it at scrape time: every process answers them alike.

A latency is measured until the response starts: for a stream, its time to the first byte.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.exceptions import RedisError

from api.errors import shape_of
from providers import breaker
from providers.routing import platform_providers
from providers.usage_counters import usage_totals

logger = logging.getLogger(__name__)

# The public API's routes: /v1/, /api/v1/ (but the portal's session-authenticated
# /api/v1/workflows/), /health and /metrics.
API_PATH = re.compile(r"^/(?:v1/|api/v1/(?!workflows/)|health$|metrics$)")
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

registry = CollectorRegistry()
ProcessCollector(registry=registry)
PlatformCollector(registry=registry)
GCCollector(registry=registry)

api_requests = Counter(
    "sce_api_requests",
    "Calls of the public API answered by this process, by route family, route, method and status.",
    ["family", "route", "method", "status"],
    registry=registry,
)
api_latency = Histogram(
    "sce_api_request_duration_seconds",
    "Time until the public API's answer started (a stream's time to its first byte), in this process.",
    ["family", "route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=registry,
)


def _family(path: str) -> str:
    if path in {"/health", "/metrics"}:
        return "operations"
    return shape_of(path).value


def _route(request: HttpRequest) -> str:
    """The route's pattern as the OpenAPI document writes it (`/api/v1/status/{request_id}`),
    never the path itself: ids in labels would make a series per call."""
    match = request.resolver_match
    if match is None or not match.route:
        return "unmatched"
    return "/" + PARAMETER.sub(r"{\1}", match.route)


def observe_request(request: HttpRequest, response: HttpResponseBase, seconds: float) -> None:
    """Count one answered call of the public API (other paths are not counted)."""
    if not API_PATH.match(request.path):
        return
    family, route, method = _family(request.path), _route(request), request.method or ""
    api_requests.labels(family, route, method, str(response.status_code)).inc()
    api_latency.labels(family, route, method).observe(seconds)


@dataclass
class _SharedFamilies:
    up: GaugeMetricFamily = field(
        default_factory=lambda: GaugeMetricFamily(
            "sce_shared_state_up", "1 when Redis answered this scrape (the gateway and breaker figures)."
        )
    )
    calls: CounterMetricFamily = field(
        default_factory=lambda: CounterMetricFamily(
            "sce_gateway_calls",
            "Gateway calls that reached a provider, by provider kind, model and how they ended.",
            labels=["kind", "model", "state"],
        )
    )
    tokens: CounterMetricFamily = field(
        default_factory=lambda: CounterMetricFamily(
            "sce_gateway_tokens",
            "Tokens of the gateway's charged calls, by provider kind, model and direction.",
            labels=["kind", "model", "direction"],
        )
    )
    cost: CounterMetricFamily = field(
        default_factory=lambda: CounterMetricFamily(
            "sce_gateway_cost_usd", "Cost of the gateway's calls in US dollars.", labels=["kind", "model"]
        )
    )
    breaker_states: GaugeMetricFamily = field(
        default_factory=lambda: GaugeMetricFamily(
            "sce_gateway_breaker_state",
            "1 for the state each provider's circuit breaker is in (closed, open, half_open), else 0.",
            labels=["provider", "state"],
        )
    )
    breaker_failures: GaugeMetricFamily = field(
        default_factory=lambda: GaugeMetricFamily(
            "sce_gateway_breaker_failures",
            "Consecutive failures on record for each provider's circuit breaker.",
            labels=["provider"],
        )
    )

    def all(self) -> list[Metric]:
        return [self.up, self.calls, self.tokens, self.cost, self.breaker_states, self.breaker_failures]


class SharedStateCollector:
    """The gateway's totals and the breakers' states, read from Redis at each scrape."""

    def describe(self) -> Iterable[Metric]:
        # Named up front, so that registering the collector reads nothing.
        return _SharedFamilies().all()

    def collect(self) -> Iterable[Metric]:
        families = _SharedFamilies()
        try:
            totals = usage_totals()
            on_record = breaker.statuses_on_record()
        except (RedisError, OSError):
            logger.warning("/metrics could not read the gateway's figures from Redis", exc_info=True)
            families.up.add_metric([], 0)
            return [families.up]
        families.up.add_metric([], 1)
        for (kind, model, state), count in sorted(totals.calls.items()):
            families.calls.add_metric([kind, model, state], count)
        for (kind, model, direction), count in sorted(totals.tokens.items()):
            families.tokens.add_metric([kind, model, direction], count)
        for (kind, model), dollars in sorted(totals.cost_usd.items()):
            families.cost.add_metric([kind, model], dollars)
        # The platform's providers are always listed; a tenant's credential once its breaker
        # has something on record (a breaker without a record is closed).
        states = {config.breaker_key: breaker.BreakerState.CLOSED for config in platform_providers().values()}
        failures = dict.fromkeys(states, 0)
        for status in on_record:
            states[status.key] = status.state
            failures[status.key] = status.failures
        for key, state in sorted(states.items()):
            for possible in breaker.BreakerState:
                families.breaker_states.add_metric([key, possible.value], 1 if state is possible else 0)
            families.breaker_failures.add_metric([key], failures[key])
        return families.all()


registry.register(SharedStateCollector())


def exposition(accept: str) -> tuple[bytes, str]:
    """Every metric in the text format `accept` asks for (Prometheus's, or OpenMetrics), and
    its content type."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
