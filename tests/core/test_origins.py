"""Which pages may open the site's WebSockets: scheme, host and port of the Origin compared."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from core.close_codes import CLOSE_FORBIDDEN
from core.origins import origin_allowed, parse_origin
from tests.conftest import TenantUsers
from tests.tenants.test_consumers import connect, session_cookie


def scope(origin: str | None, host: str = "127.0.0.1:8000", **extra: Any) -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers += [(name.encode(), value.encode()) for name, value in extra.pop("headers", [])]
    return {"type": "websocket", "headers": headers, **extra}


@pytest.fixture
def served_directly(settings: Any) -> None:
    """`serve` on 127.0.0.1:8000, as the defaults are."""
    settings.SITE_ROOT = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),  # the page the server served
        ("http://localhost:8000", "localhost:8000", True),  # the same server by another allowed name
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # same host, another port
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False),  # another scheme
        ("http://127.0.0.1", "127.0.0.1:8000", False),  # the default port is another port
        ("http://evil.example", "127.0.0.1:8000", False),
        ("http://evil.example:8000", "evil.example:8000", False),  # a host that is not allowed
        ("null", "127.0.0.1:8000", False),  # a sandboxed frame, a file
        ("http://127.0.0.1:8000/page", "127.0.0.1:8000", False),  # not an origin
        ("http://user:pw@127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", "127.0.0.1:8000", False),  # no such port
        (None, "127.0.0.1:8000", False),
    ],
)
def test_an_origin_must_be_the_servers_own_scheme_host_and_port(
    origin: str | None, host: str, allowed: bool, served_directly: None
) -> None:
    assert origin_allowed(scope(origin, host)) is allowed


def test_behind_a_tls_proxy_the_site_root_is_the_origin(settings: Any) -> None:
    settings.SITE_ROOT = "https://sce.example.com"
    settings.ALLOWED_HOSTS = ["sce.example.com", "127.0.0.1"]
    # Whatever Host the proxy passes on, the public origin is accepted...
    assert origin_allowed(scope("https://sce.example.com", "127.0.0.1:8000"))
    assert origin_allowed(scope("https://sce.example.com:443", "sce.example.com"))
    # ...and nothing else of that host.
    assert not origin_allowed(scope("http://sce.example.com", "sce.example.com"))
    assert not origin_allowed(scope("https://sce.example.com:8443", "sce.example.com"))


def test_a_secure_socket_or_a_trusted_proxy_makes_its_own_origin_https(settings: Any) -> None:
    settings.SITE_ROOT = "https://sce.example.com"
    settings.ALLOWED_HOSTS = ["sce.example.com", "sce-eu.example.com"]
    assert origin_allowed(scope("https://sce-eu.example.com", "sce-eu.example.com", scheme="wss"))
    assert not origin_allowed(scope("https://sce-eu.example.com", "sce-eu.example.com"))
    forwarded = {"headers": [("x-forwarded-proto", "https")]}
    assert not origin_allowed(scope("https://sce-eu.example.com", "sce-eu.example.com", **forwarded))
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope("https://sce-eu.example.com", "sce-eu.example.com", **forwarded))


def test_ipv6_hosts_compare_without_brackets(settings: Any) -> None:
    settings.SITE_ROOT = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["[::1]"]
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    assert origin_allowed(scope("http://[::1]:8000", "[::1]:8000"))
    assert not origin_allowed(scope("http://[::1]:8001", "[::1]:8000"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "admitted"),
    [("http://127.0.0.1:8000", True), ("http://127.0.0.1:8001", False), ("https://127.0.0.1:8000", False)],
    ids=["own-origin", "same-host-other-port", "other-scheme"],
)
async def test_the_socket_router_checks_the_origin(
    origin: str, admitted: bool, tenant_users: TenantUsers, served_directly: None
) -> None:
    cookie = await database_sync_to_async(session_cookie)(tenant_users.member)
    socket, connected, code = await connect("/ws/t/acme/events/", (b"origin", origin.encode()), cookie)
    assert connected is admitted
    if not admitted:
        assert code == CLOSE_FORBIDDEN
    await socket.disconnect()
