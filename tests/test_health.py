from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from config.settings import kombu_url
from core import embedded_redis
from core import temporal_server as embedded_temporal
from core.processes import Leader
from tests.servers import free_port
from tests.temporal import TemporalServer

pytestmark = pytest.mark.django_db


def test_it_is_ok_when_everything_answers(client: Client, temporal_settings: TemporalServer) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["checks"]) == {"database", "channel_layer", "broker", "temporal"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.fixture
def doomed_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """A Redis of the test's own that it can stop, wired in as channel layer and broker."""
    directory = Path(tmp_path_factory.mktemp("r", numbered=True))
    socket = directory / "redis.sock"
    process = embedded_redis.start(socket_path=socket, data_dir=directory)
    url = f"unix://{socket}"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}
    with override_settings(CHANNEL_LAYERS=layers, CELERY_BROKER_URL=kombu_url(url)):
        try:
            yield process
        finally:
            embedded_redis.stop(process)


def test_it_answers_503_naming_redis_when_redis_is_unreachable(
    client: Client, doomed_redis: subprocess.Popen[bytes], temporal_settings: TemporalServer
) -> None:
    assert client.get("/healthz").status_code == 200, "the private Redis serves first"

    embedded_redis.stop(doomed_redis)
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["channel_layer: redis", "broker: redis"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["broker"]["ok"] is False
    assert "unix://" not in response.content.decode(), "addresses stay in the log"


@pytest.fixture
def doomed_temporal(tmp_path: Path, settings: Any) -> Iterator[Leader]:
    """A Temporal server of the test's own that it can kill, configured as TEMPORAL_ADDRESS."""
    port = free_port()
    process = embedded_temporal.start(port=port, db_file=tmp_path / "temporal.sqlite", namespace="doomed")
    settings.TEMPORAL_ADDRESS = f"127.0.0.1:{port}"
    settings.EMBEDDED_TEMPORAL = False
    settings.TEMPORAL_NAMESPACE = "doomed"
    try:
        yield process
    finally:
        embedded_temporal.stop(process)


def test_it_answers_503_naming_temporal_when_temporal_is_unreachable(
    client: Client, doomed_temporal: Leader
) -> None:
    assert client.get("/healthz").status_code == 200, "the private Temporal serves first"

    doomed_temporal.kill()
    doomed_temporal.wait()
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["temporal: remote"]
    assert body["checks"]["temporal"]["error"] == "TemporalUnavailable"
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1" not in response.content.decode(), "addresses stay in the log"


def test_it_checks_the_embedded_temporal_when_no_address_is_set(client: Client, settings: Any) -> None:
    settings.TEMPORAL_ADDRESS = ""
    settings.EMBEDDED_TEMPORAL = True
    settings.TEMPORAL_EMBEDDED_PORT = free_port()  # where no server runs

    body = client.get("/healthz").json()

    assert body["down"] == ["temporal: embedded"]


def test_it_is_not_cached(client: Client) -> None:
    assert "no-store" in client.get("/healthz")["Cache-Control"]
