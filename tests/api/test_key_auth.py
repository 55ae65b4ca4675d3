"""`key_auth` over HTTP: who gets in, and what the others are told, in each client's shape."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest
from django.test import AsyncClient, Client

from api import services
from api.models import ApiKey, Scope
from tenants.models import Tenant
from tests.conftest import TenantUsers

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.urls")]


def _error(response: _MonkeyPatchedWSGIResponse) -> dict[str, str]:
    """SCE's own error body, `{error, message}`."""
    body: dict[str, str] = json.loads(response.content)
    assert set(body) == {"error", "message"}
    return body


def test_it_lets_a_granted_key_in_as_its_tenant(issued: services.IssuedApiKey) -> None:
    for headers in ({"Authorization": f"Bearer {issued.plaintext}"}, {"x-api-key": issued.plaintext}):
        response = Client().get("/api/v1/whoami", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"tenant": "acme", "key": issued.key.prefix}


@pytest.mark.django_db(transaction=True)  # the view reads the key in another thread
async def test_it_serves_async_views_too(issued: services.IssuedApiKey) -> None:
    client = AsyncClient()
    response = await client.get("/api/v1/whoami-async", headers={"x-api-key": issued.plaintext})
    assert response.status_code == 200
    assert response.json() == {"tenant": "acme", "key": issued.key.prefix}
    refused = await client.get("/api/v1/whoami-async")
    assert refused.status_code == 401


def test_a_missing_key_is_401_with_a_json_error(issued: services.IssuedApiKey) -> None:
    response = Client().get("/api/v1/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="sce"'
    error = _error(response)
    assert error["error"] == "missing_api_key"
    assert "x-api-key" in error["message"]


def test_a_signed_in_session_is_no_key(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).get("/api/v1/whoami")
    assert response.status_code == 401


def test_a_wrong_key_is_401(issued: services.IssuedApiKey) -> None:
    response = Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {issued.plaintext}x"})
    assert response.status_code == 401
    assert _error(response)["error"] == "invalid_api_key"


def test_a_revoked_key_is_refused_on_the_next_call(issued: services.IssuedApiKey) -> None:
    client = Client()
    headers = {"x-api-key": issued.plaintext}
    assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    services.api_key_revoke(key=issued.key, actor=None)
    response = client.get("/api/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert _error(response)["error"] == "revoked_api_key"


def test_a_suspended_tenants_key_is_403(issued: services.IssuedApiKey) -> None:
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.SUSPENDED)
    response = Client().get("/api/v1/whoami", headers={"x-api-key": issued.plaintext})
    assert response.status_code == 403
    assert _error(response) == {
        "error": "tenant_suspended",
        "message": "The organization 'acme' is suspended.",
    }


def test_a_scope_the_key_lacks_is_403(issued: services.IssuedApiKey) -> None:
    response = Client().get("/api/v1/runs-only", headers={"x-api-key": issued.plaintext})
    assert response.status_code == 403
    error = _error(response)
    assert error["error"] == "scope_not_granted"
    assert "'runs'" in error["message"]


def test_a_key_with_the_scope_among_others_gets_in(tenant_users: TenantUsers) -> None:
    _key, plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="both", scopes=[Scope.GATEWAY, Scope.RUNS]
    )
    assert Client().get("/api/v1/runs-only", headers={"x-api-key": plaintext}).status_code == 200


def test_no_csrf_token_is_needed(issued: services.IssuedApiKey) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/whoami", headers={"x-api-key": issued.plaintext})
    assert response.status_code == 200


def test_openai_routes_refuse_in_openais_shape(issued: services.IssuedApiKey) -> None:
    missing = Client().get("/v1/whoami")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="sce"'
    assert missing.json() == {
        "error": {
            "message": "Send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
            "type": "authentication_error",
            "param": None,
            "code": "missing_api_key",
        }
    }
    Tenant.objects.filter(slug="acme").update(status=Tenant.Status.SUSPENDED)
    suspended = Client().get("/v1/whoami", headers={"Authorization": f"Bearer {issued.plaintext}"})
    assert suspended.status_code == 403
    assert suspended.json()["error"]["type"] == "permission_error"


def test_anthropic_routes_refuse_in_anthropics_shape(issued: services.IssuedApiKey) -> None:
    wrong = Client().get("/v1/messages/whoami", headers={"x-api-key": issued.plaintext + "x"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "The API key is not valid."},
    }
    assert Client().get("/v1/messages/whoami", headers={"x-api-key": issued.plaintext}).status_code == 200


def test_two_different_keys_are_refused(issued: services.IssuedApiKey, tenant_users: TenantUsers) -> None:
    _key, other = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="other", scopes=[Scope.GATEWAY]
    )
    headers = {"Authorization": f"Bearer {issued.plaintext}", "x-api-key": other}
    response = Client().get("/api/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert _error(response)["error"] == "conflicting_api_keys"


def test_a_failing_endpoint_answers_500_in_the_callers_shape(issued: services.IssuedApiKey) -> None:
    response = Client(raise_request_exception=False).get(
        "/api/v1/broken", headers={"x-api-key": issued.plaintext}
    )
    assert response.status_code == 500
    assert _error(response)["error"] == "internal_error"


def test_a_call_notes_the_keys_last_use_and_address(issued: services.IssuedApiKey) -> None:
    Client(REMOTE_ADDR="203.0.113.50").get("/api/v1/whoami", headers={"x-api-key": issued.plaintext})
    key = ApiKey.objects.for_tenant(issued.key.tenant).get(pk=issued.key.pk)
    assert key.last_used_at is not None
    assert key.last_used_address == "203.0.113.50"


def test_the_key_never_reaches_the_logs(tenant_users: TenantUsers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key, plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="logged", scopes=[Scope.GATEWAY]
    )
    secret = plaintext.removeprefix(key.prefix + "_")
    client = Client(raise_request_exception=False)
    good = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/whoami", headers=good).status_code == 200
    assert client.get("/api/v1/runs-only", headers={"x-api-key": plaintext}).status_code == 403
    assert client.get("/api/v1/broken", headers=good).status_code == 500  # logged with its traceback
    assert client.get("/api/v1/whoami", headers={"x-api-key": plaintext + "x"}).status_code == 401
    services.api_key_revoke(key=key, actor=None)
    assert client.get("/api/v1/whoami", headers=good).status_code == 401
    logged = "\n".join(
        [caplog.text]
        + [str(getattr(record, "request", "")) for record in caplog.records]
        + [repr(record.args) for record in caplog.records]
    )
    assert "the view failed" in logged  # the log was captured, the failure's traceback in it
    assert key.prefix in logged  # the prefix names the key in the log ...
    assert secret not in logged  # ... and its secret is nowhere
