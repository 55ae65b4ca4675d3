"""Every answer of the public API names its request id, failures first of all: it is what a
caller quotes to an operator, and what the SDKs surface (`x-request-id` for openai,
`request-id` for anthropic)."""

from __future__ import annotations

import re

import pytest
from django.http.response import HttpResponseBase
from django.test import Client

from api import services
from api.models import Scope
from tests.conftest import TenantUsers

pytestmark = pytest.mark.django_db

REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")


def request_id(response: HttpResponseBase) -> str:
    headers = response.headers
    assert headers["x-request-id"] == headers["request-id"]
    assert REQUEST_ID.match(headers["x-request-id"]), headers["x-request-id"]
    return str(headers["x-request-id"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/chat/completions", {"model": "auto", "messages": []}),
        ("post", "/v1/messages", {"model": "auto", "max_tokens": 5, "messages": []}),
        ("get", "/v1/models", None),
        ("get", "/api/v1/status/00000000-0000-0000-0000-000000000000", None),
        ("post", "/api/v1/validate", {"workflow": {}}),
        ("get", "/v1/no-such-route", None),
    ],
)
def test_a_refused_call_names_its_request_id(method: str, path: str, body: object) -> None:
    client = Client()
    send = getattr(client, method)
    first = send(path, body, content_type="application/json") if body is not None else send(path)
    second = send(path, body, content_type="application/json") if body is not None else send(path)
    assert first.status_code in (401, 404)
    assert request_id(first) != request_id(second)


def test_failures_past_authentication_name_it_too(tenant_users: TenantUsers) -> None:
    plaintext = services.api_key_create(
        tenant=tenant_users.tenant, actor=None, name="ids", scopes=[Scope.GATEWAY, Scope.WORKFLOWS]
    ).plaintext
    client = Client(headers={"Authorization": f"Bearer {plaintext}"})
    wrong_type = client.post(
        "/v1/chat/completions", {"model": 5, "messages": "hi"}, content_type="application/json"
    )
    assert wrong_type.status_code == 400
    request_id(wrong_type)
    unknown = client.get("/api/v1/result/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    request_id(unknown)
    valid = client.post("/api/v1/validate", {"workflow": {"nodes": []}}, content_type="application/json")
    assert valid.status_code < 500
    request_id(valid)


def test_portal_pages_carry_no_request_id(tenant_users: TenantUsers) -> None:
    response = tenant_users.client_for(tenant_users.owner).get("/api/v1/workflows/schema")
    assert "x-request-id" not in response.headers
