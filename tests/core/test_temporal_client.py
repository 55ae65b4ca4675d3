"""core.temporal_client: where Temporal is, and clients that honour the settings or say why not."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import TLSConfig

from core import temporal_client
from core.temporal_client import TemporalUnavailable
from tests.servers import free_port
from tests.temporal import TemporalServer


def test_the_address_is_the_configured_one_else_the_embedded_servers(settings: Any) -> None:
    settings.TEMPORAL_ADDRESS = ""
    settings.TEMPORAL_EMBEDDED_PORT = 7999
    assert temporal_client.temporal_address() == "127.0.0.1:7999"

    settings.TEMPORAL_ADDRESS = "temporal.internal:7233"
    assert temporal_client.temporal_address() == "temporal.internal:7233"


async def test_it_connects_in_the_configured_namespace(temporal_settings: TemporalServer) -> None:
    client = await temporal_client.connect()
    assert client.namespace == temporal_settings.namespace == "sce-test"
    assert await client.service_client.check_health()


async def test_a_missing_namespace_is_named(temporal_settings: TemporalServer, settings: Any) -> None:
    settings.TEMPORAL_NAMESPACE = "nowhere"
    with pytest.raises(TemporalUnavailable, match=r"has no namespace 'nowhere'"):
        await temporal_client.connect()


async def test_a_server_that_is_not_there_is_named_by_its_address(settings: Any) -> None:
    settings.TEMPORAL_ADDRESS = address = f"127.0.0.1:{free_port()}"
    with pytest.raises(TemporalUnavailable, match=rf"^Temporal at {address} is not answering: "):
        await temporal_client.connect(within=2)


async def test_a_server_that_never_answers_times_out(settings: Any) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        settings.TEMPORAL_ADDRESS = address = f"127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(TemporalUnavailable, match=rf"Temporal at {address} is not answering: no answer"):
            await temporal_client.connect(within=0.5)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_tls_comes_from_the_pem_files(settings: Any, tmp_path: Path) -> None:
    settings.TEMPORAL_TLS_CLIENT_CERT = write(tmp_path / "client.pem", "CERT")
    settings.TEMPORAL_TLS_CLIENT_KEY = write(tmp_path / "client.key", "KEY")
    settings.TEMPORAL_TLS_SERVER_CA = write(tmp_path / "ca.pem", "CA")
    assert temporal_client.tls_config() == TLSConfig(
        client_cert=b"CERT", client_private_key=b"KEY", server_root_ca_cert=b"CA"
    )


def test_tls_is_off_unless_asked_for_and_on_with_an_api_key(settings: Any) -> None:
    settings.TEMPORAL_TLS = False
    settings.TEMPORAL_TLS_CLIENT_CERT = settings.TEMPORAL_TLS_CLIENT_KEY = settings.TEMPORAL_TLS_SERVER_CA = (
        ""
    )
    settings.TEMPORAL_API_KEY = ""
    assert temporal_client.tls_config() is False

    settings.TEMPORAL_API_KEY = "key"
    assert temporal_client.tls_config() is True, "an API key never crosses the network in clear"


def test_a_certificate_without_its_key_is_refused(settings: Any, tmp_path: Path) -> None:
    settings.TEMPORAL_TLS_CLIENT_CERT = write(tmp_path / "client.pem", "CERT")
    settings.TEMPORAL_TLS_CLIENT_KEY = ""
    with pytest.raises(TemporalUnavailable, match="set both"):
        temporal_client.tls_config()


async def test_an_unreadable_pem_file_is_named(settings: Any, tmp_path: Path) -> None:
    settings.TEMPORAL_TLS_SERVER_CA = str(tmp_path / "missing.pem")
    settings.TEMPORAL_TLS_CLIENT_CERT = settings.TEMPORAL_TLS_CLIENT_KEY = ""
    with pytest.raises(TemporalUnavailable, match=r"cannot read TEMPORAL_TLS_SERVER_CA \(.*missing.pem\)"):
        await temporal_client.connect()
