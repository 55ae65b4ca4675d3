"""Connections for URLs a tenant supplied: resolved once, every address checked, the checked
address connected to; no redirects, no proxy."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore2
import httpx2

from core.egress.addresses import IPAddress
from core.egress.policy import EgressPolicy, EgressRefused

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
DEFAULT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address getaddrinfo gives for host, in its order, without duplicates."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network layer, resolving once, checking every address, connecting to it."""

    def __init__(self, policy: EgressPolicy | None = None, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or system_resolver
        self._backend = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        policy = self._policy if self._policy is not None else EgressPolicy.from_settings()
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if policy.allows_name(host, port):
            targets = [host]  # the operator trusts this name, whatever it resolves to
        else:
            try:
                with anyio.fail_after(timeout):
                    addresses = await self._resolver(host, port)
            except TimeoutError as error:
                raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from error
            except (OSError, UnicodeError) as error:
                raise httpcore2.ConnectError(f"could not resolve {host}: {error}") from error
            policy.check(host, port, addresses)
            targets = [str(address) for address in addresses]
        failure: httpcore2.ConnectError | None = None
        for target in targets:
            try:
                return await self._backend.connect_tcp(
                    target,
                    port,
                    timeout=remaining(),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore2.ConnectError as error:
                failure = error
        raise failure or httpcore2.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise EgressRefused("Unix sockets are not reachable through the egress guard", host=path)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """An httpx transport whose connections go through GuardedNetworkBackend.

    A redirect answer is refused (EgressRefused) before anyone follows it: the clients that
    use this transport (the provider SDKs) never need one. No proxy is used, whatever the
    environment says: a proxy would reach the address for us, unchecked.
    """

    def __init__(
        self,
        *,
        policy: EgressPolicy | None = None,
        resolver: Resolver | None = None,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        context = ssl_context or httpx2.create_ssl_context()
        options = keepalive_socket_options()
        super().__init__(verify=context, trust_env=False, limits=limits, socket_options=options)
        # The same pool as the parent's, with the guarded network layer underneath.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy, resolver),
            socket_options=options,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if response.has_redirect_location:
            await response.aclose()
            raise EgressRefused(
                f"{request.url.host} answered HTTP {response.status_code} with a redirect; "
                "redirects are not followed",
                host=request.url.host,
                port=request.url.port,
            )
        return response


def keepalive_socket_options() -> list[httpcore2.SOCKET_OPTION]:
    """TCP keepalive, as the SDKs' own clients set it: a dead peer is noticed on long streams."""
    options: list[httpcore2.SOCKET_OPTION] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


def guarded_async_client(
    *,
    timeout: httpx2.Timeout | float | None,
    limits: httpx2.Limits = DEFAULT_LIMITS,
    policy: EgressPolicy | None = None,
    resolver: Resolver | None = None,
) -> httpx2.AsyncClient:
    """An httpx client for URLs a tenant supplied: every connection checked, no redirects.

    `policy` None follows EGRESS_ALLOWED_HOSTS at each new connection; `resolver` replaces
    getaddrinfo (tests).
    """
    return httpx2.AsyncClient(
        transport=GuardedTransport(policy=policy, resolver=resolver, limits=limits),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def refusal_in(error: BaseException | None) -> EgressRefused | None:
    """The EgressRefused behind an error a client library wrapped (SDKs wrap transport errors)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, EgressRefused):
            return error
        error = error.__cause__ or error.__context__
        seen += 1
    return None
