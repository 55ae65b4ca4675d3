"""/health: seed 000's `{status, version}` beside /healthz, from the same checks."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from django.test import Client

from tests.servers import free_port
from tests.temporal import TemporalServer

pytestmark = pytest.mark.django_db


def test_it_is_healthy_with_the_version_when_everything_answers(temporal_settings: TemporalServer) -> None:
    response = Client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"]) == ("healthy", version("sce"))
    assert set(body) == {"status", "version", "checks"}
    assert set(body["checks"]) == {"database", "channel_layer", "broker", "temporal"}
    assert all(check["ok"] and "error" not in check for check in body["checks"].values())
    assert "no-store" in response["Cache-Control"]


def test_it_is_unhealthy_with_503_naming_what_is_down(settings: Any) -> None:
    settings.TEMPORAL_ADDRESS = ""
    settings.EMBEDDED_TEMPORAL = True
    settings.TEMPORAL_EMBEDDED_PORT = free_port()  # where no server runs

    response = Client().get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["temporal"]["ok"] is False
    assert body["checks"]["temporal"]["error"]
    assert body["checks"]["database"]["ok"] is True
    # /healthz, from the same checks, agrees.
    assert Client().get("/healthz").json()["down"] == ["temporal: embedded"]


def test_it_needs_no_key_and_is_in_the_api_document() -> None:
    operation = Client().get("/api/v1/openapi.json").json()["paths"]["/health"]["get"]
    assert "security" not in operation
    assert set(operation["responses"]) == {"200", "503"}
