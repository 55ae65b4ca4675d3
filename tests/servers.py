"""Real processes for tests: the ASGI server and a Celery worker, on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core import processes

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", SCE_TEST_SERVER="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout}s:\n{log.read_text()[-4000:]}")


@contextmanager
def daphne_server(log_dir: Path) -> Iterator[str]:
    """daphne serving config.asgi on a free loopback port; yields its base URL."""
    port = free_port()
    log = log_dir / f"daphne-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.daphne_server",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=server_env(SITE_ROOT=f"http://127.0.0.1:{port}"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_http(base + "/accounts/login/", process, log)
            yield base
        finally:
            processes.stop(process, timeout=15)


@contextmanager
def celery_worker(log_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process consuming the test broker; ready when it answers a ping."""
    from config.celery import app

    name = f"test-{os.getpid()}@localhost"
    log = log_dir / "celery-worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                "--hostname", name, "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            ],
            cwd=ROOT,
            env=server_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not app.control.ping(destination=[name], timeout=0.5):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-4000:]}")
            yield process
        finally:
            processes.stop(process, timeout=15)
