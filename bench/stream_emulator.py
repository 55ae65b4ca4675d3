"""The OpenAI wire emulator, scripted for the conversation-streams benchmark.

    .venv/bin/python -m bench.stream_emulator [--tokens-per-second 20] [--tokens 40]

The real emulator (tests/emulators, same wire format and SDK behaviour), with three
differences a load benchmark needs and a test script cannot express for a thousand
requests arriving in any order:

- every streamed reply is `--tokens` tokens at `--tokens-per-second`, each token unique to
  its conversation and stream (" c00017s2t05": conversation c00017, named in the system
  prompt, its 2nd stream, 6th token), so a client can tell lost and repeated tokens apart
  from the ones of other conversations;
- it notes when it writes each token (time.monotonic(), which every process on the
  machine shares), so latencies can be measured from the moment a token left the provider;
- non-streamed replies (the interview's option proposals and answer readings) come at once:
  the benchmark measures what the portal adds, not a model's thinking time.

GET /_bench/sent returns, per conversation, every stream: when its request arrived and its
tokens with their write times. Prints the base URL, then serves until SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import re
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.emulators.openai_api import OpenAIApp
from tests.emulators.script import Outcome, Reply
from tests.emulators.server import base_url_for, bind
from tests.emulators.state import Emulator, Settings
from tests.emulators.wire import Incoming, Timing

BACKLOG = 4096


LABEL = re.compile(r"\b([cd]\d{5})\b")


def label_of(body: dict[str, Any]) -> str:
    """The conversation a request is for: named in its system prompt (the benchmark names
    each conversation's blueprint after it), "c00017"; "unknown" if none is."""
    for message in body.get("messages") or []:
        is_system = isinstance(message, dict) and message.get("role") == "system"
        if is_system and (match := LABEL.search(str(message.get("content", "")))):
            return match.group(1)
    return "unknown"


@dataclass
class SentStream:
    requested_at: float
    tokens: list[str]
    written_at: list[float] = field(default_factory=list)


_current: contextvars.ContextVar[SentStream] = contextvars.ContextVar("stream")


class BenchOpenAIApp(OpenAIApp):
    def __init__(self, emulator: Emulator, *, tokens: int, per_token: float, first_token: float) -> None:
        super().__init__(emulator)
        self.tokens = tokens
        self.per_token = per_token
        self.first_token = first_token
        self.sent: dict[str, list[SentStream]] = {}

    def build(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024, middlewares=[self._middleware])
        app.router.add_get("/_bench/sent", self._sent)
        self.add_routes(app.router)
        return app

    def choose(self, incoming: Incoming) -> Outcome | None:
        # Not logged: a benchmark sends thousands of requests and reads /_bench/sent instead.
        if not (isinstance(incoming.body, dict) and incoming.body.get("stream") is True):
            return Reply(token_latency=0.0, first_token_latency=0.0)
        label = label_of(incoming.body)
        streams = self.sent.setdefault(label, [])
        number = len(streams) + 1
        tokens = [f" {label}s{number}t{index:02d}" for index in range(self.tokens)]
        stream = SentStream(time.monotonic(), tokens)
        streams.append(stream)
        _current.set(stream)  # the handler's own context: read back by _paced
        return Reply(tokens=tokens, token_latency=self.per_token, first_token_latency=self.first_token)

    @staticmethod
    async def _paced(
        response: web.StreamResponse, frames: Sequence[bytes], timing: Timing, start: float, offset: int
    ) -> None:
        # The base class's absolute schedule, with each write's time noted.
        stream = _current.get()
        loop = asyncio.get_running_loop()
        for index, frame in enumerate(frames, start=offset):
            delay = timing.due(start, index) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            stream.written_at.append(time.monotonic())
            await response.write(frame)

    async def _sent(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {
            label: [
                {"requested_at": s.requested_at, "tokens": s.tokens, "written_at": s.written_at}
                for s in streams
            ]
            for label, streams in self.sent.items()
        }
        return web.json_response(body)


async def serve(host: str, port: int, app: BenchOpenAIApp) -> None:
    sock = bind(host, port)
    runner = web.AppRunner(app.build(), handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.SockSite(runner, sock, backlog=BACKLOG).start()
    root = f"http://{host}:{sock.getsockname()[1]}"
    print(f"bench emulator listening; base_url={base_url_for('openai', root)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tokens", type=int, default=40, help="tokens in every streamed reply")
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--first-token-latency", type=float, default=0.0, help="extra seconds")
    args = parser.parse_args(argv)
    emulator = Emulator("openai", Settings())
    app = BenchOpenAIApp(
        emulator,
        tokens=args.tokens,
        per_token=1.0 / args.tokens_per_second,
        first_token=args.first_token_latency,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
