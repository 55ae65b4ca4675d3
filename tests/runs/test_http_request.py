"""The `http.request` built-in: answers, the egress guard on every hop, limits, bad arguments.

Nothing here leaves the machine: the servers listen on 127.0.0.1 and are let through by
naming their port in EGRESS_ALLOWED_HOSTS (the test settings allow all of 127.0.0.1; each test
that checks refusals narrows it). Names that "resolve" do so through an injected resolver,
and the metadata address is refused before any connection is tried.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.egress.addresses import IPAddress
from core.egress.transport import Resolver
from runs.activities.catalog import ActivityContext, ActivityError, builtin
from runs.activities.http_request import http_request

Writer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    """An HTTP/1.1 server on 127.0.0.1: each path answers fixed bytes or runs a writer."""

    routes: dict[str, bytes | Writer]
    port: int = 0
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, path, _version = request_line.split(" ")
            pairs = [line.split(": ", 1) for line in lines if line]
            headers = {name.lower(): value for name, value in pairs}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Seen(method, path, headers, body))
            route = self.routes.get(
                path.split("?")[0], answer("404 Not Found", b"no such path", "text/plain")
            )
            if isinstance(route, bytes):
                writer.write(route)
                await writer.drain()
            else:
                await route(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def answer(
    status: str, body: bytes = b"", content_type: str = "application/json", headers: str = ""
) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        f"{headers}connection: close\r\n\r\n"
    ).encode() + body


def redirect(location: str, status: str = "302 Found") -> bytes:
    return answer(status, headers=f"location: {location}\r\n")


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client gives up and closes


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A byte every 0.1 s: no single read waits long, the whole answer takes 5 s."""
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 50\r\n\r\n")
    for _ in range(50):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.1)


async def unsized(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """2 MB with no content-length: only counting while reading can stop it."""
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n")
    for _ in range(32):
        writer.write(b"y" * 65536)
        await writer.drain()


Start = Callable[[dict[str, bytes | Writer]], Awaitable[LocalServer]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    listeners: list[asyncio.Server] = []

    async def start_server(routes: dict[str, bytes | Writer]) -> LocalServer:
        server = LocalServer(routes)
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listener.sockets[0].getsockname()[1]
        listeners.append(listener)
        return server

    yield start_server
    for listener in listeners:
        listener.close()
        await listener.wait_closed()


@dataclass
class Beats:
    count: int = 0

    def __call__(self) -> None:
        self.count += 1


def context(heartbeat: Callable[[], None] = lambda: None) -> ActivityContext:
    return ActivityContext(tenant_id=7, run_id=42, node_id="fetch", heartbeat=heartbeat)


async def request(**arguments: Any) -> Any:
    spec = builtin("http.request")
    assert spec is not None
    return await spec.run(arguments, context())


def only(settings: Any, *servers: LocalServer) -> None:
    """Let exactly these servers' ports through the egress guard."""
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}" for server in servers]


def resolving(names: dict[str, str]) -> Resolver:
    """A resolver that knows `names` (and takes an address for itself), without DNS."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(names.get(host, host))]

    return resolve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- Answers ------------------------------------------------------------------------------------


async def test_it_returns_status_lower_cased_headers_and_parsed_json(start: Start, settings: Any) -> None:
    server = await start(
        {"/order": answer("200 OK", b'{"id": 5, "items": [1, 2]}', headers="X-Trace: abc\r\n")}
    )
    only(settings, server)
    result = await request(url=f"{server.url}/order?full=1")
    assert result["status"] == 200
    assert result["json"] == {"id": 5, "items": [1, 2]}
    assert "text" not in result
    assert result["headers"]["x-trace"] == "abc"
    assert result["headers"]["content-type"] == "application/json"
    assert result["url"] == f"{server.url}/order?full=1"
    [seen] = server.requests
    assert (seen.method, seen.path) == ("GET", "/order?full=1")


async def test_it_returns_text_when_the_answer_is_not_json(start: Start, settings: Any) -> None:
    server = await start({
        "/page": answer("200 OK", "<p>café</p>".encode(), "text/html; charset=utf-8"),
        "/broken": answer("200 OK", b"{not json", "application/json"),
        "/problem": answer("200 OK", b'{"detail": "x"}', "application/problem+json"),
    })  # fmt: skip
    only(settings, server)
    page = await request(url=f"{server.url}/page")
    assert page["text"] == "<p>café</p>"
    assert "json" not in page
    # A JSON content type with a body that does not parse: the workflow sees what came back.
    assert (await request(url=f"{server.url}/broken"))["text"] == "{not json"
    assert (await request(url=f"{server.url}/problem"))["json"] == {"detail": "x"}


async def test_it_sends_the_method_headers_and_a_json_body(start: Start, settings: Any) -> None:
    server = await start({"/orders": answer("201 Created", b"{}")})
    only(settings, server)
    result = await request(
        url=f"{server.url}/orders",
        method="post",
        headers={"X-Api-Key": "k-123"},
        json={"sku": "A1", "qty": 2},
        timeout_seconds="5",  # text, as an input mapping renders it
        max_bytes="1000",
    )
    assert result["status"] == 201
    [seen] = server.requests
    assert seen.method == "POST"
    assert seen.headers["x-api-key"] == "k-123"
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"sku": "A1", "qty": 2}


async def test_it_sends_a_text_body_as_is(start: Start, settings: Any) -> None:
    server = await start({"/raw": answer("200 OK", b"ok", "text/plain")})
    only(settings, server)
    await request(
        url=f"{server.url}/raw", method="PUT", body="a=1&b=2", headers={"Content-Type": "text/plain"}
    )
    [seen] = server.requests
    assert (seen.method, seen.body, seen.headers["content-type"]) == ("PUT", b"a=1&b=2", "text/plain")


@pytest.mark.parametrize("status", ["404 Not Found", "429 Too Many Requests", "503 Service Unavailable"])
async def test_an_error_status_is_returned_for_the_workflow_to_branch_on(
    start: Start, settings: Any, status: str
) -> None:
    server = await start({"/x": answer(status, b'{"error": "nope"}')})
    only(settings, server)
    result = await request(url=f"{server.url}/x")
    assert result["status"] == int(status.split()[0])
    assert result["json"] == {"error": "nope"}


# --- The egress guard ------------------------------------------------------------------------------


async def test_a_loopback_url_is_refused_without_connecting(start: Start, settings: Any) -> None:
    server = await start({"/": answer("200 OK", b"{}")})
    settings.EGRESS_ALLOWED_HOSTS = []
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/")
    assert raised.value.code == "refused_address"
    assert raised.value.retryable is False
    assert "127.0.0.1 is a loopback address" in raised.value.message
    assert server.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://10.0.0.5/admin",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://localhost:8000/",
        "http://0x7f.1:8000/",
    ],
)
async def test_an_internal_address_is_refused_before_any_connection(settings: Any, url: str) -> None:
    settings.EGRESS_ALLOWED_HOSTS = []
    with pytest.raises(ActivityError) as raised:
        await request(url=url)
    assert raised.value.code == "refused_address"
    assert raised.value.retryable is False


async def test_a_name_that_resolves_to_an_internal_address_is_refused_at_connect_time(
    start: Start, settings: Any
) -> None:
    """Nothing in the URL gives it away: the guard checks what the name resolves to."""
    server = await start({"/": answer("200 OK", b"{}")})
    settings.EGRESS_ALLOWED_HOSTS = []
    resolver = resolving({"api.example.com": "127.0.0.1", "cloud.example.com": "169.254.169.254"})
    for url, refused in [
        (
            f"http://api.example.com:{server.port}/",
            "api.example.com resolves to 127.0.0.1, a loopback address",
        ),
        (
            "http://cloud.example.com/latest/meta-data/",
            "resolves to 169.254.169.254, a link-local (cloud metadata) address",
        ),
    ]:
        with pytest.raises(ActivityError) as raised:
            await http_request({"url": url}, context(), resolver=resolver)
        assert raised.value.code == "refused_address"
        assert refused in raised.value.message
    assert server.connections == 0


async def test_a_redirect_is_followed_when_every_hop_is_allowed(start: Start, settings: Any) -> None:
    target = await start({"/done": answer("200 OK", b'{"done": true}')})
    middle = await start({"/step": redirect(f"{target.url}/done", "307 Temporary Redirect")})
    first = await start({"/start": redirect(f"{middle.url}/step")})
    only(settings, first, middle, target)
    result = await request(url=f"{first.url}/start", headers={"Authorization": "Bearer secret"})
    assert result == {
        "status": 200,
        "headers": result["headers"],
        "json": {"done": True},
        "url": f"{target.url}/done",
    }
    # Credentials stay with the origin they were meant for.
    assert first.requests[0].headers["authorization"] == "Bearer secret"
    assert "authorization" not in target.requests[0].headers


async def test_a_303_after_a_post_is_followed_with_a_get_and_no_body(start: Start, settings: Any) -> None:
    server = await start({
        "/submit": redirect("/result", "303 See Other"),
        "/result": answer("200 OK", b'{"ok": 1}'),
    })  # fmt: skip
    only(settings, server)
    result = await request(url=f"{server.url}/submit", method="POST", json={"a": 1})
    assert result["json"] == {"ok": 1}
    assert [(seen.method, seen.path, seen.body) for seen in server.requests] == [
        ("POST", "/submit", b'{"a":1}'),
        ("GET", "/result", b""),
    ]


async def test_a_redirect_to_a_port_not_allowed_is_refused_without_connecting(
    start: Start, settings: Any
) -> None:
    inside = await start({"/secret": answer("200 OK", b'{"secret": 1}')})
    outside = await start({"/go": redirect(f"{inside.url}/secret")})
    only(settings, outside)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{outside.url}/go")
    assert raised.value.code == "refused_address"
    assert raised.value.retryable is False
    assert f"redirected to '{inside.url}/secret'" in raised.value.message
    assert inside.connections == 0


async def test_a_redirect_to_the_metadata_address_is_refused(start: Start, settings: Any) -> None:
    outside = await start(
        {"/go": redirect("http://169.254.169.254/latest/meta-data/iam/", "301 Moved Permanently")}
    )
    only(settings, outside)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{outside.url}/go")
    assert raised.value.code == "refused_address"
    assert "169.254.169.254 is a link-local (cloud metadata) address" in raised.value.message


async def test_a_redirect_to_a_name_resolving_inside_is_refused_at_connect_time(
    start: Start, settings: Any
) -> None:
    inside = await start({"/secret": answer("200 OK", b"{}")})
    outside = await start({"/go": redirect(f"http://internal.example.com:{inside.port}/secret")})
    only(settings, outside)
    resolver = resolving({"internal.example.com": "127.0.0.1"})
    with pytest.raises(ActivityError) as raised:
        await http_request({"url": f"{outside.url}/go"}, context(), resolver=resolver)
    assert raised.value.code == "refused_address"
    assert "internal.example.com resolves to 127.0.0.1" in raised.value.message
    assert inside.connections == 0


async def test_a_redirect_to_another_scheme_is_refused(start: Start, settings: Any) -> None:
    server = await start({"/go": redirect("file:///etc/passwd")})
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/go")
    assert raised.value.code == "bad_redirect"
    assert "must be an http:// or https:// URL" in raised.value.message


async def test_more_than_five_redirects_fail(start: Start, settings: Any) -> None:
    server = await start({"/loop": redirect("/loop")})
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/loop")
    assert raised.value.code == "too_many_redirects"
    assert len(server.requests) == 6, "the first request and five redirects followed"


# --- Limits and failures ---------------------------------------------------------------------------


async def test_a_body_declared_larger_than_max_bytes_is_refused(start: Start, settings: Any) -> None:
    server = await start({"/big": answer("200 OK", b"z" * 5000, "text/plain")})
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/big", max_bytes=4999)
    assert raised.value.code == "too_large"
    assert raised.value.retryable is False
    assert (await request(url=f"{server.url}/big", max_bytes=5000))["text"] == "z" * 5000


async def test_a_body_without_a_length_is_cut_off_past_max_bytes(start: Start, settings: Any) -> None:
    server = await start({"/stream": unsized})
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/stream", max_bytes=100_000)
    assert raised.value.code == "too_large"
    assert "100,000 bytes" in raised.value.message


async def test_a_compressed_body_is_measured_after_decompression(start: Start, settings: Any) -> None:
    """20 kB of gzip that inflates to 20 MB: the limit is on what the workflow would hold."""
    bomb = gzip.compress(b"0" * 20_000_000)
    server = await start(
        {"/bomb": answer("200 OK", bomb, "text/plain", headers="content-encoding: gzip\r\n")}
    )
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/bomb", max_bytes=1_000_000)
    assert raised.value.code == "too_large"


async def test_a_download_heartbeats(start: Start, settings: Any) -> None:
    server = await start({"/stream": unsized})
    only(settings, server)
    beats = Beats()
    result = await http_request({"url": f"{server.url}/stream", "max_bytes": 3_000_000}, context(beats))
    assert len(result["text"]) == 32 * 65536
    assert beats.count >= 2


async def test_a_server_that_never_answers_times_out(start: Start, settings: Any) -> None:
    server = await start({"/hang": never_answer})
    only(settings, server)
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/hang", timeout_seconds=0.3)
    assert raised.value.code == "timeout"
    assert raised.value.retryable is True


async def test_the_time_limit_covers_the_whole_call(start: Start, settings: Any) -> None:
    """Each byte comes well within the limit; the answer as a whole does not."""
    server = await start({"/slow": trickle})
    only(settings, server)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(ActivityError) as raised:
        await request(url=f"{server.url}/slow", timeout_seconds=0.6)
    assert raised.value.code == "timeout"
    assert loop.time() - began < 2


async def test_a_refused_connection_is_a_retryable_failure(settings: Any) -> None:
    port = free_port()
    settings.EGRESS_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    with pytest.raises(ActivityError) as raised:
        await request(url=f"http://127.0.0.1:{port}/")
    assert raised.value.code == "connection_error"
    assert raised.value.retryable is True


# Arguments are checked before the URL: a test that slipped past them is refused, not sent.
LOOPBACK = "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({}, "`url`"),
        ({"url": None}, "`url`"),
        ({"url": 5}, "`url` must be text"),
        ({"url": "not a url"}, "`url` must be an http:// or https:// URL"),
        ({"url": "ftp://example.com/file"}, "`url` must be an http:// or https:// URL"),
        ({"url": "https://user:pw@example.com/"}, "`url` must not hold a user name or password"),
        ({"url": LOOPBACK, "method": "TRACE"}, "`method` must be one of GET, POST"),
        ({"url": LOOPBACK, "headers": "X-A: 1"}, "`headers` must be an object"),
        ({"url": LOOPBACK, "headers": {"X-A": 1}}, "`headers` must hold only text values"),
        ({"url": LOOPBACK, "headers": {"X-A": "a\r\nHost: evil"}}, "`headers` holds a line break"),
        ({"url": LOOPBACK, "headers": {"X A": "1"}}, "`headers` holds 'X A', which is not a header name"),
        ({"url": LOOPBACK, "headers": {"X-Name": "café"}}, "(non-ASCII) in 'X-Name'"),
        ({"url": LOOPBACK, "json": {}, "body": "x"}, "`json` or `body`, not both"),
        ({"url": LOOPBACK, "body": {"a": 1}}, "`body` must be text"),
        ({"url": LOOPBACK, "timeout_seconds": 0}, "`timeout_seconds` must be more than 0"),
        ({"url": LOOPBACK, "timeout_seconds": 121}, "at most 120"),
        ({"url": LOOPBACK, "timeout_seconds": "soon"}, "`timeout_seconds` must be a number"),
        ({"url": LOOPBACK, "timeout_seconds": True}, "`timeout_seconds` must be a number"),
        ({"url": LOOPBACK, "max_bytes": 0}, "`max_bytes` must be at least 1"),
        ({"url": LOOPBACK, "max_bytes": 10_000_001}, "at most 10,000,000"),
        ({"url": LOOPBACK, "max_bytes": 1.5}, "`max_bytes` must be a whole number"),
        ({"url": LOOPBACK, "timeout": 5}, "does not take `timeout`"),
    ],
)
async def test_bad_arguments_are_refused_naming_the_argument(
    settings: Any, arguments: dict[str, Any], named: str
) -> None:
    # Strict: should an argument slip through, the URL is refused rather than requested.
    settings.EGRESS_ALLOWED_HOSTS = []
    with pytest.raises(ActivityError) as raised:
        await request(**arguments)
    assert raised.value.code == "bad_arguments"
    assert raised.value.retryable is False
    assert raised.value.message.startswith("http.request ")
    assert named in raised.value.message
