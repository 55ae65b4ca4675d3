"""Per-key rate limits, and the `x-ratelimit-*` headers of key-authenticated answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from api import services
from api.models import ApiKey, Scope
from api.operations import rate_limits
from providers import quotas
from providers import services as provider_services
from tests.conftest import TenantUsers
from tests.servers import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> float:
    """The rate limits' clock, held half way through the current minute: no test straddles
    two windows. Returned as the time it reads."""
    now = time.time() // 60 * 60 + 30
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: now))
    return now


def key_of(tenant_users: TenantUsers, *, rpm: int | None = None, name: str = "ci") -> str:
    return services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name=name, scopes=[Scope.GATEWAY], requests_per_minute=rpm
    ).plaintext


def call(plaintext: str, path: str = "/v1/whoami") -> Any:
    return Client().get(path, headers={"Authorization": f"Bearer {plaintext}"})


def test_a_key_over_its_limit_is_refused_with_429_and_retry_after(
    tenant_users: TenantUsers, moment: float
) -> None:
    plaintext = key_of(tenant_users, rpm=2)
    first, second, third = call(plaintext), call(plaintext), call(plaintext)
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert third["retry-after"] == "30"
    error = third.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited")
    assert "2 requests per minute" in error["message"]
    assert [response["x-ratelimit-remaining-requests"] for response in (first, second, third)] == [
        "1",
        "0",
        "0",
    ]
    assert third["x-ratelimit-limit-requests"] == "2"
    assert third["x-ratelimit-reset-requests"] == "30s"


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/messages/whoami", {"type": "error", "error": {"type": "rate_limit_error"}}),
        ("/api/v1/whoami", {"error": "rate_limited"}),
    ],
)
def test_the_refusal_is_in_the_callers_own_shape(
    tenant_users: TenantUsers, moment: float, path: str, shape: dict[str, Any]
) -> None:
    plaintext = key_of(tenant_users, rpm=1)
    assert call(plaintext, path).status_code == 200
    refused = call(plaintext, path)
    assert refused.status_code == 429
    body = refused.json()
    for field, expected in shape.items():
        if isinstance(expected, dict):
            assert expected.items() <= body[field].items()
        else:
            assert body[field] == expected


def test_each_key_has_its_own_window(tenant_users: TenantUsers, moment: float) -> None:
    limited, other, unlimited = key_of(tenant_users, rpm=1), key_of(tenant_users, rpm=1), key_of(tenant_users)
    assert call(limited).status_code == 200
    assert call(limited).status_code == 429
    assert call(other).status_code == 200
    assert [call(unlimited).status_code for _ in range(3)] == [200, 200, 200]


def test_refused_calls_are_not_counted_and_the_next_minute_starts_afresh(tenant_users: TenantUsers) -> None:
    key = ApiKey(prefix="sce_window01", requests_per_minute=1)
    start = time.time() // 60 * 60
    admitted = [rate_limits.admit_key_call(key, now=start + second) for second in (1, 2, 3)]
    assert [admission.admitted for admission in admitted if admission] == [True, False, False]
    next_minute = rate_limits.admit_key_call(key, now=start + 61)
    assert next_minute is not None
    assert next_minute.admitted
    assert (next_minute.window.remaining, round(next_minute.window.reset_seconds)) == (0, 59)


def test_a_key_without_a_limit_is_not_counted() -> None:
    assert rate_limits.admit_key_call(ApiKey(prefix="sce_window02", requests_per_minute=None)) is None


def test_the_window_is_shared_by_every_process() -> None:
    """Another process (as a second daphne or a worker would be) sees this one's count."""
    start = time.time() // 60 * 60
    key = ApiKey(prefix="sce_window03", requests_per_minute=2)
    mine = rate_limits.admit_key_call(key, now=start + 1)
    assert mine is not None
    assert mine.admitted
    script = (
        "import django; django.setup();"
        "from api.models import ApiKey; from api.operations import rate_limits;"
        "key = ApiKey(prefix='sce_window03', requests_per_minute=2);"
        f"print([rate_limits.admit_key_call(key, now={start + 2}).admitted for _ in range(2)])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[True, False]"


def test_without_redis_a_limited_key_is_refused_and_an_unlimited_one_served(
    tenant_users: TenantUsers, settings: Any, tmp_path: Any
) -> None:
    limited, unlimited = key_of(tenant_users, rpm=5), key_of(tenant_users)
    settings.REDIS_URL = f"unix://{tmp_path}/nothing.sock"
    refused = call(limited, "/api/v1/whoami")
    assert refused.status_code == 503
    assert refused.json()["error"] == "rate_limits_unavailable"
    assert refused["retry-after"] == "5"
    served = call(unlimited, "/api/v1/whoami")
    assert served.status_code == 200
    # What Redis could not tell is left out, not made up.
    assert not any(name.startswith("x-ratelimit-") for name in served.headers)


def _gateway_limits(tenant_users: TenantUsers, *, rpm: int | None, tokens: int | None) -> None:
    provider_services.gateway_settings_update(
        tenant=tenant_users.tenant,
        store_content=True,
        requests_per_minute=rpm,
        monthly_token_budget=tokens,
        monthly_cost_budget_usd=None,
    )


def _earlier_model_calls(tenant_users: TenantUsers, *, calls: int, tokens: int, now: float) -> None:
    """`calls` counted against the tenant's minute, and `tokens` used this month, as the
    gateway counts them."""
    open_limits = quotas.Limits(requests_per_minute=None, monthly_tokens=None, monthly_cost_usd=None)
    for number in range(calls):
        held = async_to_sync(quotas.reserve)(
            tenant_id=tenant_users.tenant.pk,
            request_id=f"earlier-{number}",
            limits=open_limits,
            tokens=1,
            cost_usd=0,
            hold_seconds=60,
            now=now,
        )
        async_to_sync(quotas.settle)(held, tokens=tokens if number == 0 else 0, cost_usd=0)


def test_answers_carry_the_tighter_request_limit_and_the_token_budget(
    tenant_users: TenantUsers, moment: float
) -> None:
    _gateway_limits(tenant_users, rpm=10, tokens=1000)
    _earlier_model_calls(tenant_users, calls=3, tokens=300, now=moment)

    tenant_bound = call(key_of(tenant_users))
    # The tenant's 10 a minute, less 3 earlier model calls and this one.
    assert tenant_bound["x-ratelimit-limit-requests"] == "10"
    assert tenant_bound["x-ratelimit-remaining-requests"] == "6"
    assert tenant_bound["x-ratelimit-reset-requests"] == "30s"
    assert tenant_bound["x-ratelimit-limit-tokens"] == "1000"
    assert tenant_bound["x-ratelimit-remaining-tokens"] == "700"
    moment_utc = datetime.fromtimestamp(moment, tz=UTC)
    month_end = datetime(moment_utc.year + moment_utc.month // 12, moment_utc.month % 12 + 1, 1, tzinfo=UTC)
    assert tenant_bound["x-ratelimit-reset-tokens"] == rate_limits.duration_text(
        month_end.timestamp() - moment
    )

    key_bound = call(key_of(tenant_users, rpm=5, name="tight"))
    assert (key_bound["x-ratelimit-limit-requests"], key_bound["x-ratelimit-remaining-requests"]) == (
        "5",
        "4",
    )
    assert key_bound["x-ratelimit-limit-tokens"] == "1000"


def test_an_unlimited_plan_and_key_send_no_rate_limit_headers(tenant_users: TenantUsers) -> None:
    tenant_users.tenant.plan = "enterprise"
    tenant_users.tenant.save(update_fields=["plan"])
    response = call(key_of(tenant_users))
    assert response.status_code == 200
    assert not any(name.startswith("x-ratelimit-") for name in response.headers)


def test_a_refused_key_gets_no_rate_limit_headers(tenant_users: TenantUsers) -> None:
    plaintext = key_of(tenant_users, rpm=5)
    services.api_key_revoke(key=ApiKey.objects.for_tenant(tenant_users.tenant).get(), actor=None)
    response = call(plaintext)
    assert response.status_code == 401
    assert not any(name.startswith("x-ratelimit-") for name in response.headers)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2, "1s"), (45, "45s"), (360, "6m0s"), (7384.5, "2h3m5s"), (0, "0s")]
)
def test_durations_are_written_as_openai_writes_them(seconds: float, text: str) -> None:
    assert rate_limits.duration_text(seconds) == text
