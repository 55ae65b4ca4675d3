from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from config.settings import kombu_url
from core import embedded_redis

pytestmark = pytest.mark.django_db


def test_it_is_ok_when_everything_answers(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["checks"]) == {"database", "channel_layer", "broker"}
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
    client: Client, doomed_redis: subprocess.Popen[bytes]
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


def test_it_is_not_cached(client: Client) -> None:
    assert "no-store" in client.get("/healthz")["Cache-Control"]
