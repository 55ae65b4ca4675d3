"""The workflow API through the real ASGI server (daphne), where bodies and headers are
read differently from the test client's WSGI requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.test import Client

from tests.conftest import TenantUsers
from tests.workflows.samples import load_fixture

pytestmark = pytest.mark.django_db(transaction=True)

CSRF_TOKEN = "k" * 32  # any well-formed token will do: the check compares cookie and header


def call(
    url: str, body: bytes | None = None, *, session: str | None = None, csrf: bool = True
) -> tuple[int, dict[str, Any]]:
    """One request; the status and the JSON body, for errors too."""
    headers = {"Content-Type": "application/json"}
    if session is not None:
        headers["Cookie"] = f"sessionid={session}; csrftoken={CSRF_TOKEN}"
        if csrf:
            headers["X-CSRFToken"] = CSRF_TOKEN
    request = urllib.request.Request(
        url, data=body, headers=headers, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, content = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as refusal:
        status, content_type, content = refusal.code, refusal.headers["Content-Type"], refusal.read()
    assert content_type == "application/json"
    return status, json.loads(content)


def test_the_server_answers_every_case_in_json(live_server_url: str, tenant_users: TenantUsers) -> None:
    client = Client()
    client.force_login(tenant_users.member)
    session = client.cookies["sessionid"].value
    validate = f"{live_server_url}/api/v1/workflows/validate"
    document = json.dumps(load_fixture("parallel")).encode()

    status, body = call(validate, document)
    assert (status, body["error"]) == (401, "not_authenticated")
    status, body = call(validate, document, session=session)
    assert (status, body["valid"]) == (200, True)
    status, body = call(validate, document, session=session, csrf=False)
    assert (status, body["error"]) == (403, "csrf_failed")
    status, body = call(validate, b"{" + b" " * (2 * 1024 * 1024), session=session)
    assert (status, body["error"]) == (413, "payload_too_large")
    status, body = call(validate, b"\xff", session=session)
    assert (status, body["error"]) == (400, "invalid_document")
    status, body = call(f"{live_server_url}/api/v1/workflows/compile", document, session=session)
    assert status == 200
    assert body["code"].startswith("// Code generated")
    status, body = call(f"{live_server_url}/api/v1/nothing-here")
    assert (status, body["error"]) == (404, "not_found")
