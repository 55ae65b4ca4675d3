"""The egress guard: address ranges, the allowlist, URLs as typed, and guarded connections.

Classification and URL checks make no connection; connection tests talk only to servers
on 127.0.0.1 that the test starts (a name that "resolves" elsewhere does so through an
injected resolver, never DNS).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import runpy
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from core.egress import AddressCategory as Category
from core.egress import (
    EgressPolicy,
    EgressRefused,
    GuardedTransport,
    classify,
    guarded_async_client,
    literal_address,
    parse_allowed_host,
    url_problem,
)
from core.egress.addresses import IPAddress
from core.egress.transport import Resolver

STRICT = EgressPolicy()
LOOPBACK_ALLOWED = EgressPolicy((parse_allowed_host("127.0.0.1"),))

CLASSIFIED = [
    # IPv4
    ("127.0.0.1", Category.LOOPBACK),
    ("127.255.255.254", Category.LOOPBACK),
    ("10.0.0.5", Category.PRIVATE),
    ("10.255.255.255", Category.PRIVATE),
    ("172.16.0.1", Category.PRIVATE),
    ("172.31.255.254", Category.PRIVATE),
    ("192.168.1.1", Category.PRIVATE),
    ("100.64.0.1", Category.SHARED),
    ("100.127.255.254", Category.SHARED),
    ("169.254.169.254", Category.LINK_LOCAL),
    ("169.254.0.1", Category.LINK_LOCAL),
    ("224.0.0.1", Category.MULTICAST),
    ("239.255.255.250", Category.MULTICAST),
    ("0.0.0.0", Category.UNSPECIFIED),  # noqa: S104 (an address classified, not bound)
    ("0.1.2.3", Category.UNSPECIFIED),
    ("240.0.0.1", Category.RESERVED),
    ("255.255.255.255", Category.RESERVED),
    ("192.0.0.8", Category.RESERVED),
    ("192.0.2.10", Category.RESERVED),
    ("198.51.100.7", Category.RESERVED),
    ("203.0.113.9", Category.RESERVED),
    ("198.18.0.1", Category.RESERVED),
    # IPv6
    ("::1", Category.LOOPBACK),
    ("::", Category.UNSPECIFIED),
    ("fe80::1", Category.LINK_LOCAL),
    ("fe80::1%2", Category.LINK_LOCAL),
    ("febf:ffff::1", Category.LINK_LOCAL),
    ("fc00::1", Category.UNIQUE_LOCAL),
    ("fd12:3456:789a::1", Category.UNIQUE_LOCAL),
    ("ff02::1", Category.MULTICAST),
    ("ff05::2", Category.MULTICAST),
    ("2001:db8::1", Category.RESERVED),
    ("2001:0:4136:e378::1", Category.RESERVED),  # Teredo
    ("100::1", Category.RESERVED),
    ("::127.0.0.1", Category.RESERVED),  # IPv4-compatible, deprecated
    ("fec0::1", Category.RESERVED),
    ("4000::1", Category.RESERVED),  # outside global unicast 2000::/3
    # IPv4 inside IPv6: classified by the IPv4 address they reach
    ("::ffff:127.0.0.1", Category.LOOPBACK),
    ("::ffff:7f00:1", Category.LOOPBACK),
    ("::ffff:169.254.169.254", Category.LINK_LOCAL),
    ("::ffff:10.0.0.1", Category.PRIVATE),
    ("::ffff:8.8.8.8", Category.PUBLIC),
    ("64:ff9b::127.0.0.1", Category.LOOPBACK),  # NAT64
    ("64:ff9b::a9fe:a9fe", Category.LINK_LOCAL),
    ("64:ff9b::808:808", Category.PUBLIC),
    ("2002:7f00:1::1", Category.LOOPBACK),  # 6to4
    ("2002:c0a8:101::", Category.PRIVATE),
    ("2002:808:808::1", Category.PUBLIC),
    # Public
    ("8.8.8.8", Category.PUBLIC),
    ("1.1.1.1", Category.PUBLIC),
    ("172.32.0.1", Category.PUBLIC),
    ("100.128.0.1", Category.PUBLIC),
    ("2606:4700:4700::1111", Category.PUBLIC),
    ("2a00:1450:4001:80b::200e", Category.PUBLIC),
]


@pytest.mark.parametrize(("address", "category"), CLASSIFIED, ids=[address for address, _ in CLASSIFIED])
def test_it_classifies_every_range(address: str, category: Category) -> None:
    assert classify(address) is category


@pytest.mark.parametrize(
    ("host", "meant"),
    [("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
     ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("[::1]", "::1"),
     ("169.254.169.254", "169.254.169.254")],
)  # fmt: skip
def test_it_reads_numeric_hosts_as_a_resolver_would(host: str, meant: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(meant)


@pytest.mark.parametrize("host", ["example.com", "api.openai.com", "1.2.3.4.example", "0xg.1"])
def test_names_are_not_numeric_hosts(host: str) -> None:
    assert literal_address(host) is None


# --- The allowlist -----------------------------------------------------------------------------


def test_allowlist_entries_match_names_networks_and_ports() -> None:
    policy = EgressPolicy(
        tuple(
            parse_allowed_host(entry)
            for entry in ("vllm.internal:8000", "*.corp.example", "10.0.0.0/24:8000", "[fd00::5]:9000")
        )
    )
    assert policy.allows_name("VLLM.internal.", 8000)
    assert not policy.allows_name("vllm.internal", 8001)
    assert policy.allows_name("gpu.corp.example", 443)
    assert not policy.allows_name("corp.example.evil.test", 443)
    assert policy.address_refusal(ipaddress.ip_address("10.0.0.5"), 8000) is None
    assert policy.address_refusal(ipaddress.ip_address("::ffff:10.0.0.5"), 8000) is None, "mapped form"
    assert policy.address_refusal(ipaddress.ip_address("10.0.0.5"), 8001) == "a private address"
    assert policy.address_refusal(ipaddress.ip_address("10.0.1.5"), 8000) == "a private address"
    assert policy.address_refusal(ipaddress.ip_address("fd00::5"), 9000) is None
    assert (
        policy.address_refusal(ipaddress.ip_address("fd00::6"), 9000)
        == "a unique local (private IPv6) address"
    )
    assert policy.address_refusal(ipaddress.ip_address("8.8.8.8"), 25) is None, "public addresses, any port"


@pytest.mark.parametrize(
    "entry", ["http://x", "host:0", "host:70000", "a b", "10.0.0.0/33", "[fd00::1]x", "-bad-.example", "*."]
)
def test_a_malformed_allowlist_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=r"port|neither|expected"):
        parse_allowed_host(entry)


def test_the_setting_is_read_from_the_environment_and_a_bad_entry_stops_startup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings_file = Path(__file__).resolve().parents[2] / "config" / "settings.py"
    for name in ("SITE_ROOT", "SECRET_KEY", "PROVIDER_KEYRING", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)  # the embedded defaults
    monkeypatch.setenv("SCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EGRESS_ALLOWED_HOSTS", "10.0.0.5:8000, vllm.internal")
    assert runpy.run_path(str(settings_file))["EGRESS_ALLOWED_HOSTS"] == ["10.0.0.5:8000", "vllm.internal"]
    monkeypatch.setenv("EGRESS_ALLOWED_HOSTS", "10.0.0.5:8000,http://vllm")
    with pytest.raises(ImproperlyConfigured, match="EGRESS_ALLOWED_HOSTS: 'http://vllm'"):
        runpy.run_path(str(settings_file))


# --- URLs as typed -------------------------------------------------------------------------------

REFUSED_URLS = [
    ("http://127.0.0.1:8000/v1", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8000/v1", "::1 is a loopback address"),
    ("http://localhost:11434/v1", "localhost names an internal host"),
    ("http://api.localhost/v1", "names an internal host"),
    ("http://LOCALHOST./v1", "localhost. names an internal host"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local (cloud metadata) address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "names an internal host"),
    ("http://10.0.0.5:8000/v1", "10.0.0.5 is a private address"),
    ("http://172.20.1.1/v1", "is a private address"),
    ("http://192.168.0.10/v1", "is a private address"),
    ("http://100.64.1.1/v1", "shared (carrier-grade NAT)"),
    ("http://[fe80::1]/v1", "link-local"),
    ("http://[fd00::1]/v1", "unique local"),
    ("http://[::ffff:127.0.0.1]/v1", "(which embeds 127.0.0.1) is a loopback address"),
    ("http://0.0.0.0:8000/v1", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://2130706433/v1", "2130706433 means 127.0.0.1, a loopback address"),
    ("http://0x7f.1/v1", "0x7f.1 means 127.0.0.1"),
    ("http://redis:6379/", "redis is not a public host name"),
    ("https://user:secret@api.openai.com/v1", "Remove the user name and password"),
    ("https://:secret@api.openai.com/v1", "Remove the user name and password"),
    ("ftp://api.openai.com/", "Use an http:// or https:// URL."),
    ("file:///etc/passwd", "Use an http:// or https:// URL."),
    ("http:///v1", "no host name"),
]


@pytest.mark.parametrize(("url", "problem"), REFUSED_URLS, ids=[url for url, _ in REFUSED_URLS])
def test_a_url_to_an_internal_host_is_refused_with_the_reason(url: str, problem: str) -> None:
    found = url_problem(url, policy=STRICT)
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    "url", ["https://api.openai.com/v1", "https://api.groq.com/openai/v1", "http://8.8.8.8:8000/v1",
            "https://[2606:4700:4700::1111]/v1"]
)  # fmt: skip
def test_a_public_url_passes(url: str) -> None:
    assert url_problem(url, policy=STRICT) is None


def test_the_allowlist_lets_an_operators_internal_host_through_the_form() -> None:
    policy = EgressPolicy((parse_allowed_host("10.0.0.5:8000"), parse_allowed_host("vllm")))
    assert url_problem("http://10.0.0.5:8000/v1", policy=policy) is None
    assert url_problem("http://vllm/v1", policy=policy) is None
    assert url_problem("http://10.0.0.5:8001/v1", policy=policy) == (
        "10.0.0.5 is a private address: only public addresses may be reached."
    )


def test_the_form_check_follows_the_setting(settings: Any) -> None:
    settings.EGRESS_ALLOWED_HOSTS = []
    assert url_problem("http://127.0.0.1:8000/v1") is not None
    settings.EGRESS_ALLOWED_HOSTS = ["127.0.0.1:8000"]
    assert url_problem("http://127.0.0.1:8000/v1") is None


# --- Connections --------------------------------------------------------------------------------


@dataclass
class LocalServer:
    """An HTTP/1.1 server on 127.0.0.1 that records what reached it and answers `answer`."""

    answer: bytes
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.requests.append(head)
        writer.write(self.answer)
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def answer(status: str, body: bytes = b"{}", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"{headers}connection: close\r\n\r\n"
    ).encode() + body


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    local = LocalServer(answer("200 OK", b'{"ok": true}'))
    listener = await asyncio.start_server(local.handle, "127.0.0.1", 0)
    local.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield local


def resolving_to(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


async def test_a_loopback_address_is_refused_before_any_connection(server: LocalServer) -> None:
    async with guarded_async_client(timeout=5, policy=STRICT) as client:
        with pytest.raises(EgressRefused, match=r"127\.0\.0\.1 is a loopback address"):
            await client.get(f"{server.url}/v1/models")
    assert server.connections == 0


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "127.1", "0.0.0.0"],  # noqa: S104
)
async def test_every_spelling_of_loopback_is_refused_at_connect_time(server: LocalServer, host: str) -> None:
    async with guarded_async_client(timeout=5, policy=STRICT) as client:
        with pytest.raises(EgressRefused, match="internal addresses may not be reached"):
            await client.get(f"http://{host}:{server.port}/v1/models")
    assert server.connections == 0


async def test_a_name_that_resolves_to_loopback_is_refused(server: LocalServer) -> None:
    """`localhost` resolves through the hosts file: no DNS query leaves the machine."""
    async with guarded_async_client(timeout=5, policy=STRICT) as client:
        with pytest.raises(
            EgressRefused, match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback address"
        ):
            await client.get(f"http://localhost:{server.port}/v1/models")
    assert server.connections == 0


async def test_every_address_a_name_resolves_to_is_checked(server: LocalServer) -> None:
    """One public address among them is not enough: a rebinding name lists both."""
    resolve = resolving_to("8.8.8.8", "127.0.0.1")
    async with guarded_async_client(timeout=5, policy=STRICT, resolver=resolve) as client:
        with pytest.raises(EgressRefused, match=r"provider\.test resolves to 127\.0\.0\.1"):
            await client.get(f"http://provider.test:{server.port}/v1/models")
    assert server.connections == 0


async def test_the_checked_address_is_the_one_connected_to(server: LocalServer) -> None:
    """provider.test exists in no DNS: the connection reaches the server only because it goes
    to the address the resolver gave and the policy checked, not to a second lookup."""
    resolve = resolving_to("127.0.0.1")
    async with guarded_async_client(timeout=5, policy=LOOPBACK_ALLOWED, resolver=resolve) as client:
        response = await client.get(f"http://provider.test:{server.port}/v1/models")
    assert response.json() == {"ok": True}
    [head] = server.requests
    assert f"host: provider.test:{server.port}".encode() in head.lower(), "the Host header keeps the name"


async def test_the_setting_allows_loopback_at_connect_time(server: LocalServer, settings: Any) -> None:
    settings.EGRESS_ALLOWED_HOSTS = []
    async with guarded_async_client(timeout=5) as client:
        with pytest.raises(EgressRefused):
            await client.get(f"{server.url}/v1/models")
        settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        assert (await client.get(f"{server.url}/v1/models")).status_code == 200
    assert server.connections == 1


async def test_a_redirect_to_another_port_is_not_followed(server: LocalServer) -> None:
    target = server
    redirector = LocalServer(
        answer("307 Temporary Redirect", headers=f"location: {target.url}/v1/models\r\n")
    )
    listener = await asyncio.start_server(redirector.handle, "127.0.0.1", 0)
    redirector.port = listener.sockets[0].getsockname()[1]
    async with listener, guarded_async_client(timeout=5, policy=LOOPBACK_ALLOWED) as client:
        with pytest.raises(EgressRefused, match="answered HTTP 307 with a redirect"):
            # Even a caller that asks to follow redirects does not get there.
            await client.get(f"{redirector.url}/v1/models", follow_redirects=True)
    assert len(redirector.requests) == 1
    assert target.connections == 0


# --- TLS: the vetted address, the host's name ------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for provider.test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provider.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("provider.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem"


async def test_https_verifies_and_names_the_host_while_connecting_to_the_checked_address(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []

    def record_name(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server_context.sni_callback = record_name
    local = LocalServer(answer("200 OK", b'{"tls": true}'))
    listener = await asyncio.start_server(local.handle, "127.0.0.1", 0, ssl=server_context)
    local.port = listener.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cafile=str(cert))
    transport = GuardedTransport(
        policy=LOOPBACK_ALLOWED,
        resolver=resolving_to("127.0.0.1"),
        ssl_context=client_context,
    )
    async with listener, httpx2.AsyncClient(transport=transport, timeout=5) as client:
        response = await client.get(f"https://provider.test:{local.port}/v1/models")
    assert response.json() == {"tls": True}
    assert names == ["provider.test"], "SNI names the host, not the address"
