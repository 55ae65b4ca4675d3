"""Running an emulator: in a background thread with its own event loop (tests), or in the
foreground (the CLI, for demos and benchmarks).

`EmulatorServer` is the handle tests use: it is the emulator's state (push outcomes, read
the request log) plus the server's addresses. It also offers two addresses for failures
that happen before any HTTP request exists: `blackhole_base_url` (TCP connect never
completes: a connect timeout) and `refused_base_url` (connection refused).
"""

from __future__ import annotations

import asyncio
import select
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from tests.emulators import anthropic_api, azure_openai_api, gemini_api, groq_api, openai_api, voyage_api
from tests.emulators.profiles import OPENAI, Profile
from tests.emulators.state import Emulator, Provider, Settings

_BUILDERS: dict[str, Callable[[Emulator], web.Application]] = {
    "anthropic": anthropic_api.build_app,
    "openai": openai_api.build_app,
    "azure_openai": azure_openai_api.build_app,
    "groq": groq_api.build_app,
    "gemini": gemini_api.build_app,
    "voyage": voyage_api.build_app,
}

# Room for the benchmark's 1,000 concurrent connections arriving at once.
_BACKLOG = 4096


def base_url_for(provider: Provider, root_url: str) -> str:
    """What to pass to the SDK as `base_url`: the Anthropic SDK appends `/v1/messages` to
    it, the OpenAI SDK appends `/chat/completions` (and the voyage kind `/embeddings`), so
    their base ends in `/v1`; Azure's endpoint, Groq's and Gemini's base URLs are the server's
    root (their SDKs add `/openai/…`, `/v1beta/models/…`)."""
    return root_url + "/v1" if provider in ("openai", "voyage") else root_url


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def start_app(emulator: Emulator, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(
        _BUILDERS[emulator.provider](emulator),
        handler_cancellation=True,  # a client that hangs up ends its handler (and any stall)
        access_log=None,
        shutdown_timeout=0.5,
    )
    await runner.setup()
    await web.SockSite(runner, sock, backlog=_BACKLOG).start()
    emulator.bind_loop(asyncio.get_running_loop())
    return runner


class EmulatorServer(Emulator):
    """An emulator served from a background thread, as a context manager.

    with EmulatorServer("anthropic") as emulator:
        emulator.push(Reply("Hello there", token_latency=0.05))
        client = anthropic.Anthropic(api_key="k", base_url=emulator.base_url, max_retries=0)
    """

    def __init__(
        self,
        provider: Provider,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: Settings | None = None,
        profile: Profile = OPENAI,
    ) -> None:
        super().__init__(provider, settings, profile)
        self.host = host
        self._requested_port = port
        self.port = 0
        self._thread: threading.Thread | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        self._held_sockets: list[socket.socket] = []
        self._blackhole_url: str | None = None
        self._refused_url: str | None = None

    @property
    def root_url(self) -> str:
        if not self.port:
            raise RuntimeError("the emulator is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return base_url_for(self.provider, self.root_url)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sock, started), name=f"{self.provider}-emulator", daemon=True
        )
        self._thread.start()
        started.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the {self.provider} emulator did not start") from self._failure
        return self

    def _run(self, sock: socket.socket, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._server_loop = loop
        try:
            runner = loop.run_until_complete(start_app(self, sock))
        except BaseException as error:
            self._failure = error
            sock.close()
            loop.close()
            started.set()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            self._release_stalls()
            loop.run_until_complete(runner.cleanup())
            self.bind_loop(None)
            loop.close()

    def stop(self) -> None:
        thread, loop = self._thread, self._server_loop
        if thread is not None and loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._thread = None
        self._server_loop = None
        self.port = 0
        for held in self._held_sockets:
            held.close()
        self._held_sockets.clear()
        self._blackhole_url = self._refused_url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses for connection failures -------------------------------------------------

    @property
    def blackhole_base_url(self) -> str:
        """A base URL whose TCP connect never completes, so clients hit their connect timeout.

        A listener with a zero backlog whose accept queue is already full (Linux then drops
        further SYNs instead of refusing them), held for the emulator's lifetime.
        """
        if self._blackhole_url is None:
            listener = bind(self.host, 0)
            listener.listen(0)
            self._held_sockets.append(listener)
            address = listener.getsockname()
            for _ in range(16):
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                filler.connect_ex(address)
                # poll, not select: a test process may hold file descriptors past select's 1024.
                poller = select.poll()
                poller.register(filler, select.POLLOUT)
                if not poller.poll(50):  # the queue is full: this SYN was dropped
                    filler.close()
                    break
                self._held_sockets.append(filler)
            else:
                raise RuntimeError(
                    "could not fill the accept queue; the connect timeout cannot be emulated here"
                )
            self._blackhole_url = base_url_for(self.provider, f"http://{address[0]}:{address[1]}")
        return self._blackhole_url

    @property
    def refused_base_url(self) -> str:
        """A base URL on a bound port nobody listens on: connections are refused at once."""
        if self._refused_url is None:
            sock = bind(self.host, 0)  # held, so that no one else takes the port
            self._held_sockets.append(sock)
            host, port = sock.getsockname()[:2]
            self._refused_url = base_url_for(self.provider, f"http://{host}:{port}")
        return self._refused_url


async def serve_forever(emulator: Emulator, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (the CLI)."""
    sock = bind(host, port)
    runner = await start_app(emulator, sock)
    announce(base_url_for(emulator.provider, f"http://{host}:{sock.getsockname()[1]}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        emulator.reset()
        await runner.cleanup()
