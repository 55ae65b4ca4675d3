"""CORS: the public API answers pages of the configured origins, never with credentials;
the portal's pages and its session-authenticated routes never answer CORS at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

from api import services
from api.models import Scope
from tests.conftest import TenantUsers
from tests.servers import ROOT

pytestmark = pytest.mark.django_db

ALLOWED = "https://app.example.com"
REFUSED = "https://evil.example.net"
# What the official clients send from a browser: the SDKs' own header families with them.
CLIENT_HEADERS = (
    "authorization, content-type, x-stainless-retry-count, x-stainless-timeout, openai-organization, "
    "anthropic-version, anthropic-dangerous-direct-browser-access, last-event-id, x-evil"
)


@pytest.fixture(autouse=True)
def origins(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(path: str, origin: str) -> Any:
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": CLIENT_HEADERS,
        },
    )


def listed(value: str) -> set[str]:
    return {name.strip() for name in value.split(",")}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/api/v1/infer"])
def test_a_preflight_from_an_allowed_origin_is_answered(path: str) -> None:
    response = preflight(path, ALLOWED)
    assert response.status_code == 200
    assert response["access-control-allow-origin"] == ALLOWED
    assert "POST" in listed(response["access-control-allow-methods"])
    allowed = listed(response["access-control-allow-headers"])
    assert {
        "authorization",
        "x-api-key",
        "content-type",
        "last-event-id",
        "x-stainless-retry-count",
        "x-stainless-timeout",
        "openai-organization",
        "anthropic-version",
        "anthropic-dangerous-direct-browser-access",
    } <= allowed
    assert "x-evil" not in allowed
    assert "access-control-allow-credentials" not in response
    assert "origin" in response["Vary"].lower()


def test_a_preflight_from_another_origin_gets_no_allowance() -> None:
    response = preflight("/v1/chat/completions", REFUSED)
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


@pytest.mark.urls("tests.api.urls")
def test_answers_to_an_allowed_origin_may_be_read_with_their_rate_limits(tenant_users: TenantUsers) -> None:
    plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="web", scopes=[Scope.GATEWAY], requests_per_minute=5
    ).plaintext
    response = Client().get("/v1/whoami", headers={"Origin": ALLOWED, "Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    assert response["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in response
    exposed = listed(response["access-control-expose-headers"])
    assert {"retry-after", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens"} <= exposed
    assert {"x-request-id", "request-id"} <= exposed
    # An error too, so that a page can tell its user why.
    refused = Client().get("/v1/whoami", headers={"Origin": ALLOWED})
    assert refused.status_code == 401
    assert refused["access-control-allow-origin"] == ALLOWED

    other = Client().get("/v1/whoami", headers={"Origin": REFUSED, "Authorization": f"Bearer {plaintext}"})
    assert other.status_code == 200  # served, but the browser keeps the answer from the page
    assert "access-control-allow-origin" not in other


@pytest.mark.parametrize(
    "path",
    [
        "/t/acme/api-keys/",
        "/accounts/login/",
        "/admin/",
        "/api/v1/workflows/validate",
        "/healthz",
        "/metrics",
        "/",
    ],
)
def test_the_portal_and_its_session_routes_never_answer_cors(tenant_users: TenantUsers, path: str) -> None:
    client = tenant_users.client_for(tenant_users.owner)
    for response in (
        client.get(path, headers={"Origin": ALLOWED}),
        client.options(path, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}),
    ):
        assert not any(name.lower().startswith("access-control-") for name in response.headers), path


def test_no_origin_is_allowed_unless_configured() -> None:
    """API_CORS_ALLOWED_ORIGINS sets the origins, comma-separated; unset, there are none."""
    script = (
        "import django, json; django.setup(); from django.conf import settings;"
        "print(json.dumps(settings.CORS_ALLOWED_ORIGINS))"
    )
    origins = []
    for value in (None, f"{ALLOWED}, https://docs.example.com"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        env.pop("API_CORS_ALLOWED_ORIGINS", None)
        if value is not None:
            env["API_CORS_ALLOWED_ORIGINS"] = value
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        origins.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert origins == [[], [ALLOWED, "https://docs.example.com"]]
