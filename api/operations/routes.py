"""What operators and their tools call: /health in seed 000's shape and /metrics."""

from __future__ import annotations

import hmac
import ipaddress
import re
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import Router, Status

from api.errors import ApiProblem
from api.operations import metrics
from api.operations.schemas import Health, HealthCheck, Problem
from core.health import check_services

router = Router(tags=["operations"])

BEARER = re.compile(r"bearer\s+(\S+)\s*", re.IGNORECASE)
# Headers a reverse proxy adds: a call carrying one came through a proxy, whatever its
# address, so it is not a local one.
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
METRICS_EXAMPLE = """\
# HELP sce_api_requests_total Calls of the public API answered by this process, …
# TYPE sce_api_requests_total counter
sce_api_requests_total{family="openai",method="POST",route="/v1/chat/completions",status="200"} 42.0
# HELP sce_gateway_tokens_total Tokens of the gateway's charged calls, …
# TYPE sce_gateway_tokens_total counter
sce_gateway_tokens_total{direction="output",kind="anthropic",model="claude-sonnet-5-5"} 18311.0
# HELP sce_gateway_breaker_state 1 for the state each provider's circuit breaker is in, …
# TYPE sce_gateway_breaker_state gauge
sce_gateway_breaker_state{provider="platform:openai",state="open"} 0.0
"""


def _version() -> str:
    try:
        return version("sce")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


@router.get(
    "/health",
    response={200: Health, 503: Health},
    exclude_none=True,
    summary="Health, in seed 000's shape",
    description=(
        'Answers `{"status": "healthy", "version": …}` with 200 while every service SCE needs '
        "(database, channel layer, Celery broker, Temporal) answers, and `unhealthy` with 503 "
        "when one does not; `checks` says which, and the kind of error (details are logged, "
        "never shown). The same checks as the portal's /healthz. No key needed."
    ),
)
async def health(request: HttpRequest, response: HttpResponse) -> Status[Health]:
    results = await check_services()
    healthy = all(result.ok for result in results)
    add_never_cache_headers(response)
    body = Health(
        status="healthy" if healthy else "unhealthy",
        version=_version(),
        checks={result.name: HealthCheck(**result.as_dict()) for result in results},
    )
    return Status(200 if healthy else 503, body)


def _from_this_machine(request: HttpRequest) -> bool:
    """A call from a loopback address that no proxy forwarded."""
    if settings.PROXY_COUNT or any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _admit_scraper(request: HttpRequest) -> None:
    """Let a scraper in, or refuse it (see `prometheus_metrics`)."""
    token = settings.METRICS_TOKEN
    bearer = BEARER.fullmatch(request.headers.get("authorization", "").strip())
    if token and bearer and hmac.compare_digest(bearer.group(1).encode(), token.encode()):
        return
    if settings.METRICS_ALLOW_LOOPBACK and _from_this_machine(request):
        return
    if token:
        raise ApiProblem(
            401,
            "invalid_metrics_token",
            "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="sce-metrics"'},
        )
    # Metrics that are not enabled do not exist, as far as the caller can tell.
    raise ApiProblem(404, "not_found", f"There is no endpoint at {request.method} {request.path}.")


@router.get(
    "/metrics",
    response={401: Problem, 404: Problem},
    summary="Prometheus metrics (operators only)",
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "Every metric, in Prometheus's text format (OpenMetrics when Accept asks for it)."
                ),
                "content": {"text/plain": {"schema": {"type": "string"}, "example": METRICS_EXAMPLE}},
            }
        }
    },
)
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """The API's requests and latencies (this process), the gateway's calls, tokens and cost,
    and each provider's breaker state (all processes, from Redis); see api.operations.metrics.

    Not public. A scraper sends `Authorization: Bearer <METRICS_TOKEN>` (401 without it when
    a token is set). With METRICS_ALLOW_LOOPBACK (on by default only with DEBUG), calls from
    this machine need no token, unless they came through a proxy (PROXY_COUNT set, or a
    forwarding header present): behind a proxy on the same machine every caller looks local.
    With neither, /metrics answers 404.
    """
    _admit_scraper(request)
    content, content_type = metrics.exposition(request.headers.get("accept", ""))
    response = HttpResponse(content, content_type=content_type)
    add_never_cache_headers(response)
    return response
