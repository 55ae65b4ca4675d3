"""/metrics: who may read it, and what it counts (API requests and latencies, the gateway's
calls, tokens and cost, breaker states)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import ResolverMatch
from prometheus_client.parser import text_string_to_metric_families

from api.operations import metrics
from providers import breaker, gateway
from providers.errors import ProviderError
from providers.interface import GatewayRequest, Message, Task
from providers.usage_counters import count_closed_call
from tests.emulators.script import HttpError, Reply
from tests.emulators.server import EmulatorServer

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def scraper(settings: Any) -> Client:
    """A scraper with the metrics token, from another machine."""
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_LOOPBACK = False
    return Client(headers={"Authorization": f"Bearer {TOKEN}"}, REMOTE_ADDR="203.0.113.7")


def scrape(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# Who may read it ---------------------------------------------------------------------------


def test_without_a_token_or_local_access_there_is_no_metrics_endpoint(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_LOOPBACK = False
    response = Client().get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_with_a_token_set_only_its_bearer_gets_in(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_LOOPBACK = False
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"x-api-key": TOKEN}):
        refused = Client().get("/metrics", headers=headers, REMOTE_ADDR="203.0.113.7")
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_metrics_token"
        assert refused["WWW-Authenticate"].startswith("Bearer")
    allowed = Client().get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, REMOTE_ADDR="203.0.113.7"
    )
    assert allowed.status_code == 200
    assert "no-store" in allowed["Cache-Control"]


@pytest.mark.parametrize(
    ("address", "headers", "proxies", "status"),
    [
        ("127.0.0.1", {}, 0, 200),
        ("::1", {}, 0, 200),
        ("203.0.113.7", {}, 0, 404),
        # Through a proxy on this machine every caller looks local: not trusted.
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}, 0, 404),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.7"}, 0, 404),
        ("127.0.0.1", {}, 1, 404),
    ],
)
def test_local_calls_get_in_only_when_allowed_and_not_proxied(
    settings: Any, address: str, headers: dict[str, str], proxies: int, status: int
) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_LOOPBACK = True
    settings.PROXY_COUNT = proxies
    assert Client().get("/metrics", headers=headers, REMOTE_ADDR=address).status_code == status


def test_openmetrics_is_served_to_who_asks_for_it(scraper: Client) -> None:
    response = scraper.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")


# What it counts ----------------------------------------------------------------------------


def test_api_requests_are_counted_by_family_route_method_and_status(scraper: Client) -> None:
    before = scrape(scraper)
    Client().get("/api/v1/openapi.json")
    Client().get("/v1/nope")
    Client().get("/accounts/login/")
    after = scrape(scraper)

    document = {"family": "sce", "route": "/api/v1/openapi.json", "method": "GET"}
    assert value(after, "sce_api_requests_total", **document, status="200") == (
        value(before, "sce_api_requests_total", **document, status="200") + 1
    )
    assert value(after, "sce_api_request_duration_seconds_count", **document) == (
        value(before, "sce_api_request_duration_seconds_count", **document) + 1
    )
    unknown = {"family": "openai", "route": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "sce_api_requests_total", **unknown)
        == value(before, "sce_api_requests_total", **unknown) + 1
    )
    routes = {dict(labels).get("route") for name, labels in after if name == "sce_api_requests_total"}
    assert not any(route and "accounts" in route for route in routes), "the portal is not the API"


def test_a_route_is_labelled_by_its_pattern_never_by_its_ids(scraper: Client) -> None:
    request = RequestFactory().get("/api/v1/status/req_8f2a")
    request.resolver_match = ResolverMatch(
        lambda request: None, (), {"request_id": "req_8f2a"}, route="api/v1/status/<str:request_id>"
    )
    metrics.observe_request(request, HttpResponse(status=404), 0.01)
    samples = scrape(scraper)
    labels = {"family": "sce", "route": "/api/v1/status/{request_id}", "method": "GET", "status": "404"}
    assert value(samples, "sce_api_requests_total", **labels) >= 1
    assert not any("req_8f2a" in str(labels) for _name, labels in samples)


@pytest.mark.django_db(transaction=True)  # the gateway writes its log rows from another thread
def test_the_gateways_calls_tokens_and_cost_are_counted(
    scraper: Client, platform: tuple[EmulatorServer, EmulatorServer]
) -> None:
    anthropic, _openai = platform
    model = {"kind": "anthropic", "model": "claude-sonnet-5-5"}
    before = scrape(scraper)
    anthropic.push(Reply("A firewall it is.", input_tokens=1000, output_tokens=200))
    ask = GatewayRequest(task=Task.CONVERSATION, messages=(Message("user", "Firewall?"),), max_tokens=50)
    gateway.complete_sync(ask)
    anthropic.push(HttpError(400, message="messages: at least one message is required"))
    with pytest.raises(ProviderError, match="refused the request"):
        gateway.complete_sync(ask)
    after = scrape(scraper)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("sce_gateway_calls_total", **model, state="completed") == 1
    assert grew("sce_gateway_calls_total", **model, state="failed") == 1
    assert grew("sce_gateway_tokens_total", **model, direction="input") == 1000
    assert grew("sce_gateway_tokens_total", **model, direction="output") == 200
    # claude-sonnet-5-5: $2 in, $10 out per million tokens; a failed call costs nothing.
    assert grew("sce_gateway_cost_usd_total", **model) == pytest.approx(0.004)
    assert value(after, "sce_shared_state_up") == 1


def test_each_providers_breaker_state_is_a_gauge(scraper: Client, settings: Any) -> None:
    settings.BREAKER_FAILURE_THRESHOLD = 2
    for _ in range(2):
        async_to_sync(breaker.record_failure)("credential:4242", probe=False)
    async_to_sync(breaker.record_failure)("credential:4343", probe=False)
    try:
        samples = scrape(scraper)
    finally:
        breaker.reset("credential:4242")
        breaker.reset("credential:4343")
    state = "sce_gateway_breaker_state"
    assert value(samples, state, provider="credential:4242", state="open") == 1
    assert value(samples, state, provider="credential:4242", state="closed") == 0
    assert value(samples, "sce_gateway_breaker_failures", provider="credential:4242") == 2
    assert value(samples, state, provider="credential:4343", state="closed") == 1
    assert value(samples, "sce_gateway_breaker_failures", provider="credential:4343") == 1
    # The platform's providers are listed even with nothing on record.
    assert value(samples, state, provider="platform:embedded", state="closed") == 1


def test_without_redis_the_scrape_still_answers_and_says_so(
    scraper: Client, settings: Any, tmp_path: Any
) -> None:
    settings.REDIS_URL = f"unix://{tmp_path}/nothing.sock"
    samples = scrape(scraper)
    assert value(samples, "sce_shared_state_up") == 0
    assert not any(name.startswith("sce_gateway_") for name, _labels in samples)
    assert any(name == "sce_api_requests_total" for name, _labels in samples)


def test_counting_a_call_without_redis_costs_the_metrics_not_the_caller(
    settings: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = f"unix://{tmp_path}/nothing.sock"
    with caplog.at_level(logging.WARNING, logger="providers.usage_counters"):
        async_to_sync(count_closed_call)(
            kind="openai", model="gpt-6-sol", state="completed", usage=None, cost_usd=Decimal(0)
        )
    assert "missed a completed call" in caplog.text
