"""Are the services SCE depends on reachable? The checks behind /healthz and the API's /health.

Each check has CHECK_TIMEOUT seconds; a failed one says which kind of error it met and
logs the details, so an unauthenticated health page never shows addresses.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from kombu import Connection

from core import temporal_client

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0


@dataclass
class CheckResult:
    name: str
    backend: str
    ok: bool
    ms: float
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "backend": self.backend, "ms": round(self.ms, 1)}
        if self.error:
            data["error"] = self.error
        return data


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _ping_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


def _ping_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT) as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, interval_step=1, interval_max=1, timeout=int(CHECK_TIMEOUT)
        )


async def _ping_temporal() -> None:
    # Connecting checks the server answers gRPC calls and has our namespace: what runs need.
    await temporal_client.connect(within=CHECK_TIMEOUT)


def _backend_of_channel_layer() -> str:
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    return "redis" if "redis" in backend.lower() else backend.rsplit(".", 1)[-1]


def _backend_of_broker() -> str:
    return settings.CELERY_BROKER_URL.split(":", 1)[0].split("+", 1)[0]


def _backend_of_temporal() -> str:
    return "embedded" if settings.EMBEDDED_TEMPORAL else "remote"


async def _run(name: str, backend: str, probe: Any) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT)
    except Exception as error:
        logger.warning("health check %s (%s) failed", name, backend, exc_info=True)
        kind = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        return CheckResult(name, backend, False, (time.perf_counter() - started) * 1000, kind)
    return CheckResult(name, backend, True, (time.perf_counter() - started) * 1000)


async def check_services() -> list[CheckResult]:
    """Check the database, the channel layer, the Celery broker and Temporal, side by side."""
    return list(
        await asyncio.gather(
            _run("database", connection.vendor, sync_to_async(_ping_database)),
            _run("channel_layer", _backend_of_channel_layer(), _ping_channel_layer),
            _run("broker", _backend_of_broker(), sync_to_async(_ping_broker, thread_sensitive=False)),
            _run("temporal", _backend_of_temporal(), _ping_temporal),
        )
    )
