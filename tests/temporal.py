"""The test session's Temporal: one real dev server (core.temporal_server), no mock.

A plugin of tests/conftest.py. The server starts the first time a test asks for
`temporal_server` (directly or through `temporal_settings`), so sessions that never touch
Temporal do not pay for it, and it stops at the end of the session. It listens on a free port
of 127.0.0.1 with its SQLite file in the session's temporary directory: parallel sessions or
workers each get their own, and never the developer's `serve` on TEMPORAL_EMBEDDED_PORT.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from core import temporal_server as server
from tests.servers import free_port

NAMESPACE = "sce-test"  # not "default": the suite checks that the namespace setting is honoured


@dataclass(frozen=True)
class TemporalServer:
    address: str
    namespace: str

    def env(self) -> dict[str, str]:
        """Environment variables pointing a subprocess (a worker, `manage.py …`) at this server."""
        return {"TEMPORAL_ADDRESS": self.address, "TEMPORAL_NAMESPACE": self.namespace}


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalServer]:
    """A Temporal dev server for the whole session."""
    directory = tmp_path_factory.mktemp("temporal")
    port = free_port()
    process = server.start(port=port, db_file=directory / "temporal.sqlite", namespace=NAMESPACE)
    try:
        yield TemporalServer(address=f"127.0.0.1:{port}", namespace=NAMESPACE)
    finally:
        server.stop(process)


@pytest.fixture
def temporal_settings(settings: Any, temporal_server: TemporalServer) -> TemporalServer:
    """Settings pointing this test's code at the session's Temporal server."""
    settings.TEMPORAL_ADDRESS = temporal_server.address
    settings.EMBEDDED_TEMPORAL = False
    settings.TEMPORAL_NAMESPACE = temporal_server.namespace
    settings.TEMPORAL_TLS = False
    settings.TEMPORAL_TLS_CLIENT_CERT = ""
    settings.TEMPORAL_TLS_CLIENT_KEY = ""
    settings.TEMPORAL_TLS_SERVER_CA = ""
    settings.TEMPORAL_API_KEY = ""
    return temporal_server
