"""`manage.py serve`, the README's run command, on embedded defaults from an empty data dir."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from core import embedded_redis, processes
from core import temporal_server as embedded_temporal
from core.management.commands.serve import children_to_start, listen
from tests.core.test_temporal_server import dev_servers_on
from tests.servers import ROOT, free_port
from tests.temporal import TemporalServer

PASSWORD = "correct horse battery staple"


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-4000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer 200:\n{log.read_text()[-4000:]}")


def daphne_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"daphne" in Path(f"/proc/{child}/cmdline").read_bytes()]


def children_of(pid: int) -> list[int]:
    """The processes `pid` started, from any of its threads."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def stat_of(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state first); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None


def arguments_of(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")


def process_tree(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its start time (to tell it from a later one with its pid)."""
    tree: dict[int, str] = {}
    pending = children_of(pid)
    while pending:
        child = pending.pop()
        stat = stat_of(child)
        if stat is not None:
            tree[child] = stat[19]
            pending += children_of(child)
    return tree


def survivors(tree: dict[int, str], timeout: float = 10) -> list[str]:
    """The processes of `tree` still running after `timeout` seconds (a SIGKILL is not
    instantaneous), named by their command lines."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [
            pid for pid, started in tree.items()
            if (stat := stat_of(pid)) is not None and stat[19] == started and stat[0] not in {"Z", "X"}
        ]  # fmt: skip
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return [" ".join(arguments_of(pid)) for pid in alive]


def serve_env(data: Path, temporal_port: int | None = None) -> dict[str, str]:
    """Embedded defaults in `data`; the embedded Temporal on a port of the test's own (a free
    one unless given), never the developer's on the default port."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CI"} and not key.startswith("TEMPORAL_")
    }
    env.update(
        SCE_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
        TEMPORAL_EMBEDDED_PORT=str(temporal_port or free_port()),
    )
    return env


def wait_for_log(pattern: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, log.read_text(errors="replace")):
        assert process.poll() is None, log.read_text()[-4000:]
        assert time.monotonic() < deadline, f"no {pattern!r} in the log:\n{log.read_text()[-4000:]}"
        time.sleep(0.1)


def test_serve_brings_up_a_portal_where_sign_up_works(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    temporal_port = free_port()
    log = tmp_path / "serve.log"
    tree: dict[int, str] = {}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--web-processes", "2"],
            cwd=ROOT,
            env=serve_env(data, temporal_port),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/healthz", process, log)  # Temporal included
            assert len(daphne_children(process.pid)) == 2, "two web processes share the port"

            jar = http.cookiejar.CookieJar()
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            form = browser.open(base + "/accounts/signup/").read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
            assert token
            fields = {
                "csrfmiddlewaretoken": token.group(1),
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "password": PASSWORD,
                "organization": "Compilers Inc",
            }
            request = urllib.request.Request(
                base + "/accounts/signup/",
                data=urllib.parse.urlencode(fields).encode(),
                headers={"Referer": base + "/accounts/signup/"},
            )
            with browser.open(request) as response:
                assert response.url == base + "/t/compilers-inc/"
                assert "Compilers Inc" in response.read().decode()
            assert (data / "db.sqlite3").exists()
            wait_for_log(r"celery@\S+ ready", process, log)
            wait_for_log(r"beat: Starting", process, log)
            tree = process_tree(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    output = log.read_text()
    assert f"SCE is up at http://127.0.0.1:{port}/" in output
    assert process.returncode == 0, output[-4000:]
    assert not embedded_redis.is_answering(data / "redis.sock"), "the embedded Redis stops with the portal"
    assert f"Embedded Temporal on 127.0.0.1:{temporal_port}, namespace default" in output
    assert (data / "temporal.sqlite").exists(), "Temporal keeps its state in the data directory"
    assert not embedded_temporal.is_answering(f"127.0.0.1:{temporal_port}", "default"), "and stops with it"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the web server stops with the portal"
    assert re.search(r"celery@\S+ ready", output), "a worker ran beside the web server"
    assert len(tree) >= 6, f"redis, temporal, a worker, beat and two web processes: {tree}"
    assert survivors(tree) == [], "every process serve started stops with it"


def test_a_killed_worker_stops_serve_and_everything_it_started_beat_included(
    tmp_path: Path, temporal_server: TemporalServer
) -> None:
    data = tmp_path / "data"
    log = tmp_path / "serve.log"
    # A Temporal server already answers on the embedded port: serve uses it, and leaves it be.
    env = serve_env(data, int(temporal_server.address.rsplit(":", 1)[1]))
    env["TEMPORAL_NAMESPACE"] = temporal_server.namespace
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(free_port()), "--no-migrate"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_log(r"celery@\S+ ready", process, log)
            wait_for_log(r"beat: Starting", process, log)
            tree = process_tree(process.pid)
            [worker] = [pid for pid in children_of(process.pid) if "worker" in arguments_of(pid)]

            os.kill(worker, signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:  # the test failed before the kill: serve cleans up
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    output = log.read_text()
    assert process.returncode != 0, output[-4000:]
    assert "the worker process exited with code -9; stopping the rest" in output
    assert survivors(tree) == [], "nothing serve started outlives the worker's death"
    assert not embedded_redis.is_answering(data / "redis.sock")
    assert f"Using the Temporal server already answering on {temporal_server.address}" in output
    assert embedded_temporal.is_answering(temporal_server.address, temporal_server.namespace), (
        "serve stops only the Temporal it started"
    )


def test_serve_without_temporal_starts_no_temporal_server(tmp_path: Path) -> None:
    temporal_port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--port",
                str(free_port()),
                "--no-temporal",
                "--no-worker",
            ],
            cwd=ROOT,
            env=serve_env(tmp_path / "data", temporal_port),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_log("SCE is up", process, log)
            assert dev_servers_on(temporal_port) == []
            assert not embedded_temporal.is_answering(f"127.0.0.1:{temporal_port}", "default")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    assert "Temporal" not in log.read_text()
    assert not (tmp_path / "data" / "temporal.sqlite").exists()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty registry of children, for this test to fill."""
    monkeypatch.setattr(processes, "_registered", {})


def test_serve_runs_the_registered_children_that_apply(registry: None) -> None:
    enabled = {"reports": False}
    processes.register_child("runs worker", lambda: ["runs-worker"], needs_temporal=True)
    processes.register_child("reports", lambda: ["reports"], when=lambda: enabled["reports"])
    processes.register_child("mailer", lambda: ["old-mailer"])
    processes.register_child("mailer", lambda: ["mailer"])  # ready() ran twice: replaced

    assert [child.name for child in children_to_start(no_temporal=False)] == ["runs worker", "mailer"]
    assert [child.name for child in children_to_start(no_temporal=True)] == ["mailer"]
    enabled["reports"] = True
    assert [child.command() for child in children_to_start(no_temporal=False)] == [
        ["runs-worker"],
        ["reports"],
        ["mailer"],
    ]


def test_several_web_processes_need_an_ipv4_address() -> None:
    with pytest.raises(CommandError, match="IPv4"):
        listen("::1", free_port())
