"""A portal of its own for the chaos tests (tests/test_chaos.py), to kill parts of on purpose.

The suite's Redis is shared by every test and never touched here: a `Stack` runs a
redis-server of its own (the embedded binary, on a short Unix socket path, with an
append-only file so it can be killed and started again with its data), and daphne, Celery
workers and beat as `manage.py serve` starts them (core.management.commands.serve), each
leading its own process group, on the test run's database (SCE_TEST_SERVER) and on that
Redis (REDIS_URL: the channel layer, the cache, the broker and the result backend).

The test process talks to the stack as a browser does (tests/chaos_browser.py) and reads what
was stored through the ORM. Waits are bounded polls of a condition; a wait that runs out
fails with the tails of every child's log.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import aiohttp
import kombu
import redis
from celery import Celery

from config.settings import kombu_url
from core import embedded_redis, processes
from core.management.commands.serve import beat_command, daphne_command, worker_command
from core.streams import FrameStream
from tests.servers import ROOT, free_port, server_env

T = TypeVar("T")

LOG_TAIL = 3000
# An HTTP request or a WebSocket handshake to the stack that takes longer has failed.
REQUEST_SECONDS = 30


class StackFailure(AssertionError):
    """A wait of the chaos test ran out, or a child died: the message holds their logs."""


@dataclass
class Child:
    """A process of the stack (its own process group) and the file its output goes to."""

    name: str
    process: processes.Leader
    log: Path

    def tail(self) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            text = ""
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"--- {self.name} ({state}), {self.log}:\n{text[-LOG_TAIL:]}"


@dataclass(frozen=True)
class Unacknowledged:
    tag: str  # the delivery tag, its key in the broker's `unacked` hash
    task_id: str
    args: list[Any]


@dataclass
class Daphne:
    child: Child
    base_url: str


@dataclass
class Worker:
    child: Child
    hostname: str


class Stack:
    """Redis, daphne, Celery workers and beat for one test; everything it started is stopped
    on exit, however the test ends (process groups killed, temporary files removed)."""

    def __init__(self, log_dir: Path, env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        # Short: a Unix socket's path is limited to 108 bytes, pytest's tmp_path can be longer.
        self.home = Path(tempfile.mkdtemp(prefix="chaos-", dir="/tmp"))
        self.redis_socket = self.home / "redis.sock"
        self.redis_url = f"unix://{self.redis_socket}"
        self.env = {**env, "REDIS_URL": self.redis_url, "SCE_TEST_SERVER": "1"}
        self.children: list[Child] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self._client: redis.Redis | None = None
        self._control: Celery | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start_redis()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every child (the last started first), then Redis; remove the temporary home.
        Each is stopped even when stopping another failed."""
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(shutil.rmtree, self.home, ignore_errors=True)
            if self.redis is not None:
                cleanup.callback(processes.stop, self.redis, timeout=10)
            for child in self.children:
                cleanup.callback(processes.stop, child.process, timeout=10)
            if self._client is not None:
                cleanup.callback(self._client.close)
            if self._control is not None:
                cleanup.callback(self._control.close)
        self.children, self.redis, self._client, self._control = [], None, None, None

    def logs(self) -> str:
        """The tails of every child's log, and Redis's, for a failure message."""
        parts = [child.tail() for child in self.children]
        redis_log = self.home / "redis.log"
        if redis_log.exists():
            parts.append(f"--- redis, {redis_log}:\n{redis_log.read_text(errors='replace')[-LOG_TAIL:]}")
        return "\n".join(parts)

    def fail(self, message: str) -> StackFailure:
        return StackFailure(f"{message}\n\n{self.logs()}")

    # --- Redis --------------------------------------------------------------------------------

    def start_redis(self) -> None:
        """Start (or start again, with what its append-only file kept) the stack's Redis."""
        self.redis = embedded_redis.start(socket_path=self.redis_socket, data_dir=self.home)

    def kill_redis(self) -> None:
        """SIGKILL the stack's Redis: no shutdown, no last save beyond the append-only file."""
        if self.redis is not None:
            processes.kill(self.redis)
            self.redis = None

    def redis_client(self) -> redis.Redis:
        """A client of the stack's Redis (it connects again after a restart)."""
        if self._client is None:
            self._client = redis.Redis(
                unix_socket_path=str(self.redis_socket), socket_timeout=5, decode_responses=True
            )
        return self._client

    def kept_frames(self, stream: FrameStream, object_id: int) -> list[str]:
        """The frames of an object kept in the stack's Redis (what a page replays), oldest first."""
        entries = cast(
            "list[tuple[str, dict[str, str]]]", self.redis_client().xrange(stream.keys(object_id)[1])
        )
        return [fields["html"] for _id, fields in entries]

    # --- children -----------------------------------------------------------------------------

    def _launch(self, name: str, command: list[str], **env: str) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = processes.Leader(
                command,
                cwd=ROOT,
                env=server_env(**{**self.env, **env}),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def launch_daphne(self, name: str, *, port: int | None = None, **env: str) -> Daphne:
        """daphne as `serve` runs it, on `port` (a free one by default); not waited for."""
        port = port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        child = self._launch(name, daphne_command("127.0.0.1", port), SITE_ROOT=base_url, **env)
        return Daphne(child, base_url)

    def launch_worker(self, name: str, **env: str) -> Worker:
        """A Celery worker as `serve` runs it (threads), named `name`; not waited for."""
        hostname = f"{name}-{self.home.name}@localhost"
        command = [*worker_command(), "--hostname", hostname, "--without-gossip", "--without-mingle"]
        return Worker(self._launch(name, command, **env), hostname)

    def launch_beat(self, name: str = "beat", **env: str) -> Child:
        """Celery beat as `serve` runs it, its schedule in the stack's home."""
        return self._launch(name, beat_command(self.home), **env)

    def kill(self, child: Child) -> None:
        """SIGKILL a child's whole process group, as the OOM killer or a lost machine would."""
        processes.kill(child.process)

    def control(self) -> Celery:
        """A Celery app on the stack's broker and result backend (not the suite's)."""
        if self._control is None:
            url = kombu_url(self.redis_url)
            self._control = Celery(f"chaos-{self.home.name}", broker=url, backend=url, set_as_current=False)
        return self._control

    async def ready(self, *launched: Daphne | Worker, wait: float = 60) -> None:
        """Wait until each daphne answers HTTP and each worker answers a ping."""
        for item in launched:
            if isinstance(item, Daphne):
                await self.eventually(
                    functools.partial(_answers_http, item.base_url + "/accounts/login/"),
                    f"{item.child.name} answers HTTP",
                    wait=wait,
                    watch=item.child,
                )
            else:
                await self.eventually(
                    functools.partial(self._pings, item.hostname),
                    f"{item.child.name} answers a ping",
                    wait=wait,
                    watch=item.child,
                )

    async def _pings(self, hostname: str) -> bool:
        control = self.control()
        replies = await asyncio.to_thread(control.control.ping, destination=[hostname], timeout=0.5)
        return bool(replies)

    # --- the broker -----------------------------------------------------------------------------

    def unacknowledged(self, task: str) -> list[Unacknowledged]:
        """The messages of `task` a worker took and has not acknowledged (kombu's `unacked`
        hash): a worker killed mid-task leaves its message there until the broker's
        visibility timeout."""
        found = []
        unacked = cast("dict[str, str]", self.redis_client().hgetall("unacked"))
        for tag, raw in unacked.items():
            payload, _exchange, _routing_key = json.loads(raw)
            if payload["headers"]["task"] == task:
                args = json.loads(_body(payload))[0]
                found.append(Unacknowledged(tag=tag, task_id=payload["headers"]["id"], args=args))
        return found

    def queued(self, task: str) -> list[str]:
        """The ids of the messages of `task` waiting on the default queue."""
        waiting = cast("list[str]", self.redis_client().lrange("celery", 0, -1))
        return [
            payload["headers"]["id"]
            for payload in map(json.loads, waiting)
            if payload["headers"]["task"] == task
        ]

    async def task_outcome(self, task_id: str) -> tuple[str, Any]:
        """A task's state and result in the stack's result backend."""
        result = self.control().AsyncResult(task_id)
        return await asyncio.to_thread(lambda: (result.state, result.result))

    def redeliver(self, message: Unacknowledged) -> None:
        """What the broker does with an unacknowledged message once the visibility timeout
        has passed: put it back on its queue (kombu's own restore)."""
        with kombu.Connection(kombu_url(self.redis_url)) as connection:
            channel: Any = connection.default_channel  # kombu's Redis channel
            channel.qos.restore_by_tag(message.tag)

    # --- waiting --------------------------------------------------------------------------------

    async def eventually(
        self,
        check: Callable[[], Awaitable[T | None]],
        what: str,
        *,
        wait: float = 60,
        every: float = 0.1,
        watch: Child | None = None,
    ) -> T:
        """Poll `check` until it returns something truthy, and return that; fail with the
        logs after `wait` seconds, or as soon as `watch` exits. (The ORM: pass a
        `database_sync_to_async` function.)"""
        deadline = time.monotonic() + wait
        while True:
            result = await check()
            if result:
                return result
            if watch is not None and watch.process.poll() is not None:
                raise self.fail(f"{watch.name} exited while waiting until {what}")
            if time.monotonic() > deadline:
                raise self.fail(f"not the case within {wait:.0f} s: {what}")
            await asyncio.sleep(every)


def _body(payload: dict[str, Any]) -> bytes | str:
    body = payload["body"]
    if payload.get("properties", {}).get("body_encoding") == "base64":
        return base64.b64decode(body)
    return str(body)


async def _answers_http(url: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS)) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            return response.status < 500
    except (aiohttp.ClientError, OSError):
        return False
