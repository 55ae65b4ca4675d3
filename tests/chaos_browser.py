"""The browser of the chaos tests (tests/test_chaos.py): HTTP and the pages' WebSockets.

A `Browser` is signed in with a session cookie; its `PageSocket`s hold a page's socket as the
page does, knowing the number of the last frame shown, to reconnect with ?since=. A wait that
runs out fails with the logs of the stack under test (tests/chaos_stack.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from django.test import Client
from yarl import URL

from tenants.models import User
from tests.chaos_stack import REQUEST_SECONDS, Stack

# The numbered frames' marker (core.streams.FrameStream.stamp): how far a page has read.
SEQ = re.compile(r'id="(?:conversation|proposal)-seq" data-seq="(\d+)"')


def session_cookie(user: User) -> str:
    """A signed-in session of `user` (stored in the database the stack reads), as a cookie value."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


class SocketClosed(Exception):
    def __init__(self, code: int | None) -> None:
        self.code = code
        super().__init__(f"the socket closed with code {code}")


@dataclass
class PageSocket:
    """A page's WebSocket as the browser holds it: the numbered frames it received (and the
    last number, to reconnect with ?since= as the page does), the actions it sends."""

    browser: Browser
    path: str
    since: int = 0
    frames: list[str] = field(default_factory=list)
    reconnects: list[int | None] = field(default_factory=list)  # the close codes it reconnected after
    ws: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self, base_url: str) -> None:
        """Open the socket on the server at `base_url`; aiohttp.WSServerHandshakeError when it
        is refused."""
        url = base_url.replace("http://", "ws://", 1) + f"{self.path}?since={self.since}"
        self.ws = await self.browser.session.ws_connect(url, origin=base_url, autoping=True)

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()

    async def send(self, action: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(action))

    async def receive(self, wait: float) -> str:
        """The next text frame (its number noted); SocketClosed when the server closed it."""
        assert self.ws is not None
        # Not aiohttp's own receive timeout: it starts again after each ping the server sends.
        async with asyncio.timeout(wait):
            message = await self.ws.receive()
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            raise SocketClosed(self.ws.close_code)
        if message.type == aiohttp.WSMsgType.ERROR:
            raise SocketClosed(None)
        text = str(message.data)
        self.frames.append(text)
        if match := SEQ.search(text):
            self.since = max(self.since, int(match.group(1)))
        return text

    async def until(
        self, *parts: str, stack: Stack, wait: float = 60, reconnect_to: str | None = None
    ) -> list[str]:
        """The frames received until one that contains every one of `parts` (see until_frame)."""
        return await self.until_frame(
            lambda frame: all(part in frame for part in parts),
            f"with {parts}",
            stack=stack,
            wait=wait,
            reconnect_to=reconnect_to,
        )

    async def until_frame(
        self,
        wanted: Callable[[str], bool],
        what: str,
        *,
        stack: Stack,
        wait: float = 60,
        reconnect_to: str | None = None,
    ) -> list[str]:
        """The frames received until a `wanted` one. With `reconnect_to` (a base URL), a socket
        the server closes (CLOSE_UNAVAILABLE while Redis is away) is opened again with the
        last frame number seen, as the page's socket does, until the deadline."""
        received: list[str] = []
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise stack.fail(f"no frame {what} within {wait:.0f} s; received: {received}")
            try:
                frame = await self.receive(wait=remaining)
            except TimeoutError:
                continue
            except SocketClosed as closed:
                if reconnect_to is None:
                    raise stack.fail(
                        f"the socket closed ({closed.code}) before a frame {what}; received: {received}"
                    ) from None
                self.reconnects.append(closed.code)
                await self._reopen(reconnect_to, deadline, stack)
                continue
            received.append(frame)
            if wanted(frame):
                return received

    async def _reopen(self, base_url: str, deadline: float, stack: Stack) -> None:
        while True:
            try:
                await self.connect(base_url)
                return
            except (aiohttp.ClientError, OSError) as refused:
                if time.monotonic() > deadline:
                    raise stack.fail(f"the socket could not be opened again: {refused!r}") from None
                await asyncio.sleep(0.2)


class Browser:
    """An HTTP and WebSocket client signed in with a session cookie (127.0.0.1 included:
    aiohttp's default cookie jar ignores cookies of IP addresses)."""

    def __init__(self, session_key: str) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        jar.update_cookies({"sessionid": session_key}, URL("http://127.0.0.1/"))
        self.session = aiohttp.ClientSession(
            cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS)
        )
        self.sockets: list[PageSocket] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in self.sockets:
            with contextlib.suppress(Exception):
                await socket.close()
        await self.session.close()

    def socket(self, path: str, since: int = 0) -> PageSocket:
        socket = PageSocket(self, path, since)
        self.sockets.append(socket)
        return socket

    async def get(self, url: str) -> tuple[int, str, str]:
        """GET without following redirects: status, body, Location."""
        async with self.session.get(url, allow_redirects=False) as response:
            return response.status, await response.text(), response.headers.get("Location", "")

    async def post_form(
        self, page_url: str, url: str, data: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a form as the page at `page_url` would (with its CSRF token): status, Location."""
        status, body, _ = await self.get(page_url)
        if status != 200:
            raise AssertionError(f"GET {page_url} answered {status}")
        match = re.search(r'"X-CSRFToken": "([^"]+)"', body)
        if match is None:
            raise AssertionError(f"no CSRF token on {page_url}")
        form = {"csrfmiddlewaretoken": match.group(1), **(data or {})}
        async with self.session.post(url, data=form, allow_redirects=False) as response:
            return response.status, response.headers.get("Location", "")
