"""Clients of the Temporal server that runs workflows: the embedded dev server or TEMPORAL_ADDRESS's.

Every client goes through `connect`, so namespace, TLS and API key are honoured alike and an
unreachable server always surfaces as `TemporalUnavailable` with the address in its message.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

CONNECT_TIMEOUT = 5.0


class TemporalUnavailable(RuntimeError):
    """The Temporal server does not answer, refuses us, or lacks our namespace."""


def temporal_address() -> str:
    """host:port of the Temporal frontend: TEMPORAL_ADDRESS, else the embedded dev server's."""
    return settings.TEMPORAL_ADDRESS or f"127.0.0.1:{settings.TEMPORAL_EMBEDDED_PORT}"


async def connect(*, within: float = CONNECT_TIMEOUT, data_converter: DataConverter | None = None) -> Client:
    """A client of the configured Temporal server and namespace, once both answer.

    TLS (client certificate and key, server CA) and the API key come from the TEMPORAL_*
    settings. Raises TemporalUnavailable within `within` seconds when the server cannot be
    reached or has no such namespace.
    """
    return await connect_to(
        temporal_address(),
        namespace=settings.TEMPORAL_NAMESPACE,
        tls=tls_config(),
        api_key=settings.TEMPORAL_API_KEY or None,
        within=within,
        data_converter=data_converter,
    )


async def connect_to(
    address: str,
    *,
    namespace: str,
    tls: bool | TLSConfig = False,
    api_key: str | None = None,
    within: float = CONNECT_TIMEOUT,
    data_converter: DataConverter | None = None,
) -> Client:
    """A client of the Temporal server at `address`, after checking that `namespace` exists
    there (Client.connect alone checks the server, not the namespace)."""
    try:
        async with asyncio.timeout(within):
            client = await Client.connect(
                address,
                namespace=namespace,
                tls=tls,
                api_key=api_key,
                connect_timeout=timedelta(seconds=within),
                data_converter=data_converter or DataConverter.default,
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace), timeout=timedelta(seconds=within)
            )
    except TimeoutError as error:
        raise TemporalUnavailable(
            f"Temporal at {address} is not answering: no answer within {within}s"
        ) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise TemporalUnavailable(f"Temporal at {address} has no namespace {namespace!r}") from error
        raise TemporalUnavailable(f"Temporal at {address} is not answering: {error.message}") from error
    except RuntimeError as error:  # the SDK's "Failed client connect: …" (refused, TLS handshake)
        raise TemporalUnavailable(f"Temporal at {address} is not answering: {error}") from error
    return client


def tls_config() -> bool | TLSConfig:
    """TLS as the settings ask: off, the system's CAs, or our PEM files. An API key implies
    TLS, as in the SDK and the Temporal CLI: it must not cross the network in clear."""
    cert, key, ca = (
        settings.TEMPORAL_TLS_CLIENT_CERT,
        settings.TEMPORAL_TLS_CLIENT_KEY,
        settings.TEMPORAL_TLS_SERVER_CA,
    )
    if bool(cert) != bool(key):
        raise TemporalUnavailable(
            "TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY go together: set both"
        )
    if not (settings.TEMPORAL_TLS or cert or ca or settings.TEMPORAL_API_KEY):
        return False
    if not (cert or ca):
        return True
    return TLSConfig(
        client_cert=_read_pem("TEMPORAL_TLS_CLIENT_CERT", cert),
        client_private_key=_read_pem("TEMPORAL_TLS_CLIENT_KEY", key),
        server_root_ca_cert=_read_pem("TEMPORAL_TLS_SERVER_CA", ca),
    )


def _read_pem(setting: str, path: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise TemporalUnavailable(f"cannot read {setting} ({path}): {error.strerror}") from error
